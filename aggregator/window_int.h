/* window_int.h: the store's layout, shared by window.c (writes, expiry), window_key.c (the
 * encoding of a key's seconds) and window_read.c (reads). Private to them.
 *
 * Two levels of open-addressing tables with linear probing: customers (per customer and
 * partition) in the store, (country, region) keys in each customer. A customer keeps a dense
 * ring of its totals per second (the series and the totals are read without walking its keys);
 * a key keeps only the seconds in which it had hits, in a compact byte encoding (below), so
 * that a key of one hit takes a few bytes instead of a ring of WIN_RING slots. The customer's
 * ring is the sum of its keys' seconds. Deletion happens only in sweeps, which rebuild a table
 * that lost entries, so a probe never meets a tombstone.
 *
 * A key's seconds (wkey_t.data after the region): entries in increasing order of second, each
 *     tag byte     bits 0-5: seconds since the previous entry's (0 for the first entry);
 *                  bits 6-7: the hits when 1..3, or 0 when a varint of the hits follows
 *     [varint]     hits (only when the tag holds 0): 4 .. 2^32 - 1
 *     varint       bytes: 0 .. 2^64 - 1
 * (varint: LEB128, 7 bits a byte, low first.) Invariant: every entry's second t is in
 * (head - WIN_RING, head], so the gap between two entries is below WIN_RING < 64 and fits the
 * tag, at most WIN_RING entries are held, and an entry takes at most 1 + 5 + 10 bytes: a key's
 * data is at most WKEY_DATA_MAX bytes, whatever the traffic. A second with a hit and 1,000
 * bytes takes 3 bytes; one with 50 hits and 5 MB, 5. A key also keeps the sums of all its
 * entries, so that a read of the whole minute decodes only the entries before it (one or two)
 * instead of all of them. */
#ifndef WINDOW_INT_H
#define WINDOW_INT_H

#include "window.h"

#include <pthread.h>

#define WKEY_ENTRY_MAX 16 /* 1 tag + 5 (hits < 2^32) + 10 (bytes < 2^64) */
#define WKEY_DATA_MAX (WIN_RING * WKEY_ENTRY_MAX)
#define WKEY_HEAD_NONE (INT64_MIN / 2) /* head of a key with no entry */

/* One (country, region) of one customer: one allocation, resized as its seconds come and go. */
typedef struct wkey {
    int64_t head;        /* second of the newest entry; WKEY_HEAD_NONE when len == 0 */
    uint64_t hits;       /* sum of the entries' hits (< WIN_RING * 2^32: no overflow) */
    uint64_t bytes;      /* sum of the entries' bytes, unless big */
    uint32_t hash;       /* of (country, region, other) */
    uint16_t len;        /* bytes of entries in use, <= WKEY_DATA_MAX */
    uint16_t cap;        /* bytes allocated for entries */
    uint16_t last;       /* offset of the newest entry (the one of head) */
    uint16_t region_len; /* <= HIT_STR_MAX */
    uint8_t span;        /* head - the oldest entry's second, < WIN_RING */
    uint8_t other : 1;   /* 1: the country's (other) row of a customer at its key cap */
    uint8_t big : 1;     /* 1: the entries' bytes pass 2^64 - 1, .bytes is not their sum */
    char country[WIN_COUNTRY_LEN];
    unsigned char data[]; /* the region (region_len bytes, NUL), then cap bytes of entries */
} wkey_t;

typedef struct wcust {
    int64_t head;      /* newest second of any of its keys: the customer ring's head */
    uint64_t hash;     /* of the name only, so that a read finds every partition's entry */
    int32_t part;      /* the partition these hits came from */
    uint32_t name_len; /* <= HIT_STR_MAX */
    uint64_t hits[WIN_RING];
    uint64_t bytes[WIN_RING];
    wkey_t **keys;   /* open addressing, kcap slots (a power of two), NULL = empty */
    uint32_t nkeys;  /* every key, (other) rows included */
    uint32_t nother; /* (other) rows among them */
    uint32_t kcap;
    uint32_t last;  /* slot + 1 of the key touched last (hits come in runs of one key); 0: none */
    uint8_t at_cap; /* nkeys - nother >= the store's key cap (counted in win.ncap) */
    char name[];    /* name_len bytes, then a NUL */
} wcust_t;

