#include "store_int.h"

#include "clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Arrays of one flush travel as text parameters; these are their SQL types, in order. */
static const char SQL_UPDATE_OFFSETS[] =
    "UPDATE billing_offsets o SET next_offset = v.next, updated_at = now()"
    " FROM unnest($3::int[], $4::bigint[], $5::bigint[]) AS v(part, expected, next)"
    " WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = v.part"
    " AND o.next_offset = v.expected RETURNING o.partition";
static const char SQL_INSERT_OFFSETS[] =
    "INSERT INTO billing_offsets (group_id, topic, partition, next_offset)"
    " SELECT $1, $2, v.part, v.next FROM unnest($3::int[], $4::bigint[]) AS v(part, next)"
    " ON CONFLICT DO NOTHING RETURNING partition";
/* Keys are unique within one flush (the rollup merged them): one upsert may not name a key
 * twice. */
static const char SQL_UPSERT_USAGE[] =
    "INSERT INTO usage_hourly (customer_id, hour, country, hits, bytes)"
    " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::numeric[], $5::numeric[])"
    " ON CONFLICT (customer_id, hour, country) DO UPDATE"
    " SET hits = usage_hourly.hits + EXCLUDED.hits, bytes = usage_hourly.bytes + EXCLUDED.bytes";
/* GREATEST: a mark only ever rises, even if a stale writer got this far (it cannot: its offset
 * compare-and-set fails first and rolls the transaction back). */
static const char SQL_UPSERT_MARKS[] =
    "INSERT INTO billing_replay_marks (topic, edge, src, partition, max_off)"
    " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[])"
    " ON CONFLICT (topic, edge, src, partition) DO UPDATE"
    " SET max_off = GREATEST(billing_replay_marks.max_off, EXCLUDED.max_off), updated_at = now()";
static const char SQL_READ_OFFSETS[] =
    "SELECT partition, next_offset FROM billing_offsets"
    " WHERE group_id = $1 AND topic = $2 AND partition = ANY ($3::int[])";
static const char SQL_READ_MARKS[] =
    "SELECT v.i, m.max_off"
    " FROM unnest($2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS v(edge, src, part, i)"
    " JOIN billing_replay_marks m ON m.topic = $1 AND m.edge = v.edge AND m.src = v.src"
    " AND m.partition = v.part";

/* ---- array literals ------------------------------------------------------------------------ */

