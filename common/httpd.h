/* httpd.h: a libmicrohttpd server that a flood of idle and slow sockets does not stop, shared by
 * the aggregator's API (aggregator/api.c) and every service's operator address (opsd.c).
 *
 * What libmicrohttpd 0.9.75 (Debian 12) does not do, and this module adds:
 *  - A deadline on the whole request head, not reset by each byte. MHD's CONNECTION_TIMEOUT is
 *    an idle timeout: a client that sends one header byte every few seconds holds its socket for
 *    ever. Here a connection waiting for a request (from its accept, or from the end of the
 *    previous answer on a kept-alive connection) must complete the request line and headers
 *    within HTTPD_HEAD_TIMEOUT_S; a request being answered must be done within
 *    HTTPD_REQUEST_TIMEOUT_S. A reaper thread checks every HTTPD_REAP_MS and shuts past-deadline
 *    sockets down (shutdown(2): MHD then reads EOF and closes the connection itself).
 *  - Room for a new client whatever is held. MHD refuses new connections at its limit, so a
 *    flood of idle sockets locks everyone out. Here MHD's own limit is high (HTTPD_HARD_MAX, or
 *    what RLIMIT_NOFILE allows: the soft file limit is raised to the hard one) and this module
 *    keeps its own: past `connections` open ones, the connection that has waited longest for a
 *    request is closed; past `per_ip` from one address (IPv4, or IPv6 /64), that address's
 *    longest waiting one. A connection being answered is never closed for room. So a new client
 *    always gets in and is answered, as long as it sends its request faster than the flood opens
 *    sockets; one address cannot hold more than per_ip; an address cannot lock itself out.
 *  - Keep-alive. MHD 0.9.75 closes the connection when the answer is queued in the first call of
 *    the request handler ("discard_request"); httpd calls the handler first on the second call
 *    (when the request has no body), so answers are kept alive (HTTP/1.1, or 1.0 with
 *    Connection: Keep-Alive). A request with a body is handed over at once: it is refused
 *    (405/413) and its connection closed, its body never read.
 *  - An exact request head. MHD 0.9.75 cuts a header value at a NUL byte ("Bearer TOKEN\0junk"
 *    reads as "Bearer TOKEN") and joins folded lines. Before the handler sees a request, httpd
 *    checks that every header line holds exactly what MHD reports (see httpd_head_exact) and
 *    answers 400 otherwise.
 *  - A 400 for a request line of garbage. MHD waits for a line end before it looks at a byte,
 *    so binary without one (a TLS hello on the plain port) got no answer until the timeout.
 *    The reaper sees the bytes arrive (TCP_INFO's bytes received: MHD has read them) and, when
 *    no whole request line follows within HTTPD_LINE_MS, writes a 400 and shuts the socket.
 *    (A line without a space is closed by MHD at once, one with two spaces gets MHD's 400.)
 *  - Log lines at a bounded rate: at most HTTPD_LOG_BURST of MHD's messages per
 *    HTTPD_LOG_INTERVAL_S, then one line with the count of those not printed.
 *
 * Threads: MHD's pool (threads, epoll) runs the handler; the reaper is one more thread. The
 * connection table is guarded by one mutex, taken for a few microseconds per connection event. */
#ifndef HTTPD_H
#define HTTPD_H

#include "metrics.h"

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPD_HEAD_TIMEOUT_S 10    /* request line and headers, also the keep-alive wait */
#define HTTPD_REQUEST_TIMEOUT_S 30 /* from the complete head to the answer sent */
#define HTTPD_IDLE_TIMEOUT_S 30    /* MHD's own idle timeout, a backstop */
#define HTTPD_HARD_MAX 8192        /* MHD's connection limit, when RLIMIT_NOFILE allows it */
#define HTTPD_FD_RESERVE 128       /* descriptors left for the rest of the program */
#define HTTPD_REAP_MS 200
#define HTTPD_LINE_MS 1000 /* bytes but no whole request line for this long: garbage, 400 */
#define HTTPD_LOG_INTERVAL_S 10
#define HTTPD_LOG_BURST 3
#define HTTPD_KEY_MAX 16      /* an address key: 4 bytes (IPv4) or 8 (IPv6 /64) */
#define HTTPD_HEADERS_MAX 128 /* header lines httpd_head_exact checks; more make a 400 */

