/* window_read.c: reading a customer's window (see window.h). Everything a read returns is
 * copied out under the read lock, so the result stays valid after the writer moves on. */
#include "window_int.h"

#include <stdlib.h>
#include <string.h>

#define READ_ENTRIES_MAX                                                                           \
    64 /* (customer, partition) entries of one customer: more than the                             \
          partitions any sane topic has; the rest would be ignored */

/* A key's sums over the window, before strings are copied out. */
typedef struct row {
    const wkey_t *k;
    uint64_t hits, bytes;
} row_t;

/* Sums can only pass 2^64 - 1 by adding up entries of several partitions or 60 full slots;
 * they then stay at the maximum rather than wrap (window.h: WIN_HIT_BYTES_MAX makes it
 * unreachable with real traffic). */
static inline uint64_t sat_add(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static int cmp_key(const wkey_t *a, const wkey_t *b) {
    int c = memcmp(a->country, b->country, WIN_COUNTRY_LEN);
    if (c) return c;
    size_t n = a->region_len < b->region_len ? a->region_len : b->region_len;
    c = memcmp(a->data, b->data, n);
    if (c) return c;
    if (a->region_len != b->region_len) return a->region_len < b->region_len ? -1 : 1;
    return (int)a->other - (int)b->other;
}

static int cmp_row_key(const void *pa, const void *pb) {
    return cmp_key(((const row_t *)pa)->k, ((const row_t *)pb)->k);
}

static int cmp_counts(uint64_t ha, uint64_t ba, uint64_t hb, uint64_t bb) {
    if (ha != hb) return ha > hb ? -1 : 1;
    if (ba != bb) return ba > bb ? -1 : 1;
    return 0;
}

static int cmp_region(const void *pa, const void *pb) {
    const win_region_t *a = pa, *b = pb;
    int c = cmp_counts(a->hits, a->bytes, b->hits, b->bytes);
    if (c) return c;
    c = memcmp(a->country, b->country, WIN_COUNTRY_LEN);
    if (c) return c;
    size_t n = a->region_len < b->region_len ? a->region_len : b->region_len;
    c = memcmp(a->region, b->region, n);
    if (c) return c;
    if (a->region_len != b->region_len) return a->region_len < b->region_len ? -1 : 1;
    return a->other - b->other;
}

static int cmp_country(const void *pa, const void *pb) {
    const win_country_t *a = pa, *b = pb;
    int c = cmp_counts(a->hits, a->bytes, b->hits, b->bytes);
    return c ? c : memcmp(a->country, b->country, WIN_COUNTRY_LEN);
}

/* The seconds of [first, last] that a read shows of a customer entry: those its ring still
 * holds, (head - WIN_RING, head], and not let go by expiry (>= horizon), as [*lo, *hi] (empty
 * when *lo > *hi). Its keys are read over the same seconds, so that they sum to its ring. */
static inline void shown_range(const wcust_t *c, int64_t horizon, int64_t first, int64_t last,
                               int64_t *lo, int64_t *hi) {
    *lo = first > c->head - WIN_RING + 1 ? first : c->head - WIN_RING + 1;
    if (*lo < horizon) *lo = horizon;
    *hi = last < c->head ? last : c->head;
}

/* Adds a customer ring's seconds [lo, hi] to the series that starts at second first. */
static void series_add(const wcust_t *c, int64_t first, int64_t lo, int64_t hi,
                       win_point_t *series) {
    if (lo > hi) return;
    unsigned s = win_slot(lo);
    for (int64_t t = lo; t <= hi; t++) {
        win_point_t *p = &series[t - first];
        p->hits = sat_add(p->hits, c->hits[s]);
        p->bytes = sat_add(p->bytes, c->bytes[s]);
        if (++s == WIN_RING) s = 0;
    }
}

/* The entries of `customer` (one per partition it came from); returns how many. */
static size_t find_entries(win_t *w, const char *customer, size_t len, wcust_t **out) {
    uint64_t h = win_hash(customer, len, 0);
    size_t n = 0;
    wcust_t *c;
    for (size_t j = h & (w->ccap - 1); (c = w->custs[j]); j = (j + 1) & (w->ccap - 1))
        if (c->hash == h && c->name_len == len && memcmp(c->name, customer, len) == 0 &&
            n < READ_ENTRIES_MAX)
            out[n++] = c;
    return n;
}

/* Rows of every key with a hit in the seconds shown of its entry (range[2i], range[2i+1]);
 * several entries' rows of one key are merged. */
static row_t *collect_rows(wcust_t **e, size_t ne, const int64_t *range, size_t *nrows) {
    size_t cap = 0, n = 0;
    for (size_t i = 0; i < ne; i++)
        cap += e[i]->nkeys;
    row_t *rows = malloc((cap ? cap : 1) * sizeof *rows);
    if (!rows) return NULL;
    for (size_t i = 0; i < ne; i++) {
        if (range[2 * i] > range[2 * i + 1]) continue;
        for (uint32_t j = 0; j < e[i]->kcap; j++) {
            const wkey_t *k = e[i]->keys[j];
            if (!k) continue;
            row_t r = {k, 0, 0};
            wkey_sum(k, range[2 * i], range[2 * i + 1], &r.hits, &r.bytes);
            if (r.hits) rows[n++] = r;
        }
    }
    if (ne > 1 && n > 1) { /* the same key from two partitions: one row */
        qsort(rows, n, sizeof *rows, cmp_row_key);
        size_t m = 0;
        for (size_t i = 1; i < n; i++) {
            if (cmp_key(rows[m].k, rows[i].k) == 0) {
                rows[m].hits = sat_add(rows[m].hits, rows[i].hits);
                rows[m].bytes = sat_add(rows[m].bytes, rows[i].bytes);
            } else {
                rows[++m] = rows[i];
            }
        }
        n = m + 1;
    }
    *nrows = n;
    return rows;
}

/* The bytes a row's region takes in the result (an (other) row's is WIN_OTHER_REGION). */
static size_t region_len(const wkey_t *k) {
    return k->other ? sizeof WIN_OTHER_REGION - 1 : k->region_len;
}

/* Copies the rows out as regions, with their strings in one block. */
static int fill_regions(win_result_t *out, const row_t *rows, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += region_len(rows[i].k) + 1;
    out->regions = calloc(n ? n : 1, sizeof *out->regions);
    out->strings_ = malloc(total ? total : 1);
    if (!out->regions || !out->strings_) return -1;
    char *p = out->strings_;
    for (size_t i = 0; i < n; i++) {
        const wkey_t *k = rows[i].k;
        win_region_t *r = &out->regions[i];
        size_t len = region_len(k);
        memcpy(r->country, k->country, WIN_COUNTRY_LEN);
        memcpy(p, k->other ? (const void *)WIN_OTHER_REGION : (const void *)k->data, len);
        p[len] = 0;
        r->region = p;
        r->region_len = len;
        r->other = k->other;
        r->hits = rows[i].hits;
        r->bytes = rows[i].bytes;
        p += len + 1;
    }
    out->nregions = n;
    return 0;
}

/* Countries, summed from the regions (in any order) through a small open-addressing map of
 * the 2-byte codes. */
static int fill_countries(win_result_t *out) {
    size_t cap = 64;
    while (cap < out->nregions * 2)
        cap *= 2;
    uint32_t *map = calloc(cap, sizeof *map); /* index + 1 into countries; 0 = empty */
    out->countries = calloc(out->nregions ? out->nregions : 1, sizeof *out->countries);
    if (!map || !out->countries) {
        free(map);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < out->nregions; i++) {
        const win_region_t *r = &out->regions[i];
        unsigned code = (unsigned)(unsigned char)r->country[0] << 8 | (unsigned char)r->country[1];
        size_t j = (code * 0x9E3779B1u) & (cap - 1);
        while (map[j] && memcmp(out->countries[map[j] - 1].country, r->country, WIN_COUNTRY_LEN))
            j = (j + 1) & (cap - 1);
        if (!map[j]) {
            memcpy(out->countries[n].country, r->country, WIN_COUNTRY_LEN);
            map[j] = (uint32_t)++n;
        }
        win_country_t *c = &out->countries[map[j] - 1];
        c->hits = sat_add(c->hits, r->hits);
        c->bytes = sat_add(c->bytes, r->bytes);
    }
    free(map);
    out->ncountries = n;
    return 0;
}

int win_read(win_t *w, const char *customer, int seconds, int64_t now_ms, win_result_t *out) {
    wcust_t *e[READ_ENTRIES_MAX];
    int64_t range[2 * READ_ENTRIES_MAX]; /* the seconds shown of each entry: lo, hi */
    row_t *rows = NULL;
    size_t nrows = 0;
    int rc = -1;
    memset(out, 0, sizeof *out);
    seconds = seconds < 1 ? 1 : seconds > WIN_SECONDS ? WIN_SECONDS : seconds;
    int64_t now_s = win_second(now_ms), first = now_s - seconds + 1;
    out->seconds = seconds;
    out->end_ms = now_s * 1000;
    for (int i = 0; i < seconds; i++)
        out->series[i].t_ms = (first + i) * 1000;

    pthread_rwlock_rdlock(&w->lock);
    size_t ne = find_entries(w, customer, strlen(customer), e);
    for (size_t i = 0; i < ne; i++) {
        shown_range(e[i], w->horizon, first, now_s, &range[2 * i], &range[2 * i + 1]);
        series_add(e[i], first, range[2 * i], range[2 * i + 1], out->series);
    }
    rows = collect_rows(e, ne, range, &nrows);
    if (rows) rc = fill_regions(out, rows, nrows);
    pthread_rwlock_unlock(&w->lock);
    free(rows);
    if (rc < 0 || fill_countries(out) < 0) goto fail;

    qsort(out->regions, out->nregions, sizeof *out->regions, cmp_region);
    qsort(out->countries, out->ncountries, sizeof *out->countries, cmp_country);
    for (int i = 0; i < seconds; i++) {
        out->hits = sat_add(out->hits, out->series[i].hits);
        out->bytes = sat_add(out->bytes, out->series[i].bytes);
    }
    return out->hits ? 0 : 1;
fail:
    win_result_free(out);
    out->seconds = seconds;
    out->end_ms = now_s * 1000;
    for (int i = 0; i < seconds; i++)
        out->series[i] = (win_point_t){(first + i) * 1000, 0, 0};
    return -1;
}

void win_result_free(win_result_t *r) {
    if (!r) return;
    free(r->countries);
    free(r->regions);
    free(r->strings_);
    memset(r, 0, sizeof *r);
}

static int read_local(void *ctx, const char *customer, int seconds, int64_t now_ms,
                      win_result_t *out) {
    return win_read(ctx, customer, seconds, now_ms, out);
}

win_reader_t win_reader_local(win_t *w) {
    return (win_reader_t){read_local, w};
}
