#include "meter_int.h"

#include "clock.h"
#include "heartbeat.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- partitions ---------------------------------------------------------------------------- */

part_t *meter_part(meter_t *c, int32_t id) {
    return id >= 0 && id < c->nparts ? &c->parts[id] : NULL;
}

/* The partition's state, created on first use. NULL for an id out of range or out of memory. */
part_t *meter_part_get(meter_t *c, int32_t id) {
    if (id < 0 || id >= PARTITIONS_MAX) return NULL;
    if (id >= c->nparts) {
        int32_t n = id + 1;
        part_t *p = realloc(c->parts, (size_t)n * sizeof *p);
        store_offset_t *o = realloc(c->offs, (size_t)n * sizeof *o);
        if (o) c->offs = o;
        int32_t *k = realloc(c->conflicts, (size_t)n * sizeof *k);
        if (k) c->conflicts = k;
        if (p) c->parts = p;
        if (!p || !o || !k) return NULL;
        for (int32_t i = c->nparts; i < n; i++)
            c->parts[i] = (part_t){0, STORE_NO_OFFSET, -1, 0, -1, 0};
        c->nparts = n;
    }
    return &c->parts[id];
}

/* Forgets what memory holds for a partition: its sums and marks. */
static uint64_t forget(meter_t *c, int32_t id) {
    uint64_t dropped = rollup_drop_partition(c->rollup, id);
    marks_drop_partition(c->marks, id);
    metric_add(&bstats_dropped, (int64_t)dropped);
    metric_set(&bstats_pending, (int64_t)rollup_hits(c->rollup));
    return dropped;
}

void meter_forget(meter_t *c, int32_t id) {
    forget(c, id);
}

/* ---- waiting for PostgreSQL and Kafka ----------------------------------------------------------
 */

int meter_stopping(meter_t *c) {
    if (!*c->o.stop) return 0;
    if (!c->final) return 1;
    return *c->o.stop > 1 || clock_mono_ms() > c->final_deadline;
}

/* Sleeps ms in short steps; -1 as soon as we are stopping. */
int meter_nap(meter_t *c, int ms) {
    for (int slept = 0; slept < ms; slept += 50) {
        if (meter_stopping(c)) return -1;
        hb_beat(); /* waiting out an outage on purpose: the loop is alive (/readyz says why) */
        struct timespec t = {0, 50 * 1000000L};
        nanosleep(&t, NULL);
    }
    return meter_stopping(c) ? -1 : 0;
}

/* After a failed PostgreSQL operation: a permanent error stops billing; a transient one (server
 * down or restarting) pauses consumption: logged once, retried after a growing wait. Returns 0
 * to retry, -1 to give up (failed, or stopping). */
int meter_db_wait(meter_t *c, int rc, const char *err) {
    char q[1024];
    metric_add(&bstats_db_errors, 1);
    metric_set(&bstats_ready, 0); /* the next look after the database answers sets it again */
    if (rc == STORE_FATAL) {
        log_error("database error: stopping (what was not committed is read again next run)",
                  "err=%s", log_quote(err, q, sizeof q));
        c->failed = 1;
        return -1;
    }
    if (!c->db_down) {
        log_warn("database unavailable: consumption paused, retrying with backoff", "err=%s",
                 log_quote(err, q, sizeof q));
        c->db_down = 1;
        c->db_down_since = clock_mono_ms();
        c->backoff_ms = BACKOFF_MIN_MS;
    }
    if (c->o.once && clock_mono_ms() - c->db_down_since >= ONCE_DB_WAIT_MS) {
        log_error("database unavailable: --once gives up (what was not committed is read again "
                  "next run)",
                  "waited_ms=%" PRId64 " err=%s", clock_mono_ms() - c->db_down_since,
                  log_quote(err, q, sizeof q));
        c->failed = 1;
        return -1;
    }
    if (meter_nap(c, c->backoff_ms) < 0) return -1;
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    return 0;
}

void meter_db_up(meter_t *c) {
    if (!c->db_down) return;
    log_info("database available again: consumption resumed", "down_ms=%" PRId64,
             clock_mono_ms() - c->db_down_since);
    c->db_down = 0;
}

static int transport_error(rd_kafka_resp_err_t e) {
    return e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
           e == RD_KAFKA_RESP_ERR__RESOLVE || e == RD_KAFKA_RESP_ERR__TIMED_OUT;
}

