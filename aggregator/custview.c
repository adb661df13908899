/* custview.c: the writer's side of custview (see custview.h): customers, their rings, the
 * host table, region names, expiry. Reads are in custview_read.c. */
#include "custview_int.h"

#include "strhash.h"

#include <stdlib.h>
#include <string.h>

#define CV_TAB_MIN 64

cv_t *cv_new(int64_t start_ms) {
    cv_t *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->tab = calloc(CV_TAB_MIN, sizeof *v->tab);
    v->ntabs = calloc(CV_NAME_BUCKETS, sizeof *v->ntabs);
    /* The consumer must not wait behind a stream of readers (as window.c's lock). */
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&v->lock, &a);
    pthread_rwlockattr_destroy(&a);
    if (!v->tab || !v->ntabs || rc != 0) {
        free(v->tab);
        free(v->ntabs);
        free(v);
        return NULL;
    }
    v->ntab = CV_TAB_MIN;
    v->start_ms = start_ms;
    return v;
}

static void cust_free(cv_cust_t *c) {
    for (size_t i = 0; i < c->nhosts; i++) {
        free(c->hosts[i]->name);
        free(c->hosts[i]);
    }
    free(c);
}

void cv_free(cv_t *v) {
    if (!v) return;
    for (size_t i = 0; i < v->ntab; i++)
        for (cv_cust_t *c = v->tab[i], *nx; c; c = nx) {
            nx = c->next;
            cust_free(c);
        }
    for (size_t i = 0; i < CV_NAME_BUCKETS; i++)
        for (cv_name_t *e = v->ntabs[i], *nx; e; e = nx) {
            nx = e->next;
            free(e->key);
            free(e->name);
            free(e);
        }
    free(v->tab);
    free(v->ntabs);
    pthread_rwlock_destroy(&v->lock);
    free(v);
}

cv_cust_t *cv_find(const cv_t *v, const char *id, size_t n) {
    uint64_t h = strhash(id, n, 0);
    for (cv_cust_t *c = v->tab[h & (v->ntab - 1)]; c; c = c->next)
        if (c->idhash == h && c->idlen == n && memcmp(c->id, id, n) == 0) return c;
    return NULL;
}

/* Doubles the table when it is fuller than one entry a bucket. */
static void grow(cv_t *v) {
    if (v->ncust < v->ntab) return;
    size_t nt = v->ntab * 2;
    cv_cust_t **t = calloc(nt, sizeof *t);
    if (!t) return; /* chains just get longer */
    for (size_t i = 0; i < v->ntab; i++)
        for (cv_cust_t *c = v->tab[i], *nx; c; c = nx) {
            nx = c->next;
            size_t b = c->idhash & (nt - 1);
            c->next = t[b];
            t[b] = c;
        }
    free(v->tab);
    v->tab = t;
    v->ntab = nt;
}

static cv_cust_t *cust_get(cv_t *v, const char *id, size_t n) {
    if (n == 0 || n > CV_CUSTOMER_MAX) return NULL; /* hit_validate never passes one */
    cv_cust_t *c = cv_find(v, id, n);
    if (c) return c;
    if (!(c = calloc(1, sizeof *c))) return NULL;
    memcpy(c->id, id, n);
    c->idlen = n;
    c->idhash = strhash(id, n, 0);
    c->idle_scan_s = -1;
    for (size_t i = 0; i < WIN_RING; i++)
        c->secs[i].sec = -1;
    for (size_t i = 0; i < CV_MIN_RING; i++)
        c->mins[i].min = -1;
    size_t b = c->idhash & (v->ntab - 1);
    c->next = v->tab[b];
    v->tab[b] = c;
    v->ncust++;
    grow(v);
    return c;
}

/* ---- region names ------------------------------------------------------------------------- */

static size_t name_bucket(const char *key, size_t klen) {
    return strhash(key, klen, 0x6e616d65) & (CV_NAME_BUCKETS - 1);
}

const cv_name_t *cv_name_find(const cv_t *v, const char *country, const char *region, size_t rn) {
    char key[2 + HIT_STR_MAX];
    if (rn > HIT_STR_MAX) return NULL;
    memcpy(key, country, 2);
    memcpy(key + 2, region, rn);
    for (const cv_name_t *e = v->ntabs[name_bucket(key, rn + 2)]; e; e = e->next)
        if (e->klen == rn + 2 && memcmp(e->key, key, rn + 2) == 0) return e;
    return NULL;
}

