/* invoice_fmt.c: see invoice_fmt.h. */
#include "invoice_fmt.h"

#include "jsonw.h"
#include "pricing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int invfmt_parse(const char *name, invfmt_format_t *out) {
    static const char *const names[] = {"text", "csv", "json", "html"};
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, names[i])) {
            *out = (invfmt_format_t)i;
            return 0;
        }
    return -1;
}

invfmt_kind_t invfmt_kind(const invfmt_line_t *l) {
    if (!l->kind) /* stored before kinds existed: only the top-up is told by its text */
        return l->description && !strncmp(l->description, INVFMT_MINIMUM_PREFIX,
                                          strlen(INVFMT_MINIMUM_PREFIX))
                   ? INVFMT_KIND_MINIMUM
                   : INVFMT_KIND_USAGE;
    if (!strcmp(l->kind, "minimum")) return INVFMT_KIND_MINIMUM;
    if (!strcmp(l->kind, "adjustment")) return INVFMT_KIND_ADJUSTMENT;
    if (!strcmp(l->kind, "tax")) return INVFMT_KIND_TAX;
    return INVFMT_KIND_USAGE;
}

size_t invfmt_order(const invfmt_invoice_t *inv, size_t *idx) {
    static const invfmt_kind_t order[] = {INVFMT_KIND_USAGE, INVFMT_KIND_MINIMUM,
                                          INVFMT_KIND_ADJUSTMENT, INVFMT_KIND_TAX};
    size_t n = 0, usage = 0;
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        for (size_t j = 0; j < inv->nlines; j++)
            if (invfmt_kind(&inv->lines[j]) == order[k]) idx[n++] = j;
        if (k == 0) usage = n;
    }
    return usage;
}

/* 0, or -1 with err when the stream reports a write error. */
static int finish(FILE *out, char *err, size_t errlen) {
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "writing the invoices: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

void invfmt_period(const invfmt_invoice_t *inv, char first[16], char last[16]) {
    int y, m;
    if (inv->period_from && *inv->period_from && inv->period_to && *inv->period_to) {
        snprintf(first, 16, "%.15s", inv->period_from);
        snprintf(last, 16, "%.15s", inv->period_to);
    } else if (pricing_month_parse(inv->month, &y, &m) < 0) {
        snprintf(first, 16, "%.15s", inv->month);
        snprintf(last, 16, "%.15s", inv->month);
    } else {
        snprintf(first, 16, "%04d-%02d-01", y, m);
        snprintf(last, 16, "%04d-%02d-%02d", y, m, pricing_month_days(y, m));
    }
}

/* ---- csv ------------------------------------------------------------------------------------ */

void invfmt_csv_field(FILE *out, const char *s) {
    if (!s) s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* One row: the invoice's first three fields, then the given six, the currency, the status. */
static void csv_row(FILE *out, const invfmt_invoice_t *inv, const char *const f[6]) {
    invfmt_csv_field(out, inv->number);
    fputc(',', out);
    invfmt_csv_field(out, inv->customer);
    fputc(',', out);
    invfmt_csv_field(out, inv->month);
    for (int i = 0; i < 6; i++) {
        fputc(',', out);
        invfmt_csv_field(out, f[i]);
    }
    fputc(',', out);
    invfmt_csv_field(out, inv->currency);
    fputc(',', out);
    invfmt_csv_field(out, inv->status);
    fputc('\n', out);
}

int invfmt_csv(FILE *out, const invfmt_invoice_t *inv, size_t n, char *err, size_t errlen) {
    fputs(INVFMT_CSV_HEADER "\n", out);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < inv[i].nlines; j++) {
            const invfmt_line_t *l = &inv[i].lines[j];
            char no[16];
            snprintf(no, sizeof no, "%d", l->line_no);
            const char *f[6] = {no, l->description, l->quantity, l->unit, l->unit_price, l->amount};
            csv_row(out, &inv[i], f);
        }
        const char *f[6] = {"", "TOTAL", "", "", "", inv[i].total};
        csv_row(out, &inv[i], f);
    }
    return finish(out, err, errlen);
}

/* ---- text ----------------------------------------------------------------------------------- */

/* Characters of UTF-8 text as a terminal shows them (one column each): the bytes that do not
 * continue a sequence. */
