/* wmstate.c: see wmstate.h. A small open-addressing table of (partition, edge) entries, rebuilt
 * by the sweep that forgets edges, and an array of partitions. */
#include "wmstate.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WMS_CAP_MIN 64

typedef struct wme {
    char *edge; /* NUL-terminated; NULL: empty slot */
    size_t len;
    uint64_t hash;
    int32_t part;
    int64_t wm_ms;   /* highest watermark read */
    int64_t sent_ms; /* when the newest watermark was sent */
} wme_t;

typedef struct wpart {
    int caught_up;
    int64_t pos_ms;
} wpart_t;

struct wms {
    pthread_mutex_t lock;
    wme_t *e;
    size_t n, cap;
    wpart_t *parts;
    int32_t nparts;
};

static uint64_t hash_of(int32_t part, const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uint32_t)part;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

wms_t *wms_new(void) {
    wms_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->cap = WMS_CAP_MIN;
    w->e = calloc(w->cap, sizeof *w->e);
    if (!w->e) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    return w;
}

void wms_free(wms_t *w) {
    if (!w) return;
    for (size_t i = 0; i < w->cap; i++)
        free(w->e[i].edge);
    free(w->e);
    free(w->parts);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static wme_t *slot_for(wme_t *tab, size_t cap, uint64_t h, int32_t part, const char *s, size_t n) {
    size_t j = h & (cap - 1);
    while (tab[j].edge && !(tab[j].hash == h && tab[j].part == part && tab[j].len == n &&
                            memcmp(tab[j].edge, s, n) == 0))
        j = (j + 1) & (cap - 1);
    return &tab[j];
}

/* Moves the entries into a table of cap slots, leaving out those silent since before
 * forget_before (pass INT64_MIN to keep all). */
static int rebuild(wms_t *w, size_t cap, int64_t forget_before) {
    wme_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    size_t n = 0;
    for (size_t i = 0; i < w->cap; i++) {
        wme_t *e = &w->e[i];
        if (!e->edge) continue;
        if (e->sent_ms < forget_before) {
            free(e->edge);
            continue;
        }
        *slot_for(t, cap, e->hash, e->part, e->edge, e->len) = *e;
        n++;
    }
    free(w->e);
    w->e = t;
    w->cap = cap;
    w->n = n;
    return 0;
}

int wms_note(wms_t *w, int32_t part, const char *edge, size_t n, int64_t wm_ms, int64_t sent_ms) {
    int rc = -1;
    if (part < 0 || part >= WMS_PARTITIONS_MAX) return -1;
    uint64_t h = hash_of(part, edge, n);
    pthread_mutex_lock(&w->lock);
    if ((w->n + 1) * 2 > w->cap && rebuild(w, w->cap * 2, INT64_MIN) < 0) goto out;
    wme_t *e = slot_for(w->e, w->cap, h, part, edge, n);
    if (!e->edge) {
        char *s = malloc(n + 1);
        if (!s) goto out;
        memcpy(s, edge, n);
        s[n] = 0;
        *e = (wme_t){s, n, h, part, wm_ms, sent_ms};
        w->n++;
    } else {
        if (wm_ms > e->wm_ms) e->wm_ms = wm_ms;
        if (sent_ms > e->sent_ms) e->sent_ms = sent_ms;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void wms_set_partitions(wms_t *w, int32_t nparts) {
    if (nparts <= 0 || nparts > WMS_PARTITIONS_MAX) return;
    pthread_mutex_lock(&w->lock);
    if (nparts > w->nparts) {
        wpart_t *p = realloc(w->parts, (size_t)nparts * sizeof *p);
        if (p) {
            for (int32_t i = w->nparts; i < nparts; i++)
                p[i] = (wpart_t){0, -1};
            w->parts = p;
            w->nparts = nparts;
        }
    }
    pthread_mutex_unlock(&w->lock);
}

void wms_partition(wms_t *w, int32_t part, int caught_up, int64_t pos_ms) {
    pthread_mutex_lock(&w->lock);
    if (part >= 0 && part < w->nparts) w->parts[part] = (wpart_t){caught_up, pos_ms};
    pthread_mutex_unlock(&w->lock);
}

static int catching_up_locked(const wms_t *w) {
    if (w->nparts == 0) return 1;
    for (int32_t i = 0; i < w->nparts; i++)
        if (!w->parts[i].caught_up) return 1;
    return 0;
}

int wms_catching_up(wms_t *w) {
    pthread_mutex_lock(&w->lock);
    int c = catching_up_locked(w);
    pthread_mutex_unlock(&w->lock);
    return c;
}

static int cmp_behind(const void *pa, const void *pb) {
    const wms_behind_t *a = pa, *b = pb;
    if (a->watermark_ms != b->watermark_ms) return a->watermark_ms < b->watermark_ms ? -1 : 1;
    return strcmp(a->edge, b->edge);
}

/* The edges of part behind the wall clock, into out (malloc'd copies). -1 out of memory. */
static int collect_behind(const wms_t *w, int32_t part, int64_t now_ms, wms_status_t *out) {
    for (size_t i = 0; i < w->cap; i++) {
        const wme_t *e = &w->e[i];
        if (!e->edge || e->part != part || e->wm_ms >= now_ms - WM_BEHIND_MS) continue;
        if (out->nbehind % 16 == 0) {
            wms_behind_t *b = realloc(out->behind, (out->nbehind + 16) * sizeof *b);
            if (!b) return -1;
            out->behind = b;
        }
        char *s = strdup(e->edge);
        if (!s) return -1;
        out->behind[out->nbehind++] = (wms_behind_t){s, e->wm_ms};
    }
    return 0;
}

int wms_status(wms_t *w, int32_t part, int64_t now_ms, int64_t from_ms, int64_t end_ms,
               wms_status_t *out) {
    memset(out, 0, sizeof *out);
    int rc = 0, any = 0;
    int64_t complete = INT64_MAX;
    pthread_mutex_lock(&w->lock);
    out->catching_up = catching_up_locked(w);
    for (size_t i = 0; i < w->cap; i++) {
        const wme_t *e = &w->e[i];
        if (!e->edge || e->part != part || e->sent_ms < now_ms - WM_EDGE_STALE_MS) continue;
        any = 1;
        if (e->wm_ms < complete) complete = e->wm_ms;
    }
    int caught_up = part >= 0 && part < w->nparts && w->parts[part].caught_up;
    int64_t pos = part >= 0 && part < w->nparts ? w->parts[part].pos_ms : -1;
    if (!caught_up) { /* never ahead of what was read */
        int64_t read_to = pos >= 0 ? pos : from_ms;
        if (read_to < complete) complete = read_to;
    } else if (!any) {
        complete = end_ms;
    }
    if (collect_behind(w, part, now_ms, out) < 0) rc = -1;
    pthread_mutex_unlock(&w->lock);
    out->complete_to_ms = complete < end_ms ? complete : end_ms;
    if (rc < 0) {
        wms_status_free(out);
        out->complete_to_ms = complete < end_ms ? complete : end_ms;
        return -1;
    }
    if (out->nbehind > 1) qsort(out->behind, out->nbehind, sizeof *out->behind, cmp_behind);
    if (out->nbehind > WMS_BEHIND_MAX) {
        for (size_t i = WMS_BEHIND_MAX; i < out->nbehind; i++)
            free(out->behind[i].edge);
        out->nbehind = WMS_BEHIND_MAX;
    }
    return 0;
}

void wms_status_free(wms_status_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nbehind; i++)
        free(s->behind[i].edge);
    free(s->behind);
    s->behind = NULL;
    s->nbehind = 0;
}

void wms_sweep(wms_t *w, int64_t now_ms) {
    pthread_mutex_lock(&w->lock);
    size_t old = 0;
    for (size_t i = 0; i < w->cap; i++)
        old += w->e[i].edge && w->e[i].sent_ms < now_ms - WMS_FORGET_MS;
    if (old) {
        size_t cap = WMS_CAP_MIN;
        while (cap < (w->n - old) * 2 + 2)
            cap *= 2;
        rebuild(w, cap, now_ms - WMS_FORGET_MS); /* out of memory: tried again next time */
    }
    pthread_mutex_unlock(&w->lock);
}

/* ---- /metrics ------------------------------------------------------------------------------- */

typedef struct eagg {
    const char *edge;
    int64_t wm_ms;   /* lowest over the partitions */
    int64_t sent_ms; /* newest report on any partition */
} eagg_t;

static int cmp_eagg(const void *pa, const void *pb) {
    return strcmp(((const eagg_t *)pa)->edge, ((const eagg_t *)pb)->edge);
}

/* Appends s as a Prometheus label value (\\, \" and \n escaped). */
static size_t put_label(char *buf, size_t cap, size_t o, const char *s) {
    for (; *s && o + 2 < cap; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            buf[o++] = '\\';
            buf[o++] = *s == '\n' ? 'n' : *s;
        } else {
            buf[o++] = *s;
        }
    }
    return o;
}

#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__);                            \
        o += k_ > 0 ? (size_t)k_ : 0;                                                              \
    } while (0)

