/* feed.c: the aggregator's reader of `hits` (see feed.h): the partitions it reads, then
 * the batch loop. */
#include "feed.h"

#include "astats.h"
#include "clock.h"
#include "hit.h"
#include "hitcheck.h"
#include "kassign.h"
#include "kconsumer.h"
#include "log.h"
#include "replay.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 8192 /* messages taken from librdkafka at once */
#define POLL_MS 100    /* longest wait for a message: ticks and signals stay timely */
#define TICK_MS 1000   /* expiry, gauges, readiness */
#define WATERMARK_TIMEOUT_MS 5000
#define METADATA_TIMEOUT_MS 5000
/* librdkafka's queue between the broker and this loop: what bounds a catch-up's memory (see
 * feed_new; -X overrides each) */
#define FEED_QUEUED_MESSAGES "100000"
#define FEED_QUEUED_KBYTES "16384"
#define FEED_FETCH_MAX_BYTES "16777216"

/* One partition of the topic. */
typedef struct apart {
    int64_t applied;     /* highest offset applied to the windows; -1: none */
    int64_t start;       /* offset reading started at (>= 0, or RD_KAFKA_OFFSET_END) */
    int64_t next;        /* next offset expected (lag); -1: unknown */
    int64_t catchup_end; /* high watermark when reading started: caught up once next reaches it */
    int64_t pos_ms;      /* newest message timestamp read; -1: none */
    int caught_up;
    int dirty; /* read in this batch: wmstate to update */
} apart_t;

