#include "rollup.h"

#include "strhash.h"

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

struct rollup {
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

void rollup_free(rollup_t *r) {
    if (!r) return;
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

uint64_t rollup_drop_partition(rollup_t *r, int32_t part) {
    uint64_t dropped = 0;
    for (size_t i = 0; i < r->nslots; i++) {
        row_t *o = &r->slots[i];
        if (!o->hash || o->partition != part) continue;
        dropped += o->hits;
        o->partition = DROPPED_PARTITION;
        o->hits = o->bytes = 0;
        r->nrows--;
    }
    r->hits -= dropped;
    return dropped;
}

void rollup_clear(rollup_t *r) {
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
