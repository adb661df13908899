#include "rollup.h"

#include "strhash.h"

#include "rejrec.h"

#include <stdlib.h>
#include <string.h>

/* Open addressing, linear probing, at most half full: a lookup is one or two probes. */
#define ROLLUP_INITIAL_SLOTS 1024
/* Customer ids live in chunks of this size (a larger id gets a chunk of its own); a flush
 * frees them all at once. */
#define ROLLUP_CHUNK_BYTES 65536

typedef struct row {
    uint64_t hash;        /* of the whole key; 0: empty slot (a real 0 is stored as 1) */
    uint64_t order;       /* of (customer, hour, country), no partition: store_row_t.order */
    const char *customer; /* NUL-terminated copy in a chunk */
    uint32_t custlen;
    int32_t partition;
    int64_t hour_s;
    char country[2];
    uint64_t hits, bytes;
} row_t;

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk_t;

/* An entry of the side table: (kind, partition, edge, key) -> value. */
typedef enum { SIDE_MONTH, SIDE_WM } side_kind_t;
typedef struct side {
    uint64_t hash;    /* 0: empty slot */
    const char *edge; /* NUL-terminated copy in a chunk */
    uint32_t edgelen;
    int32_t partition; /* DROPPED_PARTITION once dropped */
    int32_t kind;
    int64_t key;  /* SIDE_MONTH: year * 12 + month - 1; SIDE_WM: 0 */
    uint64_t val; /* SIDE_MONTH: hits; SIDE_WM: the highest wm_ms */
} side_t;

/* A reject held until the flush. */
typedef struct held_reject {
    store_reject_t r;
    char *record; /* owned */
} held_reject_t;

struct rollup {
    side_t *side;
    size_t side_slots, side_used, side_live;
    size_t nmonths, nwms; /* live entries of each kind */
    size_t side_last;     /* the last month entry added to: hits come in runs of one edge */
    int64_t side_last_hour;
    held_reject_t *rej;
    size_t nrej, rej_cap;
    uint64_t bytes_held;
    row_t *slots;
    size_t nslots;
    size_t used;  /* slots taken, dropped rows included (they count for the load) */
    size_t nrows; /* live rows */
    uint64_t hits, max_bytes;
    size_t last;     /* slot of the last row added to: hits come in runs of one key */
    chunk_t *chunks; /* newest first */
};

/* The hash of (customer, hour, country): the same in every process, whatever the partition. */
static uint64_t order_hash(const char *c, size_t n, int64_t hour_s, const char *country) {
    uint64_t k = (uint64_t)(unsigned char)country[0] << 8 | (unsigned char)country[1];
    return strhash(c, n, strhash_mix(k ^ (uint64_t)hour_s * 0x9e3779b97f4a7c15ULL));
}

static uint64_t slot_hash(uint64_t order, int32_t part) {
    uint64_t h = strhash_mix(order ^ ((uint64_t)(uint32_t)part + 1) * 0xc2b2ae3d27d4eb4fULL);
    return h ? h : 1;
}

static int same(const row_t *r, uint64_t h, int32_t part, const char *c, size_t n, int64_t hour_s,
                const char *country) {
    return r->hash == h && r->partition == part && r->hour_s == hour_s && r->custlen == n &&
           r->country[0] == country[0] && r->country[1] == country[1] &&
           memcmp(r->customer, c, n) == 0;
}

rollup_t *rollup_new(void) {
    rollup_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->slots = calloc(ROLLUP_INITIAL_SLOTS, sizeof *r->slots);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    r->nslots = ROLLUP_INITIAL_SLOTS;
    return r;
}

static void free_chunks(rollup_t *r) {
    while (r->chunks) {
        chunk_t *n = r->chunks->next;
        free(r->chunks);
        r->chunks = n;
    }
}

static void free_rejects(rollup_t *r) {
    for (size_t i = 0; i < r->nrej; i++)
        free(r->rej[i].record);
    r->nrej = 0;
}

void rollup_free(rollup_t *r) {
    if (!r) return;
    free_rejects(r);
    free(r->rej);
    free(r->side);
    free_chunks(r);
    free(r->slots);
    free(r);
}

