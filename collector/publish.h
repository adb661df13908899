/* publish.h: hands hit and dead-letter records to Kafka and reports each delivery.
 *
 * One idempotent producer (acks=all, lz4, key = customer, Java-compatible murmur2 partitioner so
 * that other Kafka clients agree on which partition holds a customer). Every record carries the
 * caller's token (tail.h) as librdkafka's per-message opaque, and the delivery callback gives it
 * back with the outcome: the caller advances a file's read position only on a confirmed
 * delivery, so a crash replays lines and never skips them.
 *
 * librdkafka 2.0.2 can leave an idempotent producer in a fatal state (librdkafka #3584, fixed in
 * 2.3.0). pub_poll() reports that; the caller then calls pub_restart(), which purges and
 * destroys the producer and makes a new one, and resends from the last confirmed positions. */
#ifndef PUBLISH_H
#define PUBLISH_H

#include "kafka.h"

#include <stddef.h>
#include <stdint.h>

/* Delivery outcome of one record: err is RD_KAFKA_RESP_ERR_NO_ERROR when the broker confirmed
 * it. is_reject tells which topic it went to. Runs inside pub_poll/pub_flush on the caller's
 * thread. */
typedef void (*pub_ack_fn)(void *ctx, uint64_t token, int is_reject, rd_kafka_resp_err_t err);

typedef struct pub_opts {
    const kopts_t *kafka;     /* brokers, hit topic, -X properties */
    const char *reject_topic; /* dead letters */
    int once; /* --once: finite message timeout, so that a dead broker ends the run */
    pub_ack_fn ack;
    void *ack_ctx;
} pub_opts_t;

typedef struct publisher publisher_t;

/* Result of pub_send: the record is queued, the local queue is full (poll, then send again:
 * that is the backpressure that stops reading), or the producer is unusable. */
enum { PUB_QUEUED = 0, PUB_FULL = 1, PUB_FATAL = -1 };

publisher_t *pub_new(const pub_opts_t *o, char *err, size_t errlen);

/* Queues one record: to the hit topic keyed by key, or (is_reject) to the reject topic keyed by
 * the source. The value is copied. */
int pub_send(publisher_t *p, int is_reject, const char *key, size_t keylen, const char *val,
             size_t n, uint64_t token);

/* Serves delivery callbacks for up to timeout_ms. Returns 0, or -1 once the producer has hit a
 * fatal error (err says which): every record not yet confirmed must then be sent again. */
int pub_poll(publisher_t *p, int timeout_ms, char *err, size_t errlen);

/* Waits up to timeout_ms for every queued record's delivery callback; returns the number still
 * outstanding (0 = all reported). */
int pub_flush(publisher_t *p, int timeout_ms);

/* Replaces a producer in a fatal state: outstanding records are purged (their callbacks are not
 * delivered to the caller, whose tokens become stale on rewind) and a new producer is made. */
int pub_restart(publisher_t *p, char *err, size_t errlen);

/* Queues one watermark value (watermark.h) to one partition of the hit topic, keyed WM_KEY.
 * Watermarks are not records of lines: their deliveries never reach the ack callback and are
 * not in pub_outstanding(); a failed one is only counted (the next interval sends again).
 * Returns PUB_QUEUED, PUB_FULL (skipped: the queue is for lines first) or PUB_FATAL. */
int pub_send_wm(publisher_t *p, int32_t partition, const char *val, size_t n);

/* Partitions of the hit topic, from metadata fetched at most every PUB_META_REFRESH_MS (every
 * second while never had), a blocking request of at most PUB_META_TIMEOUT_MS; on failure the
 * last count is kept. 0 while no metadata was ever had. now_ms is monotonic. */
#define PUB_META_REFRESH_MS 10000
#define PUB_META_TIMEOUT_MS 500
int pub_partitions(publisher_t *p, int64_t now_ms);

/* Watermarks queued and not yet reported, and those Kafka did not confirm since the start. */
int pub_wm_outstanding(const publisher_t *p);
uint64_t pub_wm_failed(const publisher_t *p);

/* Records queued and not yet reported. */
int pub_outstanding(const publisher_t *p);

void pub_free(publisher_t *p);

#endif
