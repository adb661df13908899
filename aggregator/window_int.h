/* window_int.h: the store's layout, shared by window.c (writes, expiry) and window_read.c
 * (reads). Private to them.
 *
 * Two levels of open-addressing tables with linear probing: customers (per customer and
 * partition) in the store, (country, region) keys in each customer. Both rings of a customer
 * move together: the customer's ring is the sum of its keys' rings, kept so that totals and
 * the series are read without walking the keys. Deletion happens only in sweeps, which rebuild
 * a table that lost entries, so a probe never meets a tombstone. */
#ifndef WINDOW_INT_H
#define WINDOW_INT_H

#include "window.h"

#include <pthread.h>

/* One (country, region) of one customer. Slot i holds the second t with t % WIN_RING == i,
 * for t in (head - WIN_RING, head]; anything else in a slot is stale and reads as zero. */
typedef struct wkey {
    int64_t head;        /* newest second added; slots of older ones are reused */
    uint64_t hash;       /* of (country, region) */
    uint32_t region_len; /* <= HIT_STR_MAX */
    char country[WIN_COUNTRY_LEN];
    uint32_t hits[WIN_RING]; /* one second's hits of one key fit 32 bits (checked) */
    uint64_t bytes[WIN_RING];
    char region[]; /* region_len bytes, then a NUL */
} wkey_t;

typedef struct wcust {
    int64_t head;      /* newest second of any of its keys: the customer ring's head */
    uint64_t hash;     /* of the name only, so that a read finds every partition's entry */
    int32_t part;      /* the partition these hits came from */
    uint32_t name_len; /* <= HIT_STR_MAX */
    uint64_t hits[WIN_RING];
    uint64_t bytes[WIN_RING];
    wkey_t **keys; /* open addressing, kcap slots (a power of two), NULL = empty */
    uint32_t nkeys, kcap;
    wkey_t *last; /* the key touched last: hits come in runs of one key */
    char name[];  /* name_len bytes, then a NUL */
} wcust_t;

struct win {
    pthread_rwlock_t lock;
    wcust_t **custs; /* open addressing, ccap slots (a power of two), NULL = empty */
    size_t ncusts, ccap;
    uint64_t nkeys;
    uint64_t mem;  /* bytes of our own allocations */
    wcust_t *last; /* the customer touched last (writer only) */
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

#endif
