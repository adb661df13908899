/* kassign.h: a Kafka consumer that reads partitions it assigns itself, in no consumer group.
 *
 * The aggregator's state is only the last minute of hits, a cache of what Kafka holds, so its
 * instances need not split the partitions: each reads every partition of the topic. That makes
 * a restart exact as soon as the last minute is read back (no wait for a dead member's session
 * to time out, no rebalance) and lets any instance answer for any customer. This module is the
 * client for that: it never subscribes, so it never joins a group, never commits, and is never
 * given or taken partitions; the program says which partitions to read from which offsets
 * (kassign_set) and follows the topic's partition count (kassign_partition_count).
 *
 * group.id is still set (librdkafka needs one for assign) to the name the program gives: it
 * names the client in the broker's logs and tools, nothing more. Billing, which must split the
 * work, uses kconsumer.h's group member instead. */
#ifndef KASSIGN_H
#define KASSIGN_H

#include "kafka.h"

#include <stdint.h>

typedef struct kassign kassign_t;

/* A consumer of o->topic with group.id = group (never joined). defaults: extra NULL-terminated
 * name/value properties applied before the -X ones. Auto commit is off. The caller owns the
 * result: kassign_free. */
kassign_t *kassign_new(const kopts_t *o, const char *group, const char *const *defaults, char *err,
                       size_t errlen);

/* The number of partitions of the topic by a metadata request, or -1 with err (unknown topic,
 * no broker within timeout_ms). */
int kassign_partition_count(kassign_t *k, int timeout_ms, char *err, size_t errlen);

/* Reads exactly the partitions of l (topic, partition, offset: an offset >= 0 or
 * RD_KAFKA_OFFSET_BEGINNING / _END), replacing what was read before. 0, or -1 with err. */
int kassign_set(kassign_t *k, const rd_kafka_topic_partition_list_t *l, char *err, size_t errlen);

/* Up to max messages, waiting at most timeout_ms for the first. Returns the count (>= 0), each
 * to be released with rd_kafka_message_destroy (messages with .err set are the caller's to
 * look at), or -1 with err on a fatal client error. */
int kassign_poll(kassign_t *k, rd_kafka_message_t **msgs, size_t max, int timeout_ms, char *err,
                 size_t errlen);

rd_kafka_t *kassign_handle(kassign_t *k);

/* Closes the client and frees everything. NULL is fine. */
void kassign_free(kassign_t *k);

#endif
