/* metrics.h: counters and gauges, printed as one logfmt line or as Prometheus text.
 *
 * A program declares its metrics as static metric_t values and lists them in an array; both
 * printers walk that array, so a metric added once shows up in the periodic log line, at exit,
 * and on /metrics alike. Values are atomic: the HTTP thread reads while the consumer writes. */
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
} metric_t;

#define METRIC_COUNTER(key, name, labels, help) {key, name, labels, help, 0, 0}
#define METRIC_GAUGE(key, name, labels, help) {key, name, labels, help, 1, 0}

static inline void metric_add(metric_t *m, int64_t d) {
    atomic_fetch_add_explicit(&m->v, d, memory_order_relaxed);
}
static inline void metric_set(metric_t *m, int64_t v) {
    atomic_store_explicit(&m->v, v, memory_order_relaxed);
}
static inline int64_t metric_get(const metric_t *m) {
    return atomic_load_explicit(&((metric_t *)m)->v, memory_order_relaxed);
}

/* Writes "key=value key=value ..." (no newline, NUL-terminated) into buf; returns the length, cut
 * to fit cap. */
size_t metrics_logfmt(metric_t *const *ms, size_t n, char *buf, size_t cap);

/* Writes the Prometheus text exposition of ms into buf (NUL-terminated): # HELP and # TYPE once
 * per name, then one sample line per metric. Returns the length, or 0 if cap is too small. */
size_t metrics_prometheus(metric_t *const *ms, size_t n, char *buf, size_t cap);

#endif
