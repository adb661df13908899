#include "astats.h"

#define C(key, name, help) METRIC_COUNTER(key, name, NULL, help)
#define G(key, name, help) METRIC_GAUGE(key, name, NULL, help)
#define REJ(r, help)                                                                               \
    METRIC_COUNTER("rejected_" r, "aggregator_records_rejected_total", "reason=\"" r "\"", help)

metric_t astats_messages = C("messages", "aggregator_messages_total",
                             "Messages read from owned partitions of the hit topic");
/* Kept for dashboards built on it: always 0 since every partition is assigned at its next
 * offset (a lower offset is a log reset, aggregator_partition_log_resets_total). */
metric_t astats_duplicates = C("duplicates", "aggregator_messages_duplicate_total",
                               "Messages at or below a partition's applied offset, skipped");
metric_t astats_replays =
    C("replays", "aggregator_hits_replayed_total",
      "Hits whose (edge, src, off) this partition had already counted, skipped");
metric_t astats_stale = C("stale", "aggregator_messages_stale_total",
                          "Messages of a partition no longer owned, skipped");
metric_t astats_hits_consumed =
    C("hits_consumed", "aggregator_hits_consumed_total", "Hit records decoded");
metric_t astats_hits_added = C("hits_added", "aggregator_hits_added_total", "Hits put in a window");
metric_t astats_hits_late = C("hits_late", "aggregator_hits_late_total",
                              "Hits older than the window when they arrived: not in a window");
metric_t astats_hits_future = C("hits_future", "aggregator_hits_future_total",
                                "Hits more than 2 s ahead of the clock: not in a window");
metric_t astats_hits_expired = C("hits_expired", "aggregator_hits_expired_total",
                                 "Hits read again while catching up that were already older than "
                                 "the window");
metric_t astats_rejected[ASTATS_REJ_COUNT] = {
    REJ("syntax", "Records not counted, by reason"),
    REJ("missing", ""),
    REJ("type", ""),
    REJ("range", ""),
    REJ("version", ""),
    REJ("watermark", ""),
    REJ("overflow", ""),
    REJ("memory", ""),
};
metric_t astats_lag = G("lag", "aggregator_lag_messages",
                        "Messages in owned partitions not yet consumed (high watermark - next)");
metric_t astats_partitions = G("partitions", "aggregator_partitions", "Partitions owned");
metric_t astats_rebalances = C("rebalances", "aggregator_rebalances_total",
                               "Times the partitions to read were set (start, partitions added)");
/* Not in astats_all: /metrics shows it in seconds (aggregator_catchup_seconds, written by
 * wmstate's wms_metrics), as promtool wants base units. */
metric_t astats_catchup_ms = G("catchup_ms", "aggregator_catchup_milliseconds",
                               "Time from the start of reading until caught up");
metric_t astats_ready = G("ready", "aggregator_ready",
                          "1 once every owned partition was read up to its end at assignment");
metric_t astats_kafka_errors =
    C("kafka_errors", "aggregator_kafka_errors_total", "Errors reported by the Kafka client");
metric_t astats_window_keys = G("window_keys", "aggregator_window_keys",
                                "(customer, country, region) keys held in the windows");
metric_t astats_window_customers =
    G("window_customers", "aggregator_window_customers", "Customers held in the windows");
metric_t astats_window_memory =
    G("window_memory_bytes", "aggregator_window_memory_bytes", "Memory held by the windows");
/* The cardinality guard (window.h, --max-keys-per-customer). */
metric_t astats_window_folded =
    C("window_hits_folded", "aggregator_window_hits_folded_total",
      "Hits of a (country, region) key beyond --max-keys-per-customer, counted in their "
      "country's (other) row");
metric_t astats_window_at_cap =
    G("window_customers_at_key_cap", "aggregator_window_customers_at_key_cap",
      "Customers holding --max-keys-per-customer (country, region) keys: new keys fold");

/* The live view beside the windows (custview.h's cv_stats). */
metric_t astats_view_customers =
    G("view_customers", "aggregator_view_customers",
      "Customers held by the live view (status, cache, hosts, minutes): a hit in the last hour");
metric_t astats_view_hosts =
    G("view_hosts", "aggregator_view_hosts", "Hosts tracked by the live view, all customers");
metric_t astats_view_folded =
    C("view_hits_folded", "aggregator_view_hits_folded_total",
      "Hits whose host found its customer's host table full: summed into hosts_other");
metric_t astats_view_memory =
    G("view_memory_bytes", "aggregator_view_memory_bytes", "Memory held by the live view");
metric_t astats_view_names = G("view_region_names", "aggregator_view_region_names",
                               "(country, region) names held by the live view");
metric_t astats_view_names_refused =
    C("view_region_names_refused", "aggregator_view_region_names_refused_total",
      "Hits with the name of a (country, region) not held, not learned: the cap of 8192 was held");

metric_t astats_watermarks = C("watermarks", "aggregator_watermarks_total",
                               "Edge watermark messages read (key #wm): not hits");
#define INV(r)                                                                                     \
    METRIC_COUNTER("invalid_" r, "aggregator_hits_invalid_total", "reason=\"" r "\"",              \
                   "Well-formed hits refused by the shared validation (hitcheck.h), by reason")
metric_t astats_invalid[HITV_COUNT] = {
    INV("ok"), INV("customer"), INV("country"), INV("bytes"), INV("timestamp"), INV("text"),
};
metric_t astats_log_resets = C("log_resets", "aggregator_partition_log_resets_total",
                               "Messages below a partition's applied offset: its log started again "
                               "(topic made anew); read as new");
metric_t astats_info = METRIC_GAUGE("info", "aggregator_info", "instance=\"aggregator\"",
                                    "Always 1; the label names this instance (--instance-id)");

metric_t *const astats_all[] = {
    &astats_messages,
    &astats_duplicates,
    &astats_replays,
    &astats_stale,
    &astats_hits_consumed,
    &astats_hits_added,
    &astats_hits_late,
    &astats_hits_future,
    &astats_hits_expired,
    &astats_rejected[0],
    &astats_rejected[1],
    &astats_rejected[2],
    &astats_rejected[3],
    &astats_rejected[4],
    &astats_rejected[5],
    &astats_rejected[6],
    &astats_rejected[7],
    &astats_lag,
    &astats_partitions,
    &astats_rebalances,
    &astats_ready,
    &astats_kafka_errors,
    &astats_window_keys,
    &astats_window_customers,
    &astats_window_memory,
    &astats_watermarks,
    &astats_invalid[1],
    &astats_invalid[2],
    &astats_invalid[3],
    &astats_invalid[4],
    &astats_invalid[5],
    &astats_info,
    &astats_log_resets,
    &astats_window_folded,
    &astats_window_at_cap,
    &astats_view_customers,
    &astats_view_hosts,
    &astats_view_folded,
    &astats_view_memory,
    &astats_view_names,
    &astats_view_names_refused,
};
const size_t astats_count = sizeof astats_all / sizeof astats_all[0];

const char *astats_rej_name(astats_rej_t r) {
    static const char *const names[ASTATS_REJ_COUNT] = {
        "syntax", "missing", "type", "range", "version", "watermark", "overflow", "memory"};
    return (unsigned)r < ASTATS_REJ_COUNT ? names[r] : "unknown";
}
