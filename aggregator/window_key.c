/* window_key.c: a key's seconds in their compact encoding (window_int.h): finding a second,
 * setting it, dropping the seconds that leave the ring, summing a range. Called under the
 * store's lock (writes under the write lock). */
#include "window_int.h"

#include <stdlib.h>
#include <string.h>

#define WKEY_GROW_MIN 16 /* bytes of entries a key grows by at least (amortizes realloc) */

static unsigned char *varint_put(unsigned char *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* Encodes one entry into out (WKEY_ENTRY_MAX bytes); returns its length. */
static unsigned entry_put(unsigned char *out, unsigned dt, uint64_t hits, uint64_t bytes) {
    unsigned char *p = out;
    if (hits >= 1 && hits <= 3) {
        *p++ = (unsigned char)(dt | hits << 6);
    } else {
        *p++ = (unsigned char)dt;
        p = varint_put(p, hits);
    }
    p = varint_put(p, bytes);
    return (unsigned)(p - out);
}

/* Allocation size for `cap` bytes of entries, rounded up to 16n + 8: glibc's malloc hands out
 * chunks of 16n bytes with an 8-byte header, so the rounding uses bytes that would be lost. */
static size_t alloc_size(const wkey_t *k, size_t cap) {
    size_t n = sizeof *k + k->region_len + 1 + cap;
    return (n + 7) / 16 * 16 + 8;
}

wkey_t *wkey_new(const char *country, slice_t region, int other, uint32_t hash) {
    wkey_t tmp = {.region_len = (uint16_t)region.n};
    size_t n = alloc_size(&tmp, 0);
    wkey_t *k = malloc(n);
    if (!k) return NULL;
    *k = tmp;
    k->head = WKEY_HEAD_NONE;
    k->hash = hash;
    k->other = (uint8_t)(other != 0);
    k->country[0] = country[0];
    k->country[1] = country[1];
    k->cap = (uint16_t)(n - sizeof *k - region.n - 1);
    if (region.n) memcpy(k->data, region.p, region.n);
    k->data[region.n] = 0;
    return k;
}

void wkey_find(const wkey_t *k, int64_t s, wkey_pos_t *pos) {
    memset(pos, 0, sizeof *pos);
    pos->prev = WKEY_HEAD_NONE;
    if (k->len == 0 || s > k->head) {
        pos->append = 1;
        pos->off = k->len;
        return;
    }
    const unsigned char *base = wkey_entries_c(k), *p = base, *end = base + k->len;
    unsigned dt;
    uint64_t h, b;
    if (s == k->head) { /* the live case: the newest second, found without a walk */
        wkey_entry(base + k->last, &dt, &pos->hits, &pos->bytes);
        pos->off = k->last;
        pos->found = 1;
        return;
    }
    int64_t t = k->head - k->span;
    for (int first = 1; p < end; first = 0) {
        const unsigned char *next = wkey_entry(p, &dt, &h, &b);
        if (!first) t += dt;
        if (t >= s) {
            pos->off = (uint16_t)(p - base);
            if (t == s) {
                pos->found = 1;
                pos->hits = h;
                pos->bytes = b;
            }
            return;
        }
        pos->prev = t;
        p = next;
    }
    pos->off = k->len; /* not reached: s < head has an entry at or after it */
}

/* Sums the entries again (after a key whose bytes passed 2^64 - 1 dropped some). */
static void recount(wkey_t *k) {
    const unsigned char *p = wkey_entries_c(k), *end = p + k->len;
    unsigned dt;
    uint64_t h, b;
    k->hits = k->bytes = 0;
    k->big = 0;
    while (p < end) {
        p = wkey_entry(p, &dt, &h, &b);
        k->hits += h;
        if (__builtin_add_overflow(k->bytes, b, &k->bytes)) k->big = 1;
    }
}

/* Adds to the key's sums what changed in one of its seconds. */
static void sums_add(wkey_t *k, uint64_t dh, uint64_t db) {
    k->hits += dh;
    if (__builtin_add_overflow(k->bytes, db, &k->bytes)) k->big = 1;
}

/* Drops the entries of seconds <= s - WIN_RING, before s becomes the head. */
static void trim(wkey_t *k, int64_t s) {
    if (k->len == 0) return;
    if (s - k->head >= WIN_RING) { /* every entry leaves */
        k->len = k->last = k->span = 0;
        k->hits = k->bytes = 0;
        k->big = 0;
        return;
    }
    unsigned char *base = wkey_entries(k);
    const unsigned char *p = base, *end = base + k->len;
    int64_t t = k->head - k->span, oldest = s - WIN_RING + 1;
    unsigned dt;
    uint64_t h, b;
    for (int first = 1; p < end; first = 0) {
        const unsigned char *next = wkey_entry(p, &dt, &h, &b);
        if (!first) t += dt;
        if (t >= oldest) break;
        k->hits -= h;
        k->bytes -= b; /* exact unless big (then recounted below) */
        p = next;
    }
    /* the newest entry (head > s - WIN_RING) always stays, so p < end */
    size_t cut = (size_t)(p - base);
    if (cut == 0) return;
    memmove(base, p, k->len - cut);
    base[0] &= 0xC0; /* the new first entry: no gap before it */
    k->len = (uint16_t)(k->len - cut);
    k->last = (uint16_t)(k->last - cut);
    k->span = (uint8_t)(k->head - t);
    if (k->big) recount(k);
}

/* Makes room for `need` bytes of entries: grows (or, when far too large, shrinks) the key.
 * 0, or -1 when out of memory (the key is unchanged). */
static int reserve(wkey_t **kp, size_t need) {
    wkey_t *k = *kp;
    size_t cap = k->cap;
    if (need <= cap && cap <= 2 * need + 64) return 0;
    if (need > cap) {
        /* A quarter more: a key that gains a second a second reallocates every few seconds,
         * and holds at most a quarter more than it needs. */
        cap = cap + cap / 4 > need + WKEY_GROW_MIN ? cap + cap / 4 : need + WKEY_GROW_MIN;
        if (cap > WKEY_DATA_MAX) cap = WKEY_DATA_MAX;
    } else {
        cap = need + WKEY_GROW_MIN; /* after a burst: keep what the key holds now */
    }
    size_t n = alloc_size(k, cap);
    wkey_t *nk = realloc(k, n);
    if (!nk) return need <= k->cap ? 0 : -1;
    nk->cap = (uint16_t)(n - sizeof *nk - nk->region_len - 1);
    *kp = nk;
    return 0;
}

int64_t wkey_put(wkey_t **kp, int64_t s, const wkey_pos_t *pos, uint64_t hits, uint64_t bytes) {
    wkey_t *k = *kp;
    int64_t size0 = (int64_t)wkey_size(k);
    unsigned char e[WKEY_ENTRY_MAX];
    if (pos->append) {
        trim(k, s);
        unsigned dt = k->len ? (unsigned)(s - k->head) : 0;
        unsigned n = entry_put(e, dt, hits, bytes);
        if (reserve(kp, (size_t)k->len + n) < 0) return INT64_MIN;
        k = *kp;
        memcpy(wkey_entries(k) + k->len, e, n);
        k->span = (uint8_t)(k->len ? k->span + dt : 0);
        k->last = k->len;
        k->len = (uint16_t)(k->len + n);
        k->head = s;
        sums_add(k, hits, bytes);
        return (int64_t)wkey_size(k) - size0;
    }
    unsigned char *base = wkey_entries(k), *at = base + pos->off;
    unsigned dt, n, old = 0;
    uint64_t h, b;
    if (pos->found) { /* the same gap before it, larger sums */
        old = (unsigned)(wkey_entry(at, &dt, &h, &b) - at);
        n = entry_put(e, at[0] & 63, hits, bytes);
    } else { /* before the entry at off, whose gap now counts from s */
        dt = pos->prev == WKEY_HEAD_NONE ? 0 : (unsigned)(s - pos->prev);
        n = entry_put(e, dt, hits, bytes);
    }
    if (reserve(kp, (size_t)k->len + n - old) < 0) return INT64_MIN;
    k = *kp;
    base = wkey_entries(k);
    at = base + pos->off;
    if (!pos->found) {
        int64_t next_t = pos->prev == WKEY_HEAD_NONE ? k->head - k->span : pos->prev + (at[0] & 63);
        at[0] = (unsigned char)((at[0] & 0xC0) | (unsigned)(next_t - s));
        if (pos->prev == WKEY_HEAD_NONE) k->span = (uint8_t)(k->head - s);
    }
    memmove(at + n, at + old, k->len - pos->off - old);
    memcpy(at, e, n);
    if (k->last > pos->off || !pos->found) k->last = (uint16_t)(k->last + n - old);
    k->len = (uint16_t)(k->len + n - old);
    sums_add(k, hits - pos->hits, bytes - pos->bytes);
    return (int64_t)wkey_size(k) - size0;
}

void wkey_sum(const wkey_t *k, int64_t first, int64_t last, uint64_t *hits, uint64_t *bytes) {
    if (k->len == 0 || k->head < first || k->head - k->span > last) return;
    const unsigned char *p = wkey_entries_c(k), *end = p + k->len;
    int64_t t = k->head - k->span;
    uint64_t sh = 0, h, b; /* at most WIN_RING * 2^32 hits: no overflow */
    unsigned __int128 sb = 0;
    unsigned dt;
    if (!k->big && k->head <= last) { /* the key's sums less its seconds before first */
        for (int first_entry = 1; p < end; first_entry = 0) {
            const unsigned char *next = wkey_entry(p, &dt, &h, &b);
            if (!first_entry) t += dt;
            if (t >= first) break;
            sh += h;
            sb += b;
            p = next;
        }
        sh = k->hits - sh;
        sb = k->bytes - (uint64_t)sb;
        p = end;
    }
    for (int first_entry = 1; p < end; first_entry = 0) {
        p = wkey_entry(p, &dt, &h, &b);
        if (!first_entry) t += dt;
        if (t < first) continue;
        if (t > last) break;
        sh += h;
        sb += b;
    }
    uint64_t r;
    *hits = __builtin_add_overflow(*hits, sh, &r) ? UINT64_MAX : r;
    uint64_t sb64 = sb > UINT64_MAX ? UINT64_MAX : (uint64_t)sb;
    *bytes = __builtin_add_overflow(*bytes, sb64, &r) ? UINT64_MAX : r;
}
