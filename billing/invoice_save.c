/* invoice_save.c: invdb_save and invdb_delete_draft (invoice_db.h): a draft written whole (the
 * invoice row, its lines with their kinds, the parts of its month, the usage it was priced from,
 * the adjustments it carries), and finalized in the same transaction. Every statement is
 * parameterized; arrays go as PostgreSQL array literals into one INSERT ... unnest each. */
#include "invoice_db.h"

#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A draft is replaced; a final invoice is never touched (the schema's trigger would refuse it,
 * and the WHERE keeps this statement from trying). */
static const char SQL_UPSERT[] =
    "INSERT INTO invoices (number, customer_id, month, plan_id, currency, subtotal, total,"
    " customer_name, usage_bytes, usage_hits, period_from, period_to, tax_rate, tax, topup,"
    " adjustments, credit_carried)"
    " VALUES ($1, $2, $3::date, $4, $5, $6::numeric, $7::numeric, $8, $9::numeric, $10::numeric,"
    " $11::date, $12::date, $13::numeric, $14::numeric, $15::numeric, $16::numeric,"
    " $17::numeric)"
    " ON CONFLICT (customer_id, month) DO UPDATE SET plan_id = EXCLUDED.plan_id,"
    " currency = EXCLUDED.currency, subtotal = EXCLUDED.subtotal, total = EXCLUDED.total,"
    " customer_name = EXCLUDED.customer_name, usage_bytes = EXCLUDED.usage_bytes,"
    " usage_hits = EXCLUDED.usage_hits, period_from = EXCLUDED.period_from,"
    " period_to = EXCLUDED.period_to, tax_rate = EXCLUDED.tax_rate, tax = EXCLUDED.tax,"
    " topup = EXCLUDED.topup, adjustments = EXCLUDED.adjustments,"
    " credit_carried = EXCLUDED.credit_carried, updated_at = now()"
    " WHERE invoices.status = 'draft' RETURNING id::text";
/* A draft's rows are replaced whole: lines, parts, usage snapshots, adjustments. */
static const char SQL_DELETE_LINES[] =
    "WITH a AS (DELETE FROM invoice_adjustments WHERE invoice_id = $1::bigint),"
    " u AS (DELETE FROM invoice_usage WHERE invoice_id = $1::bigint),"
    " p AS (DELETE FROM invoice_parts WHERE invoice_id = $1::bigint)"
    " DELETE FROM invoice_lines WHERE invoice_id = $1::bigint";
static const char SQL_INSERT_LINES[] =
    "INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit, unit_price,"
    " amount, zone, exact_amount, kind)"
    " SELECT $1::bigint, v.n, v.d, v.q, v.u, v.p, v.a, NULLIF(v.z, ''), v.e, v.k"
    " FROM unnest($2::int[], $3::text[], $4::numeric[], $5::text[], $6::numeric[],"
    " $7::numeric[], $8::text[], $9::numeric[], $10::text[]) AS v(n, d, q, u, p, a, z, e, k)";
static const char SQL_INSERT_PARTS[] =
    "INSERT INTO invoice_parts (invoice_id, part_no, plan_id, part_from, part_to)"
    " SELECT $1::bigint, v.n, v.p, to_timestamp(v.f), to_timestamp(v.t)"
    " FROM unnest($2::int[], $3::text[], $4::bigint[], $5::bigint[]) AS v(n, p, f, t)";
static const char SQL_INSERT_USAGE[] =
    "INSERT INTO invoice_usage (invoice_id, for_month, part_from, country, hits, bytes)"
    " SELECT $1::bigint, $2::date, to_timestamp(v.f), v.c, v.h, v.b"
    " FROM unnest($3::bigint[], $4::text[], $5::numeric[], $6::numeric[]) AS v(f, c, h, b)";
static const char SQL_INSERT_ADJ[] =
    "INSERT INTO invoice_adjustments (invoice_id, for_month, month_invoice_id, amount)"
    " VALUES ($1::bigint, $2::date, $3::bigint, $4::numeric)";
static const char SQL_FINALIZE[] =
    "UPDATE invoices SET status = 'final', finalized_at = now(), updated_at = now(),"
    " incomplete_reason = $2, incomplete_edges = $3"
    " WHERE id = $1::bigint AND status = 'draft'";
static const char SQL_DELETE_DRAFT[] =
    "DELETE FROM invoices WHERE id = $1::bigint AND status = 'draft'";