static char *dup_bytes(const char *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Remembers the name of the hit's region; the last name seen wins. */
static void learn_name(cv_t *v, const hit_t *h) {
    if (h->region_name.n == 0 || h->region.n == 0 || h->country.n != 2) return;
    cv_name_t *e = (cv_name_t *)cv_name_find(v, h->country.p, h->region.p, h->region.n);
    if (e) {
        if (e->nlen == h->region_name.n && memcmp(e->name, h->region_name.p, e->nlen) == 0) return;
        char *nm = dup_bytes(h->region_name.p, h->region_name.n);
        if (!nm) return;
        free(e->name);
        e->name = nm;
        e->nlen = h->region_name.n;
        return;
    }
    if (v->nnames >= CV_NAMES_MAX) {
        v->names_refused++;
        return;
    }
    if (!(e = calloc(1, sizeof *e))) return;
    e->klen = 2 + h->region.n;
    e->key = malloc(e->klen);
    e->name = dup_bytes(h->region_name.p, h->region_name.n);
    if (!e->key || !e->name) {
        free(e->key);
        free(e->name);
        free(e);
        return;
    }
    memcpy(e->key, h->country.p, 2);
    memcpy(e->key + 2, h->region.p, h->region.n);
    e->nlen = h->region_name.n;
    size_t b = name_bucket(e->key, e->klen);
    e->next = v->ntabs[b];
    v->ntabs[b] = e;
    v->nnames++;
}

/* ---- adding ---------------------------------------------------------------------------------- */

static cv_status_t status_class(int status) {
    if (status >= 200 && status <= 299) return CV_2XX;
    if (status >= 300 && status <= 399) return CV_3XX;
    if (status >= 400 && status <= 499) return CV_4XX;
    if (status >= 500 && status <= 599) return CV_5XX;
    return CV_OTHER;
}

/* The slot of second s, reset if it held an older second; NULL if it holds a newer one (cannot
 * happen for a hit the window kept: the ring spans exactly the seconds it keeps). */
static cv_sec_t *sec_slot(cv_cust_t *c, int64_t s, size_t *idx) {
    size_t i = cv_slot(s, WIN_RING);
    cv_sec_t *x = &c->secs[i];
    *idx = i;
    if (x->sec == s) return x;
    if (x->sec > s) return NULL;
    memset(x, 0, sizeof *x);
    x->sec = s;
    c->other_hits[i] = 0;
    c->other_bytes[i] = 0;
    for (size_t k = 0; k < c->nhosts; k++) {
        c->hosts[k]->hits[i] = 0;
        c->hosts[k]->bytes[i] = 0;
    }
    return x;
}

/* 1 if the host has no hit in the seconds still in range at second n. */
static int host_idle(const cv_cust_t *c, const cv_hostent_t *e, int64_t n) {
    for (size_t i = 0; i < WIN_RING; i++) {
        int64_t s = c->secs[i].sec;
        if (s >= n - (WIN_SECONDS - 1) && s <= n + WIN_FUTURE_S && e->hits[i]) return 0;
    }
    return 1;
}

/* The tracked host h, a new entry for it, an idle entry taken over, or NULL: fold into other. */
static cv_hostent_t *host_get(cv_t *v, cv_cust_t *c, const char *h, size_t n, int64_t now_s) {
    uint64_t hh = strhash(h, n, 0);
    for (size_t k = 0; k < c->nhosts; k++)
        if (c->hhash[k] == hh && c->hosts[k]->len == n && memcmp(c->hosts[k]->name, h, n) == 0)
            return c->hosts[k];
    cv_hostent_t *e = NULL;
    size_t at = c->nhosts;
    int fresh = c->nhosts < CV_HOSTS_MAX;
    if (fresh)
        e = calloc(1, sizeof *e);
    else if (c->idle_scan_s != now_s) { /* one search a second: folding stays cheap */
        c->idle_scan_s = now_s;
        for (size_t k = 0; k < c->nhosts && !e; k++)
            if (host_idle(c, c->hosts[k], now_s)) e = c->hosts[(at = k)];
    }
    if (!e) return NULL;
    char *name = dup_bytes(h, n);
    if (!name) {
        if (fresh) free(e);
        return NULL;
    }
    if (fresh) {
        c->hosts[c->nhosts++] = e;
        v->nhosts++;
    } else {
        free(e->name);
        memset(e->hits, 0, sizeof e->hits);
        memset(e->bytes, 0, sizeof e->bytes);
    }
    e->name = name;
    e->len = n;
    c->hhash[at] = hh;
    return e;
}

static void add_minute(cv_cust_t *c, const hit_t *h, int64_t now_s) {
    int64_t m = cv_floordiv(cv_floordiv(h->ts_ms, 1000), 60), cur = cv_floordiv(now_s, 60);
    if (m < cur - (CV_MINUTES - 1)) return; /* out of the hour */
    cv_min_t *x = &c->mins[cv_slot(m, CV_MIN_RING)];
    if (x->min > m) return; /* a newer minute holds the slot: m left the ring */
    if (x->min != m) *x = (cv_min_t){.min = m};
    if (x->hits == UINT64_MAX || x->bytes > UINT64_MAX - h->bytes) return; /* not at 10^13 a hit */
    x->hits++;
    x->bytes += h->bytes;
}

static void add_second(cv_t *v, cv_cust_t *c, const hit_t *h, int64_t now_s) {
    size_t i;
    cv_sec_t *x = sec_slot(c, cv_floordiv(h->ts_ms, 1000), &i);
    if (!x) return;
    /* A second of one customer below 2^32 - 1 hits, as the window's slots (WIN_OVERFLOW). */
    cv_status_t st = status_class(h->status);
    hit_cache_t cc = h->cache.n ? hit_cache_class(h->cache.p, h->cache.n) : HIT_CACHE_UNKNOWN;
    if (x->status[st] == UINT32_MAX || x->cache[cc] == UINT32_MAX) return;
    x->status[st]++;
    x->cache[cc]++;
    cv_hostent_t *e = host_get(v, c, h->host.p, h->host.n, now_s);
    if (e && e->hits[i] < UINT32_MAX && e->bytes[i] <= UINT64_MAX - h->bytes) {
        e->hits[i]++;
        e->bytes[i] += h->bytes;
    } else if (c->other_hits[i] < UINT32_MAX && c->other_bytes[i] <= UINT64_MAX - h->bytes) {
        c->other_hits[i]++;
        c->other_bytes[i] += h->bytes;
        v->folded++;
    }
}

void cv_add_batch(cv_t *v, const hit_t *hits, size_t n, int64_t now_ms, const int8_t *results) {
    int64_t now_s = cv_floordiv(now_ms, 1000);
    pthread_rwlock_wrlock(&v->lock);
    for (size_t k = 0; k < n; k++) {
        const hit_t *h = &hits[k];
        if (results[k] != WIN_ADDED && results[k] != WIN_LATE) continue;
        learn_name(v, h);
        cv_cust_t *c = cust_get(v, h->customer.p, h->customer.n);
        if (!c) continue;
        add_minute(c, h, now_s);
        if (results[k] == WIN_ADDED) add_second(v, c, h, now_s);
    }
    pthread_rwlock_unlock(&v->lock);
}

/* ---- expiry and size --------------------------------------------------------------------------
 */

static int cust_idle(const cv_cust_t *c, int64_t now_s) {
    int64_t cur = cv_floordiv(now_s, 60);
    for (size_t i = 0; i < CV_MIN_RING; i++)
        if (c->mins[i].min >= cur - (CV_MINUTES - 1) && c->mins[i].hits) return 0;
    /* hits kept by the window are in the minutes too, except those a full slot refused */
    for (size_t i = 0; i < WIN_RING; i++)
        if (c->secs[i].sec >= now_s - (WIN_SECONDS - 1)) return 0;
    return 1;
}

size_t cv_expire(cv_t *v, int64_t now_ms) {
    int64_t now_s = cv_floordiv(now_ms, 1000);
    size_t freed = 0;
    pthread_rwlock_wrlock(&v->lock);
    for (size_t b = 0; b < v->ntab; b++)
        for (cv_cust_t **pp = &v->tab[b]; *pp;) {
            cv_cust_t *c = *pp;
            if (!cust_idle(c, now_s)) {
                pp = &c->next;
                continue;
            }
            *pp = c->next;
            v->nhosts -= c->nhosts;
            v->ncust--;
            cust_free(c);
            freed++;
        }
    pthread_rwlock_unlock(&v->lock);
    return freed;
}

void cv_stats(cv_t *v, cv_stats_t *st) {
    pthread_rwlock_rdlock(&v->lock);
    st->customers = v->ncust;
    st->hosts = v->nhosts;
    st->hosts_folded = v->folded;
    st->names = v->nnames;
    st->names_refused = v->names_refused;
    uint64_t b = sizeof *v + v->ntab * sizeof *v->tab + CV_NAME_BUCKETS * sizeof *v->ntabs;
    b += v->ncust * sizeof(cv_cust_t) + v->nhosts * sizeof(cv_hostent_t);
    for (size_t i = 0; i < v->ntab; i++)
        for (const cv_cust_t *c = v->tab[i]; c; c = c->next)
            for (size_t k = 0; k < c->nhosts; k++)
                b += c->hosts[k]->len + 1;
    for (size_t i = 0; i < CV_NAME_BUCKETS; i++)
        for (const cv_name_t *e = v->ntabs[i]; e; e = e->next)
            b += sizeof *e + e->klen + e->nlen + 1;
    st->bytes = b;
    pthread_rwlock_unlock(&v->lock);
}
