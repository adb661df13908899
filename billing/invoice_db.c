/* invoice_db.c: see invoice_db.h. Every statement is parameterized. */
#include "invoice_db.h"

#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_PLANS, R_ZONES, R_TIERS, R_CUSTOMERS, R_USAGE, R_STORED, R_CPLANS, R_N };

static const char SQL_PLANS[] =
    "SELECT p.id, p.currency, c.minor_units, p.minimum_commit::text,"
    " p.price_per_10k_requests::text"
    " FROM plans p JOIN currencies c ON c.code = p.currency ORDER BY p.id COLLATE \"C\"";
static const char SQL_ZONES[] =
    "SELECT plan_id, country, zone FROM plan_zones ORDER BY plan_id COLLATE \"C\", country";
static const char SQL_TIERS[] =
    "SELECT plan_id, zone, from_gb::text, price_per_gb::text FROM plan_tiers"
    " ORDER BY plan_id COLLATE \"C\", zone COLLATE \"C\", from_gb";
static const char SQL_CUSTOMERS[] =
    "SELECT id, name, plan_id, active_from::text, active_to::text, tax_rate::text FROM customers"
    " WHERE $1::text IS NULL OR id = $1 ORDER BY id COLLATE \"C\"";
static const char SQL_CPLANS[] =
    "SELECT customer_id, plan_id, extract(epoch FROM valid_from)::bigint::text FROM customer_plans"
    " WHERE $1::text IS NULL OR customer_id = $1 ORDER BY customer_id COLLATE \"C\", valid_from";
/* The month by the hits' own hour, in UTC: [start, end) of timestamptz, whatever the session's
 * TimeZone; each row with the start of its part (the plan change before it, or the month's
 * start), -1 in hours without a plan. Only customers whose plan changes inside the month
 * (`cut`, rare) need the range join; the others are summed per country as they always were, with
 * the month's start as their one part (a customer without a plan then has no part: C says so). */
static const char SQL_USAGE[] =
    "WITH cut AS (SELECT DISTINCT customer_id FROM customer_plans"
    " WHERE valid_from > $1::timestamptz AND valid_from < $2::timestamptz"
    " AND ($3::text IS NULL OR customer_id = $3)),"
    " r AS (SELECT customer_id, valid_from, lead(valid_from) OVER (PARTITION BY customer_id"
    " ORDER BY valid_from) AS valid_to FROM customer_plans"
    " WHERE customer_id IN (SELECT customer_id FROM cut)),"
    " g AS (SELECT u.customer_id, u.country, sum(u.hits) AS hits, sum(u.bytes) AS bytes,"
    " $1::timestamptz AS part FROM usage_hourly u"
    " WHERE u.hour >= $1::timestamptz AND u.hour < $2::timestamptz"
    " AND ($3::text IS NULL OR u.customer_id = $3)"
    " AND NOT EXISTS (SELECT 1 FROM customer_plans c WHERE c.customer_id = u.customer_id"
    " AND c.valid_from > $1::timestamptz AND c.valid_from < $2::timestamptz) GROUP BY 1, 2"
    " UNION ALL SELECT u.customer_id, u.country, sum(u.hits), sum(u.bytes),"
    " greatest(r.valid_from, $1::timestamptz)"
    " FROM usage_hourly u LEFT JOIN r ON r.customer_id = u.customer_id"
    " AND u.hour >= r.valid_from AND (r.valid_to IS NULL OR u.hour < r.valid_to)"
    " WHERE u.hour >= $1::timestamptz AND u.hour < $2::timestamptz"
    " AND u.customer_id IN (SELECT customer_id FROM cut) GROUP BY 1, 2, 5)"
    " SELECT customer_id, country, trunc(hits)::text, trunc(bytes)::text,"
    " coalesce(extract(epoch FROM part)::bigint::text, '-1') FROM g"
    " ORDER BY customer_id COLLATE \"C\", part NULLS FIRST, country COLLATE \"C\"";
