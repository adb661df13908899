#include "cstats.h"

#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

metric_t cstats_lines_read = METRIC_COUNTER("lines_read", "collector_lines_read_total", NULL,
                                            "Log lines read (resends not counted)");
metric_t cstats_hits_published = METRIC_COUNTER("hits_published", "collector_hits_published_total",
                                                NULL, "Hit records handed to Kafka");
metric_t cstats_hits_confirmed = METRIC_COUNTER("hits_confirmed", "collector_hits_confirmed_total",
                                                NULL, "Hits confirmed by Kafka");
metric_t cstats_rejected[PROC_KINDS] = {
    METRIC_COUNTER("rejected_none", "collector_lines_rejected_total", "reason=\"none\"", ""),
    METRIC_COUNTER("rejected_parse", "collector_lines_rejected_total", "reason=\"parse\"",
                   "Lines rejected to the dead-letter topic, by reason"),
    METRIC_COUNTER("rejected_timestamp", "collector_lines_rejected_total", "reason=\"timestamp\"",
                   ""),
    METRIC_COUNTER("rejected_unknown_host", "collector_lines_rejected_total",
                   "reason=\"unknown_host\"", ""),
    METRIC_COUNTER("rejected_too_long", "collector_lines_rejected_total", "reason=\"too_long\"",
                   ""),
    METRIC_COUNTER("rejected_customer", "collector_lines_rejected_total", "reason=\"customer\"",
                   ""),
    METRIC_COUNTER("rejected_country", "collector_lines_rejected_total", "reason=\"country\"", ""),
    METRIC_COUNTER("rejected_bytes", "collector_lines_rejected_total", "reason=\"bytes\"", ""),
    METRIC_COUNTER("rejected_text", "collector_lines_rejected_total", "reason=\"text\"", ""),
};
metric_t cstats_wm_sent = METRIC_COUNTER("watermarks_sent", "collector_watermarks_sent_total", NULL,
                                         "Watermark messages handed to Kafka (one per "
                                         "partition per interval)");
metric_t cstats_wm_failed = METRIC_COUNTER(
    "watermarks_failed", "collector_watermarks_failed_total", NULL,
    "Watermark messages Kafka did not confirm (harmless: the next interval sends again)");
metric_t cstats_wm_ms = METRIC_GAUGE_SCALED(
    "watermark_ms", "collector_watermark_timestamp_seconds", NULL,
    "The last watermark published (seconds since the epoch; 0: none yet)", 1000);
metric_t cstats_late_lines =
    METRIC_COUNTER("late_lines", "collector_late_lines_total", NULL,
                   "Hits whose time is before the watermark already published (still sent)");
metric_t cstats_files_unreadable =
    METRIC_GAUGE("files_unreadable", "collector_files_unreadable", NULL,
                 "Files the PATH patterns match that cannot be opened now (tried at every scan)");
metric_t cstats_open_failures =
    METRIC_COUNTER("file_open_failures", "collector_file_open_failures_total", NULL,
                   "Files that turned unreadable (each counted once until readable or gone)");
metric_t cstats_lag_bytes = METRIC_GAUGE("lag_bytes", "collector_lag_bytes", NULL,
                                         "Bytes in the files beyond the confirmed positions");
metric_t cstats_inflight = METRIC_GAUGE("inflight", "collector_inflight_lines", NULL,
                                        "Lines handed to Kafka and not yet confirmed");
metric_t cstats_backpressure_waits =
    METRIC_COUNTER("backpressure_waits", "collector_backpressure_waits_total", NULL,
                   "Times reading paused because the Kafka queue was full");
metric_t cstats_producer_restarts =
    METRIC_COUNTER("producer_restarts", "collector_producer_restarts_total", NULL,
                   "Producers recreated after a fatal error");
metric_t cstats_delivery_errors = METRIC_COUNTER(
    "delivery_errors", "collector_delivery_errors_total", NULL, "Records Kafka did not confirm");

metric_t cstats_kafka_ok = METRIC_GAUGE_SCALED(
    "kafka_confirmed_ms", "collector_kafka_last_confirm_timestamp_seconds", NULL,
    "When Kafka last confirmed a record or a watermark (seconds since the epoch; 0: never)", 1000);

/* rejected_none is a placeholder slot for PROC_HIT and is not printed. */
static metric_t *const all[] = {&cstats_lines_read,
                                &cstats_hits_published,
                                &cstats_hits_confirmed,
                                &cstats_rejected[PROC_PARSE],
                                &cstats_rejected[PROC_TIMESTAMP],
                                &cstats_rejected[PROC_UNKNOWN_HOST],
                                &cstats_rejected[PROC_TOO_LONG],
                                &cstats_rejected[PROC_CUSTOMER],
                                &cstats_rejected[PROC_COUNTRY],
                                &cstats_rejected[PROC_BYTES],
                                &cstats_rejected[PROC_TEXT],
                                &cstats_wm_sent,
                                &cstats_wm_failed,
                                &cstats_wm_ms,
                                &cstats_late_lines,
                                &cstats_lag_bytes,
                                &cstats_inflight,
                                &cstats_backpressure_waits,
                                &cstats_producer_restarts,
                                &cstats_delivery_errors,
                                &cstats_files_unreadable,
                                &cstats_open_failures,
                                &cstats_kafka_ok};

