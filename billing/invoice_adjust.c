/* invoice_adjust.c: see invoice_adjust.h. Loading (three queries over one CTE of the final
 * months), comparing billed with current usage, and pricing the difference line by line. */
#include "invoice_adjust.h"

#include "invoice_month.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The final months of the window, with the invoice whose snapshot is billed (the latest final
 * one by number: its own, or the last carrier of an adjustment for it) and what was charged. */
#define SQL_FINALS_CTE                                                                             \
    "WITH f AS (SELECT f.customer_id, f.month, f.id, f.number,"                                    \
    " (f.subtotal + f.topup + coalesce(a.amount, 0))::text AS charged, b.id AS base_id,"           \
    " f.usage_hits::text AS usage_hits, f.usage_bytes::text AS usage_bytes"                        \
    " FROM invoices f"                                                                             \
    " LEFT JOIN LATERAL (SELECT sum(x.amount) FROM invoice_adjustments x"                          \
    "   JOIN invoices c ON c.id = x.invoice_id"                                                    \
    "   WHERE c.status = 'final' AND x.month_invoice_id = f.id) a(amount) ON true"                 \
    " LEFT JOIN LATERAL (SELECT y.id FROM (SELECT f.id, f.seq WHERE f.seq IS NOT NULL"             \
    "   UNION ALL SELECT c.id, c.seq FROM invoice_adjustments x JOIN invoices c"                   \
    "   ON c.id = x.invoice_id WHERE c.status = 'final' AND x.month_invoice_id = f.id) y"          \
    "   ORDER BY y.seq DESC LIMIT 1) b(id) ON true"                                                \
    " WHERE f.status = 'final' AND f.month >= $1::date AND f.month <= $2::date"                    \
    " AND ($3::text IS NULL OR f.customer_id = $3))"

static const char SQL_FINALS[] = SQL_FINALS_CTE
    " SELECT customer_id, to_char(month, 'YYYY-MM'), id::text, number, charged, base_id::text,"
    " usage_hits, usage_bytes FROM f ORDER BY customer_id COLLATE \"C\", month";
static const char SQL_BASE[] = SQL_FINALS_CTE
    " SELECT f.customer_id, to_char(f.month, 'YYYY-MM'),"
    " extract(epoch FROM u.part_from)::bigint::text, u.country, u.hits::text,"
    " u.bytes::text"
    " FROM f JOIN invoice_usage u ON u.invoice_id = f.base_id AND u.for_month = f.month"
    " ORDER BY f.customer_id COLLATE \"C\", f.month, u.part_from, u.country COLLATE \"C\"";
/* Current usage of the window's final months, in two kinds of queries (a customer's month is
 * in one of them): per month that has a final invoice, the usage of customers without a plan
 * change inside it, summed per customer and country exactly as the invoiced month's usage is
 * (one parallel scan of that month; rows of customers without a final invoice for it are
 * skipped in C); and the final months with a plan change inside (cut, rare), by the range join
 * against the customer's plan rows, reading only that customer's usage of that month. Each row with
 * the start of its part, as invoice_db's usage query does; both sorted as SQL_BASE: by customer,
 * month, part (-1 first), country, in byte order. */
static const char SQL_NOW_PLAIN[] = /* $1, $2: the month's first and next month's first day */
    "SELECT u.customer_id, to_char($1::date, 'YYYY-MM'),"
    " extract(epoch FROM $1::date::timestamp AT TIME ZONE 'UTC')::bigint::text,"
    " u.country, trunc(sum(u.hits))::text, trunc(sum(u.bytes))::text FROM usage_hourly u"
    " WHERE u.hour >= $1::date::timestamp AT TIME ZONE 'UTC'"
    " AND u.hour < $2::date::timestamp AT TIME ZONE 'UTC'"
    " AND ($3::text IS NULL OR u.customer_id = $3)"
    " AND NOT EXISTS (SELECT 1 FROM customer_plans c WHERE c.customer_id = u.customer_id"
    " AND c.valid_from > $1::date::timestamp AT TIME ZONE 'UTC'"
    " AND c.valid_from < $2::date::timestamp AT TIME ZONE 'UTC')"
    " GROUP BY u.customer_id, u.country ORDER BY u.customer_id COLLATE \"C\", u.country COLLATE "
    "\"C\"";