static const char SQL_STORED[] =
    "SELECT id::text, customer_id, number, status = 'final', usage_bytes::text, usage_hits::text"
    " FROM invoices WHERE month = $1::date AND ($2::text IS NULL OR customer_id = $2)"
    " ORDER BY customer_id COLLATE \"C\"";
static const char SQL_READ[] =
    "SELECT id::text, number, customer_id, customer_name, to_char(month, 'YYYY-MM'),"
    " coalesce(plan_id, ''), currency, status,"
    " coalesce(to_char(finalized_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " subtotal::text, total::text, incomplete_reason, incomplete_edges,"
    " coalesce(seq::text, ''), coalesce(issue_date::text, ''), coalesce(due_date::text, ''),"
    " coalesce(period_from, month)::text,"
    " coalesce(period_to, (month + interval '1 month' - interval '1 day')::date)::text,"
    " tax_rate::text, tax::text, topup::text, adjustments::text, credit_carried::text"
    " FROM invoices WHERE month = $1::date AND ($2::text IS NULL OR customer_id = $2)"
    " ORDER BY customer_id COLLATE \"C\"";
static const char SQL_READ_LINES[] =
    "SELECT l.invoice_id::text, l.line_no, l.description, l.quantity::text, l.unit,"
    " l.unit_price::text, l.amount::text, coalesce(l.zone, ''), l.kind"
    " FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
    " WHERE i.month = $1::date AND ($2::text IS NULL OR i.customer_id = $2)"
    " ORDER BY i.customer_id COLLATE \"C\", l.line_no";

