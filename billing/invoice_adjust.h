/* invoice_adjust.h: late usage of finalized months, billed once as adjustment lines.
 *
 * A final invoice never changes. Usage of its month that arrives (or is corrected) after it was
 * finalized is billed on the customer's next draft as adjustment lines, priced as the difference
 * between pricing that month now (its plans and parts, all its usage) and pricing it with the
 * usage already billed, line by line: "Adjustment for 2026-11: zone eu, +0.42 GB" (the extra GB
 * at the tier's price), "Adjustment for 2026-11: requests, +1.5 x 10k", and, when the month was
 * topped up to its minimum commit, a negative "minimum commit top-up" line for the part of the
 * top-up the late usage now covers. So tiers and the minimum come out as if the usage had been
 * there at finalization.
 *
 * Billed once: the usage a final month has been billed for is the usage snapshot
 * (invoice_usage) of the latest final invoice holding one for it: its own, or the last final
 * invoice that carried an adjustment for it (invoice_adjustments). A draft carrying an
 * adjustment is recomputed by every run; when it is finalized, its snapshot becomes the month's
 * and the same late usage is never billed again.
 *
 * Usage that went down is billed the same way: negative lines (a credit), and an invoice whose
 * credits exceed the rest carries them forward (invadj_credit, schema/010).
 *
 * Not billed, reported as usage_after_final (needs a person): a month finalized before
 * snapshots existed (schema 007), a month whose stored charge no longer matches its pricing from
 * the billed usage (its inputs changed), a currency other than the carrying invoice's, a
 * customer with no later invoice. Late usage is billed from the INVDB_LATE_MONTHS months before
 * the invoiced month; older months are only reported (invadj_old). */
#ifndef INVOICE_ADJUST_H
#define INVOICE_ADJUST_H

#include "invoice_db.h"
#include "pricing.h"

#include <libpq-fe.h>

/* One final month of one customer within the window. */
typedef struct invadj_month {
    const char *customer;
    const char *month;      /* YYYY-MM */
    char first_day[16];     /* YYYY-MM-01 */
    const char *invoice_id; /* its final invoice */
    const char *number;
    const char *charged; /* subtotal + top-up of it + adjustments billed for it so far */
    const char *base_id; /* the invoice whose snapshot is billed; NULL: none (before 007) */
    const char *usage_hits, *usage_bytes; /* the totals its own invoice was priced from */
    int64_t start_s, end_s;
    pricing_usage_t *base, *now; /* billed and current usage, per part and country */
    int64_t *base_part, *now_part;
    size_t nbase, nnow;
    char now_hits[PRICING_NUM_MAX], now_bytes[PRICING_NUM_MAX];
    int changed;   /* now differs from base */
    int decreased; /* some (part, country) of base is lower or gone in now */
    int too_large; /* a sum does not fit 64 bits */
} invadj_month_t;

typedef struct invadj {
    PGresult *res[3];  /* finals, billed rows, current rows of months with a plan change */
    PGresult *credits; /* customer, number, credit_carried of each latest final with a credit */
    PGresult *plain[INVDB_LATE_MONTHS + 1]; /* current rows of each final month, the others */
    size_t nplain;
    invadj_month_t *months; /* by customer (byte order), then month */
    size_t nmonths;
    pricing_usage_t *rows; /* storage of every base and now array */
    int64_t *parts;
} invadj_t;

/* Reads the final months in [s->late_from, s->month] of the customers in scope, with their
 * billed and current usage, in the run's transaction. 0, or -1 with err; invadj_free always. */
int invadj_load(PGconn *c, const invdb_scope_t *s, invadj_t *a, char *err, size_t errlen);
void invadj_free(invadj_t *a);

/* The final month `month` (YYYY-MM) of customer, or NULL. */
const invadj_month_t *invadj_find(const invadj_t *a, const char *customer, const char *month);

/* Called for each late change that cannot be billed: one sentence. */
typedef int (*invadj_note_fn)(void *ctx, const char *customer, const char *detail);

/* Adds to inv (priced in currency `cur` with `minor` decimals, not yet closed) the adjustment
 * lines of every final month of customer c before `month` whose usage changed, and appends to
 * snaps (room for INVDB_LATE_MONTHS more) one snapshot per month billed. What cannot be billed
 * goes to note. 0, or -1 with err (out of memory, or note failed). */
int invadj_bill(const invadj_t *a, const invdb_t *d, const invdb_customer_t *c, const char *month,
                const char *cur, int minor, pricing_invoice_t *inv, invdb_snapshot_t *snaps,
                size_t *nsnaps, invadj_note_fn note, void *ctx, char *err, size_t errlen);

/* The reason late usage of m cannot be billed on a later draft, checked without pricing
 * (decrease, no snapshot, too large) into why; 0 when none is known yet. */
int invadj_unbillable(const invadj_month_t *m, char *why, size_t cap);

/* Credits larger than an invoice: brings forward, as a negative adjustment line ("Credit
 * brought forward from INV-202610-acme"), the credit_carried of the customer's latest final
 * invoice (by seq; one in another currency than cur goes to note instead), then, when subtotal +
 * top-up + adjustments of inv is below 0, adds the line "Credit carried forward to the next
 * invoice" that brings it to 0 and sets inv->carried to it (else "0"). Call after invadj_bill,
 * before pricing_close (so tax is on what is left, never on a negative amount). 0, or -1 with err.
 */
int invadj_credit(const invadj_t *a, const char *customer, const char *cur, int minor,
                  pricing_invoice_t *inv, invadj_note_fn note, void *ctx, char *err, size_t errlen);

/* Late usage older than the window: the final months before s->late_from whose usage changed
 * after they were billed (noted by schema/009's usage_old_edits, then compared with the usage
 * billed for them), each reported through note, never billed. 0, or -1 with err. */
int invadj_old(PGconn *c, const invdb_scope_t *s, invadj_note_fn note, void *ctx, char *err,
               size_t errlen);

#endif
