/* window.c: the store's writes: adding hits, the key cap, expiry, dropping a partition (reads
 * are in window_read.c, a key's encoded seconds in window_key.c). See window.h for the rules
 * and window_int.h for the layout. */
#include "window_int.h"

#include "strhash.h"

#include <stdlib.h>
#include <string.h>

#define CUST_CAP_MIN 64 /* first size of the customer table */
#define KEY_CAP_MIN 8   /* first size of a customer's key table */

/* ---- hashing -----------------------------------------------------------------------------------
 */

uint64_t win_hash(const char *p, size_t n, uint64_t seed) {
    return strhash(p, n, seed);
}

/* (other) rows hash apart from every region of their country. */
static uint32_t key_hash(const char *country, const char *region, size_t rn, int other) {
    uint64_t seed = (uint64_t)(unsigned char)country[0] << 8 | (unsigned char)country[1];
    return (uint32_t)win_hash(region, rn, seed ^ (other ? 0x6f74686572ULL << 16 : 0));
}

/* ---- store ------------------------------------------------------------------------------------
 */

win_t *win_new(void) {
    win_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    /* Readers must not starve the consumer: a steady stream of dashboard requests would
     * otherwise hold the lock forever and the windows would stop moving. */
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&w->lock, &a);
    pthread_rwlockattr_destroy(&a);
    w->custs = calloc(CUST_CAP_MIN, sizeof *w->custs);
    if (rc != 0 || !w->custs) {
        if (rc == 0) pthread_rwlock_destroy(&w->lock);
        free(w->custs);
        free(w);
        return NULL;
    }
    w->ccap = CUST_CAP_MIN;
    w->mem = sizeof *w + CUST_CAP_MIN * sizeof *w->custs;
    w->keycap = WIN_KEYS_PER_CUSTOMER_DEFAULT;
    w->horizon = WKEY_HEAD_NONE;
    return w;
}

/* Keeps c->at_cap and the store's count of customers at the cap right. */
static void cap_update(win_t *w, wcust_t *c) {
    uint8_t at = c->nkeys - c->nother >= w->keycap;
    if (at != c->at_cap) {
        if (at)
            w->ncap++;
        else
            w->ncap--;
        c->at_cap = at;
    }
}

static void cust_free(win_t *w, wcust_t *c) {
    if (c->at_cap) w->ncap--;
    for (uint32_t i = 0; i < c->kcap; i++) {
        if (!c->keys[i]) continue;
        w->mem -= wkey_size(c->keys[i]);
        w->nkeys--;
        free(c->keys[i]);
    }
    w->mem -= (uint64_t)c->kcap * sizeof *c->keys + sizeof *c + c->name_len + 1;
    free(c->keys);
    free(c);
}

void win_free(win_t *w) {
    if (!w) return;
    for (size_t i = 0; i < w->ccap; i++)
        if (w->custs[i]) cust_free(w, w->custs[i]);
    free(w->custs);
    pthread_rwlock_destroy(&w->lock);
    free(w);
}

/* ---- tables -----------------------------------------------------------------------------------
 */

/* Puts every non-NULL entry of old[0..oldcap) into a fresh table of newcap slots (a power of
 * two); hash_of gives an entry's hash. NULL when out of memory. */
static void **rehash(void **old, size_t oldcap, size_t newcap, uint64_t (*hash_of)(const void *)) {
    void **t = calloc(newcap, sizeof *t);
    if (!t) return NULL;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i]) continue;
        size_t j = hash_of(old[i]) & (newcap - 1);
        while (t[j])
            j = (j + 1) & (newcap - 1);
        t[j] = old[i];
    }
    return t;
}

static uint64_t cust_hash_of(const void *p) {
    return ((const wcust_t *)p)->hash;
}
static uint64_t key_hash_of(const void *p) {
    return ((const wkey_t *)p)->hash;
}

/* Resizes the customer table to cap slots; -1 when out of memory (the old one stays). */
static int custs_resize(win_t *w, size_t cap) {
    void **t = rehash((void **)w->custs, w->ccap, cap, cust_hash_of);
    if (!t) return -1;
    free(w->custs);
    w->mem = w->mem - w->ccap * sizeof *w->custs + cap * sizeof *w->custs;
    w->custs = (wcust_t **)t;
    w->ccap = cap;
    return 0;
}