int cstats_ready(char *why, size_t n) {
    int64_t ok = metric_get(&cstats_kafka_ok), age = clock_wall_ms() - ok;
    if (ok > 0 && age < CSTATS_READY_STALE_MS) return 1;
    if (ok == 0)
        snprintf(why, n, "Kafka has not confirmed a record or a watermark yet");
    else
        snprintf(why, n,
                 "Kafka has confirmed nothing for %lld s (reading pauses when its queue "
                 "fills)",
                 (long long)(age / 1000));
    return 0;
}

metric_t *const *cstats_all(size_t *n) {
    *n = sizeof all / sizeof all[0];
    return all;
}

void cstats_init(cstats_t *s) {
    memset(s, 0, sizeof *s);
}

void cstats_fini(cstats_t *s) {
    for (size_t i = 0; i < s->nsrcs; i++)
        free(s->srcs[i].src);
    free(s->srcs);
    memset(s, 0, sizeof *s);
}

static cstats_src_t *src_of(cstats_t *s, const char *src, size_t n) {
    if (s->last < s->nsrcs) {
        cstats_src_t *e = &s->srcs[s->last];
        if (e->srclen == n && memcmp(e->src, src, n) == 0) return e;
    }
    for (size_t i = 0; i < s->nsrcs; i++)
        if (s->srcs[i].srclen == n && memcmp(s->srcs[i].src, src, n) == 0) {
            s->last = i;
            return &s->srcs[i];
        }
    if (s->nsrcs == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        cstats_src_t *g = realloc(s->srcs, cap * sizeof *g);
        if (!g) return NULL; /* the books of this source are then not kept; metrics still are */
        s->srcs = g;
        s->cap = cap;
    }
    cstats_src_t *e = &s->srcs[s->nsrcs];
    memset(e, 0, sizeof *e);
    e->src = strndup(src, n);
    if (!e->src) return NULL;
    e->srclen = strlen(e->src);
    s->last = s->nsrcs++;
    return e;
}

void cstats_read_src(cstats_t *s, const char *src, size_t srclen) {
    metric_add(&cstats_lines_read, 1);
    cstats_src_t *e = src_of(s, src, srclen);
    if (e) e->read++;
}

void cstats_sent(cstats_t *s, proc_reason_t kind) {
    (void)s;
    if (kind == PROC_HIT) metric_add(&cstats_hits_published, 1);
}

void cstats_settled(cstats_t *s, const char *src, size_t srclen, proc_reason_t kind) {
    if (kind >= PROC_KINDS) return;
    metric_add(kind == PROC_HIT ? &cstats_hits_confirmed : &cstats_rejected[kind], 1);
    cstats_src_t *e = src_of(s, src, srclen);
    if (e) e->settled[kind]++;
}

void cstats_update_lag(cstats_t *s, const tail_t *t) {
    (void)s;
    metric_set(&cstats_lag_bytes, (int64_t)tail_lag_bytes(t));
    metric_set(&cstats_inflight, (int64_t)tail_inflight(t));
    metric_set(&cstats_files_unreadable, (int64_t)tail_unreadable(t));
    metric_set(&cstats_open_failures, (int64_t)tail_open_failures(t)); /* kept by the tail */
}

void cstats_log(const cstats_t *s, const char *msg) {
    char buf[2048];
    (void)s;
    metrics_logfmt(all, sizeof all / sizeof all[0], buf, sizeof buf);
    log_info(msg, "%s", buf);
}

void cstats_log_sources(const cstats_t *s) {
    char q[1200];
    for (size_t i = 0; i < s->nsrcs; i++) {
        const cstats_src_t *e = &s->srcs[i];
        uint64_t rejected = 0;
        for (int k = 1; k < PROC_KINDS; k++)
            rejected += e->settled[k];
        uint64_t settled = e->settled[PROC_HIT] + rejected;
        log_info("source totals",
                 "src=%s lines_read=%llu hits_confirmed=%llu rejected=%llu unsettled=%lld "
                 "balanced=%s",
                 log_quote(e->src, q, sizeof q), (unsigned long long)e->read,
                 (unsigned long long)e->settled[PROC_HIT], (unsigned long long)rejected,
                 (long long)(e->read - settled), e->read == settled ? "yes" : "no");
    }
}
