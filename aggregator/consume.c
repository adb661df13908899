/* consume.c: the aggregator's consumer of `hits` (see consume.h): partitions and rebalances,
 * then the batch loop. */
#include "consume.h"

#include "ametrics.h"
#include "clock.h"
#include "hit.h"
#include "kconsumer.h"
#include "log.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define BATCH_MAX 8192        /* messages taken from librdkafka at once */
#define POLL_MS 100           /* longest wait for a message: ticks and signals stay timely */
#define TICK_MS 1000          /* expiry, gauges, readiness */
#define PARTITIONS_MAX 100000 /* partition ids we accept */
#define WATERMARK_TIMEOUT_MS 5000

/* One partition of the topic, as this member knows it. */
typedef struct apart {
    int owned;           /* assigned to this member now */
    int revoked;         /* eager protocol: revoked, and may come right back (state kept) */
    int64_t applied;     /* highest offset applied to the windows; -1: none */
    int64_t next;        /* next offset expected (lag); -1: unknown */
    int64_t catchup_end; /* high watermark when assigned: caught up once next reaches it */
    int caught_up;
} apart_t;

struct consume {
    consume_opts_t o;
    kcons_t *kc;
    apart_t *parts;
    int32_t nparts;
    int assigned;          /* an assignment arrived (maybe empty) */
    _Atomic int ready;     /* read by HTTP threads */
    int64_t assigned_mono; /* when the last assignment arrived, for aggregator_catchup_ms */
    int ready_dirty;       /* a partition caught up in this batch: readiness to recompute */
    rd_kafka_resp_err_t last_kafka_err;
    int reason_logged[AREJ_COUNT];
    /* one batch */
    rd_kafka_message_t *msgs[BATCH_MAX];
    hit_t hits[BATCH_MAX];
    int32_t hparts[BATCH_MAX];
    uint8_t replay[BATCH_MAX]; /* read while catching up: too old means expired, not late */
    int8_t results[BATCH_MAX];
    char *scratch;
    size_t scratch_cap;
    replay_t *resends; /* (partition, edge, src) -> highest off: drops the collector's resends */
};

/* ---- partitions ----------------------------------------------------------------------------- */

static apart_t *part_of(consume_t *c, int32_t id) {
    return id >= 0 && id < c->nparts ? &c->parts[id] : NULL;
}

static apart_t *part_get(consume_t *c, int32_t id) {
    if (id < 0 || id >= PARTITIONS_MAX) return NULL;
    if (id >= c->nparts) {
        apart_t *p = realloc(c->parts, (size_t)(id + 1) * sizeof *p);
        if (!p) return NULL;
        for (int32_t i = c->nparts; i <= id; i++)
            p[i] = (apart_t){0, 0, -1, -1, 0, 0};
        c->parts = p;
        c->nparts = id + 1;
    }
    return &c->parts[id];
}

/* Forgets a partition: its customers' windows and its offsets. */
static void forget(consume_t *c, int32_t id) {
    apart_t *p = part_of(c, id);
    if (!p) return;
    win_drop_partition(c->o.win, id);
    replay_drop_partition(c->resends, id);
    *p = (apart_t){0, 0, -1, -1, 0, 0};
}

static void window_gauges(consume_t *c) {
    win_stats_t st;
    win_stats(c->o.win, &st);
    metric_set(&am_window_keys, (int64_t)st.keys);
    metric_set(&am_window_customers, (int64_t)st.customers);
    metric_set(&am_window_memory, (int64_t)st.bytes);
}

static void update_ready(consume_t *c) {
    int ready = c->assigned, owned = 0;
    for (int32_t i = 0; i < c->nparts; i++) {
        if (!c->parts[i].owned) continue;
        owned++;
        if (!c->parts[i].caught_up) ready = 0;
    }
    metric_set(&am_partitions, owned);
    c->ready_dirty = 0;
    if (ready && !atomic_load(&c->ready)) {
        int64_t ms = clock_mono_ms() - c->assigned_mono;
        metric_set(&am_catchup_ms, ms);
        window_gauges(c); /* /metrics shows the whole windows as soon as /readyz says ready */
        log_info("caught up: windows complete", "partitions=%d catchup_ms=%" PRId64, owned, ms);
    }
    atomic_store(&c->ready, ready);
    metric_set(&am_ready, ready);
}

int consume_ready(void *ctx) {
    return atomic_load(&((consume_t *)ctx)->ready);
}

/* Start offsets of the partitions new to us: the first message of (now - window - slack).
 * Where the search fails, the end: the window then fills as hits come (logged). */
