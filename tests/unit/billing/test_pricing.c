/* Unit tests of billing/pricing.c: graduated tiers per zone, the '*' zone, exact GB, requests
 * per 10,000, half-to-even rounding to the currency's minor unit, the minimum commit, and the
 * exact decimals underneath. Expected amounts are worked out by hand in the comments (and were
 * checked against Python's decimal module). */
#include "../../../billing/pricing.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GB 1000000000ULL

/* The demo's standard plan (tools/demo-customers.sql): USD, two tiers per zone. */
static const pricing_zone_t std_zones[] = {
    {"US", "na"}, {"CA", "na"}, {"DE", "eu"}, {"FR", "eu"}, {"*", "rest"}};
static const pricing_tier_t std_tiers[] = {{"na", "0", "0.085"},   {"na", "10000", "0.060"},
                                           {"eu", "0", "0.085"},   {"eu", "10000", "0.060"},
                                           {"rest", "0", "0.140"}, {"rest", "10000", "0.110"}};

static pricing_plan_t std_plan(const char *minimum, const char *per10k) {
    return (pricing_plan_t){"USD", 2, minimum, per10k, std_zones, 5, std_tiers, 6};
}

/* A plan of one zone "w" for every country, one tier at 0 with this price. */
static pricing_tier_t flat_tier[1];
static const pricing_zone_t flat_zone[] = {{"*", "w"}};
static pricing_plan_t flat_plan(const char *currency, int minor, const char *price_per_gb,
                                const char *per10k) {
    flat_tier[0] = (pricing_tier_t){"w", "0", price_per_gb};
    return (pricing_plan_t){currency, minor, "0", per10k, flat_zone, 1, flat_tier, 1};
}

static pricing_invoice_t inv;
static char err[PRICING_ERR_MAX];

static void teardown(void) {
    pricing_invoice_fini(&inv);
}

static void price_ok(const pricing_plan_t *p, const pricing_usage_t *u, size_t n) {
    err[0] = 0;
    int rc = pricing_compute(p, u, n, &inv, err, sizeof err);
    ck_assert_msg(rc == 0, "pricing failed: %s", err);
}

