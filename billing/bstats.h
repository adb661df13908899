/* bstats.h: the counters of `billing run`, shared by its periodic logfmt line, the line at exit
 * and /metrics (--metrics-listen ADDR:PORT). bstats_ready (billing_ready) is what /readyz answers:
 * 1 while the database answers and this member holds its share of the partitions (meter_own.c
 * sets it at each look; a failed database operation clears it).
 *
 * The books balance: every record read from Kafka ends as written (in a committed transaction),
 * a duplicate (a replay of a billed line), rejected (by reason), dropped (summed, then given up
 * unwritten when its partition was revoked or found moved by another consumer: it is read again
 * from the stored offset), or is still pending in memory:
 *     consumed = written + duplicates + rejected + dropped + pending
 * Records consumed again (after a crash, a rebalance or a conflict) are counted again.
 * Watermark messages are none of these: they are counted apart (watermarks). */
#ifndef BSTATS_H
#define BSTATS_H

#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

/* Why a record is not billed: the decoder's reasons (hit.h, named by hit_err_name), then
 * hit_validate's (hitcheck.h, named by hitv_name), then a watermark message whose value is not a
 * watermark. The names are billing_rejects.reason and the metric label. */
typedef enum bstats_reason {
    BREJ_SYNTAX,    /* not one JSON object, or invalid UTF-8 */
    BREJ_MISSING,   /* a required key is absent */
    BREJ_TYPE,      /* a key of the wrong JSON type */
    BREJ_RANGE,     /* a value out of the codec's range, or a string holding a NUL byte */
    BREJ_VERSION,   /* unknown "v" */
    BREJ_CUSTOMER,  /* not a valid customer id (custid.h) */
    BREJ_COUNTRY,   /* not two letters A-Z */
    BREJ_BYTES,     /* more than HIT_BYTES_MAX in one hit */
    BREJ_TIMESTAMP, /* outside the window around the Kafka message timestamp */
    BREJ_TEXT,      /* a NUL byte in edge or src, or an empty src */
    BREJ_WATERMARK, /* key "#wm" but the value is not a watermark (watermark.h) */
    BREJ_COUNT
} bstats_reason_t;

extern metric_t bstats_consumed, bstats_written, bstats_duplicates, bstats_rejected[BREJ_COUNT],
    bstats_dropped, bstats_pending, bstats_rows_written, bstats_transactions, bstats_tx_us_total,
    bstats_tx_us_last, bstats_conflicts, bstats_commit_unknown, bstats_db_errors,
    bstats_kafka_errors, bstats_partitions, bstats_lag, bstats_marks, bstats_watermarks,
    bstats_held, bstats_ready, bstats_offset_gaps;

/* Offset gaps this process found (meter_own.c, when taking a partition or while reading it):
 * billing run stops on the first, so there is rarely more than one. Kept for /metrics, which
 * `billing run --metrics-listen` keeps serving for METER_GAP_LINGER_MS after a gap before it
 * exits 1 (billing/main.c): billing_offset_gap{partition="N"} 1 for each (at most
 * BSTATS_GAPS_MAX), their count in bstats_offset_gaps (billing_offset_gap_partitions). */
#define BSTATS_GAPS_MAX 64
void bstats_gap(int32_t partition);
/* metrics_extra_fn: the billing_offset_gap family (HELP and TYPE even when there is none). */
size_t bstats_gap_metrics(void *ctx, char *buf, size_t cap);

/* The label of a reason: "syntax", ..., "watermark". */
const char *bstats_reason_name(int reason);
/* The reason of a hit_decode error (< 0) and of a hit_validate result (> 0). */
int bstats_reason_of_decode(int hit_err);
int bstats_reason_of_validate(int hitv);

/* Every metric, for metrics_logfmt / metrics_prometheus. */
metric_t *const *bstats_all(size_t *n);

#endif