struct feed {
    feed_opts_t o;
    kassign_t *ka;
    apart_t *parts;
    _Atomic int32_t nparts; /* read by HTTP threads (feed_partition_of) */
    _Atomic int ready;      /* read by HTTP threads */
    int64_t start_mono;     /* when reading (re)started, for aggregator_catchup_ms */
    int64_t next_metadata;  /* mono ms of the next partition count check */
    int said_no_topic;      /* the missing topic was logged */
    rd_kafka_resp_err_t last_kafka_err;
    hit_tswin_t tswin; /* hit_validate's window around the message timestamp */
    int reason_logged[ASTATS_REJ_COUNT], invalid_logged[HITV_COUNT];
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

static apart_t *part_of(feed_t *c, int32_t id) {
    return id >= 0 && id < c->nparts ? &c->parts[id] : NULL;
}

static void window_gauges(feed_t *c) {
    win_stats_t st;
    win_stats(c->o.win, &st);
    metric_set(&astats_window_keys, (int64_t)st.keys);
    metric_set(&astats_window_customers, (int64_t)st.customers);
    metric_set(&astats_window_memory, (int64_t)st.bytes);
    metric_set(&astats_window_folded, (int64_t)st.hits_folded);
    metric_set(&astats_window_at_cap, (int64_t)st.customers_at_cap);
    if (!c->o.cv) return;
    cv_stats_t vs;
    cv_stats(c->o.cv, &vs);
    metric_set(&astats_view_customers, (int64_t)vs.customers);
    metric_set(&astats_view_hosts, (int64_t)vs.hosts);
    metric_set(&astats_view_folded, (int64_t)vs.hosts_folded);
    metric_set(&astats_view_memory, (int64_t)vs.bytes);
    metric_set(&astats_view_names, (int64_t)vs.names);
    metric_set(&astats_view_names_refused, (int64_t)vs.names_refused);
}

static void update_ready(feed_t *c) {
    int ready = c->nparts > 0;
    for (int32_t i = 0; i < c->nparts; i++) {
        apart_t *p = &c->parts[i];
        if (!p->caught_up) ready = 0;
        wms_partition(c->o.wms, i, p->caught_up, p->pos_ms);
        p->dirty = 0;
    }
    metric_set(&astats_partitions, c->nparts);
    if (ready && !atomic_load(&c->ready)) {
        int64_t ms = clock_mono_ms() - c->start_mono;
        metric_set(&astats_catchup_ms, ms);
        window_gauges(c); /* /metrics shows the whole windows as soon as /readyz says ready */
        log_info("caught up: windows complete", "partitions=%" PRId32 " catchup_ms=%" PRId64,
                 (int32_t)c->nparts, ms);
    }
    atomic_store(&c->ready, ready);
    metric_set(&astats_ready, ready);
}

int feed_ready(void *ctx) {
    /* wmstate's view, the one every window's catching_up shows: /readyz never disagrees. */
    return !wms_catching_up(((feed_t *)ctx)->o.wms);
}

int32_t feed_partition_of(feed_t *c, const char *customer) {
    int32_t n = atomic_load(&c->nparts);
    if (n <= 0) return -1;
    /* The key is never NULL, so the rkt argument is not used (librdkafka 2.0.2 rdkafka_msg.c). */
    return rd_kafka_msg_partitioner_murmur2_random(NULL, customer, strlen(customer), n, NULL, NULL);
}

int feed_status(void *ctx, const char *customer, int64_t now_ms, int64_t from_ms, int64_t end_ms,
                wms_status_t *out) {
    feed_t *c = ctx;
    return wms_status(c->o.wms, feed_partition_of(c, customer), now_ms, from_ms, end_ms, out);
}

/* Start offsets of partitions [from, to): the first message of (now - window - slack). Where
 * the search fails, the end: the window then fills as hits come (logged). */
static void seek_by_time(feed_t *c, int32_t from, int32_t to) {
    rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(to - from);
    for (int32_t i = from; i < to; i++)
        rd_kafka_topic_partition_list_add(q, c->o.kafka->topic, i);
    char err[512], qe[600];
    int64_t since = clock_wall_ms() - (WIN_SECONDS + FEED_SEEK_SLACK_S) * 1000LL;
    if (kcons_offsets_for_time(c->o.kafka, q, since, FEED_SEEK_TIMEOUT_MS, err, sizeof err) < 0)
        log_warn("cannot find the offsets of the last minute: those partitions start at "
                 "their end, their windows fill as hits come",
                 "err=%s", log_quote(err, qe, sizeof qe));
    for (int i = 0; i < q->cnt; i++) {
        int64_t off = q->elems[i].offset;
        c->parts[from + i].start = off >= 0 ? off : RD_KAFKA_OFFSET_END;
    }
    rd_kafka_topic_partition_list_destroy(q);
}

/* The high watermark of partition id: reading up to it makes it caught up. */
static void mark_catchup(feed_t *c, int32_t id) {
    apart_t *p = &c->parts[id];
    int64_t lo = 0, hi = 0, start = p->start;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        kassign_handle(c->ka), c->o.kafka->topic, id, &lo, &hi, WATERMARK_TIMEOUT_MS);
    if (e) { /* unknown end: caught up once the position reaches it (see tick) */
        log_warn("cannot read the high watermark", "partition=%" PRId32 " err=%s", id,
                 rd_kafka_err2name(e));
        hi = INT64_MAX;
    }
    if (start == RD_KAFKA_OFFSET_END) start = hi;
    if (start == RD_KAFKA_OFFSET_BEGINNING) start = lo;
    p->catchup_end = hi;
    p->next = start >= 0 && start != INT64_MAX ? start : -1;
    p->caught_up = start >= 0 && start >= hi;
}

/* Reads every partition: the known ones from where they are (re-assigning them is harmless:
 * what was applied is skipped), partitions [old, n) from the time search (by_time, at start) or
 * from their beginning (partitions added later hold only new messages). 0 or -1 (logged). */
static int read_partitions(feed_t *c, int32_t n, int by_time) {
    char err[512], q[600];
    int32_t old = c->nparts;
    apart_t *p = realloc(c->parts, (size_t)n * sizeof *p);
    if (!p) {
        log_error("out of memory", "partitions=%" PRId32, n);
        return -1;
    }
    c->parts = p;
    for (int32_t i = old; i < n; i++)
        p[i] = (apart_t){-1, RD_KAFKA_OFFSET_BEGINNING, -1, 0, -1, 0, 0};
    int64_t search_ms = clock_mono_ms();
    if (by_time) seek_by_time(c, old, n);
    search_ms = clock_mono_ms() - search_ms;
    for (int32_t i = old; i < n; i++)
        mark_catchup(c, i);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int32_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, c->o.kafka->topic, i)->offset =
            p[i].applied >= 0 ? p[i].applied + 1
            : p[i].next >= 0  ? p[i].next
                              : p[i].start;
    int rc = kassign_set(c->ka, l, err, sizeof err);
    if (rc < 0) log_error("cannot read the partitions", "err=%s", log_quote(err, q, sizeof q));
    char list[1024];
    size_t o = 0;
    list[0] = 0;
    for (int i = old; i < l->cnt && o + 40 < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%" PRId32 "@%" PRId64,
                              i > old ? "," : "", l->elems[i].partition, l->elems[i].offset);
    rd_kafka_topic_partition_list_destroy(l);
    wms_set_partitions(c->o.wms, n);
    atomic_store(&c->nparts, n);
    c->start_mono = clock_mono_ms();
    atomic_store(&c->ready, 0);
    metric_add(&astats_rebalances, 1);
    log_info("reading partitions",
             "count=%" PRId32 " new=%" PRId32 " search_ms=%" PRId64 " start=%s", n, n - old,
             search_ms, list);
    update_ready(c);
    return rc;
}

