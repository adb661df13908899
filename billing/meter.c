#include "meter_int.h"

#include "clock.h"
#include "heartbeat.h"
#include "log.h"
#include "watermark.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rejects -------------------------------------------------------------------------------- */

/* A reject is logged for every reason, at most METER_REJECT_LOG_PER_MIN lines per reason and
 * minute; the rest are counted and said in one line when the minute ends (a flood of one bad
 * producer must not drown the log, and a rare reason is never hidden behind a frequent one). */
/* Ends the reject log's minute when it is over (or at exit: force): one line per reason with
 * the rejects not logged in it. */
static void reject_log_roll(meter_t *c, int force) {
    int64_t now = clock_wall_ms();
    if (!force && now - c->rej_window_start < 60000) return;
    for (int r = 0; r < BREJ_COUNT; r++) {
        if (c->rej_unlogged[r])
            log_warn("records rejected and not logged in the last minute",
                     "reason=%s count=%" PRId64, bstats_reason_name(r), c->rej_unlogged[r]);
        c->rej_unlogged[r] = 0;
        c->rej_logged[r] = 0;
    }
    c->rej_window_start = now;
}

static void log_reject(meter_t *c, const rd_kafka_message_t *m, int reason, const char *why) {
    char q[512];
    reject_log_roll(c, 0);
    if (c->rej_logged[reason] >= METER_REJECT_LOG_PER_MIN) {
        c->rej_unlogged[reason]++;
        return;
    }
    c->rej_logged[reason]++;
    log_warn("record rejected: kept in billing_rejects, not billed",
             "reason=%s partition=%" PRId32 " offset=%" PRId64 " err=%s",
             bstats_reason_name(reason), m->partition, m->offset, log_quote(why, q, sizeof q));
}

static void reject(meter_t *c, item_t *it, int reason, const char *why) {
    it->kind = ITEM_REJECT;
    it->reason = reason;
    log_reject(c, it->msg, reason, why);
}

/* The reference time of hit_validate: the message's Kafka timestamp (the producer's clock when it
 * sent the record), else (a broker without timestamps) the wall clock. */
static int64_t kafka_ts(const rd_kafka_message_t *m) {
    return rd_kafka_message_timestamp(m, NULL);
}

/* A watermark message: valid -> ITEM_WM (applied in order in the second pass), else a reject. */
static void classify_wm(meter_t *c, item_t *it) {
    const rd_kafka_message_t *m = it->msg;
    wm_t w;
    char err[256];
    if (wm_decode(&w, m->payload ? m->payload : "", m->len, err, sizeof err) < 0)
        reject(c, it, BREJ_WATERMARK, err);
    else
        it->kind = ITEM_WM;
}

/* The side tables of a flush, from the rollup as it is now (store_set_side). */
static int side_fill(void *ctx, store_side_t *b) {
    meter_t *c = ctx;
    size_t em = rollup_edge_months(c->rollup) + 1, wm = rollup_watermarks(c->rollup) + 1,
           rej = rollup_rejects(c->rollup) + 1;
    if (em > c->side_em_cap) {
        void *p = realloc(c->side_em, em * sizeof *c->side_em);
        if (!p) return -1;
        c->side_em = p;
        c->side_em_cap = em;
    }
    if (wm > c->side_wm_cap) {
        void *p = realloc(c->side_wm, wm * sizeof *c->side_wm);
        if (!p) return -1;
        c->side_wm = p;
        c->side_wm_cap = wm;
    }
    if (rej > c->side_rej_cap) {
        void *p = realloc(c->side_rej, rej * sizeof *c->side_rej);
        if (!p) return -1;
        c->side_rej = p;
        c->side_rej_cap = rej;
    }
    rollup_export_side(c->rollup, c->side_em, &b->nedge_months, c->side_wm, &b->nwatermarks,
                       c->side_rej, &b->nrejects);
    b->edge_months = c->side_em;
    b->watermarks = c->side_wm;
    b->rejects = c->side_rej;
    return 0;
}

