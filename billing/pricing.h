/* pricing.h: one customer's month priced into invoice lines, in exact decimal arithmetic.
 *
 * Pure functions (no database, no I/O): `billing invoice` loads usage and plans with libpq and
 * calls pricing_compute; the unit tests call it with hand-made plans. The rules (CONTRACT.md,
 * "billing"):
 *   - usage rows are per client country; plan zones map a country to a zone, country "*" maps
 *     every country not listed. A country with no zone (and no "*") is an error: the invoice
 *     cannot be priced and needs attention.
 *   - GB means 10^9 bytes, counted exactly: 1 byte is 0.000000001 GB, never rounded up.
 *   - tiers are graduated per zone: the bytes from a tier's from_gb up to the next tier's
 *     from_gb are charged at that tier's price. A zone with traffic must have a tier at 0 GB:
 *     one that starts higher is an error (nothing says what the first GB cost), as is a zone
 *     with traffic and no tiers at all.
 *   - requests: hits / 10,000 x price_per_10k_requests, exactly.
 *   - every line's amount is its exact amount rounded half-to-even to the currency's minor unit;
 *     the subtotal is the sum of those rounded amounts; when it is below the minimum commit
 *     (itself rounded half-to-even to the minor unit), one more line brings the total up to it.
 *
 * Arithmetic is fixed point in unsigned 128-bit integers, never floating point. Prices and
 * minimum commits are read from their decimal text with up to PRICING_SCALE decimals (a price
 * with more non-zero decimals is refused, not rounded); tier boundaries with up to
 * PRICING_GB_SCALE decimals (whole bytes). An exact data amount is bytes x price at scale
 * 9 + 12 = 21: 10^18 bytes (a month at 3 Tbit/s) at any price below 10^8 per GB stays under
 * 2^128 (3.4 x 10^38). Every product and sum is checked: anything larger is refused with an
 * error, never wrapped.
 *
 * Lines come out in a fixed order: data lines by zone name (byte order) then tier, the requests
 * line, the minimum commit line. A data line exists for each tier the zone's bytes reach, the
 * requests line when there are hits; zero usage gives no usage lines (only the minimum). */
#ifndef PRICING_H
#define PRICING_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 pricing_u128;

#define PRICING_SCALE 12    /* decimals kept of prices and minimum commits */
#define PRICING_GB_SCALE 9  /* decimals of GB: 1 byte = 10^-9 GB */
#define PRICING_REQ_SCALE 4 /* decimals of "10k requests": 1 hit = 10^-4 */
#define PRICING_MINOR_MAX 4 /* most decimals a currency may have (schema: minor_units 0..4) */
#define PRICING_NUM_MAX 64  /* room for any decimal pricing writes (2^128 has 39 digits) */
#define PRICING_ERR_MAX 512 /* a useful size for the err buffers of this module */

/* The zone-of-every-other-country marker of plan_zones.country. */
#define PRICING_ANY_COUNTRY "*"

/* Units written on the lines. */
#define PRICING_UNIT_GB "GB"
#define PRICING_UNIT_REQUESTS "10k requests"
#define PRICING_UNIT_MINIMUM ""

typedef struct pricing_zone {
    const char *country; /* ISO 3166-1 alpha-2, or "*" for every other country */
    const char *zone;
} pricing_zone_t;

typedef struct pricing_tier {
    const char *zone;
    const char *from_gb;      /* decimal text, e.g. "10000" or "0.5" */
    const char *price_per_gb; /* decimal text, currency units per GB */
} pricing_tier_t;

/* A plan as stored (plans, plan_zones, plan_tiers), its numbers still text: pricing parses
 * them exactly. Everything is borrowed. */
typedef struct pricing_plan {
    const char *currency;        /* ISO 4217 code, only copied into messages */
    int minor_units;             /* decimals of the currency: 2 for USD, 0 for JPY */
    const char *minimum_commit;  /* decimal text */
    const char *price_per_10k;   /* decimal text: price of 10,000 requests */
    const pricing_zone_t *zones; /* any order */
    size_t nzones;
    const pricing_tier_t *tiers; /* any order, any zones (those without traffic are unused) */
    size_t ntiers;
} pricing_plan_t;

