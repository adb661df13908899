/* kconsumer.h: a Kafka consumer-group member whose start offsets the program chooses.
 *
 * Both consumers of `hits` decide where to start reading a partition themselves, not from
 * Kafka's committed offsets: the aggregator seeks to the first offset of (now - 60 s), billing to
 * the offsets it stored in PostgreSQL in the same transaction as the sums. So on every assignment
 * this module asks the program (on_assign) for each partition's start offset and assigns exactly
 * those; on revocation it tells the program (on_revoke) before the partitions go. Messages are
 * handed out in batches from one queue, which is the cheapest way through librdkafka.
 *
 * Rebalance callbacks run inside kcons_poll(), on the caller's thread: the program's state needs
 * no lock against them. */
#ifndef KCONSUMER_H
#define KCONSUMER_H

#include "kafka.h"

#include <stdint.h>

typedef struct kcons kcons_t;

typedef struct kcons_hooks {
    /* New partitions for this member. Set each element's .offset to the offset to start at (an
     * offset >= 0, or RD_KAFKA_OFFSET_BEGINNING / RD_KAFKA_OFFSET_END). Return 0, or -1 to
     * refuse (err says why): the consumer then reports the error from kcons_poll. */
    int (*on_assign)(void *ctx, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, char *err,
                     size_t errlen);
    /* Partitions leaving this member (rebalance or close). */
    void (*on_revoke)(void *ctx, rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts);
    void *ctx;
} kcons_hooks_t;

/* A new group member of o->topic in group `group`. defaults: extra NULL-terminated
 * name/value properties applied before the -X ones. enable.auto.commit is off unless -X says
 * otherwise (the programs own their offsets). The caller owns the result: kcons_free. */
kcons_t *kcons_new(const kopts_t *o, const char *group, const char *const *defaults,
                   const kcons_hooks_t *hooks, char *err, size_t errlen);

/* Up to max messages, waiting at most timeout_ms for the first. Returns the count (>= 0), each
 * to be released with rd_kafka_message_destroy; messages with .err set are for the caller to
 * inspect (partition EOF is not reported unless enable.partition.eof=true). Returns -1 on a
 * fatal consumer error (err). */
int kcons_poll(kcons_t *c, rd_kafka_message_t **msgs, size_t max, int timeout_ms, char *err,
               size_t errlen);

rd_kafka_t *kcons_handle(kcons_t *c);

/* Leaves the group (revoking through on_revoke) and frees everything. NULL is fine. */
void kcons_free(kcons_t *c);

/* The first offset of partition `part` whose message timestamp is >= ts_ms, by
 * rd_kafka_offsets_for_times where the broker answers it, else by a binary search over message
 * timestamps between the watermarks (librdkafka 2.0.2's mock answers offsets_for_times with -1,
 * which a real broker also answers when every message is older: the search tells them apart).
 * Uses a short-lived helper consumer (never in a group, never committing) for the search
 * fetches. Returns the offset (the high watermark if every message is older), or -1 with err on
 * failure.
 *
 * The search assumes timestamps grow with offsets, as producer (CreateTime) timestamps of one
 * partition roughly do; where they are out of order by d seconds, the offset found may be up to
 * d seconds off: ask for ts_ms minus the disorder you tolerate. */
int64_t kcons_offset_for_time(const kopts_t *o, const char *topic, int32_t part, int64_t ts_ms,
                              int timeout_ms, char *err, size_t errlen);

/* The same for every element of parts (topic, partition), searched together: each element's
 * .offset is set to its answer, or its .err to why it has none (then .offset is
 * RD_KAFKA_OFFSET_INVALID). Returns 0 when every element has an answer, else -1 with err naming
 * the first failure. timeout_ms bounds the whole call. */
int kcons_offsets_for_time(const kopts_t *o, rd_kafka_topic_partition_list_t *parts, int64_t ts_ms,
                           int timeout_ms, char *err, size_t errlen);

#endif