static int run(PGconn *c, const char *sql, int n, const char *const *params, const char *what,
               char *err, size_t errlen) {
    PGresult *r = invdb_exec(c, sql, n, params, PGRES_COMMAND_OK, what, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

/* Opens n array literals. */
static void bufs_begin(store_buf_t *a, int n) {
    for (int k = 0; k < n; k++)
        store_buf_begin(&a[k]);
}

/* Closes the n literals and runs sql with params id, [extra,] then the literals. */
static int bufs_run(PGconn *conn, const char *sql, const char *id, const char *extra,
                    store_buf_t *a, int n, int bad, const char *what, char *err, size_t errlen) {
    const char *p[16] = {id};
    int np = 1;
    for (int k = 0; k < n; k++)
        bad |= store_buf_end(&a[k]);
    if (bad) {
        snprintf(err, errlen, "out of memory %s", what);
        return -1;
    }
    if (extra) p[np++] = extra;
    for (int k = 0; k < n; k++)
        p[np++] = a[k].p;
    return run(conn, sql, np, p, what, err, errlen);
}

static void bufs_free(store_buf_t *a, int n) {
    for (int k = 0; k < n; k++)
        store_buf_free(&a[k]);
}

static int insert_lines(PGconn *conn, const char *id, const pricing_invoice_t *inv, char *err,
                        size_t errlen) {
    enum { NO, DESC, QTY, UNIT, PRICE, AMOUNT, ZONE, EXACT, KIND, NARR };
    store_buf_t a[NARR] = {{0}};
    int bad = 0;
    bufs_begin(a, NARR);
    for (size_t i = 0; i < inv->nlines; i++) {
        const pricing_line_t *l = &inv->lines[i];
        bad |= store_buf_int(&a[NO], (int64_t)i + 1) | store_buf_quoted(&a[DESC], l->description) |
               store_buf_quoted(&a[QTY], l->quantity) | store_buf_quoted(&a[UNIT], l->unit) |
               store_buf_quoted(&a[PRICE], l->unit_price) |
               store_buf_quoted(&a[AMOUNT], l->amount) |
               store_buf_quoted(&a[ZONE], l->zone ? l->zone : "") |
               store_buf_quoted(&a[EXACT], l->exact) |
               store_buf_quoted(&a[KIND], pricing_kind_name(l->kind));
    }
    int rc = bufs_run(conn, SQL_INSERT_LINES, id, NULL, a, NARR, bad, "writing invoice_lines", err,
                      errlen);
    bufs_free(a, NARR);
    return rc;
}

static int insert_parts(PGconn *conn, const char *id, const invdb_extra_t *x, char *err,
                        size_t errlen) {
    enum { NO, PLAN, FROM, TO, NARR };
    store_buf_t a[NARR] = {{0}};
    int bad = 0;
    bufs_begin(a, NARR);
    for (size_t i = 0; i < x->nparts; i++)
        bad |= store_buf_int(&a[NO], (int64_t)i + 1) |
               store_buf_quoted(&a[PLAN], x->parts[i].plan) |
               store_buf_int(&a[FROM], x->parts[i].from) | store_buf_int(&a[TO], x->parts[i].to);
    int rc = bufs_run(conn, SQL_INSERT_PARTS, id, NULL, a, NARR, bad, "writing invoice_parts", err,
                      errlen);
    bufs_free(a, NARR);
    return rc;
}

/* One month's usage snapshot, and for an adjustment its invoice_adjustments row. */
static int insert_snapshot(PGconn *conn, const char *id, const invdb_snapshot_t *sn, char *err,
                           size_t errlen) {
    enum { FROM, COUNTRY, HITS, BYTES, NARR };
    store_buf_t a[NARR] = {{0}};
    int bad = 0, rc = 0;
    bufs_begin(a, NARR);
    for (size_t i = 0; i < sn->nrows; i++)
        bad |= store_buf_int(&a[FROM], sn->part[i]) |
               store_buf_quoted(&a[COUNTRY], sn->rows[i].country) |
               store_buf_uint(&a[HITS], sn->rows[i].hits) |
               store_buf_uint(&a[BYTES], sn->rows[i].bytes);
    if (sn->nrows)
        rc = bufs_run(conn, SQL_INSERT_USAGE, id, sn->for_month, a, NARR, bad,
                      "writing invoice_usage", err, errlen);
    bufs_free(a, NARR);
    const char *p[4] = {id, sn->for_month, sn->month_invoice_id, sn->amount};
    if (!rc && sn->month_invoice_id)
        rc = run(conn, SQL_INSERT_ADJ, 4, p, "writing invoice_adjustments", err, errlen);
    return rc;
}

int invdb_save(PGconn *conn, const invdb_scope_t *s, const invdb_customer_t *c,
               const invdb_plan_t *plan, const pricing_invoice_t *inv, const invdb_extra_t *x,
               const invdb_final_t *f, char *err, size_t errlen) {
    int rc = -1;
    char *number = invdb_number(s, c->id);
    PGresult *r = NULL;
    if (!number) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    const char *p[17] = {number,
                         c->id,
                         s->first_day,
                         plan->id,
                         plan->p.currency,
                         inv->subtotal,
                         inv->total,
                         c->name,
                         inv->bytes,
                         inv->hits,
                         x->period_from,
                         x->period_to,
                         x->tax_rate,
                         inv->tax,
                         inv->topup,
                         inv->adjustments,
                         inv->carried[0] ? inv->carried : "0"};
    r = invdb_exec(conn, SQL_UPSERT, 17, p, PGRES_TUPLES_OK, "writing invoices", err, errlen);
    if (!r) goto out;
    if (PQntuples(r) != 1) { /* the row is final: someone finalized it outside our lock */
        snprintf(err, errlen, "invoice %.200s became final during this run", number);
        goto out;
    }
    const char *id[1] = {PQgetvalue(r, 0, 0)};
    if (run(conn, SQL_DELETE_LINES, 1, id, "replacing invoice_lines", err, errlen) < 0) goto out;
    if (inv->nlines && insert_lines(conn, id[0], inv, err, errlen) < 0) goto out;
    if (x->nparts && insert_parts(conn, id[0], x, err, errlen) < 0) goto out;
    for (size_t i = 0; i < x->nsnaps; i++)
        if (insert_snapshot(conn, id[0], &x->snaps[i], err, errlen) < 0) goto out;
    const char *fp[3] = {id[0], f->reason, f->reason ? f->incomplete : NULL};
    if (f->finalize && run(conn, SQL_FINALIZE, 3, fp, "finalizing", err, errlen) < 0) goto out;
    rc = 0;
out:
    PQclear(r);
    free(number);
    return rc;
}

int invdb_delete_draft(PGconn *conn, const invdb_stored_t *st, char *err, size_t errlen) {
    const char *id[1] = {st->id};
    return run(conn, SQL_DELETE_DRAFT, 1, id, "deleting a stale draft", err, errlen);
}