void meter_kafka_down(meter_t *c, rd_kafka_resp_err_t e, const char *detail) {
    char q[512];
    if (c->kafka_down) return;
    c->kafka_down = 1;
    log_warn("kafka unavailable: waiting for it", "err=%s detail=%s", rd_kafka_err2name(e),
             log_quote(detail, q, sizeof q));
}

void meter_kafka_error(meter_t *c, const rd_kafka_message_t *m) {
    char q[512];
    metric_add(&bstats_kafka_errors, 1);
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) { /* auto.offset.reset=error */
        meter_own_gap(c, m->partition);
        return;
    }
    if (transport_error(m->err)) {
        meter_kafka_down(c, m->err, rd_kafka_message_errstr(m));
        return;
    }
    if (m->err == c->last_kafka_err) return; /* said already */
    c->last_kafka_err = m->err;
    log_warn("kafka consumer error", "err=%s partition=%" PRId32 " detail=%s",
             rd_kafka_err2name(m->err), m->partition,
             log_quote(rd_kafka_message_errstr(m), q, sizeof q));
}

void meter_kafka_up(meter_t *c) {
    if (c->kafka_down) log_info("kafka available again", "%s", "");
    c->kafka_down = 0;
    c->last_kafka_err = RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Stored offsets of ids[0..n), retried while PostgreSQL is away. 0, or -1 (failed/stopping). */
static int read_offsets(meter_t *c, const int32_t *ids, size_t n, int64_t *out) {
    char err[1024];
    for (;;) {
        int rc = store_read_offsets(c->store, ids, n, out, err, sizeof err);
        if (rc == STORE_OK) {
            meter_db_up(c);
            return 0;
        }
        if (meter_db_wait(c, rc, err) < 0) return -1;
    }
}

int meter_read_offsets(meter_t *c, const int32_t *ids, size_t n, int64_t *out) {
    return read_offsets(c, ids, n, out);
}

/* Moves consumption of an owned partition back to its stored offset; memory for it is
 * forgotten. The seek waits, so no message fetched for the old position comes after it. */
static void rewind_to(meter_t *c, int32_t id, int64_t stored) {
    part_t *p = meter_part(c, id);
    forget(c, id);
    p->stored = stored;
    p->next = stored >= 0 ? stored : -1;
    if (!p->owned) return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->o.kafka->topic, id)->offset =
        stored >= 0 ? stored : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(kassign_handle(c->kc), l, SEEK_TIMEOUT_MS);
    if (e || l->elems[0].err) {
        log_error("cannot seek: stopping (a new run starts from the stored offsets)",
                  "partition=%" PRId32 " offset=%" PRId64 " err=%s", id, stored,
                  e ? rd_kafka_error_string(e) : rd_kafka_err2str(l->elems[0].err));
        c->failed = 1;
    }
    if (e) rd_kafka_error_destroy(e);
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- flushes --------------------------------------------------------------------------------- */

/* The offset moves of this flush: every owned partition consumed past its stored offset. */
static size_t collect_offsets(meter_t *c) {
    size_t n = 0;
    for (int32_t id = 0; id < c->nparts; id++) {
        const part_t *p = &c->parts[id];
        if (p->owned && p->next >= 0 && p->next != p->stored)
            c->offs[n++] = (store_offset_t){id, p->stored, p->next};
    }
    return n;
}

/* Room for the rows and dirty marks held now. */
static int reserve(meter_t *c) {
    size_t rows = rollup_rows(c->rollup) + 1, marks = marks_count(c->marks) + 1;
    if (rows > c->rows_cap) {
        store_row_t *r = realloc(c->rows, rows * sizeof *r);
        if (!r) return -1;
        c->rows = r;
        c->rows_cap = rows;
    }
    if (marks > c->dmarks_cap) {
        store_mark_t *m = realloc(c->dmarks, marks * sizeof *m);
        if (!m) return -1;
        c->dmarks = m;
        c->dmarks_cap = marks;
    }
    return 0;
}

static void committed(meter_t *c, size_t noffs, size_t nrows) {
    for (size_t i = 0; i < noffs; i++)
        c->parts[c->offs[i].partition].stored = c->offs[i].next;
    metric_add(&bstats_written, (int64_t)rollup_hits(c->rollup));
    metric_add(&bstats_rows_written, (int64_t)nrows);
    metric_add(&bstats_transactions, 1);
    metric_add(&bstats_tx_us_total, store_last_flush_us(c->store));
    rollup_clear(c->rollup);
    marks_settle(c->marks, -1);
    if (marks_tick(c->marks) % MARK_SWEEP_FLUSHES == 0) marks_evict(c->marks, MARK_IDLE_FLUSHES);
    metric_set(&bstats_pending, 0);
    metric_set(&bstats_marks, (int64_t)marks_count(c->marks));
    c->progress = 0;
}

/* Someone else moved these partitions' stored offsets: we lost them or were fenced. Their sums
 * were not written (the transaction rolled back) and must not be: drop them, start again from
 * what is stored. */
static int resolve_conflicts(meter_t *c, size_t n) {
    int64_t *stored = calloc(n + 1, sizeof *stored);
    char list[512];
    size_t o = 0;
    if (!stored) return -1;
    if (read_offsets(c, c->conflicts, n, stored) < 0) {
        free(stored);
        return -1;
    }
    list[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 24 < sizeof list)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%" PRId32 "@%" PRId64, i ? "," : "",
                                  c->conflicts[i], stored[i]);
        rewind_to(c, c->conflicts[i], stored[i]);
    }
    metric_add(&bstats_conflicts, (int64_t)n);
    log_warn("stored offsets moved by another consumer: those partitions' sums dropped, "
             "consuming again from the stored offsets",
             "partitions=%s", list);
    free(stored);
    return 0;
}

