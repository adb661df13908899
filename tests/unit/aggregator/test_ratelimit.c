/* The per-address token bucket: a burst, then the steady rate, with the wait it announces being
 * exactly the time until the next token; addresses are independent; the table stays bounded
 * with far more addresses than slots, and an address that has been quiet long enough is whole
 * again. Time is given, never read: every case is exact. */
#include "../../../aggregator/ratelimit.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char A[4] = {192, 0, 2, 1}, B[4] = {192, 0, 2, 2};

START_TEST(test_burst_then_refusal_with_the_exact_wait) {
    rl_t *r = rl_new(10, 20); /* a token every 100 ms, 20 at once */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(rl_take(r, A, 4, 1000), 0);
    ck_assert_int_eq(rl_take(r, A, 4, 1000), 100);
    ck_assert_int_eq(rl_take(r, A, 4, 1040), 60); /* the wait shrinks as time passes */
    ck_assert_int_eq(rl_take(r, A, 4, 1100), 0);  /* and then the token is there */
    ck_assert_int_eq(rl_take(r, A, 4, 1100), 100);
    rl_free(r);
}
END_TEST

START_TEST(test_steady_rate_is_allowed_forever) {
    rl_t *r = rl_new(10, 1);
    for (int64_t t = 0; t < 100000; t += 100)
        ck_assert_int_eq(rl_take(r, A, 4, t), 0);
    ck_assert_int_gt(rl_take(r, A, 4, 100000 - 100 + 50), 0); /* twice in one interval: no */
    rl_free(r);
}
END_TEST

START_TEST(test_addresses_are_independent) {
    rl_t *r = rl_new(1, 2);
    ck_assert_int_eq(rl_take(r, A, 4, 0), 0);
    ck_assert_int_eq(rl_take(r, A, 4, 0), 0);
    ck_assert_int_eq(rl_take(r, A, 4, 0), 1000);
    ck_assert_int_eq(rl_take(r, B, 4, 0), 0);
    ck_assert_int_eq(rl_take(r, B, 3, 0), 0); /* a different length is a different key */
    ck_assert_int_eq(rl_take(r, NULL, 0, 0), 0);
    ck_assert_int_eq(rl_take(r, NULL, 0, 0), 0);
    ck_assert_int_eq(rl_take(r, NULL, 0, 0), 1000);
    rl_free(r);
}
END_TEST

START_TEST(test_a_quiet_address_refills_to_the_burst_and_no_more) {
    rl_t *r = rl_new(5, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rl_take(r, A, 4, 0), 0);
    ck_assert_int_gt(rl_take(r, A, 4, 0), 0);
    /* A day later (and at times far from zero): the burst, not a day's worth of tokens. */
    int64_t later = INT64_MAX / 4;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rl_take(r, A, 4, later), 0);
    ck_assert_int_eq(rl_take(r, A, 4, later), 200);
    /* A clock that goes back never adds tokens. */
    ck_assert_int_eq(rl_take(r, A, 4, later - 100000), 200);
    rl_free(r);
}
END_TEST

START_TEST(test_many_addresses_stay_bounded_and_limited) {
    rl_t *r = rl_new(1, 1);
    unsigned char k[16] = {0};
    /* Ten times as many addresses as slots, each taking its one token. */
    for (uint32_t i = 0; i < 10 * RL_SLOTS; i++) {
        memcpy(k, &i, sizeof i);
        ck_assert_int_eq(rl_take(r, k, 16, 5000), 0);
    }
    /* The address in use right now is still limited: its bucket is the newest. */
    uint32_t last = 10 * RL_SLOTS - 1;
    memcpy(k, &last, sizeof last);
    ck_assert_int_eq(rl_take(r, k, 16, 5000), 1000);
    /* Keys longer than RL_KEY_MAX use their first RL_KEY_MAX bytes. */
    unsigned char long_key[32];
    memset(long_key, 7, sizeof long_key);
    ck_assert_int_eq(rl_take(r, long_key, 32, 6000), 0);
    long_key[31] = 8;
    ck_assert_int_eq(rl_take(r, long_key, 32, 6000), 1000);
    rl_free(r);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("ratelimit");
    tcase_add_test(tc, test_burst_then_refusal_with_the_exact_wait);
    tcase_add_test(tc, test_steady_rate_is_allowed_forever);
    tcase_add_test(tc, test_addresses_are_independent);
    tcase_add_test(tc, test_a_quiet_address_refills_to_the_burst_and_no_more);
    tcase_add_test(tc, test_many_addresses_stay_bounded_and_limited);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