static void price_fails(const pricing_plan_t *p, const pricing_usage_t *u, size_t n,
                        const char *needle) {
    err[0] = 0;
    ck_assert_int_eq(pricing_compute(p, u, n, &inv, err, sizeof err), -1);
    ck_assert_msg(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
}

static void line_is(size_t i, const char *desc, const char *qty, const char *unit,
                    const char *price, const char *amount) {
    ck_assert_uint_lt(i, inv.nlines);
    const pricing_line_t *l = &inv.lines[i];
    ck_assert_str_eq(l->description, desc);
    ck_assert_str_eq(l->quantity, qty);
    ck_assert_str_eq(l->unit, unit);
    ck_assert_str_eq(l->unit_price, price);
    ck_assert_str_eq(l->amount, amount);
}

/* ---- tiers and zones ------------------------------------------------------------------------ */

START_TEST(test_one_byte_past_a_tier_boundary_is_charged_at_the_next_tier) {
    pricing_plan_t p = std_plan("0", "0");
    pricing_usage_t u[] = {{"US", 10000 * GB + 1, 0}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 2);
    line_is(0, "Data transfer, zone na, 0-10000 GB", "10000", "GB", "0.085", "850.00");
    /* 10^-9 GB x 0.06 = 0.00000000006, rounds to 0.00 but the line is there, exactly. */
    line_is(1, "Data transfer, zone na, over 10000 GB", "0.000000001", "GB", "0.06", "0.00");
    ck_assert_str_eq(inv.lines[1].exact, "0.00000000006");
    ck_assert_str_eq(inv.lines[1].zone, "na");
    ck_assert_str_eq(inv.total, "850.00");
    ck_assert_str_eq(inv.bytes, "10000000000001");
}
END_TEST

START_TEST(test_exactly_at_a_tier_boundary_stays_in_the_lower_tier) {
    pricing_plan_t p = std_plan("0", "0");
    pricing_usage_t u[] = {{"US", 10000 * GB, 0}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 1);
    line_is(0, "Data transfer, zone na, 0-10000 GB", "10000", "GB", "0.085", "850.00");
}
END_TEST

START_TEST(test_one_byte_below_a_tier_boundary_is_never_rounded_up_to_whole_gb) {
    pricing_plan_t p = std_plan("0", "0");
    pricing_usage_t u[] = {{"CA", 10000 * GB - 1, 0}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 1);
    /* 9999.999999999 x 0.085 = 849.999999999915 -> 850.00 */
    line_is(0, "Data transfer, zone na, 0-10000 GB", "9999.999999999", "GB", "0.085", "850.00");
    ck_assert_str_eq(inv.lines[0].exact, "849.999999999915");
}
END_TEST

START_TEST(test_countries_map_to_zones_and_star_takes_every_other_country) {
    pricing_plan_t p = std_plan("0", "0");
    /* US+CA -> na (3 GB), DE -> eu (1 GB), BR+JP+ZZ -> rest (0.5 + 2 + 0.25 GB) */
    pricing_usage_t u[] = {{"US", 2 * GB, 0}, {"BR", GB / 2, 0}, {"DE", GB, 0},
                           {"JP", 2 * GB, 0}, {"CA", GB, 0},     {"ZZ", GB / 4, 0}};
    price_ok(&p, u, 6);
    ck_assert_uint_eq(inv.nlines, 3);
    /* lines by zone name: eu, na, rest */
    line_is(0, "Data transfer, zone eu, 0-10000 GB", "1", "GB", "0.085", "0.08");     /* .085 */
    line_is(1, "Data transfer, zone na, 0-10000 GB", "3", "GB", "0.085", "0.26");     /* .255 */
    line_is(2, "Data transfer, zone rest, 0-10000 GB", "2.75", "GB", "0.14", "0.38"); /* .385 */
    ck_assert_str_eq(inv.subtotal, "0.72");
    ck_assert_str_eq(inv.total, "0.72");
}
END_TEST

START_TEST(test_rows_of_one_country_add_up_before_tiers_apply) {
    pricing_plan_t p = std_plan("0", "0");
    pricing_usage_t u[] = {{"DE", 6000 * GB, 10}, {"FR", 3000 * GB, 20}, {"DE", 2000 * GB, 30}};
    price_ok(&p, u, 3);
    ck_assert_uint_eq(inv.nlines, 3); /* two tiers of eu, and requests */
    line_is(0, "Data transfer, zone eu, 0-10000 GB", "10000", "GB", "0.085", "850.00");
    line_is(1, "Data transfer, zone eu, over 10000 GB", "1000", "GB", "0.06", "60.00");
    line_is(2, "Requests", "0.006", "10k requests", "0", "0.00");
    ck_assert_str_eq(inv.hits, "60");
}
END_TEST

START_TEST(test_three_tiers_are_graduated) {
    static const pricing_tier_t t[] = {
        {"w", "500", "0.03"}, {"w", "0", "0.04"}, {"w", "1000.5", "0.02"}}; /* any order */
    pricing_plan_t p = {"EUR", 2, "0", "0", flat_zone, 1, t, 3};
    pricing_usage_t u[] = {{"FR", 2000 * GB, 0}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 3);
    line_is(0, "Data transfer, zone w, 0-500 GB", "500", "GB", "0.04", "20.00");
    line_is(1, "Data transfer, zone w, 500-1000.5 GB", "500.5", "GB", "0.03", "15.02"); /* .015 */
    line_is(2, "Data transfer, zone w, over 1000.5 GB", "999.5", "GB", "0.02", "19.99");
    ck_assert_str_eq(inv.total, "55.01");
}
END_TEST

START_TEST(test_country_without_zone_and_no_star_needs_attention) {
    static const pricing_zone_t z[] = {{"US", "na"}};
    pricing_plan_t p = std_plan("0", "0");
    p.zones = z;
    p.nzones = 1;
    pricing_usage_t u[] = {{"US", GB, 1}, {"BR", 1, 1}};
    price_fails(&p, u, 2, "no zone for country BR");
}
END_TEST

START_TEST(test_zone_with_traffic_but_no_tier_at_zero_needs_attention) {
    static const pricing_tier_t t[] = {{"w", "100", "0.03"}};
    pricing_plan_t p = {"EUR", 2, "0", "0", flat_zone, 1, t, 1};
    pricing_usage_t u[] = {{"FR", GB, 0}};
    price_fails(&p, u, 1, "start at 100 GB");
    pricing_invoice_fini(&inv);
    p.ntiers = 0;
    price_fails(&p, u, 1, "zone w has traffic but no tiers");
}
END_TEST

START_TEST(test_zone_without_bytes_needs_no_tiers) {
    pricing_plan_t p = {"EUR", 2, "0", "0.5", flat_zone, 1, NULL, 0};
    pricing_usage_t u[] = {{"FR", 0, 20000}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 1);
    line_is(0, "Requests", "2", "10k requests", "0.5", "1.00");
}
END_TEST

START_TEST(test_malformed_or_too_precise_prices_need_attention) {
    pricing_plan_t p = flat_plan("USD", 2, "NaN", "0");
    pricing_usage_t u[] = {{"FR", GB, 0}};
    price_fails(&p, u, 1, "price_per_gb 'NaN' is not a non-negative decimal");
    pricing_invoice_fini(&inv);
    p = flat_plan("USD", 2, "0.0000000000001", "0"); /* 13 decimals */
    price_fails(&p, u, 1, "more than 12 decimals");
    pricing_invoice_fini(&inv);
    p = flat_plan("USD", 2, "1", "-1");
    price_fails(&p, u, 1, "price_per_10k_requests '-1'");
    pricing_invoice_fini(&inv);
    p = flat_plan("USD", 2, "1", "0");
    p.minimum_commit = "Infinity";
    price_fails(&p, u, 1, "minimum_commit 'Infinity'");
}
END_TEST

/* ---- requests and rounding ------------------------------------------------------------------ */

START_TEST(test_requests_are_charged_per_10k_exactly) {
    pricing_plan_t p = flat_plan("USD", 2, "0", "0.0075");
    pricing_usage_t u[] = {{"US", 0, 12345}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 1);
    /* 1.2345 x 0.0075 = 0.00925875 -> 0.01 */
    line_is(0, "Requests", "1.2345", "10k requests", "0.0075", "0.01");
    ck_assert_str_eq(inv.lines[0].exact, "0.00925875");
    ck_assert_ptr_null(inv.lines[0].zone);
}
END_TEST

START_TEST(test_half_cent_rounds_to_even_down_and_up) {
    /* 1 GB x 0.125 = 0.125 -> 0.12 (2 is even); x 0.135 -> 0.14; x 0.145 -> 0.14;
     * x 0.1251 -> 0.13 (above the half); x 0.1349999 -> 0.13 (below) */
    const char *price[] = {"0.125", "0.135", "0.145", "0.1251", "0.1349999"};
    const char *want[] = {"0.12", "0.14", "0.14", "0.13", "0.13"};
    for (int i = 0; i < 5; i++) {
        pricing_plan_t p = flat_plan("USD", 2, price[i], "0");
        pricing_usage_t u[] = {{"US", GB, 0}};
        price_ok(&p, u, 1);
        ck_assert_msg(!strcmp(inv.lines[0].amount, want[i]), "1 GB at %s: %s, want %s", price[i],
                      inv.lines[0].amount, want[i]);
        pricing_invoice_fini(&inv);
    }
    /* requests: 10k x 0.005 = 0.005 -> 0.00; 30k x 0.005 = 0.015 -> 0.02 */
    pricing_plan_t p = flat_plan("USD", 2, "0", "0.005");
    pricing_usage_t u1[] = {{"US", 0, 10000}}, u3[] = {{"US", 0, 30000}};
    price_ok(&p, u1, 1);
    ck_assert_str_eq(inv.lines[0].amount, "0.00");
    pricing_invoice_fini(&inv);
    price_ok(&p, u3, 1);
    ck_assert_str_eq(inv.lines[0].amount, "0.02");
}
END_TEST

START_TEST(test_total_is_the_sum_of_rounded_lines) {
    /* three zones each 0.005 exactly: rounded lines 0.00 + 0.00 + 0.00 (not 0.015 -> 0.02) */
    static const pricing_zone_t z[] = {{"US", "a"}, {"DE", "b"}, {"*", "c"}};
    static const pricing_tier_t t[] = {{"a", "0", "0.01"}, {"b", "0", "0.01"}, {"c", "0", "0.01"}};
    pricing_plan_t p = {"USD", 2, "0", "0", z, 3, t, 3};
    pricing_usage_t u[] = {{"US", GB / 2, 0}, {"DE", GB / 2, 0}, {"JP", GB / 2, 0}};
    price_ok(&p, u, 3);
    ck_assert_uint_eq(inv.nlines, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(inv.lines[i].amount, "0.00");
    ck_assert_str_eq(inv.subtotal, "0.00");
    ck_assert_str_eq(inv.total, "0.00");
}
END_TEST

START_TEST(test_yen_has_no_decimals) {
    static const pricing_tier_t t[] = {{"w", "0", "12"}, {"w", "1000", "9"}};
    pricing_plan_t p = {"JPY", 0, "0", "1", flat_zone, 1, t, 2};
    /* 2.5 GB x 12 = 30; 15000 hits = 1.5 x 1 = 1.5 -> 2 */
    pricing_usage_t u[] = {{"JP", 2 * GB + GB / 2, 15000}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 2);
    line_is(0, "Data transfer, zone w, 0-1000 GB", "2.5", "GB", "12", "30");
    line_is(1, "Requests", "1.5", "10k requests", "1", "2");
    ck_assert_str_eq(inv.total, "32");
    pricing_invoice_fini(&inv);
    /* 0.5 -> 0, 2.5 -> 2, 3.5 -> 4: half-to-even on whole yen */
    p = flat_plan("JPY", 0, "1", "0");
    const uint64_t bytes[] = {GB / 2, 2 * GB + GB / 2, 3 * GB + GB / 2};
    const char *want[] = {"0", "2", "4"};
    for (int i = 0; i < 3; i++) {
        pricing_usage_t v[] = {{"JP", bytes[i], 0}};
        price_ok(&p, v, 1);
        ck_assert_str_eq(inv.lines[0].amount, want[i]);
        ck_assert_str_eq(inv.total, want[i]);
        pricing_invoice_fini(&inv);
    }
}
END_TEST

START_TEST(test_three_decimal_currency) {
    pricing_plan_t p = flat_plan("KWD", 3, "0.0125", "0");
    pricing_usage_t u[] = {{"KW", GB, 0}}; /* 0.0125 -> 0.012 */
    price_ok(&p, u, 1);
    line_is(0, "Data transfer, zone w", "1", "GB", "0.0125", "0.012");
    ck_assert_str_eq(inv.total, "0.012");
}
END_TEST

/* ---- minimum commit ------------------------------------------------------------------------- */

START_TEST(test_minimum_commit_tops_up_with_one_more_line) {
    pricing_plan_t p = std_plan("50", "0.0075");
    /* 1 GB na = 0.085 -> 0.08; 20000 hits = 2 x 0.0075 = 0.015 -> 0.02; subtotal 0.10 */
    pricing_usage_t u[] = {{"US", GB, 20000}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 3);
    line_is(0, "Data transfer, zone na, 0-10000 GB", "1", "GB", "0.085", "0.08");
    line_is(1, "Requests", "2", "10k requests", "0.0075", "0.02");
    line_is(2, "Minimum commit top-up (minimum 50.00 USD)", "1", "", "49.90", "49.90");
    ck_assert_int_eq(inv.lines[2].kind, PRICING_LINE_MINIMUM);
    ck_assert_str_eq(inv.subtotal, "0.10");
    ck_assert_str_eq(inv.total, "50.00");
}
END_TEST

START_TEST(test_minimum_commit_reached_adds_no_line) {
    pricing_plan_t p = std_plan("850.00", "0");
    pricing_usage_t u[] = {{"US", 10000 * GB, 0}}; /* exactly 850.00 */
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 1);
    ck_assert_str_eq(inv.total, "850.00");
    pricing_invoice_fini(&inv);
    p.minimum_commit = "850.004"; /* rounds to 850.00: reached */
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 1);
    pricing_invoice_fini(&inv);
    p.minimum_commit = "850.006"; /* rounds to 850.01: one cent short */
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 2);
    ck_assert_str_eq(inv.lines[1].amount, "0.01");
    ck_assert_str_eq(inv.total, "850.01");
}
END_TEST

