/* Unit tests of billing/pricing_month.c and the proration of pricing.c: the minimum commit
 * prorated by active hours and rounded half-to-even once, a month of parts each priced alone
 * (tiers from 0 GB in each), adjustment lines (negative allowed) and the tax line rounded
 * half-to-even on subtotal + top-up + adjustments. Expected amounts are worked out by hand in the
 * comments (and agree with tests/integration/lib/invoice_oracle.py --spec). */
#include "../../../billing/pricing.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GB 1000000000ULL

/* One zone "w" for every country: 0.10 per GB up to 10 GB, 0.05 above; 0.01 per 10k requests. */
static const pricing_zone_t w_zone[] = {{"*", "w"}};
static const pricing_tier_t w_tiers[] = {{"w", "0", "0.10"}, {"w", "10", "0.05"}};
static const pricing_plan_t small = {"USD", 2, "100", "0.01", w_zone, 1, w_tiers, 2};

static pricing_invoice_t inv, part;
static char err[PRICING_ERR_MAX];

static void teardown(void) {
    pricing_invoice_fini(&inv);
    pricing_invoice_fini(&part);
}

static const pricing_line_t *last_line(void) {
    ck_assert_uint_gt(inv.nlines, 0);
    return &inv.lines[inv.nlines - 1];
}

/* ---- proration --------------------------------------------------------------------------------
 */

START_TEST(test_prorate_rounds_half_to_even_once_on_the_exact_share) {
    pricing_u128 v;
    /* 100 x 20/31 = 64.516129... -> 64.52 */
    ck_assert_int_eq(pricing_prorate(10000, 2, 20, 31, 2, &v), 0); /* 100.00 */
    ck_assert(v == 6452);
    /* 0.05 x 1/2 = 0.025 -> 0.02 (even); 0.15 x 1/2 = 0.075 -> 0.08 (even) */
    ck_assert_int_eq(pricing_prorate(5, 2, 1, 2, 2, &v), 0);
    ck_assert(v == 2);
    ck_assert_int_eq(pricing_prorate(15, 2, 1, 2, 2, &v), 0);
    ck_assert(v == 8);
    /* 1 x 1/3 = 0.333... -> 0.33; 2 x 1/3 = 0.666... -> 0.67 */
    ck_assert_int_eq(pricing_prorate(100, 2, 1, 3, 2, &v), 0);
    ck_assert(v == 33);
    ck_assert_int_eq(pricing_prorate(200, 2, 1, 3, 2, &v), 0);
    ck_assert(v == 67);
    ck_assert_int_eq(pricing_prorate(100, 2, 1, 0, 2, &v), -1); /* den 0 */
    ck_assert_int_eq(pricing_prorate(1, 0, 1, 3, 2, &v), -1);   /* to a finer scale */
}
END_TEST

START_TEST(test_minimum_of_a_partial_month_is_prorated_by_days) {
    /* 15 of 30 days: 100 x 15/30 = 50.00, no usage: top-up 50.00 */
    ck_assert_int_eq(
        pricing_compute_share(&small, NULL, 0, 15 * 24, 30 * 24, &inv, err, sizeof err), 0);
    ck_assert_uint_eq(inv.nlines, 1);
    ck_assert_str_eq(last_line()->description,
                     "Minimum commit top-up (minimum 100.00 USD x 15/30 days)");
    ck_assert_str_eq(last_line()->amount, "50.00");
    ck_assert_str_eq(inv.topup, "50.00");
    ck_assert_str_eq(inv.total, "50.00");
}
END_TEST

START_TEST(test_minimum_of_a_part_split_at_an_hour_is_prorated_by_hours) {
    /* 348 of 720 hours: 100 x 348/720 = 48.333... -> 48.33 */
    ck_assert_int_eq(pricing_compute_share(&small, NULL, 0, 348, 720, &inv, err, sizeof err), 0);
    ck_assert_str_eq(last_line()->description,
                     "Minimum commit top-up (minimum 100.00 USD x 348/720 hours)");
    ck_assert_str_eq(last_line()->amount, "48.33");
}
END_TEST

