/* invoice_db.h: the PostgreSQL side of `billing invoice`: what it reads, writes and reads back
 * (invoice_db.c reads, invoice_save.c writes; invoice_adjust.c reads the late usage).
 *
 * One run is one REPEATABLE READ transaction, after a session advisory lock that serializes
 * concurrent runs (two finance scripts at once): every figure comes from one snapshot of
 * usage_hourly, and the usage totals a finalized invoice records are exactly those it was priced
 * from. The lock is taken before the transaction begins, so the snapshot is taken after the
 * previous run committed. Everything is read sorted by byte order (COLLATE "C"); the loaders
 * sort again in C so that lookups never depend on the database's collation.
 *
 * Strings in the structs below point into the PGresults held by invdb_t: valid until
 * invdb_free. */
#ifndef INVOICE_DB_H
#define INVOICE_DB_H

#include "invoice_fmt.h"
#include "pricing.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* pg_advisory_lock key of `billing invoice`: "billinv" in ASCII (migrate uses "billing"). */
#define INVDB_LOCK_KEY "27700462113877622"

/* The month and customers a run covers. */
typedef struct invdb_scope {
    char month[8];        /* "2026-11" */
    char number_month[7]; /* "202611", for invoice numbers */
    char first_day[11];   /* "2026-11-01": invoices.month */
    char start[32];       /* "2026-11-01 00:00:00+00": first hour of the month, UTC */
    char end[32];         /* the first hour of the next month: usage is hour >= start, < end */
    const char *customer; /* --customer, or NULL for every customer */
    int year, mon;
    int64_t start_s, end_s; /* start and end as seconds since the epoch */
    char late_from[32];     /* first day of the earliest month searched for late usage */
} invdb_scope_t;

/* Late usage is looked for in the INVDB_LATE_MONTHS months before the invoiced month: `billing
 * run` refuses hits more than 35 days old, so late hits can only reach the month before the
 * current one (a hand edit can reach further: within this window it is billed or reported).
 * Each run also reads the usage of each of these months that has a final invoice. */
#define INVDB_LATE_MONTHS 3

typedef struct invdb_plan {
    const char *id;
    pricing_plan_t p;      /* zones and tiers point into the arrays below */
    pricing_zone_t *zones; /* owned */
    pricing_tier_t *tiers; /* owned */
} invdb_plan_t;

typedef struct invdb_customer {
    const char *id, *name;
    const char *plan;        /* NULL: the customer has no plan */
    const char *active_from; /* YYYY-MM-DD, first active day; NULL: open */
    const char *active_to;   /* YYYY-MM-DD, last active day (inclusive); NULL: open */
    const char *tax_rate;    /* decimal text, 0..1 */
} invdb_customer_t;

/* One row of customer_plans: plan from `from` (seconds since the epoch, a whole hour) until the
 * customer's next row. */
typedef struct invdb_cplan {
    const char *customer, *plan;
    int64_t from;
} invdb_cplan_t;

/* The month's usage of one customer id (which may be missing from customers). */
typedef struct invdb_usage {
    const char *customer;
    pricing_usage_t *rows; /* per part and country; points into invdb_t */
    const int64_t *part;   /* rows[i] fell in the part of the month starting at part[i] (seconds
                              since the epoch); -1: in hours without a plan */
    size_t nrows;
    const char *hits, *bytes; /* totals, decimal text (owned by invdb_t) */
    /* A country's sum does not fit uint64_t: cannot be priced (the totals above then count
     * only the rows that fit). */
    int too_large;
} invdb_usage_t;

/* An invoice already stored for the month. */
typedef struct invdb_stored {
    const char *id, *customer, *number;
    int final;
    const char *usage_bytes, *usage_hits; /* what it was priced from */
} invdb_stored_t;

typedef struct invdb {
    PGresult *res[7]; /* plans, zones, tiers, customers, usage, stored, customer_plans */
    invdb_plan_t *plans;
    size_t nplans;
    invdb_customer_t *customers;
    size_t ncustomers;
    invdb_cplan_t *cplans; /* sorted by customer, then from */
    size_t ncplans;
    pricing_usage_t *usage_rows;
    int64_t *usage_part;
    invdb_usage_t *usage; /* one per customer id with usage */
    size_t nusage;
    char (*usage_sums)[2][PRICING_NUM_MAX]; /* hits, bytes of each usage[] */
    invdb_stored_t *stored;
    size_t nstored;
    /* read back by invdb_read: */
    PGresult *out_res[2]; /* invoices, lines */
    invfmt_invoice_t *out;
    size_t nout;
    invfmt_line_t *out_lines;
} invdb_t;

