#include "bstats.h"

#include "hit.h"
#include "hitcheck.h"

#include <stdatomic.h>
#include <stdio.h>

#define REJ(key, label, help)                                                                      \
    METRIC_COUNTER("rejected_" key, "billing_hits_rejected_total", "reason=\"" label "\"", help)

metric_t bstats_consumed = METRIC_COUNTER("consumed", "billing_hits_consumed_total", NULL,
                                          "Records read from Kafka (again after a restart)");
metric_t bstats_written =
    METRIC_COUNTER("written", "billing_hits_written_total", NULL, "Hits in committed transactions");
metric_t bstats_duplicates = METRIC_COUNTER("duplicates", "billing_hits_duplicate_total", NULL,
                                            "Replayed hits dropped as already billed");
metric_t bstats_rejected[BREJ_COUNT] = {
    REJ("syntax", "syntax", "Records that cannot be billed, skipped, by reason"),
    REJ("missing", "missing", ""),
    REJ("type", "type", ""),
    REJ("range", "range", ""),
    REJ("version", "version", ""),
    REJ("customer", "customer", ""),
    REJ("country", "country", ""),
    REJ("bytes", "bytes", ""),
    REJ("timestamp", "timestamp", ""),
    REJ("text", "text", ""),
    REJ("watermark", "watermark", ""),
};
metric_t bstats_dropped =
    METRIC_COUNTER("dropped", "billing_hits_dropped_total", NULL,
                   "Hits summed then given up unwritten (partition revoked or moved): read again");
metric_t bstats_pending =
    METRIC_GAUGE("pending", "billing_hits_pending", NULL, "Hits summed in memory, not yet written");
metric_t bstats_rows_written = METRIC_COUNTER("rows_written", "billing_rows_written_total", NULL,
                                              "usage_hourly rows upserted");
metric_t bstats_transactions = METRIC_COUNTER("transactions", "billing_transactions_total", NULL,
                                              "Committed flush transactions");
/* Kept in microseconds (the log line's tx_us), shown in seconds: promtool wants base units. */
metric_t bstats_tx_us_total =
    METRIC_COUNTER_SCALED("tx_us", "billing_transaction_seconds_total", NULL,
                          "Time spent in committed flush transactions, in seconds", 1000000);
metric_t bstats_tx_us_last =
    METRIC_GAUGE_SCALED("tx_us_last", "billing_transaction_last_seconds", NULL,
                        "Duration of the last flush transaction, in seconds", 1000000);
metric_t bstats_conflicts =
    METRIC_COUNTER("offset_conflicts", "billing_offset_conflicts_total", NULL,
                   "Partitions whose stored offset had moved: their sums were dropped");
metric_t bstats_commit_unknown =
    METRIC_COUNTER("commit_unknown", "billing_commit_unknown_total", NULL,
                   "COMMITs whose connection dropped, resolved by reading the offsets");
metric_t bstats_db_errors = METRIC_COUNTER("db_errors", "billing_db_errors_total", NULL,
                                           "Failed PostgreSQL operations (retried)");
metric_t bstats_kafka_errors = METRIC_COUNTER("kafka_errors", "billing_kafka_errors_total", NULL,
                                              "Consumer errors reported by Kafka");
metric_t bstats_partitions = METRIC_GAUGE("partitions", "billing_partitions_assigned", NULL,
                                          "Partitions assigned to this consumer");
metric_t bstats_lag = METRIC_GAUGE("lag", "billing_lag_messages", NULL,
                                   "Messages between the consumed offsets and the partition ends");
metric_t bstats_marks =
    METRIC_GAUGE("marks", "billing_replay_marks_cached", NULL, "Replay marks held in memory");

metric_t bstats_watermarks =
    METRIC_COUNTER("watermarks", "billing_watermarks_consumed_total", NULL,
                   "Edge watermark messages consumed (neither hits nor rejects)");
metric_t bstats_held =
    METRIC_COUNTER("usage_rows_held", "billing_usage_rows_held_total", NULL,
                   "Usage rows PostgreSQL refused, kept in billing_usage_held instead");

