#include "metrics.h"

#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define METRICS_PAGE_START (32u << 10)

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

/* v / scale in decimal, exactly (scale a power of ten): "1.250000". out holds 48 bytes. */
static void value_text(const metric_t *m, int64_t v, char out[48]) {
    if (m->scale <= 1) {
        snprintf(out, 48, "%" PRId64, v);
        return;
    }
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, frac = a % (uint64_t)m->scale;
    char digits[20]; /* the fraction, one digit per power of ten in scale (at most 18) */
    int nd = 0;
    for (int64_t s = m->scale; s > 1 && nd < 18; s /= 10)
        nd++;
    digits[nd] = 0;
    for (int i = nd - 1; i >= 0; i--, frac /= 10)
        digits[i] = (char)('0' + frac % 10);
    snprintf(out, 48, "%s%" PRIu64 ".%s", v < 0 ? "-" : "", a / (uint64_t)m->scale, digits);
}

size_t metrics_prometheus(metric_t *const *ms, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    if (cap == 0) return 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const metric_t *m = ms[i];
        char val[48];
        int w;
        if (!seen_name(ms, i)) {
            /* The first of a name carries the help; an empty one would be a bare "# HELP x". */
            const char *help = m->help;
            for (size_t j = i + 1; !*help && j < n; j++)
                if (strcmp(ms[j]->name, m->name) == 0) help = ms[j]->help;
            w = snprintf(buf + o, cap - o, "# HELP %s %s\n# TYPE %s %s\n", m->name, help, m->name,
                         m->gauge ? "gauge" : "counter");
            if (w < 0 || (size_t)w >= cap - o) return 0;
            o += (size_t)w;
        }
        value_text(m, metric_get(m), val);
        if (m->labels)
            w = snprintf(buf + o, cap - o, "%s{%s} %s\n", m->name, m->labels, val);
        else
            w = snprintf(buf + o, cap - o, "%s %s\n", m->name, val);
        if (w < 0 || (size_t)w >= cap - o) return 0;
        o += (size_t)w;
    }
    return o;
}

/* ---- the process metrics ----------------------------------------------------------------------
 */

static char build_labels[160] = "version=\"" CDN_VERSION "\",program=\"unknown\"";

metric_t metrics_build_info = METRIC_GAUGE("build_info", "build_info", build_labels,
                                           "Always 1; the labels name the program and its version");
metric_t metrics_start_time = METRIC_GAUGE("start_time_s", "process_start_time_seconds", NULL,
                                           "Start time of the process since the Unix epoch, in "
                                           "seconds");
metric_t metrics_rss = {"rss_bytes", "process_resident_memory_bytes",
                        NULL,        "Resident memory size of the process, in bytes",
                        1,           0,
                        1,           metrics_rss_bytes};

metric_t *const metrics_process[] = {&metrics_build_info, &metrics_start_time, &metrics_rss};
const size_t metrics_nprocess = sizeof metrics_process / sizeof metrics_process[0];

void metrics_process_init(const char *program) {
    snprintf(build_labels, sizeof build_labels, "version=\"%s\",program=\"%s\"", CDN_VERSION,
             program);
    metric_set(&metrics_build_info, 1);
    metric_set(&metrics_start_time, (int64_t)time(NULL));
}

int64_t metrics_rss_bytes(void) {
    long pages = -1, rss = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
    return rss < 0 ? 0 : (int64_t)rss * sysconf(_SC_PAGESIZE);
}

static int listed(metric_t *const *ms, size_t n, const metric_t *m) {
    for (size_t i = 0; i < n; i++)
        if (ms[i] == m) return 1;
    return 0;
}

char *metrics_page(metric_t *const *a, size_t na, metric_t *const *b, size_t nb,
                   metrics_extra_fn extra, void *extra_ctx, size_t *len) {
    metric_t **all = malloc((na + nb + metrics_nprocess + 1) * sizeof *all);
    char *buf = NULL;
    size_t n = 0, k = 0;
    if (!all) return NULL;
    for (size_t i = 0; i < na; i++)
        all[n++] = a[i];
    for (size_t i = 0; i < nb; i++)
        if (!listed(a, na, b[i])) all[n++] = b[i];
    for (size_t i = 0; i < metrics_nprocess; i++)
        if (!listed(all, n, metrics_process[i])) all[n++] = metrics_process[i];
    for (size_t cap = METRICS_PAGE_START; cap <= METRICS_PAGE_MAX && k == 0; cap *= 2) {
        free(buf);
        buf = malloc(cap);
        if (!buf) break;
        k = metrics_prometheus(all, n, buf, cap);
        if (k && extra) { /* appended: 0 means it did not fit, grow */
            size_t x = extra(extra_ctx, buf + k, cap - k);
            k = x ? k + x : 0;
        }
    }
    free(all);
    if (!buf || k == 0) {
        free(buf);
        return NULL;
    }
    *len = k;
    return buf;
}