/* The topic's partition count into billing_topics (an edge is billed up to a time only once
 * every partition carried its watermark): at start, then every TOPIC_CHECK_MS, sooner again
 * after a failure. Never blocks the loop for long, never stops billing. */
#define TOPIC_CHECK_MS (5 * 60 * 1000)
#define TOPIC_RETRY_MS (30 * 1000)
static void topic_check(meter_t *c) {
    char err[512], q[600];
    int32_t n = c->own_parts; /* kept current from Kafka's metadata by meter_own.c */
    c->next_topic_check = clock_mono_ms() + TOPIC_RETRY_MS;
    if (n <= 0) return;
    int rc = n == c->topic_parts ? STORE_OK : store_topic_partitions(c->store, n, err, sizeof err);
    if (rc == STORE_OK) {
        c->topic_parts = n;
        c->next_topic_check = clock_mono_ms() + TOPIC_CHECK_MS;
    } else {
        log_warn("cannot record the topic's partition count: retrying", "err=%s",
                 log_quote(err, q, sizeof q));
    }
}

/* After a committed flush: usage rows PostgreSQL refused were kept in billing_usage_held. */
static void note_held(meter_t *c) {
    size_t n = store_take_held(c->store);
    if (!n) return;
    metric_add(&bstats_held, (int64_t)n);
    log_error("usage rows refused by PostgreSQL: kept in billing_usage_held, billing goes on",
              "rows=%zu", n);
}

/* ---- set-up ---------------------------------------------------------------------------------- */

meter_t *meter_new(const meter_opts_t *o, char *err, size_t errlen) {
    meter_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->o = *o;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->tswin = hit_tswin_consumer(hit_tswin_default());
    c->store = store_new(o->conninfo, o->role, o->group, o->kafka->topic);
    c->rollup = rollup_new();
    c->marks = marks_new();
    if (!c->store || !c->rollup || !c->marks) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    store_set_side(c->store, side_fill, c);
    /* A stored offset out of range (retention passed it, the topic made anew) is an error, never
     * a silent jump (auto.offset.reset=error: meter_own.c stops on it). Partition EOF events
     * tell --once where each partition ends. queued.min.messages: librdkafka 2.0.2 compares it
     * with the one consumer queue of all partitions, and pauses fetching for a second when it is
     * exceeded, which happens during every flush at the default (100000): measured 190k hits/s
     * catching up at the default, 390k/s at 500000 (bench/billing.sh). -X overrides any of
     * these. The group.id is only a name: billing never joins a Kafka group (owner.h). */
    const char *defaults[] = {"auto.offset.reset",        "error",     "enable.partition.eof",
                              o->once ? "true" : "false", "client.id", "billing",
                              "queued.min.messages",      "500000",    NULL};
    c->kc = kassign_new(o->kafka, o->group, defaults, err, errlen);
    if (!c->kc) goto fail;
    c->owner = owner_new(o->conninfo, o->instance, o->group, o->kafka->topic);
    if (!c->owner) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return c;
fail:
    meter_free(c);
    return NULL;
}

void meter_free(meter_t *c) {
    if (!c) return;
    kassign_free(c->kc);
    owner_free(c->owner); /* closing its session frees every lock it held */
    free(c->other);
    store_free(c->store);
    rollup_free(c->rollup);
    marks_free(c->marks);
    free(c->parts);
    free(c->offs);
    free(c->conflicts);
    free(c->scratch);
    free(c->pending);
    free(c->pkeys);
    free(c->pvals);
    free(c->rows);
    free(c->dmarks);
    free(c->side_em);
    free(c->side_wm);
    free(c->side_rej);
    free(c);
}

/* ---- one batch ------------------------------------------------------------------------------- */

