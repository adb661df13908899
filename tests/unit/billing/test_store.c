/* Unit tests of store.c and migrate.c against a real PostgreSQL: a throwaway server started by
 * pgtmp.sh (beside this file) for the run, migrated with billing's own migrations. What billing's
 * exactly-once rests on is tested here one behaviour at a time: the flush is one transaction,
 * offsets move only from the expected value (a stale writer writes nothing), a COMMIT lost with
 * its connection is reported as unknown (never as failed), the session is set up as billing
 * needs, and it runs with the writer role's rights only. */
#include "../../../billing/migrate.h"
#include "../../../billing/store.h"

#include <check.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char pgdir[256];    /* the server's directory (data, socket) */
static char conninfo[512]; /* as superuser postgres, database test */

/* ---- helpers -------------------------------------------------------------------------------- */

static PGconn *admin(void) {
    char err[512];
    PGconn *c = store_connect(conninfo, "test_store", NULL, err, sizeof err);
    ck_assert_msg(c != NULL, "connect: %s", err);
    return c;
}

static void sql(PGconn *c, const char *q) {
    PGresult *r = PQexec(c, q);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
}

/* The single value of a query, as text (copied into a static buffer). */
static const char *value(PGconn *c, const char *q) {
    static char v[512];
    PGresult *r = PQexec(c, q);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", q,
                  PQresultErrorMessage(r));
    snprintf(v, sizeof v, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void setup(void) {
    PGconn *c = admin();
    sql(c, "TRUNCATE usage_hourly, billing_offsets, billing_replay_marks, billing_usage_held");
    PQfinish(c);
}

static store_t *writer(const char *group) {
    store_t *s = store_new(conninfo, STORE_WRITER_ROLE, group, "hits");
    ck_assert_ptr_nonnull(s);
    return s;
}

/* 2026-11-01T00:00Z */
#define NOV1 1793491200LL

/* ---- migrations ------------------------------------------------------------------------------ */

START_TEST(test_migrations_run_again_apply_nothing) {
    char dir[4096], err[512];
    ck_assert_int_eq(migrate_find_dir(NULL, dir, sizeof dir, err, sizeof err), 0);
    migration_t *v;
    size_t n;
    ck_assert_int_eq(migrate_list(dir, &v, &n, err, sizeof err), 0);
    ck_assert_uint_ge(n, 3);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(v[i - 1].version, v[i].version);
    free(v);
    PGconn *c = admin();
    ck_assert_int_eq(migrate_apply(c, dir, NULL, NULL, err, sizeof err), 0);
    char want[32];
    snprintf(want, sizeof want, "%zu", n);
    ck_assert_str_eq(value(c, "SELECT count(*) FROM schema_migrations"), want);
    PQfinish(c);
}
END_TEST

/* ---- sessions -------------------------------------------------------------------------------- */

START_TEST(test_session_runs_as_the_writer_role_with_synchronous_commit_in_utc) {
    char err[512];
    PGconn *c = store_connect(conninfo, "t", STORE_WRITER_ROLE, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_str_eq(value(c, "SELECT current_user"), "billing_writer");
    ck_assert_str_eq(value(c, "SELECT session_user"), "postgres");
    ck_assert_str_eq(value(c, "SHOW synchronous_commit"), "on");
    ck_assert_str_eq(value(c, "SHOW TimeZone"), "UTC");
    ck_assert_str_eq(value(c, "SHOW client_encoding"), "UTF8");
    /* the writer may not touch what finance owns */
    PGresult *r = PQexec(c, "INSERT INTO customers VALUES ('w', 'w', NULL)");
    ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501"); /* insufficient priv. */
    PQclear(r);
    PQfinish(c);
    c = store_connect(conninfo, "t", "", err, sizeof err);
    ck_assert_str_eq(value(c, "SELECT current_user"), "postgres");
    PQfinish(c);
}
END_TEST

START_TEST(test_unreachable_server_is_retry_and_bad_conninfo_fatal) {
    char err[512];
    store_t *s = store_new("host=/nonexistent/dir dbname=x connect_timeout=2", "", "g", "hits");
    ck_assert_int_eq(store_ensure(s, err, sizeof err), STORE_RETRY);
    store_free(s);
    s = store_new("host=x port", "", "g", "hits");
    ck_assert_int_eq(store_ensure(s, err, sizeof err), STORE_FATAL);
    store_free(s);
}
END_TEST

/* ---- flushes --------------------------------------------------------------------------------- */

static int flush(store_t *s, const store_row_t *rows, size_t nrows, const store_offset_t *offs,
                 size_t noffs, const store_mark_t *marks, size_t nmarks, int32_t *conflicts,
                 size_t *nconf) {
    char err[512];
    store_batch_t b = {rows, nrows, offs, noffs, marks, nmarks};
    int rc = store_flush(s, &b, conflicts, nconf, err, sizeof err);
    if (rc != STORE_OK && rc != STORE_CONFLICT) fprintf(stderr, "flush: %d %s\n", rc, err);
    return rc;
}

START_TEST(test_flush_writes_usage_offsets_and_marks_together) {
    store_t *s = writer("g1");
    store_row_t rows[] = {{"acme", NOV1 - 3600, "US", 3, 300, 0}, {"acme", NOV1, "US", 1, 7, 0}};
    store_offset_t offs[] = {{0, STORE_NO_OFFSET, 120}, {5, STORE_NO_OFFSET, 9}};
    store_mark_t marks[] = {{"e1", "s1", 0, 4400}, {"e1", "s1", 5, 80}};
    int32_t conf[2];
    size_t nconf;
    ck_assert_int_eq(flush(s, rows, 2, offs, 2, marks, 2, conf, &nconf), STORE_OK);
    PGconn *c = admin();
    ck_assert_str_eq(value(c, "SELECT string_agg(customer_id || ' ' || to_char(hour AT TIME ZONE "
                              "'UTC', 'YYYY-MM-DD HH24') || ' ' || country || ' ' || hits || ' ' "
                              "|| bytes, ',' ORDER BY hour) FROM usage_hourly"),
                     "acme 2026-10-31 23 US 3 300,acme 2026-11-01 00 US 1 7");
    PQfinish(c);
    int32_t parts[] = {0, 5, 7};
    int64_t got[3];
    char err[512];
    ck_assert_int_eq(store_read_offsets(s, parts, 3, got, err, sizeof err), STORE_OK);
    ck_assert_int_eq(got[0], 120);
    ck_assert_int_eq(got[1], 9);
    ck_assert_int_eq(got[2], STORE_NO_OFFSET);
    store_mark_t keys[] = {{"e1", "s1", 5, 0}, {"e2", "s1", 0, 0}, {"e1", "s1", 0, 0}};
    int64_t m[3];
    ck_assert_int_eq(store_read_marks(s, keys, 3, m, err, sizeof err), STORE_OK);
    ck_assert_int_eq(m[0], 80);
    ck_assert_int_eq(m[1], -1);
    ck_assert_int_eq(m[2], 4400);
    store_free(s);
}
END_TEST

START_TEST(test_flush_adds_to_rows_already_there) {
    store_t *s = writer("g1");
    store_row_t r1[] = {{"acme", NOV1, "DE", 2, 20, 0}};
    store_offset_t o1[] = {{3, STORE_NO_OFFSET, 10}};
    int32_t conf[1];
    size_t nconf;
    ck_assert_int_eq(flush(s, r1, 1, o1, 1, NULL, 0, conf, &nconf), STORE_OK);
    store_row_t r2[] = {{"acme", NOV1, "DE", 5, 50, 0}};
    store_offset_t o2[] = {{3, 10, 25}};
    ck_assert_int_eq(flush(s, r2, 1, o2, 1, NULL, 0, conf, &nconf), STORE_OK);
    PGconn *c = admin();
    ck_assert_str_eq(value(c, "SELECT hits || '/' || bytes FROM usage_hourly"), "7/70");
    ck_assert_str_eq(value(c, "SELECT next_offset FROM billing_offsets WHERE partition = 3"), "25");
    PQfinish(c);
    store_free(s);
}
END_TEST

/* The heart of it: a consumer whose expected offset is stale writes nothing at all. */
START_TEST(test_stale_expected_offset_conflicts_and_writes_nothing) {
    store_t *a = writer("g1"), *b = writer("g1");
    int32_t conf[2];
    size_t nconf;
    store_row_t ra[] = {{"acme", NOV1, "US", 10, 1000, 0}};
    store_offset_t oa[] = {{0, STORE_NO_OFFSET, 100}, {1, STORE_NO_OFFSET, 50}};
    ck_assert_int_eq(flush(a, ra, 1, oa, 2, NULL, 0, conf, &nconf), STORE_OK);
    /* b read the offsets before a wrote: partition 0 from "no row" (insert path) */
    store_row_t rb[] = {{"acme", NOV1, "US", 4, 400, 0}, {"globex", NOV1, "FR", 1, 1, 0}};
    store_offset_t ob[] = {{0, STORE_NO_OFFSET, 80}, {2, STORE_NO_OFFSET, 5}};
    store_mark_t mb[] = {{"e", "s", 0, 999}};
    ck_assert_int_eq(flush(b, rb, 2, ob, 2, mb, 1, conf, &nconf), STORE_CONFLICT);
    ck_assert_uint_eq(nconf, 1);
    ck_assert_int_eq(conf[0], 0);
    /* ... and from an old value (update path), beside a partition that is fine */
    store_offset_t ob2[] = {{1, 20, 60}, {2, STORE_NO_OFFSET, 5}};
    ck_assert_int_eq(flush(b, rb, 2, ob2, 2, mb, 1, conf, &nconf), STORE_CONFLICT);
    ck_assert_uint_eq(nconf, 1);
    ck_assert_int_eq(conf[0], 1);
    PGconn *c = admin();
    ck_assert_str_eq(value(c, "SELECT sum(hits) || '/' || sum(bytes) FROM usage_hourly"),
                     "10/1000");
    ck_assert_str_eq(value(c, "SELECT string_agg(partition || ':' || next_offset, ',' ORDER BY "
                              "partition) FROM billing_offsets"),
                     "0:100,1:50");
    ck_assert_str_eq(value(c, "SELECT count(*) FROM billing_replay_marks"), "0");
    PQfinish(c);
    /* with the right expected values b writes */
    store_offset_t ob3[] = {{0, 100, 180}, {2, STORE_NO_OFFSET, 5}};
    ck_assert_int_eq(flush(b, rb, 2, ob3, 2, mb, 1, conf, &nconf), STORE_OK);
    store_free(a);
    store_free(b);
}
END_TEST

START_TEST(test_of_two_writers_from_one_offset_only_the_first_writes) {
    store_t *a = writer("g1"), *b = writer("g1");
    int32_t conf[1];
    size_t nconf;
    store_offset_t o0[] = {{4, STORE_NO_OFFSET, 100}};
    ck_assert_int_eq(flush(a, NULL, 0, o0, 1, NULL, 0, conf, &nconf), STORE_OK);
    store_row_t r[] = {{"acme", NOV1, "US", 1, 1, 0}};
    store_offset_t oa[] = {{4, 100, 150}}, ob[] = {{4, 100, 170}};
    ck_assert_int_eq(flush(a, r, 1, oa, 1, NULL, 0, conf, &nconf), STORE_OK);
    ck_assert_int_eq(flush(b, r, 1, ob, 1, NULL, 0, conf, &nconf), STORE_CONFLICT);
    PGconn *c = admin();
    ck_assert_str_eq(value(c, "SELECT sum(hits) FROM usage_hourly"), "1");
    ck_assert_str_eq(value(c, "SELECT next_offset FROM billing_offsets"), "150");
    PQfinish(c);
    store_free(a);
    store_free(b);
}
END_TEST

START_TEST(test_groups_keep_separate_offsets) {
    store_t *a = writer("g1"), *b = writer("g2");
    int32_t conf[1];
    size_t nconf;
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 10}};
    ck_assert_int_eq(flush(a, NULL, 0, o, 1, NULL, 0, conf, &nconf), STORE_OK);
    ck_assert_int_eq(flush(b, NULL, 0, o, 1, NULL, 0, conf, &nconf), STORE_OK);
    store_free(a);
    store_free(b);
}
END_TEST

