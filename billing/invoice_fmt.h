/* invoice_fmt.h: invoices as text, CSV or JSON, from the stored invoice rows.
 *
 * Pure formatting (no database): invoice.c reads invoices and invoice_lines back after writing
 * them and hands their text here, so a final invoice prints from its stored values alone and
 * prints the same every time. Numbers are decimal text and are written as they are, never
 * converted (in JSON too: strings, so no reader turns money into a double).
 *
 *   csv   the contract's header `invoice,customer,month,line,description,quantity,unit,
 *         unit_price,amount,currency` and one more column, `status` (draft, final, preview),
 *         appended last so that every contract column keeps its place; one row per line, then
 *         per invoice a row whose description is TOTAL and whose amount is the total. Fields are
 *         quoted as RFC 4180 says: those holding a comma, a quote, CR or LF are quoted, quotes
 *         doubled. Lines end in LF.
 *   text  per invoice: number and status, dates, customer, plan, period, then the lines in
 *         aligned columns (numbers right-aligned; widths count UTF-8 characters) in the order
 *         of invfmt_order: the usage lines, Subtotal (their sum), then the minimum-commit
 *         top-up, adjustments and tax, then Total (the sum of every line).
 *   html  see invoice_html.h.
 *   json  {"month": "YYYY-MM", "invoices": [ {..., "lines": [...]}, ... ],
 *          "attention": [ {"kind": ..., "customer": ..., "detail": ...}, ... ]}
 *         Strings are escaped; bytes that are not valid UTF-8 become U+FFFD. */
#ifndef INVOICE_FMT_H
#define INVOICE_FMT_H

#include <stddef.h>
#include <stdio.h>

typedef enum invfmt_format { INVFMT_TEXT, INVFMT_CSV, INVFMT_JSON, INVFMT_HTML } invfmt_format_t;

/* The CSV header row: CONTRACT.md's columns, in its order, then status. */
#define INVFMT_CSV_HEADER                                                                          \
    "invoice,customer,month,line,description,quantity,unit,unit_price,amount,currency,status"

/* Every string is borrowed and NUL-terminated. */
typedef struct invfmt_line {
    int line_no; /* 1, 2, ... within the invoice */
    const char *description;
    const char *quantity; /* decimal text */
    const char *unit;     /* "GB", "10k requests", "" */
    const char *unit_price;
    const char *amount; /* rounded to the currency's minor unit */
    const char *zone;   /* "" unless a data line */
    /* "usage" (data and requests), "minimum" (the top-up to the minimum commit), "adjustment"
     * (late usage of an earlier, finalized month), "tax". NULL reads as "usage". */
    const char *kind;
} invfmt_line_t;

typedef struct invfmt_invoice {
    const char *number;   /* INV-YYYYMM-<customer> */
    const char *customer; /* customer id */
    const char *customer_name;
    const char *month;        /* YYYY-MM */
    const char *plan;         /* plan id */
    const char *currency;     /* ISO 4217 */
    const char *status;       /* "draft" or "final" */
    const char *finalized_at; /* ISO 8601 UTC, "" for a draft */
    const char *subtotal;     /* sum of the usage lines */
    const char *total;
    const invfmt_line_t *lines;
    size_t nlines;
    /* Why the month is not complete: for a final invoice, as it was when it was finalized with
     * --force-incomplete; for a draft, as it is now. NULL when complete. */
    const char *incomplete;
    const char *incomplete_reason; /* final only: the --reason it was finalized with, or NULL */
    /* Issue 10 (invoices you can send). Every one may be NULL (read as ""), e.g. in an invoice
     * stored before these existed. */
    const char *seq;         /* gapless sequential number given at finalization; "" for a draft */
    const char *issue_date;  /* YYYY-MM-DD, the day it was finalized; "" for a draft */
    const char *due_date;    /* issue date + the customer's payment terms; "" for a draft */
    const char *period_from; /* YYYY-MM-DD: first day billed (the customer's active_from if later
                                than the 1st) */
    const char *period_to;   /* YYYY-MM-DD: last day billed, inclusive */
    const char *tax_rate;    /* decimal text, e.g. "0.2" for 20 %; "0" when none */
    const char *tax;         /* the tax line's amount; "0" when none */
    const char *topup;       /* the minimum-commit top-up's amount; "0" when none */
    const char *adjustments; /* sum of the adjustment lines; "0" when none */
    const char *credit_carried;   /* credit carried forward to the next invoice; "0" when none */
    const char *customer_address; /* billing address, lines separated by LF; "" when unknown */
} invfmt_invoice_t;

/* Something `billing invoice` could not invoice, or found changed after finalization. */
typedef struct invfmt_attention {
    const char *kind;     /* unknown_customer, no_plan, cannot_price, usage_after_final */
    const char *customer; /* the customer id concerned */
    const char *detail;   /* one sentence */
} invfmt_attention_t;

/* What a line is for the layout, from its kind. */
typedef enum invfmt_kind {
    INVFMT_KIND_USAGE,      /* "usage", NULL, or a kind this code does not know */
    INVFMT_KIND_MINIMUM,    /* "minimum"; also a NULL kind whose description starts
                               INVFMT_MINIMUM_PREFIX (lines stored before kinds existed) */
    INVFMT_KIND_ADJUSTMENT, /* "adjustment" */
    INVFMT_KIND_TAX         /* "tax" */
} invfmt_kind_t;

/* How pricing.c starts the description of the top-up line (PRICING_LINE_MINIMUM). */
#define INVFMT_MINIMUM_PREFIX "Minimum commit"

invfmt_kind_t invfmt_kind(const invfmt_line_t *l);

/* The order documents show lines in: every usage line (in stored order), then minimum,
 * adjustment and tax lines (each group in stored order). Fills idx[0..inv->nlines) with
 * indexes into inv->lines; returns how many are usage lines (Subtotal goes after them). */
size_t invfmt_order(const invfmt_invoice_t *inv, size_t *idx);

/* The first and last day billed, YYYY-MM-DD: period_from and period_to when set, else the
 * calendar month (copies of month when it is malformed). */
void invfmt_period(const invfmt_invoice_t *inv, char first[16], char last[16]);

/* "text", "csv", "json", "html" -> *out; 0, or -1 for anything else. */
int invfmt_parse(const char *name, invfmt_format_t *out);

/* Each writes invoices[0..n) to out and returns 0, or -1 with err when writing failed. month
 * (YYYY-MM) heads the text and JSON outputs, also when there is no invoice. */
int invfmt_csv(FILE *out, const invfmt_invoice_t *inv, size_t n, char *err, size_t errlen);
int invfmt_text(FILE *out, const char *month, const invfmt_invoice_t *inv, size_t n, char *err,
                size_t errlen);
int invfmt_json(FILE *out, const char *month, const invfmt_invoice_t *inv, size_t n,
                const invfmt_attention_t *att, size_t natt, char *err, size_t errlen);

/* Writes s as one CSV field (quoted only when it must be). */
void invfmt_csv_field(FILE *out, const char *s);

#endif
