/* consume.h: the aggregator's consumer of `hits`: group member -> hit_decode -> windows.
 *
 *   kcons (group member, start offsets ours) -> skip what was applied -> hit_decode (bad
 *   records counted by reason) -> win_add_batch (late / future counted) -> win_expire each second
 *
 * No state store: on assignment a new partition starts at the first offset of (now -
 * WIN_SECONDS - CONSUME_SEEK_SLACK_S) by message timestamp (kcons_offsets_for_time), so the
 * windows are whole again as soon as that minute is read back, seconds after a restart.
 *
 * Exactly once per instance: each partition remembers the highest offset it applied, and a
 * message at or below it is skipped. The eager rebalance protocol (librdkafka's default
 * assignors) revokes every partition before each assignment: a revoked partition is only
 * pending until the assignment that follows; if it comes back its windows are kept and reading
 * resumes right after the applied offset, else its customers' windows are freed, so that two
 * members never both hold a customer. With a cooperative assignor, or when partitions are lost,
 * revoked partitions are freed at once.
 *
 * Ready (aggregator_ready, /readyz) once there is an assignment and every owned partition has
 * been read up to the high watermark it had when assigned.
 *
 * Threads: consume_run runs the Kafka client and writes the windows on the caller's thread;
 * HTTP threads only read the windows (window.h's lock) and consume_ready (an atomic). */
#ifndef CONSUME_H
#define CONSUME_H

#include "kafka.h"
#include "metrics.h"
#include "window.h"

#include <signal.h>
#include <stddef.h>

#define CONSUME_DEFAULT_GROUP "aggregator"
/* Read back this much more than the window: producer clocks and the search over message
 * timestamps may be a little off, and a hit older than the window costs nothing (counted as
 * expired, not kept). */
#define CONSUME_SEEK_SLACK_S 5
#define CONSUME_SEEK_TIMEOUT_MS 15000 /* the offset search at one assignment, all partitions */

typedef struct consume_opts {
    const kopts_t *kafka;         /* brokers, topic, -X properties */
    const char *group;            /* consumer group */
    win_t *win;                   /* the windows (borrowed) */
    int metrics_interval_s;       /* logfmt metrics line every N s (0: only at exit) */
    metric_t *const *log_metrics; /* extra metrics for that line (api.h's), nlog_metrics */
    size_t nlog_metrics;
    volatile sig_atomic_t *stop; /* set by the signal handlers: return from consume_run */
} consume_opts_t;

typedef struct consume consume_t;

/* Creates the group member (it joins on the first poll). NULL with err on bad Kafka
 * properties. The caller owns the result: consume_free. */
consume_t *consume_new(const consume_opts_t *o, char *err, size_t errlen);

/* Consumes until *stop is set (0) or the consumer fails for good (1, logged). Calls tick(ctx)
 * about every 100 ms from the same thread (main's SIGHUP handling, say); tick may be NULL. */
int consume_run(consume_t *c, void (*tick)(void *ctx), void *ctx);

/* 1 once caught up (see above); any thread. The signature of api_opts_t.ready. */
int consume_ready(void *c);

/* Leaves the group and frees the consumer (the windows stay the caller's). NULL is fine. */
void consume_free(consume_t *c);

#endif