/* One sample line per edge of metric name, the value picked by which (0: wm, 1: sent), in
 * seconds since the epoch (Prometheus' base unit) with millisecond decimals. */
static size_t put_edges(char *buf, size_t cap, size_t o, const eagg_t *a, size_t n,
                        const char *name, const char *help, int which) {
    PUT("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < n && o < cap; i++) {
        PUT("%s{edge=\"", name);
        if (o < cap) o = put_label(buf, cap, o, a[i].edge);
        int64_t v = which ? a[i].sent_ms : a[i].wm_ms; /* >= 0: seconds with ms decimals */
        PUT("\"} %" PRId64 ".%03d\n", v / 1000, (int)(v % 1000));
    }
    return o;
}

size_t wms_metrics(wms_t *w, int64_t now_ms, int64_t catchup_ms, char *buf, size_t cap,
                   wms_counts_t *counts) {
    size_t o = 0, n = 0, m = 0;
    wms_counts_t c = {0, 0, 0};
    pthread_mutex_lock(&w->lock);
    eagg_t *a = malloc((w->n ? w->n : 1) * sizeof *a);
    if (a) {
        for (size_t i = 0; i < w->cap; i++)
            if (w->e[i].edge) a[n++] = (eagg_t){w->e[i].edge, w->e[i].wm_ms, w->e[i].sent_ms};
        qsort(a, n, sizeof *a, cmp_eagg);
        for (size_t i = 0; i < n; i++) { /* merge the partitions of one edge */
            if (m && strcmp(a[m - 1].edge, a[i].edge) == 0) {
                if (a[i].wm_ms < a[m - 1].wm_ms) a[m - 1].wm_ms = a[i].wm_ms;
                if (a[i].sent_ms > a[m - 1].sent_ms) a[m - 1].sent_ms = a[i].sent_ms;
            } else {
                a[m++] = a[i];
            }
        }
        c.edges = m;
        for (size_t i = 0; i < m; i++) {
            c.behind += a[i].wm_ms < now_ms - WM_BEHIND_MS;
            c.stale += a[i].sent_ms < now_ms - WM_EDGE_STALE_MS;
        }
        o = put_edges(buf, cap, o, a, m, "aggregator_edge_watermark_seconds",
                      "Per edge: its hits with ts below this (seconds since the epoch) are read, "
                      "lowest over the partitions",
                      0);
        o = put_edges(buf, cap, o, a, m, "aggregator_edge_last_report_seconds",
                      "Per edge: when it last sent a watermark (seconds since the epoch)", 1);
    }
    int catching = catching_up_locked(w);
    pthread_mutex_unlock(&w->lock); /* the edge names in a are not used after this */
    free(a);
    PUT("# HELP aggregator_edges Edges known by their watermarks\n"
        "# TYPE aggregator_edges gauge\naggregator_edges %zu\n",
        c.edges);
    PUT("# HELP aggregator_edges_behind Edges whose watermark is more than 5 s behind the clock\n"
        "# TYPE aggregator_edges_behind gauge\naggregator_edges_behind %zu\n",
        c.behind);
    PUT("# HELP aggregator_edges_stale Edges with no watermark for 5 minutes (still listed)\n"
        "# TYPE aggregator_edges_stale gauge\naggregator_edges_stale %zu\n",
        c.stale);
    int64_t cms = catchup_ms;
    if (cms >= 0)
        PUT("# HELP aggregator_catchup_seconds Time from the start of reading until caught up\n"
            "# TYPE aggregator_catchup_seconds gauge\naggregator_catchup_seconds %" PRId64
            ".%03d\n",
            cms / 1000, (int)(cms % 1000));
    PUT("# HELP aggregator_catching_up 1 while some partition is not yet read to its end at start\n"
        "# TYPE aggregator_catching_up gauge\naggregator_catching_up %d\n",
        catching);
    if (counts) *counts = c;
    if (!a || o >= cap) {
        if (cap) buf[0] = 0;
        return 0;
    }
    return o;
}
