/* kconsumer.c: a consumer-group member whose start offsets the program chooses, and the search
 * for the first offset of a moment (see kconsumer.h). */
#include "kconsumer.h"

#include "clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KCONS_ERR_MAX 512
#define PROBE_GROUP "kcons-offset-probe" /* the helper never joins it: assign() needs a group */
#define PROBE_BATCH 4096                 /* messages taken from the helper's queue at once */
#define PROBE_POLL_MS 100

struct kcons {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue: messages, errors and rebalances */
    kcons_hooks_t hooks;
    int failed; /* on_assign refused, or a fatal error: kcons_poll says so */
    char err[KCONS_ERR_MAX];
};

/* ---- the group member --------------------------------------------------------------------------
 */

/* Up to max messages: what the queue holds now, else the first to come within timeout_ms and
 * what came with it. (consume_batch_queue alone waits until the batch is full or the time is
 * up, which would hold back a lone message for the whole timeout.) Negative on error. */
static ssize_t take(rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_message_t **msgs, size_t max,
                    int timeout_ms) {
    if (max == 0) return 0;
    ssize_t n = rd_kafka_consume_batch_queue(q, 0, msgs, max);
    if (n != 0 || timeout_ms <= 0) return n;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, timeout_ms);
    if (!m) return 0;
    msgs[0] = m;
    ssize_t k = max > 1 ? rd_kafka_consume_batch_queue(q, 0, msgs + 1, max - 1) : 0;
    return 1 + (k > 0 ? k : 0);
}

static int cooperative(rd_kafka_t *rk) {
    const char *p = rd_kafka_rebalance_protocol(rk);
    return p && strcmp(p, "COOPERATIVE") == 0;
}

static void fail(kcons_t *c, const char *what, const char *detail) {
    if (c->failed) return; /* the first failure is the one to report */
    c->failed = 1;
    snprintf(c->err, sizeof c->err, "%s: %s", what, detail);
}

/* Applies (or clears) an assignment the way the group's protocol wants it. */
static void set_assignment(kcons_t *c, rd_kafka_topic_partition_list_t *l, int assign) {
    if (cooperative(c->rk)) {
        rd_kafka_error_t *e = assign ? rd_kafka_incremental_assign(c->rk, l)
                                     : rd_kafka_incremental_unassign(c->rk, l);
        if (e) {
            fail(c, assign ? "incremental assign" : "incremental unassign",
                 rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        return;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, assign ? l : NULL);
    if (e) fail(c, assign ? "assign" : "unassign", rd_kafka_err2str(e));
}

static void revoke_current(kcons_t *c) {
    rd_kafka_topic_partition_list_t *cur = NULL;
    if (rd_kafka_assignment(c->rk, &cur) == RD_KAFKA_RESP_ERR_NO_ERROR && cur) {
        if (cur->cnt && c->hooks.on_revoke) c->hooks.on_revoke(c->hooks.ctx, c->rk, cur);
        rd_kafka_topic_partition_list_destroy(cur);
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    kcons_t *c = opaque;
    (void)rk;
    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS: {
        char e[KCONS_ERR_MAX] = "";
        if (c->hooks.on_assign && c->hooks.on_assign(c->hooks.ctx, c->rk, parts, e, sizeof e) < 0) {
            /* Consume nothing rather than from offsets the program did not choose; kcons_poll
             * reports the failure and the program leaves the group. */
            fail(c, "partition assignment refused", e[0] ? e : "(no reason given)");
            if (!cooperative(c->rk)) rd_kafka_assign(c->rk, NULL);
            return;
        }
        set_assignment(c, parts, 1);
        break;
    }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        if (c->hooks.on_revoke) c->hooks.on_revoke(c->hooks.ctx, c->rk, parts);
        set_assignment(c, parts, 0);
        break;
    default:
        /* librdkafka: on any other rebalance error, drop the whole assignment to resync. */
        revoke_current(c);
        rd_kafka_assign(c->rk, NULL);
        break;
    }
}

kcons_t *kcons_new(const kopts_t *o, const char *group, const char *const *defaults,
                   const kcons_hooks_t *hooks, char *err, size_t errlen) {
    kcons_t *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf = NULL;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!(conf = kopts_consumer_conf(o, group, defaults, err, errlen))) goto fail;
    c->hooks = *hooks;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    char kerr[KCONS_ERR_MAX];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!c->rk) {
        snprintf(err, errlen, "cannot create the Kafka consumer: %s", kerr);
        goto fail; /* conf is still ours */
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "cannot subscribe to %s: %s", o->topic, rd_kafka_err2str(e));
        goto fail;
    }
    return c;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    kcons_free(c);
    return NULL;
}