static void seek_by_time(consume_t *c, rd_kafka_topic_partition_list_t *l, const int *fresh) {
    rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(l->cnt);
    for (int i = 0; i < l->cnt; i++)
        if (fresh[i])
            rd_kafka_topic_partition_list_add(q, l->elems[i].topic, l->elems[i].partition);
    if (q->cnt) {
        char err[512], qe[600];
        int64_t since = clock_wall_ms() - (WIN_SECONDS + CONSUME_SEEK_SLACK_S) * 1000LL;
        if (kcons_offsets_for_time(c->o.kafka, q, since, CONSUME_SEEK_TIMEOUT_MS, err, sizeof err) <
            0)
            log_warn("cannot find the offsets of the last minute: those partitions start at "
                     "their end, their windows fill as hits come",
                     "err=%s", log_quote(err, qe, sizeof qe));
        for (int i = 0, j = 0; i < l->cnt; i++) {
            if (!fresh[i]) continue;
            int64_t off = q->elems[j++].offset;
            l->elems[i].offset = off >= 0 ? off : RD_KAFKA_OFFSET_END;
        }
    }
    rd_kafka_topic_partition_list_destroy(q);
}

/* The high watermark of each assigned partition: reading up to it makes us ready. */
static void mark_catchup(consume_t *c, rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *l) {
    for (int i = 0; i < l->cnt; i++) {
        apart_t *p = part_of(c, l->elems[i].partition);
        int64_t lo = 0, hi = 0, start = l->elems[i].offset;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            rk, l->elems[i].topic, l->elems[i].partition, &lo, &hi, WATERMARK_TIMEOUT_MS);
        if (e) { /* unknown end: ready once reading reaches it (position, see tick) */
            log_warn("cannot read the high watermark", "partition=%" PRId32 " err=%s",
                     l->elems[i].partition, rd_kafka_err2name(e));
            hi = INT64_MAX;
        }
        if (start == RD_KAFKA_OFFSET_END) start = hi;
        p->catchup_end = hi;
        p->next = start >= 0 && start != INT64_MAX ? start : -1;
        p->caught_up = start >= 0 && start >= hi;
    }
}

static int on_assign(void *ctx, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, char *err,
                     size_t errlen) {
    consume_t *c = ctx;
    int kept = 0, dropped = 0;
    c->assigned_mono = clock_mono_ms(); /* catch-up time includes the offset search */
    int *fresh = calloc((size_t)l->cnt + 1, sizeof *fresh);
    if (!fresh) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        apart_t *p = part_get(c, l->elems[i].partition);
        if (!p) {
            snprintf(err, errlen, "partition %" PRId32 ": out of range", l->elems[i].partition);
            free(fresh);
            return -1;
        }
        if (p->revoked && p->applied >= 0) { /* back at once: keep it, go on after it */
            l->elems[i].offset = p->applied + 1;
            kept++;
        } else {
            forget(c, l->elems[i].partition);
            fresh[i] = 1;
        }
        p->revoked = 0;
        p->owned = 1;
    }
    for (int32_t id = 0; id < c->nparts; id++) /* revoked and not given back: someone else's */
        if (c->parts[id].revoked) {
            forget(c, id);
            dropped++;
        }
    int64_t search_ms = clock_mono_ms();
    seek_by_time(c, l, fresh);
    search_ms = clock_mono_ms() - search_ms;
    mark_catchup(c, rk, l);
    free(fresh);
    c->assigned = 1;
    atomic_store(&c->ready, 0);
    metric_add(&am_rebalances, 1);
    char list[1024];
    size_t o = 0;
    list[0] = 0;
    for (int i = 0; i < l->cnt && o + 40 < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%" PRId32 "@%" PRId64, i ? "," : "",
                              l->elems[i].partition, l->elems[i].offset);
    log_info("partitions assigned", "count=%d kept=%d dropped=%d search_ms=%" PRId64 " start=%s",
             l->cnt, kept, dropped, search_ms, list);
    update_ready(c);
    return 0;
}

static void on_revoke(void *ctx, rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *l) {
    consume_t *c = ctx;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    /* Eager: every partition is revoked before each assignment, most come right back. */
    int at_once = rd_kafka_assignment_lost(rk) || (proto && strcmp(proto, "COOPERATIVE") == 0);
    for (int i = 0; i < l->cnt; i++) {
        apart_t *p = part_of(c, l->elems[i].partition);
        if (!p || !p->owned) continue;
        p->owned = 0;
        if (at_once)
            forget(c, l->elems[i].partition);
        else
            p->revoked = 1;
    }
    log_info("partitions revoked", "count=%d freed=%s", l->cnt, at_once ? "yes" : "pending");
    update_ready(c);
}

/* ---- set-up -----------------------------------------------------------------------------------
 */

