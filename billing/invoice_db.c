/* invoice_db.c: see invoice_db.h. Every statement is parameterized. */
#include "invoice_db.h"

#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_PLANS, R_ZONES, R_TIERS, R_CUSTOMERS, R_USAGE, R_STORED };

static const char SQL_PLANS[] =
    "SELECT p.id, p.currency, c.minor_units, p.minimum_commit::text,"
    " p.price_per_10k_requests::text"
    " FROM plans p JOIN currencies c ON c.code = p.currency ORDER BY p.id COLLATE \"C\"";
static const char SQL_ZONES[] =
    "SELECT plan_id, country, zone FROM plan_zones ORDER BY plan_id COLLATE \"C\", country";
static const char SQL_TIERS[] =
    "SELECT plan_id, zone, from_gb::text, price_per_gb::text FROM plan_tiers"
    " ORDER BY plan_id COLLATE \"C\", zone COLLATE \"C\", from_gb";
static const char SQL_CUSTOMERS[] = "SELECT id, name, plan_id FROM customers"
                                    " WHERE $1::text IS NULL OR id = $1"
                                    " ORDER BY id COLLATE \"C\"";
/* The month by the hits' own hour, in UTC: [start, end) of timestamptz, whatever the session's
 * TimeZone. */
static const char SQL_USAGE[] =
    "SELECT customer_id, country, trunc(sum(hits))::text, trunc(sum(bytes))::text FROM usage_hourly"
    " WHERE hour >= $1::timestamptz AND hour < $2::timestamptz"
    " AND ($3::text IS NULL OR customer_id = $3)"
    " GROUP BY customer_id, country ORDER BY customer_id COLLATE \"C\", country";
static const char SQL_STORED[] =
    "SELECT id::text, customer_id, number, status = 'final', usage_bytes::text, usage_hits::text"
    " FROM invoices WHERE month = $1::date AND ($2::text IS NULL OR customer_id = $2)"
    " ORDER BY customer_id COLLATE \"C\"";
/* A draft is replaced; a final invoice is never touched (the schema's trigger would refuse it,
 * and the WHERE keeps this statement from trying). */
static const char SQL_UPSERT[] =
    "INSERT INTO invoices (number, customer_id, month, plan_id, currency, subtotal, total,"
    " customer_name, usage_bytes, usage_hits)"
    " VALUES ($1, $2, $3::date, $4, $5, $6::numeric, $7::numeric, $8, $9::numeric, $10::numeric)"
    " ON CONFLICT (customer_id, month) DO UPDATE SET plan_id = EXCLUDED.plan_id,"
    " currency = EXCLUDED.currency, subtotal = EXCLUDED.subtotal, total = EXCLUDED.total,"
    " customer_name = EXCLUDED.customer_name, usage_bytes = EXCLUDED.usage_bytes,"
    " usage_hits = EXCLUDED.usage_hits, updated_at = now()"
    " WHERE invoices.status = 'draft' RETURNING id::text";
static const char SQL_DELETE_LINES[] = "DELETE FROM invoice_lines WHERE invoice_id = $1::bigint";
static const char SQL_INSERT_LINES[] =
    "INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit, unit_price,"
    " amount, zone, exact_amount)"
    " SELECT $1::bigint, v.n, v.d, v.q, v.u, v.p, v.a, NULLIF(v.z, ''), v.e"
    " FROM unnest($2::int[], $3::text[], $4::numeric[], $5::text[], $6::numeric[],"
    " $7::numeric[], $8::text[], $9::numeric[]) AS v(n, d, q, u, p, a, z, e)";
static const char SQL_FINALIZE[] =
    "UPDATE invoices SET status = 'final', finalized_at = now(), updated_at = now(),"
    " incomplete_reason = $2, incomplete_edges = $3"
    " WHERE id = $1::bigint AND status = 'draft'";
static const char SQL_DELETE_DRAFT[] =
    "DELETE FROM invoices WHERE id = $1::bigint AND status = 'draft'";
