/* Unit tests of billing/usage.c's pure parts: GB as bytes / 10^9 written exactly from decimal
 * text of any length (sums past 2^64 included), and the dates --from and --to accept. */
#include "../../../billing/usage.h"

#include <check.h>
#include <string.h>

static const char *gb(const char *bytes) {
    static char out[USAGE_NUM_MAX];
    return usage_gb(bytes, out, sizeof out) == 0 ? out : "ERR";
}

START_TEST(test_gb_is_bytes_over_10_to_9_exactly) {
    ck_assert_str_eq(gb("0"), "0");
    ck_assert_str_eq(gb("1"), "0.000000001");
    ck_assert_str_eq(gb("999999999"), "0.999999999");
    ck_assert_str_eq(gb("1000000000"), "1");
    ck_assert_str_eq(gb("1500000000"), "1.5");
    ck_assert_str_eq(gb("2000000001"), "2.000000001");
    ck_assert_str_eq(gb("4200"), "0.0000042");
    ck_assert_str_eq(gb("000120000000000"), "120");
}
END_TEST

START_TEST(test_gb_of_sums_past_2_to_64_stays_exact) {
    /* 2^64 + 1 bytes, and a 39-digit sum: no integer type holds them, the text does */
    ck_assert_str_eq(gb("18446744073709551617"), "18446744073.709551617");
    ck_assert_str_eq(gb("340282366920938463463374607431768211457"),
                     "340282366920938463463374607431.768211457");
}
END_TEST

START_TEST(test_gb_refuses_what_is_not_a_whole_number_or_does_not_fit) {
    char small[4];
    ck_assert_str_eq(gb(""), "ERR");
    ck_assert_str_eq(gb("-1"), "ERR");
    ck_assert_str_eq(gb("1.5"), "ERR");
    ck_assert_str_eq(gb("1e9"), "ERR");
    ck_assert_int_eq(usage_gb("1500000000", small, sizeof small), 0); /* "1.5" fits in 4 */
    ck_assert_int_eq(usage_gb("1250000000", small, sizeof small), -1);
}
END_TEST

START_TEST(test_dates_are_calendar_dates_from_2000_to_9999) {
    long long t;
    ck_assert_int_eq(usage_date_parse("2026-11-30", &t), 0);
    ck_assert_int_eq(t, 1795996800LL); /* 2026-11-30T00:00:00Z */
    ck_assert_int_eq(usage_date_parse("2000-01-01", &t), 0);
    ck_assert_int_eq(t, 946684800LL);
    ck_assert_int_eq(usage_date_parse("2024-02-29", &t), 0); /* a leap day */
    ck_assert_int_eq(usage_date_parse("9999-12-30", &t), 0);
    const char *bad[] = {"2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10",  "2026-1-05",
                         "2026-01-5",  "1999-12-31", "9999-12-31", "2026-01-01x", "2026/01/01",
                         "",           "+026-01-01", "2026-01- 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(usage_date_parse(bad[i], &t) == -1, "accepted '%s'", bad[i]);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("usage");
    TCase *t = tcase_create("gb");
    tcase_add_test(t, test_gb_is_bytes_over_10_to_9_exactly);
    tcase_add_test(t, test_gb_of_sums_past_2_to_64_stays_exact);
    tcase_add_test(t, test_gb_refuses_what_is_not_a_whole_number_or_does_not_fit);
    suite_add_tcase(s, t);
    t = tcase_create("dates");
    tcase_add_test(t, test_dates_are_calendar_dates_from_2000_to_9999);
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
