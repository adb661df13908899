/* invoice_doc.c: see invoice_doc.h. */
#include "invoice_doc.h"

#include "invoice_html.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Per invoice, in the order given ($1 numbers, $2 customer ids): the billing address and the
 * seller; a final invoice's copies first, the current values where it has none. */
static const char SQL_DOC[] =
    "SELECT coalesce(i.doc_customer_address, c.billing_address, ''),"
    " coalesce(i.doc_seller_name, s.name, ''), coalesce(i.doc_seller_address, s.address, ''),"
    " coalesce(i.doc_seller_tax_id, s.tax_id, ''), coalesce(i.doc_seller_email, s.email, '')"
    " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(number, customer, n)"
    " LEFT JOIN customers c ON c.id = q.customer"
    " LEFT JOIN invoices i ON i.number = q.number AND i.status = 'final'"
    " LEFT JOIN invoice_issuer s ON true"
    " ORDER BY q.n";

/* One row per invoice, in order, into res. 0, or -1 with err. */
static int load(PGconn *conn, const invfmt_invoice_t *inv, size_t n, PGresult **res, char *err,
                size_t errlen) {
    store_buf_t num = {0}, cust = {0};
    int rc = -1, bad = 0;
    store_buf_begin(&num);
    store_buf_begin(&cust);
    for (size_t i = 0; i < n; i++)
        bad |= store_buf_quoted(&num, inv[i].number) | store_buf_quoted(&cust, inv[i].customer);
    bad |= store_buf_end(&num) | store_buf_end(&cust);
    if (bad) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    const char *p[2] = {num.p, cust.p};
    *res = PQexecParams(conn, SQL_DOC, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(*res) != PGRES_TUPLES_OK || (size_t)PQntuples(*res) != n) {
        snprintf(err, errlen, "reading the seller (invoice_issuer) and billing addresses: %s",
                 PQresultStatus(*res) == PGRES_TUPLES_OK ? "rows missing" : PQerrorMessage(conn));
        err[strcspn(err, "\n")] = 0;
        goto out;
    }
    rc = 0;
out:
    store_buf_free(&num);
    store_buf_free(&cust);
    return rc;
}

/* A number makes a file name when it has only the customer-id characters and does not start
 * with a dot (INV-YYYYMM-<customer id> always does). */
static int file_name_ok(const char *s) {
    return s && *s && *s != '.' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") == strlen(s);
}

/* One document per invoice into dir; each path on out. */
static int write_dir(const char *dir, const char *month, const invfmt_invoice_t *inv,
                     const invhtml_seller_t *seller, size_t n, FILE *out, char *err,
                     size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        char *path = NULL;
        if (!file_name_ok(inv[i].number)) {
            snprintf(err, errlen, "invoice number %.100s cannot be a file name", inv[i].number);
            return -1;
        }
        if (asprintf(&path, "%s/%s.html", dir, inv[i].number) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        FILE *f = fopen(path, "w");
        int rc = f ? invhtml_write(f, month, &inv[i], &seller[i], 1, err, errlen) : -1;
        if (!f) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (f && fclose(f) != 0 && rc == 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            rc = -1;
        }
        if (rc == 0) fprintf(out, "%s\n", path);
        free(path);
        if (rc < 0) return -1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "writing the list of files: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

int invdoc_print(PGconn *conn, const char *month, const invfmt_invoice_t *inv, size_t n,
                 const char *dir, FILE *out, char *err, size_t errlen) {
    int rc = -1;
    PGresult *res = NULL;
    invfmt_invoice_t *copy = calloc(n + 1, sizeof *copy);
    invhtml_seller_t *seller = calloc(n + 1, sizeof *seller);
    if (!copy || !seller) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (n && load(conn, inv, n, &res, err, errlen) < 0) goto out;
    for (size_t i = 0; i < n; i++) {
        copy[i] = inv[i];
        if (!copy[i].customer_address) copy[i].customer_address = PQgetvalue(res, (int)i, 0);
        seller[i] = (invhtml_seller_t){PQgetvalue(res, (int)i, 1), PQgetvalue(res, (int)i, 2),
                                       PQgetvalue(res, (int)i, 3), PQgetvalue(res, (int)i, 4)};
    }
    rc = dir ? write_dir(dir, month, copy, seller, n, out, err, errlen)
             : invhtml_write(out, month, copy, seller, n, err, errlen);
out:
    PQclear(res);
    free(copy);
    free(seller);
    return rc;
}