START_TEST(test_marks_only_rise) {
    store_t *s = writer("g1");
    int32_t conf[1];
    size_t nconf;
    char err[512];
    store_offset_t o1[] = {{0, STORE_NO_OFFSET, 1}}, o2[] = {{0, 1, 2}};
    store_mark_t m1[] = {{"e", "s", 0, 500}}, m2[] = {{"e", "s", 0, 300}};
    ck_assert_int_eq(flush(s, NULL, 0, o1, 1, m1, 1, conf, &nconf), STORE_OK);
    ck_assert_int_eq(flush(s, NULL, 0, o2, 1, m2, 1, conf, &nconf), STORE_OK);
    int64_t got;
    ck_assert_int_eq(store_read_marks(s, m1, 1, &got, err, sizeof err), STORE_OK);
    ck_assert_int_eq(got, 500);
    store_free(s);
}
END_TEST

START_TEST(test_any_customer_text_is_stored_exactly) {
    store_t *s = writer("g1");
    const char *odd = "o'dd \"cust\", {1} \\N NULL caf\xc3\xa9";
    store_row_t r[] = {{odd, NOV1, "ZZ", 1, 2, 0}};
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 1}};
    store_mark_t m[] = {{"ed\"ge", "sr,c{}", 0, 1}};
    int32_t conf[1];
    size_t nconf;
    ck_assert_int_eq(flush(s, r, 1, o, 1, m, 1, conf, &nconf), STORE_OK);
    PGconn *c = admin();
    ck_assert_str_eq(value(c, "SELECT customer_id FROM usage_hourly"), odd);
    ck_assert_str_eq(value(c, "SELECT edge || src FROM billing_replay_marks"), "ed\"gesr,c{}");
    PQfinish(c);
    store_free(s);
}
END_TEST

