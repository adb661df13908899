/* Unit tests of billing/invoice_month.c: a customer's month cut into parts by its plan changes
 * (customer_plans), active days, proration hours, and each usage row priced in its part. The
 * invdb_t is built by hand (what invoice_db would have read). November 2026 has 720 hours. */
#include "../../../billing/invoice_month.h"

#include <check.h>
#include <string.h>

#define GB 1000000000ULL
#define H 3600

static const pricing_zone_t w_zone[] = {{"*", "w"}};
static const pricing_tier_t a_tiers[] = {{"w", "0", "0.10"}};
static const pricing_tier_t b_tiers[] = {{"w", "0", "0.08"}};
static const pricing_tier_t y_tiers[] = {{"w", "0", "1"}};

/* Plans sorted by id, as invdb_load leaves them (invdb_find_plan bisects). */
static invdb_plan_t plans[] = {
    {"a", {"USD", 2, "100", "0", w_zone, 1, a_tiers, 1}, NULL, NULL},
    {"b", {"USD", 2, "300", "0", w_zone, 1, b_tiers, 1}, NULL, NULL},
    {"y", {"JPY", 0, "0", "0", w_zone, 1, y_tiers, 1}, NULL, NULL},
};

static invdb_t d;
static invmonth_t m;
static pricing_invoice_t inv;
static char err[PRICING_ERR_MAX];
static int64_t nov, dec;

static void setup(void) {
    memset(&d, 0, sizeof d);
    d.plans = plans;
    d.nplans = 3;
    nov = invdb_day_s("2026-11-01");
    dec = invdb_day_s("2026-12-01");
}

static void teardown(void) {
    invmonth_fini(&m);
    pricing_invoice_fini(&inv);
}

static int cut(const invdb_customer_t *c) {
    return invmonth_init(&m, &d, c, nov, dec, err, sizeof err);
}

START_TEST(test_days_are_utc_midnights) {
    ck_assert_int_eq(invdb_day_s("1970-01-02"), 86400);
    ck_assert_int_eq(invdb_day_s("2026-11-01"), 1793491200);
    ck_assert_int_eq(invdb_day_s("2026-02-29"), -1);
    ck_assert_int_eq(invdb_day_s("2026-11-01x"), -1);
}
END_TEST

START_TEST(test_one_plan_since_always_is_one_part_of_the_whole_month) {
    invdb_cplan_t cp[] = {{"c", "a", invdb_day_s("2000-01-01")}};
    d.cplans = cp, d.ncplans = 1;
    invdb_customer_t c = {"c", "C", "a", NULL, NULL, "0"};
    ck_assert_int_eq(cut(&c), INVMONTH_OK);
    ck_assert_uint_eq(m.nparts, 1);
    ck_assert_int_eq(m.parts[0].from, nov);
    ck_assert_int_eq(m.parts[0].to, dec);
    ck_assert_uint_eq(m.hours[0], 720);
    ck_assert_uint_eq(m.month_hours, 720);
    ck_assert_str_eq(m.period_from, "2026-11-01");
    ck_assert_str_eq(m.period_to, "2026-11-30");
}
END_TEST

START_TEST(test_a_change_at_an_hour_makes_two_parts_and_the_same_plan_again_none) {
    int64_t t = nov + (14 * 24 + 12) * H; /* 2026-11-15T12Z */
    invdb_cplan_t cp[] = {{"c", "a", invdb_day_s("2000-01-01")},
                          {"c", "a", nov + 24 * H}, /* the same plan again: no cut */
                          {"c", "b", t},
                          {"d", "b", nov}};
    d.cplans = cp, d.ncplans = 4;
    invdb_customer_t c = {"c", "C", "b", NULL, NULL, "0"};
    ck_assert_int_eq(cut(&c), INVMONTH_OK);
    ck_assert_uint_eq(m.nparts, 2);
    ck_assert_str_eq(m.parts[0].plan, "a");
    ck_assert_int_eq(m.parts[0].to, t);
    ck_assert_str_eq(m.parts[1].plan, "b");
    ck_assert_uint_eq(m.hours[0], 348);
    ck_assert_uint_eq(m.hours[1], 372);
    /* usage rows carry the start of their part: nov (part 0), t (part 1) */
    pricing_usage_t u[] = {{"FR", 15 * GB, 0}, {"FR", 5 * GB, 0}};
    int64_t part[] = {nov, t};
    ck_assert_int_eq(invmonth_price(&m, u, part, 2, &inv, err, sizeof err), 0);
    ck_assert_str_eq(inv.lines[0].description,
                     "Plan a, 2026-11-01 00:00 to 2026-11-15 12:00 UTC: Data transfer, zone w");
    ck_assert_str_eq(inv.lines[0].amount, "1.50");
    /* minimum a: 100 x 348/720 = 48.33, top-up 46.83; b: 300 x 372/720 = 155.00, top-up 154.60 */
    ck_assert_str_eq(inv.lines[1].amount, "46.83");
    ck_assert_str_eq(inv.lines[2].amount, "0.40");
    ck_assert_str_eq(inv.lines[3].amount, "154.60");
}
END_TEST