consume_t *consume_new(const consume_opts_t *o, char *err, size_t errlen) {
    consume_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->o = *o;
    c->resends = replay_new();
    if (!c->resends) {
        snprintf(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    /* fetch.wait.max.ms: a fetch that finds nothing new returns within 100 ms, which bounds
     * how long a hit waits in the broker (freshness), at little cost when idle.
     * queued.min.messages: librdkafka 2.0.2 counts the one consumer queue all partitions feed,
     * and once it holds this many messages stops fetching until its broker thread wakes up
     * again, up to a second later; queued.max.messages.kbytes (payload bytes) the same. With
     * the defaults (100,000 and 64 MB) a catch-up after a restart ran in bursts, 1M hits in
     * 4-5 s; the queue must hold about a second of our work (~1M hits, ~250 MB) for the fetches
     * never to stall. That memory is used only while catching up: live traffic never queues. */
    const char *defaults[] = {"client.id",
                              "aggregator",
                              "auto.offset.reset",
                              "earliest",
                              "fetch.wait.max.ms",
                              "100",
                              "queued.min.messages",
                              "1000000",
                              "queued.max.messages.kbytes",
                              "262144",
                              NULL};
    kcons_hooks_t hooks = {on_assign, on_revoke, c};
    c->kc = kcons_new(o->kafka, o->group, defaults, &hooks, err, errlen);
    if (!c->kc) {
        consume_free(c);
        return NULL;
    }
    return c;
}

void consume_free(consume_t *c) {
    if (!c) return;
    kcons_free(c->kc); /* leaves the group: on_revoke may run, so free the rest after */
    free(c->parts);
    free(c->scratch);
    replay_free(c->resends);
    free(c);
}

/* ---- one batch --------------------------------------------------------------------------------
 */

static void kafka_error(consume_t *c, const rd_kafka_message_t *m) {
    char q[512];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    metric_add(&am_kafka_errors, 1);
    if (m->err == c->last_kafka_err) return; /* said already */
    c->last_kafka_err = m->err;
    log_warn("kafka consumer error", "err=%s partition=%" PRId32 " detail=%s",
             rd_kafka_err2name(m->err), m->partition,
             log_quote(rd_kafka_message_errstr(m), q, sizeof q));
}

static void reject(consume_t *c, arej_t reason, const rd_kafka_message_t *m, const char *why) {
    char q[512];
    metric_add(&am_rejected[reason], 1);
    if (c->reason_logged[reason]) return;
    c->reason_logged[reason] = 1;
    log_warn("record not counted (only the first of each reason is logged)",
             "reason=%s partition=%" PRId32 " offset=%" PRId64 " err=%s", arej_name(reason),
             m->partition, m->offset, log_quote(why, q, sizeof q));
}

static int reserve_scratch(consume_t *c, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += c->msgs[i]->len;
    if (total <= c->scratch_cap) return 0;
    char *s = realloc(c->scratch, total);
    if (!s) return -1;
    c->scratch = s;
    c->scratch_cap = total;
    return 0;
}

/* Decodes the messages worth decoding into c->hits; returns how many hits. */
static size_t decode_batch(consume_t *c, size_t n) {
    size_t nh = 0, used = 0;
    char err[256];
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_message_t *m = c->msgs[i];
        if (m->err) {
            kafka_error(c, m);
            continue;
        }
        apart_t *p = part_of(c, m->partition);
        if (!p || !p->owned) { /* fetched before a revocation */
            metric_add(&am_stale, 1);
            continue;
        }
        metric_add(&am_messages, 1);
        if (m->offset <= p->applied) { /* never count a message twice */
            metric_add(&am_duplicates, 1);
            continue;
        }
        p->applied = m->offset;
        p->next = m->offset + 1;
        if (!p->caught_up && p->next >= p->catchup_end) p->caught_up = c->ready_dirty = 1;
        hit_t *h = &c->hits[nh];
        const char *buf = m->payload ? (const char *)m->payload : "";
        int rc = hit_decode(h, buf, m->len, c->scratch + used, m->len, err, sizeof err);
        used += m->len;
        if (rc < 0) {
            reject(c, (arej_t)(rc >= -HIT_ERR_COUNT + 1 ? -rc - 1 : AREJ_SYNTAX), m, err);
            continue;
        }
        if (h->bytes > WIN_HIT_BYTES_MAX) {
            reject(c, AREJ_BYTES, m, "bytes above WIN_HIT_BYTES_MAX (10^13)");
            continue;
        }
        if (replay_seen(c->resends, m->partition, h->edge.p, h->edge.n, h->src.p, h->src.n, h->off,
                        (uint64_t)(clock_wall_ms() / 1000)) == 1) {
            metric_add(&am_replays, 1); /* the collector sent this line before */
            continue;
        }
        c->hparts[nh] = m->partition;
        c->replay[nh] = m->offset < p->catchup_end;
        nh++;
    }
    return nh;
}

static void process_batch(consume_t *c, size_t n) {
    if (reserve_scratch(c, n) < 0) { /* nothing taken: the batch is refused whole */
        for (size_t i = 0; i < n; i++)
            reject(c, AREJ_MEMORY, c->msgs[i], "out of memory");
        return;
    }
    size_t nh = decode_batch(c, n);
    win_add_batch(c->o.win, c->hits, c->hparts, nh, clock_wall_ms(), c->results);
    metric_add(&am_hits_consumed, (int64_t)nh);
    int64_t added = 0, late = 0, future = 0, expired = 0;
    for (size_t i = 0; i < nh; i++) {
        switch (c->results[i]) {
        case WIN_ADDED:
            added++;
            break;
        case WIN_LATE:
            c->replay[i] ? expired++ : late++;
            break;
        case WIN_FUTURE:
            future++;
            break;
        case WIN_OVERFLOW:
            metric_add(&am_rejected[AREJ_OVERFLOW], 1);
            break;
        case WIN_INVALID:
            metric_add(&am_rejected[AREJ_RANGE], 1);
            break;
        default:
            metric_add(&am_rejected[AREJ_MEMORY], 1);
            break;
        }
    }
    metric_add(&am_hits_added, added);
    metric_add(&am_hits_late, late);
    metric_add(&am_hits_future, future);
    metric_add(&am_hits_expired, expired);
    if (c->ready_dirty) update_ready(c);
}

/* ---- every second ------------------------------------------------------------------------------
 */

static void tick(consume_t *c) {
    rd_kafka_t *rk = kcons_handle(c->kc);
    win_expire(c->o.win, clock_wall_ms());
    /* A source silent for 10 minutes has no line left in any window: its mark can go. */
    replay_evict(c->resends, (uint64_t)(clock_wall_ms() / 1000) - 600);
    window_gauges(c);
    int64_t lag = 0;
    for (int32_t id = 0; id < c->nparts; id++) {
        apart_t *p = &c->parts[id];
        if (!p->owned) continue;
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(rk, c->o.kafka->topic, id, &lo, &hi) == 0 &&
            p->next >= 0 && hi > p->next)
            lag += hi - p->next;
        if (p->caught_up) continue;
        /* Nothing left to read between the start and the end (deleted by retention, say):
         * the position says so even though no message came. */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, c->o.kafka->topic, id);
        if (rd_kafka_position(rk, l) == 0 && l->elems[0].offset >= p->catchup_end) p->caught_up = 1;
        rd_kafka_topic_partition_list_destroy(l);
    }
    metric_set(&am_lag, lag);
    update_ready(c);
}

