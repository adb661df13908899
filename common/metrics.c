#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

size_t metrics_logfmt(metric_t *const *ms, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    if (cap == 0) return 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s=%" PRId64, o ? " " : "", ms[i]->key,
                         metric_get(ms[i]));
        if (w < 0 || (size_t)w >= cap - o) {
            buf[o] = 0;
            break;
        }
        o += (size_t)w;
    }
    return o;
}

/* Whether an earlier metric in ms shares m's name: HELP and TYPE are written once per name. */
static int seen_name(metric_t *const *ms, size_t i) {
    for (size_t j = 0; j < i; j++)
        if (strcmp(ms[j]->name, ms[i]->name) == 0) return 1;
    return 0;
}

size_t metrics_prometheus(metric_t *const *ms, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const metric_t *m = ms[i];
        int w;
        if (!seen_name(ms, i)) {
            w = snprintf(buf + o, cap - o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
                         m->name, m->gauge ? "gauge" : "counter");
            if (w < 0 || (size_t)w >= cap - o) return 0;
            o += (size_t)w;
        }
        if (m->labels)
            w = snprintf(buf + o, cap - o, "%s{%s} %" PRId64 "\n", m->name, m->labels,
                         metric_get(m));
        else
            w = snprintf(buf + o, cap - o, "%s %" PRId64 "\n", m->name, metric_get(m));
        if (w < 0 || (size_t)w >= cap - o) return 0;
        o += (size_t)w;
    }
    return o;
}