START_TEST(test_hours_are_stored_exactly_from_1970_to_9999) {
    /* 1970-01-01T00, 2000-02-29T23, 2024-02-29T12, 2026-10-31T23, 2100-03-01T00, 9999-12-31T23 */
    static const int64_t hours[] = {0, 951865200, 1709208000, 1793487600, 4107542400, 253402297200};
    enum { N = sizeof hours / sizeof *hours };
    store_row_t r[N];
    for (int i = 0; i < N; i++)
        r[i] = (store_row_t){"acme", hours[i], "US", 1, 1, 0};
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 1}};
    int32_t conf[1];
    size_t nconf;
    store_t *s = writer("g1");
    ck_assert_int_eq(flush(s, r, N, o, 1, NULL, 0, conf, &nconf), STORE_OK);
    store_free(s);
    PGconn *c = admin();
    ck_assert_str_eq(value(c, "SELECT string_agg(extract(epoch FROM hour)::bigint::text, ','"
                              " ORDER BY hour) FROM usage_hourly"),
                     "0,951865200,1709208000,1793487600,4107542400,253402297200");
    PQfinish(c);
}
END_TEST

/* A COMMIT whose connection is gone: the server ends the session while committing (a deferred
 * trigger terminates its own backend), so the client cannot know the outcome. store_flush must
 * say "unknown", and the stored offset then tells: here, not landed. */
