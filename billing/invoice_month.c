/* invoice_month.c: see invoice_month.h. */
#include "invoice_month.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_S 86400
#define HOUR_S 3600

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}
static int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

/* "YYYY-MM-DD" of t (seconds since the epoch, UTC). */
static void day_text(int64_t t, char out[16]) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

void invmonth_fini(invmonth_t *m) {
    free(m->parts);
    free(m->plans);
    free(m->hours);
    memset(m, 0, sizeof *m);
}

/* Adds the part [from, to) of plan, merged into the previous one when it has the same plan. */
static void add_part(invmonth_t *m, const invdb_plan_t *plan, int64_t from, int64_t to) {
    if (m->nparts && m->plans[m->nparts - 1] == plan && m->parts[m->nparts - 1].to == from) {
        m->parts[m->nparts - 1].to = to;
        return;
    }
    m->plans[m->nparts] = plan;
    m->parts[m->nparts++] = (invdb_part_t){plan->id, from, to};
}

int invmonth_init(invmonth_t *m, const invdb_t *d, const invdb_customer_t *c, int64_t start_s,
                  int64_t end_s, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    /* The active interval [af, at): active_to is the last active day, inclusive. */
    int64_t af = c->active_from ? invdb_day_s(c->active_from) : INT64_MIN;
    int64_t at = c->active_to ? invdb_day_s(c->active_to) + DAY_S : INT64_MAX;
    int64_t a0 = max64(af, start_s), a1 = min64(at, end_s);
    if (a0 >= a1) return INVMONTH_INACTIVE;
    day_text(a0, m->period_from);
    day_text(a1 - DAY_S, m->period_to);
    m->month_hours = (uint32_t)((end_s - start_s) / HOUR_S);

    size_t n;
    const invdb_cplan_t *cp = invdb_find_cplans(d, c->id, &n);
    m->parts = calloc(n + 1, sizeof *m->parts);
    m->plans = calloc(n + 1, sizeof *m->plans);
    m->hours = calloc(n + 1, sizeof *m->hours);
    if (!m->parts || !m->plans || !m->hours) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t from = max64(cp[i].from, start_s);
        int64_t to = min64(i + 1 < n ? cp[i + 1].from : INT64_MAX, end_s);
        if (from >= to) continue;
        const invdb_plan_t *plan = invdb_find_plan(d, cp[i].plan);
        if (!plan) {
            snprintf(err, errlen, "plan %.100s not found (or its currency is unknown)", cp[i].plan);
            return -1;
        }
        add_part(m, plan, from, to);
    }
    if (!m->nparts) return INVMONTH_NO_PLAN;
    for (size_t k = 0; k < m->nparts; k++) {
        int64_t o0 = max64(m->parts[k].from, a0), o1 = min64(m->parts[k].to, a1);
        m->hours[k] = o1 > o0 ? (uint32_t)((o1 - o0) / HOUR_S) : 0;
    }
    return INVMONTH_OK;
}

const pricing_plan_t *invmonth_plan(const invmonth_t *m) {
    return m->nparts ? &m->plans[0]->p : NULL;
}

/* "Plan std, 2026-11-01 00:00 to 2026-11-15 12:00 UTC" */
static void part_label(const invmonth_t *m, size_t k, char *buf, size_t cap) {
    char a[32], b[32];
    time_t t0 = (time_t)m->parts[k].from, t1 = (time_t)m->parts[k].to;
    struct tm x, y;
    gmtime_r(&t0, &x);
    gmtime_r(&t1, &y);
    strftime(a, sizeof a, "%Y-%m-%d %H:%M", &x);
    strftime(b, sizeof b, "%Y-%m-%d %H:%M", &y);
    snprintf(buf, cap, "Plan %s, %s to %s UTC", m->parts[k].plan, a, b);
}

int invmonth_price(const invmonth_t *m, const pricing_usage_t *rows, const int64_t *part, size_t n,
                   pricing_invoice_t *out, char *err, size_t errlen) {
    int rc = -1;
    pricing_usage_t *sel = calloc(n + 1, sizeof *sel);
    memset(out, 0, sizeof *out);
    if (!sel) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (part[i] < 0) {
            snprintf(err, errlen, "usage from country %.8s in hours when the customer had no plan",
                     rows[i].country);
            goto out;
        }
    const pricing_plan_t *first = invmonth_plan(m);
    size_t matched = 0;
    for (size_t k = 0; k < m->nparts; k++) {
        const pricing_plan_t *p = &m->plans[k]->p;
        if (strcmp(p->currency, first->currency)) {
            snprintf(err, errlen,
                     "plans %.100s (%.8s) and %.100s (%.8s) in one month: one invoice "
                     "has one currency",
                     m->parts[0].plan, first->currency, m->parts[k].plan, p->currency);
            goto out;
        }
        size_t ns = 0;
        for (size_t i = 0; i < n; i++)
            if (part[i] >= m->parts[k].from && part[i] < m->parts[k].to) sel[ns++] = rows[i];
        matched += ns;
        pricing_invoice_t one;
        char label[300] = "", e[PRICING_ERR_MAX];
        if (m->nparts > 1) part_label(m, k, label, sizeof label);
        if (pricing_compute_share(p, sel, ns, m->hours[k], m->month_hours, &one, e, sizeof e) < 0) {
            pricing_invoice_fini(&one);
            snprintf(err, errlen, "%s%s%s", label, *label ? ": " : "", e);
            goto out;
        }
        if (pricing_append(out, &one, (int)k, label, err, errlen) < 0) goto out;
    }
    if (matched != n) { /* usage before the customer's first plan (whose row starts mid-month):
                           its part start is the month's, which no part holds */
        snprintf(err, errlen, "%zu usage rows in hours when the customer had no plan", n - matched);
        goto out;
    }
    rc = 0;
out:
    free(sel);
    return rc;
}
