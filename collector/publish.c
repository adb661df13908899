#include "publish.h"

#include "log.h"
#include "watermark.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct publisher {
    pub_opts_t o;
    rd_kafka_t *rk;
    rd_kafka_topic_t *hits, *rejects;
    atomic_int fatal;        /* set by the error callback, acted on by pub_poll */
    atomic_int brokers_down; /* all brokers down reported, not yet a delivery since: the
                                two log lines (down, reachable again) come once each */
    int outstanding;         /* queued, no callback yet (only touched on the caller's thread) */
    int wm_outstanding;      /* watermarks queued, no callback yet */
    uint64_t wm_failed;      /* watermarks not confirmed */
    int partitions;          /* of the hit topic, from metadata; 0: not known yet */
    int64_t meta_next;       /* monotonic ms of the next metadata refresh */
};

/* The per-message opaque is the caller's token; which topic it went to is known from the
 * message's topic handle, so nothing is allocated per record. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    publisher_t *p = opaque;
    (void)rk;
    /* A watermark: its key cannot be a line's (customer ids never start with '#', dead letters
     * are keyed by src, which never is "#wm"). It says nothing about any line. */
    if (m->rkt == p->hits && wm_key_is(m->key, m->key_len)) {
        p->wm_outstanding--;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
            m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
            p->wm_failed++;
        return;
    }
    p->outstanding--;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return; /* pub_restart purged it; the caller resends from its confirmed position */
    if (!m->err && atomic_exchange(&p->brokers_down, 0))
        log_info("Kafka is reachable again: reading resumes", "%s", "");
    int is_reject = m->rkt == p->rejects;
    p->o.ack(p->o.ack_ctx, (uint64_t)(uintptr_t)m->_private, is_reject, m->err);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    publisher_t *p = opaque;
    char q[512];
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        atomic_store(&p->fatal, 1);
        return; /* pub_poll reports it with the underlying error */
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!atomic_exchange(&p->brokers_down, 1))
            log_warn("all Kafka brokers are down: reading pauses when the queue fills, nothing "
                     "is lost",
                     "reason=%s", log_quote(reason, q, sizeof q));
        return;
    }
    /* Transport errors repeat for as long as a broker is away; librdkafka's own log already
     * reports them, and the all-brokers-down state above is the one line an operator needs. */
    log_msg(err == RD_KAFKA_RESP_ERR__TRANSPORT ? LOG_DEBUG : LOG_WARN, "kafka producer error",
            "err=%s reason=%s", rd_kafka_err2name(err), log_quote(reason, q, sizeof q));
}