START_TEST(test_commit_lost_with_its_connection_is_unknown_not_failed) {
    PGconn *c = admin();
    sql(c, "CREATE OR REPLACE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$"
           " BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$");
    sql(c, "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT OR UPDATE ON billing_offsets"
           " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die_at_commit()");
    store_t *s = store_new(conninfo, "", "g1", "hits"); /* as postgres: may end itself */
    store_row_t r[] = {{"acme", NOV1, "US", 1, 1, 0}};
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 10}};
    int32_t conf[1];
    size_t nconf;
    char err[512];
    store_batch_t b = {r, 1, o, 1, NULL, 0};
    ck_assert_int_eq(store_flush(s, &b, conf, &nconf, err, sizeof err), STORE_UNKNOWN);
    sql(c, "DROP TRIGGER die_at_commit ON billing_offsets");
    int32_t part = 0;
    int64_t got;
    ck_assert_int_eq(store_read_offsets(s, &part, 1, &got, err, sizeof err), STORE_OK);
    ck_assert_int_eq(got, STORE_NO_OFFSET); /* not landed: the sums may be written again */
    ck_assert_str_eq(value(c, "SELECT count(*) FROM usage_hourly"), "0");
    ck_assert_int_eq(store_flush(s, &b, conf, &nconf, err, sizeof err), STORE_OK);
    ck_assert_str_eq(value(c, "SELECT sum(hits) FROM usage_hourly"), "1");
    PQfinish(c);
    store_free(s);
}
END_TEST

/* A row near the bigint limit, then more into the same key: usage is numeric, the sum exact. */
START_TEST(test_usage_sum_past_bigint_is_exact) {
    store_t *s = writer("g1");
    store_row_t r[] = {{"acme", NOV1, "US", 1, (uint64_t)INT64_MAX, 0}};
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 10}};
    int32_t conf[1];
    size_t nconf;
    ck_assert_int_eq(flush(s, r, 1, o, 1, NULL, 0, conf, &nconf), STORE_OK);
    store_offset_t o2[] = {{0, 10, 20}};
    ck_assert_int_eq(flush(s, r, 1, o2, 1, NULL, 0, conf, &nconf), STORE_OK);
    PGconn *c = admin();
    ck_assert_str_eq(value(c, "SELECT bytes::text FROM usage_hourly"), "18446744073709551614");
    ck_assert_str_eq(value(c, "SELECT next_offset FROM billing_offsets"), "20");
    PQfinish(c);
    store_free(s);
}
END_TEST