static int buf_reserve(store_buf_t *b, size_t more) {
    if (b->n + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int store_buf_digits(store_buf_t *b, uint64_t u, int negative);

void store_buf_begin(store_buf_t *b) {
    b->n = 0;
    if (buf_reserve(b, 1) == 0) b->p[b->n++] = '{';
}

/* A separator unless this is the first element. */
static int buf_sep(store_buf_t *b) {
    if (!b->p || b->n == 0) return -1;
    if (b->p[b->n - 1] == '{') return 0;
    if (buf_reserve(b, 1) < 0) return -1;
    b->p[b->n++] = ',';
    return 0;
}

int store_buf_quoted(store_buf_t *b, const char *s) {
    size_t len = strlen(s);
    /* Worst case every byte escaped, plus the quotes. */
    if (buf_sep(b) < 0 || buf_reserve(b, 2 * len + 2) < 0) return -1;
    b->p[b->n++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') b->p[b->n++] = '\\';
        b->p[b->n++] = s[i];
    }
    b->p[b->n++] = '"';
    return 0;
}

int store_buf_int(store_buf_t *b, int64_t v) {
    return store_buf_digits(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

int store_buf_uint(store_buf_t *b, uint64_t v) {
    return store_buf_digits(b, v, 0);
}

static int store_buf_digits(store_buf_t *b, uint64_t u, int negative) {
    char d[24];
    size_t n = 0;
    /* by hand: snprintf was a measurable part of a large flush */
    do {
        d[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (negative) d[n++] = '-';
    if (buf_sep(b) < 0 || buf_reserve(b, n) < 0) return -1;
    while (n)
        b->p[b->n++] = d[--n];
    return 0;
}

int store_buf_end(store_buf_t *b) {
    if (!b->p || b->n == 0 || buf_reserve(b, 1) < 0) return -1;
    b->p[b->n++] = '}';
    b->p[b->n] = 0;
    return 0;
}

void store_buf_free(store_buf_t *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- connections ----------------------------------------------------------------------------- */

const char *store_conninfo(const char *opt_db) {
    if (opt_db) return opt_db;
    const char *env = getenv("DATABASE_URL");
    return env ? env : "";
}

/* libpq's message without its trailing newline, redacted. */
void store_pq_err(PGconn *c, const PGresult *res, const char *what, char *err, size_t errlen) {
    const char *m = res ? PQresultErrorMessage(res) : "";
    if (!m || !*m) m = c ? PQerrorMessage(c) : "out of memory";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    snprintf(err, errlen, "%s: %.*s", what, (int)n, m);
    store_redact(err);
}

int store_transient(PGconn *c, const PGresult *res) {
    if (!c || PQstatus(c) != CONNECTION_OK || !res) return 1;
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!st) return 1; /* an error libpq made up itself: the connection went */
    static const char *const classes[] = {"08", "53", "58"}; /* connection, resources, I/O */
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++)
        if (strncmp(st, classes[i], 2) == 0) return 1;
    /* serialization, deadlock, admin/crash shutdown, starting up, cancelled, lock timeout */
    static const char *const codes[] = {"40001", "40P01", "57P01", "57P02",
                                        "57P03", "57014", "55P03"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(st, codes[i]) == 0) return 1;
    return 0;
}

PGresult *store_exec_state(PGconn *c, const char *sql, int n, const char *const *vals,
                           ExecStatusType want, const char *what, int *transient, char *sqlstate,
                           char *err, size_t errlen) {
    PGresult *res = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (res && PQresultStatus(res) == want) return res;
    *transient = store_transient(c, res);
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(sqlstate, 6, "%s", st ? st : "");
    store_pq_err(c, res, what, err, errlen);
    PQclear(res);
    return NULL;
}

PGresult *store_exec(PGconn *c, const char *sql, int n, const char *const *vals,
                     ExecStatusType want, const char *what, int *transient, char *err,
                     size_t errlen) {
    char st[6];
    return store_exec_state(c, sql, n, vals, want, what, transient, st, err, errlen);
}

/* The session settings billing relies on, whatever the server's defaults are. */
static int session_setup(PGconn *c, const char *role, int *transient, char *err, size_t errlen) {
    PGresult *res = store_exec(c,
                               "SELECT set_config('TimeZone', 'UTC', false),"
                               " set_config('synchronous_commit', 'on', false),"
                               " set_config('client_min_messages', 'warning', false)",
                               0, NULL, PGRES_TUPLES_OK, "session set-up", transient, err, errlen);
    if (!res) return -1;
    PQclear(res);
    if (!role || !*role) return 0;
    const char *p[1] = {role};
    res = store_exec(c,
                     "SELECT count(*) FROM pg_roles WHERE rolname = $1"
                     " AND pg_has_role(session_user, oid, 'MEMBER')",
                     1, p, PGRES_TUPLES_OK, "role check", transient, err, errlen);
    if (!res) return -1;
    int member = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    if (!member) return 0;
    res = store_exec(c, "SELECT set_config('role', $1, false)", 1, p, PGRES_TUPLES_OK, "SET ROLE",
                     transient, err, errlen);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

static PGconn *connect_setup(const char *conninfo, const char *app_name, const char *role,
                             int *transient, char *err, size_t errlen) {
    *transient = 0;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        snprintf(err, errlen, "bad database connection string: %s", perr ? perr : "out of memory");
        PQfreemem(perr);
        store_redact(err);
        return NULL;
    }
    PQconninfoFree(opts);
    /* dbname is expanded as a conninfo string or URI; the rest are defaults it may override
     * (connect_timeout: a server that drops the packets is given up after 10 s, owner.c). */
    const char *keys[] = {"connect_timeout", "dbname", "fallback_application_name",
                          "client_encoding", NULL};
    const char *vals[] = {"10", conninfo, app_name, "UTF8", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        *transient = 1;
        store_pq_err(c, NULL, "cannot connect to PostgreSQL", err, errlen);
        PQfinish(c);
        return NULL;
    }
    if (session_setup(c, role, transient, err, errlen) < 0) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGconn *store_connect(const char *conninfo, const char *app_name, const char *role, char *err,
                      size_t errlen) {
    int transient;
    return connect_setup(conninfo, app_name, role, &transient, err, errlen);
}

/* ---- the store of `billing run` ----------------------------------------------------------------
 */

store_t *store_new(const char *conninfo, const char *role, const char *group, const char *topic) {
    store_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->conninfo = strdup(conninfo ? conninfo : "");
    s->role = strdup(role ? role : "");
    s->group = strdup(group);
    s->topic = strdup(topic);
    if (!s->conninfo || !s->role || !s->group || !s->topic) {
        store_free(s);
        return NULL;
    }
    return s;
}

void store_free(store_t *s) {
    if (!s) return;
    store_disconnect(s);
    for (int i = 0; i < STORE_ARRAYS; i++)
        store_buf_free(&s->a[i]);
    free(s->conninfo);
    free(s->role);
    free(s->group);
    free(s->topic);
    free(s);
}

void store_disconnect(store_t *s) {
    PQfinish(s->conn);
    s->conn = NULL;
}

int store_ensure(store_t *s, char *err, size_t errlen) {
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) return 0;
    store_disconnect(s);
    int transient;
    s->conn = connect_setup(s->conninfo, "billing run", s->role, &transient, err, errlen);
    if (s->conn) return 0;
    return transient ? STORE_RETRY : STORE_FATAL;
}

/* The outcome of a failed statement: transient ones drop a broken connection. */
static int failed(store_t *s, int transient) {
    if (!transient) return STORE_FATAL;
    if (PQstatus(s->conn) != CONNECTION_OK) store_disconnect(s);
    return STORE_RETRY;
}

int store_read_offsets(store_t *s, const int32_t *parts, size_t n, int64_t *out, char *err,
                       size_t errlen) {
    int rc = store_ensure(s, err, errlen), transient = 0;
    if (rc) return rc;
    store_buf_t *a = &s->a[0];
    store_buf_begin(a);
    for (size_t i = 0; i < n; i++) {
        out[i] = STORE_NO_OFFSET;
        if (store_buf_int(a, parts[i]) < 0) goto oom;
    }
    if (store_buf_end(a) < 0) goto oom;
    const char *p[3] = {s->group, s->topic, a->p};
    PGresult *res = store_exec(s->conn, SQL_READ_OFFSETS, 3, p, PGRES_TUPLES_OK,
                               "reading stored offsets", &transient, err, errlen);
    if (!res) return failed(s, transient);
    for (int r = 0; r < PQntuples(res); r++) {
        int32_t part = (int32_t)strtol(PQgetvalue(res, r, 0), NULL, 10);
        int64_t next = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        for (size_t i = 0; i < n; i++)
            if (parts[i] == part) out[i] = next;
    }
    PQclear(res);
    return STORE_OK;
oom:
    snprintf(err, errlen, "reading stored offsets: out of memory");
    return STORE_FATAL;
}

int store_read_marks(store_t *s, const store_mark_t *keys, size_t n, int64_t *out, char *err,
                     size_t errlen) {
    int rc = store_ensure(s, err, errlen), transient = 0;
    if (rc) return rc;
    store_buf_t *e = &s->a[0], *src = &s->a[1], *part = &s->a[2];
    store_buf_begin(e);
    store_buf_begin(src);
    store_buf_begin(part);
    for (size_t i = 0; i < n; i++) {
        out[i] = -1;
        if (store_buf_quoted(e, keys[i].edge) < 0 || store_buf_quoted(src, keys[i].src) < 0 ||
            store_buf_int(part, keys[i].partition) < 0)
            goto oom;
    }
    if (store_buf_end(e) < 0 || store_buf_end(src) < 0 || store_buf_end(part) < 0) goto oom;
    const char *p[4] = {s->topic, e->p, src->p, part->p};
    PGresult *res = store_exec(s->conn, SQL_READ_MARKS, 4, p, PGRES_TUPLES_OK,
                               "reading replay marks", &transient, err, errlen);
    if (!res) return failed(s, transient);
    for (int r = 0; r < PQntuples(res); r++) {
        long long i = strtoll(PQgetvalue(res, r, 0), NULL, 10); /* WITH ORDINALITY: from 1 */
        if (i >= 1 && (size_t)i <= n) out[i - 1] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
    }
    PQclear(res);
    return STORE_OK;
oom:
    snprintf(err, errlen, "reading replay marks: out of memory");
    return STORE_FATAL;
}

int64_t store_last_flush_us(const store_t *s) {
    return s->last_flush_us;
}

void store_set_side(store_t *s, store_side_fn fn, void *ctx) {
    s->side = fn;
    s->side_ctx = ctx;
}

size_t store_take_held(store_t *s) {
    size_t n = s->held;
    s->held = 0;
    return n;
}

/* ---- the flush transaction ------------------------------------------------------------------ */

/* Moves every partition's offset with a compare-and-set: UPDATE where a row exists (only from
 * the expected value), INSERT ... ON CONFLICT DO NOTHING where none did. A partition that no
 * statement returned was not the expected one: it goes to conflicts. 0, or -1 on an SQL error. */
static int flush_offsets(store_t *s, const store_batch_t *b, int32_t *conflicts, size_t *nconf,
                         int *transient, char *err, size_t errlen) {
    int rc = -1;
    PGresult *res = NULL;
    char *done = calloc(b->noffsets + 1, 1);
    if (!done) goto oom;
    for (int insert = 0; insert < 2; insert++) {
        store_buf_t *part = &s->a[0], *exp = &s->a[1], *next = &s->a[2];
        size_t count = 0;
        store_buf_begin(part);
        store_buf_begin(exp);
        store_buf_begin(next);
        for (size_t i = 0; i < b->noffsets; i++) {
            const store_offset_t *o = &b->offsets[i];
            if (insert != (o->expected == STORE_NO_OFFSET)) continue;
            count++;
            if (store_buf_int(part, o->partition) < 0 || store_buf_int(exp, o->expected) < 0 ||
                store_buf_int(next, o->next) < 0)
                goto oom;
        }
        if (count == 0) continue;
        if (store_buf_end(part) < 0 || store_buf_end(exp) < 0 || store_buf_end(next) < 0) goto oom;
        const char *upd[5] = {s->group, s->topic, part->p, exp->p, next->p};
        const char *ins[4] = {s->group, s->topic, part->p, next->p};
        res = insert ? store_exec(s->conn, SQL_INSERT_OFFSETS, 4, ins, PGRES_TUPLES_OK,
                                  "inserting offsets", transient, err, errlen)
                     : store_exec(s->conn, SQL_UPDATE_OFFSETS, 5, upd, PGRES_TUPLES_OK,
                                  "moving offsets", transient, err, errlen);
        if (!res) goto out;
        for (int r = 0; r < PQntuples(res); r++) {
            int32_t p = (int32_t)strtol(PQgetvalue(res, r, 0), NULL, 10);
            for (size_t i = 0; i < b->noffsets; i++)
                if (b->offsets[i].partition == p) done[i] = 1;
        }
        PQclear(res);
        res = NULL;
    }
    for (size_t i = 0; i < b->noffsets; i++)
        if (!done[i]) conflicts[(*nconf)++] = b->offsets[i].partition;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "flush: out of memory");
out:
    PQclear(res);
    free(done);
    return rc;
}

/* "2026-11-01 00:00:00+00": unambiguous whatever the session's DateStyle and TimeZone. */
void store_hour_text(int64_t hour_s, char *out, size_t cap) {
    /* Days to a civil date (H. Hinnant's days_from_civil inverted), integers only; by hand
     * rather than gmtime_r + snprintf, which were a measurable part of a large flush. */
    int64_t days = hour_s >= 0 ? hour_s / 86400 : -((-hour_s + 86399) / 86400);
    int hour = (int)((hour_s - days * 86400) / 3600);
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1), month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999 || cap < 23) { /* beyond what billing accepts: keep it right */
        snprintf(out, cap, "%04" PRId64 "-%02d-%02d %02d:00:00+00", year, month, day, hour);
        return;
    }
    char *p = out;
    int y = (int)year;
    *p++ = (char)('0' + y / 1000), *p++ = (char)('0' + y / 100 % 10);
    *p++ = (char)('0' + y / 10 % 10), *p++ = (char)('0' + y % 10), *p++ = '-';
    *p++ = (char)('0' + month / 10), *p++ = (char)('0' + month % 10), *p++ = '-';
    *p++ = (char)('0' + day / 10), *p++ = (char)('0' + day % 10), *p++ = ' ';
    *p++ = (char)('0' + hour / 10), *p++ = (char)('0' + hour % 10);
    memcpy(p, ":00:00+00", 10);
}

int store_flush_usage(store_t *s, const store_batch_t *b, int *transient, char *err,
                      size_t errlen) {
    if (b->nrows == 0) return 0;
    store_buf_t *cust = &s->a[0], *hour = &s->a[1], *country = &s->a[2], *hits = &s->a[3],
                *bytes = &s->a[4];
    for (int i = 0; i < 5; i++)
        store_buf_begin(&s->a[i]);
    for (size_t i = 0; i < b->nrows; i++) {
        const store_row_t *r = &b->rows[i];
        char h[40];
        store_hour_text(r->hour_s, h, sizeof h);
        if (store_buf_quoted(cust, r->customer) < 0 || store_buf_quoted(hour, h) < 0 ||
            store_buf_quoted(country, r->country) < 0 || store_buf_uint(hits, r->hits) < 0 ||
            store_buf_uint(bytes, r->bytes) < 0) {
            snprintf(err, errlen, "flush: out of memory");
            return -1;
        }
    }
    for (int i = 0; i < 5; i++)
        if (store_buf_end(&s->a[i]) < 0) {
            snprintf(err, errlen, "flush: out of memory");
            return -1;
        }
    const char *p[5] = {cust->p, hour->p, country->p, hits->p, bytes->p};
    PGresult *res =
        store_exec_state(s->conn, SQL_UPSERT_USAGE, 5, p, PGRES_COMMAND_OK, "writing usage_hourly",
                         transient, s->last_sqlstate, err, errlen);
    PQclear(res);
    return res ? 0 : -1;
}

static int flush_marks(store_t *s, const store_batch_t *b, int *transient, char *err,
                       size_t errlen) {
    if (b->nmarks == 0) return 0;
    store_buf_t *e = &s->a[0], *src = &s->a[1], *part = &s->a[2], *off = &s->a[3];
    for (int i = 0; i < 4; i++)
        store_buf_begin(&s->a[i]);
    for (size_t i = 0; i < b->nmarks; i++) {
        const store_mark_t *m = &b->marks[i];
        if (store_buf_quoted(e, m->edge) < 0 || store_buf_quoted(src, m->src) < 0 ||
            store_buf_int(part, m->partition) < 0 || store_buf_int(off, m->max_off) < 0) {
            snprintf(err, errlen, "flush: out of memory");
            return -1;
        }
    }
    for (int i = 0; i < 4; i++)
        if (store_buf_end(&s->a[i]) < 0) {
            snprintf(err, errlen, "flush: out of memory");
            return -1;
        }
    const char *p[5] = {s->topic, e->p, src->p, part->p, off->p};
    PGresult *res = store_exec(s->conn, SQL_UPSERT_MARKS, 5, p, PGRES_COMMAND_OK,
                               "writing replay marks", transient, err, errlen);
    PQclear(res);
    return res ? 0 : -1;
}

/* Ends a transaction that failed before COMMIT. */
static void rollback(store_t *s) {
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int flush_tx(store_t *s, const store_batch_t *b, const store_side_t *side,
                    int32_t *conflicts, size_t *nconf, char *err, size_t errlen) {
    int transient = 0;
    PGresult *res =
        store_exec(s->conn, "BEGIN", 0, NULL, PGRES_COMMAND_OK, "BEGIN", &transient, err, errlen);
    if (!res) return failed(s, transient);
    PQclear(res);
    /* Offsets first: a conflict stops the flush before any usage is written. Two writers of one
     * partition serialize on its row lock; the second then finds the offset moved. */
    if (flush_offsets(s, b, conflicts, nconf, &transient, err, errlen) < 0) goto fail;
    if (*nconf) {
        rollback(s);
        snprintf(err, errlen, "stored offsets of %zu partition(s) moved: not written", *nconf);
        return STORE_CONFLICT;
    }
    if (store_flush_usage_safely(s, b, &transient, err, errlen) < 0) goto fail;
    if (flush_marks(s, b, &transient, err, errlen) < 0) goto fail;
    if (store_flush_side(s, side, &transient, err, errlen) < 0) goto fail;
    res = PQexec(s->conn, "COMMIT");
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(res), "COMMIT")) {
        PQclear(res);
        return STORE_OK;
    }
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK || !res ||
        !PQresultErrorField(res, PG_DIAG_SQLSTATE)) {
        /* The connection went while COMMIT was on its way: it may have landed. */
        store_pq_err(s->conn, res, "COMMIT", err, errlen);
        PQclear(res);
        store_disconnect(s);
        return STORE_UNKNOWN;
    }
    /* The server answered COMMIT with an error: it rolled back. */
    transient = store_transient(s->conn, res);
    store_pq_err(s->conn, res, "COMMIT", err, errlen);
    PQclear(res);
    return failed(s, transient);
fail:
    rollback(s);
    return failed(s, transient);
}

int store_flush(store_t *s, const store_batch_t *b, int32_t *conflicts, size_t *nconflicts,
                char *err, size_t errlen) {
    int64_t t0 = clock_mono_us();
    *nconflicts = 0;
    s->held = 0;
    store_side_t side = {0};
    if (s->side && s->side(s->side_ctx, &side) < 0) {
        snprintf(err, errlen, "flush: out of memory");
        return STORE_FATAL;
    }
    int rc = store_ensure(s, err, errlen);
    if (rc == 0) rc = flush_tx(s, b, &side, conflicts, nconflicts, err, errlen);
    s->last_flush_us = clock_mono_us() - t0;
    return rc;
}