START_TEST(test_a_whole_month_keeps_the_old_minimum_line) {
    ck_assert_int_eq(pricing_compute_share(&small, NULL, 0, 720, 720, &inv, err, sizeof err), 0);
    ck_assert_str_eq(last_line()->description, "Minimum commit top-up (minimum 100.00 USD)");
    ck_assert_str_eq(last_line()->amount, "100.00");
}
END_TEST

START_TEST(test_a_part_outside_the_active_days_owes_no_minimum) {
    ck_assert_int_eq(pricing_compute_share(&small, NULL, 0, 0, 720, &inv, err, sizeof err), 0);
    ck_assert_uint_eq(inv.nlines, 0);
    ck_assert_str_eq(inv.total, "0.00");
}
END_TEST

/* ---- parts ------------------------------------------------------------------------------------
 */

START_TEST(test_each_part_starts_its_tiers_at_zero_and_is_labelled) {
    /* part 0: 8 GB, part 1: 8 GB. Tiers per part: both 8 x 0.10 = 0.80 (over the month it would
     * have been 10 x 0.10 + 6 x 0.05 = 1.30). Minimums 100 x 360/720 = 50.00 each. */
    pricing_usage_t u[] = {{"FR", 8 * GB, 0}};
    const char *labels[] = {"Plan small, first half", "Plan small, second half"};
    memset(&inv, 0, sizeof inv);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(pricing_compute_share(&small, u, 1, 360, 720, &part, err, sizeof err), 0);
        ck_assert_int_eq(pricing_append(&inv, &part, k, labels[k], err, sizeof err), 0);
    }
    ck_assert_int_eq(pricing_close(&inv, "0", 2, err, sizeof err), 0);
    ck_assert_uint_eq(inv.nlines, 4);
    ck_assert_str_eq(inv.lines[0].description,
                     "Plan small, first half: Data transfer, zone w, 0-10 GB");
    ck_assert_str_eq(inv.lines[0].amount, "0.80");
    ck_assert_int_eq(inv.lines[0].part, 0);
    ck_assert_int_eq(inv.lines[0].tier, 0);
    ck_assert_str_eq(inv.lines[2].description,
                     "Plan small, second half: Data transfer, zone w, 0-10 GB");
    ck_assert_int_eq(inv.lines[2].part, 1);
    ck_assert_str_eq(inv.subtotal, "1.60");
    ck_assert_str_eq(inv.topup, "98.40"); /* 49.20 + 49.20 */
    ck_assert_str_eq(inv.total, "100.00");
    ck_assert_str_eq(inv.bytes, "16000000000");
    ck_assert_str_eq(inv.tax, "0.00");
}
END_TEST

/* ---- adjustments and tax ----------------------------------------------------------------------
 */

START_TEST(test_tax_is_rounded_half_to_even_on_everything_above_it) {
    /* usage 0.13, top-up 49.87, adjustments 5.06 - 4.86 = 0.20: base 50.20 x 0.0725 = 3.6395 ->
     * 3.64; total 53.84 */
    pricing_usage_t u[] = {{"US", 1 * GB, 30000}};
    ck_assert_int_eq(pricing_compute_share(&small, u, 1, 360, 720, &inv, err, sizeof err), 0);
    ck_assert_int_eq(pricing_add_adjustment(&inv, "Adjustment for 2026-10: zone eu, +40.42 GB",
                                            "eu", "GB", "40.42", "0.125", "5.06", err, sizeof err),
                     0);
    ck_assert_int_eq(pricing_add_adjustment(&inv, "Adjustment for 2026-10: minimum commit top-up",
                                            NULL, "", "-1", "4.86", "-4.86", err, sizeof err),
                     0);
    ck_assert_int_eq(pricing_close(&inv, "0.0725", 2, err, sizeof err), 0);
    ck_assert_str_eq(inv.subtotal, "0.13");
    ck_assert_str_eq(inv.topup, "49.87");
    ck_assert_str_eq(inv.adjustments, "0.20");
    ck_assert_str_eq(inv.tax, "3.64");
    ck_assert_str_eq(inv.total, "53.84");
    const pricing_line_t *t = last_line();
    ck_assert_int_eq(t->kind, PRICING_LINE_TAX);
    ck_assert_str_eq(t->description, "Tax 7.25 %");
    ck_assert_str_eq(t->quantity, "50.20");
    ck_assert_str_eq(t->unit_price, "0.0725");
    ck_assert_str_eq(t->exact, "3.6395");
    ck_assert_str_eq(pricing_kind_name(t->kind), "tax");
    ck_assert_str_eq(pricing_kind_name(inv.lines[inv.nlines - 2].kind), "adjustment");
}
END_TEST

