/* heartbeat.h: /healthz's judgement of the main loop. */
#include "heartbeat.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void nap_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* One process-wide state: the behaviours in order, in one test. */
START_TEST(test_a_loop_that_stops_stamping_is_stalled_until_it_stamps_or_stops) {
    char why[256] = "", err[256];
    ck_assert_int_eq(hb_stall_ms(), HB_STALL_DEFAULT_MS);
    ck_assert_int_eq(hb_alive(NULL, why, sizeof why), 1); /* not started: alive */
    ck_assert_int_eq(hb_option("0", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "--health-stall 0: expected a duration above 0"));
    ck_assert_int_eq(hb_option("soon", err, sizeof err), -1);
    ck_assert_int_eq(hb_option("200ms", err, sizeof err), 0);
    ck_assert_int_eq(hb_stall_ms(), 200);
    hb_beat();
    ck_assert_int_eq(hb_alive(NULL, why, sizeof why), 1);
    nap_ms(300);
    ck_assert_int_eq(hb_alive(NULL, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "main loop stalled for 0.3"));
    ck_assert_ptr_nonnull(strstr(why, "(limit 0.200 s)"));
    hb_beat();
    ck_assert_int_eq(hb_alive(NULL, why, sizeof why), 1);
    hb_stop(); /* stopping: not judged, and later stamps change nothing */
    nap_ms(300);
    ck_assert_int_eq(hb_alive(NULL, why, sizeof why), 1);
    hb_beat();
    nap_ms(300);
    ck_assert_int_eq(hb_alive(NULL, why, sizeof why), 1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("heartbeat");
    TCase *tc = tcase_create("heartbeat");
    tcase_add_test(tc, test_a_loop_that_stops_stamping_is_stalled_until_it_stamps_or_stops);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