static int queue_pending(meter_t *c, mark_t *e) {
    if (c->npending == c->pending_cap) {
        size_t cap = c->pending_cap ? c->pending_cap * 2 : 64;
        mark_t **p = realloc(c->pending, cap * sizeof *p);
        if (p) c->pending = p;
        store_mark_t *k = realloc(c->pkeys, cap * sizeof *k);
        if (k) c->pkeys = k;
        int64_t *v = realloc(c->pvals, cap * sizeof *v);
        if (v) c->pvals = v;
        if (!p || !k || !v) return -1;
        c->pending_cap = cap;
    }
    e->queued = c->batch_no;
    c->pending[c->npending++] = e;
    return 0;
}

/* First pass over one message: decode and check it, find its replay mark. 0, or -1 when out
 * of memory. */
static int classify(meter_t *c, item_t *it, size_t *scratch_used) {
    rd_kafka_message_t *m = it->msg;
    char err[256];
    it->kind = ITEM_SKIP;
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            it->kind = ITEM_EOF;
        else
            meter_kafka_error(c, m);
        return 0;
    }
    const part_t *p = meter_part(c, m->partition);
    if (!p || !p->owned) return 0; /* fetched before a revocation */
    if (wm_key_is(m->key, m->key_len)) {
        classify_wm(c, it);
        return 0;
    }
    const char *payload = m->payload ? m->payload : "";
    int rc = hit_decode(&it->hit, payload, m->len, c->scratch + *scratch_used, m->len + 1, err,
                        sizeof err);
    *scratch_used += m->len + 1;
    if (rc != HIT_OK) {
        reject(c, it, bstats_reason_of_decode(rc), err);
        return 0;
    }
    int64_t ref = kafka_ts(m);
    int v = hit_validate(&it->hit, ref >= 0 ? ref : clock_wall_ms(), &c->tswin);
    if (v != HITV_OK) {
        snprintf(err, sizeof err, "hit_validate: %s", hitv_name(v));
        reject(c, it, bstats_reason_of_validate(v), err);
        return 0;
    }
    it->mark = marks_get(c->marks, it->hit.edge.p, it->hit.edge.n, it->hit.src.p, it->hit.src.n,
                         m->partition);
    if (!it->mark) return -1;
    if (it->mark->state == MARK_PENDING && it->mark->queued != c->batch_no &&
        queue_pending(c, it->mark) < 0)
        return -1;
    it->kind = ITEM_HIT;
    return 0;
}

/* The stored marks of every source first seen in this batch: one query. */
static int load_pending(meter_t *c) {
    char err[1024];
    for (size_t i = 0; i < c->npending; i++) {
        const mark_t *e = c->pending[i];
        c->pkeys[i] = (store_mark_t){e->edge, e->src, e->partition, 0};
    }
    for (;;) {
        int rc = store_read_marks(c->store, c->pkeys, c->npending, c->pvals, err, sizeof err);
        if (rc == STORE_OK) break;
        if (meter_db_wait(c, rc, err) < 0) return -1;
    }
    meter_db_up(c);
    for (size_t i = 0; i < c->npending; i++)
        marks_loaded(c->pending[i], c->pvals[i]);
    metric_set(&bstats_marks, (int64_t)marks_count(c->marks));
    return 0;
}

/* Per-batch counts, added to the shared (atomic) metrics once per batch. */
typedef struct tally {
    int64_t consumed, duplicates, watermarks;
} tally_t;

/* A record in its partition's order: a watermark is kept, a reject is held for billing_rejects,
 * a hit is summed unless it is a replay. 0, or -1 when out of memory. */
static int apply_record(meter_t *c, const item_t *it, tally_t *t) {
    const rd_kafka_message_t *m = it->msg;
    if (it->kind == ITEM_WM) {
        wm_t w;
        char err[64];
        t->watermarks++;
        /* decoded once already: it decodes again (a few messages a second per partition) */
        if (wm_decode(&w, m->payload ? m->payload : "", m->len, err, sizeof err) < 0) return 0;
        return rollup_watermark(c->rollup, m->partition, w.edge, w.wm_ms);
    }
    t->consumed++;
    if (it->kind == ITEM_REJECT) {
        metric_add(&bstats_rejected[it->reason], 1);
        return rollup_reject(c->rollup, m->partition, m->offset, bstats_reason_name(it->reason),
                             kafka_ts(m), m->payload ? m->payload : "", m->len);
    }
    if (marks_seen(it->mark, it->hit.off)) {
        t->duplicates++;
        return 0;
    }
    const hit_t *h = &it->hit;
    if (rollup_add(c->rollup, m->partition, h->customer.p, h->customer.n, h->ts_ms, h->country.p,
                   h->bytes) < 0)
        return -1;
    return rollup_add_edge(c->rollup, m->partition, h->edge.p, h->edge.n, h->ts_ms);
}

