/* hit_validate, the one rule every stage applies to a decoded hit: each reason in turn, at its
 * boundaries (bytes exactly HIT_BYTES_MAX is billable, one more is not; a time exactly at either
 * edge of the window is in it, one millisecond beyond is not), customer ids as custid.h defines
 * them ("acme+eu" and "Müller" are not), countries only as two capital letters ("us" is not),
 * and the first failing reason wins in hitv_t order. */
#include "../../../common/custid.h"
#include "../../../common/hitcheck.h"
#include "../../support/hit_jansson.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REF 1764021841123LL /* the reference clock in these tests: hit_sample's ts */

static slice_t S(const char *s) {
    return (slice_t){s, strlen(s)};
}

static int check(const hit_t *h) {
    hit_tswin_t w = hit_tswin_default();
    return hit_validate(h, REF, &w);
}

START_TEST(test_sample_hit_is_valid) {
    hit_t h = hit_sample();
    ck_assert_int_eq(check(&h), HITV_OK);
    ck_assert_str_eq(hitv_name(HITV_OK), "ok");
}
END_TEST

START_TEST(test_reason_names_are_the_contract_words) {
    ck_assert_str_eq(hitv_name(HITV_CUSTOMER), "customer");
    ck_assert_str_eq(hitv_name(HITV_COUNTRY), "country");
    ck_assert_str_eq(hitv_name(HITV_BYTES), "bytes");
    ck_assert_str_eq(hitv_name(HITV_TIMESTAMP), "timestamp");
    ck_assert_str_eq(hitv_name(HITV_TEXT), "text");
    ck_assert_str_eq(hitv_name(HITV_COUNT), "unknown");
    ck_assert_str_eq(hitv_name(-1), "unknown");
}
END_TEST

START_TEST(test_customer_ids_outside_the_rule_are_refused) {
    const char *bad[] = {"", "acme+eu", "M\xc3\xbcller", "ac me", "#wm", "acme/x", "a\"b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hit_t h = hit_sample();
        h.customer = S(bad[i]);
        ck_assert_msg(check(&h) == HITV_CUSTOMER, "customer '%s' accepted", bad[i]);
    }
    char id[CUSTID_MAX + 1];
    memset(id, 'a', sizeof id);
    hit_t h = hit_sample();
    h.customer = (slice_t){id, CUSTID_MAX};
    ck_assert_int_eq(check(&h), HITV_OK);
    h.customer.n = CUSTID_MAX + 1;
    ck_assert_int_eq(check(&h), HITV_CUSTOMER);
    h.customer = S("Acme_EU.2-x");
    ck_assert_int_eq(check(&h), HITV_OK);
}
END_TEST

START_TEST(test_country_must_be_two_capital_letters) {
    const char *bad[] = {"us", "Us", "U", "USA", "", "U1", "ZZ\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hit_t h = hit_sample();
        h.country = S(bad[i]);
        ck_assert_msg(check(&h) == HITV_COUNTRY, "country '%s' accepted", bad[i]);
    }
    hit_t h = hit_sample();
    h.country = S("ZZ");
    ck_assert_int_eq(check(&h), HITV_OK);
}
END_TEST

START_TEST(test_bytes_up_to_the_bound_and_not_one_more) {
    hit_t h = hit_sample();
    h.bytes = HIT_BYTES_MAX;
    ck_assert_int_eq(check(&h), HITV_OK);
    h.bytes = HIT_BYTES_MAX + 1;
    ck_assert_int_eq(check(&h), HITV_BYTES);
    h.bytes = UINT64_MAX;
    ck_assert_int_eq(check(&h), HITV_BYTES);
    h.bytes = 0;
    ck_assert_int_eq(check(&h), HITV_OK);
    /* 2^20 hits of the bound still sum below 2^64: the reason for the bound */
    ck_assert(HIT_BYTES_MAX <= UINT64_MAX >> 20);
}
END_TEST