static int keys_resize(win_t *w, wcust_t *c, uint32_t cap) {
    void **t = rehash((void **)c->keys, c->kcap, cap, key_hash_of);
    if (!t) return -1;
    free(c->keys);
    w->mem = w->mem - (uint64_t)c->kcap * sizeof *c->keys + (uint64_t)cap * sizeof *c->keys;
    c->keys = (wkey_t **)t;
    c->kcap = cap;
    c->last = 0;
    return 0;
}

/* The entry of (name, part), created if absent; NULL when out of memory. */
static wcust_t *cust_get(win_t *w, slice_t name, int32_t part) {
    wcust_t *c = w->last;
    if (c && c->part == part && c->name_len == name.n && memcmp(c->name, name.p, name.n) == 0)
        return c;
    uint64_t h = win_hash(name.p, name.n, 0);
    size_t j = h & (w->ccap - 1);
    for (; (c = w->custs[j]); j = (j + 1) & (w->ccap - 1))
        if (c->hash == h && c->part == part && c->name_len == name.n &&
            memcmp(c->name, name.p, name.n) == 0)
            return w->last = c;
    if ((w->ncusts + 1) * 2 > w->ccap) { /* keep the load at most one half */
        if (custs_resize(w, w->ccap * 2) < 0) return NULL;
        for (j = h & (w->ccap - 1); w->custs[j]; j = (j + 1) & (w->ccap - 1)) {
        }
    }
    c = calloc(1, sizeof *c + name.n + 1);
    wkey_t **keys = calloc(KEY_CAP_MIN, sizeof *keys);
    if (!c || !keys) {
        free(c);
        free(keys);
        return NULL;
    }
    memcpy(c->name, name.p, name.n);
    c->name_len = (uint32_t)name.n;
    c->hash = h;
    c->part = part;
    c->head = WKEY_HEAD_NONE; /* every slot stale */
    c->keys = keys;
    c->kcap = KEY_CAP_MIN;
    w->custs[j] = c;
    w->ncusts++;
    w->mem += sizeof *c + name.n + 1 + KEY_CAP_MIN * sizeof *keys;
    return w->last = c;
}

/* The slot of the customer's key (country, region, other) if it has one, else of the empty slot
 * where it goes. */
static uint32_t key_slot(const wcust_t *c, const char *country, slice_t region, int other,
                         uint32_t h) {
    uint32_t j = h & (c->kcap - 1);
    for (const wkey_t *k; (k = c->keys[j]); j = (j + 1) & (c->kcap - 1))
        if (k->hash == h && k->other == other && k->country[0] == country[0] &&
            k->country[1] == country[1] && k->region_len == region.n &&
            memcmp(k->data, region.p, region.n) == 0)
            break;
    return j;
}

static int key_is(const wkey_t *k, const char *country, slice_t region) {
    return !k->other && k->country[0] == country[0] && k->country[1] == country[1] &&
           k->region_len == region.n && memcmp(k->data, region.p, region.n) == 0;
}

/* The slot of the customer's key of (country, region), created if absent; when the customer
 * holds keycap keys already, the slot of the country's (other) row instead (*other = 1).
 * -1 when out of memory. */
static int64_t key_get(win_t *w, wcust_t *c, const char *country, slice_t region, int *other) {
    *other = 0;
    if (c->last && key_is(c->keys[c->last - 1], country, region)) return c->last - 1;
    uint32_t h = key_hash(country, region.p, region.n, 0);
    uint32_t j = key_slot(c, country, region, 0, h);
    if (!c->keys[j] && c->nkeys - c->nother >= w->keycap) {
        /* At the cap: the hit counts in its country's (other) row (window.h). */
        *other = 1;
        region = (slice_t){"", 0};
        h = key_hash(country, "", 0, 1);
        j = key_slot(c, country, region, 1, h);
    }
    if (c->keys[j]) {
        c->last = j + 1;
        return j;
    }
    if ((c->nkeys + 1) * 2 > c->kcap) {
        if (keys_resize(w, c, c->kcap * 2) < 0) return -1;
        j = key_slot(c, country, region, *other, h);
    }
    wkey_t *k = wkey_new(country, region, *other, h);
    if (!k) return -1;
    c->keys[j] = k;
    c->nkeys++;
    c->nother += (uint32_t)*other;
    w->nkeys++;
    w->mem += wkey_size(k);
    cap_update(w, c);
    c->last = j + 1;
    return j;
}

