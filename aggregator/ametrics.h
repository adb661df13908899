/* ametrics.h: the aggregator's counters and gauges (the consumer's side; the HTTP side's are
 * api.h's api_metrics). One array lists them for the periodic logfmt line and /metrics.
 *
 * The books of the consumer balance: every message read is exactly one of watermark (key "#wm",
 * taken), rejected (by reason: not a well-formed record or watermark), invalid (well formed,
 * refused by hit_validate, by reason), replayed (a line the collector sent again, same edge,
 * src and off), or a hit consumed; and every hit consumed is exactly one of added, late,
 * future, expired (read while catching up after a seek, already older than the window) or
 * rejected (overflow, range, memory). */
#ifndef AMETRICS_H
#define AMETRICS_H

#include "hitcheck.h"
#include "metrics.h"

#include <stddef.h>

/* Why a record was not counted in a window; the first five are hit_decode's reasons in the
 * order of hit_err_t (index = -err - 1), with hit_err_name's labels. */
typedef enum arej {
    AREJ_SYNTAX,
    AREJ_MISSING,
    AREJ_TYPE,
    AREJ_RANGE,
    AREJ_VERSION,
    AREJ_WATERMARK, /* a "#wm" message whose value is not a watermark (watermark.h) */
    AREJ_OVERFLOW, /* a window sum would overflow (window.h) */
    AREJ_MEMORY,   /* no memory for a new key */
    AREJ_COUNT
} arej_t;

extern metric_t am_messages, am_duplicates, am_replays, am_stale, am_hits_consumed, am_hits_added,
    am_hits_late, am_hits_future, am_hits_expired, am_rejected[AREJ_COUNT], am_lag, am_partitions,
    am_rebalances, am_catchup_ms, am_ready, am_kafka_errors, am_window_keys, am_window_customers,
    am_window_memory, am_watermarks, am_invalid[HITV_COUNT], am_info, am_log_resets;

extern metric_t *const ametrics_all[];
extern const size_t ametrics_count;

/* aggregator_info{instance="..."} 1: set its labels before serving /metrics. */

/* The label of a reason ("syntax", ..., "memory"). */
const char *arej_name(arej_t r);

#endif