START_TEST(test_timestamps_at_the_window_edges) {
    hit_tswin_t w = hit_tswin_default();
    ck_assert_int_eq(w.past_ms, 35LL * 86400 * 1000);
    ck_assert_int_eq(w.ahead_ms, 86400LL * 1000);
    hit_t h = hit_sample();
    h.ts_ms = REF - w.past_ms;
    ck_assert_int_eq(hit_validate(&h, REF, &w), HITV_OK);
    h.ts_ms = REF - w.past_ms - 1;
    ck_assert_int_eq(hit_validate(&h, REF, &w), HITV_TIMESTAMP);
    h.ts_ms = REF + w.ahead_ms;
    ck_assert_int_eq(hit_validate(&h, REF, &w), HITV_OK);
    h.ts_ms = REF + w.ahead_ms + 1;
    ck_assert_int_eq(hit_validate(&h, REF, &w), HITV_TIMESTAMP);
    /* the year 3000, 1970, and the extremes: no overflow */
    int64_t absurd[] = {32503680000000LL, 0, INT64_MAX, INT64_MIN, -1};
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        h.ts_ms = absurd[i];
        ck_assert_msg(hit_validate(&h, REF, &w) == HITV_TIMESTAMP, "ts %lld accepted",
                      (long long)absurd[i]);
    }
}
END_TEST

START_TEST(test_negative_reference_skips_the_time_check) {
    hit_tswin_t w = hit_tswin_default();
    hit_t h = hit_sample();
    h.ts_ms = 0;
    ck_assert_int_eq(hit_validate(&h, -1, &w), HITV_OK);
}
END_TEST

START_TEST(test_consumer_window_is_wider_by_the_slack) {
    hit_tswin_t p = {1000, 2000}, c = hit_tswin_consumer(p);
    ck_assert_int_eq(c.past_ms, 1000 + HIT_TS_CONSUMER_SLACK_MS);
    ck_assert_int_eq(c.ahead_ms, 2000 + HIT_TS_CONSUMER_SLACK_MS);
    hit_t h = hit_sample();
    h.ts_ms = REF + 2000 + HIT_TS_CONSUMER_SLACK_MS;
    ck_assert_int_eq(hit_validate(&h, REF, &p), HITV_TIMESTAMP);
    ck_assert_int_eq(hit_validate(&h, REF, &c), HITV_OK);
}
END_TEST

START_TEST(test_nul_in_edge_or_src_and_empty_src_are_text) {
    hit_t h = hit_sample();
    h.edge = (slice_t){"ed\0ge", 5};
    ck_assert_int_eq(check(&h), HITV_TEXT);
    h = hit_sample();
    h.src = (slice_t){"a\0b", 3};
    ck_assert_int_eq(check(&h), HITV_TEXT);
    h = hit_sample();
    h.src = S("");
    ck_assert_int_eq(check(&h), HITV_TEXT);
    h = hit_sample();
    h.edge = S(""); /* an empty edge is allowed: the check is only about NUL */
    ck_assert_int_eq(check(&h), HITV_OK);
}
END_TEST

START_TEST(test_first_failing_reason_wins) {
    hit_t h = hit_sample();
    h.customer = S("a+b");
    h.country = S("us");
    h.bytes = HIT_BYTES_MAX + 1;
    h.ts_ms = 0;
    h.src = S("");
    ck_assert_int_eq(check(&h), HITV_CUSTOMER);
    h.customer = S("acme");
    ck_assert_int_eq(check(&h), HITV_COUNTRY);
    h.country = S("US");
    ck_assert_int_eq(check(&h), HITV_BYTES);
    h.bytes = 1;
    ck_assert_int_eq(check(&h), HITV_TIMESTAMP);
    h.ts_ms = REF;
    ck_assert_int_eq(check(&h), HITV_TEXT);
}
END_TEST

int main(void) {
    Suite *s = suite_create("hitcheck");
    TCase *t = tcase_create("validate");
    tcase_add_test(t, test_sample_hit_is_valid);
    tcase_add_test(t, test_reason_names_are_the_contract_words);
    tcase_add_test(t, test_customer_ids_outside_the_rule_are_refused);
    tcase_add_test(t, test_country_must_be_two_capital_letters);
    tcase_add_test(t, test_bytes_up_to_the_bound_and_not_one_more);
    tcase_add_test(t, test_timestamps_at_the_window_edges);
    tcase_add_test(t, test_negative_reference_skips_the_time_check);
    tcase_add_test(t, test_consumer_window_is_wider_by_the_slack);
    tcase_add_test(t, test_nul_in_edge_or_src_and_empty_src_are_text);
    tcase_add_test(t, test_first_failing_reason_wins);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