/* One row PostgreSQL refuses (here a constraint added by hand) is held back with its error; the
 * others are billed and the offsets move on: no single row stops billing. */
START_TEST(test_a_row_the_data_refuses_is_held_and_the_rest_billed) {
    PGconn *c = admin();
    sql(c, "TRUNCATE billing_usage_held");
    sql(c, "ALTER TABLE usage_hourly ADD CONSTRAINT no_evil CHECK (customer_id <> 'evil')");
    store_t *s = writer("g1");
    store_row_t r[] = {{"acme", NOV1, "US", 3, 30, 0},
                       {"evil", NOV1, "US", 2, 20, 0},
                       {"globex", NOV1, "DE", 1, 10, 0}};
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 10}};
    int32_t conf[1];
    size_t nconf;
    ck_assert_int_eq(flush(s, r, 3, o, 1, NULL, 0, conf, &nconf), STORE_OK);
    ck_assert_uint_eq(store_take_held(s), 1);
    sql(c, "ALTER TABLE usage_hourly DROP CONSTRAINT no_evil");
    ck_assert_str_eq(value(c, "SELECT string_agg(customer_id || ':' || hits, ',' ORDER BY"
                              " customer_id) FROM usage_hourly"),
                     "acme:3,globex:1");
    ck_assert_str_eq(value(c, "SELECT customer_id || ':' || hits || ':' || bytes FROM"
                              " billing_usage_held"),
                     "evil:2:20");
    ck_assert_msg(strstr(value(c, "SELECT error FROM billing_usage_held"), "no_evil") != NULL,
                  "the error names the constraint");
    ck_assert_str_eq(value(c, "SELECT next_offset FROM billing_offsets"), "10");
    PQfinish(c);
    store_free(s);
}
END_TEST

/* An error of the database rather than of a row (no right to write usage) stops billing: it is
 * not a row to hold back. */
START_TEST(test_a_permanent_error_is_fatal_and_rolls_back) {
    PGconn *c = admin();
    store_t *s = writer("g1");
    store_row_t r[] = {{"acme", NOV1, "US", 1, 1, 0}};
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 10}};
    int32_t conf[1];
    size_t nconf;
    ck_assert_int_eq(flush(s, r, 1, o, 1, NULL, 0, conf, &nconf), STORE_OK);
    sql(c, "REVOKE INSERT, UPDATE ON usage_hourly FROM " STORE_WRITER_ROLE);
    store_offset_t o2[] = {{0, 10, 20}};
    char err[512];
    store_batch_t b = {r, 1, o2, 1, NULL, 0};
    int rc = store_flush(s, &b, conf, &nconf, err, sizeof err);
    sql(c, "GRANT INSERT, UPDATE ON usage_hourly TO " STORE_WRITER_ROLE);
    ck_assert_int_eq(rc, STORE_FATAL);
    ck_assert_msg(strstr(err, "usage_hourly") != NULL, "%s", err);
    ck_assert_str_eq(value(c, "SELECT next_offset FROM billing_offsets"), "10");
    ck_assert_str_eq(value(c, "SELECT count(*) FROM billing_usage_held"), "0");
    PQfinish(c);
    store_free(s);
}
END_TEST

/* The side tables travel in the flush: a reject at a Kafka position is kept once, even when the
 * same position is flushed again (a record consumed again after a conflict). */
static store_reject_t side_rej[1];
static store_watermark_t side_wm[1];
static store_edge_month_t side_em[1];
static int fill(void *ctx, store_side_t *b) {
    (void)ctx;
    *b = (store_side_t){side_em, 1, side_wm, 1, side_rej, 1};
    return 0;
}