START_TEST(test_zero_usage_gives_only_the_minimum) {
    pricing_plan_t p = std_plan("50.00", "0.0075");
    price_ok(&p, NULL, 0);
    ck_assert_uint_eq(inv.nlines, 1);
    line_is(0, "Minimum commit top-up (minimum 50.00 USD)", "1", "", "50.00", "50.00");
    ck_assert_str_eq(inv.subtotal, "0.00");
    ck_assert_str_eq(inv.total, "50.00");
    ck_assert_str_eq(inv.bytes, "0");
    ck_assert_str_eq(inv.hits, "0");
    pricing_invoice_fini(&inv);
    /* rows of zero usage, no minimum: no lines at all, total 0 */
    p = std_plan("0", "0.0075");
    pricing_usage_t u[] = {{"US", 0, 0}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 0);
    ck_assert_str_eq(inv.total, "0.00");
}
END_TEST

/* ---- large numbers -------------------------------------------------------------------------- */

START_TEST(test_huge_usage_does_not_overflow) {
    pricing_plan_t p = std_plan("0", "0.0075");
    /* 10^18 bytes = 10^9 GB: 10000 x 0.085 + (10^9 - 10000) x 0.06 = 850 + 59999400 */
    pricing_usage_t u[] = {{"US", 1000000000ULL * GB, UINT64_MAX}};
    price_ok(&p, u, 1);
    ck_assert_uint_eq(inv.nlines, 3);
    line_is(1, "Data transfer, zone na, over 10000 GB", "999990000", "GB", "0.06", "59999400.00");
    /* 18446744073709551615 hits = 1844674407370955.1615 x 0.0075 = 13835058055282.16371125 */
    line_is(2, "Requests", "1844674407370955.1615", "10k requests", "0.0075", "13835058055282.16");
    ck_assert_str_eq(inv.total, "13835118055532.16");
    ck_assert_str_eq(inv.hits, "18446744073709551615");
}
END_TEST