/* ---- adding -----------------------------------------------------------------------------------
 */

/* Moves the customer ring's head to second s, zeroing the slots of the seconds it passes: they
 * held seconds that have now left the ring. */
static void ring_advance(wcust_t *c, int64_t s) {
    if (s <= c->head) return;
    if (s - c->head >= WIN_RING) {
        memset(c->hits, 0, sizeof c->hits);
        memset(c->bytes, 0, sizeof c->bytes);
    } else {
        for (int64_t t = c->head + 1; t <= s; t++) {
            c->hits[win_slot(t)] = 0;
            c->bytes[win_slot(t)] = 0;
        }
    }
    c->head = s;
}

static win_add_result_t add_one(win_t *w, const hit_t *h, int32_t part, int64_t now_s) {
    int64_t s = win_second(h->ts_ms);
    if (s < now_s - (WIN_SECONDS - 1)) return WIN_LATE;
    if (s > now_s + WIN_FUTURE_S) return WIN_FUTURE;
    if (s < w->horizon) return WIN_LATE; /* the clock stepped back past what expiry let go */
    if (h->country.n != WIN_COUNTRY_LEN) return WIN_INVALID;
    wcust_t *c = cust_get(w, h->customer, part);
    if (!c) return WIN_NOMEM;
    /* The wall clock stepped back since this customer's newest second: the ring no longer
     * holds s. Such a hit could not be shown by any read, as a late one. */
    if (!win_slot_live(c->head > s ? c->head : s, s)) return WIN_LATE;
    int other;
    int64_t j = key_get(w, c, h->country.p, h->region, &other);
    if (j < 0) return WIN_NOMEM;
    wkey_pos_t pos;
    wkey_find(c->keys[j], s, &pos);
    /* The customer's ring first: a key never holds a second its customer's ring has dropped,
     * also when the key's update fails below. */
    ring_advance(c, s);
    unsigned i = win_slot(s);
    uint64_t kh, kb, ch, cb;
    /* Check every sum before changing any: an add happens whole or not at all. */
    if (__builtin_add_overflow(pos.hits, 1u, &kh) || kh > UINT32_MAX ||
        __builtin_add_overflow(pos.bytes, h->bytes, &kb) ||
        __builtin_add_overflow(c->hits[i], 1u, &ch) ||
        __builtin_add_overflow(c->bytes[i], h->bytes, &cb))
        return WIN_OVERFLOW;
    int64_t grew = wkey_put(&c->keys[j], s, &pos, kh, kb);
    if (grew == INT64_MIN) return WIN_NOMEM;
    w->mem = (uint64_t)((int64_t)w->mem + grew);
    c->hits[i] = ch;
    c->bytes[i] = cb;
    w->folded += (uint64_t)other;
    return WIN_ADDED;
}

void win_add_batch(win_t *w, const hit_t *hits, const int32_t *parts, size_t n, int64_t now_ms,
                   int8_t *results) {
    int64_t now_s = win_second(now_ms);
    pthread_rwlock_wrlock(&w->lock);
    for (size_t i = 0; i < n; i++)
        results[i] = (int8_t)add_one(w, &hits[i], parts[i], now_s);
    pthread_rwlock_unlock(&w->lock);
}

win_add_result_t win_add(win_t *w, const hit_t *h, int32_t part, int64_t now_ms) {
    int8_t r;
    win_add_batch(w, h, &part, 1, now_ms, &r);
    return (win_add_result_t)r;
}

/* ---- expiry -----------------------------------------------------------------------------------
 */

/* Empties slot i of a linear-probing table and moves later entries of its cluster back
 * (Knuth's algorithm R), so that every entry stays reachable from its home slot without
 * tombstones and without allocating. An entry may move into slot i: the caller looks at i
 * again. */
static void table_delete(void **t, size_t cap, size_t i, uint64_t (*hash_of)(const void *)) {
    size_t mask = cap - 1, j = i;
    for (;;) {
        t[i] = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (!t[j]) return;
            size_t home = hash_of(t[j]) & mask;
            /* t[j] stays where it is when its home lies cyclically in (i, j]. */
            if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) continue;
            break;
        }
        t[i] = t[j];
        i = j;
    }
}