metric_t bstats_ready = METRIC_GAUGE(
    "ready", "billing_ready", NULL,
    "1 while the database answers and this member holds its share of the partitions (/readyz)");

metric_t bstats_offset_gaps = METRIC_GAUGE(
    "offset_gaps", "billing_offset_gap_partitions", NULL,
    "Partitions found in an offset gap: billing run stops (exit 1) until `billing offsets reset`");

static _Atomic int32_t gap_ids[BSTATS_GAPS_MAX];
static _Atomic int gap_count;

/* Called by the main loop only (one writer); /metrics reads the count, then the ids below it. */
void bstats_gap(int32_t partition) {
    int n = atomic_load(&gap_count);
    for (int i = 0; i < n; i++)
        if (atomic_load(&gap_ids[i]) == partition) return;
    metric_set(&bstats_offset_gaps, (int64_t)n + 1);
    if (n == BSTATS_GAPS_MAX) return; /* counted, not listed */
    atomic_store(&gap_ids[n], partition);
    atomic_store(&gap_count, n + 1);
}

size_t bstats_gap_metrics(void *ctx, char *buf, size_t cap) {
    (void)ctx;
    size_t o = 0;
    int w = snprintf(buf, cap,
                     "# HELP billing_offset_gap 1 for a partition whose stored offset lies "
                     "outside the range Kafka holds\n# TYPE billing_offset_gap gauge\n");
    if (w < 0 || (size_t)w >= cap) return 0;
    o = (size_t)w;
    int n = atomic_load(&gap_count);
    for (int i = 0; i < n; i++) {
        w = snprintf(buf + o, cap - o, "billing_offset_gap{partition=\"%d\"} 1\n",
                     (int)atomic_load(&gap_ids[i]));
        if (w < 0 || (size_t)w >= cap - o) return 0;
        o += (size_t)w;
    }
    return o;
}

static metric_t *const all[] = {
    &bstats_consumed,
    &bstats_written,
    &bstats_duplicates,
    &bstats_rejected[BREJ_SYNTAX],
    &bstats_rejected[BREJ_MISSING],
    &bstats_rejected[BREJ_TYPE],
    &bstats_rejected[BREJ_RANGE],
    &bstats_rejected[BREJ_VERSION],
    &bstats_rejected[BREJ_CUSTOMER],
    &bstats_rejected[BREJ_COUNTRY],
    &bstats_rejected[BREJ_BYTES],
    &bstats_rejected[BREJ_TIMESTAMP],
    &bstats_rejected[BREJ_TEXT],
    &bstats_rejected[BREJ_WATERMARK],
    &bstats_dropped,
    &bstats_pending,
    &bstats_rows_written,
    &bstats_transactions,
    &bstats_tx_us_total,
    &bstats_tx_us_last,
    &bstats_conflicts,
    &bstats_commit_unknown,
    &bstats_db_errors,
    &bstats_kafka_errors,
    &bstats_partitions,
    &bstats_lag,
    &bstats_marks,
    &bstats_watermarks,
    &bstats_held,
    &bstats_ready,
    &bstats_offset_gaps,
};

const char *bstats_reason_name(int reason) {
    if (reason >= BREJ_SYNTAX && reason <= BREJ_VERSION) return hit_err_name(-1 - reason);
    if (reason >= BREJ_CUSTOMER && reason <= BREJ_TEXT)
        return hitv_name(reason - BREJ_CUSTOMER + HITV_CUSTOMER);
    return reason == BREJ_WATERMARK ? "watermark" : "unknown";
}

int bstats_reason_of_decode(int hit_err) {
    return hit_err <= HIT_ERR_SYNTAX && hit_err >= HIT_ERR_VERSION ? -1 - hit_err : BREJ_SYNTAX;
}

int bstats_reason_of_validate(int hitv) {
    return hitv >= HITV_CUSTOMER && hitv <= HITV_TEXT ? BREJ_CUSTOMER + hitv - HITV_CUSTOMER
                                                      : BREJ_TEXT;
}

metric_t *const *bstats_all(size_t *n) {
    *n = sizeof all / sizeof *all;
    return all;
}
