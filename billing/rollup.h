/* rollup.h: hits summed in memory between two flushes of `billing run`.
 *
 * Hits are many and usage rows few (customers x hours x countries), so billing adds each hit to
 * an in-memory row and writes only the rows, once a second. A row's key also holds the Kafka
 * partition the hits came from: a partition can be taken from this consumer (rebalance) or
 * found advanced by another one (offset conflict), and then exactly its sums must be dropped,
 * to be consumed again from the offsets stored in PostgreSQL. The key is the message key's
 * customer, so in practice a customer's rows are in one partition and this costs nothing; rows
 * are merged across partitions when exported for the upsert (which may not name a key twice).
 *
 * Hours are UTC hours of the hit's own time (ts), whatever the machine's time zone. */
#ifndef ROLLUP_H
#define ROLLUP_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rollup rollup_t;

/* Start of the UTC hour holding ts_ms, in seconds since the epoch (floor, also below 0). */
static inline int64_t rollup_hour_of(int64_t ts_ms) {
    int64_t h = ts_ms / 3600000;
    if (ts_ms % 3600000 < 0) h--;
    return h * 3600;
}

rollup_t *rollup_new(void);
void rollup_free(rollup_t *r);

/* Adds one hit of `bytes` to the row (partition, customer, hour of ts_ms, country). customer is
 * copied (custlen bytes, no NUL inside); country is exactly 2 bytes. 0, or -1 when out of
 * memory. The caller keeps every row's bytes below INT64_MAX: see rollup_max_bytes. */
int rollup_add(rollup_t *r, int32_t partition, const char *customer, size_t custlen, int64_t ts_ms,
               const char *country, uint64_t bytes);

size_t rollup_rows(const rollup_t *r);   /* rows held, over all partitions */
uint64_t rollup_hits(const rollup_t *r); /* hits held, over all partitions */
/* The largest bytes sum of any row held: the consumer flushes before it could overflow. */
uint64_t rollup_max_bytes(const rollup_t *r);

/* Forgets partition's rows; returns the hits they held. */
uint64_t rollup_drop_partition(rollup_t *r, int32_t partition);
/* Forgets everything (after a committed flush). */
void rollup_clear(rollup_t *r);

/* The rows for a flush: merged across partitions, each key once, ordered by a hash of the key
 * (the same in every process), into out (room for rollup_rows(r) rows). Returns the count.
 * out[i].customer points into r: valid until r next changes. */
size_t rollup_export(const rollup_t *r, store_row_t *out);

#endif