/* Follows the partition count: at start (waiting for the topic until stop), then every
 * FEED_METADATA_MS. Partitions never go away in Kafka: a smaller count is ignored. */
static int follow_partitions(feed_t *c) {
    char err[512], q[600];
    int64_t now = clock_mono_ms();
    if (now < c->next_metadata) return 0;
    c->next_metadata = now + (c->nparts ? FEED_METADATA_MS : 1000);
    int n = kassign_partitions(c->ka, METADATA_TIMEOUT_MS, err, sizeof err);
    if (n == 0) snprintf(err, sizeof err, "topic %s does not exist", c->o.kafka->topic);
    if (n <= 0) {
        if (c->nparts == 0 && !c->said_no_topic++)
            log_warn("topic not readable yet: trying every second", "err=%s",
                     log_quote(err, q, sizeof q));
        return 0;
    }
    if (n <= c->nparts) return 0;
    if (c->nparts > 0)
        log_info("partitions added to the topic", "from=%" PRId32 " to=%d", (int32_t)c->nparts, n);
    return read_partitions(c, n, c->nparts == 0);
}

/* ---- set-up -----------------------------------------------------------------------------------
 */

feed_t *feed_new(const feed_opts_t *o, char *err, size_t errlen) {
    feed_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->o = *o;
    c->tswin = hit_tswin_consumer(hit_tswin_default());
    c->resends = replay_new();
    if (!c->resends) {
        snprintf(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    /* fetch.wait.max.ms: a fetch that finds nothing new returns within 100 ms, which bounds
     * how long a hit waits in the broker (freshness), at little cost when idle.
     * The rest bounds the memory of a catch-up (README "Window memory"). librdkafka 2.0.2
     * counts the one consumer queue all partitions feed, stops fetching once it holds
     * queued.min.messages messages or queued.max.messages.kbytes of payload, and then looks
     * again up to a second later; one fetch response (fetch.max.bytes, a batch more per
     * partition at most) may overshoot. A queued message costs about 0.9 kB here (payload,
     * librdkafka's op, its share of the decompressed batch), so 100,000 of them are ~90 MB.
     * Measured over a 1M-hit catch-up on a loaded 2-core machine: these settings peaked at
     * 102-133 MB RSS in 4.1-7.8 s (8 runs); the previous 1,000,000 messages / 256 MB at 331 MB
     * in 4.6 s (a queue larger than a second of our work is never found empty when librdkafka
     * looks again). Live traffic never queues much. */
    const char *defaults[] = {"client.id",
                              o->instance ? o->instance : "aggregator",
                              "auto.offset.reset",
                              "earliest",
                              "fetch.wait.max.ms",
                              "100",
                              "queued.min.messages",
                              FEED_QUEUED_MESSAGES,
                              "queued.max.messages.kbytes",
                              FEED_QUEUED_KBYTES,
                              "fetch.max.bytes",
                              FEED_FETCH_MAX_BYTES,
                              NULL};
    c->ka = kassign_new(o->kafka, o->group, defaults, err, errlen);
    if (!c->ka) {
        feed_free(c);
        return NULL;
    }
    return c;
}

void feed_free(feed_t *c) {
    if (!c) return;
    kassign_free(c->ka);
    free(c->parts);
    free(c->scratch);
    replay_free(c->resends);
    free(c);
}

/* ---- one batch --------------------------------------------------------------------------------
 */

static void kafka_error(feed_t *c, const rd_kafka_message_t *m) {
    char q[512];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    metric_add(&astats_kafka_errors, 1);
    if (m->err == c->last_kafka_err) return; /* said already */
    c->last_kafka_err = m->err;
    log_warn("kafka consumer error", "err=%s partition=%" PRId32 " detail=%s",
             rd_kafka_err2name(m->err), m->partition,
             log_quote(rd_kafka_message_errstr(m), q, sizeof q));
}

static void reject(feed_t *c, astats_rej_t reason, const rd_kafka_message_t *m, const char *why) {
    char q[512];
    metric_add(&astats_rejected[reason], 1);
    if (c->reason_logged[reason]) return;
    c->reason_logged[reason] = 1;
    log_warn("record not counted (only the first of each reason is logged)",
             "reason=%s partition=%" PRId32 " offset=%" PRId64 " err=%s", astats_rej_name(reason),
             m->partition, m->offset, log_quote(why, q, sizeof q));
}

static void invalid(feed_t *c, int reason, const rd_kafka_message_t *m) {
    metric_add(&astats_invalid[reason], 1);
    if (c->invalid_logged[reason]) return;
    c->invalid_logged[reason] = 1;
    log_warn("hit not counted: not a valid hit (only the first of each reason is logged)",
             "reason=%s partition=%" PRId32 " offset=%" PRId64, hitv_name(reason), m->partition,
             m->offset);
}

static int reserve_scratch(feed_t *c, size_t n) {
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

/* A watermark message: into wmstate, never a hit. */
static void take_watermark(feed_t *c, const rd_kafka_message_t *m, int64_t sent_ms) {
    wm_t w;
    char err[256];
    const char *buf = m->payload ? (const char *)m->payload : "";
    if (wm_decode(&w, buf, m->len, err, sizeof err) < 0) {
        reject(c, ASTATS_REJ_WATERMARK, m, err);
        return;
    }
    metric_add(&astats_watermarks, 1);
    if (wms_note(c->o.wms, m->partition, w.edge, strlen(w.edge), w.wm_ms, sent_ms) < 0)
        reject(c, ASTATS_REJ_MEMORY, m, "out of memory");
}

/* Decodes the messages worth decoding into c->hits; returns how many hits. */
static size_t decode_batch(feed_t *c, size_t n) {
    size_t nh = 0, used = 0;
    char err[256];
    /* One clock read a batch: the resend marks' age is in seconds, and a batch is taken whole
     * within one poll. */
    uint64_t now_s = (uint64_t)(clock_wall_ms() / 1000);
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_message_t *m = c->msgs[i];
        if (m->err) {
            kafka_error(c, m);
            continue;
        }
        apart_t *p = part_of(c, m->partition);
        if (!p) { /* cannot happen: we read only the partitions we know */
            metric_add(&astats_stale, 1);
            continue;
        }
        metric_add(&astats_messages, 1);
        if (m->offset <= p->applied) {
            /* We assign every partition at exactly applied + 1, so librdkafka hands out a lower
             * offset only when the log starts again below it: the topic was made anew, or the
             * broker lost its tail (auto.offset.reset moved us to its start). These are new
             * messages; a record sent before is still dropped by its (edge, src, off) mark. */
            metric_add(&astats_log_resets, 1);
            log_warn("partition log starts again below what was read: topic made anew?",
                     "partition=%" PRId32 " offset=%" PRId64 " applied=%" PRId64, m->partition,
                     m->offset, p->applied);
            p->applied = m->offset - 1;
        }
        p->applied = m->offset;
        p->next = m->offset + 1;
        p->dirty = 1;
        int64_t ts = rd_kafka_message_timestamp(m, NULL);
        if (ts > p->pos_ms) p->pos_ms = ts;
        if (!p->caught_up && p->next >= p->catchup_end) p->caught_up = 1;
        if (wm_key_is(m->key, m->key_len)) {
            take_watermark(c, m, ts >= 0 ? ts : clock_wall_ms());
            continue;
        }
        hit_t *h = &c->hits[nh];
        const char *buf = m->payload ? (const char *)m->payload : "";
        int rc = hit_decode(h, buf, m->len, c->scratch + used, m->len, err, sizeof err);
        used += m->len;
        if (rc < 0) {
            reject(c, (astats_rej_t)(rc >= -HIT_ERR_COUNT + 1 ? -rc - 1 : ASTATS_REJ_SYNTAX), m,
                   err);
            continue;
        }
        /* The same rule as billing's, around the time the record was sent (hitcheck.h). */
        int v = hit_validate(h, ts >= 0 ? ts : clock_wall_ms(), &c->tswin);
        if (v != HITV_OK) {
            invalid(c, v, m);
            continue;
        }
        if (replay_seen(c->resends, m->partition, h->edge.p, h->edge.n, h->src.p, h->src.n, h->off,
                        now_s) == 1) {
            metric_add(&astats_replays, 1); /* the collector sent this line before */
            continue;
        }
        c->hparts[nh] = m->partition;
        c->replay[nh] = m->offset < p->catchup_end;
        nh++;
    }
    return nh;
}

static void count_results(feed_t *c, size_t nh) {
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
            metric_add(&astats_rejected[ASTATS_REJ_OVERFLOW], 1);
            break;
        case WIN_INVALID:
            metric_add(&astats_rejected[ASTATS_REJ_RANGE], 1);
            break;
        default:
            metric_add(&astats_rejected[ASTATS_REJ_MEMORY], 1);
            break;
        }
    }
    metric_add(&astats_hits_added, added);
    metric_add(&astats_hits_late, late);
    metric_add(&astats_hits_future, future);
    metric_add(&astats_hits_expired, expired);
}

