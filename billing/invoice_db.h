/* invoice_db.h: the PostgreSQL side of `billing invoice`: what it reads, writes and reads back.
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
} invdb_scope_t;

typedef struct invdb_plan {
    const char *id;
    pricing_plan_t p;      /* zones and tiers point into the arrays below */
    pricing_zone_t *zones; /* owned */
    pricing_tier_t *tiers; /* owned */
} invdb_plan_t;

typedef struct invdb_customer {
    const char *id, *name;
    const char *plan; /* NULL: the customer has no plan */
} invdb_customer_t;

/* The month's usage of one customer id (which may be missing from customers). */
typedef struct invdb_usage {
    const char *customer;
    pricing_usage_t *rows; /* per country; points into invdb_t */
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
    PGresult *res[6]; /* plans, zones, tiers, customers, usage, stored */
    invdb_plan_t *plans;
    size_t nplans;
    invdb_customer_t *customers;
    size_t ncustomers;
    pricing_usage_t *usage_rows;
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
const invdb_usage_t *invdb_find_usage(const invdb_t *d, const char *customer);
const invdb_stored_t *invdb_find_stored(const invdb_t *d, const char *customer);

/* Whether and how a saved invoice is finalized. */
typedef struct invdb_final {
    int finalize;           /* make it final */
    const char *reason;     /* --force-incomplete's reason, NULL when the month is complete */
    const char *incomplete; /* why the month was not complete then, NULL when it was */
} invdb_final_t;

/* Writes the draft of customer c priced as inv (insert, or replace a draft's values and lines),
 * and finalizes it as f says. 0, or -1 with err. */
int invdb_save(PGconn *conn, const invdb_scope_t *s, const invdb_customer_t *c,
               const invdb_plan_t *plan, const pricing_invoice_t *inv, const invdb_final_t *f,
               char *err, size_t errlen);

/* Deletes a draft that can no longer be computed (its customer lost the plan, or the plan
 * cannot price the usage): a stale draft must not be printed as if current. */
int invdb_delete_draft(PGconn *conn, const invdb_stored_t *st, char *err, size_t errlen);

/* Reads the month's invoices in scope back, with their lines, into d->out[0..d->nout). */
int invdb_read(PGconn *conn, const invdb_scope_t *s, invdb_t *d, char *err, size_t errlen);

/* Fills s for month (YYYY-MM, valid) and customer (borrowed, may be NULL). */
void invdb_scope_init(invdb_scope_t *s, int year, int month, const char *customer);

#endif
