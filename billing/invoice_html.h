/* invoice_html.h: invoices as a document to send: one printable, self-contained HTML5 page.
 *
 * Pure formatting, like invoice_fmt.h (whose invfmt_invoice_t it prints): no database, no
 * arithmetic. Every figure is the stored decimal text, written as it is, so the document's
 * total is the CSV's total byte for byte.
 *
 * The document: <!DOCTYPE html>, UTF-8, CSS inline in <head> (no script, no image, no link, no
 * font: nothing is fetched), A4 pages when printed, one <article class="invoice"> per invoice,
 * each starting a new printed page. An invoice shows, top to bottom:
 *   - DRAFT (or PREVIEW) across the top unless it is final: not a document to pay;
 *   - the seller: name, address, tax id, e-mail (invoice_issuer; a field that is empty is left
 *     out, and with all empty the block is);
 *   - "Invoice" and its facts: number (the sequential number of a final invoice, with the
 *     INV-YYYYMM-customer reference beside it; a draft shows only its reference), status, issue
 *     date, due date, period, currency, tax rate (each only when known);
 *   - Bill to: customer name, customer id, billing address;
 *   - the lines in invfmt_order: usage lines, Subtotal, then minimum-commit top-up,
 *     adjustments and tax, then Total with the currency;
 *   - why the month was not complete, when it was not.
 * Machine-readable hooks (for tests and scripts): the article has data-invoice (number) and
 * data-status; each line's row has data-kind; the total's cell has data-total.
 *
 * Text: every string is escaped (& < > " ' as entities); bytes that are not valid UTF-8, control
 * characters other than tab, LF and CR, and Unicode noncharacters become U+FFFD; CR is dropped
 * (CR LF reads as LF); LF in an address is a line break. */
#ifndef INVOICE_HTML_H
#define INVOICE_HTML_H

#include "invoice_fmt.h"

#include <stddef.h>
#include <stdio.h>

/* Who sends the invoice. Strings borrowed; NULL reads as "". */
typedef struct invhtml_seller {
    const char *name;
    const char *address; /* lines separated by LF */
    const char *tax_id;  /* VAT or other tax registration number */
    const char *email;
} invhtml_seller_t;

/* Writes one document holding inv[0..n) to out; seller[i] is inv[i]'s seller (seller NULL: no
 * seller block). month (YYYY-MM) titles a document without invoices. 0, or -1 with err when
 * writing failed or memory ran out. */
int invhtml_write(FILE *out, const char *month, const invfmt_invoice_t *inv,
                  const invhtml_seller_t *seller, size_t n, char *err, size_t errlen);

/* s as HTML text or attribute value (see above); with br, LF is written as <br>. NULL is "". */
void invhtml_text(FILE *out, const char *s, int br);

/* A tax rate as a percentage, exactly: "0.2" -> "20", "0.075" -> "7.5", "0" -> "0". 0, or -1
 * (out untouched) when rate is not a plain non-negative decimal or does not fit in cap. */
int invhtml_percent(const char *rate, char *out, size_t cap);

#endif