START_TEST(test_rejects_watermarks_and_edge_months_travel_with_the_offsets) {
    PGconn *c = admin();
    sql(c, "TRUNCATE billing_rejects, billing_edge_watermarks, billing_edge_months");
    store_t *s = writer("g1");
    store_set_side(s, fill, NULL);
    side_rej[0] =
        (store_reject_t){0, 5, "version", "{\"v\":2} \xef\xbf\xbd", 1793491200123LL, 9, 1};
    side_wm[0] = (store_watermark_t){"fra-1", 0, 1793491200000LL};
    side_em[0] = (store_edge_month_t){"fra-1", 2026 * 12 + 10, 7};
    store_offset_t o[] = {{0, STORE_NO_OFFSET, 10}};
    int32_t conf[1];
    size_t nconf;
    ck_assert_int_eq(flush(s, NULL, 0, o, 1, NULL, 0, conf, &nconf), STORE_OK);
    side_wm[0].wm_ms = 5; /* lower: a watermark only rises */
    store_offset_t o2[] = {{0, 10, 20}};
    ck_assert_int_eq(flush(s, NULL, 0, o2, 1, NULL, 0, conf, &nconf), STORE_OK);
    ck_assert_str_eq(value(c, "SELECT count(*) FROM billing_rejects"), "1");
    ck_assert_str_eq(value(c, "SELECT kafka_partition || ' ' || kafka_offset || ' ' || reason ||"
                              " ' ' || record || ' ' || record_altered || ' ' || record_bytes ||"
                              " ' ' || to_char(kafka_ts AT TIME ZONE 'UTC',"
                              " 'YYYY-MM-DD HH24:MI:SS.MS') FROM billing_rejects"),
                     "0 5 version {\"v\":2} \xef\xbf\xbd true 9 2026-11-01 00:00:00.123");
    ck_assert_str_eq(value(c, "SELECT wm_ms FROM billing_edge_watermarks"), "1793491200000");
    ck_assert_str_eq(value(c, "SELECT month || ' ' || hits FROM billing_edge_months"),
                     "2026-11-01 14");
    PQfinish(c);
    store_free(s);
}
END_TEST

/* ---- the server for the run ------------------------------------------------------------------ */

static int pg(const char *cmd) {
    char script[1024], line[1400];
    const char *env = getenv("PGTMP_SCRIPT");
    if (env) {
        snprintf(script, sizeof script, "%s", env);
    } else {
        char here[1024];
        snprintf(here, sizeof here, "%s", __FILE__);
        snprintf(script, sizeof script, "%s/pgtmp.sh", dirname(here));
    }
    snprintf(line, sizeof line, "sh '%s' %s '%s'", script, cmd, pgdir);
    return system(line);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(pgdir, sizeof pgdir, "%s/test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(pgdir)) {
        perror("mkdtemp");
        return 1;
    }
    if (pg("start") != 0) {
        fprintf(stderr, "test_store: cannot start PostgreSQL in %s\n", pgdir);
        return 1;
    }
    snprintf(conninfo, sizeof conninfo, "host=%s dbname=test user=postgres", pgdir);
    char dir[4096], err[1024];
    PGconn *c = store_connect(conninfo, "test_store", NULL, err, sizeof err);
    int failed = 1;
    if (!c || migrate_find_dir(NULL, dir, sizeof dir, err, sizeof err) < 0 ||
        migrate_apply(c, dir, NULL, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "test_store: set-up failed: %s\n", err);
    } else {
        Suite *s = suite_create("billing_store");
        TCase *t = tcase_create("store");
        tcase_add_checked_fixture(t, setup, NULL);
        tcase_add_test(t, test_migrations_run_again_apply_nothing);
        tcase_add_test(t, test_session_runs_as_the_writer_role_with_synchronous_commit_in_utc);
        tcase_add_test(t, test_unreachable_server_is_retry_and_bad_conninfo_fatal);
        tcase_add_test(t, test_flush_writes_usage_offsets_and_marks_together);
        tcase_add_test(t, test_flush_adds_to_rows_already_there);
        tcase_add_test(t, test_stale_expected_offset_conflicts_and_writes_nothing);
        tcase_add_test(t, test_of_two_writers_from_one_offset_only_the_first_writes);
        tcase_add_test(t, test_groups_keep_separate_offsets);
        tcase_add_test(t, test_marks_only_rise);
        tcase_add_test(t, test_any_customer_text_is_stored_exactly);
        tcase_add_test(t, test_hours_are_stored_exactly_from_1970_to_9999);
        tcase_add_test(t, test_commit_lost_with_its_connection_is_unknown_not_failed);
        tcase_add_test(t, test_usage_sum_past_bigint_is_exact);
        tcase_add_test(t, test_a_row_the_data_refuses_is_held_and_the_rest_billed);
        tcase_add_test(t, test_a_permanent_error_is_fatal_and_rolls_back);
        tcase_add_test(t, test_rejects_watermarks_and_edge_months_travel_with_the_offsets);
        suite_add_tcase(s, t);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
    }
    PQfinish(c);
    pg("stop");
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", pgdir);
    if (system(rm) != 0) fprintf(stderr, "test_store: could not remove %s\n", pgdir);
    return failed ? 1 : 0;
}
