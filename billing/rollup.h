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
 * Hours are UTC hours of the hit's own time (ts), whatever the machine's time zone.
 *
 * Beside the rows, the rollup holds everything else a flush writes for a partition, so that
 * dropping a partition (rollup_drop_partition) forgets all of it at once and nothing is written
 * without the offsets that cover it: the edges' billed hits per UTC month (billing_edge_months),
 * the highest watermark consumed per (edge, partition) (billing_edge_watermarks), and the
 * rejected records (billing_rejects). */
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

/* All bytes held, over all rows: no exported row (merged across partitions) holds more. The
 * consumer flushes before this passes ROW_BYTES_FLUSH, so every sum fits int64_t. */
uint64_t rollup_bytes_held(const rollup_t *r);

/* Counts one billed hit of edge[0..n) in the UTC month of ts_ms (n == 0: nothing). 0, or -1 when
 * out of memory. */
int rollup_add_edge(rollup_t *r, int32_t partition, const char *edge, size_t n, int64_t ts_ms);
/* A watermark of edge (NUL-terminated, not empty) consumed in partition: the highest is kept. */
int rollup_watermark(rollup_t *r, int32_t partition, const char *edge, int64_t wm_ms);
/* A rejected record at (partition, offset): reason is a bstats name (static), value[0..len) the
 * message value (kept as rejrec_text makes it), kafka_ts_ms its Kafka timestamp or -1. */
int rollup_reject(rollup_t *r, int32_t partition, int64_t offset, const char *reason,
                  int64_t kafka_ts_ms, const char *value, size_t len);

size_t rollup_edge_months(const rollup_t *r); /* (edge, month) entries held, partitions apart */
size_t rollup_watermarks(const rollup_t *r);  /* (edge, partition) watermarks held */
size_t rollup_rejects(const rollup_t *r);     /* rejects held */

/* The side tables for a flush into out arrays with room for the counts above: edge months merged
 * across partitions (each (edge, month) once), watermarks, rejects. Pointers into r: valid until
 * r next changes. Returns the counts through the n* arguments. */
void rollup_export_side(const rollup_t *r, store_edge_month_t *em, size_t *nem,
                        store_watermark_t *wm, size_t *nwm, store_reject_t *rej, size_t *nrej);

/* Forgets partition's rows (and its side entries); returns the hits they held. */
uint64_t rollup_drop_partition(rollup_t *r, int32_t partition);
/* Forgets everything (after a committed flush). */
void rollup_clear(rollup_t *r);

/* The rows for a flush: merged across partitions, each key once, ordered by a hash of the key
 * (the same in every process), into out (room for rollup_rows(r) rows). Returns the count.
 * out[i].customer points into r: valid until r next changes. */
size_t rollup_export(const rollup_t *r, store_row_t *out);

#endif