/* COMMIT's connection dropped: whether it landed is read from the offsets, per partition. */
static int resolve_unknown(meter_t *c, size_t noffs) {
    int32_t *ids = calloc(noffs + 1, sizeof *ids);
    int64_t *stored = calloc(noffs + 1, sizeof *stored);
    size_t landed = 0, lost = 0, moved = 0;
    int rc = -1;
    if (!ids || !stored) goto out;
    for (size_t i = 0; i < noffs; i++)
        ids[i] = c->offs[i].partition;
    if (read_offsets(c, ids, noffs, stored) < 0) goto out;
    for (size_t i = 0; i < noffs; i++) {
        const store_offset_t *o = &c->offs[i];
        if (stored[i] == o->next) { /* landed: the sums are in PostgreSQL */
            metric_add(&bstats_written, (int64_t)rollup_drop_partition(c->rollup, o->partition));
            marks_settle(c->marks, o->partition);
            c->parts[o->partition].stored = o->next;
            landed++;
        } else if (stored[i] == o->expected) { /* not landed: keep the sums, write them again */
            lost++;
        } else { /* neither: another consumer moved it */
            rewind_to(c, o->partition, stored[i]);
            metric_add(&bstats_conflicts, 1);
            moved++;
        }
    }
    metric_set(&bstats_pending, (int64_t)rollup_hits(c->rollup));
    log_info("COMMIT outcome resolved from the stored offsets",
             "landed=%zu not_landed=%zu moved_by_another=%zu", landed, lost, moved);
    rc = 0;
out:
    free(ids);
    free(stored);
    return rc;
}

int meter_flush(meter_t *c) {
    char err[1024], q[1100];
    while (!c->failed) {
        size_t noffs = collect_offsets(c), nconf = 0;
        if (noffs == 0) {
            c->progress = 0;
            return 0;
        }
        if (reserve(c) < 0) {
            log_error("out of memory", "%s", "");
            c->failed = 1;
            break;
        }
        store_batch_t b = {c->rows,   rollup_export(c->rollup, c->rows), c->offs, noffs,
                           c->dmarks, marks_dirty(c->marks, c->dmarks)};
        int rc = store_flush(c->store, &b, c->conflicts, &nconf, err, sizeof err);
        metric_set(&bstats_tx_us_last, store_last_flush_us(c->store));
        if (rc == STORE_OK) {
            meter_db_up(c);
            committed(c, noffs, b.nrows);
            return 0;
        }
        if (rc == STORE_CONFLICT) {
            meter_db_up(c);
            if (resolve_conflicts(c, nconf) < 0) break;
        } else if (rc == STORE_UNKNOWN) {
            metric_add(&bstats_commit_unknown, 1);
            log_warn("connection lost during COMMIT: reading the stored offsets to decide",
                     "err=%s", log_quote(err, q, sizeof q));
            if (resolve_unknown(c, noffs) < 0) break;
        } else if (meter_db_wait(c, rc, err) < 0) {
            break;
        }
    }
    return -1;
}