static size_t width(const char *s) {
    size_t w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(FILE *out, size_t n) {
    while (n-- > 0)
        fputc(' ', out);
}

/* s in a column of w characters, aligned left or right. */
static void cell(FILE *out, const char *s, size_t w, int right) {
    size_t sw = width(s);
    if (right) pad(out, w > sw ? w - sw : 0);
    fputs(s ? s : "", out);
    if (!right) pad(out, w > sw ? w - sw : 0);
}

enum { COL_NO, COL_DESC, COL_QTY, COL_UNIT, COL_PRICE, COL_AMOUNT, NCOLS };
static const char *const col_title[NCOLS] = {"#",    "Description", "Quantity",
                                             "Unit", "Unit price",  "Amount"};
static const int col_right[NCOLS] = {1, 0, 1, 0, 1, 1};
#define COL_GAP 2 /* spaces between columns */

static void text_row(FILE *out, const char *const f[NCOLS], const size_t w[NCOLS]) {
    for (int c = 0; c < NCOLS; c++) {
        if (c) pad(out, COL_GAP);
        cell(out, f[c], w[c], col_right[c]); /* the last (Amount) is right-aligned */
    }
    fputc('\n', out);
}

/* "Subtotal" / "Total USD" right-aligned under the unit price, the sum under the amounts. */
static void text_sum(FILE *out, const char *label, const char *amount, const size_t w[NCOLS]) {
    size_t before = 0;
    for (int c = 0; c < COL_AMOUNT; c++)
        before += w[c] + (c ? COL_GAP : 0);
    cell(out, label, before, 1);
    pad(out, COL_GAP);
    cell(out, amount, w[COL_AMOUNT], 1);
    fputc('\n', out);
}

/* The cells of one line; buf holds its number. */
static void line_cells(const invfmt_line_t *l, char buf[16], const char *f[NCOLS]) {
    snprintf(buf, 16, "%d", l->line_no);
    f[COL_NO] = buf;
    f[COL_DESC] = l->description;
    f[COL_QTY] = l->quantity;
    f[COL_UNIT] = l->unit;
    f[COL_PRICE] = l->unit_price;
    f[COL_AMOUNT] = l->amount;
}

static void text_rule(FILE *out, const size_t w[NCOLS]) {
    size_t rule = 0;
    for (int c = 0; c < NCOLS; c++)
        rule += w[c] + (c ? COL_GAP : 0);
    for (size_t i = 0; i < rule; i++)
        fputc('-', out);
    fputc('\n', out);
}

/* The head: number, status, dates, customer, plan, period. */
static void text_head(FILE *out, const invfmt_invoice_t *inv) {
    char first[16], last[16];
    invfmt_period(inv, first, last);
    if (inv->seq && *inv->seq)
        fprintf(out, "Invoice   %s (%s)\n", inv->seq, inv->number);
    else
        fprintf(out, "Invoice   %s\n", inv->number);
    fprintf(out, "Status    %s", inv->status);
    if (inv->finalized_at && *inv->finalized_at) fprintf(out, " since %s", inv->finalized_at);
    if (inv->incomplete_reason)
        fprintf(out, ", finalized incomplete: %s\nIncomplete %s", inv->incomplete_reason,
                inv->incomplete ? inv->incomplete : "");
    else if (inv->incomplete)
        fprintf(out, ", month not complete yet: %s", inv->incomplete);
    if (inv->issue_date && *inv->issue_date) {
        fprintf(out, "\nIssued    %s", inv->issue_date);
        if (inv->due_date && *inv->due_date) fprintf(out, ", due %s", inv->due_date);
    }
    fprintf(out, "\nCustomer  %s (%s)\n", inv->customer_name, inv->customer);
    fprintf(out, "Plan      %s, %s\n", inv->plan, inv->currency);
    fprintf(out, "Period    %s to %s, UTC\n\n", first, last);
}

/* The lines in invfmt_order: usage, a rule and Subtotal, then top-up, adjustments and tax,
 * a rule (when there were any) and Total: the lines above Subtotal add up to it, every line to
 * the Total. */
static int text_invoice(FILE *out, const invfmt_invoice_t *inv) {
    char total_label[32], buf[16];
    const char *f[NCOLS];
    size_t *idx = calloc(inv->nlines + 1, sizeof *idx);
    if (!idx) return -1;
    size_t nusage = invfmt_order(inv, idx);
    text_head(out, inv);

    /* Column widths: the widest cell of each, titles and sums included. */
    size_t w[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        w[c] = width(col_title[c]);
    for (size_t j = 0; j < inv->nlines; j++) {
        line_cells(&inv->lines[j], buf, f);
        for (int c = 0; c < NCOLS; c++)
            if (width(f[c]) > w[c]) w[c] = width(f[c]);
    }
    if (width(inv->subtotal) > w[COL_AMOUNT]) w[COL_AMOUNT] = width(inv->subtotal);
    if (width(inv->total) > w[COL_AMOUNT]) w[COL_AMOUNT] = width(inv->total);

    text_row(out, col_title, w);
    text_rule(out, w);
    for (size_t j = 0; j < nusage; j++) {
        line_cells(&inv->lines[idx[j]], buf, f);
        text_row(out, f, w);
    }
    if (!nusage) fputs("(no usage)\n", out);
    text_rule(out, w);
    text_sum(out, "Subtotal", inv->subtotal, w);
    for (size_t j = nusage; j < inv->nlines; j++) {
        line_cells(&inv->lines[idx[j]], buf, f);
        text_row(out, f, w);
    }
    if (nusage < inv->nlines) text_rule(out, w);
    snprintf(total_label, sizeof total_label, "Total %s", inv->currency);
    text_sum(out, total_label, inv->total, w);
    free(idx);
    return 0;
}

int invfmt_text(FILE *out, const char *month, const invfmt_invoice_t *inv, size_t n, char *err,
                size_t errlen) {
    if (!n) fprintf(out, "No invoices for %s.\n", month);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs("\n\n", out);
        if (text_invoice(out, &inv[i]) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return finish(out, err, errlen);
}

/* ---- json ----------------------------------------------------------------------------------- */

/* "key": value, with the separator before all but the first member. */
static void jkey(FILE *out, const char *indent, const char *key, int first) {
    fprintf(out, "%s\n%s\"%s\": ", first ? "" : ",", indent, key);
}

/* Indentation of each level: top-level keys, invoices, their keys, lines, their keys. */
#define J_TOP "  "
#define J_INV "    "
#define J_INV_KEY "      "
#define J_LINE "        "
#define J_LINE_KEY "          "

static const char *const kind_names[] = {"usage", "minimum", "adjustment", "tax"};

/* s, or NULL (JSON null) when it is NULL or empty. */
static const char *set(const char *s) {
    return s && *s ? s : NULL;
}

static void json_line(FILE *out, const invfmt_line_t *l) {
    fputs(J_LINE "{", out);
    jkey(out, J_LINE_KEY, "line", 1);
    fprintf(out, "%d", l->line_no);
    const char *const kv[][2] = {{"description", l->description},
                                 {"quantity", l->quantity},
                                 {"unit", l->unit},
                                 {"unit_price", l->unit_price},
                                 {"amount", l->amount},
                                 {"zone", l->zone && *l->zone ? l->zone : NULL},
                                 {"kind", kind_names[invfmt_kind(l)]}};
    for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) {
        jkey(out, J_LINE_KEY, kv[k][0], 0);
        jsonw_fputs(out, kv[k][1]);
    }
    fputs("\n" J_LINE "}", out);
}

static void json_invoice(FILE *out, const invfmt_invoice_t *inv) {
    char first[16], last[16];
    invfmt_period(inv, first, last);
    fputs(J_INV "{", out);
    const char *const kv[][2] = {
        {"invoice", inv->number},
        {"customer", inv->customer},
        {"customer_name", inv->customer_name},
        {"month", inv->month},
        {"period_start", first},
        {"period_end", last},
        {"plan", inv->plan},
        {"currency", inv->currency},
        {"status", inv->status},
        {"finalized_at", inv->finalized_at && *inv->finalized_at ? inv->finalized_at : NULL},
        {"incomplete", inv->incomplete},
        {"incomplete_reason", inv->incomplete_reason},
        {"subtotal", inv->subtotal},
        {"total", inv->total},
        {"seq", set(inv->seq)},
        {"issue_date", set(inv->issue_date)},
        {"due_date", set(inv->due_date)},
        {"tax_rate", set(inv->tax_rate)},
        {"tax", set(inv->tax)},
        {"topup", set(inv->topup)},
        {"adjustments", set(inv->adjustments)},
        {"credit_carried", set(inv->credit_carried)},
        {"customer_address", set(inv->customer_address)}};
    for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) {
        jkey(out, J_INV_KEY, kv[k][0], k == 0);
        jsonw_fputs(out, kv[k][1]);
    }
    jkey(out, J_INV_KEY, "lines", 0);
    fputc('[', out);
    for (size_t j = 0; j < inv->nlines; j++) {
        fputs(j ? ",\n" : "\n", out);
        json_line(out, &inv->lines[j]);
    }
    fputs(inv->nlines ? "\n" J_INV_KEY "]\n" J_INV "}" : "]\n" J_INV "}", out);
}

int invfmt_json(FILE *out, const char *month, const invfmt_invoice_t *inv, size_t n,
                const invfmt_attention_t *att, size_t natt, char *err, size_t errlen) {
    fputs("{\n" J_TOP "\"month\": ", out);
    jsonw_fputs(out, month);
    fputs(",\n" J_TOP "\"invoices\": [", out);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_invoice(out, &inv[i]);
    }
    fputs(n ? "\n" J_TOP "],\n" J_TOP "\"attention\": [" : "],\n" J_TOP "\"attention\": [", out);
    for (size_t i = 0; i < natt; i++) {
        fputs(i ? ",\n" J_INV "{\"kind\": " : "\n" J_INV "{\"kind\": ", out);
        jsonw_fputs(out, att[i].kind);
        fputs(", \"customer\": ", out);
        jsonw_fputs(out, att[i].customer);
        fputs(", \"detail\": ", out);
        jsonw_fputs(out, att[i].detail);
        fputc('}', out);
    }
    fputs(natt ? "\n" J_TOP "]\n}\n" : "]\n}\n", out);
    return finish(out, err, errlen);
}