static const char *copy_customer(rollup_t *r, const char *c, size_t n) {
    chunk_t *ch = r->chunks;
    if (!ch || ch->cap - ch->used < n + 1) {
        size_t cap = n + 1 > ROLLUP_CHUNK_BYTES ? n + 1 : ROLLUP_CHUNK_BYTES;
        ch = malloc(sizeof *ch + cap);
        if (!ch) return NULL;
        ch->used = 0;
        ch->cap = cap;
        ch->next = r->chunks;
        r->chunks = ch;
    }
    char *p = ch->data + ch->used;
    memcpy(p, c, n);
    p[n] = 0;
    ch->used += n + 1;
    return p;
}

/* A dropped row keeps its slot (so that probing goes on past it) with this partition, which no
 * hit has: it never matches and is not exported. Dropping then needs no memory. */
#define DROPPED_PARTITION (-1)

/* Moves the live rows into a table of nslots slots, leaving dropped rows behind. */
static int grow(rollup_t *r, size_t nslots) {
    row_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < r->nslots; i++) {
        const row_t *o = &r->slots[i];
        if (!o->hash || o->partition == DROPPED_PARTITION) continue;
        size_t j = o->hash & (nslots - 1);
        while (slots[j].hash)
            j = (j + 1) & (nslots - 1);
        slots[j] = *o;
    }
    free(r->slots);
    r->slots = slots;
    r->nslots = nslots;
    r->used = r->nrows;
    r->last = 0;
    return 0;
}

int rollup_add(rollup_t *r, int32_t part, const char *c, size_t n, int64_t ts_ms,
               const char *country, uint64_t bytes) {
    int64_t hour_s = rollup_hour_of(ts_ms);
    row_t *row = &r->slots[r->last];
    uint64_t h, order;
    /* The fast path: same key as the previous hit; the hash check is skipped, not the key's. */
    if (row->hash && row->partition == part && row->hour_s == hour_s && row->custlen == n &&
        row->country[0] == country[0] && row->country[1] == country[1] &&
        memcmp(row->customer, c, n) == 0)
        goto add;
    order = order_hash(c, n, hour_s, country);
    h = slot_hash(order, part);
    size_t i = h & (r->nslots - 1);
    while (r->slots[i].hash && !same(&r->slots[i], h, part, c, n, hour_s, country))
        i = (i + 1) & (r->nslots - 1);
    row = &r->slots[i];
    if (!row->hash) {
        if ((r->used + 1) * 2 > r->nslots) {
            if (grow(r, r->nrows * 2 + 2 > r->nslots ? r->nslots * 2 : r->nslots) < 0) return -1;
            return rollup_add(r, part, c, n, ts_ms, country, bytes);
        }
        const char *copy = copy_customer(r, c, n);
        if (!copy) return -1;
        *row = (row_t){h, order, copy, (uint32_t)n, part, hour_s, {country[0], country[1]}, 0, 0};
        r->nrows++;
        r->used++;
    }
    r->last = (size_t)(row - r->slots);
add:
    row->hits++;
    row->bytes += bytes;
    r->bytes_held += bytes;
    r->hits++;
    if (row->bytes > r->max_bytes) r->max_bytes = row->bytes;
    return 0;
}

size_t rollup_rows(const rollup_t *r) {
    return r->nrows;
}

uint64_t rollup_hits(const rollup_t *r) {
    return r->hits;
}

uint64_t rollup_max_bytes(const rollup_t *r) {
    return r->max_bytes;
}

uint64_t rollup_bytes_held(const rollup_t *r) {
    return r->bytes_held;
}

static void drop_side(rollup_t *r, int32_t part) {
    for (size_t i = 0; i < r->side_slots; i++) {
        side_t *e = &r->side[i];
        if (!e->hash || e->partition != part) continue;
        e->partition = DROPPED_PARTITION;
        r->side_live--;
        if (e->kind == SIDE_MONTH)
            r->nmonths--;
        else
            r->nwms--;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->nrej; i++) {
        if (r->rej[i].r.partition == part)
            free(r->rej[i].record);
        else
            r->rej[k++] = r->rej[i];
    }
    r->nrej = k;
}

uint64_t rollup_drop_partition(rollup_t *r, int32_t part) {
    uint64_t dropped = 0;
    drop_side(r, part);
    for (size_t i = 0; i < r->nslots; i++) {
        row_t *o = &r->slots[i];
        if (!o->hash || o->partition != part) continue;
        dropped += o->hits;
        r->bytes_held -= o->bytes;
        o->partition = DROPPED_PARTITION;
        o->hits = o->bytes = 0;
        r->nrows--;
    }
    r->hits -= dropped;
    return dropped;
}

