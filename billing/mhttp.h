/* mhttp.h: the smallest HTTP server that serves billing's metrics (--metrics ADDR:PORT).
 *
 *   GET /metrics  -> 200, Prometheus text format (metrics_prometheus)
 *   GET /healthz  -> 200 "ok"
 *   anything else -> 404 (405 for a method other than GET or HEAD)
 *
 * Plain sockets on one thread of its own: one request per connection, answered and closed, which
 * is all a Prometheus scraper needs, with no library to link. Metric values are atomics: reading
 * them here while the consumer writes them is safe. A slow client is cut after
 * MHTTP_IO_TIMEOUT_MS; it cannot hold the consumer, which never waits for this thread. */
#ifndef MHTTP_H
#define MHTTP_H

#include "metrics.h"

#include <stddef.h>

#define MHTTP_IO_TIMEOUT_MS 2000
#define MHTTP_REQUEST_MAX 8192 /* bytes of request head read; the rest is ignored */
#define MHTTP_BODY_MAX 65536   /* room for the metrics page */

typedef struct mhttp mhttp_t;

/* Listens on addr ("ADDR:PORT" by common/cli.h's rule, PORT 1..65535: "127.0.0.1:9101",
 * "[::1]:9101", ":9101" for every address) and serves ms[0..n) (borrowed: they must outlive the server) until
 * mhttp_stop. NULL with err (bad address, port in use). */
mhttp_t *mhttp_start(const char *addr, metric_t *const *ms, size_t n, char *err, size_t errlen);

/* Stops the thread and closes the socket. NULL is fine. */
void mhttp_stop(mhttp_t *h);

#endif