struct win {
    pthread_rwlock_t lock;
    wcust_t **custs; /* open addressing, ccap slots (a power of two), NULL = empty */
    size_t ncusts, ccap;
    uint64_t nkeys;
    uint64_t mem;    /* bytes of our own allocations */
    wcust_t *last;   /* the customer touched last (writer only) */
    uint32_t keycap; /* (country, region) keys per customer entry before hits fold */
    uint64_t ncap;   /* customer entries at keycap */
    uint64_t folded; /* hits summed into an (other) row, ever */
    int64_t horizon; /* the oldest second the last win_expire kept: older ones are let go */
};

/* Floor division: the second of a millisecond time, also before 1970. */
static inline int64_t win_second(int64_t ms) {
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static inline unsigned win_slot(int64_t s) {
    int64_t i = s % WIN_RING;
    return (unsigned)(i < 0 ? i + WIN_RING : i);
}

/* Whether second t is still held by a ring whose head is `head`. */
static inline int win_slot_live(int64_t head, int64_t t) {
    return t <= head && t > head - WIN_RING;
}

uint64_t win_hash(const char *p, size_t n, uint64_t seed);

/* ---- a key's seconds (window_key.c) ---------------------------------------------------------- */

/* Reads a varint at p; returns the byte after it. The writer made it: no bound check. */
static inline const unsigned char *wkey_varint(const unsigned char *p, uint64_t *v) {
    uint64_t x = 0;
    unsigned sh = 0;
    while (*p & 0x80) {
        x |= (uint64_t)(*p++ & 0x7f) << sh;
        sh += 7;
    }
    *v = x | (uint64_t)*p++ << sh;
    return p;
}

/* Decodes the entry at p (seconds since the previous entry, hits, bytes); returns the next. */
static inline const unsigned char *wkey_entry(const unsigned char *p, unsigned *dt, uint64_t *hits,
                                              uint64_t *bytes) {
    unsigned tag = *p++;
    *dt = tag & 63;
    if (tag >> 6)
        *hits = tag >> 6;
    else
        p = wkey_varint(p, hits);
    return wkey_varint(p, bytes);
}

static inline unsigned char *wkey_entries(wkey_t *k) {
    return k->data + k->region_len + 1;
}
static inline const unsigned char *wkey_entries_c(const wkey_t *k) {
    return k->data + k->region_len + 1;
}

/* Bytes of the key's allocation (what win.mem counts). */
static inline size_t wkey_size(const wkey_t *k) {
    return sizeof *k + k->region_len + 1 + k->cap;
}

/* A key with no entry, for (country, region) or the country's (other) row; NULL when out of
 * memory. free() it. */
wkey_t *wkey_new(const char *country, slice_t region, int other, uint32_t hash);

/* Where second s is in a key, found by wkey_find for wkey_put. */
typedef struct wkey_pos {
    uint64_t hits, bytes; /* the second's sums so far (0 when it has no entry) */
    uint16_t off;         /* its entry's offset, or where a new one goes */
    uint8_t found;        /* 1: s has an entry */
    uint8_t append;       /* 1: s is after head (or the key is empty) */
    int64_t prev;         /* second of the entry before off; WKEY_HEAD_NONE: none */
} wkey_pos_t;

/* Finds second s, which must be in (head - WIN_RING, head + anything]: reads the sums so far. */
void wkey_find(const wkey_t *k, int64_t s, wkey_pos_t *pos);

/* Sets second s (found by wkey_find on *kp, unchanged since) to hits (1..2^32-1) and bytes.
 * May move the key (*kp is updated) and drops the seconds that leave the key's ring. Returns
 * the change of wkey_size, or INT64_MIN when out of memory (the key is unchanged). */
int64_t wkey_put(wkey_t **kp, int64_t s, const wkey_pos_t *pos, uint64_t hits, uint64_t bytes);

/* The key's sums over the seconds [first, last]. */
void wkey_sum(const wkey_t *k, int64_t first, int64_t last, uint64_t *hits, uint64_t *bytes);

#endif
