/* window.h: per-customer sliding windows of hits, by event time, in one-second buckets.
 *
 * The store behind the dashboard: for every customer it keeps, second by second, the hits and
 * bytes in total and per (country, region), for the last WIN_SECONDS seconds (plus
 * WIN_FUTURE_S seconds ahead for clocks that run a little fast). A read asks for the last N
 * seconds (1..WIN_SECONDS) ending at the current second by the wall clock, so a customer whose
 * traffic stops sees its window drain to zero without a single write.
 *
 * Exact: every sum is an integer sum of the hits put in, to the byte (uint64; a second refuses
 * an add that would overflow, and reads sum in 128 bits). Nothing is sampled or estimated.
 *
 * Which hits go in (the rule, with n = the current second by the wall clock, s = the hit's
 * second, floor(ts_ms / 1000)):
 *     s <  n - (WIN_SECONDS - 1)   late: no read from now on could show it; counted, not kept
 *     s >  n + WIN_FUTURE_S        future: the sender's clock is wrong; counted, not kept
 *     otherwise                    added to its second; seconds after n show once n reaches them
 * and, for a wall clock that stepped back: s not held by the customer's ring any more (older
 * than its newest second - WIN_RING + 1), or older than the oldest second a win_expire kept,
 * is late too (the store let that second go). A read shows no second the store let go, and
 * each second of a key only while its customer's ring holds it: the regions of a window
 * always sum to its totals, whatever the clock did.
 *
 * Memory is bounded by the keys active in the last minute, and a key by the seconds in which
 * it had hits: a customer keeps a ring of WIN_RING one-second slots of its totals (reused as
 * time moves on: lazy expiry, no timer per key), a key only its seconds with hits, in a few
 * bytes each (window_int.h); win_expire() frees the keys and customers that have no hit left
 * in range. A key of one hit takes about 100 bytes with its share of the tables, a key with a
 * hit in every second of the minute about 300 (bench/bench_window.c measures both; README
 * "Window memory"); a key's seconds never take more than 1 kB, whatever its traffic.
 *
 * Cardinality guard: a customer entry holds at most a key cap (win_set_key_cap, default
 * WIN_KEYS_PER_CUSTOMER_DEFAULT) of (country, region) keys. A hit of a new (country, region)
 * while the customer is at the cap is added to its country's "(other)" row instead
 * (win_region_t.other; region WIN_OTHER_REGION), counted in win_stats' hits_folded. Totals,
 * the series and the countries stay exact; only the split of that country among its regions
 * is coarser. Countries are 2 bytes, so a customer holds at most cap + 65,536 keys (cap + 676
 * with hit_validate's A-Z codes, which every consumer applies first). A key that expires makes
 * room again: the (other) row then holds the hits that came while the customer was at the cap.
 *
 * Partitions: the hit's message key is its customer, so one customer lives in exactly one
 * partition of `hits` (every instance reads every partition: feed.h). Entries
 * are kept per (customer, partition) anyway, and reads merge them, so that a customer seen in
 * two partitions (a producer using another partitioner, partitions added) is still summed
 * exactly and win_drop_partition() still drops exactly what the partition brought.
 *
 * Threads: one writer (the consumer) and any number of readers (HTTP threads). A rwlock that
 * prefers the writer guards the store: win_add_batch takes it once per batch of messages,
 * win_read once per query (a read of the minute of a customer of 100 keys decodes only their
 * seconds before the minute: some tens of microseconds, with the sorting and copying). */
#ifndef WINDOW_H
#define WINDOW_H

#include "hit.h"
#include "hitcheck.h"

#include <stddef.h>
#include <stdint.h>

#define WIN_SECONDS 60 /* longest window a read may ask for */
#define WIN_FUTURE_S 2 /* hits up to this many seconds ahead of the clock are kept */
#define WIN_RING (WIN_SECONDS + WIN_FUTURE_S) /* slots per key: seconds [n-59, n+2] */
#define WIN_COUNTRY_LEN 2                     /* ISO 3166-1 alpha-2 */
#define WIN_KEYS_PER_CUSTOMER_DEFAULT 1000    /* the key cap (cardinality guard) by default */
#define WIN_KEYS_PER_CUSTOMER_MAX 1000000     /* the largest key cap win_set_key_cap takes */
#define WIN_OTHER_REGION "(other)"            /* the region of an (other) row in a result */
/* One hit's bytes above this are refused by the consumer (hit_validate's reason "bytes"): 10 TB
 * in one request. It keeps a one-second slot from overflowing under any real traffic (2^64 /
 * 10^13 = 1.8 million such hits in one second of one key); every stage uses the same bound. */
#define WIN_HIT_BYTES_MAX HIT_BYTES_MAX

typedef struct win win_t;