typedef struct httpd_opts {
    const void *addr;     /* const struct sockaddr_storage * to listen on */
    const char *name;     /* for log lines: "http server", "operator http server" */
    unsigned threads;     /* MHD's thread pool */
    unsigned connections; /* open connections kept before the longest waiting is closed */
    unsigned per_ip;      /* the same, per client address */
    size_t conn_memory;   /* MHD's per-connection memory (request head, buffers) */
    MHD_AccessHandlerCallback handler; /* MHD's request handler, called as described above */
    void *handler_ctx;
    MHD_RequestCompletedCallback done; /* may be NULL */
    void *done_ctx;
    void *(*uri)(void *ctx, const char *uri, struct MHD_Connection *c); /* may be NULL */
    void *uri_ctx;
    /* May be NULL. 1 for a peer (struct sockaddr *) that is a trusted proxy: its connections
     * carry many clients' requests, so they are not counted per address (per_ip), only in
     * `connections`. */
    int (*trusted_peer)(void *ctx, const void *sa);
    void *trusted_ctx;
} httpd_opts_t;

typedef struct httpd httpd_t;

/* This module's metrics (one set per process, whichever server counts): http_connections_open,
 * http_connections_closed_total{reason="head_timeout|request_timeout|room|per_ip|
 * bad_request_line"},
 * http_bad_heads_total, http_log_lines_suppressed_total. */
extern metric_t *const httpd_metrics[];
extern const size_t httpd_nmetrics;
extern metric_t httpd_m_open, httpd_m_head, httpd_m_req, httpd_m_room, httpd_m_perip,
    httpd_m_badline, httpd_m_badhead,
    httpd_m_suppressed; /* the same, for lists built at compile time */

/* Starts serving. NULL when MHD could not start (the caller names the address: opsd.h's
 * opsd_bind_problem says why) or out of memory; MHD's messages while starting are held and one
 * is logged only when the start fails. */
httpd_t *httpd_start(const httpd_opts_t *o);

/* The port listened on. */
unsigned httpd_port(const httpd_t *h);

/* Stops serving (waits for requests in flight) and frees everything; NULL is fine. */
void httpd_stop(httpd_t *h);

/* The address key of a client: 4 bytes of IPv4 (also IPv4-mapped IPv6), or the /64 of IPv6 (one
 * site usually holds a whole /64). Its length, or 0 when sa is NULL or of another family. */
size_t httpd_addr_key(const void *sa, unsigned char key[HTTPD_KEY_MAX]);

/* 1 when the request head of c, whose request line starts at method (the handler's method
 * argument) holds no byte that MHD hid: no NUL inside a header line, no folded line, nothing but
 * spaces between a colon and its value, nothing after a value but its line end. 0 otherwise.
 * Relies on MHD 0.9.75's parser, which leaves the head in its read buffer and only overwrites
 * CR, LF and each header's colon with NULs; for another MHD version it returns 1 (1.0 and later
 * refuse a NUL in a header themselves). Exposed for the tests. */
int httpd_head_exact(struct MHD_Connection *c, const char *method);

/* The same check over a parsed head, for the unit test and fuzzer: block[0..size) is the head as
 * MHD leaves it, and the n headers are given by (key, key_size, value, value_size) pointing into
 * it, in any order. */
typedef struct httpd_hdr {
    const char *key, *value;
    size_t key_size, value_size;
} httpd_hdr_t;
int httpd_block_exact(const char *block, size_t size, httpd_hdr_t *h, size_t n);

#endif