/* A month's usage of one customer from one client country (usage_hourly summed). */
typedef struct pricing_usage {
    const char *country;
    uint64_t bytes, hits;
} pricing_usage_t;

typedef enum pricing_kind {
    PRICING_LINE_DATA,       /* one tier of one zone */
    PRICING_LINE_REQUESTS,   /* all hits */
    PRICING_LINE_MINIMUM,    /* the top-up to the minimum commit */
    PRICING_LINE_ADJUSTMENT, /* late usage of an earlier final month (may be negative) */
    PRICING_LINE_TAX,        /* tax on everything above it */
} pricing_kind_t;

/* invoice_lines.kind of each pricing_kind_t: "usage", "minimum", "adjustment", "tax". */
const char *pricing_kind_name(pricing_kind_t k);

/* Every number is decimal text: what invoice_lines stores and the formats print. */
typedef struct pricing_line {
    pricing_kind_t kind;
    char *description;                /* owned, e.g. "Data transfer, zone eu, 0-10000 GB" */
    const char *zone;                 /* borrowed from the plan; NULL unless a data line */
    const char *unit;                 /* static: PRICING_UNIT_* */
    char quantity[PRICING_NUM_MAX];   /* exact: GB (bytes / 10^9), hits / 10^4, or 1 */
    char unit_price[PRICING_NUM_MAX]; /* the plan's price, trailing zeros dropped */
    char exact[PRICING_NUM_MAX];      /* quantity x unit_price, exactly */
    char amount[PRICING_NUM_MAX];     /* exact rounded half-to-even, minor_units decimals; only
                                         an adjustment line may be negative ("-0.05") */
    int part;                         /* index of the month's part (plan change) it prices */
    int tier;                         /* data lines: index of the tier in its zone, else -1 */
} pricing_line_t;

typedef struct pricing_invoice {
    pricing_line_t *lines; /* owned */
    size_t nlines;
    char subtotal[PRICING_NUM_MAX]; /* sum of the usage lines' amounts */
    char total[PRICING_NUM_MAX];    /* subtotal, or the minimum commit when that is more */
    char bytes[PRICING_NUM_MAX];    /* the usage priced: all bytes and all hits (integers) */
    char hits[PRICING_NUM_MAX];
    /* set by pricing_close (pricing_compute sets topup; the others "0"): */
    char topup[PRICING_NUM_MAX];       /* sum of the minimum lines */
    char adjustments[PRICING_NUM_MAX]; /* sum of the adjustment lines (below 0 with credits,
                                          never below -(subtotal + topup)) */
    char tax[PRICING_NUM_MAX];         /* the tax line's amount */
    char carried[PRICING_NUM_MAX];     /* credit carried forward to the next invoice (set by
                                          the caller; "" is 0): invoices.credit_carried */
    size_t cap;                        /* room in lines (pricing_append grows it) */
} pricing_invoice_t;

/* Prices usage[0..nusage) (countries may repeat: they add up) with plan into *out (which the
 * caller pricing_invoice_fini()s, also after a failure). Returns 0, or -1 with err saying what
 * in the plan or usage stops pricing (a country without a zone, a zone without a 0 GB tier, a
 * malformed or too precise number, an amount too large). */
int pricing_compute(const pricing_plan_t *plan, const pricing_usage_t *usage, size_t nusage,
                    pricing_invoice_t *out, char *err, size_t errlen);
void pricing_invoice_fini(pricing_invoice_t *inv);

/* ---- a month of parts, proration, adjustments, tax ------------------------------------------
 *
 * A month may be priced in parts: a plan change at an hour splits it, and each part is priced
 * alone by its plan (tiers start again at 0 GB in each part; each part has its own minimum
 * commit, prorated). The minimum commit of a part is prorated by the hours of the part inside
 * the customer's active days: minimum x hours / hours_of_month, computed exactly and rounded
 * half-to-even to the currency's minor unit once (a whole month without change: x days / days).
 * pricing_close then adds the tax line: tax = (subtotal + top-up + adjustments) x tax_rate,
 * rounded half-to-even; total = the sum of every line. */