static void process_batch(feed_t *c, size_t n) {
    if (n == 0) return;
    if (reserve_scratch(c, n) < 0) { /* nothing taken: the batch is refused whole */
        for (size_t i = 0; i < n; i++)
            reject(c, ASTATS_REJ_MEMORY, c->msgs[i], "out of memory");
        return;
    }
    size_t nh = decode_batch(c, n);
    int64_t now = clock_wall_ms();
    win_add_batch(c->o.win, c->hits, c->hparts, nh, now, c->results);
    if (c->o.cv) cv_add_batch(c->o.cv, c->hits, nh, now, c->results); /* custview.h */
    metric_add(&astats_hits_consumed, (int64_t)nh);
    count_results(c, nh);
    /* The hits are in the windows before wmstate says their seconds are read. */
    int changed = 0;
    for (int32_t i = 0; i < c->nparts; i++) {
        apart_t *p = &c->parts[i];
        if (!p->dirty) continue;
        changed |= p->caught_up;
        wms_partition(c->o.wms, i, p->caught_up, p->pos_ms);
        p->dirty = 0;
    }
    if (changed && !atomic_load(&c->ready)) update_ready(c);
}

/* ---- every second ------------------------------------------------------------------------------
 */

static void tick(feed_t *c) {
    rd_kafka_t *rk = kassign_handle(c->ka);
    int64_t now = clock_wall_ms();
    win_expire(c->o.win, now);
    if (c->o.cv) cv_expire(c->o.cv, now);
    wms_sweep(c->o.wms, now);
    /* A source silent for 10 minutes has no line left in any window: its mark can go. */
    replay_evict(c->resends, (uint64_t)(now / 1000) - 600);
    window_gauges(c);
    int64_t lag = 0;
    for (int32_t id = 0; id < c->nparts; id++) {
        apart_t *p = &c->parts[id];
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
    metric_set(&astats_lag, lag);
    update_ready(c);
}

static void log_metrics(const feed_t *c, const char *msg) {
    char buf[4096];
    size_t n = metrics_logfmt(astats_all, astats_count, buf, sizeof buf);
    if (c->o.nlog_metrics && n + 2 < sizeof buf) {
        buf[n++] = ' ';
        metrics_logfmt(c->o.log_metrics, c->o.nlog_metrics, buf + n, sizeof buf - n);
    }
    log_info(msg, "%s", buf);
}

int feed_run(feed_t *c, void (*on_tick)(void *ctx), void *ctx) {
    char err[1024], q[1100];
    int rc = 0;
    int64_t next_tick = clock_mono_ms() + TICK_MS, next_log = 0;
    if (c->o.metrics_interval_s > 0) next_log = clock_mono_ms() + c->o.metrics_interval_s * 1000LL;
    c->start_mono = clock_mono_ms();
    while (!*c->o.stop) {
        if (follow_partitions(c) < 0) {
            rc = 1;
            break;
        }
        int n = kassign_poll(c->ka, c->msgs, BATCH_MAX, POLL_MS, err, sizeof err);
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
