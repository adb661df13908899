/* metrics.h: counters and gauges, printed as one logfmt line or as Prometheus text.
 *
 * A program declares its metrics as static metric_t values and lists them in an array; both
 * printers walk that array, so a metric added once shows up in the periodic log line, at exit,
 * and on /metrics alike. Values are atomic: the HTTP thread reads while the consumer writes.
 *
 * Units: Prometheus wants base units (seconds, bytes), promtool refuses _milliseconds and
 * _microseconds. A metric kept in a finer integer unit (the logfmt key says which: tx_us) sets
 * scale: /metrics prints v / scale with its decimals (METRIC_COUNTER_SCALED(..., 1000000) for
 * microseconds shown as seconds), the log line the integer.
 *
 * Every program also shows the process metrics (metrics_process, after metrics_process_init):
 * build_info{version,program} 1, process_start_time_seconds and process_resident_memory_bytes
 * (read from /proc at each print, in the log line as rss_bytes too). metrics_page puts a
 * program's metrics and these together into one /metrics page. */
#ifndef METRICS_H
#define METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct metric {
    const char *key;    /* logfmt key, e.g. "rejected_parse" */
    const char *name;   /* Prometheus name, e.g. "collector_lines_rejected_total" */
    const char *labels; /* Prometheus labels without braces, e.g. "reason=\"parse\"", or NULL */
    const char *help;   /* one line for # HELP (the first metric of a name carries it) */
    int gauge;          /* 1: a gauge, 0: a counter */
    _Atomic int64_t v;
    int64_t scale;         /* > 1: Prometheus shows v / scale (a power of ten); else v */
    int64_t (*read)(void); /* non-NULL: the value is read from it at each print (v is ignored) */
} metric_t;

#define METRIC_COUNTER(key, name, labels, help)                                                    \
    { key, name, labels, help, 0, 0, 1, NULL }
#define METRIC_GAUGE(key, name, labels, help)                                                      \
    { key, name, labels, help, 1, 0, 1, NULL }
#define METRIC_COUNTER_SCALED(key, name, labels, help, scale)                                      \
    { key, name, labels, help, 0, 0, scale, NULL }
#define METRIC_GAUGE_SCALED(key, name, labels, help, scale)                                        \
    { key, name, labels, help, 1, 0, scale, NULL }

static inline void metric_add(metric_t *m, int64_t d) {
    atomic_fetch_add_explicit(&m->v, d, memory_order_relaxed);
}
static inline void metric_set(metric_t *m, int64_t v) {
    atomic_store_explicit(&m->v, v, memory_order_relaxed);
}
static inline int64_t metric_get(const metric_t *m) {
    if (m->read) return m->read();
    return atomic_load_explicit(&((metric_t *)m)->v, memory_order_relaxed);
}

/* Writes "key=value key=value ..." (no newline, NUL-terminated) into buf; returns the length, cut
 * to fit cap. */
size_t metrics_logfmt(metric_t *const *ms, size_t n, char *buf, size_t cap);

/* Writes the Prometheus text exposition of ms into buf (NUL-terminated): # HELP and # TYPE once
 * per name, then one sample line per metric. Returns the length, or 0 if cap is too small. */
size_t metrics_prometheus(metric_t *const *ms, size_t n, char *buf, size_t cap);

/* ---- the process metrics, the same in every program ---------------------------------------- */

extern metric_t metrics_build_info, metrics_start_time, metrics_rss;
extern metric_t *const metrics_process[];
extern const size_t metrics_nprocess;

/* Sets build_info's labels (version CDN_VERSION, program) and the start time (now). Call once at
 * start, before any server prints them. program is borrowed (a string literal). */
void metrics_process_init(const char *program);

/* Resident set size of this process in bytes (/proc/self/statm); 0 if unreadable. */
int64_t metrics_rss_bytes(void);

/* Appends more Prometheus text (a module's own gauges written by hand): the length written, 0
 * when it does not fit cap. */
typedef size_t (*metrics_extra_fn)(void *ctx, char *buf, size_t cap);

/* One /metrics page: the metrics of a, then those of b not in a, then metrics_process (those not
 * listed already), then extra's text. Returns a malloc'd NUL-terminated buffer (the caller
 * frees it) with its length in *len, or NULL when out of memory or over METRICS_PAGE_MAX. */
#define METRICS_PAGE_MAX (4u << 20)
char *metrics_page(metric_t *const *a, size_t na, metric_t *const *b, size_t nb,
                   metrics_extra_fn extra, void *extra_ctx, size_t *len);

#endif