static int make_producer(publisher_t *p, char *err, size_t errlen) {
    /* Why these: acks=all and idempotence so a retry never duplicates or reorders a partition;
     * lz4 keeps the broker's bytes small; linger 50 ms keeps dashboard freshness well under a
     * second while making batches big enough that the per-batch work of everyone downstream
     * stays small: at 100k lines/s, 5 ms cost kafka-mock 0.6-1.1 CPU-seconds per million
     * lines and 50 ms 0.2 (a fetch returns one batch per partition), and an aggregator that
     * restarts reads back batches, not single hits (README, "Freshness at rate"); the queue bound
     * is the collector's memory bound. Follow mode never gives up on a record (timeout 0 =
     * infinite): a broker that is away for an hour gets everything when it returns. --once must
     * end, so it keeps a finite timeout. */
    const char *defaults[] = {"enable.idempotence",
                              "true",
                              "acks",
                              "all",
                              "compression.codec",
                              "lz4",
                              "linger.ms",
                              "50",
                              "batch.num.messages",
                              "10000",
                              "queue.buffering.max.messages",
                              "200000",
                              "queue.buffering.max.kbytes",
                              "262144",
                              "partitioner",
                              "murmur2_random",
                              "message.timeout.ms",
                              p->o.once ? "120000" : "0",
                              NULL};
    rd_kafka_conf_t *conf = kopts_conf(p->o.kafka, defaults, err, errlen);
    if (!conf) return -1;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, p);
    char kerr[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "cannot create Kafka producer: %s", kerr);
        return -1;
    }
    p->hits = rd_kafka_topic_new(p->rk, p->o.kafka->topic, NULL);
    p->rejects = rd_kafka_topic_new(p->rk, p->o.reject_topic, NULL);
    if (!p->hits || !p->rejects) {
        snprintf(err, errlen, "cannot create topic handles: %s",
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

static void drop_producer(publisher_t *p) {
    if (!p->rk) return;
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(p->rk, 0); /* serve the purge callbacks: they only decrement outstanding */
    if (p->hits) rd_kafka_topic_destroy(p->hits);
    if (p->rejects) rd_kafka_topic_destroy(p->rejects);
    rd_kafka_destroy(p->rk);
    p->rk = NULL;
    p->hits = p->rejects = NULL;
    p->outstanding = p->wm_outstanding = 0;
}

publisher_t *pub_new(const pub_opts_t *o, char *err, size_t errlen) {
    publisher_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->o = *o;
    if (make_producer(p, err, errlen) < 0) {
        pub_free(p);
        return NULL;
    }
    return p;
}

int pub_send(publisher_t *p, int is_reject, const char *key, size_t keylen, const char *val,
             size_t n, uint64_t token) {
    if (atomic_load(&p->fatal)) return PUB_FATAL;
    if (rd_kafka_produce(is_reject ? p->rejects : p->hits, RD_KAFKA_PARTITION_UA,
                         RD_KAFKA_MSG_F_COPY, (void *)val, n, key, keylen,
                         (void *)(uintptr_t)token) == 0) {
        p->outstanding++;
        return PUB_QUEUED;
    }
    rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) return PUB_FULL;
    if (e == RD_KAFKA_RESP_ERR__FATAL) atomic_store(&p->fatal, 1);
    return PUB_FATAL;
}

int pub_send_wm(publisher_t *p, int32_t partition, const char *val, size_t n) {
    if (atomic_load(&p->fatal)) return PUB_FATAL;
    if (rd_kafka_produce(p->hits, partition, RD_KAFKA_MSG_F_COPY, (void *)val, n, WM_KEY,
                         WM_KEY_LEN, NULL) == 0) {
        p->wm_outstanding++;
        return PUB_QUEUED;
    }
    rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e == RD_KAFKA_RESP_ERR__FATAL) {
        atomic_store(&p->fatal, 1);
        return PUB_FATAL;
    }
    return PUB_FULL; /* queue full, or a partition that went away: the next interval retries */
}

int pub_partitions(publisher_t *p, int64_t now_ms) {
    if (now_ms < p->meta_next) return p->partitions;
    /* Unknown yet (Kafka not reachable at start): ask again at the next watermark. */
    p->meta_next = now_ms + (p->partitions ? PUB_META_REFRESH_MS : 1000);
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(p->rk, 0, p->hits, &md, PUB_META_TIMEOUT_MS) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return p->partitions;
    if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
        int n = md->topics[0].partition_cnt;
        if (p->partitions && n != p->partitions)
            log_info("hit topic partitions changed: watermarks follow", "topic=%s from=%d to=%d",
                     p->o.kafka->topic, p->partitions, n);
        p->partitions = n;
    }
    rd_kafka_metadata_destroy(md);
    return p->partitions;
}

int pub_wm_outstanding(const publisher_t *p) {
    return p->wm_outstanding;
}

uint64_t pub_wm_failed(const publisher_t *p) {
    return p->wm_failed;
}

int pub_poll(publisher_t *p, int timeout_ms, char *err, size_t errlen) {
    rd_kafka_poll(p->rk, timeout_ms);
    if (!atomic_load(&p->fatal)) return 0;
    char why[512];
    rd_kafka_resp_err_t fe = rd_kafka_fatal_error(p->rk, why, sizeof why);
    snprintf(err, errlen, "fatal producer error %s: %s", rd_kafka_err2name(fe),
             fe ? why : "produce failed");
    return -1;
}

int pub_flush(publisher_t *p, int timeout_ms) {
    rd_kafka_flush(p->rk, timeout_ms);
    return p->outstanding;
}

int pub_restart(publisher_t *p, char *err, size_t errlen) {
    drop_producer(p);
    atomic_store(&p->fatal, 0);
    return make_producer(p, err, errlen);
}

int pub_outstanding(const publisher_t *p) {
    return p->outstanding;
}

void pub_free(publisher_t *p) {
    if (!p) return;
    drop_producer(p);
    free(p);
}