START_TEST(test_largest_bytes_at_a_large_price_is_exact) {
    pricing_plan_t p = flat_plan("USD", 2, "999999.999999999999", "0");
    pricing_usage_t u[] = {{"US", UINT64_MAX, 0}};
    price_ok(&p, u, 1);
    ck_assert_str_eq(inv.lines[0].quantity, "18446744073.709551615");
    ck_assert_str_eq(inv.lines[0].exact, "18446744073709551.596553255926290448385");
    ck_assert_str_eq(inv.lines[0].amount, "18446744073709551.60");
}
END_TEST

START_TEST(test_sums_beyond_2_to_64_bytes_are_exact_or_refused) {
    pricing_plan_t p = flat_plan("USD", 2, "1", "0");
    pricing_usage_t u[] = {{"US", UINT64_MAX, 0}, {"DE", UINT64_MAX, 0}};
    price_ok(&p, u, 2);
    ck_assert_str_eq(inv.bytes, "36893488147419103230");
    ck_assert_str_eq(inv.lines[0].quantity, "36893488147.41910323");
    ck_assert_str_eq(inv.lines[0].amount, "36893488147.42");
    pricing_invoice_fini(&inv);
    p = flat_plan("USD", 2, "100000000000000000000", "0"); /* 10^20 per GB: does not fit */
    price_fails(&p, u, 2, "too large");
}
END_TEST

