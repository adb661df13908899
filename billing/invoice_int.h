/* invoice_int.h: what the files of `billing invoice` share (invoice.c runs it; invoice_preview.c
 * keeps what needs attention and the invoices --preview priced without writing them). Private
 * to billing/invoice*.c. */
#ifndef INVOICE_INT_H
#define INVOICE_INT_H

#include "edges_db.h"
#include "invoice_adjust.h"
#include "invoice_db.h"
#include "invoice_fmt.h"
#include "invoice_month.h"
#include "pricing.h"

#include <stdint.h>

#define INVOICE_ERR_MAX 1024

typedef struct opts {
    const char *month, *customer, *db, *role, *topic;
    int year, mon;
    invfmt_format_t format;
    int finalize, strict;
    int64_t grace_ms;     /* a month is complete once every edge is billed past end + this */
    int force_incomplete; /* --force-incomplete: finalize an incomplete month ... */
    const char *reason;   /* ... for this reason, kept with each invoice */
    int preview;          /* --preview: compute and print, write nothing (READ ONLY) */
    int role_set;         /* --role given: --preview then keeps it */
    const char *output;   /* --output DIR: one HTML file per invoice there */
} opts_t;

/* What needs attention; every string owned. */
typedef struct attn {
    invfmt_attention_t *v;
    size_t n, cap;
} attn_t;

/* ---- one run -------------------------------------------------------------------------------- */

/* An invoice --preview priced and did not write; printed as if read back, status "preview". */
typedef struct preview {
    invfmt_invoice_t out;  /* strings borrowed from the customer, plan and inv below */
    pricing_invoice_t inv; /* owned */
    char *number;          /* owned */
    invfmt_line_t *lines;  /* owned */
    char period_from[16], period_to[16];
} preview_t;

typedef struct run {
    PGconn *conn;
    const opts_t *o;
    const invdb_scope_t *s;
    invdb_t d;
    invadj_t adj; /* final months of the late-usage window */
    attn_t att;
    edgesdb_t edges;
    char *incomplete; /* why the month is not complete (edgesdb_incomplete), NULL if it is */
    int refused;      /* --finalize of an incomplete month without --force-incomplete */
    preview_t *pv;    /* --preview: the invoices priced, in customer order */
    size_t npv;
    invfmt_invoice_t *show; /* what is printed: d.out, or (--preview) an owned merge */
    size_t nshow;
    char err[INVOICE_ERR_MAX];
} run_t;

/* Records what needs attention; out of memory makes the calling function return -1. */
#define ATTEND(r, ...)                                                                             \
    do {                                                                                           \
        if (invoice_attend(&(r)->att, __VA_ARGS__) < 0) {                                          \
            snprintf((r)->err, sizeof(r)->err, "out of memory");                                   \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* Adds one thing that needs attention (strings copied). 0, or -1 when out of memory. */
int invoice_attend(attn_t *a, const char *kind, const char *customer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void invoice_attn_free(attn_t *a);
/* One warning line per thing that needs attention. */
void invoice_attn_log(const attn_t *a);

/* --preview: keeps customer c's invoice priced as *inv (taken over: fini'd on failure). */
int invoice_preview_keep(run_t *r, const invdb_customer_t *c, const invdb_plan_t *plan,
                         const invmonth_t *m, pricing_invoice_t *inv);
/* --preview: r->show = the final invoices read back and the priced ones, in customer order. */
int invoice_preview_merge(run_t *r);
void invoice_preview_free(run_t *r);

#endif