/* pricing_compute with the minimum commit prorated to hours / month_hours (hours <= month_hours,
 * month_hours > 0). The top-up line says so: "Minimum commit top-up (minimum 5.00 USD x 15/30
 * days)" (hours when the share is not whole days). */
int pricing_compute_share(const pricing_plan_t *plan, const pricing_usage_t *usage, size_t nusage,
                          uint32_t hours, uint32_t month_hours, pricing_invoice_t *out, char *err,
                          size_t errlen);

/* Moves the lines of part (priced alone) to the end of dst, each marked with part index `index`
 * and its description prefixed with label (when label is neither NULL nor ""): dst's subtotal,
 * topup, bytes and hits add part's. part is fini'd. 0, or -1 (out of memory, too large). dst
 * starts zeroed (memset) or from pricing_compute. */
int pricing_append(pricing_invoice_t *dst, pricing_invoice_t *part, int index, const char *label,
                   char *err, size_t errlen);

/* Appends one adjustment line (amount may be negative: "-0.05"; quantity likewise). Description
 * is copied. 0, or -1. */
int pricing_add_adjustment(pricing_invoice_t *dst, const char *description, const char *zone,
                           const char *unit, const char *quantity, const char *unit_price,
                           const char *amount, char *err, size_t errlen);

/* Sums the lines into subtotal (usage), topup (minimum), adjustments, adds the tax line when
 * tax_rate (decimal text, 0..1) is not 0 ("Tax 20 %" on subtotal + top-up + adjustments, rounded
 * half-to-even to minor units), and sets total to the sum of every line. 0, or -1 (a rate that
 * is malformed or above 1, subtotal + top-up + adjustments below 0: credits larger than the
 * rest must be carried forward first, invoice_adjust.h). */
int pricing_close(pricing_invoice_t *inv, const char *tax_rate, int minor_units, char *err,
                  size_t errlen);

/* v (at scale) x num / den, rounded half-to-even to to_scale (<= scale). -1 when too large or
 * den is 0. Exact: the rounding looks at the whole remainder. */
int pricing_prorate(pricing_u128 v, int scale, uint64_t num, uint64_t den, int to_scale,
                    pricing_u128 *out);

/* Signed decimal text ("-0.05", "3") at scale -> *out (a count of 10^-scale). 0, or -1. */
int pricing_sdec_parse(const char *s, int scale, __int128 *out);
/* *out as decimal text with exactly `scale` decimals, '-' when negative. */
void pricing_sdec_format(__int128 v, int scale, char *buf, size_t cap);

/* ---- exact decimals (exposed for invoice.c and the tests) ---------------------------------- */

/* Parses decimal text "123", "0.085", "12.30" (digits, at most one '.', no sign, no exponent)
 * as an integer count of 10^-scale: "0.085" at scale 12 is 85000000000. 0, or -1 with err:
 * malformed (including "NaN", "Infinity", "-1"), more non-zero decimals than scale, or above
 * 2^128 - 1. */
int pricing_dec_parse(const char *s, int scale, pricing_u128 *out, char *err, size_t errlen);

/* Writes v (a count of 10^-scale) as decimal text, trailing zeros of the fraction dropped down to
 * min_decimals (and the point too when none remain). Returns the length, or 0 if cap is too
 * small (buf then holds ""). PRICING_NUM_MAX is always enough. */
size_t pricing_dec_format(pricing_u128 v, int scale, int min_decimals, char *buf, size_t cap);

/* v at from_scale rounded half-to-even to to_scale (<= from_scale): 0.125 -> 0.12,
 * 0.135 -> 0.14, 0.1251 -> 0.13. */
pricing_u128 pricing_round_half_even(pricing_u128 v, int from_scale, int to_scale);

/* A whole number that fits uint64_t (as PostgreSQL prints a sum). 0, or -1. */
int pricing_u64_parse(const char *s, uint64_t *out);

/* "YYYY-MM", year 0001-9999, month 01-12, nothing else. 0, or -1. */
int pricing_month_parse(const char *s, int *year, int *month);

/* Days of a month of the proleptic Gregorian calendar. */
int pricing_month_days(int year, int month);

#endif