static const char SQL_NOW_CUT[] = SQL_FINALS_CTE
    ", mm AS (SELECT DISTINCT month AS m, month::timestamp AT TIME ZONE 'UTC' AS s,"
    " (month + interval '1 month')::timestamp AT TIME ZONE 'UTC' AS e FROM f),"
    " cut AS (SELECT DISTINCT c.customer_id, mm.m, mm.s, mm.e FROM customer_plans c"
    " JOIN mm ON c.valid_from > mm.s AND c.valid_from < mm.e"
    " JOIN f ON f.customer_id = c.customer_id AND f.month = mm.m),"
    " r AS (SELECT customer_id, valid_from, lead(valid_from) OVER"
    " (PARTITION BY customer_id ORDER BY valid_from) AS valid_to FROM customer_plans"
    " WHERE customer_id IN (SELECT customer_id FROM cut)),"
    " g AS (SELECT u.customer_id, cut.m, u.country, sum(u.hits) AS hits, sum(u.bytes) AS bytes,"
    " greatest(r.valid_from, cut.s) AS part FROM cut JOIN usage_hourly u"
    " ON u.customer_id = cut.customer_id AND u.hour >= cut.s AND u.hour < cut.e"
    " LEFT JOIN r ON r.customer_id = u.customer_id AND u.hour >= r.valid_from"
    " AND (r.valid_to IS NULL OR u.hour < r.valid_to) GROUP BY 1, 2, 3, 6)"
    " SELECT customer_id, to_char(m, 'YYYY-MM'),"
    " coalesce(extract(epoch FROM part)::bigint::text, '-1'), country, trunc(hits)::text,"
    " trunc(bytes)::text FROM g"
    " ORDER BY customer_id COLLATE \"C\", m, part NULLS FIRST, country COLLATE \"C\"";

/* The credit each customer's latest final invoice (by seq) carried forward, when not 0. */
static const char SQL_CREDITS[] =
    "SELECT customer_id, number, credit_carried::text, currency FROM (SELECT DISTINCT ON"
    " (customer_id) customer_id, number, credit_carried, currency FROM invoices"
    " WHERE status = 'final'"
    " AND seq IS NOT NULL AND ($1::text IS NULL OR customer_id = $1)"
    " ORDER BY customer_id, seq DESC) x WHERE credit_carried > 0"
    " ORDER BY customer_id COLLATE \"C\"";

#define val invdb_val

void invadj_free(invadj_t *a) {
    free(a->months);
    free(a->rows);
    free(a->parts);
    for (int i = 0; i < 3; i++)
        PQclear(a->res[i]);
    PQclear(a->credits);
    for (size_t k = 0; k < a->nplain; k++)
        PQclear(a->plain[k]);
    memset(a, 0, sizeof *a);
}

/* Fills each month's rows of result r (customer, month, part, country, hits, bytes: in the
 * months' order) into base or now. */
static void attach_rows(invadj_t *a, const PGresult *r, int now, size_t *used) {
    int n = PQntuples(r), i = 0;
    for (size_t k = 0; k < a->nmonths; k++) {
        invadj_month_t *m = &a->months[k];
        pricing_usage_t *rows = &a->rows[*used];
        int64_t *parts = &a->parts[*used];
        size_t cnt = 0;
        pricing_u128 hits = 0, bytes = 0;
        /* both are sorted by customer (byte order) and month: skip rows of months not listed */
        while (i < n &&
               (strcmp(val(r, i, 0), m->customer) < 0 ||
                (!strcmp(val(r, i, 0), m->customer) && strcmp(val(r, i, 1), m->month) < 0)))
            i++;
        for (; i < n && !strcmp(val(r, i, 0), m->customer) && !strcmp(val(r, i, 1), m->month);
             i++) {
            pricing_usage_t *u = &rows[cnt];
            parts[cnt] = strtoll(val(r, i, 2), NULL, 10);
            u->country = val(r, i, 3);
            if (pricing_u64_parse(val(r, i, 4), &u->hits) < 0 ||
                pricing_u64_parse(val(r, i, 5), &u->bytes) < 0)
                m->too_large = 1;
            hits += u->hits;
            bytes += u->bytes;
            cnt++;
        }
        *used += cnt;
        if (now && !cnt && m->nnow) continue; /* the month's rows came from the other query */
        if (now) {
            m->now = rows, m->now_part = parts, m->nnow = cnt;
            pricing_dec_format(hits, 0, 0, m->now_hits, sizeof m->now_hits);
            pricing_dec_format(bytes, 0, 0, m->now_bytes, sizeof m->now_bytes);
        } else {
            m->base = rows, m->base_part = parts, m->nbase = cnt;
        }
    }
}