int kcons_poll(kcons_t *c, rd_kafka_message_t **msgs, size_t max, int timeout_ms, char *err,
               size_t errlen) {
    ssize_t n = 0;
    if (!c->failed) {
        n = take(c->rk, c->q, msgs, max, timeout_ms);
        if (n < 0) {
            fail(c, "consume", rd_kafka_err2str(rd_kafka_last_error()));
            n = 0;
        }
    }
    for (ssize_t i = 0; i < n && !c->failed; i++) {
        if (msgs[i]->err != RD_KAFKA_RESP_ERR__FATAL) continue;
        char why[256];
        rd_kafka_fatal_error(c->rk, why, sizeof why);
        fail(c, "fatal consumer error", why);
    }
    if (c->failed) {
        for (ssize_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        snprintf(err, errlen, "%s", c->err);
        return -1;
    }
    return (int)n;
}

rd_kafka_t *kcons_handle(kcons_t *c) {
    return c->rk;
}

void kcons_free(kcons_t *c) {
    if (!c) return;
    if (c->rk) {
        rd_kafka_consumer_close(c->rk); /* revokes through rebalance_cb, leaves the group */
        if (c->q) rd_kafka_queue_destroy(c->q);
        rd_kafka_destroy(c->rk);
    }
    free(c);
}

/* ---- first offset of a moment ------------------------------------------------------------------
 */

/* One partition's search: the answer is the first offset in [lo, hi) whose timestamp is >= the
 * target, or hi if there is none. Offsets missing from the log (compacted, deleted, control
 * records) do not matter: starting at an offset starts at the first message at or after it. */
typedef struct probe {
    int64_t lo, hi;
    int64_t cursor; /* this round: every message of [mid, cursor) was seen, all older */
    int seen;       /* this round: a message or the partition's end arrived */
    int done;       /* this round: the bounds met an answer; stop reading this partition */
} probe_t;

static rd_kafka_t *probe_client(const kopts_t *o, char *err, size_t errlen) {
    const char *defaults[] = {"enable.partition.eof",
                              "true",
                              "fetch.wait.max.ms",
                              "10",
                              "auto.offset.reset",
                              "error",
                              NULL};
    rd_kafka_conf_t *conf = kopts_conf(o, defaults, err, errlen);
    if (!conf) return NULL;
    /* After -X: whatever the operator set, this client must never commit for a real group. */
    if (kafka_conf_set(conf, "group.id", PROBE_GROUP, err, errlen) < 0 ||
        kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) < 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    char kerr[KCONS_ERR_MAX];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "cannot create a Kafka consumer: %s", kerr);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* One message (or the partition's end) of a round. -1 when it cannot be searched. */
static int probe_take(probe_t *p, const rd_kafka_message_t *m, int64_t ts_ms) {
    if (p->done) return 0;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* Messages come in order and the end after them: nothing exists in [cursor, end). */
        p->hi = p->cursor < p->hi ? p->cursor : p->hi;
        p->seen = p->done = 1;
        return 0;
    }
    if (m->offset < p->cursor) return 0; /* before this round's start: not ours */
    p->seen = 1;
    rd_kafka_timestamp_type_t tt;
    int64_t t = rd_kafka_message_timestamp(m, &tt);
    if (tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) return -1;
    if (m->offset >= p->hi || t >= ts_ms) { /* no message in [cursor, offset) */
        p->hi = p->cursor;
        p->done = 1;
        return 0;
    }
    p->lo = p->cursor = m->offset + 1;
    if (p->lo >= p->hi) p->done = 1;
    return 0;
}

/* Hands a message of a round to its partition's search. */
static void probe_dispatch(rd_kafka_topic_partition_list_t *parts, probe_t *pr, int *waiting,
                           const rd_kafka_message_t *m, int64_t ts_ms, char *err, size_t errlen) {
    for (int i = 0; i < parts->cnt && m->rkt; i++) {
        rd_kafka_topic_partition_t *e = &parts->elems[i];
        if (e->partition != m->partition || strcmp(e->topic, rd_kafka_topic_name(m->rkt)) != 0)
            continue;
        int was_seen = pr[i].seen;
        if ((m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) ||
            probe_take(&pr[i], m, ts_ms) < 0) {
            e->err = m->err ? m->err : RD_KAFKA_RESP_ERR__BAD_MSG;
            if (!err[0])
                snprintf(err, errlen, "partition %" PRId32 ": %s", m->partition,
                         m->err ? rd_kafka_message_errstr(m) : "messages carry no timestamp");
            pr[i].seen = pr[i].done = 1;
        }
        if (!was_seen && pr[i].seen) (*waiting)--;
        return;
    }
}

/* Assigns each open search at its middle (its start in the first round) and reads until each
 * has seen a message, then takes once more whatever is already there (the rest of the fetched
 * batches narrows the search a lot). Returns 0, or -1 on timeout. */
static int probe_round(rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_topic_partition_list_t *parts,
                       probe_t *pr, int first, int64_t ts_ms, int64_t deadline,
                       rd_kafka_message_t **msgs, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    int waiting = 0, rc = -1;
    for (int i = 0; i < parts->cnt; i++) {
        probe_t *p = &pr[i];
        p->seen = p->done = 0;
        if (parts->elems[i].err || p->lo >= p->hi) continue;
        /* The first round reads from the start: when the whole partition is recent (a young or
         * small topic) that is the answer at once, and the batch it brings narrows the rest. */
        p->cursor = first ? p->lo : p->lo + (p->hi - p->lo) / 2;
        rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, parts->elems[i].partition)
            ->offset = p->cursor;
        waiting++;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    if (e) {
        snprintf(err, errlen, "assign: %s", rd_kafka_err2str(e));
        goto out;
    }
    for (int last = 0; !last;) {
        int wait = 0;
        if (waiting > 0) {
            int64_t left = deadline - clock_mono_ms();
            if (left <= 0) {
                snprintf(err, errlen, "timed out reading message timestamps");
                goto out;
            }
            wait = left < PROBE_POLL_MS ? (int)left : PROBE_POLL_MS;
        } else {
            last = 1;
        }
        ssize_t n = take(rk, q, msgs, PROBE_BATCH, wait);
        for (ssize_t k = 0; k < n; k++) {
            probe_dispatch(parts, pr, &waiting, msgs[k], ts_ms, err, errlen);
            rd_kafka_message_destroy(msgs[k]);
        }
    }
    rc = 0;
out:
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* Watermarks of the partitions whose answer is not known yet: the bounds of their search. */
static void probe_bounds(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, probe_t *pr,
                         int64_t deadline, char *err, size_t errlen) {
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (p->offset >= 0) continue;
        int64_t left = deadline - clock_mono_ms();
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            rk, p->topic, p->partition, &pr[i].lo, &pr[i].hi, left > 0 ? (int)left : 1);
        if (!e) continue;
        p->err = e;
        if (!err[0])
            snprintf(err, errlen, "partition %" PRId32 ": watermarks: %s", p->partition,
                     rd_kafka_err2str(e));
    }
}

