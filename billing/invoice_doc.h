/* invoice_doc.h: `billing invoice --format html`: the seller and the billing addresses an
 * invoice document shows, read from the database, then the document written (invoice_html).
 *
 * Where each comes from (schema/008_invoice_documents.sql): the seller is the one row of
 * invoice_issuer, the address is customers.billing_address. A final invoice shows them as they
 * were when it was finalized (copied into the invoice by a trigger then), so it prints the same
 * forever; a draft or preview shows them as they are now. An invoice whose customer_address is
 * already set (filled by whoever read the invoice back) keeps it.
 *
 * Runs on the connection of the invoice run, after its transaction (what is read is immutable
 * for final invoices, and current for the others); a role with billing_reader's rights is
 * enough. */
#ifndef INVOICE_DOC_H
#define INVOICE_DOC_H

#include "invoice_fmt.h"

#include <libpq-fe.h>
#include <stdio.h>

/* Writes inv[0..n) of month as HTML: with dir NULL, one document holding them all to out;
 * else one document per invoice, dir/<number>.html (replaced if it exists), and each path
 * written as a line on out. inv is not changed (a copy gets the addresses). 0, or -1 with err
 * (a database error, a number that cannot be a file name, a file that cannot be written). */
int invdoc_print(PGconn *conn, const char *month, const invfmt_invoice_t *inv, size_t n,
                 const char *dir, FILE *out, char *err, size_t errlen);

#endif
