/* invoice_month.h: one customer's month cut into parts by its plan changes, and priced.
 *
 * The rules (README, "Finance: life cycle, plans over time, late usage, tax and numbering"):
 *   - the customer is active from active_from 00:00 UTC to the end of active_to (NULL: open);
 *     a month wholly outside gets no invoice (INVMONTH_INACTIVE);
 *   - the plan in effect at an hour is customer_plans' latest row at or before it; each stretch
 *     of the month under one plan is a part (adjacent rows naming the same plan are one part);
 *     hours before the first row have no plan: usage there cannot be priced, and a month with no
 *     plan at all is INVMONTH_NO_PLAN;
 *   - each part is priced alone by its plan (tiers from 0 GB in each part), its minimum commit
 *     prorated by its active hours over the month's hours (pricing_compute_share); with more
 *     than one part every line says which ("Plan std, 2026-11-01 00:00 to 2026-11-15 12:00 UTC:
 *     ..."); every part's plan must have the same currency.
 * Usage rows carry the start of the part they fell in (invoice_db's usage query); a row belongs
 * to the part whose [from, to) holds that start. */
#ifndef INVOICE_MONTH_H
#define INVOICE_MONTH_H

#include "invoice_db.h"
#include "pricing.h"

#include <stdint.h>

enum { INVMONTH_OK = 0, INVMONTH_INACTIVE = 1, INVMONTH_NO_PLAN = 2 };

typedef struct invmonth {
    invdb_part_t *parts;        /* owned array; plan ids borrowed from invdb_t */
    const invdb_plan_t **plans; /* owned array: the plan of each part */
    uint32_t *hours;            /* owned array: active hours of each part */
    size_t nparts;
    uint32_t month_hours;
    char period_from[16], period_to[16]; /* YYYY-MM-DD: active days of the month, inclusive */
} invmonth_t;

/* Cuts customer c's month [start_s, end_s) into parts (m zeroed first; invmonth_fini it always).
 * Returns INVMONTH_OK, INVMONTH_INACTIVE, INVMONTH_NO_PLAN, or -1 with err (a plan missing, out
 * of memory). */
int invmonth_init(invmonth_t *m, const invdb_t *d, const invdb_customer_t *c, int64_t start_s,
                  int64_t end_s, char *err, size_t errlen);
void invmonth_fini(invmonth_t *m);

/* Prices rows[0..n) (part[i]: the part start of rows[i]) into *out (zeroed here; the caller
 * pricing_invoice_fini()s it, also after a failure): the parts' lines in order, not yet closed
 * (pricing_close adds tax and the totals). 0, or -1 with err saying why it cannot be priced. */
int invmonth_price(const invmonth_t *m, const pricing_usage_t *rows, const int64_t *part, size_t n,
                   pricing_invoice_t *out, char *err, size_t errlen);

/* The currency and minor units of the month (of its first part). */
const pricing_plan_t *invmonth_plan(const invmonth_t *m);

#endif