int kcons_offsets_for_time(const kopts_t *o, rd_kafka_topic_partition_list_t *parts, int64_t ts_ms,
                           int timeout_ms, char *err, size_t errlen) {
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int rc = -1;
    probe_t *pr = calloc((size_t)parts->cnt + 1, sizeof *pr);
    rd_kafka_message_t **msgs = calloc(PROBE_BATCH, sizeof *msgs);
    rd_kafka_topic_partition_list_t *asked = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_t *rk = NULL;
    rd_kafka_queue_t *q = NULL;
    err[0] = 0;
    if (!pr || !msgs) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!(rk = probe_client(o, err, errlen))) goto out;
    q = rd_kafka_queue_get_consumer(rk);
    for (int i = 0; i < asked->cnt; i++)
        asked->elems[i].offset = ts_ms;
    /* A broker that answers gives the exact offset; -1 (the end) is either the truth or the
     * mock not answering, so the search decides. A third of the time at most goes to asking. */
    rd_kafka_resp_err_t fe = rd_kafka_offsets_for_times(rk, asked, timeout_ms / 3 + 1);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        p->err = RD_KAFKA_RESP_ERR_NO_ERROR;
        p->offset = RD_KAFKA_OFFSET_INVALID;
        if (!fe && !asked->elems[i].err && asked->elems[i].offset >= 0)
            p->offset = pr[i].lo = pr[i].hi = asked->elems[i].offset;
    }
    probe_bounds(rk, parts, pr, deadline, err, errlen);
    for (int round = 0;; round++) {
        int open = 0;
        for (int i = 0; i < parts->cnt; i++)
            open += !parts->elems[i].err && pr[i].lo < pr[i].hi;
        if (!open ||
            probe_round(rk, q, parts, pr, round == 0, ts_ms, deadline, msgs, err, errlen) < 0)
            break;
    }
    rc = 0;
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (!p->err && pr[i].lo >= pr[i].hi) {
            p->offset = pr[i].hi;
            continue;
        }
        if (!p->err) p->err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        p->offset = RD_KAFKA_OFFSET_INVALID;
        if (!err[0]) snprintf(err, errlen, "partition %" PRId32 ": no answer", p->partition);
        rc = -1;
    }
out:
    if (q) rd_kafka_queue_destroy(q);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    rd_kafka_topic_partition_list_destroy(asked);
    free(msgs);
    free(pr);
    return rc;
}

int64_t kcons_offset_for_time(const kopts_t *o, const char *topic, int32_t part, int64_t ts_ms,
                              int timeout_ms, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, part);
    int64_t off =
        kcons_offsets_for_time(o, l, ts_ms, timeout_ms, err, errlen) < 0 ? -1 : l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}
