/* invoice_fmt.c: see invoice_fmt.h. */
#include "invoice_fmt.h"

#include "jsonw.h"
#include "pricing.h"

#include <errno.h>
#include <string.h>

int invfmt_parse(const char *name, invfmt_format_t *out) {
    static const char *const names[] = {"text", "csv", "json"};
    for (int i = 0; i < 3; i++)
        if (name && !strcmp(name, names[i])) {
            *out = (invfmt_format_t)i;
            return 0;
        }
    return -1;
}

/* 0, or -1 with err when the stream reports a write error. */
static int finish(FILE *out, char *err, size_t errlen) {
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "writing the invoices: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

/* "2026-11" -> "2026-11-01" and "2026-11-30"; copies of month when it is malformed. */
static void period(const char *month, char first[16], char last[16]) {
    int y, m;
    if (pricing_month_parse(month, &y, &m) < 0) {
        snprintf(first, 16, "%.15s", month);
        snprintf(last, 16, "%.15s", month);
        return;
    }
    snprintf(first, 16, "%04d-%02d-01", y, m);
    snprintf(last, 16, "%04d-%02d-%02d", y, m, pricing_month_days(y, m));
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

/* One row: the invoice's first three fields, then the given six, then the currency. */
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

static void text_invoice(FILE *out, const invfmt_invoice_t *inv) {
    char first[16], last[16], total_label[32], buf[16];
    const char *f[NCOLS];
    period(inv->month, first, last);
    fprintf(out, "Invoice   %s\n", inv->number);
    fprintf(out, "Status    %s", inv->status);
    if (inv->finalized_at && *inv->finalized_at) fprintf(out, " since %s", inv->finalized_at);
    if (inv->incomplete_reason)
        fprintf(out, ", finalized incomplete: %s\nIncomplete %s", inv->incomplete_reason,
                inv->incomplete ? inv->incomplete : "");
    else if (inv->incomplete)
        fprintf(out, ", month not complete yet: %s", inv->incomplete);
    fprintf(out, "\nCustomer  %s (%s)\n", inv->customer_name, inv->customer);
    fprintf(out, "Plan      %s, %s\n", inv->plan, inv->currency);
    fprintf(out, "Period    %s to %s, UTC\n\n", first, last);

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
    for (size_t j = 0; j < inv->nlines; j++) {
        line_cells(&inv->lines[j], buf, f);
        text_row(out, f, w);
    }
    if (!inv->nlines) fputs("(no usage and no minimum commit)\n", out);
    text_rule(out, w);
    snprintf(total_label, sizeof total_label, "Total %s", inv->currency);
    text_sum(out, "Subtotal", inv->subtotal, w);
    text_sum(out, total_label, inv->total, w);
}

int invfmt_text(FILE *out, const char *month, const invfmt_invoice_t *inv, size_t n, char *err,
                size_t errlen) {
    if (!n) fprintf(out, "No invoices for %s.\n", month);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs("\n\n", out);
        text_invoice(out, &inv[i]);
    }
    return finish(out, err, errlen);
}

/* ---- json ----------------------------------------------------------------------------------- */

/* s as a JSON string: '"' and '\\' escaped, control bytes as \u00XX, valid UTF-8 copied, every
 * other byte U+FFFD (as jsonw does). NULL is written as null. */
static void jstr(FILE *out, const char *s) {
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        fputs("null", out);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    fputc('"', out);
    while (n) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
        } else {
            size_t k = jsonw_utf8_seq(p, n);
            if (!k) {
                fputs("\xEF\xBF\xBD", out);
                k = 1;
            } else {
                fwrite(p, 1, k, out);
            }
            p += k;
            n -= k;
            continue;
        }
        p++;
        n--;
    }
    fputc('"', out);
}

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

static void json_line(FILE *out, const invfmt_line_t *l) {
    fputs(J_LINE "{", out);
    jkey(out, J_LINE_KEY, "line", 1);
    fprintf(out, "%d", l->line_no);
    const char *const kv[][2] = {{"description", l->description},
                                 {"quantity", l->quantity},
                                 {"unit", l->unit},
                                 {"unit_price", l->unit_price},
                                 {"amount", l->amount},
                                 {"zone", l->zone && *l->zone ? l->zone : NULL}};
    for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) {
        jkey(out, J_LINE_KEY, kv[k][0], 0);
        jstr(out, kv[k][1]);
    }
    fputs("\n" J_LINE "}", out);
}

static void json_invoice(FILE *out, const invfmt_invoice_t *inv) {
    char first[16], last[16];
    period(inv->month, first, last);
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
        {"total", inv->total}};
    for (size_t k = 0; k < sizeof kv / sizeof *kv; k++) {
        jkey(out, J_INV_KEY, kv[k][0], k == 0);
        jstr(out, kv[k][1]);
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
    jstr(out, month);
    fputs(",\n" J_TOP "\"invoices\": [", out);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_invoice(out, &inv[i]);
    }
    fputs(n ? "\n" J_TOP "],\n" J_TOP "\"attention\": [" : "],\n" J_TOP "\"attention\": [", out);
    for (size_t i = 0; i < natt; i++) {
        fputs(i ? ",\n" J_INV "{\"kind\": " : "\n" J_INV "{\"kind\": ", out);
        jstr(out, att[i].kind);
        fputs(", \"customer\": ", out);
        jstr(out, att[i].customer);
        fputs(", \"detail\": ", out);
        jstr(out, att[i].detail);
        fputc('}', out);
    }
    fputs(natt ? "\n" J_TOP "]\n}\n" : "]\n}\n", out);
    return finish(out, err, errlen);
}