START_TEST(test_exact_half_tax_rounds_to_even) {
    /* 50.00 x 0.0725 = 3.625 -> 3.62 */
    ck_assert_int_eq(pricing_compute_share(&small, NULL, 0, 360, 720, &inv, err, sizeof err), 0);
    ck_assert_int_eq(pricing_close(&inv, "0.0725", 2, err, sizeof err), 0);
    ck_assert_str_eq(inv.tax, "3.62");
    ck_assert_str_eq(inv.total, "53.62");
}
END_TEST

START_TEST(test_no_tax_line_at_rate_zero) {
    ck_assert_int_eq(pricing_compute_share(&small, NULL, 0, 720, 720, &inv, err, sizeof err), 0);
    ck_assert_int_eq(pricing_close(&inv, "0", 2, err, sizeof err), 0);
    ck_assert_uint_eq(inv.nlines, 1);
    ck_assert_str_eq(inv.total, "100.00");
}
END_TEST

/* A credit (negative adjustments) is taken off the rest; one larger than the rest is refused:
 * the caller must carry it forward first (invadj_credit). */
START_TEST(test_credits_beyond_the_rest_and_bad_rates_are_refused) {
    ck_assert_int_eq(pricing_compute_share(&small, NULL, 0, 720, 720, &inv, err, sizeof err), 0);
    ck_assert_int_eq(pricing_close(&inv, "1.5", 2, err, sizeof err), -1);
    ck_assert_int_eq(pricing_close(&inv, "-0.1", 2, err, sizeof err), -1);
    ck_assert_int_eq(
        pricing_add_adjustment(&inv, "credit", NULL, "", "-1", "1.00", "-1.00", err, sizeof err),
        0);
    ck_assert_int_eq(pricing_close(&inv, "0", 2, err, sizeof err), 0);
    ck_assert_str_eq(inv.adjustments, "-1.00");
    ck_assert_str_eq(inv.total, "99.00");
    ck_assert_int_eq(pricing_add_adjustment(&inv, "credit", NULL, "", "-1", "150.00", "-150.00",
                                            err, sizeof err),
                     0);
    ck_assert_int_eq(pricing_close(&inv, "0", 2, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "credits exceed"), "%s", err);
}
END_TEST

START_TEST(test_signed_decimals_round_trip) {
    __int128 v;
    char buf[PRICING_NUM_MAX + 1];
    ck_assert_int_eq(pricing_sdec_parse("-4.86", 2, &v), 0);
    ck_assert(v == -486);
    pricing_sdec_format(v, 2, buf, sizeof buf);
    ck_assert_str_eq(buf, "-4.86");
    ck_assert_int_eq(pricing_sdec_parse("12", 0, &v), 0);
    pricing_sdec_format(v, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "12");
    ck_assert_int_eq(pricing_sdec_parse("--1", 2, &v), -1);
    ck_assert_int_eq(pricing_sdec_parse("1.234", 2, &v), -1);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("pricing_month");
    TCase *t = tcase_create("proration");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_prorate_rounds_half_to_even_once_on_the_exact_share);
    tcase_add_test(t, test_minimum_of_a_partial_month_is_prorated_by_days);
    tcase_add_test(t, test_minimum_of_a_part_split_at_an_hour_is_prorated_by_hours);
    tcase_add_test(t, test_a_whole_month_keeps_the_old_minimum_line);
    tcase_add_test(t, test_a_part_outside_the_active_days_owes_no_minimum);
    suite_add_tcase(s, t);
    t = tcase_create("parts");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_each_part_starts_its_tiers_at_zero_and_is_labelled);
    suite_add_tcase(s, t);
    t = tcase_create("adjustments_and_tax");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, test_tax_is_rounded_half_to_even_on_everything_above_it);
    tcase_add_test(t, test_exact_half_tax_rounds_to_even);
    tcase_add_test(t, test_no_tax_line_at_rate_zero);
    tcase_add_test(t, test_credits_beyond_the_rest_and_bad_rates_are_refused);
    tcase_add_test(t, test_signed_decimals_round_trip);
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
