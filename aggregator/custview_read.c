/* custview_read.c: the readers' side of custview (see custview.h): one customer's extras over
 * a range of seconds, the hour by minute, region names, the list of active customers. */
#include "custview_int.h"

#include <stdlib.h>
#include <string.h>

/* Sums of one tracked host over the range, before the top is chosen. */
typedef struct hsum {
    const cv_hostent_t *e;
    uint64_t hits, bytes;
} hsum_t;

static int by_hits(const void *a, const void *b) {
    const hsum_t *x = a, *y = b;
    if (x->hits != y->hits) return x->hits > y->hits ? -1 : 1;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    size_t n = x->e->len < y->e->len ? x->e->len : y->e->len;
    int c = memcmp(x->e->name, y->e->name, n);
    return c ? c : x->e->len < y->e->len ? -1 : x->e->len > y->e->len;
}

/* The seconds [from, to] of c into out: status, cache, hosts (top and other). */
static int read_seconds(const cv_cust_t *c, int64_t from, int64_t to, cv_result_t *out) {
    hsum_t hs[CV_HOSTS_MAX];
    for (size_t k = 0; k < c->nhosts; k++)
        hs[k] = (hsum_t){c->hosts[k], 0, 0};
    for (size_t i = 0; i < WIN_RING; i++) {
        const cv_sec_t *x = &c->secs[i];
        if (x->sec < from || x->sec > to) continue;
        for (int k = 0; k < CV_NSTATUS; k++)
            out->status[k] += x->status[k];
        for (int k = 0; k < 3; k++)
            out->cache[k] += x->cache[k];
        out->other_hits += c->other_hits[i];
        out->other_bytes += c->other_bytes[i];
        for (size_t k = 0; k < c->nhosts; k++) {
            hs[k].hits += c->hosts[k]->hits[i];
            hs[k].bytes += c->hosts[k]->bytes[i];
        }
    }
    size_t live = 0;
    for (size_t k = 0; k < c->nhosts; k++)
        if (hs[k].hits) hs[live++] = hs[k];
    qsort(hs, live, sizeof hs[0], by_hits);
    size_t top = live < CV_TOP_HOSTS ? live : CV_TOP_HOSTS;
    if (top && !(out->hosts = calloc(top, sizeof *out->hosts))) return -1;
    for (size_t k = 0; k < live; k++) {
        if (k >= top) {
            out->other_hits += hs[k].hits;
            out->other_bytes += hs[k].bytes;
            continue;
        }
        cv_host_t *o = &out->hosts[k];
        if (!(o->host = malloc(hs[k].e->len + 1))) return -1;
        memcpy(o->host, hs[k].e->name, hs[k].e->len);
        o->host[hs[k].e->len] = 0;
        o->host_len = hs[k].e->len;
        o->hits = hs[k].hits;
        o->bytes = hs[k].bytes;
        out->nhosts = k + 1;
    }
    return 0;
}

static void read_minutes(const cv_cust_t *c, int64_t cur, cv_result_t *out) {
    for (int k = 0; k < CV_MINUTES; k++) {
        int64_t m = cur - (CV_MINUTES - 1) + k;
        out->minutes[k].t_ms = m * 60000;
        if (!c) continue;
        const cv_min_t *x = &c->mins[cv_slot(m, CV_MIN_RING)];
        if (x->min != m) continue;
        out->minutes[k].hits = x->hits;
        out->minutes[k].bytes = x->bytes;
    }
}

static int read_names(const cv_t *v, const win_result_t *w, cv_result_t *out) {
    if (!w || w->nregions == 0) return 0;
    if (!(out->region_names = calloc(w->nregions, sizeof *out->region_names))) return -1;
    out->nregion_names = w->nregions;
    for (size_t i = 0; i < w->nregions; i++) {
        const win_region_t *r = &w->regions[i];
        if (r->other) continue; /* the key cap's row of a country: no region, no name */
        const cv_name_t *e = cv_name_find(v, r->country, r->region, r->region_len);
        if (!e) continue;
        if (!(out->region_names[i] = malloc(e->nlen + 1))) return -1;
        memcpy(out->region_names[i], e->name, e->nlen);
        out->region_names[i][e->nlen] = 0;
    }
    return 0;
}

int cv_read(cv_t *v, const char *customer, int seconds, int64_t now_ms, const win_result_t *w,
            cv_result_t *out) {
    memset(out, 0, sizeof *out);
    if (seconds < 1) seconds = 1;
    if (seconds > WIN_SECONDS) seconds = WIN_SECONDS;
    int64_t n = cv_floordiv(now_ms, 1000), cur = cv_floordiv(n, 60);
    /* the first whole minute from the earliest time this instance read back */
    out->minutes_from_ms = -cv_floordiv(-v->start_ms, 60000) * 60000;
    int rc = 0;
    pthread_rwlock_rdlock(&v->lock);
    const cv_cust_t *c = cv_find(v, customer, strlen(customer));
    if (c) rc = read_seconds(c, n - (seconds - 1), n, out);
    read_minutes(c, cur, out);
    if (rc == 0) rc = read_names(v, w, out);
    pthread_rwlock_unlock(&v->lock);
    if (rc < 0) {
        cv_result_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void cv_result_free(cv_result_t *r) {
    for (size_t i = 0; i < r->nhosts; i++)
        free(r->hosts[i].host);
    free(r->hosts);
    for (size_t i = 0; i < r->nregion_names; i++)
        free(r->region_names[i]);
    free(r->region_names);
    r->hosts = NULL;
    r->region_names = NULL;
    r->nhosts = r->nregion_names = 0;
}

static int cust_active(const cv_cust_t *c, int64_t cur) {
    for (size_t i = 0; i < CV_MIN_RING; i++)
        if (c->mins[i].min >= cur - (CV_MINUTES - 1) && c->mins[i].hits) return 1;
    return 0;
}

int cv_active(cv_t *v, const char *customer, int64_t now_ms) {
    int64_t cur = cv_floordiv(cv_floordiv(now_ms, 1000), 60);
    pthread_rwlock_rdlock(&v->lock);
    const cv_cust_t *c = cv_find(v, customer, strlen(customer));
    int a = c && cust_active(c, cur);
    pthread_rwlock_unlock(&v->lock);
    return a;
}

static int by_id(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t cv_customers(cv_t *v, int64_t now_ms, char (*ids)[CV_CUSTOMER_MAX + 1], size_t cap) {
    int64_t cur = cv_floordiv(cv_floordiv(now_ms, 1000), 60);
    size_t total = 0;
    pthread_rwlock_rdlock(&v->lock);
    const char **all = malloc((v->ncust ? v->ncust : 1) * sizeof *all);
    for (size_t b = 0; all && b < v->ntab; b++)
        for (const cv_cust_t *c = v->tab[b]; c; c = c->next)
            if (cust_active(c, cur)) all[total++] = c->id;
    if (all) qsort(all, total, sizeof *all, by_id); /* sorted, then cut: the first ids */
    for (size_t i = 0; i < total && i < cap; i++)
        memcpy(ids[i], all[i], strlen(all[i]) + 1);
    pthread_rwlock_unlock(&v->lock);
    free(all);
    return total;
}
