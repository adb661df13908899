/* feed.h: the aggregator's reader of `hits`: every partition -> hit_decode -> hit_validate
 * -> windows, and the edges' watermarks -> wmstate.
 *
 *   kassign (every partition, start offsets ours, no group) -> skip what was applied ->
 *   watermark ("#wm" key) -> wmstate | hit_decode (bad records counted by reason) ->
 *   hit_validate (invalid hits counted by reason) -> win_add_batch (late / future counted)
 *
 * Every instance reads every partition of the topic itself (kassign.h): its state is only the
 * last minute, a cache of Kafka. At start each partition begins at the first offset of (now -
 * WIN_SECONDS - FEED_SEEK_SLACK_S) by message timestamp (kcons_offsets_for_time), so the
 * windows are exact as soon as that minute is read back, seconds after a start, with no group
 * to wait for; and any instance answers any customer. The partition count is read again every
 * FEED_METADATA_MS: partitions added later are read from their beginning. `-G GROUP` only
 * names the client (group.id); partitions are not split between instances.
 *
 * Exactly once per instance: each partition is assigned at exactly the offset after the last
 * one it applied, so no message is read twice; a lower offset can only mean that the log
 * started again (topic made anew): those are new messages, counted
 * (aggregator_partition_log_resets_total), and the collector's resends among them are still
 * dropped by their (edge, src, off) marks (replay.h).
 *
 * Ready (feed_ready, /readyz) once every partition has been read up to the high watermark it
 * had when reading started; until then every window says "catching_up": true (wmstate.h).
 *
 * Threads: feed_run runs the Kafka client and writes the windows and wmstate on the
 * caller's thread; HTTP threads only read them (their own locks), feed_ready and
 * feed_status (atomics and wmstate's lock). */
#ifndef FEED_H
#define FEED_H

#include "custview.h"
#include "kafka.h"
#include "metrics.h"
#include "window.h"
#include "wmstate.h"

#include <signal.h>
#include <stddef.h>

#define FEED_DEFAULT_GROUP "aggregator"
/* Read back this much more than the window: producer clocks and the search over message
 * timestamps may be a little off, and a hit older than the window costs nothing (counted as
 * expired, not kept). */
#define FEED_SEEK_SLACK_S 5
#define FEED_SEEK_TIMEOUT_MS 15000 /* the offset search at start, all partitions */
#define FEED_METADATA_MS 5000      /* how often the partition count is read again */

typedef struct feed_opts {
    const kopts_t *kafka;         /* brokers, topic, -X properties */
    const char *group;            /* group.id (names the client; no group is joined) */
    const char *instance;         /* this instance's name: client.id */
    win_t *win;                   /* the windows (borrowed) */
    cv_t *cv;                     /* the customers' extras, fed beside win (borrowed; NULL: none) */
    wms_t *wms;                   /* watermarks and reading state (borrowed) */
    int metrics_interval_s;       /* logfmt metrics line every N s (0: only at exit) */
    metric_t *const *log_metrics; /* extra metrics for that line (api.h's), nlog_metrics */
    size_t nlog_metrics;
    volatile sig_atomic_t *stop; /* set by the signal handlers: return from feed_run */
} feed_opts_t;

typedef struct feed feed_t;

/* Creates the client (it connects on the first poll). NULL with err on bad Kafka properties.
 * The caller owns the result: feed_free. */
feed_t *feed_new(const feed_opts_t *o, char *err, size_t errlen);

/* Consumes until *stop is set (0) or the consumer fails for good (1, logged). Calls tick(ctx)
 * about every 100 ms from the same thread (main's SIGHUP handling, say); tick may be NULL. */
int feed_run(feed_t *c, void (*tick)(void *ctx), void *ctx);

/* 1 once caught up (see above); any thread. The signature of api_opts_t.ready. */
int feed_ready(void *c);

/* The partition of customer (the collector's partitioner: murmur2 of the id, as Kafka's Java
 * client), -1 while the partition count is unknown. Any thread. */
int32_t feed_partition_of(feed_t *c, const char *customer);

/* The completeness keys of a customer's window (wms_status on its partition). Any thread; the
 * signature of api_opts_t.status. */
int feed_status(void *c, const char *customer, int64_t now_ms, int64_t from_ms, int64_t end_ms,
                wms_status_t *out);

/* Frees the consumer (the windows and wmstate stay the caller's). NULL is fine. */
void feed_free(feed_t *c);

#endif