/* Session lock, then BEGIN ISOLATION LEVEL REPEATABLE READ. 0, or -1 with err. */
int invdb_begin(PGconn *c, char *err, size_t errlen);
int invdb_commit(PGconn *c, char *err, size_t errlen);
/* --preview: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, without the lock (it writes
 * nothing, so it neither waits for a run nor holds one up; PostgreSQL refuses any write in it).
 * 0, or -1 with err. */
int invdb_begin_read(PGconn *c, char *err, size_t errlen);

/* Reads the plans, the customers in scope, their usage in the month and their stored invoices
 * into d (zeroed first). 0, or -1 with err; invdb_free(d) either way. */
int invdb_load(PGconn *c, const invdb_scope_t *s, invdb_t *d, char *err, size_t errlen);
void invdb_free(invdb_t *d);

/* Lookups in what invdb_load read: NULL when absent. */
const invdb_plan_t *invdb_find_plan(const invdb_t *d, const char *id);
const invdb_customer_t *invdb_find_customer(const invdb_t *d, const char *id);
/* customer's rows of customer_plans, by time: *n of them (0: none) from the pointer returned. */
const invdb_cplan_t *invdb_find_cplans(const invdb_t *d, const char *customer, size_t *n);
const invdb_usage_t *invdb_find_usage(const invdb_t *d, const char *customer);
const invdb_stored_t *invdb_find_stored(const invdb_t *d, const char *customer);

/* Whether and how a saved invoice is finalized. */
typedef struct invdb_final {
    int finalize;           /* make it final */
    const char *reason;     /* --force-incomplete's reason, NULL when the month is complete */
    const char *incomplete; /* why the month was not complete then, NULL when it was */
} invdb_final_t;

/* One part of a month as priced (invoice_parts). */
typedef struct invdb_part {
    const char *plan;
    int64_t from, to; /* seconds since the epoch, [from, to) */
} invdb_part_t;

/* Usage an invoice was priced from for one month (invoice_usage): its own, or an earlier final
 * month's whose late usage it carries (then with the adjustment's amount, invoice_adjustments). */
typedef struct invdb_snapshot {
    char for_month[16];          /* YYYY-MM-01 */
    const pricing_usage_t *rows; /* per part and country */
    const int64_t *part;         /* the part start of each row */
    size_t nrows;
    const char *month_invoice_id; /* adjustments only: the final invoice of for_month */
    char amount[PRICING_NUM_MAX]; /* adjustments only: sum of their lines */
} invdb_snapshot_t;

/* Everything invdb_save writes beside the priced lines. */
typedef struct invdb_extra {
    const invdb_part_t *parts;
    size_t nparts;
    const char *period_from, *period_to; /* YYYY-MM-DD */
    const char *tax_rate;
    const invdb_snapshot_t *snaps; /* [0] is the invoice's own month */
    size_t nsnaps;
} invdb_extra_t;

/* Writes the draft of customer c priced as inv (insert, or replace a draft's values and lines),
 * with x's parts, usage snapshots and adjustments, and finalizes it as f says (the schema's
 * trigger then gives the number, issue and due dates). 0, or -1 with err. */
int invdb_save(PGconn *conn, const invdb_scope_t *s, const invdb_customer_t *c,
               const invdb_plan_t *plan, const pricing_invoice_t *inv, const invdb_extra_t *x,
               const invdb_final_t *f, char *err, size_t errlen);

/* Deletes a draft that can no longer be computed (its customer lost the plan, or the plan
 * cannot price the usage): a stale draft must not be printed as if current. */
int invdb_delete_draft(PGconn *conn, const invdb_stored_t *st, char *err, size_t errlen);

/* Reads the month's invoices in scope back, with their lines, into d->out[0..d->nout). */
int invdb_read(PGconn *conn, const invdb_scope_t *s, invdb_t *d, char *err, size_t errlen);

/* Fills s for month (YYYY-MM, valid) and customer (borrowed, may be NULL). */
void invdb_scope_init(invdb_scope_t *s, int year, int month, const char *customer);

/* The invoice number of customer in s's month: "INV-YYYYMM-<customer>" (malloc'd), or NULL. */
char *invdb_number(const invdb_scope_t *s, const char *customer);

/* ---- helpers shared with invoice_adjust.c -------------------------------------------------- */

/* Runs sql; returns its result when its status is want, else NULL with err naming what. */
PGresult *invdb_exec(PGconn *c, const char *sql, int n, const char *const *params,
                     ExecStatusType want, const char *what, char *err, size_t errlen);
/* A value, NULL when SQL NULL. */
const char *invdb_val(const PGresult *r, int row, int col);
/* "YYYY-MM-DD" -> seconds since the epoch of its 00:00 UTC; -1 when malformed. */
int64_t invdb_day_s(const char *date);

#endif
