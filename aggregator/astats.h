/* astats.h: the aggregator's counters and gauges (the consumer's side; the HTTP side's are
 * api.h's api_metrics). One array lists them for the periodic logfmt line and /metrics.
 *
 * The books of the consumer balance: every message read is exactly one of watermark (key "#wm",
 * taken), rejected (by reason: not a well-formed record or watermark), invalid (well formed,
 * refused by hit_validate, by reason), replayed (a line the collector sent again, same edge,
 * src and off), or a hit consumed; and every hit consumed is exactly one of added, late,
 * future, expired (read while catching up after a seek, already older than the window) or
 * rejected (overflow, range, memory). */
#ifndef ASTATS_H
#define ASTATS_H

#include "hitcheck.h"
#include "metrics.h"

#include <stddef.h>

/* Why a record was not counted in a window; the first five are hit_decode's reasons in the
 * order of hit_err_t (index = -err - 1), with hit_err_name's labels. */
typedef enum astats_rej {
    ASTATS_REJ_SYNTAX,
    ASTATS_REJ_MISSING,
    ASTATS_REJ_TYPE,
    ASTATS_REJ_RANGE,
    ASTATS_REJ_VERSION,
    ASTATS_REJ_WATERMARK, /* a "#wm" message whose value is not a watermark (watermark.h) */
    ASTATS_REJ_OVERFLOW,  /* a window sum would overflow (window.h) */
    ASTATS_REJ_MEMORY,    /* no memory for a new key */
    ASTATS_REJ_COUNT
} astats_rej_t;

extern metric_t astats_messages, astats_duplicates, astats_replays, astats_stale,
    astats_hits_consumed, astats_hits_added, astats_hits_late, astats_hits_future,
    astats_hits_expired, astats_rejected[ASTATS_REJ_COUNT], astats_lag, astats_partitions,
    astats_rebalances, astats_catchup_ms, astats_ready, astats_kafka_errors, astats_window_keys,
    astats_window_customers, astats_window_memory, astats_watermarks, astats_invalid[HITV_COUNT],
    astats_info, astats_log_resets, astats_window_folded, astats_window_at_cap,
    astats_view_customers, astats_view_hosts, astats_view_folded, astats_view_memory,
    astats_view_names, astats_view_names_refused;

extern metric_t *const astats_all[];
extern const size_t astats_count;

/* aggregator_info{instance="..."} 1: set its labels before serving /metrics. */

/* The label of a reason ("syntax", ..., "memory"). */
const char *astats_rej_name(astats_rej_t r);

#endif