/* changed / decreased: both lists are sorted by (part, country). */
static void compare(invadj_month_t *m) {
    size_t i = 0, j = 0;
    m->changed = m->nbase != m->nnow;
    while (i < m->nbase) {
        while (j < m->nnow && (m->now_part[j] < m->base_part[i] ||
                               (m->now_part[j] == m->base_part[i] &&
                                strcmp(m->now[j].country, m->base[i].country) < 0)))
            j++, m->changed = 1;
        if (j == m->nnow || m->now_part[j] != m->base_part[i] ||
            strcmp(m->now[j].country, m->base[i].country)) {
            m->changed = m->decreased = 1; /* a billed (part, country) is gone */
            i++;
            continue;
        }
        if (m->now[j].hits != m->base[i].hits || m->now[j].bytes != m->base[i].bytes)
            m->changed = 1;
        if (m->now[j].hits < m->base[i].hits || m->now[j].bytes < m->base[i].bytes)
            m->decreased = 1;
        i++, j++;
    }
    if (j < m->nnow) m->changed = 1;
}

/* SQL_NOW_PLAIN for each month of the window that has a final invoice (SQL_FINALS, res[0]). */
static int load_plain(PGconn *c, const invdb_scope_t *s, invadj_t *a, char *err, size_t errlen) {
    const PGresult *f = a->res[0];
    int nf = PQntuples(f);
    char from[16] = "", next[16];
    for (int y = 0, m = 0, k = 0; k <= INVDB_LATE_MONTHS; k++) {
        if (!k && sscanf(s->late_from, "%4d-%2d", &y, &m) != 2) return -1;
        snprintf(from, sizeof from, "%04d-%02d", y % 10000, m % 100);
        if (++m > 12) m = 1, y++;
        snprintf(next, sizeof next, "%04d-%02d-01", y % 10000, m % 100);
        int any = 0;
        for (int i = 0; i < nf && !any; i++)
            any = !strcmp(val(f, i, 1), from);
        if (!any) continue;
        char first[24];
        snprintf(first, sizeof first, "%.7s-01", from);
        const char *p[3] = {first, next, s->customer};
        a->plain[a->nplain] =
            invdb_exec(c, SQL_NOW_PLAIN, 3, p, PGRES_TUPLES_OK, "reading late usage", err, errlen);
        if (!a->plain[a->nplain]) return -1;
        a->nplain++;
    }
    return 0;
}

int invadj_load(PGconn *c, const invdb_scope_t *s, invadj_t *a, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    const char *p[3] = {s->late_from, s->first_day, s->customer};
    const char *sql[3] = {SQL_FINALS, SQL_BASE, SQL_NOW_CUT};
    const char *what[3] = {"reading final invoices", "reading invoice_usage",
                           "reading late usage of months with a plan change"};
    for (int i = 0; i < 3; i++)
        if (!(a->res[i] = invdb_exec(c, sql[i], 3, p, PGRES_TUPLES_OK, what[i], err, errlen)))
            return -1;
    const PGresult *f = a->res[0];
    int nf = PQntuples(f);
    if (load_plain(c, s, a, err, errlen) < 0) return -1;
    if (!(a->credits = invdb_exec(c, SQL_CREDITS, 1, &s->customer, PGRES_TUPLES_OK,
                                  "reading credits carried forward", err, errlen)))
        return -1;
    size_t nrows = (size_t)PQntuples(a->res[1]) + (size_t)PQntuples(a->res[2]);
    for (size_t k = 0; k < a->nplain; k++)
        nrows += (size_t)PQntuples(a->plain[k]);
    a->months = calloc((size_t)nf + 1, sizeof *a->months);
    a->rows = calloc(nrows + 1, sizeof *a->rows);
    a->parts = calloc(nrows + 1, sizeof *a->parts);
    if (!a->months || !a->rows || !a->parts) {
        snprintf(err, errlen, "out of memory reading late usage");
        return -1;
    }
    for (int i = 0; i < nf; i++) {
        invadj_month_t *m = &a->months[a->nmonths++];
        m->customer = val(f, i, 0);
        m->month = val(f, i, 1);
        m->invoice_id = val(f, i, 2);
        m->number = val(f, i, 3);
        m->charged = val(f, i, 4);
        m->base_id = val(f, i, 5);
        m->usage_hits = val(f, i, 6);
        m->usage_bytes = val(f, i, 7);
        snprintf(m->first_day, sizeof m->first_day, "%.7s-01", m->month);
        m->start_s = invdb_day_s(m->first_day);
        int y, mo;
        pricing_month_parse(m->month, &y, &mo);
        m->end_s = m->start_s + (int64_t)pricing_month_days(y, mo) * 86400;
    }
    size_t used = 0;
    attach_rows(a, a->res[1], 0, &used);
    /* a customer's month is in one of these: each keeps what an earlier one found */
    attach_rows(a, a->res[2], 1, &used);
    for (size_t k = 0; k < a->nplain; k++)
        attach_rows(a, a->plain[k], 1, &used);
    for (size_t k = 0; k < a->nmonths; k++)
        if (a->months[k].base_id)
            compare(&a->months[k]);
        else /* before 007: only the totals its invoice was priced from are known */
            a->months[k].changed = strcmp(a->months[k].usage_hits, a->months[k].now_hits) ||
                                   strcmp(a->months[k].usage_bytes, a->months[k].now_bytes);
    return 0;
}