/* Second pass, in order: each message moves its partition's next offset exactly once. */
static int apply(meter_t *c, const item_t *it, tally_t *t) {
    const rd_kafka_message_t *m = it->msg;
    if (it->kind == ITEM_SKIP) return 0;
    part_t *p = meter_part(c, m->partition);
    if (!p || !p->owned) return 0;
    if (it->kind == ITEM_EOF) {
        /* Everything before the end was delivered: offsets up to it hold no message for us. */
        if (m->offset > p->next) {
            p->next = m->offset;
            c->progress = 1;
        }
        return 0;
    }
    if (c->kafka_down || c->last_kafka_err) meter_kafka_up(c);
    if (p->next >= 0 && m->offset != p->next) {
        /* Kafka delivers a partition from where we assigned or sought it, in order. Below the
         * next offset: Kafka reset ours (the stored offset was beyond the log: the topic made
         * anew?); those were counted, never twice. Above: a gap (retention passed the stored
         * offset, or compaction, or transaction markers): messages there, if any, are not
         * billed. Said once per assignment. */
        if (!p->odd_logged) {
            p->odd_logged = 1;
            log_warn(m->offset < p->next ? "offset below the one expected: skipped as billed"
                                         : "offsets skipped by Kafka: any messages there are lost",
                     "partition=%" PRId32 " expected=%" PRId64 " got=%" PRId64, m->partition,
                     p->next, m->offset);
        }
        if (m->offset < p->next) return 0;
    }
    if (apply_record(c, it, t) < 0) {
        log_error("out of memory", "%s", "");
        c->failed = 1;
        return -1;
    }
    p->next = m->offset + 1;
    c->progress = 1;
    return 0;
}

static int process(meter_t *c, int n) {
    int rc = -1;
    size_t need = 1, used = 0;
    c->batch_no++;
    c->npending = 0;
    for (int i = 0; i < n; i++)
        need += c->msgs[i]->len + 1;
    if (need > c->scratch_cap) {
        char *s = realloc(c->scratch, need);
        if (!s) goto oom;
        c->scratch = s;
        c->scratch_cap = need;
    }
    for (int i = 0; i < n; i++) {
        c->items[i].msg = c->msgs[i];
        if (classify(c, &c->items[i], &used) < 0) goto oom;
    }
    if (c->npending && load_pending(c) < 0) goto out;
    tally_t t = {0, 0, 0};
    int failed = 0;
    for (int i = 0; i < n && !failed; i++)
        failed = apply(c, &c->items[i], &t) < 0;
    metric_add(&bstats_consumed, t.consumed);
    metric_add(&bstats_duplicates, t.duplicates);
    metric_add(&bstats_watermarks, t.watermarks);
    metric_set(&bstats_pending, (int64_t)rollup_hits(c->rollup));
    if (failed) goto out;
    rc = 0;
    goto out;
oom:
    log_error("out of memory", "%s", "");
    c->failed = 1;
out:
    for (int i = 0; i < n; i++)
        rd_kafka_message_destroy(c->msgs[i]);
    return rc;
}

/* ---- --once ---------------------------------------------------------------------------------- */