/* What win_add did with one hit. */
typedef enum win_add_result {
    WIN_ADDED = 0,
    WIN_LATE = 1,      /* older than the window (see the rule above) */
    WIN_FUTURE = 2,    /* too far ahead of the clock */
    WIN_OVERFLOW = -1, /* a sum would pass 2^64 - 1 (or 2^32 - 1 hits in one second of a key) */
    WIN_NOMEM = -2,    /* no memory for a new key or customer */
    WIN_INVALID = -3,  /* country not WIN_COUNTRY_LEN bytes (hit_decode never passes one) */
} win_add_result_t;

typedef struct win_country {
    char country[WIN_COUNTRY_LEN + 1]; /* NUL-terminated */
    uint64_t hits, bytes;
} win_country_t;

typedef struct win_region {
    char country[WIN_COUNTRY_LEN + 1];
    const char *region; /* NUL-terminated, owned by the result; "" when unknown. May hold NUL
                           bytes before region_len (JSON "\u0000"): use region_len */
    size_t region_len;
    uint64_t hits, bytes;
    int other; /* 1: the country's hits beyond the key cap, not a region (region is
                  WIN_OTHER_REGION); 0: a region */
} win_region_t;

typedef struct win_point {
    int64_t t_ms; /* start of the second, ms since the epoch */
    uint64_t hits, bytes;
} win_point_t;

/* A window: the last `seconds` seconds ending with the second of end_ms. */
typedef struct win_result {
    int seconds;    /* 1..WIN_SECONDS */
    int64_t end_ms; /* start of the current (last) second; series[seconds-1].t_ms */
    uint64_t hits;  /* totals over the window */
    uint64_t bytes;
    win_country_t *countries; /* by hits desc, then bytes desc, then country asc */
    size_t ncountries;
    win_region_t *regions; /* by hits desc, then bytes desc, then (country, region) asc, a
                              country's (other) row after its region of the same name */
    size_t nregions;
    win_point_t series[WIN_SECONDS]; /* seconds entries, oldest first, zeros included */
    char *strings_;                  /* private: the block holding the region strings */
} win_result_t;

/* Size of the store, for /metrics. */
typedef struct win_stats {
    uint64_t customers;        /* (customer, partition) entries */
    uint64_t keys;             /* (customer, country, region) keys */
    uint64_t bytes;            /* memory held by the store's own allocations */
    uint64_t customers_at_cap; /* customer entries holding the key cap of (country, region) */
    uint64_t hits_folded;      /* hits added to an (other) row since win_new (a counter) */
    uint32_t key_cap;          /* the key cap */
} win_stats_t;

/* An empty store with the default key cap; NULL when out of memory. The caller owns it:
 * win_free. */
win_t *win_new(void);
void win_free(win_t *w);

/* Sets the key cap (clamped to 1..WIN_KEYS_PER_CUSTOMER_MAX): from now on, a hit of a new
 * (country, region) of a customer entry that holds n keys or more goes to its country's
 * (other) row. Keys held already stay. */
void win_set_key_cap(win_t *w, uint32_t n);

/* Adds n hits (hits[i] read from partition parts[i]) as of the wall clock now_ms, under one
 * write lock. results[i] gets the win_add_result_t of hits[i]. Strings are copied: the hits'
 * buffers may be reused as soon as this returns. */
void win_add_batch(win_t *w, const hit_t *hits, const int32_t *parts, size_t n, int64_t now_ms,
                   int8_t *results);

/* One hit (a batch of one). */
win_add_result_t win_add(win_t *w, const hit_t *h, int32_t part, int64_t now_ms);

/* Fills *out with the customer's window of the last `seconds` (clamped to 1..WIN_SECONDS)
 * seconds ending at the second of now_ms. Returns 0, or 1 when this store holds nothing for
 * the customer in that range (out is still a valid window: zero totals, a zero series, no
 * countries or regions), or -1 when out of memory (out is empty). Always win_result_free(out).
 *
 * Every instance reads every partition (feed.h), so 1 means that the customer had no hit in
 * the last minute, whichever instance is asked; whether the minute is complete is wmstate.h's
 * answer. win_reader_t stays the seam should a store ever hold only part of the customers. */
int win_read(win_t *w, const char *customer, int seconds, int64_t now_ms, win_result_t *out);
void win_result_free(win_result_t *r);

/* How an API reads windows: win_read on a local store today, a function that may also ask
 * other instances later, with no change to the API code. */
typedef struct win_reader {
    int (*read)(void *ctx, const char *customer, int seconds, int64_t now_ms, win_result_t *out);
    void *ctx;
} win_reader_t;

/* The reader of a local store (ctx = w). */
win_reader_t win_reader_local(win_t *w);

/* Frees the keys and customers with no hit left in range at now_ms. Cost: one pass over every
 * key, under the write lock; the consumer calls it about once a second. Returns the number of
 * keys freed. */
size_t win_expire(win_t *w, int64_t now_ms);

/* Frees every customer entry that came from partition part (the partition left this member).
 * Returns the number of entries freed. */
size_t win_drop_partition(win_t *w, int32_t part);

void win_stats(win_t *w, win_stats_t *st);

#endif