static void log_metrics(const consume_t *c, const char *msg) {
    char buf[4096];
    size_t n = metrics_logfmt(ametrics_all, ametrics_count, buf, sizeof buf);
    if (c->o.nlog_metrics && n + 2 < sizeof buf) {
        buf[n++] = ' ';
        metrics_logfmt(c->o.log_metrics, c->o.nlog_metrics, buf + n, sizeof buf - n);
    }
    log_info(msg, "%s", buf);
}

int consume_run(consume_t *c, void (*on_tick)(void *ctx), void *ctx) {
    char err[1024], q[1100];
    int rc = 0;
    int64_t next_tick = clock_mono_ms() + TICK_MS, next_log = 0;
    if (c->o.metrics_interval_s > 0) next_log = clock_mono_ms() + c->o.metrics_interval_s * 1000LL;
    while (!*c->o.stop) {
        int n = kcons_poll(c->kc, c->msgs, BATCH_MAX, POLL_MS, err, sizeof err);
        if (n < 0) {
            log_error("kafka consumer failed: stopping", "err=%s", log_quote(err, q, sizeof q));
            rc = 1;
            break;
        }
        if (n > 0) c->last_kafka_err = RD_KAFKA_RESP_ERR_NO_ERROR;
        process_batch(c, (size_t)n);
        for (int i = 0; i < n; i++)
            rd_kafka_message_destroy(c->msgs[i]);
        int64_t now = clock_mono_ms();
        if (now >= next_tick) {
            tick(c);
            next_tick = now + TICK_MS;
        }
        if (next_log && now >= next_log) {
            log_metrics(c, "metrics");
            next_log = now + c->o.metrics_interval_s * 1000LL;
        }
        if (on_tick) on_tick(ctx);
    }
    log_metrics(c, "metrics at exit");
    return rc;
}