/* Frees the customer's keys that hold nothing at or after second `oldest`; returns how many. */
static size_t expire_keys(win_t *w, wcust_t *c, int64_t oldest) {
    size_t freed = 0;
    for (uint32_t i = 0; i < c->kcap; i++) {
        wkey_t *k;
        while ((k = c->keys[i]) && k->head < oldest) { /* an empty key's head is below any */
            w->mem -= wkey_size(k);
            c->nother -= k->other;
            free(k);
            table_delete((void **)c->keys, c->kcap, i, key_hash_of);
            c->nkeys--;
            w->nkeys--;
            freed++;
        }
    }
    if (freed) {
        c->last = 0;
        cap_update(w, c);
        uint32_t cap = c->kcap;
        while (cap > KEY_CAP_MIN && (c->nkeys + 1) * 8 <= cap)
            cap /= 2;
        if (cap != c->kcap) keys_resize(w, c, cap); /* out of memory: stays as large, fine */
    }
    return freed;
}

/* Frees the customer entries for which drop(w, c, arg) holds (drop may also free keys of the
 * ones it keeps), then shrinks the table if it became sparse. Returns the entries freed. A
 * kept entry may be looked at twice (table_delete can move it back): drop must not mind. */
static size_t sweep(win_t *w, int (*drop)(win_t *, wcust_t *, int64_t), int64_t arg) {
    size_t freed = 0;
    for (size_t i = 0; i < w->ccap; i++) {
        wcust_t *c;
        while ((c = w->custs[i]) && drop(w, c, arg)) {
            cust_free(w, c);
            table_delete((void **)w->custs, w->ccap, i, cust_hash_of);
            w->ncusts--;
            freed++;
        }
    }
    if (freed) {
        w->last = NULL;
        size_t cap = w->ccap;
        while (cap > CUST_CAP_MIN && (w->ncusts + 1) * 8 <= cap)
            cap /= 2;
        if (cap != w->ccap) custs_resize(w, cap); /* out of memory: stays as large, fine */
    }
    return freed;
}

static int expired(win_t *w, wcust_t *c, int64_t oldest) {
    if (c->head < oldest) return 1;
    expire_keys(w, c, oldest);
    return 0;
}

size_t win_expire(win_t *w, int64_t now_ms) {
    pthread_rwlock_wrlock(&w->lock);
    uint64_t before = w->nkeys;
    int64_t oldest = win_second(now_ms) - (WIN_SECONDS - 1);
    /* What is freed below is let go for good, also for a clock that steps back later: no
     * add or read goes below this (a key freed here cannot leave its seconds in the ring of
     * its customer, which a read at an earlier clock would show without the key). */
    if (oldest > w->horizon) w->horizon = oldest;
    sweep(w, expired, oldest);
    size_t n = (size_t)(before - w->nkeys);
    pthread_rwlock_unlock(&w->lock);
    return n;
}

static int of_partition(win_t *w, wcust_t *c, int64_t part) {
    (void)w;
    return c->part == part;
}

size_t win_drop_partition(win_t *w, int32_t part) {
    pthread_rwlock_wrlock(&w->lock);
    size_t n = sweep(w, of_partition, part);
    pthread_rwlock_unlock(&w->lock);
    return n;
}

void win_stats(win_t *w, win_stats_t *st) {
    pthread_rwlock_rdlock(&w->lock);
    st->customers = w->ncusts;
    st->keys = w->nkeys;
    st->bytes = w->mem;
    st->customers_at_cap = w->ncap;
    st->hits_folded = w->folded;
    st->key_cap = w->keycap;
    pthread_rwlock_unlock(&w->lock);
}

void win_set_key_cap(win_t *w, uint32_t n) {
    if (n < 1) n = 1;
    if (n > WIN_KEYS_PER_CUSTOMER_MAX) n = WIN_KEYS_PER_CUSTOMER_MAX;
    pthread_rwlock_wrlock(&w->lock);
    w->keycap = n;
    for (size_t i = 0; i < w->ccap; i++)
        if (w->custs[i]) cap_update(w, w->custs[i]);
    pthread_rwlock_unlock(&w->lock);
}