/* ---- exact decimals ------------------------------------------------------------------------- */

START_TEST(test_decimal_text_is_parsed_exactly_or_refused) {
    pricing_u128 v;
    ck_assert_int_eq(pricing_dec_parse("0.085", 12, &v, err, sizeof err), 0);
    ck_assert(v == (pricing_u128)85000000000ULL);
    ck_assert_int_eq(pricing_dec_parse("12.30", 2, &v, err, sizeof err), 0);
    ck_assert(v == 1230);
    ck_assert_int_eq(pricing_dec_parse("7", 0, &v, err, sizeof err), 0);
    ck_assert(v == 7);
    ck_assert_int_eq(pricing_dec_parse("1.50000000000000000000000", 2, &v, err, sizeof err), 0);
    ck_assert(v == 150);
    ck_assert_int_eq(
        pricing_dec_parse("340282366920938463463374607431768211455", 0, &v, err, sizeof err), 0);
    ck_assert(v == ~(pricing_u128)0);
    const char *bad[] = {"",
                         "NaN",
                         "Infinity",
                         "-1",
                         "+1",
                         "1e5",
                         ".5",
                         "5.",
                         "1.2.3",
                         " 1",
                         "1 ",
                         "0x10",
                         "340282366920938463463374607431768211456"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(pricing_dec_parse(bad[i], 2, &v, err, sizeof err) == -1, "'%s' accepted",
                      bad[i]);
    ck_assert_int_eq(pricing_dec_parse("0.001", 2, &v, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "more than 2 decimals"));
    ck_assert_int_eq(pricing_dec_parse("1", 38, &v, err, sizeof err), 0);
    ck_assert_int_eq(pricing_dec_parse("10", 38, &v, err, sizeof err), -1); /* 10^39 */
}
END_TEST

START_TEST(test_decimals_are_written_with_trailing_zeros_trimmed_to_a_minimum) {
    char b[PRICING_NUM_MAX];
    ck_assert_uint_eq(pricing_dec_format(85000000000ULL, 12, 0, b, sizeof b), 5);
    ck_assert_str_eq(b, "0.085");
    pricing_dec_format(1230, 2, 2, b, sizeof b);
    ck_assert_str_eq(b, "12.30");
    pricing_dec_format(1230, 2, 0, b, sizeof b);
    ck_assert_str_eq(b, "12.3");
    pricing_dec_format(1200, 2, 0, b, sizeof b);
    ck_assert_str_eq(b, "12");
    pricing_dec_format(0, 9, 0, b, sizeof b);
    ck_assert_str_eq(b, "0");
    pricing_dec_format(0, 2, 2, b, sizeof b);
    ck_assert_str_eq(b, "0.00");
    pricing_dec_format(1, 9, 0, b, sizeof b);
    ck_assert_str_eq(b, "0.000000001");
    pricing_dec_format(5, 0, 2, b, sizeof b); /* more decimals than the scale */
    ck_assert_str_eq(b, "5.00");
    pricing_dec_format(~(pricing_u128)0, 0, 0, b, sizeof b);
    ck_assert_str_eq(b, "340282366920938463463374607431768211455");
    ck_assert_uint_eq(pricing_dec_format(12345, 2, 2, b, 6), 0); /* "123.45" needs 7 */
    ck_assert_str_eq(b, "");
    ck_assert_uint_eq(pricing_dec_format(12345, 2, 2, b, 7), 6);
}
END_TEST

START_TEST(test_round_half_even_at_every_scale) {
    ck_assert(pricing_round_half_even(125, 3, 2) == 12);
    ck_assert(pricing_round_half_even(135, 3, 2) == 14);
    ck_assert(pricing_round_half_even(1250001, 7, 2) == 13);
    ck_assert(pricing_round_half_even(1249999, 7, 2) == 12);
    ck_assert(pricing_round_half_even(5, 1, 0) == 0);
    ck_assert(pricing_round_half_even(15, 1, 0) == 2);
    ck_assert(pricing_round_half_even(77, 2, 2) == 77);
    ck_assert(pricing_round_half_even(~(pricing_u128)0, 1, 0) ==
              (~(pricing_u128)0) / 10 + 1); /* ...455: the last digit 5 rounds up */
}
END_TEST

START_TEST(test_whole_numbers_and_months_are_checked) {
    uint64_t v;
    ck_assert_int_eq(pricing_u64_parse("18446744073709551615", &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(pricing_u64_parse("18446744073709551616", &v), -1);
    ck_assert_int_eq(pricing_u64_parse("", &v), -1);
    ck_assert_int_eq(pricing_u64_parse("1.0", &v), -1);
    ck_assert_int_eq(pricing_u64_parse("-1", &v), -1);
    int y, m;
    ck_assert_int_eq(pricing_month_parse("2026-11", &y, &m), 0);
    ck_assert_int_eq(y, 2026);
    ck_assert_int_eq(m, 11);
    const char *bad[] = {"2026-13", "2026-1", "abc", "2026-00", "0000-01", "2026-011",
                         "2026/11", "20261",  "",    "2026-1a", " 2026-11"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(pricing_month_parse(bad[i], &y, &m) == -1, "'%s' accepted", bad[i]);
    ck_assert_int_eq(pricing_month_days(2024, 2), 29);
    ck_assert_int_eq(pricing_month_days(2026, 2), 28);
    ck_assert_int_eq(pricing_month_days(2000, 2), 29);
    ck_assert_int_eq(pricing_month_days(2100, 2), 28);
    ck_assert_int_eq(pricing_month_days(2026, 11), 30);
    ck_assert_int_eq(pricing_month_days(2026, 12), 31);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("billing_pricing");
    TCase *t = tcase_create("tiers_and_zones");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_one_byte_past_a_tier_boundary_is_charged_at_the_next_tier);
    tcase_add_test(t, test_exactly_at_a_tier_boundary_stays_in_the_lower_tier);
    tcase_add_test(t, test_one_byte_below_a_tier_boundary_is_never_rounded_up_to_whole_gb);
    tcase_add_test(t, test_countries_map_to_zones_and_star_takes_every_other_country);
    tcase_add_test(t, test_rows_of_one_country_add_up_before_tiers_apply);
    tcase_add_test(t, test_three_tiers_are_graduated);
    tcase_add_test(t, test_country_without_zone_and_no_star_needs_attention);
    tcase_add_test(t, test_zone_with_traffic_but_no_tier_at_zero_needs_attention);
    tcase_add_test(t, test_zone_without_bytes_needs_no_tiers);
    tcase_add_test(t, test_malformed_or_too_precise_prices_need_attention);
    suite_add_tcase(s, t);
    t = tcase_create("requests_and_rounding");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_requests_are_charged_per_10k_exactly);
    tcase_add_test(t, test_half_cent_rounds_to_even_down_and_up);
    tcase_add_test(t, test_total_is_the_sum_of_rounded_lines);
    tcase_add_test(t, test_yen_has_no_decimals);
    tcase_add_test(t, test_three_decimal_currency);
    suite_add_tcase(s, t);
    t = tcase_create("minimum_commit");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_minimum_commit_tops_up_with_one_more_line);
    tcase_add_test(t, test_minimum_commit_reached_adds_no_line);
    tcase_add_test(t, test_zero_usage_gives_only_the_minimum);
    suite_add_tcase(s, t);
    t = tcase_create("large_numbers");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_huge_usage_does_not_overflow);
    tcase_add_test(t, test_largest_bytes_at_a_large_price_is_exact);
    tcase_add_test(t, test_sums_beyond_2_to_64_bytes_are_exact_or_refused);
    suite_add_tcase(s, t);
    t = tcase_create("decimals");
    tcase_add_test(t, test_decimal_text_is_parsed_exactly_or_refused);
    tcase_add_test(t, test_decimals_are_written_with_trailing_zeros_trimmed_to_a_minimum);
    tcase_add_test(t, test_round_half_even_at_every_scale);
    tcase_add_test(t, test_whole_numbers_and_months_are_checked);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