void rollup_clear(rollup_t *r) {
    if (r->side) memset(r->side, 0, r->side_slots * sizeof *r->side);
    r->side_used = r->side_live = r->nmonths = r->nwms = r->side_last = 0;
    free_rejects(r);
    r->bytes_held = 0;
    memset(r->slots, 0, r->nslots * sizeof *r->slots);
    r->nrows = 0;
    r->used = 0;
    r->hits = 0;
    r->max_bytes = 0;
    r->last = 0;
    free_chunks(r);
}

/* By order hash, then by key: equal keys end up adjacent, and comparing mostly integers. */
static int cmp_rows(const void *a, const void *b) {
    const store_row_t *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    int c = strcmp(x->customer, y->customer);
    if (c) return c;
    if (x->hour_s != y->hour_s) return x->hour_s < y->hour_s ? -1 : 1;
    return strcmp(x->country, y->country);
}

size_t rollup_export(const rollup_t *r, store_row_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < r->nslots; i++) {
        const row_t *o = &r->slots[i];
        if (!o->hash || o->partition == DROPPED_PARTITION) continue;
        out[n] = (store_row_t){o->customer, o->hour_s, {o->country[0], o->country[1], 0},
                               o->hits,     o->bytes,  o->order};
        n++;
    }
    qsort(out, n, sizeof *out, cmp_rows);
    /* Equal keys from different partitions are now adjacent: merge them. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && cmp_rows(&out[m - 1], &out[i]) == 0) {
            out[m - 1].hits += out[i].hits;
            out[m - 1].bytes += out[i].bytes;
        } else {
            out[m++] = out[i];
        }
    }
    return m;
}

/* ---- the side tables: edge months, watermarks, rejects ------------------------------------- */

/* year * 12 + month - 1 of the UTC day holding hour_s (H. Hinnant's civil_from_days). */
static int32_t month_of(int64_t hour_s) {
    int64_t days = hour_s >= 0 ? hour_s / 86400 : -((-hour_s + 86399) / 86400);
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    return (int32_t)(year * 12 + month - 1);
}

static uint64_t side_hash(int kind, int32_t part, const char *e, size_t n, int64_t key) {
    uint64_t h = strhash(e, n, strhash_mix((uint64_t)key * 0x9e3779b97f4a7c15ULL ^ (uint64_t)kind));
    h = strhash_mix(h ^ ((uint64_t)(uint32_t)part + 1) * 0xc2b2ae3d27d4eb4fULL);
    return h ? h : 1;
}

static int side_grow(rollup_t *r) {
    size_t nslots = r->side_slots ? r->side_slots * 2 : 256;
    if (r->side_live * 2 + 2 <= r->side_slots) nslots = r->side_slots; /* only dropped ones */
    side_t *t = calloc(nslots, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < r->side_slots; i++) {
        const side_t *o = &r->side[i];
        if (!o->hash || o->partition == DROPPED_PARTITION) continue;
        size_t j = o->hash & (nslots - 1);
        while (t[j].hash)
            j = (j + 1) & (nslots - 1);
        t[j] = *o;
    }
    free(r->side);
    r->side = t;
    r->side_slots = nslots;
    r->side_used = r->side_live;
    r->side_last = 0;
    r->side_last_hour = INT64_MIN; /* the fast path must not trust slot 0 */
    return 0;
}

/* The entry of (kind, part, edge, key), created with val 0. NULL when out of memory. */
static side_t *side_get(rollup_t *r, int kind, int32_t part, const char *e, size_t n, int64_t key) {
    if ((r->side_used + 1) * 2 > r->side_slots && side_grow(r) < 0) return NULL;
    uint64_t h = side_hash(kind, part, e, n, key);
    size_t i = h & (r->side_slots - 1);
    for (;; i = (i + 1) & (r->side_slots - 1)) {
        side_t *s = &r->side[i];
        if (!s->hash) break;
        if (s->hash == h && s->partition == part && s->kind == kind && s->key == key &&
            s->edgelen == n && memcmp(s->edge, e, n) == 0)
            return s;
    }
    const char *copy = copy_customer(r, e, n);
    if (!copy) return NULL;
    r->side[i] = (side_t){h, copy, (uint32_t)n, part, kind, key, 0};
    r->side_used++;
    r->side_live++;
    if (kind == SIDE_MONTH)
        r->nmonths++;
    else
        r->nwms++;
    return &r->side[i];
}