/* The index of customer's first month (months are sorted by customer in byte order, as
 * SQL_FINALS returns them), or a->nmonths. */
static size_t first_of(const invadj_t *a, const char *customer) {
    size_t lo = 0, hi = a->nmonths;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(a->months[mid].customer, customer) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const invadj_month_t *invadj_find(const invadj_t *a, const char *customer, const char *month) {
    for (size_t k = first_of(a, customer);
         k < a->nmonths && !strcmp(a->months[k].customer, customer); k++)
        if (!strcmp(a->months[k].month, month)) return &a->months[k];
    return NULL;
}

int invadj_unbillable(const invadj_month_t *m, char *why, size_t cap) {
    if (!m->changed) return 0;
    if (!m->base_id)
        snprintf(why, cap,
                 "invoice %s is final, priced from %s hits and %s bytes; usage_hourly now holds "
                 "%s hits and %s bytes for %s (finalized before usage snapshots: not billed)",
                 m->number, m->usage_hits, m->usage_bytes, m->now_hits, m->now_bytes, m->month);
    else if (m->too_large)
        snprintf(why, cap, "late usage of %s: a country's sum exceeds 2^64: not billed", m->month);
    else
        return 0;
    return 1;
}

/* ---- pricing the difference ----------------------------------------------------------------- */

static const pricing_line_t *match(const pricing_invoice_t *inv, const pricing_line_t *l) {
    for (size_t i = 0; i < inv->nlines; i++) {
        const pricing_line_t *o = &inv->lines[i];
        if (o->part == l->part && o->kind == l->kind && o->tier == l->tier &&
            !(o->zone ? !l->zone || strcmp(o->zone, l->zone) : l->zone != NULL))
            return o;
    }
    return NULL;
}

/* What a line is about, for "Adjustment for M: <this>, +Q": its description without
 * "Data transfer, ", and "requests" / "minimum commit top-up" (with any part label). */
static void subject(const pricing_line_t *l, char *buf, size_t cap) {
    const char *d = l->description, *t;
    if (l->kind == PRICING_LINE_DATA && (t = strstr(d, "Data transfer, "))) {
        snprintf(buf, cap, "%.*s%s", (int)(t - d), d, t + strlen("Data transfer, "));
    } else {
        const char *colon = strstr(d, " UTC: ");
        int pre = colon ? (int)(colon - d) + 6 : 0;
        snprintf(buf, cap, "%.*s%s", pre, d,
                 l->kind == PRICING_LINE_REQUESTS ? "requests" : "minimum commit top-up");
    }
}

/* The adjustment line for line l (of now, or of base when now lost it: a top-up the late usage
 * covers whole) going from q0, a0 (billed) to q1, a1 (now); *sum adds its amount. */
static int emit(const char *month, const pricing_line_t *l, int qs, __int128 q1, __int128 q0,
                __int128 a1, __int128 a0, int minor, pricing_invoice_t *inv, __int128 *sum,
                char *err, size_t errlen) {
    char what[400], desc[600], qty[PRICING_NUM_MAX + 1], amt[PRICING_NUM_MAX + 1],
        price[PRICING_NUM_MAX + 1];
    if (l->kind == PRICING_LINE_MINIMUM) q0 = q1; /* quantity 1 in both: only money moved */
    if (q1 == q0 && a1 == a0) return 0;
    subject(l, what, sizeof what);
    pricing_sdec_format(a1 - a0, minor, amt, sizeof amt);
    snprintf(price, sizeof price, "%s", l->unit_price);
    if (l->kind == PRICING_LINE_MINIMUM) { /* -1 x the top-up no longer owed (or +1 x more) */
        snprintf(qty, sizeof qty, "%s", a1 < a0 ? "-1" : "1");
        pricing_sdec_format(a1 < a0 ? a0 - a1 : a1 - a0, minor, price, sizeof price);
        snprintf(desc, sizeof desc, "Adjustment for %s: %s", month, what);
    } else { /* more usage (+), or less (-: a credit) */
        char d[PRICING_NUM_MAX];
        pricing_dec_format((pricing_u128)(q1 < q0 ? q0 - q1 : q1 - q0), qs, 0, d, sizeof d);
        snprintf(qty, sizeof qty, "%s%s", q1 < q0 ? "-" : "", d);
        snprintf(desc, sizeof desc, "Adjustment for %s: %s, %c%s%s", month, what,
                 q1 < q0 ? '-' : '+', d, l->kind == PRICING_LINE_DATA ? " GB" : " x 10k");
    }
    if (pricing_add_adjustment(inv, desc, l->zone, l->unit, qty, price, amt, err, errlen) < 0)
        return -1;
    *sum += a1 - a0;
    return 0;
}

static int quantity_scale(const pricing_line_t *l) {
    return l->kind == PRICING_LINE_DATA       ? PRICING_GB_SCALE
           : l->kind == PRICING_LINE_REQUESTS ? PRICING_REQ_SCALE
                                              : 0;
}

/* One adjustment line per line that differs between base and now (matched by part, kind, zone
 * and tier); *sum adds the amounts. */
static int diff_lines(const char *month, const pricing_invoice_t *base,
                      const pricing_invoice_t *now, int minor, pricing_invoice_t *inv,
                      __int128 *sum, char *err, size_t errlen) {
    for (int pass = 0; pass < 2; pass++) {
        const pricing_invoice_t *x = pass ? base : now, *y = pass ? now : base;
        for (size_t i = 0; i < x->nlines; i++) {
            const pricing_line_t *l = &x->lines[i], *o = match(y, l);
            if (pass && o) continue; /* matched lines were done in the first pass */
            int qs = quantity_scale(l);
            __int128 qx, qy = 0, ax, ay = 0;
            if (pricing_sdec_parse(l->quantity, qs, &qx) < 0 ||
                pricing_sdec_parse(l->amount, minor, &ax) < 0 ||
                (o && (pricing_sdec_parse(o->quantity, qs, &qy) < 0 ||
                       pricing_sdec_parse(o->amount, minor, &ay) < 0))) {
                snprintf(err, errlen, "unreadable line in the pricing of %s", month);
                return -1;
            }
            int r = pass ? emit(month, l, qs, 0, qx, 0, ax, minor, inv, sum, err, errlen)
                         : emit(month, l, qs, qx, qy, ax, ay, minor, inv, sum, err, errlen);
            if (r < 0) return -1;
        }
    }
    return 0;
}

/* Prices m's billed and current usage; checks the billed pricing against what was charged; adds
 * the lines. 1 when billed (snapshot filled), 0 when not (why says), -1 on failure. */
static int bill_month(const invadj_month_t *m, const invdb_t *d, const invdb_customer_t *c,
                      const char *cur, int minor, pricing_invoice_t *inv, invdb_snapshot_t *sn,
                      char *why, size_t cap, char *err, size_t errlen) {
    int rc = 0;
    invmonth_t mo;
    pricing_invoice_t base = {0}, now = {0};
    char e[PRICING_ERR_MAX];
    __int128 charged, sum = 0, bt;
    int r = invmonth_init(&mo, d, c, m->start_s, m->end_s, e, sizeof e);
    if (r != INVMONTH_OK) {
        snprintf(why, cap, "late usage of %s: the month cannot be priced now (%s)", m->month,
                 r < 0 ? e : "no plan or not active");
        goto out;
    }
    const pricing_plan_t *p = invmonth_plan(&mo);
    if (strcmp(p->currency, cur) || p->minor_units != minor) {
        snprintf(why, cap, "late usage of %s is in %s, the next invoice in %s: not billed",
                 m->month, p->currency, cur);
        goto out;
    }
    if (invmonth_price(&mo, m->base, m->base_part, m->nbase, &base, e, sizeof e) < 0 ||
        invmonth_price(&mo, m->now, m->now_part, m->nnow, &now, e, sizeof e) < 0 ||
        pricing_close(&base, "0", minor, e, sizeof e) < 0 ||
        pricing_close(&now, "0", minor, e, sizeof e) < 0) {
        snprintf(why, cap, "late usage of %s cannot be priced: %s", m->month, e);
        goto out;
    }
    if (pricing_sdec_parse(m->charged, minor, &charged) < 0 ||
        pricing_sdec_parse(base.total, minor, &bt) < 0 || charged != bt) {
        snprintf(why, cap,
                 "late usage of %s: invoice %s charged %s, but its billed usage prices at %s "
                 "now (plans or active days changed): not billed",
                 m->month, m->number, m->charged, base.total);
        goto out;
    }
    rc = -1;
    if (diff_lines(m->month, &base, &now, minor, inv, &sum, err, errlen) < 0) goto out;
    *sn = (invdb_snapshot_t){
        .rows = m->now, .part = m->now_part, .nrows = m->nnow, .month_invoice_id = m->invoice_id};
    snprintf(sn->for_month, sizeof sn->for_month, "%s", m->first_day);
    pricing_sdec_format(sum, minor, sn->amount, sizeof sn->amount);
    rc = 1;
out:
    pricing_invoice_fini(&base);
    pricing_invoice_fini(&now);
    invmonth_fini(&mo);
    return rc;
}

int invadj_bill(const invadj_t *a, const invdb_t *d, const invdb_customer_t *c, const char *month,
                const char *cur, int minor, pricing_invoice_t *inv, invdb_snapshot_t *snaps,
                size_t *nsnaps, invadj_note_fn note, void *ctx, char *err, size_t errlen) {
    char why[1024];
    for (size_t k = first_of(a, c->id); k < a->nmonths && !strcmp(a->months[k].customer, c->id);
         k++) {
        const invadj_month_t *m = &a->months[k];
        if (strcmp(m->month, month) >= 0 || !m->changed) continue;
        int r = invadj_unbillable(m, why, sizeof why)
                    ? 0
                    : bill_month(m, d, c, cur, minor, inv, &snaps[*nsnaps], why, sizeof why, err,
                                 errlen);
        if (r < 0) return -1;
        if (r > 0) {
            (*nsnaps)++;
        } else if (note(ctx, c->id, why) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* ---- credits carried forward ----------------------------------------------------------------- */

/* The row of a->credits for customer, or -1 (sorted by customer in byte order). */
static int credit_row(const invadj_t *a, const char *customer) {
    int lo = 0, hi = PQntuples(a->credits);
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, k = strcmp(val(a->credits, mid, 0), customer);
        if (!k) return mid;
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Adds one credit line: amount x (qty "-1" or "1"), the price being the positive amount. */
static int credit_line(pricing_invoice_t *inv, const char *desc, __int128 amount, int minor,
                       char *err, size_t errlen) {
    char price[PRICING_NUM_MAX + 1], amt[PRICING_NUM_MAX + 1];
    pricing_sdec_format(amount < 0 ? -amount : amount, minor, price, sizeof price);
    pricing_sdec_format(amount, minor, amt, sizeof amt);
    return pricing_add_adjustment(inv, desc, NULL, PRICING_UNIT_MINIMUM, amount < 0 ? "-1" : "1",
                                  price, amt, err, errlen);
}

int invadj_credit(const invadj_t *a, const char *customer, const char *cur, int minor,
                  pricing_invoice_t *inv, invadj_note_fn note, void *ctx, char *err,
                  size_t errlen) {
    char desc[300];
    __int128 b = 0, pre = 0;
    int row = credit_row(a, customer);
    snprintf(inv->carried, sizeof inv->carried, "0");
    if (row >= 0 && (strcmp(val(a->credits, row, 3), cur) ||
                     pricing_sdec_parse(val(a->credits, row, 2), minor, &b) < 0)) {
        snprintf(desc, sizeof desc,
                 "invoice %.100s carried a credit of %.60s %.10s forward, which an invoice in "
                 "%.10s cannot take: settle it by hand",
                 val(a->credits, row, 1), val(a->credits, row, 2), val(a->credits, row, 3), cur);
        if (note(ctx, customer, desc) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    } else if (row >= 0) {
        snprintf(desc, sizeof desc, "Credit brought forward from %.150s", val(a->credits, row, 1));
        if (b > 0 && credit_line(inv, desc, -b, minor, err, errlen) < 0) return -1;
    }
    for (size_t i = 0; i < inv->nlines; i++) {
        __int128 x;
        if (pricing_sdec_parse(inv->lines[i].amount, minor, &x) < 0) {
            snprintf(err, errlen, "line %zu: amount %.60s unreadable", i + 1, inv->lines[i].amount);
            return -1;
        }
        pre += x;
    }
    if (pre >= 0) return 0;
    pricing_sdec_format(-pre, minor, inv->carried, sizeof inv->carried);
    return credit_line(inv, "Credit carried forward to the next invoice", -pre, minor, err, errlen);
}

/* ---- late usage older than the window ------------------------------------------------------- */

/* The final months before the window ($2: late_from) that usage_old_edits noted (schema/009), of
 * the customers in scope, whose usage now differs from the usage billed for them: per country
 * against the billed snapshot (SQL_FINALS_CTE's base_id), or in total before snapshots. */
static const char SQL_OLD[] = SQL_FINALS_CTE
    ", n AS (SELECT f.*, x.hits, x.bytes FROM f CROSS JOIN LATERAL"
    " (SELECT coalesce(sum(u.hits), 0) AS hits, coalesce(sum(u.bytes), 0) AS bytes"
    "  FROM usage_hourly u WHERE u.customer_id = f.customer_id"
    "  AND u.hour >= f.month::timestamp AT TIME ZONE 'UTC'"
    "  AND u.hour < (f.month + interval '1 month')::timestamp AT TIME ZONE 'UTC') x"
    " WHERE f.month < $2::date AND EXISTS (SELECT 1 FROM usage_old_edits e"
    "  WHERE e.customer_id = f.customer_id AND e.month = f.month))"
    " SELECT customer_id, to_char(month, 'YYYY-MM'), number, hits::text, bytes::text FROM n"
    " WHERE CASE WHEN base_id IS NULL THEN"
    "  (hits::text, bytes::text) IS DISTINCT FROM (usage_hits, usage_bytes)"
    " ELSE EXISTS (SELECT 1 FROM (SELECT u.country, sum(u.hits) AS h, sum(u.bytes) AS b"
    "  FROM usage_hourly u WHERE u.customer_id = n.customer_id"
    "  AND u.hour >= n.month::timestamp AT TIME ZONE 'UTC'"
    "  AND u.hour < (n.month + interval '1 month')::timestamp AT TIME ZONE 'UTC'"
    "  GROUP BY u.country) a FULL JOIN (SELECT i.country, sum(i.hits) AS h, sum(i.bytes) AS b"
    "  FROM invoice_usage i WHERE i.invoice_id = n.base_id::bigint AND i.for_month = n.month"
    "  GROUP BY i.country) b ON a.country = b.country"
    "  WHERE (a.h, a.b) IS DISTINCT FROM (b.h, b.b)) END"
    " ORDER BY customer_id COLLATE \"C\", month";

int invadj_old(PGconn *c, const invdb_scope_t *s, invadj_note_fn note, void *ctx, char *err,
               size_t errlen) {
    const char *p[3] = {"2000-01-01", s->late_from, s->customer};
    PGresult *r =
        invdb_exec(c, SQL_OLD, 3, p, PGRES_TUPLES_OK,
                   "reading usage changed in months before the late-usage window", err, errlen);
    if (!r) return -1;
    int rc = 0;
    char why[1024];
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        snprintf(why, sizeof why,
                 "usage of %s changed after invoice %s was finalized (now %s hits and %s bytes), "
                 "more than %d months before %s: late usage that old is not billed; settle it by "
                 "hand",
                 val(r, i, 1), val(r, i, 2), val(r, i, 3), val(r, i, 4), INVDB_LATE_MONTHS,
                 s->month);
        if (note(ctx, val(r, i, 0), why) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}