static const char SQL_READ[] =
    "SELECT id::text, number, customer_id, customer_name, to_char(month, 'YYYY-MM'),"
    " coalesce(plan_id, ''), currency, status,"
    " coalesce(to_char(finalized_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " subtotal::text, total::text, incomplete_reason, incomplete_edges"
    " FROM invoices WHERE month = $1::date AND ($2::text IS NULL OR customer_id = $2)"
    " ORDER BY customer_id COLLATE \"C\"";
static const char SQL_READ_LINES[] =
    "SELECT l.invoice_id::text, l.line_no, l.description, l.quantity::text, l.unit,"
    " l.unit_price::text, l.amount::text, coalesce(l.zone, '')"
    " FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
    " WHERE i.month = $1::date AND ($2::text IS NULL OR i.customer_id = $2)"
    " ORDER BY i.customer_id COLLATE \"C\", l.line_no";

/* Runs sql; returns its result when its status is want, else NULL with err naming what. */
static PGresult *exec(PGconn *c, const char *sql, int n, const char *const *params,
                      ExecStatusType want, const char *what, char *err, size_t errlen) {
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (r && PQresultStatus(r) == want) return r;
    snprintf(err, errlen, "%s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    err[strcspn(err, "\n")] = 0;
    PQclear(r);
    return NULL;
}

static int run(PGconn *c, const char *sql, int n, const char *const *params, const char *what,
               char *err, size_t errlen) {
    PGresult *r = exec(c, sql, n, params, PGRES_COMMAND_OK, what, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

static const char *val(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

void invdb_scope_init(invdb_scope_t *s, int year, int month, const char *customer) {
    int ny = month == 12 ? year + 1 : year, nm = month == 12 ? 1 : month + 1;
    snprintf(s->month, sizeof s->month, "%04d-%02d", year, month);
    snprintf(s->number_month, sizeof s->number_month, "%04d%02d", year, month);
    snprintf(s->first_day, sizeof s->first_day, "%04d-%02d-01", year, month);
    snprintf(s->start, sizeof s->start, "%04d-%02d-01 00:00:00+00", year, month);
    snprintf(s->end, sizeof s->end, "%04d-%02d-01 00:00:00+00", ny, nm);
    s->customer = customer;
}

int invdb_begin(PGconn *c, char *err, size_t errlen) {
    const char *key[1] = {INVDB_LOCK_KEY};
    PGresult *r = exec(c, "SELECT pg_advisory_lock($1::bigint)", 1, key, PGRES_TUPLES_OK,
                       "taking the invoice lock", err, errlen);
    if (!r) return -1;
    PQclear(r);
    return run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL, "BEGIN", err, errlen);
}

int invdb_begin_read(PGconn *c, char *err, size_t errlen) {
    return run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, "BEGIN", err, errlen);
}

int invdb_commit(PGconn *c, char *err, size_t errlen) {
    return run(c, "COMMIT", 0, NULL, "COMMIT", err, errlen);
}

/* ---- loading -------------------------------------------------------------------------------- */

static int cmp_plan(const void *a, const void *b) {
    return strcmp(((const invdb_plan_t *)a)->id, ((const invdb_plan_t *)b)->id);
}
static int cmp_customer(const void *a, const void *b) {
    return strcmp(((const invdb_customer_t *)a)->id, ((const invdb_customer_t *)b)->id);
}
static int cmp_usage(const void *a, const void *b) {
    return strcmp(((const invdb_usage_t *)a)->customer, ((const invdb_usage_t *)b)->customer);
}
static int cmp_stored(const void *a, const void *b) {
    return strcmp(((const invdb_stored_t *)a)->customer, ((const invdb_stored_t *)b)->customer);
}

/* The plans with their zones and tiers (a plan's rows found by scanning: plans are few). */
static int load_plans(invdb_t *d, char *err, size_t errlen) {
    const PGresult *p = d->res[R_PLANS], *z = d->res[R_ZONES], *t = d->res[R_TIERS];
    int np = PQntuples(p), nz = PQntuples(z), nt = PQntuples(t);
    d->plans = calloc((size_t)np + 1, sizeof *d->plans);
    if (!d->plans) goto oom;
    for (int i = 0; i < np; i++) {
        invdb_plan_t *pl = &d->plans[d->nplans++];
        pl->id = val(p, i, 0);
        pl->zones = calloc((size_t)nz + 1, sizeof *pl->zones);
        pl->tiers = calloc((size_t)nt + 1, sizeof *pl->tiers);
        if (!pl->zones || !pl->tiers) goto oom;
        pl->p.currency = val(p, i, 1);
        pl->p.minor_units = atoi(val(p, i, 2));
        pl->p.minimum_commit = val(p, i, 3);
        pl->p.price_per_10k = val(p, i, 4);
        for (int j = 0; j < nz; j++)
            if (!strcmp(val(z, j, 0), pl->id))
                pl->zones[pl->p.nzones++] = (pricing_zone_t){val(z, j, 1), val(z, j, 2)};
        for (int j = 0; j < nt; j++)
            if (!strcmp(val(t, j, 0), pl->id))
                pl->tiers[pl->p.ntiers++] =
                    (pricing_tier_t){val(t, j, 1), val(t, j, 2), val(t, j, 3)};
        pl->p.zones = pl->zones;
        pl->p.tiers = pl->tiers;
    }
    qsort(d->plans, d->nplans, sizeof *d->plans, cmp_plan);
    return 0;
oom:
    snprintf(err, errlen, "out of memory reading the plans");
    return -1;
}

/* Usage rows grouped per customer id, with totals; ids sorted. */
static int load_usage(invdb_t *d, char *err, size_t errlen) {
    const PGresult *u = d->res[R_USAGE];
    int n = PQntuples(u);
    d->usage_rows = calloc((size_t)n + 1, sizeof *d->usage_rows);
    d->usage = calloc((size_t)n + 1, sizeof *d->usage);
    d->usage_sums = calloc((size_t)n + 1, sizeof *d->usage_sums);
    if (!d->usage_rows || !d->usage || !d->usage_sums) {
        snprintf(err, errlen, "out of memory reading usage");
        return -1;
    }
    pricing_u128 hits = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        const char *cust = val(u, i, 0);
        if (!d->nusage || strcmp(d->usage[d->nusage - 1].customer, cust)) {
            d->usage[d->nusage++] = (invdb_usage_t){cust, &d->usage_rows[i], 0, 0, 0, 0};
            hits = bytes = 0;
        }
        invdb_usage_t *g = &d->usage[d->nusage - 1];
        pricing_usage_t *r = &d->usage_rows[i];
        r->country = val(u, i, 1);
        /* A sum over a month can exceed 2^64 only with absurd data: flagged, never wrapped. */
        if (pricing_u64_parse(val(u, i, 2), &r->hits) < 0 ||
            pricing_u64_parse(val(u, i, 3), &r->bytes) < 0)
            g->too_large = 1;
        g->nrows++;
        hits += r->hits;
        bytes += r->bytes;
        char(*sums)[PRICING_NUM_MAX] = d->usage_sums[d->nusage - 1];
        pricing_dec_format(hits, 0, 0, sums[0], PRICING_NUM_MAX);
        pricing_dec_format(bytes, 0, 0, sums[1], PRICING_NUM_MAX);
        g->hits = sums[0];
        g->bytes = sums[1];
    }
    qsort(d->usage, d->nusage, sizeof *d->usage, cmp_usage);
    return 0;
}

static int load_rest(invdb_t *d, char *err, size_t errlen) {
    const PGresult *c = d->res[R_CUSTOMERS], *s = d->res[R_STORED];
    int nc = PQntuples(c), ns = PQntuples(s);
    d->customers = calloc((size_t)nc + 1, sizeof *d->customers);
    d->stored = calloc((size_t)ns + 1, sizeof *d->stored);
    if (!d->customers || !d->stored) {
        snprintf(err, errlen, "out of memory reading customers");
        return -1;
    }
    for (int i = 0; i < nc; i++)
        d->customers[d->ncustomers++] =
            (invdb_customer_t){val(c, i, 0), val(c, i, 1), val(c, i, 2)};
    for (int i = 0; i < ns; i++)
        d->stored[d->nstored++] =
            (invdb_stored_t){val(s, i, 0), val(s, i, 1), val(s, i, 2), !strcmp(val(s, i, 3), "t"),
                             val(s, i, 4), val(s, i, 5)};
    qsort(d->customers, d->ncustomers, sizeof *d->customers, cmp_customer);
    qsort(d->stored, d->nstored, sizeof *d->stored, cmp_stored);
    return 0;
}

int invdb_load(PGconn *c, const invdb_scope_t *s, invdb_t *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    const char *one[1] = {s->customer};
    const char *usage[3] = {s->start, s->end, s->customer};
    const char *stored[2] = {s->first_day, s->customer};
    struct {
        const char *sql, *what;
        int n;
        const char *const *params;
    } q[] = {
        {SQL_PLANS, "reading plans", 0, NULL},         {SQL_ZONES, "reading plan_zones", 0, NULL},
        {SQL_TIERS, "reading plan_tiers", 0, NULL},    {SQL_CUSTOMERS, "reading customers", 1, one},
        {SQL_USAGE, "reading usage_hourly", 3, usage}, {SQL_STORED, "reading invoices", 2, stored}};
    for (int i = 0; i < 6; i++) {
        d->res[i] = exec(c, q[i].sql, q[i].n, q[i].params, PGRES_TUPLES_OK, q[i].what, err, errlen);
        if (!d->res[i]) return -1;
    }
    if (load_plans(d, err, errlen) < 0 || load_usage(d, err, errlen) < 0 ||
        load_rest(d, err, errlen) < 0)
        return -1;
    return 0;
}

void invdb_free(invdb_t *d) {
    for (size_t i = 0; i < d->nplans; i++) {
        free(d->plans[i].zones);
        free(d->plans[i].tiers);
    }
    free(d->plans);
    free(d->customers);
    free(d->usage_rows);
    free(d->usage);
    free(d->usage_sums);
    free(d->stored);
    free(d->out);
    free(d->out_lines);
    for (int i = 0; i < 6; i++)
        PQclear(d->res[i]);
    for (int i = 0; i < 2; i++)
        PQclear(d->out_res[i]);
    memset(d, 0, sizeof *d);
}

/* ---- lookups -------------------------------------------------------------------------------- */

const invdb_plan_t *invdb_find_plan(const invdb_t *d, const char *id) {
    invdb_plan_t key = {.id = id};
    return id ? bsearch(&key, d->plans, d->nplans, sizeof key, cmp_plan) : NULL;
}

const invdb_customer_t *invdb_find_customer(const invdb_t *d, const char *id) {
    invdb_customer_t key = {.id = id};
    return bsearch(&key, d->customers, d->ncustomers, sizeof key, cmp_customer);
}

const invdb_usage_t *invdb_find_usage(const invdb_t *d, const char *customer) {
    invdb_usage_t key = {.customer = customer};
    return bsearch(&key, d->usage, d->nusage, sizeof key, cmp_usage);
}

const invdb_stored_t *invdb_find_stored(const invdb_t *d, const char *customer) {
    invdb_stored_t key = {.customer = customer};
    return bsearch(&key, d->stored, d->nstored, sizeof key, cmp_stored);
}

/* ---- writing -------------------------------------------------------------------------------- */

/* The lines' columns as PostgreSQL array literals, then one INSERT. */
static int insert_lines(PGconn *conn, const char *id, const pricing_invoice_t *inv, char *err,
                        size_t errlen) {
    enum { NO, DESC, QTY, UNIT, PRICE, AMOUNT, ZONE, EXACT, NARR };
    store_buf_t a[NARR] = {{0}};
    int rc = -1, bad = 0;
    for (int k = 0; k < NARR; k++)
        store_buf_begin(&a[k]);
    for (size_t i = 0; i < inv->nlines; i++) {
        const pricing_line_t *l = &inv->lines[i];
        bad |= store_buf_int(&a[NO], (int64_t)i + 1) | store_buf_quoted(&a[DESC], l->description) |
               store_buf_quoted(&a[QTY], l->quantity) | store_buf_quoted(&a[UNIT], l->unit) |
               store_buf_quoted(&a[PRICE], l->unit_price) |
               store_buf_quoted(&a[AMOUNT], l->amount) |
               store_buf_quoted(&a[ZONE], l->zone ? l->zone : "") |
               store_buf_quoted(&a[EXACT], l->exact);
    }
    for (int k = 0; k < NARR; k++)
        bad |= store_buf_end(&a[k]);
    if (bad) {
        snprintf(err, errlen, "out of memory writing invoice lines");
        goto out;
    }
    const char *p[1 + NARR] = {id};
    for (int k = 0; k < NARR; k++)
        p[1 + k] = a[k].p;
    rc = run(conn, SQL_INSERT_LINES, 1 + NARR, p, "writing invoice_lines", err, errlen);
out:
    for (int k = 0; k < NARR; k++)
        store_buf_free(&a[k]);
    return rc;
}

int invdb_save(PGconn *conn, const invdb_scope_t *s, const invdb_customer_t *c,
               const invdb_plan_t *plan, const pricing_invoice_t *inv, const invdb_final_t *f,
               char *err, size_t errlen) {
    int rc = -1;
    char *number = NULL;
    PGresult *r = NULL;
    if (asprintf(&number, "INV-%s-%s", s->number_month, c->id) < 0) {
        number = NULL;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    const char *p[10] = {number,        c->id,      s->first_day, plan->id,   plan->p.currency,
                         inv->subtotal, inv->total, c->name,      inv->bytes, inv->hits};
    r = exec(conn, SQL_UPSERT, 10, p, PGRES_TUPLES_OK, "writing invoices", err, errlen);
    if (!r) goto out;
    if (PQntuples(r) != 1) { /* the row is final: someone finalized it outside our lock */
        snprintf(err, errlen, "invoice %.200s became final during this run", number);
        goto out;
    }
    const char *id[1] = {PQgetvalue(r, 0, 0)};
    if (run(conn, SQL_DELETE_LINES, 1, id, "replacing invoice_lines", err, errlen) < 0) goto out;
    if (inv->nlines && insert_lines(conn, id[0], inv, err, errlen) < 0) goto out;
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

/* ---- reading back --------------------------------------------------------------------------- */

int invdb_read(PGconn *conn, const invdb_scope_t *s, invdb_t *d, char *err, size_t errlen) {
    const char *p[2] = {s->first_day, s->customer};
    PGresult *iv = d->out_res[0] =
        exec(conn, SQL_READ, 2, p, PGRES_TUPLES_OK, "reading invoices back", err, errlen);
    if (!iv) return -1;
    PGresult *ln = d->out_res[1] = exec(conn, SQL_READ_LINES, 2, p, PGRES_TUPLES_OK,
                                        "reading invoice_lines back", err, errlen);
    if (!ln) return -1;
    int ni = PQntuples(iv), nl = PQntuples(ln), j = 0;
    d->out = calloc((size_t)ni + 1, sizeof *d->out);
    d->out_lines = calloc((size_t)nl + 1, sizeof *d->out_lines);
    if (!d->out || !d->out_lines) {
        snprintf(err, errlen, "out of memory reading invoices back");
        return -1;
    }
    for (int k = 0; k < nl; k++)
        d->out_lines[k] =
            (invfmt_line_t){atoi(val(ln, k, 1)), val(ln, k, 2), val(ln, k, 3), val(ln, k, 4),
                            val(ln, k, 5),       val(ln, k, 6), val(ln, k, 7), NULL};
    /* Both are in customer order: an invoice's lines are the next run of its id. */
    for (int i = 0; i < ni; i++) {
        invfmt_invoice_t *o = &d->out[d->nout++];
        *o = (invfmt_invoice_t){val(iv, i, 1),  val(iv, i, 2),  val(iv, i, 3),    val(iv, i, 4),
                                val(iv, i, 5),  val(iv, i, 6),  val(iv, i, 7),    val(iv, i, 8),
                                val(iv, i, 9),  val(iv, i, 10), &d->out_lines[j], 0,
                                val(iv, i, 12), val(iv, i, 11), .seq = NULL};
        while (j < nl && !strcmp(val(ln, j, 0), val(iv, i, 0))) {
            o->nlines++;
            j++;
        }
    }
    if (j != nl) {
        snprintf(err, errlen, "reading invoices back: %d lines out of order", nl - j);
        return -1;
    }
    return 0;
}
