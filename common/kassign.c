/* kassign.c: a consumer of the partitions the program assigns (see kassign.h). */
#include "kassign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kassign {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue: messages and errors of every partition */
    char *topic;
};

kassign_t *kassign_new(const kopts_t *o, const char *group, const char *const *defaults, char *err,
                       size_t errlen) {
    kassign_t *k = calloc(1, sizeof *k);
    rd_kafka_conf_t *conf = NULL;
    char kerr[512];
    if (!k || !(k->topic = strdup(o->topic))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(conf = kopts_consumer_conf(o, group, defaults, err, errlen))) goto fail;
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!k->rk) {
        snprintf(err, errlen, "cannot create the Kafka consumer: %s", kerr);
        goto fail; /* conf is still ours */
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(k->rk);
    k->q = rd_kafka_queue_get_consumer(k->rk);
    return k;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    kassign_free(k);
    return NULL;
}

static rd_kafka_topic_partition_list_t *list_of(const kassign_t *k, const int32_t *partitions,
                                                const int64_t *offsets, size_t n) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, k->topic, partitions[i])->offset =
            offsets ? offsets[i] : RD_KAFKA_OFFSET_INVALID;
    return l;
}

static int change(kassign_t *k, const int32_t *partitions, const int64_t *offsets, size_t n,
                  char *err, size_t errlen) {
    if (n == 0) return 0;
    rd_kafka_topic_partition_list_t *l = list_of(k, partitions, offsets, n);
    rd_kafka_error_t *e =
        offsets ? rd_kafka_incremental_assign(k->rk, l) : rd_kafka_incremental_unassign(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (!e) return 0;
    snprintf(err, errlen, "%s: %s", offsets ? "incremental assign" : "incremental unassign",
             rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
}

int kassign_add(kassign_t *k, const int32_t *partitions, const int64_t *offsets, size_t n,
                char *err, size_t errlen) {
    return change(k, partitions, offsets, n, err, errlen);
}

int kassign_remove(kassign_t *k, const int32_t *partitions, size_t n, char *err, size_t errlen) {
    return change(k, partitions, NULL, n, err, errlen);
}

int kassign_set(kassign_t *k, const rd_kafka_topic_partition_list_t *l, char *err, size_t errlen) {
    rd_kafka_resp_err_t e = rd_kafka_assign(k->rk, l);
    if (!e) return 0;
    snprintf(err, errlen, "assign: %s", rd_kafka_err2str(e));
    return -1;
}

int kassign_poll(kassign_t *k, rd_kafka_message_t **msgs, size_t max, int timeout_ms, char *err,
                 size_t errlen) {
    if (max == 0) return 0;
    /* What the queue holds now, else the first to come within timeout_ms and what came with it
     * (consume_batch_queue alone would hold a lone message back for the whole timeout). */
    ssize_t n = rd_kafka_consume_batch_queue(k->q, 0, msgs, max);
    if (n == 0 && timeout_ms > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, timeout_ms);
        if (m) {
            msgs[0] = m;
            ssize_t more = max > 1 ? rd_kafka_consume_batch_queue(k->q, 0, msgs + 1, max - 1) : 0;
            n = 1 + (more > 0 ? more : 0);
        }
    }
    if (n < 0) {
        snprintf(err, errlen, "consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (msgs[i]->err != RD_KAFKA_RESP_ERR__FATAL) continue;
        char why[256];
        rd_kafka_fatal_error(k->rk, why, sizeof why);
        snprintf(err, errlen, "fatal consumer error: %s", why);
        for (ssize_t j = 0; j < n; j++)
            rd_kafka_message_destroy(msgs[j]);
        return -1;
    }
    return (int)n;
}

rd_kafka_t *kassign_handle(kassign_t *k) {
    return k->rk;
}

int kassign_partitions(kassign_t *k, int timeout_ms, char *err, size_t errlen) {
    rd_kafka_topic_t *t = rd_kafka_topic_new(k->rk, k->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 0, t, &md, timeout_ms);
    if (e) {
        snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(e));
    } else if (md->topic_cnt != 1) {
        snprintf(err, errlen, "metadata: no answer for the topic");
    } else if (md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        rc = 0;
    } else if (md->topics[0].err) {
        snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(md->topics[0].err));
    } else {
        rc = md->topics[0].partition_cnt;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}

void kassign_free(kassign_t *k) {
    if (!k) return;
    if (k->rk) {
        rd_kafka_consumer_close(k->rk);
        if (k->q) rd_kafka_queue_destroy(k->q);
        rd_kafka_destroy(k->rk);
    }
    free(k->topic);
    free(k);
}
