/* opsd.h: the operator's HTTP endpoints of a service (--metrics-listen ADDR:PORT), on
 * libmicrohttpd.
 *
 *   GET /metrics  -> 200, Prometheus text (metrics.h's metrics_page: the program's metrics, the
 *                    process metrics, build_info)
 *   GET /healthz  -> 200 "ok" when alive(alive_ctx) says so (heartbeat.h's hb_alive: the main
 *                    loop turned lately), else 503 "stalled: WHY" (liveness: restart it)
 *   GET /readyz   -> 200 "ready" when ready(ready_ctx) says so, else 503 "not ready: WHY"
 *   anything else -> 404; a method other than GET or HEAD -> 405
 *
 * Why not a hand-written server: one client that sends half a request must not keep another
 * from its answer (billing's first server read requests one at a time on one thread). MHD reads
 * every connection without blocking on any, from OPSD_THREADS threads; common/httpd.h adds the
 * rest: a deadline on the whole request head (HTTPD_HEAD_TIMEOUT_S, not reset per byte),
 * keep-alive, room for a new client past OPSD_CONNECTIONS (OPSD_CONNECTIONS_PER_IP per address)
 * by closing the connection that waited longest, a 400 for a NUL in a header, rate-limited log
 * lines. The callbacks run on those threads: metric values are atomics, and ready() must only
 * read atomics too. /metrics adds httpd's own metrics (open and closed connections). */
#ifndef OPSD_H
#define OPSD_H

#include "metrics.h"

#include <stddef.h>

#define OPSD_THREADS 2
#define OPSD_CONNECTIONS 64
#define OPSD_CONNECTIONS_PER_IP 16
#define OPSD_CONNECTION_MEMORY (16u << 10)
#define OPSD_WHY_MAX 256 /* the reason /readyz gives */

typedef struct opsd_opts {
    const char *listen; /* "ADDR:PORT" (common/cli.h's rule): 127.0.0.1:9101, [::1]:9101, [::]:9101
                           (IPv6 and IPv4), :9101 (every IPv4 address); PORT 0: any free port */
    const char *option; /* the option's name for error messages ("--metrics-listen") */
    metric_t *const *metrics; /* borrowed: must outlive the server; nmetrics of them */
    size_t nmetrics;
    metric_t *const *more; /* a second list (those already in metrics are skipped); NULL:
                              httpd.h's httpd_metrics */
    size_t nmore;
    metrics_extra_fn extra; /* more Prometheus text after them; NULL: none */
    void *extra_ctx;
    /* 1 ready; 0 not, with the reason in why (one line). NULL: always ready. */
    int (*ready)(void *ctx, char *why, size_t whylen);
    void *ready_ctx;
    /* /healthz: 1 alive; 0 not, with the reason in why. NULL: alive while it answers. Reads
     * atomics only (hb_alive). */
    int (*alive)(void *ctx, char *why, size_t whylen);
    void *alive_ctx;
} opsd_opts_t;

typedef struct opsd opsd_t;

/* Starts serving. NULL with err ("--metrics-listen ADDR: problem") for a bad or busy address:
 * a configuration problem, exit status 2. */
opsd_t *opsd_start(const opsd_opts_t *o, char *err, size_t errlen);

/* The port listened on (the one chosen, with PORT 0). */
unsigned opsd_port(const opsd_t *s);

/* Stops serving (waits for requests in flight) and frees the server; NULL is fine. */
void opsd_stop(opsd_t *s);

/* "ADDR:PORT" into a socket address, by the rule above (shared with the aggregator's --listen):
 * a name with an IPv4 address listens on that one. 0, or -1 with err naming opt. */
struct sockaddr_storage;
int opsd_parse_addr(const char *opt, const char *s, struct sockaddr_storage *ss, char *err,
                    size_t errlen);

/* Why binding ss fails (strerror of bind), for the message when MHD could not listen: it only
 * logs the reason. */
const char *opsd_bind_problem(const struct sockaddr_storage *ss);

#endif
