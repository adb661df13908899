/* invoice_html.c: see invoice_html.h. */
#include "invoice_html.h"

#include "jsonw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- text ----------------------------------------------------------------------------------- */

/* The code point of the valid UTF-8 sequence p[0..k), k from jsonw_utf8_seq. */
static unsigned long codepoint(const unsigned char *p, size_t k) {
    static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    unsigned long cp = p[0] & lead_mask[k];
    for (size_t i = 1; i < k; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    return cp;
}

/* Characters HTML5 calls parse errors when they appear as text: controls other than tab, LF,
 * FF and CR (FF is left out too; CR never gets here), C1 controls and noncharacters. */
static int forbidden(unsigned long cp) {
    return (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp <= 0x9F) ||
           (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

void invhtml_text(FILE *out, const char *s, int br) {
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n) {
        size_t k = jsonw_utf8_seq(p, n);
        unsigned long cp = k ? codepoint(p, k) : 0xFFFD;
        if (!k) k = 1;
        switch (cp) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        case '\r': /* of a CR LF typed on Windows: the LF ends the line */
            break;
        case '\n':
            fputs(br ? "<br>\n" : "\n", out);
            break;
        default:
            if (cp == 0xFFFD || forbidden(cp))
                fputs("\xEF\xBF\xBD", out);
            else
                fwrite(p, 1, k, out);
        }
        p += k;
        n -= k;
    }
}

int invhtml_percent(const char *rate, char *out, size_t cap) {
    if (!rate) return -1;
    size_t ni = strspn(rate, "0123456789"), nf = 0;
    const char *frac = rate + ni;
    if (*frac == '.') {
        frac++;
        nf = strspn(frac, "0123456789");
        if (!nf) return -1;
    }
    if (!ni || frac[nf] != 0) return -1;
    /* digits of rate x 100: the integer digits, then the first two fraction digits (padded
     * with 0), a point, the rest; then leading and trailing zeros dropped. */
    char d[128];
    if (ni + nf + 4 > sizeof d) return -1;
    size_t m = 0;
    memcpy(d, rate, ni);
    m = ni;
    for (size_t i = 0; i < 2; i++)
        d[m++] = i < nf ? frac[i] : '0';
    size_t int_end = m;
    for (size_t i = 2; i < nf; i++)
        d[m++] = frac[i];
    while (m > int_end && d[m - 1] == '0')
        m--;
    size_t lead = 0;
    while (lead + 1 < int_end && d[lead] == '0')
        lead++;
    size_t len = m - lead + (m > int_end);
    if (len + 1 > cap) return -1;
    char *o = out;
    memcpy(o, d + lead, int_end - lead);
    o += int_end - lead;
    if (m > int_end) {
        *o++ = '.';
        memcpy(o, d + int_end, m - int_end);
        o += m - int_end;
    }
    *o = 0;
    return 0;
}

/* ---- the document --------------------------------------------------------------------------- */

/* On screen an invoice is an A4 sheet (794 x 1123 px at 96 px/in) with 16 mm margins, so a
 * screenshot shows the page as it prints; printed, the page margins do that on every page (a
 * long invoice continues on the next with the same margins and its table head repeated). */
static const char CSS[] =
    "@page{size:A4;margin:16mm}\n"
    "*{box-sizing:border-box}\n"
    "html{background:#e8e8e8}\n"
    "body{margin:0;color:#111;font:10pt/1.45 \"DejaVu Sans\",\"Liberation Sans\",Arial,"
    "sans-serif}\n"
    ".invoice{width:210mm;min-height:297mm;margin:0 auto 8mm;padding:16mm 16mm 14mm;"
    "background:#fff}\n"
    ".invoice+.invoice{break-before:page;page-break-before:always}\n"
    "@media print{html{background:#fff}.invoice{width:auto;min-height:0;margin:0;padding:0}}\n"
    ".banner{border:2px solid #b3261e;color:#b3261e;font-weight:bold;letter-spacing:.3em;"
    "text-align:center;padding:2mm;margin-bottom:6mm}\n"
    ".top{display:flex;justify-content:space-between;gap:10mm;align-items:flex-start}\n"
    ".party p{margin:0}\n"
    ".party .name{font-weight:bold;font-size:11pt}\n"
    ".facts{text-align:right}\n"
    "h1{font-size:22pt;margin:0 0 3mm;letter-spacing:.04em;font-weight:600}\n"
    "h2{font-size:8pt;text-transform:uppercase;letter-spacing:.12em;color:#666;margin:0 0 1mm}\n"
    "table{border-collapse:collapse}\n"
    ".facts table{margin-left:auto}\n"
    ".facts th{text-align:left;font-weight:normal;color:#555;padding:0 5mm 0 0}\n"
    ".facts td{text-align:right;padding:0}\n"
    ".billto{margin-top:9mm}\n"
    ".lines{width:100%;margin-top:9mm}\n"
    ".lines th,.lines td{padding:1.6mm 2mm;border-bottom:1px solid #ddd;vertical-align:top}\n"
    ".lines thead th{border-bottom:1.5px solid #111;text-align:left;font-size:8.5pt;"
    "color:#444}\n"
    ".lines .num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    ".lines tr{break-inside:avoid;page-break-inside:avoid}\n"
    ".lines .sum td{border-bottom:none}\n"
    ".lines .sum .label{text-align:right}\n"
    ".lines .subtotal td{border-top:1.5px solid #111}\n"
    ".lines .total td{border-top:1.5px solid #111;border-bottom:3px double #111;"
    "font-weight:bold;font-size:11.5pt}\n"
    ".note{margin-top:6mm;color:#555;font-size:9pt}\n";

#define COLS 6 /* #, description, quantity, unit, unit price, amount */

static void attr(FILE *out, const char *name, const char *value) {
    fprintf(out, " %s=\"", name);
    invhtml_text(out, value, 0);
    fputc('"', out);
}

static int set(const char *s) {
    return s && *s;
}

/* <p class="cls">text</p>, when text is set. */
static void para(FILE *out, const char *cls, const char *prefix, const char *text) {
    if (!set(text)) return;
    fputs(cls ? "<p" : "<p>", out);
    if (cls) {
        attr(out, "class", cls);
        fputc('>', out);
    }
    if (prefix) fputs(prefix, out);
    invhtml_text(out, text, 1);
    fputs("</p>\n", out);
}

static void seller_block(FILE *out, const invhtml_seller_t *s) {
    if (!s || !(set(s->name) || set(s->address) || set(s->tax_id) || set(s->email))) {
        fputs("<div class=\"party seller\"></div>\n", out);
        return;
    }
    fputs("<div class=\"party seller\">\n", out);
    para(out, "name", NULL, s->name);
    para(out, "address", NULL, s->address);
    para(out, NULL, "Tax id ", s->tax_id);
    para(out, NULL, NULL, s->email);
    fputs("</div>\n", out);
}

/* One row of the facts table, when value is set. */
static void fact(FILE *out, const char *label, const char *value) {
    if (!set(value)) return;
    fprintf(out, "<tr><th>%s</th><td>", label);
    invhtml_text(out, value, 0);
    fputs("</td></tr>\n", out);
}

static void facts_block(FILE *out, const invfmt_invoice_t *inv) {
    char first[16], last[16], period[40], pct[64];
    int final = set(inv->status) && !strcmp(inv->status, "final");
    invfmt_period(inv, first, last);
    snprintf(period, sizeof period, "%s to %s", first, last);
    fputs("<div class=\"facts\">\n<h1>Invoice</h1>\n<table>\n", out);
    if (final && set(inv->seq)) {
        fact(out, "Invoice number", inv->seq);
        fact(out, "Reference", inv->number);
    } else {
        fact(out, final ? "Invoice number" : "Draft reference", inv->number);
    }
    fact(out, "Status", inv->status);
    fact(out, "Issue date", inv->issue_date);
    fact(out, "Due date", inv->due_date);
    fact(out, "Period", period);
    fact(out, "Currency", inv->currency);
    if (set(inv->tax_rate)) {
        if (invhtml_percent(inv->tax_rate, pct, sizeof pct - 2) == 0)
            strcat(pct, " %");
        else
            snprintf(pct, sizeof pct, "%.60s", inv->tax_rate);
        fact(out, "Tax rate", pct);
    }
    fputs("</table>\n</div>\n", out);
}

static void billto_block(FILE *out, const invfmt_invoice_t *inv) {
    fputs("<div class=\"party billto\">\n<h2>Bill to</h2>\n", out);
    para(out, "name", NULL, inv->customer_name);
    para(out, NULL, "Customer id ", inv->customer);
    para(out, "address", NULL, inv->customer_address);
    fputs("</div>\n", out);
}

static void cell(FILE *out, int num, const char *s) {
    fputs(num ? "<td class=\"num\">" : "<td>", out);
    invhtml_text(out, s, 0);
    fputs("</td>", out);
}

static void line_row(FILE *out, const invfmt_line_t *l) {
    static const char *const kinds[] = {"usage", "minimum", "adjustment", "tax"};
    fprintf(out, "<tr data-kind=\"%s\"><td class=\"num\">%d</td>", kinds[invfmt_kind(l)],
            l->line_no);
    cell(out, 0, l->description);
    cell(out, 1, l->quantity);
    cell(out, 0, l->unit);
    cell(out, 1, l->unit_price);
    cell(out, 1, l->amount);
    fputs("</tr>\n", out);
}

/* Subtotal or Total: the label across the first columns, the amount under Amount. */
static void sum_row(FILE *out, const char *cls, const char *label, const char *currency,
                    const char *amount, int is_total) {
    fprintf(out, "<tr class=\"sum %s\"><td class=\"label\" colspan=\"%d\">%s", cls, COLS - 1,
            label);
    if (currency) {
        fputc(' ', out);
        invhtml_text(out, currency, 0);
    }
    fputs("</td><td class=\"num\"", out);
    if (is_total) attr(out, "data-total", amount);
    fputc('>', out);
    invhtml_text(out, amount, 0);
    fputs("</td></tr>\n", out);
}

static int lines_table(FILE *out, const invfmt_invoice_t *inv) {
    size_t *idx = calloc(inv->nlines + 1, sizeof *idx);
    if (!idx) return -1;
    size_t nusage = invfmt_order(inv, idx);
    fputs("<table class=\"lines\">\n<thead><tr><th class=\"num\">#</th><th>Description</th>"
          "<th class=\"num\">Quantity</th><th>Unit</th><th class=\"num\">Unit price</th>"
          "<th class=\"num\">Amount</th></tr></thead>\n<tbody>\n",
          out);
    for (size_t j = 0; j < nusage; j++)
        line_row(out, &inv->lines[idx[j]]);
    if (!nusage) fprintf(out, "<tr><td></td><td colspan=\"%d\">No usage</td></tr>\n", COLS - 1);
    sum_row(out, "subtotal", "Subtotal", NULL, inv->subtotal, 0);
    for (size_t j = nusage; j < inv->nlines; j++)
        line_row(out, &inv->lines[idx[j]]);
    sum_row(out, "total", "Total", inv->currency, inv->total, 1);
    fputs("</tbody>\n</table>\n", out);
    free(idx);
    return 0;
}

static int invoice(FILE *out, const invfmt_invoice_t *inv, const invhtml_seller_t *seller) {
    int final = set(inv->status) && !strcmp(inv->status, "final");
    fputs("<article class=\"invoice\"", out);
    attr(out, "data-invoice", inv->number);
    attr(out, "data-status", inv->status);
    fputs(">\n", out);
    if (!final)
        fprintf(out, "<div class=\"banner\">%s: NOT AN INVOICE TO PAY</div>\n",
                set(inv->status) && !strcmp(inv->status, "preview") ? "PREVIEW" : "DRAFT");
    fputs("<div class=\"top\">\n", out);
    seller_block(out, seller);
    facts_block(out, inv);
    fputs("</div>\n", out);
    billto_block(out, inv);
    if (lines_table(out, inv) < 0) return -1;
    if (inv->incomplete_reason) {
        fputs("<p class=\"note\">Finalized before every edge had reported: ", out);
        invhtml_text(out, inv->incomplete_reason, 0);
        fputs(" (", out);
        invhtml_text(out, inv->incomplete, 0);
        fputs(").</p>\n", out);
    } else if (inv->incomplete) {
        fputs("<p class=\"note\">The month is not complete yet: ", out);
        invhtml_text(out, inv->incomplete, 0);
        fputs(".</p>\n", out);
    }
    fputs("</article>\n", out);
    return 0;
}

int invhtml_write(FILE *out, const char *month, const invfmt_invoice_t *inv,
                  const invhtml_seller_t *seller, size_t n, char *err, size_t errlen) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          out);
    if (n == 1) {
        fputs("Invoice ", out);
        invhtml_text(out, set(inv[0].seq) ? inv[0].seq : inv[0].number, 0);
    } else {
        fputs("Invoices ", out);
        invhtml_text(out, month, 0);
    }
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", CSS);
    if (!n) {
        fputs("<p>No invoices for ", out);
        invhtml_text(out, month, 0);
        fputs(".</p>\n", out);
    }
    for (size_t i = 0; i < n; i++)
        if (invoice(out, &inv[i], seller ? &seller[i] : NULL) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    fputs("</body>\n</html>\n", out);
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "writing the invoices: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}
