/* cstats.h: the collector's counters, and its books per log source.
 *
 * The books must balance: every line read ends as a confirmed hit or a confirmed rejection.
 * Lines are counted as settled when the read position moves past them (tail.h's on_settled),
 * which happens once per line however often a failure made us send it again, so the balance
 * holds exactly: lines_read = hits_confirmed + rejected, per source and in total. */
#ifndef CSTATS_H
#define CSTATS_H

#include "metrics.h"
#include "process.h"
#include "tail.h"

#include <stdint.h>

extern metric_t cstats_lines_read, cstats_hits_published, cstats_hits_confirmed,
    cstats_rejected[PROC_KINDS], cstats_lag_bytes, cstats_inflight, cstats_backpressure_waits,
    cstats_producer_restarts, cstats_delivery_errors, cstats_wm_sent, cstats_wm_failed,
    cstats_wm_ms, cstats_late_lines, cstats_files_unreadable, cstats_open_failures, cstats_kafka_ok;

/* Readiness (/readyz): Kafka confirmed a record or a watermark (cstats_kafka_ok, wall ms, set
 * by deliver.c) less than CSTATS_READY_STALE_MS ago. A following collector sends a watermark to
 * every partition each second even when idle, so a reachable Kafka confirms something every
 * second; a Kafka away (or a producer stuck) shows here within CSTATS_READY_STALE_MS. The files
 * are open before the server starts. 1 ready, or 0 with the reason in why. Any thread. */
#define CSTATS_READY_STALE_MS 15000
int cstats_ready(char *why, size_t n);

/* Every metric, for the /metrics page (opsd). */
metric_t *const *cstats_all(size_t *n);

/* Books of one source (src): lines read for the first time, and how they settled. */
typedef struct cstats_src {
    char *src;
    size_t srclen; /* strlen(src), kept: two lookups a line compare it */
    uint64_t read;
    uint64_t settled[PROC_KINDS]; /* [PROC_HIT] = hits confirmed; others = rejections by reason */
} cstats_src_t;

typedef struct cstats {
    cstats_src_t *srcs;
    size_t nsrcs, cap;
    size_t last; /* index of the last source touched: lines come in runs per source */
} cstats_t;

void cstats_init(cstats_t *s);
void cstats_fini(cstats_t *s);

/* A line read for the first time (not a resend after a failure). */
void cstats_read_src(cstats_t *s, const char *src, size_t srclen);
/* A record handed to Kafka. */
void cstats_sent(cstats_t *s, proc_reason_t kind);
/* A line whose record Kafka confirmed and past which the read position moved. */
void cstats_settled(cstats_t *s, const char *src, size_t srclen, proc_reason_t kind);

/* The gauges and totals the tail keeps: lag, lines in flight, files unreadable. */
void cstats_update_lag(cstats_t *s, const tail_t *t);

/* One logfmt line of every counter, with msg as its message. */
void cstats_log(const cstats_t *s, const char *msg);
/* One logfmt line per source: src, read, hits_confirmed, rejected, balanced=yes|no. */
void cstats_log_sources(const cstats_t *s);

#endif