int rollup_add_edge(rollup_t *r, int32_t part, const char *e, size_t n, int64_t ts_ms) {
    if (n == 0) return 0;
    int64_t hour_s = rollup_hour_of(ts_ms);
    side_t *s = r->side ? &r->side[r->side_last] : NULL;
    /* The fast path: the same edge, partition and hour as the previous hit. */
    if (s && s->hash && s->kind == SIDE_MONTH && s->partition == part &&
        r->side_last_hour == hour_s && s->edgelen == n && memcmp(s->edge, e, n) == 0) {
        s->val++;
        return 0;
    }
    s = side_get(r, SIDE_MONTH, part, e, n, month_of(hour_s));
    if (!s) return -1;
    s->val++;
    r->side_last = (size_t)(s - r->side);
    r->side_last_hour = hour_s;
    return 0;
}

int rollup_watermark(rollup_t *r, int32_t part, const char *edge, int64_t wm_ms) {
    side_t *s = side_get(r, SIDE_WM, part, edge, strlen(edge), 0);
    if (!s) return -1;
    if ((uint64_t)wm_ms > s->val) s->val = (uint64_t)wm_ms;
    return 0;
}

int rollup_reject(rollup_t *r, int32_t part, int64_t offset, const char *reason,
                  int64_t kafka_ts_ms, const char *value, size_t len) {
    if (r->nrej == r->rej_cap) {
        size_t cap = r->rej_cap ? r->rej_cap * 2 : 64;
        held_reject_t *v = realloc(r->rej, cap * sizeof *v);
        if (!v) return -1;
        r->rej = v;
        r->rej_cap = cap;
    }
    char buf[REJREC_MAX + 1];
    int altered;
    size_t n = rejrec_text(value, len, buf, &altered);
    char *copy = malloc(n + 1);
    if (!copy) return -1;
    memcpy(copy, buf, n + 1);
    uint32_t bytes = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    r->rej[r->nrej++] =
        (held_reject_t){{part, offset, reason, copy, kafka_ts_ms, bytes, altered}, copy};
    return 0;
}

size_t rollup_edge_months(const rollup_t *r) {
    return r->nmonths;
}

size_t rollup_watermarks(const rollup_t *r) {
    return r->nwms;
}

size_t rollup_rejects(const rollup_t *r) {
    return r->nrej;
}

static int cmp_months(const void *a, const void *b) {
    const store_edge_month_t *x = a, *y = b;
    int c = strcmp(x->edge, y->edge);
    if (c) return c;
    return x->month < y->month ? -1 : x->month > y->month;
}

static int cmp_wms(const void *a, const void *b) {
    const store_watermark_t *x = a, *y = b;
    int c = strcmp(x->edge, y->edge);
    if (c) return c;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

void rollup_export_side(const rollup_t *r, store_edge_month_t *em, size_t *nem,
                        store_watermark_t *wm, size_t *nwm, store_reject_t *rej, size_t *nrej) {
    size_t a = 0, b = 0;
    for (size_t i = 0; i < r->side_slots; i++) {
        const side_t *s = &r->side[i];
        if (!s->hash || s->partition == DROPPED_PARTITION) continue;
        if (s->kind == SIDE_MONTH)
            em[a++] = (store_edge_month_t){s->edge, (int32_t)s->key, s->val};
        else
            wm[b++] = (store_watermark_t){s->edge, s->partition, (int64_t)s->val};
    }
    /* Sorted (one lock order for concurrent writers), and equal (edge, month) merged: one upsert
     * may not name a key twice. */
    qsort(em, a, sizeof *em, cmp_months);
    qsort(wm, b, sizeof *wm, cmp_wms);
    size_t m = 0;
    for (size_t i = 0; i < a; i++) {
        if (m && cmp_months(&em[m - 1], &em[i]) == 0)
            em[m - 1].hits += em[i].hits;
        else
            em[m++] = em[i];
    }
    *nem = m;
    *nwm = b;
    for (size_t i = 0; i < r->nrej; i++)
        rej[i] = r->rej[i].r;
    *nrej = r->nrej;
}
