/* pricing_month.c: a month of parts, adjustment lines and tax (see pricing.h, "a month of
 * parts"). Signed sums only here: an adjustment line may be negative, every other line is not. */
#include "pricing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pricing_kind_name(pricing_kind_t k) {
    switch (k) {
    case PRICING_LINE_MINIMUM:
        return "minimum";
    case PRICING_LINE_ADJUSTMENT:
        return "adjustment";
    case PRICING_LINE_TAX:
        return "tax";
    default:
        return "usage";
    }
}

int pricing_sdec_parse(const char *s, int scale, __int128 *out) {
    char e[PRICING_ERR_MAX];
    pricing_u128 v;
    int neg = s && *s == '-';
    if (pricing_dec_parse(neg ? s + 1 : s, scale, &v, e, sizeof e) < 0) return -1;
    if (v >> 126) return -1; /* keeps every sum of a few such values inside __int128 */
    *out = neg ? -(__int128)v : (__int128)v;
    return 0;
}

void pricing_sdec_format(__int128 v, int scale, char *buf, size_t cap) {
    if (!cap) return;
    if (v < 0) {
        buf[0] = '-';
        pricing_dec_format((pricing_u128)-v, scale, scale, buf + 1, cap - 1);
    } else {
        pricing_dec_format((pricing_u128)v, scale, scale, buf, cap);
    }
}

/* Room for n more lines. */
static int reserve(pricing_invoice_t *dst, size_t n) {
    if (dst->nlines + n <= dst->cap) return 0;
    size_t cap = (dst->nlines + n) * 2 + 4;
    pricing_line_t *l = realloc(dst->lines, cap * sizeof *l);
    if (!l) return -1;
    dst->lines = l;
    dst->cap = cap;
    return 0;
}

/* a + b for two whole numbers as text (sums of usage), into a. */
static int add_text(char a[PRICING_NUM_MAX], const char *b, int scale) {
    char e[PRICING_ERR_MAX];
    pricing_u128 x = 0, y = 0;
    if (*a && pricing_dec_parse(a, scale, &x, e, sizeof e) < 0) return -1;
    if (b && *b && pricing_dec_parse(b, scale, &y, e, sizeof e) < 0) return -1;
    if (y > ~(pricing_u128)0 - x) return -1;
    pricing_dec_format(x + y, scale, scale, a, PRICING_NUM_MAX);
    return 0;
}

int pricing_append(pricing_invoice_t *dst, pricing_invoice_t *part, int index, const char *label,
                   char *err, size_t errlen) {
    int rc = -1;
    if (reserve(dst, part->nlines) < 0) goto oom;
    for (size_t i = 0; i < part->nlines; i++) {
        pricing_line_t *l = &dst->lines[dst->nlines];
        *l = part->lines[i];
        l->part = index;
        if (label && *label) {
            char *d = NULL;
            if (asprintf(&d, "%s: %s", label, l->description) < 0) goto oom;
            free(l->description);
            l->description = d;
        }
        part->lines[i].description = NULL;
        dst->nlines++;
    }
    if (add_text(dst->bytes, part->bytes, 0) < 0 || add_text(dst->hits, part->hits, 0) < 0) {
        snprintf(err, errlen, "usage too large to sum");
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    pricing_invoice_fini(part);
    return rc;
}

int pricing_add_adjustment(pricing_invoice_t *dst, const char *description, const char *zone,
                           const char *unit, const char *quantity, const char *unit_price,
                           const char *amount, char *err, size_t errlen) {
    char *d = strdup(description);
    if (!d || reserve(dst, 1) < 0) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pricing_line_t *l = &dst->lines[dst->nlines++];
    memset(l, 0, sizeof *l);
    *l = (pricing_line_t){.kind = PRICING_LINE_ADJUSTMENT,
                          .description = d,
                          .zone = zone,
                          .unit = unit,
                          .part = -1,
                          .tier = -1};
    snprintf(l->quantity, sizeof l->quantity, "%s", quantity);
    snprintf(l->unit_price, sizeof l->unit_price, "%s", unit_price);
    snprintf(l->exact, sizeof l->exact, "%s", amount);
    snprintf(l->amount, sizeof l->amount, "%s", amount);
    return 0;
}

/* "Tax 20 %" from "0.2": the rate x 100 with its decimals, trailing zeros dropped. */
static char *tax_description(pricing_u128 rate) {
    char pct[PRICING_NUM_MAX], *d = NULL;
    pricing_dec_format(rate, PRICING_SCALE - 2, 0, pct, sizeof pct);
    return asprintf(&d, "Tax %s %%", pct) < 0 ? NULL : d;
}

int pricing_close(pricing_invoice_t *inv, const char *tax_rate, int m, char *err, size_t errlen) {
    char e[PRICING_ERR_MAX];
    __int128 sum[3] = {0, 0, 0}; /* usage, minimum, adjustment */
    pricing_u128 rate;
    if (pricing_dec_parse(tax_rate ? tax_rate : "0", PRICING_SCALE, &rate, e, sizeof e) < 0 ||
        rate > (pricing_u128)1000000000000ULL) {
        snprintf(err, errlen, "tax_rate %.60s: expected a decimal from 0 to 1", tax_rate);
        return -1;
    }
    for (size_t i = 0; i < inv->nlines; i++) {
        __int128 a;
        const pricing_line_t *l = &inv->lines[i];
        if (l->kind == PRICING_LINE_TAX) continue;
        if (pricing_sdec_parse(l->amount, m, &a) < 0) {
            snprintf(err, errlen, "line %zu: amount %.60s unreadable", i + 1, l->amount);
            return -1;
        }
        sum[l->kind == PRICING_LINE_MINIMUM ? 1 : l->kind == PRICING_LINE_ADJUSTMENT ? 2 : 0] += a;
    }
    __int128 base = sum[0] + sum[1] + sum[2];
    if (base < 0) {
        snprintf(err, errlen, "credits exceed the invoice: the rest was not carried forward");
        return -1;
    }
    pricing_sdec_format(sum[0], m, inv->subtotal, sizeof inv->subtotal);
    pricing_sdec_format(sum[1], m, inv->topup, sizeof inv->topup);
    pricing_sdec_format(sum[2], m, inv->adjustments, sizeof inv->adjustments);
    pricing_u128 tax = 0;
    if (rate) {
        /* (base at scale m) x (rate at scale 12) -> scale m + 12, rounded to m. */
        if (pricing_prorate((pricing_u128)base, m, (uint64_t)rate, 1000000000000ULL, m, &tax) < 0 ||
            reserve(inv, 1) < 0) {
            snprintf(err, errlen, "tax: too large or out of memory");
            return -1;
        }
        pricing_line_t *l = &inv->lines[inv->nlines];
        *l = (pricing_line_t){.kind = PRICING_LINE_TAX, .unit = "", .part = -1, .tier = -1};
        if (!(l->description = tax_description(rate))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        inv->nlines++;
        pricing_sdec_format(base, m, l->quantity, sizeof l->quantity);
        pricing_dec_format(rate, PRICING_SCALE, 0, l->unit_price, sizeof l->unit_price);
        /* exact: base x rate, unrounded (scale m + 12) */
        pricing_dec_format((pricing_u128)base * rate, m + PRICING_SCALE, m, l->exact,
                           sizeof l->exact);
        pricing_dec_format(tax, m, m, l->amount, sizeof l->amount);
    }
    pricing_dec_format(tax, m, m, inv->tax, sizeof inv->tax);
    pricing_sdec_format(base + (__int128)tax, m, inv->total, sizeof inv->total);
    return 0;
}