/* Every owned partition consumed up to its end at start. */
static int once_reached(meter_t *c) {
    if (!c->assigned) return 0;
    for (int32_t id = 0; id < c->nparts; id++) {
        const part_t *p = &c->parts[id];
        if (!p->owned || p->end < 0) continue;
        int64_t pos = p->next >= 0 ? p->next : p->low; /* from the beginning: at the low mark */
        if (pos < p->end) return 0;
    }
    return 1;
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void update_lag(meter_t *c) {
    rd_kafka_t *rk = kassign_handle(c->kc);
    int64_t lag = 0;
    for (int32_t id = 0; id < c->nparts; id++) {
        const part_t *p = &c->parts[id];
        int64_t lo, hi;
        if (!p->owned || rd_kafka_get_watermark_offsets(rk, c->o.kafka->topic, id, &lo, &hi) != 0 ||
            hi < 0)
            continue;
        int64_t pos = p->next >= 0 ? p->next : lo;
        if (pos >= 0 && hi > pos) lag += hi - pos;
    }
    metric_set(&bstats_lag, lag);
}

static void log_metrics(const char *msg) {
    char line[2048];
    size_t n;
    metric_t *const *all = bstats_all(&n);
    metrics_logfmt(all, n, line, sizeof line);
    log_info(msg, "%s", line);
}

/* Whether memory should be written now: the interval passed, or the size bound is reached. */
static int flush_due(meter_t *c, int64_t now, int64_t next_flush) {
    if (!c->progress) return 0;
    /* rollup_bytes_held bounds every row's bytes, merged across partitions too. */
    return now >= next_flush || rollup_rows(c->rollup) + marks_count(c->marks) >= c->o.flush_rows ||
           rollup_bytes_held(c->rollup) >= ROW_BYTES_FLUSH ||
           rollup_rejects(c->rollup) >= METER_REJECTS_FLUSH || (c->o.once && once_reached(c));
}

int meter_run(meter_t *c) {
    char err[512], q[600];
    int done = 0;
    int64_t now = clock_mono_ms(), next_flush = now + c->o.flush_ms;
    int64_t next_metrics = now + (int64_t)c->o.metrics_interval_s * 1000;
    while (!*c->o.stop && !c->failed) {
        hb_beat(); /* /healthz: the loop turns (a flush or a look that blocks stops it) */
        int timeout = POLL_MAX_MS;
        if (c->progress && next_flush - now < timeout)
            timeout = next_flush > now ? (int)(next_flush - now) : 0;
        if (meter_own_tick(c, now) < 0) break;
        int n = kassign_poll(c->kc, c->msgs, BATCH_MAX, timeout, err, sizeof err);
        if (n < 0) {
            log_error("kafka consumer failed", "err=%s", log_quote(err, q, sizeof q));
            c->failed = 1;
            break;
        }
        if (n > 0 && process(c, n) < 0) break;
        now = clock_mono_ms();
        if (now >= c->next_topic_check) topic_check(c);
        reject_log_roll(c, 0);
        if (flush_due(c, now, next_flush)) {
            if (meter_flush(c) < 0) break;
            note_held(c);
            next_flush = clock_mono_ms() + c->o.flush_ms;
            update_lag(c);
        }
        if (c->o.metrics_interval_s && now >= next_metrics) {
            update_lag(c);
            log_metrics("metrics");
            next_metrics = now + (int64_t)c->o.metrics_interval_s * 1000;
        }
        if (c->o.once && !c->progress && once_reached(c)) {
            done = 1;
            break;
        }
    }
    hb_stop(); /* stopping: the last flush may take its SHUTDOWN_FLUSH_MS */
    if (!c->failed && !c->config_error &&
        c->progress) { /* stopped: write what is held, a little patiently */
        c->final = 1;
        c->final_deadline = clock_mono_ms() + SHUTDOWN_FLUSH_MS;
        if (meter_flush(c) < 0 && !c->failed)
            log_warn("stopping with unwritten sums: the next run consumes them again",
                     "hits=%" PRIu64, rollup_hits(c->rollup));
    }
    update_lag(c);
    reject_log_roll(c, 1);
    log_metrics("final metrics");
    meter_own_drop_all(c, "stopping");
    if (c->config_error) return 2;
    if (c->failed) return 1;
    return c->o.once && !done ? 1 : 0;
}
