/* kassign.c: a consumer of self-assigned partitions, in no group (see kassign.h). */
#include "kassign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KASSIGN_ERR_MAX 512

struct kassign {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue: every assigned partition feeds it */
    rd_kafka_topic_t *rkt;
    char *topic;
};

kassign_t *kassign_new(const kopts_t *o, const char *group, const char *const *defaults, char *err,
                       size_t errlen) {
    kassign_t *k = calloc(1, sizeof *k);
    rd_kafka_conf_t *conf = NULL;
    if (!k || !(k->topic = strdup(o->topic))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(conf = kopts_conf(o, defaults, err, errlen))) goto fail;
    /* After -X: a client that never joins must never commit under a real group's name. */
    if (kafka_conf_set(conf, "group.id", group, err, errlen) < 0 ||
        kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) < 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) < 0)
        goto fail;
    char kerr[KASSIGN_ERR_MAX];
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!k->rk) {
        snprintf(err, errlen, "cannot create the Kafka consumer: %s", kerr);
        goto fail; /* conf is still ours */
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(k->rk);
    k->q = rd_kafka_queue_get_consumer(k->rk);
    k->rkt = rd_kafka_topic_new(k->rk, o->topic, NULL);
    if (!k->rkt) {
        snprintf(err, errlen, "topic %s: %s", o->topic, rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    return k;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    kassign_free(k);
    return NULL;
}

int kassign_partition_count(kassign_t *k, int timeout_ms, char *err, size_t errlen) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 0, k->rkt, &md, timeout_ms);
    int n = -1;
    if (e) {
        snprintf(err, errlen, "metadata of %s: %s", k->topic, rd_kafka_err2str(e));
        return -1;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0)
        snprintf(err, errlen, "metadata of %s: %s", k->topic,
                 md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err)
                                                         : "no partitions");
    else
        n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
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
    /* What the queue holds now, else the first message within timeout_ms and what came with it
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

void kassign_free(kassign_t *k) {
    if (!k) return;
    if (k->rk) {
        if (k->rkt) rd_kafka_topic_destroy(k->rkt);
        if (k->q) rd_kafka_queue_destroy(k->q);
        rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    free(k->topic);
    free(k);
}
