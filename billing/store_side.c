/* store_side.c: the parts of the flush transaction beside offsets and marks: usage with its
 * per-row fallback, rejects, watermarks, edge months, the topic's partition count (store.h). */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One reject per Kafka position, ever: a flush that is replayed after an unknown COMMIT, or a
 * record consumed again after a conflict, adds nothing twice. */
static const char SQL_REJECTS[] =
    "INSERT INTO billing_rejects (topic, kafka_partition, kafka_offset, reason, record, kafka_ts,"
    " record_bytes, record_altered)"
    " SELECT $1, v.p, v.o, v.r, v.t,"
    " CASE WHEN v.ts >= 0 THEN timestamptz 'epoch' + v.ts * interval '1 millisecond' END, v.b, v.a"
    " FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::int[],"
    " $8::bool[]) AS v(p, o, r, t, ts, b, a)"
    " ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING";
/* GREATEST: a watermark only rises. */
static const char SQL_WATERMARKS[] =
    "INSERT INTO billing_edge_watermarks (topic, edge, kafka_partition, wm_ms)"
    " SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])"
    " ON CONFLICT (topic, edge, kafka_partition) DO UPDATE"
    " SET wm_ms = GREATEST(billing_edge_watermarks.wm_ms, EXCLUDED.wm_ms), updated_at = now()";
static const char SQL_EDGE_MONTHS[] =
    "INSERT INTO billing_edge_months (edge, month, hits)"
    " SELECT v.e, make_date(v.m / 12, v.m % 12 + 1, 1), v.h"
    " FROM unnest($1::text[], $2::int[], $3::numeric[]) AS v(e, m, h)"
    " ON CONFLICT (edge, month) DO UPDATE SET hits = billing_edge_months.hits + EXCLUDED.hits";
static const char SQL_TOPIC[] =
    "INSERT INTO billing_topics (topic, partitions) VALUES ($1, $2::int)"
    " ON CONFLICT (topic) DO UPDATE SET partitions = EXCLUDED.partitions, updated_at = now()"
    " WHERE billing_topics.partitions <> EXCLUDED.partitions";
static const char SQL_HOLD[] =
    "INSERT INTO billing_usage_held (customer_id, hour, country, hits, bytes, error)"
    " VALUES ($1, $2::timestamptz, $3, $4::numeric, $5::numeric, $6)";

/* A statement that must succeed, without result rows. */
static int run(store_t *s, const char *sql, int n, const char *const *p, const char *what,
               int *transient, char *err, size_t errlen) {
    PGresult *res = store_exec(s->conn, sql, n, p, PGRES_COMMAND_OK, what, transient, err, errlen);
    PQclear(res);
    return res ? 0 : -1;
}

/* Errors of the data rather than of the database: the value, a constraint, a trigger's RAISE,
 * a program limit. Another attempt with the same row fails the same way. */
static int data_error(const char *sqlstate) {
    static const char *const classes[] = {"22", "23", "P0", "54"};
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++)
        if (!strncmp(sqlstate, classes[i], 2)) return 1;
    return 0;
}

/* One row under its own savepoint; when its data is refused, into billing_usage_held with the
 * error instead. */
static int one_row(store_t *s, const store_row_t *row, int *transient, char *err, size_t errlen) {
    store_batch_t one = {.rows = row, .nrows = 1};
    char rerr[1024], hour[40], hits[24], bytes[24];
    if (run(s, "SAVEPOINT billing_row", 0, NULL, "SAVEPOINT", transient, err, errlen) < 0)
        return -1;
    if (store_flush_usage(s, &one, transient, rerr, sizeof rerr) == 0)
        return run(s, "RELEASE SAVEPOINT billing_row", 0, NULL, "RELEASE", transient, err, errlen);
    if (*transient || !data_error(s->last_sqlstate)) {
        snprintf(err, errlen, "%s", rerr);
        return -1;
    }
    if (run(s, "ROLLBACK TO SAVEPOINT billing_row", 0, NULL, "ROLLBACK TO", transient, err,
            errlen) < 0)
        return -1;
    store_hour_text(row->hour_s, hour, sizeof hour);
    snprintf(hits, sizeof hits, "%" PRIu64, row->hits);
    snprintf(bytes, sizeof bytes, "%" PRIu64, row->bytes);
    const char *p[6] = {row->customer, hour, row->country, hits, bytes, rerr};
    if (run(s, SQL_HOLD, 6, p, "holding a usage row back", transient, err, errlen) < 0) return -1;
    s->held++;
    return 0;
}

