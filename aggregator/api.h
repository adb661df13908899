/* api.h: the aggregator's HTTP side (CONTRACT.md "aggregator"), on libmicrohttpd.
 *
 *   GET /v1/customers/{customer}/window?seconds=N   the window, JSON (winjson.h); Authorization:
 *                                                   Bearer TOKEN
 *   GET /v1/token                                   {"operator": bool, "customers": [...]}: whom
 *                                                   the token reads (the dashboard asks this)
 *   GET /v1/customers                               the customers the token may pick from (an
 *                                                   operator: every one named in the tokens
 *                                                   file or with hits in the last hour)
 *   GET /metrics                                    Prometheus text: the program's metrics, then
 *                                                   api_metrics (those not already listed)
 *   GET /healthz                                    200 "ok" while the main loop turns
 *                                                   (heartbeat.h), else 503 "stalled: WHY"
 *   GET /readyz                                     200 once ready(ready_ctx) says so, else 503
 *   GET /  and /app.js, /style.css, ...             the dashboard page (dashboard_assets.h)
 *
 * Answers: 401 (with WWW-Authenticate) without a known token, 403 for a known token of another
 * customer, 400 for a bad query or customer id, 404 for an unknown path, 405 for a method other
 * than GET and HEAD, 413 for a request with a body, 414 for a target over ROUTE_TARGET_MAX, 429
 * (with Retry-After) past the per-address rate, all with the body {"error": "..."} (only what
 * libmicrohttpd refuses itself, such as oversized headers, gets its own page). API answers carry
 * Cache-Control: no-store; every answer a strict Content-Security-Policy (no inline script, this
 * origin only). A customer with no hit in the window (or none ever) gets a window of
 * zeros, not a 404: which customers exist is told to no one.
 *
 * Bounds: request line and headers fit API_CONNECTION_MEMORY (MHD answers 414 / 431 beyond).
 * The server is common/httpd.h's: the whole request head within HTTPD_HEAD_TIMEOUT_S (not reset
 * by each byte), answers kept alive, past API_CONNECTIONS open connections (or
 * API_CONNECTIONS_PER_IP from one address) the one that waited longest for a request is closed,
 * so idle and slow sockets never lock a client out; a head with a NUL byte or a folded line is
 * a 400. A thread pool (API_THREADS) answers; the window is read under its own lock (win_read)
 * and no request waits for the consumer.
 *
 * Tokens (tokens.h) are loaded by api_start; api_reload_tokens re-reads the file (on SIGHUP:
 * main sets a flag and calls it from its loop) and swaps the set in while requests run. */
#ifndef API_H
#define API_H

#include "custview.h"
#include "metrics.h"
#include "window.h"
#include "wmstate.h"
#include "xff.h"

#include <stddef.h>

#define API_CONNECTIONS 512       /* kept open; a new one beyond closes the longest waiting */
#define API_CONNECTIONS_PER_IP 64 /* the same per address (a browser opens about 6) */
#define API_CONNECTION_MEMORY (32u << 10) /* per connection: request line, headers, buffers */
#define API_THREADS 2
#define API_RATE_DEFAULT 100 /* requests per second per client address, when rate_per_s is 0 */
#define API_BURST_FACTOR 2   /* a client may send this many seconds' worth at once */
#define API_RATE_MAX 1000000 /* a larger rate_per_s is taken as this */

/* The completeness keys of a customer's window (feed.h's feed_status): 0, or -1 when out
 * of memory (the request gets 500). */
typedef int (*api_status_fn)(void *ctx, const char *customer, int64_t now_ms, int64_t from_ms,
                             int64_t end_ms, wms_status_t *out);

typedef struct api_opts {
    const char *listen;       /* "ADDR:PORT": 127.0.0.1:8080, [::1]:8080, [::]:8080 (both IPv6
                                 and IPv4), :8080 (every IPv4 address), localhost:8080 (a
                                 name: its IPv4 address if it has one); PORT 0: any free port */
    const char *tokens_path;  /* the --tokens file */
    win_t *win;               /* borrowed: must outlive the server */
    cv_t *cv;                 /* the window's extras (custview.h), borrowed; NULL: none */
    metric_t *const *metrics; /* the program's metrics for /metrics (borrowed), nmetrics of them */
    size_t nmetrics;
    int (*ready)(void *ctx); /* 1 once caught up (/readyz); NULL: always ready */
    void *ready_ctx;
    unsigned rate_per_s;  /* requests per second per client address; 0: API_RATE_DEFAULT */
    api_status_fn status; /* complete_to_ms, edges_behind, catching_up; NULL: complete to
                             end_ms, none behind, not catching up */
    void *status_ctx;
    /* Appends more Prometheus text to /metrics (wmstate's per-edge gauges): returns its length,
     * 0 when it does not fit cap. NULL: nothing more. */
    size_t (*extra_metrics)(void *ctx, char *buf, size_t cap);
    void *extra_ctx;
    /* --trusted-proxy (copied): a peer in these ranges is a proxy, the client for the rate
     * limit is the one its X-Forwarded-For names (xff.h), and its connections are not counted
     * per address. NULL or empty: the header is never read. */
    const xff_nets_t *trusted;
} api_opts_t;

typedef struct api api_t;

/* This module's metrics, for main's periodic log line (/metrics shows them in any case):
 * aggregator_window_queries_total (window answers given, 200), aggregator_http_requests_total
 * by code, aggregator_tokens (entries loaded), aggregator_token_reloads_total by result, and
 * process_resident_memory_bytes (metrics.h's metrics_rss, read from /proc at each print, so the
 * log line's rss_bytes is the real value too). /metrics adds build_info and
 * process_start_time_seconds (metrics_page); last, the server's own (common/httpd.h: open
 * connections, those it closed and why, heads refused, log lines not printed). */
extern metric_t *const api_metrics[];
extern const size_t api_nmetrics;

/* Loads the tokens and starts serving. NULL with err: "FILE:LINE: problem" (or "FILE: reason")
 * for a bad tokens file, "--listen ADDR: problem" for a bad or busy address: configuration
 * problems, so main exits 2 with err. */
api_t *api_start(const api_opts_t *o, char *err, size_t errlen);

/* Re-reads the tokens file; on success the new set serves every later request. On failure
 * (with "FILE:LINE: problem" in err) the old set stays. 0 or -1. */
int api_reload_tokens(api_t *a, char *err, size_t errlen);

/* The port listened on (useful with PORT 0). */
unsigned api_port(const api_t *a);

/* Stops serving (waits for requests in flight) and frees everything; NULL is fine. */
void api_stop(api_t *a);

#endif
