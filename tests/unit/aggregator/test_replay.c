/* replay: the collector's resends are dropped, per (partition, edge, src). */
#include "../../../aggregator/replay.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEN(r, p, e, s, off) replay_seen(r, p, e, strlen(e), s, strlen(s), off, 1000)

START_TEST(test_resend_of_a_source_is_dropped) {
    replay_t *r = replay_new();
    ck_assert_int_eq(SEEN(r, 3, "e1", "a.log", 0), 0);
    ck_assert_int_eq(SEEN(r, 3, "e1", "a.log", 100), 0);
    ck_assert_int_eq(SEEN(r, 3, "e1", "a.log", 200), 0);
    /* crash: the collector resends from 100 */
    ck_assert_int_eq(SEEN(r, 3, "e1", "a.log", 100), 1);
    ck_assert_int_eq(SEEN(r, 3, "e1", "a.log", 200), 1);
    ck_assert_int_eq(SEEN(r, 3, "e1", "a.log", 300), 0);
    replay_free(r);
}
END_TEST

START_TEST(test_sources_edges_and_partitions_are_apart) {
    replay_t *r = replay_new();
    ck_assert_int_eq(SEEN(r, 1, "e1", "a.log", 500), 0);
    ck_assert_int_eq(SEEN(r, 1, "e1", "b.log", 0), 0);  /* another file */
    ck_assert_int_eq(SEEN(r, 1, "e2", "a.log", 0), 0);  /* another edge */
    ck_assert_int_eq(SEEN(r, 2, "e1", "a.log", 0), 0);  /* another partition */
    /* "e1" + "a.log" must not equal "e1a" + ".log" */
    ck_assert_int_eq(SEEN(r, 1, "e1a", ".log", 0), 0);
    ck_assert_int_eq(replay_count(r), 5);
    replay_free(r);
}
END_TEST

START_TEST(test_many_sources_grow_and_drop_by_partition) {
    replay_t *r = replay_new();
    char src[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(src, sizeof src, "s%d", i);
        ck_assert_int_eq(SEEN(r, i % 4, "e", src, 10), 0);
    }
    ck_assert_int_eq(replay_count(r), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(src, sizeof src, "s%d", i);
        ck_assert_int_eq(SEEN(r, i % 4, "e", src, 10), 1);
    }
    replay_drop_partition(r, 0);
    ck_assert_int_eq(replay_count(r), 3750);
    ck_assert_int_eq(SEEN(r, 0, "e", "s0", 10), 0); /* forgotten: counted again */
    ck_assert_int_eq(SEEN(r, 1, "e", "s1", 10), 1);
    replay_free(r);
}
END_TEST

START_TEST(test_idle_marks_are_evicted) {
    replay_t *r = replay_new();
    ck_assert_int_eq(replay_seen(r, 0, "e", 1, "old", 3, 5, 100), 0);
    ck_assert_int_eq(replay_seen(r, 0, "e", 1, "new", 3, 5, 900), 0);
    replay_evict(r, 500);
    ck_assert_int_eq(replay_count(r), 1);
    ck_assert_int_eq(replay_seen(r, 0, "e", 1, "new", 3, 5, 901), 1);
    replay_free(r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("replay");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, test_resend_of_a_source_is_dropped);
    tcase_add_test(tc, test_sources_edges_and_partitions_are_apart);
    tcase_add_test(tc, test_many_sources_grow_and_drop_by_partition);
    tcase_add_test(tc, test_idle_marks_are_evicted);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