PGresult *invdb_exec(PGconn *c, const char *sql, int n, const char *const *params,
                     ExecStatusType want, const char *what, char *err, size_t errlen) {
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (r && PQresultStatus(r) == want) return r;
    snprintf(err, errlen, "%s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    err[strcspn(err, "\n")] = 0;
    PQclear(r);
    return NULL;
}

#define exec invdb_exec
#define val invdb_val

static int run(PGconn *c, const char *sql, int n, const char *const *params, const char *what,
               char *err, size_t errlen) {
    PGresult *r = exec(c, sql, n, params, PGRES_COMMAND_OK, what, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

const char *invdb_val(const PGresult *r, int row, int col) {
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
    s->year = year;
    s->mon = month;
    int ly = year - INVDB_LATE_MONTHS / 12, lm = month - INVDB_LATE_MONTHS % 12;
    if (lm < 1) lm += 12, ly--;
    snprintf(s->late_from, sizeof s->late_from, "%04d-%02d-01", ly, lm);
    char d[32];
    snprintf(d, sizeof d, "%04d-%02d-01", year, month);
    s->start_s = invdb_day_s(d);
    snprintf(d, sizeof d, "%04d-%02d-01", ny, nm);
    s->end_s = invdb_day_s(d);
}

int64_t invdb_day_s(const char *date) {
    int y, m, dd;
    char tail;
    if (!date || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 || m < 1 || m > 12 ||
        dd < 1 || dd > pricing_month_days(y, m))
        return -1;
    /* days from 1970-01-01 (Howard Hinnant's days_from_civil): no time zone involved. */
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400;
}

char *invdb_number(const invdb_scope_t *s, const char *customer) {
    char *n = NULL;
    return asprintf(&n, "INV-%s-%s", s->number_month, customer) < 0 ? NULL : n;
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
    d->usage_part = calloc((size_t)n + 1, sizeof *d->usage_part);
    if (!d->usage_rows || !d->usage || !d->usage_sums || !d->usage_part) {
        snprintf(err, errlen, "out of memory reading usage");
        return -1;
    }
    pricing_u128 hits = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        const char *cust = val(u, i, 0);
        if (!d->nusage || strcmp(d->usage[d->nusage - 1].customer, cust)) {
            d->usage[d->nusage++] =
                (invdb_usage_t){cust, &d->usage_rows[i], &d->usage_part[i], 0, 0, 0, 0};
            hits = bytes = 0;
        }
        invdb_usage_t *g = &d->usage[d->nusage - 1];
        pricing_usage_t *r = &d->usage_rows[i];
        r->country = val(u, i, 1);
        d->usage_part[i] = strtoll(val(u, i, 4), NULL, 10);
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
    const PGresult *c = d->res[R_CUSTOMERS], *s = d->res[R_STORED], *p = d->res[R_CPLANS];
    int nc = PQntuples(c), ns = PQntuples(s), np = PQntuples(p);
    d->customers = calloc((size_t)nc + 1, sizeof *d->customers);
    d->stored = calloc((size_t)ns + 1, sizeof *d->stored);
    d->cplans = calloc((size_t)np + 1, sizeof *d->cplans);
    if (!d->customers || !d->stored || !d->cplans) {
        snprintf(err, errlen, "out of memory reading customers");
        return -1;
    }
    for (int i = 0; i < nc; i++)
        d->customers[d->ncustomers++] = (invdb_customer_t){
            val(c, i, 0), val(c, i, 1), val(c, i, 2), val(c, i, 3), val(c, i, 4), val(c, i, 5)};
    /* In strcmp order of the customer (COLLATE "C"), then by time: invdb_find_cplans bisects. */
    for (int i = 0; i < np; i++)
        d->cplans[d->ncplans++] =
            (invdb_cplan_t){val(p, i, 0), val(p, i, 1), strtoll(val(p, i, 2), NULL, 10)};
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
    _Static_assert(R_N == sizeof d->res / sizeof d->res[0], "one PGresult per query");
    struct {
        const char *sql, *what;
        int n;
        const char *const *params;
    } q[] = {
        {SQL_PLANS, "reading plans", 0, NULL},         {SQL_ZONES, "reading plan_zones", 0, NULL},
        {SQL_TIERS, "reading plan_tiers", 0, NULL},    {SQL_CUSTOMERS, "reading customers", 1, one},
        {SQL_USAGE, "reading usage_hourly", 3, usage}, {SQL_STORED, "reading invoices", 2, stored},
        {SQL_CPLANS, "reading customer_plans", 1, one}};
    for (int i = 0; i < R_N; i++) {
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
    free(d->usage_part);
    free(d->cplans);
    free(d->stored);
    free(d->out);
    free(d->out_lines);
    for (int i = 0; i < R_N; i++)
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

const invdb_cplan_t *invdb_find_cplans(const invdb_t *d, const char *customer, size_t *n) {
    size_t lo = 0, hi = d->ncplans;
    while (lo < hi) { /* first row >= customer */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(d->cplans[mid].customer, customer) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (hi = lo; hi < d->ncplans && !strcmp(d->cplans[hi].customer, customer); hi++)
        ;
    *n = hi - lo;
    return &d->cplans[lo];
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
                            val(ln, k, 5),       val(ln, k, 6), val(ln, k, 7), val(ln, k, 8)};
    /* Both are in customer order: an invoice's lines are the next run of its id. */
    for (int i = 0; i < ni; i++) {
        invfmt_invoice_t *o = &d->out[d->nout++];
        *o = (invfmt_invoice_t){val(iv, i, 1),
                                val(iv, i, 2),
                                val(iv, i, 3),
                                val(iv, i, 4),
                                val(iv, i, 5),
                                val(iv, i, 6),
                                val(iv, i, 7),
                                val(iv, i, 8),
                                val(iv, i, 9),
                                val(iv, i, 10),
                                &d->out_lines[j],
                                0,
                                val(iv, i, 12),
                                val(iv, i, 11),
                                .seq = val(iv, i, 13),
                                .issue_date = val(iv, i, 14),
                                .due_date = val(iv, i, 15),
                                .period_from = val(iv, i, 16),
                                .period_to = val(iv, i, 17),
                                .tax_rate = val(iv, i, 18),
                                .tax = val(iv, i, 19),
                                .topup = val(iv, i, 20),
                                .adjustments = val(iv, i, 21),
                                .credit_carried = val(iv, i, 22),
                                .customer_address = NULL};
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