int store_flush_usage_safely(store_t *s, const store_batch_t *b, int *transient, char *err,
                             size_t errlen) {
    if (b->nrows == 0) return 0;
    if (run(s, "SAVEPOINT billing_usage", 0, NULL, "SAVEPOINT", transient, err, errlen) < 0)
        return -1;
    if (store_flush_usage(s, b, transient, err, errlen) == 0)
        return run(s, "RELEASE SAVEPOINT billing_usage", 0, NULL, "RELEASE", transient, err,
                   errlen);
    if (*transient || !data_error(s->last_sqlstate)) return -1; /* err: the upsert's error */
    char e2[256];
    if (run(s, "ROLLBACK TO SAVEPOINT billing_usage", 0, NULL, "ROLLBACK TO", transient, e2,
            sizeof e2) < 0)
        return -1;
    /* Some row's data stops the upsert: write them one by one, hold back those refused. */
    for (size_t i = 0; i < b->nrows; i++)
        if (one_row(s, &b->rows[i], transient, err, errlen) < 0) return -1;
    return 0;
}

static int flush_rejects(store_t *s, const store_side_t *b, int *transient, char *err,
                         size_t errlen) {
    if (b->nrejects == 0) return 0;
    store_buf_t *a = s->a;
    int bad = 0;
    for (int i = 0; i < 7; i++)
        store_buf_begin(&a[i]);
    for (size_t i = 0; i < b->nrejects; i++) {
        const store_reject_t *r = &b->rejects[i];
        bad |= store_buf_int(&a[0], r->partition) | store_buf_int(&a[1], r->offset) |
               store_buf_quoted(&a[2], r->reason) | store_buf_quoted(&a[3], r->record) |
               store_buf_int(&a[4], r->kafka_ts_ms) | store_buf_uint(&a[5], r->record_bytes) |
               store_buf_quoted(&a[6], r->altered ? "t" : "f");
    }
    for (int i = 0; i < 7; i++)
        bad |= store_buf_end(&a[i]);
    if (bad) {
        snprintf(err, errlen, "flush: out of memory");
        return -1;
    }
    const char *p[8] = {s->topic, a[0].p, a[1].p, a[2].p, a[3].p, a[4].p, a[5].p, a[6].p};
    return run(s, SQL_REJECTS, 8, p, "writing billing_rejects", transient, err, errlen);
}

static int flush_watermarks(store_t *s, const store_side_t *b, int *transient, char *err,
                            size_t errlen) {
    if (b->nwatermarks == 0) return 0;
    store_buf_t *a = s->a;
    int bad = 0;
    for (int i = 0; i < 3; i++)
        store_buf_begin(&a[i]);
    for (size_t i = 0; i < b->nwatermarks; i++) {
        const store_watermark_t *w = &b->watermarks[i];
        bad |= store_buf_quoted(&a[0], w->edge) | store_buf_int(&a[1], w->partition) |
               store_buf_int(&a[2], w->wm_ms);
    }
    for (int i = 0; i < 3; i++)
        bad |= store_buf_end(&a[i]);
    if (bad) {
        snprintf(err, errlen, "flush: out of memory");
        return -1;
    }
    const char *p[4] = {s->topic, a[0].p, a[1].p, a[2].p};
    return run(s, SQL_WATERMARKS, 4, p, "writing billing_edge_watermarks", transient, err, errlen);
}

static int flush_edge_months(store_t *s, const store_side_t *b, int *transient, char *err,
                             size_t errlen) {
    if (b->nedge_months == 0) return 0;
    store_buf_t *a = s->a;
    int bad = 0;
    for (int i = 0; i < 3; i++)
        store_buf_begin(&a[i]);
    for (size_t i = 0; i < b->nedge_months; i++) {
        const store_edge_month_t *m = &b->edge_months[i];
        bad |= store_buf_quoted(&a[0], m->edge) | store_buf_int(&a[1], m->month) |
               store_buf_uint(&a[2], m->hits);
    }
    for (int i = 0; i < 3; i++)
        bad |= store_buf_end(&a[i]);
    if (bad) {
        snprintf(err, errlen, "flush: out of memory");
        return -1;
    }
    const char *p[3] = {a[0].p, a[1].p, a[2].p};
    return run(s, SQL_EDGE_MONTHS, 3, p, "writing billing_edge_months", transient, err, errlen);
}

int store_topic_partitions(store_t *s, int32_t partitions, char *err, size_t errlen) {
    int rc = store_ensure(s, err, errlen), transient = 0;
    if (rc) return rc;
    char n[16];
    snprintf(n, sizeof n, "%" PRId32, partitions);
    const char *p[2] = {s->topic, n};
    if (run(s, SQL_TOPIC, 2, p, "writing billing_topics", &transient, err, errlen) == 0)
        return STORE_OK;
    if (PQstatus(s->conn) != CONNECTION_OK) store_disconnect(s);
    return transient ? STORE_RETRY : STORE_FATAL;
}

int store_flush_side(store_t *s, const store_side_t *b, int *transient, char *err, size_t errlen) {
    if (flush_rejects(s, b, transient, err, errlen) < 0 ||
        flush_watermarks(s, b, transient, err, errlen) < 0 ||
        flush_edge_months(s, b, transient, err, errlen) < 0)
        return -1;
    return 0;
}
