#include "ametrics.h"

#define C(key, name, help) METRIC_COUNTER(key, name, NULL, help)
#define G(key, name, help) METRIC_GAUGE(key, name, NULL, help)
#define REJ(r, help)                                                                               \
    METRIC_COUNTER("rejected_" r, "aggregator_records_rejected_total", "reason=\"" r "\"", help)

metric_t am_messages = C("messages", "aggregator_messages_total",
                         "Messages read from owned partitions of the hit topic");
/* Kept for dashboards built on it: always 0 since every partition is assigned at its next
 * offset (a lower offset is a log reset, aggregator_partition_log_resets_total). */
metric_t am_duplicates = C("duplicates", "aggregator_messages_duplicate_total",
                           "Messages at or below a partition's applied offset, skipped");
metric_t am_replays = C("replays", "aggregator_hits_replayed_total",
                        "Hits whose (edge, src, off) this partition had already counted, skipped");
metric_t am_stale = C("stale", "aggregator_messages_stale_total",
                      "Messages of a partition no longer owned, skipped");
metric_t am_hits_consumed =
    C("hits_consumed", "aggregator_hits_consumed_total", "Hit records decoded");
metric_t am_hits_added = C("hits_added", "aggregator_hits_added_total", "Hits put in a window");
metric_t am_hits_late = C("hits_late", "aggregator_hits_late_total",
                          "Hits older than the window when they arrived: not in a window");
metric_t am_hits_future = C("hits_future", "aggregator_hits_future_total",
                            "Hits more than 2 s ahead of the clock: not in a window");
metric_t am_hits_expired = C("hits_expired", "aggregator_hits_expired_total",
                             "Hits read again while catching up that were already older than "
                             "the window");
metric_t am_rejected[AREJ_COUNT] = {
    REJ("syntax", "Records not counted, by reason"),
    REJ("missing", ""),
    REJ("type", ""),
    REJ("range", ""),
    REJ("version", ""),
    REJ("watermark", ""),
    REJ("overflow", ""),
    REJ("memory", ""),
};
metric_t am_lag = G("lag", "aggregator_lag_messages",
                    "Messages in owned partitions not yet consumed (high watermark - next)");
metric_t am_partitions = G("partitions", "aggregator_partitions", "Partitions owned");
metric_t am_rebalances =
    C("rebalances", "aggregator_rebalances_total", "Times the partitions to read were set (start, partitions added)");
/* Not in ametrics_all: /metrics shows it in seconds (aggregator_catchup_seconds, written by
 * wmstate's wms_metrics), as promtool wants base units. */
metric_t am_catchup_ms = G("catchup_ms", "aggregator_catchup_milliseconds",
                           "Time from the start of reading until caught up");
metric_t am_ready = G("ready", "aggregator_ready",
                      "1 once every owned partition was read up to its end at assignment");
metric_t am_kafka_errors =
    C("kafka_errors", "aggregator_kafka_errors_total", "Errors reported by the Kafka client");
metric_t am_window_keys = G("window_keys", "aggregator_window_keys",
                            "(customer, country, region) keys held in the windows");
metric_t am_window_customers =
    G("window_customers", "aggregator_window_customers", "Customers held in the windows");
metric_t am_window_memory =
    G("window_memory_bytes", "aggregator_window_memory_bytes", "Memory held by the windows");

metric_t am_watermarks = C("watermarks", "aggregator_watermarks_total",
                           "Edge watermark messages read (key #wm): not hits");
#define INV(r)                                                                                     \
    METRIC_COUNTER("invalid_" r, "aggregator_hits_invalid_total", "reason=\"" r "\"",               \
                   "Well-formed hits refused by the shared validation (hitcheck.h), by reason")
metric_t am_invalid[HITV_COUNT] = {
    INV("ok"), INV("customer"), INV("country"), INV("bytes"), INV("timestamp"), INV("text"),
};
metric_t am_log_resets = C("log_resets", "aggregator_partition_log_resets_total",
                           "Messages below a partition's applied offset: its log started again "
                           "(topic made anew); read as new");
metric_t am_info = METRIC_GAUGE("info", "aggregator_info", "instance=\"aggregator\"",
                                "Always 1; the label names this instance (--instance-id)");

metric_t *const ametrics_all[] = {
    &am_messages,      &am_duplicates,  &am_replays,      &am_stale,        &am_hits_consumed,
    &am_hits_added,    &am_hits_late,   &am_hits_future,  &am_hits_expired, &am_rejected[0],
    &am_rejected[1],   &am_rejected[2], &am_rejected[3],  &am_rejected[4],  &am_rejected[5],
    &am_rejected[6],   &am_rejected[7], &am_lag,          &am_partitions,   &am_rebalances,
    &am_ready,       &am_kafka_errors, &am_window_keys,  &am_window_customers,
    &am_window_memory, &am_watermarks,  &am_invalid[1],   &am_invalid[2],   &am_invalid[3],
    &am_invalid[4],    &am_invalid[5],  &am_info,         &am_log_resets,
};
const size_t ametrics_count = sizeof ametrics_all / sizeof ametrics_all[0];

const char *arej_name(arej_t r) {
    static const char *const names[AREJ_COUNT] = {"syntax",  "missing", "type",     "range",
                                                  "version", "watermark", "overflow", "memory"};
    return (unsigned)r < AREJ_COUNT ? names[r] : "unknown";
}