START_TEST(test_active_days_prorate_and_a_month_outside_gets_nothing) {
    invdb_cplan_t cp[] = {{"c", "a", invdb_day_s("2000-01-01")}};
    d.cplans = cp, d.ncplans = 1;
    invdb_customer_t c = {"c", "C", "a", "2026-11-16", NULL, "0"};
    ck_assert_int_eq(cut(&c), INVMONTH_OK);
    ck_assert_uint_eq(m.hours[0], 15 * 24);
    ck_assert_str_eq(m.period_from, "2026-11-16");
    invmonth_fini(&m);
    invdb_customer_t ended = {"c", "C", "a", "2026-01-01", "2026-10-31", "0"};
    ck_assert_int_eq(cut(&ended), INVMONTH_INACTIVE);
    invdb_customer_t one_day = {"c", "C", "a", NULL, "2026-11-01", "0"};
    ck_assert_int_eq(cut(&one_day), INVMONTH_OK);
    ck_assert_uint_eq(m.hours[0], 24);
    ck_assert_str_eq(m.period_to, "2026-11-01");
}
END_TEST

START_TEST(test_usage_before_the_first_plan_cannot_be_priced) {
    invdb_cplan_t cp[] = {{"c", "a", nov + 48 * H}};
    d.cplans = cp, d.ncplans = 1;
    invdb_customer_t c = {"c", "C", "a", NULL, NULL, "0"};
    ck_assert_int_eq(cut(&c), INVMONTH_OK);
    ck_assert_uint_eq(m.hours[0], 720 - 48);
    pricing_usage_t u[] = {{"FR", GB, 0}};
    int64_t part[] = {nov}; /* the month's start: the plan starts later */
    ck_assert_int_eq(invmonth_price(&m, u, part, 1, &inv, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no plan"), "%s", err);
    invdb_cplan_t later[] = {{"c", "a", dec}};
    d.cplans = later;
    invmonth_fini(&m);
    ck_assert_int_eq(cut(&c), INVMONTH_NO_PLAN);
}
END_TEST

START_TEST(test_plans_of_two_currencies_in_one_month_are_refused) {
    invdb_cplan_t cp[] = {{"c", "a", nov}, {"c", "y", nov + 24 * H}};
    d.cplans = cp, d.ncplans = 2;
    invdb_customer_t c = {"c", "C", "y", NULL, NULL, "0"};
    ck_assert_int_eq(cut(&c), INVMONTH_OK);
    ck_assert_int_eq(invmonth_price(&m, NULL, NULL, 0, &inv, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "one currency"), "%s", err);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("invoice_month");
    TCase *t = tcase_create("parts");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_days_are_utc_midnights);
    tcase_add_test(t, test_one_plan_since_always_is_one_part_of_the_whole_month);
    tcase_add_test(t, test_a_change_at_an_hour_makes_two_parts_and_the_same_plan_again_none);
    tcase_add_test(t, test_active_days_prorate_and_a_month_outside_gets_nothing);
    tcase_add_test(t, test_usage_before_the_first_plan_cannot_be_priced);
    tcase_add_test(t, test_plans_of_two_currencies_in_one_month_are_refused);
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
