/* pricing.c: see pricing.h. Fixed point in unsigned __int128; every product and sum checked. */
#include "pricing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define U128_MAX (~(pricing_u128)0)
/* Scale of an exact data amount (GB x price per GB) and of an exact requests amount. */
#define DATA_SCALE (PRICING_GB_SCALE + PRICING_SCALE)
#define REQ_SCALE (PRICING_REQ_SCALE + PRICING_SCALE)

static pricing_u128 pow10u(int n) {
    pricing_u128 v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

/* a x b into *out, or -1 when it would not fit. */
static int mul_checked(pricing_u128 a, pricing_u128 b, pricing_u128 *out) {
    if (a && b > U128_MAX / a) return -1;
    *out = a * b;
    return 0;
}

static int add_checked(pricing_u128 a, pricing_u128 b, pricing_u128 *out) {
    if (b > U128_MAX - a) return -1;
    *out = a + b;
    return 0;
}

/* ---- exact decimals ------------------------------------------------------------------------- */

int pricing_dec_parse(const char *s, int scale, pricing_u128 *out, char *err, size_t errlen) {
    pricing_u128 v = 0;
    int ints = 0, fracs = 0, point = 0;
    if (!s) s = "";
    for (const char *p = s; *p; p++) {
        if (*p == '.' && !point) {
            point = 1;
            continue;
        }
        if (*p < '0' || *p > '9') goto malformed;
        unsigned d = (unsigned)(*p - '0');
        if (!point) {
            ints++;
        } else if (++fracs > scale) {
            /* Decimals beyond the scale are kept only when they are zeros: never rounded. */
            if (d) {
                snprintf(err, errlen, "'%.80s' has more than %d decimals", s, scale);
                return -1;
            }
            continue;
        }
        if (v > (U128_MAX - d) / 10) goto too_large;
        v = v * 10 + d;
    }
    if (!ints || (point && !fracs)) goto malformed;
    for (int i = fracs < scale ? fracs : scale; i < scale; i++) {
        if (v > U128_MAX / 10) goto too_large;
        v *= 10;
    }
    *out = v;
    return 0;
malformed:
    snprintf(err, errlen, "'%.80s' is not a non-negative decimal number", s);
    return -1;
too_large:
    snprintf(err, errlen, "'%.80s' is too large", s);
    return -1;
}

size_t pricing_dec_format(pricing_u128 v, int scale, int min_decimals, char *buf, size_t cap) {
    char rev[PRICING_NUM_MAX]; /* digits, least significant first */
    int n = 0;
    if (scale < 0 || scale > 38 || min_decimals < 0 || min_decimals > 38) goto small;
    do {
        rev[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (n < scale + 1)
        rev[n++] = '0';
    int cut = 0; /* fraction digits dropped: trailing zeros beyond min_decimals */
    while (cut < scale && scale - cut > min_decimals && rev[cut] == '0')
        cut++;
    int fr = scale - cut;                                      /* fraction digits kept */
    int pad = min_decimals > scale ? min_decimals - scale : 0; /* zeros added after them */
    size_t len = (size_t)(n - scale) + (fr + pad ? 1 + (size_t)(fr + pad) : 0);
    if (len + 1 > cap) goto small;
    size_t o = 0;
    for (int i = n - 1; i >= scale; i--)
        buf[o++] = rev[i];
    if (fr + pad) buf[o++] = '.';
    for (int i = scale - 1; i >= cut; i--)
        buf[o++] = rev[i];
    for (int i = 0; i < pad; i++)
        buf[o++] = '0';
    buf[o] = 0;
    return o;
small:
    if (cap) buf[0] = 0;
    return 0;
}

pricing_u128 pricing_round_half_even(pricing_u128 v, int from_scale, int to_scale) {
    if (to_scale >= from_scale) return v;
    pricing_u128 d = pow10u(from_scale - to_scale), q = v / d, r = v % d, half = d / 2;
    /* d is a power of ten >= 10, so even: r == half is exactly the midpoint. */
    if (r > half || (r == half && (q & 1))) q++;
    return q;
}

int pricing_u64_parse(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (!s || !*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int pricing_month_parse(const char *s, int *year, int *month) {
    if (!s || strlen(s) != 7 || s[4] != '-') return -1;
    int y = 0, m = 0;
    for (int i = 0; i < 7; i++) {
        if (i == 4) continue;
        if (s[i] < '0' || s[i] > '9') return -1;
        if (i < 4)
            y = y * 10 + (s[i] - '0');
        else
            m = m * 10 + (s[i] - '0');
    }
    if (y < 1 || m < 1 || m > 12) return -1;
    *year = y;
    *month = m;
    return 0;
}

int pricing_prorate(pricing_u128 v, int scale, uint64_t num, uint64_t den, int to_scale,
                    pricing_u128 *out) {
    pricing_u128 x, d;
    if (!den || to_scale > scale || mul_checked(v, num, &x) < 0 ||
        mul_checked(den, pow10u(scale - to_scale), &d) < 0)
        return -1;
    pricing_u128 q = x / d, r = x % d;
    /* d may be odd (31 days): compare 2r with d rather than r with d / 2. r < d, so 2r cannot
     * overflow when d < 2^127, which mul_checked's bound on x = q x d + r keeps. */
    if (r > d - r || (r == d - r && (q & 1))) q++;
    *out = q;
    return 0;
}

int pricing_month_days(int year, int month) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* ---- pricing -------------------------------------------------------------------------------- */

/* One zone's traffic in the month. */
typedef struct zone_sum {
    const char *zone;   /* borrowed from the plan */
    pricing_u128 bytes; /* sum of its countries' bytes: may exceed 2^64 */
} zone_sum_t;

/* One tier of a zone, parsed. */
typedef struct tier {
    pricing_u128 from;  /* first byte it charges: from_gb x 10^9 */
    pricing_u128 price; /* per GB, at PRICING_SCALE */
} tier_t;

static int cmp_zone(const void *a, const void *b) {
    return strcmp(((const zone_sum_t *)a)->zone, ((const zone_sum_t *)b)->zone);
}

static int cmp_tier(const void *a, const void *b) {
    const tier_t *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

static const char *zone_of(const pricing_plan_t *p, const char *country) {
    const char *any = NULL;
    for (size_t i = 0; i < p->nzones; i++) {
        if (!strcmp(p->zones[i].country, country)) return p->zones[i].zone;
        if (!strcmp(p->zones[i].country, PRICING_ANY_COUNTRY)) any = p->zones[i].zone;
    }
    return any;
}

/* Appends a line (room was reserved by the caller) with amount = exact (at exact_scale) rounded
 * to the currency. */
static int add_line(pricing_invoice_t *inv, pricing_kind_t kind, char *desc, const char *zone,
                    const char *unit, pricing_u128 exact, int exact_scale, int minor,
                    pricing_u128 *amount) {
    pricing_line_t *l = &inv->lines[inv->nlines++];
    l->kind = kind;
    l->part = 0;
    l->tier = -1;
    l->description = desc;
    l->zone = zone;
    l->unit = unit;
    *amount = pricing_round_half_even(exact, exact_scale, minor);
    pricing_dec_format(exact, exact_scale, minor, l->exact, sizeof l->exact);
    pricing_dec_format(*amount, minor, minor, l->amount, sizeof l->amount);
    return desc ? 0 : -1;
}

/* The sums of bytes per zone, sorted by zone; hits and bytes of all usage. */
static int sum_zones(const pricing_plan_t *p, const pricing_usage_t *u, size_t n, zone_sum_t *zs,
                     size_t *nz, pricing_u128 *hits, pricing_u128 *bytes, char *err,
                     size_t errlen) {
    *nz = 0;
    *hits = *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const char *zone = zone_of(p, u[i].country);
        if (!zone) {
            snprintf(err, errlen, "the plan has no zone for country %.8s and no '*' zone",
                     u[i].country);
            return -1;
        }
        size_t z = 0;
        while (z < *nz && strcmp(zs[z].zone, zone))
            z++;
        if (z == *nz) zs[(*nz)++] = (zone_sum_t){zone, 0};
        /* Cannot overflow: fewer than 2^64 rows of less than 2^64 each. */
        zs[z].bytes += u[i].bytes;
        *bytes += u[i].bytes;
        *hits += u[i].hits;
    }
    qsort(zs, *nz, sizeof *zs, cmp_zone);
    return 0;
}

/* The tiers of zone, parsed and sorted into ts; *nt of them. */
static int zone_tiers(const pricing_plan_t *p, const char *zone, tier_t *ts, size_t *nt, char *err,
                      size_t errlen) {
    char e[PRICING_ERR_MAX];
    *nt = 0;
    for (size_t i = 0; i < p->ntiers; i++) {
        const pricing_tier_t *t = &p->tiers[i];
        if (strcmp(t->zone, zone)) continue;
        tier_t *o = &ts[(*nt)++];
        if (pricing_dec_parse(t->from_gb, PRICING_GB_SCALE, &o->from, e, sizeof e) < 0) {
            snprintf(err, errlen, "zone %.100s: from_gb %s", zone, e);
            return -1;
        }
        if (pricing_dec_parse(t->price_per_gb, PRICING_SCALE, &o->price, e, sizeof e) < 0) {
            snprintf(err, errlen, "zone %.100s: price_per_gb %s", zone, e);
            return -1;
        }
    }
    if (!*nt) {
        snprintf(err, errlen, "zone %.100s has traffic but no tiers", zone);
        return -1;
    }
    qsort(ts, *nt, sizeof *ts, cmp_tier);
    if (ts[0].from) {
        char gb[PRICING_NUM_MAX];
        pricing_dec_format(ts[0].from, PRICING_GB_SCALE, 0, gb, sizeof gb);
        snprintf(err, errlen, "the tiers of zone %.100s start at %s GB: a tier at 0 GB is needed",
                 zone, gb);
        return -1;
    }
    return 0;
}

/* "Data transfer, zone Z[, A-B GB | , over A GB]". */
static char *tier_description(const char *zone, const tier_t *ts, size_t nt, size_t i) {
    char *d = NULL, a[PRICING_NUM_MAX], b[PRICING_NUM_MAX];
    int r;
    pricing_dec_format(ts[i].from, PRICING_GB_SCALE, 0, a, sizeof a);
    if (nt == 1) {
        r = asprintf(&d, "Data transfer, zone %s", zone);
    } else if (i + 1 < nt) {
        pricing_dec_format(ts[i + 1].from, PRICING_GB_SCALE, 0, b, sizeof b);
        r = asprintf(&d, "Data transfer, zone %s, %s-%s GB", zone, a, b);
    } else {
        r = asprintf(&d, "Data transfer, zone %s, over %s GB", zone, a);
    }
    return r < 0 ? NULL : d;
}

/* The data lines of one zone; adds their rounded amounts to *sub. */
static int price_zone(const pricing_plan_t *p, const zone_sum_t *z, tier_t *ts,
                      pricing_invoice_t *inv, pricing_u128 *sub, char *err, size_t errlen) {
    size_t nt;
    if (zone_tiers(p, z->zone, ts, &nt, err, errlen) < 0) return -1;
    for (size_t i = 0; i < nt && z->bytes > ts[i].from; i++) {
        pricing_u128 end = i + 1 < nt && ts[i + 1].from < z->bytes ? ts[i + 1].from : z->bytes;
        pricing_u128 qty = end - ts[i].from, exact, amount; /* bytes, = GB at scale 9 */
        if (mul_checked(qty, ts[i].price, &exact) < 0) {
            snprintf(err, errlen, "zone %.100s: amount too large to compute", z->zone);
            return -1;
        }
        if (add_line(inv, PRICING_LINE_DATA, tier_description(z->zone, ts, nt, i), z->zone,
                     PRICING_UNIT_GB, exact, DATA_SCALE, p->minor_units, &amount) < 0 ||
            add_checked(*sub, amount, sub) < 0) {
            snprintf(err, errlen, "zone %.100s: out of memory or amount too large", z->zone);
            return -1;
        }
        pricing_line_t *l = &inv->lines[inv->nlines - 1];
        l->tier = (int)i;
        pricing_dec_format(qty, PRICING_GB_SCALE, 0, l->quantity, sizeof l->quantity);
        pricing_dec_format(ts[i].price, PRICING_SCALE, 0, l->unit_price, sizeof l->unit_price);
    }
    return 0;
}

/* "Minimum commit top-up (minimum 5.00 USD[ x 15/30 days | x 372/720 hours])". */
static char *minimum_description(const pricing_plan_t *p, pricing_u128 minimum, uint32_t hours,
                                 uint32_t month_hours) {
    char mq[PRICING_NUM_MAX], *desc = NULL;
    int m = p->minor_units, r;
    pricing_dec_format(pricing_round_half_even(minimum, PRICING_SCALE, m), m, m, mq, sizeof mq);
    if (hours == month_hours)
        r = asprintf(&desc, "Minimum commit top-up (minimum %s %s)", mq, p->currency);
    else if (hours % 24 == 0 && month_hours % 24 == 0)
        r = asprintf(&desc, "Minimum commit top-up (minimum %s %s x %u/%u days)", mq, p->currency,
                     hours / 24, month_hours / 24);
    else
        r = asprintf(&desc, "Minimum commit top-up (minimum %s %s x %u/%u hours)", mq, p->currency,
                     hours, month_hours);
    return r < 0 ? NULL : desc;
}

/* The requests line (when there are hits) and the minimum commit line (when needed, the minimum
 * prorated to hours / month_hours); fills subtotal, topup and total. */
static int price_rest(const pricing_plan_t *p, pricing_u128 hits, pricing_u128 sub, uint32_t hours,
                      uint32_t month_hours, pricing_invoice_t *inv, char *err, size_t errlen) {
    char e[PRICING_ERR_MAX];
    pricing_u128 price, minimum, exact, amount;
    int m = p->minor_units;
    if (pricing_dec_parse(p->price_per_10k, PRICING_SCALE, &price, e, sizeof e) < 0) {
        snprintf(err, errlen, "price_per_10k_requests %s", e);
        return -1;
    }
    if (pricing_dec_parse(p->minimum_commit, PRICING_SCALE, &minimum, e, sizeof e) < 0) {
        snprintf(err, errlen, "minimum_commit %s", e);
        return -1;
    }
    if (hits) {
        /* hits / 10^4 x price: hits is the quantity at scale 4, price at scale 12. */
        if (mul_checked(hits, price, &exact) < 0 ||
            add_line(inv, PRICING_LINE_REQUESTS, strdup("Requests"), NULL, PRICING_UNIT_REQUESTS,
                     exact, REQ_SCALE, m, &amount) < 0 ||
            add_checked(sub, amount, &sub) < 0) {
            snprintf(err, errlen, "requests: out of memory or amount too large");
            return -1;
        }
        pricing_line_t *l = &inv->lines[inv->nlines - 1];
        pricing_dec_format(hits, PRICING_REQ_SCALE, 0, l->quantity, sizeof l->quantity);
        pricing_dec_format(price, PRICING_SCALE, 0, l->unit_price, sizeof l->unit_price);
    }
    pricing_dec_format(sub, m, m, inv->subtotal, sizeof inv->subtotal);
    /* The minimum is rounded like any amount, once, after proration: the total stays a whole
     * number of minor units. */
    pricing_u128 min_q, total = sub;
    if (pricing_prorate(minimum, PRICING_SCALE, hours, month_hours, m, &min_q) < 0) {
        snprintf(err, errlen, "minimum_commit: too large to prorate");
        return -1;
    }
    snprintf(inv->topup, sizeof inv->topup, "%s", "0");
    if (sub < min_q) {
        char *desc = minimum_description(p, minimum, hours, month_hours);
        if (add_line(inv, PRICING_LINE_MINIMUM, desc, NULL, PRICING_UNIT_MINIMUM, min_q - sub, m, m,
                     &amount) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        pricing_line_t *l = &inv->lines[inv->nlines - 1];
        snprintf(l->quantity, sizeof l->quantity, "1");
        snprintf(l->unit_price, sizeof l->unit_price, "%s", l->amount);
        snprintf(inv->topup, sizeof inv->topup, "%s", l->amount);
        total = min_q;
    }
    pricing_dec_format(total, m, m, inv->total, sizeof inv->total);
    return 0;
}

int pricing_compute(const pricing_plan_t *p, const pricing_usage_t *usage, size_t nusage,
                    pricing_invoice_t *out, char *err, size_t errlen) {
    return pricing_compute_share(p, usage, nusage, 1, 1, out, err, errlen);
}

int pricing_compute_share(const pricing_plan_t *p, const pricing_usage_t *usage, size_t nusage,
                          uint32_t hours, uint32_t month_hours, pricing_invoice_t *out, char *err,
                          size_t errlen) {
    int rc = -1;
    zone_sum_t *zs = NULL;
    tier_t *ts = NULL;
    pricing_u128 hits, bytes, sub = 0;
    memset(out, 0, sizeof *out);
    if (!month_hours || hours > month_hours) {
        snprintf(err, errlen, "a part of %u hours in a month of %u", hours, month_hours);
        goto out;
    }
    if (p->minor_units < 0 || p->minor_units > PRICING_MINOR_MAX) {
        snprintf(err, errlen, "currency %.8s: %d minor units (0..%d supported)", p->currency,
                 p->minor_units, PRICING_MINOR_MAX);
        goto out;
    }
    /* At most one line per tier, plus requests and minimum. */
    zs = calloc(nusage + 1, sizeof *zs);
    ts = calloc(p->ntiers + 1, sizeof *ts);
    out->cap = p->ntiers + 2;
    out->lines = calloc(out->cap, sizeof *out->lines);
    if (!zs || !ts || !out->lines) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t nz;
    if (sum_zones(p, usage, nusage, zs, &nz, &hits, &bytes, err, errlen) < 0) goto out;
    for (size_t z = 0; z < nz; z++)
        if (zs[z].bytes && price_zone(p, &zs[z], ts, out, &sub, err, errlen) < 0) goto out;
    if (price_rest(p, hits, sub, hours, month_hours, out, err, errlen) < 0) goto out;
    snprintf(out->adjustments, sizeof out->adjustments, "0");
    snprintf(out->tax, sizeof out->tax, "0");
    pricing_dec_format(bytes, 0, 0, out->bytes, sizeof out->bytes);
    pricing_dec_format(hits, 0, 0, out->hits, sizeof out->hits);
    rc = 0;
out:
    free(zs);
    free(ts);
    return rc;
}

void pricing_invoice_fini(pricing_invoice_t *inv) {
    if (!inv) return;
    for (size_t i = 0; i < inv->nlines; i++)
        free(inv->lines[i].description);
    free(inv->lines);
    memset(inv, 0, sizeof *inv);
}
