/* kassign.h: a Kafka consumer of exactly the partitions the program assigns, with no group
 * membership.
 *
 * Used where something other than Kafka's group protocol decides who reads which partition:
 * billing (advisory locks in PostgreSQL, see billing/owner.h) adds and removes partitions one by
 * one (kassign_add / kassign_remove); the aggregator, whose state is only a cache of the last
 * minute, reads every partition itself (kassign_set), so that a restart is exact as soon as that
 * minute is read back and any instance answers for any customer. A program uses one style or
 * the other, never both on one consumer. Nothing here joins a group, so
 * nothing waits for a dead member's session: partitions are added and removed at once, each
 * started at the offset the program gives. Messages come in batches from one queue, as with
 * kconsumer.h.
 *
 * librdkafka's assign() needs a group.id even for a consumer that never joins: the one given is
 * only a name (nothing is committed: enable.auto.commit is off unless -X says otherwise). */
#ifndef KASSIGN_H
#define KASSIGN_H

#include "kafka.h"

#include <stdint.h>

typedef struct kassign kassign_t;

/* A consumer of o->topic owning no partition yet. defaults: NULL-terminated name/value
 * properties applied before the -X ones. The caller owns the result: kassign_free. */
kassign_t *kassign_new(const kopts_t *o, const char *group, const char *const *defaults, char *err,
                       size_t errlen);

/* Starts consuming partitions[0..n) of the topic, each from offsets[i] (>= 0, or
 * RD_KAFKA_OFFSET_BEGINNING). 0, or -1 with err (nothing was added). */
int kassign_add(kassign_t *k, const int32_t *partitions, const int64_t *offsets, size_t n,
                char *err, size_t errlen);

/* Stops consuming partitions[0..n). Messages of them already in the queue may still come out of
 * kassign_poll: the caller drops what it no longer owns. 0, or -1 with err. */
int kassign_remove(kassign_t *k, const int32_t *partitions, size_t n, char *err, size_t errlen);

/* Reads exactly the partitions of l (topic, partition, offset: an offset >= 0 or
 * RD_KAFKA_OFFSET_BEGINNING / _END), replacing what was read before. 0, or -1 with err. */
int kassign_set(kassign_t *k, const rd_kafka_topic_partition_list_t *l, char *err, size_t errlen);

/* Up to max messages, waiting at most timeout_ms for the first (as kcons_poll). Messages with
 * .err set are for the caller to inspect. -1 with err on a fatal consumer error. */
int kassign_poll(kassign_t *k, rd_kafka_message_t **msgs, size_t max, int timeout_ms, char *err,
                 size_t errlen);

rd_kafka_t *kassign_handle(kassign_t *k);

/* Partitions of the topic, from the cluster's metadata: > 0, 0 if the topic does not exist, or
 * -1 with err when Kafka did not answer within timeout_ms. */
int kassign_partitions(kassign_t *k, int timeout_ms, char *err, size_t errlen);

/* Unassigns everything and frees. NULL is fine. */
void kassign_free(kassign_t *k);

#endif
