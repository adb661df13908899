/* wmstate: the edges' watermarks and the partitions' reading give every window its
 * complete_to_ms, edges_behind and catching_up (wmstate.h). */
#include "../../../aggregator/wmstate.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1764021900000LL /* wall clock of the tests */
#define END (NOW - NOW % 1000)
#define FROM (END - 59000)
#define NOTE(w, p, e, wm, sent) ck_assert_int_eq(wms_note(w, p, e, strlen(e), wm, sent), 0)

/* A state with 4 partitions read to their end. */
static wms_t *caught_up(void) {
    wms_t *w = wms_new();
    ck_assert_ptr_nonnull(w);
    wms_set_partitions(w, 4);
    for (int p = 0; p < 4; p++)
        wms_partition(w, p, 1, NOW - 100);
    return w;
}

static wms_status_t status(wms_t *w, int32_t part) {
    wms_status_t s;
    ck_assert_int_eq(wms_status(w, part, NOW, FROM, END, &s), 0);
    return s;
}

START_TEST(test_complete_to_is_the_lowest_watermark_of_the_partition) {
    wms_t *w = caught_up();
    NOTE(w, 1, "edge-a", NOW - 1500, NOW - 1000);
    NOTE(w, 1, "edge-b", NOW - 2500, NOW - 1000);
    NOTE(w, 2, "edge-b", NOW - 30000, NOW - 1000); /* another partition: not ours */
    wms_status_t s = status(w, 1);
    ck_assert_int_eq(s.complete_to_ms, NOW - 2500);
    ck_assert_int_eq(s.catching_up, 0);
    ck_assert_uint_eq(s.nbehind, 0);
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

START_TEST(test_a_watermark_never_moves_back) {
    wms_t *w = caught_up();
    NOTE(w, 0, "edge-a", NOW - 1000, NOW - 900);
    NOTE(w, 0, "edge-a", NOW - 8000, NOW - 800); /* a restarted collector with a slow clock */
    wms_status_t s = status(w, 0);
    ck_assert_int_eq(s.complete_to_ms, NOW - 1000);
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

START_TEST(test_complete_to_never_passes_end_ms) {
    wms_t *w = caught_up();
    NOTE(w, 0, "fast-clock", NOW + 60000, NOW);
    wms_status_t s = status(w, 0);
    ck_assert_int_eq(s.complete_to_ms, END);
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

START_TEST(test_a_silent_edge_is_behind_with_its_last_watermark_and_holds_complete_to) {
    wms_t *w = caught_up();
    NOTE(w, 3, "edge-a", NOW - 800, NOW - 500);
    NOTE(w, 3, "edge-stopped", NOW - 61000, NOW - 60500); /* silent for a minute */
    NOTE(w, 3, "edge-slow", NOW - 9000, NOW - 200);       /* reports, but 9 s behind */
    wms_status_t s = status(w, 3);
    ck_assert_int_eq(s.complete_to_ms, NOW - 61000);
    ck_assert_uint_eq(s.nbehind, 2);
    ck_assert_str_eq(s.behind[0].edge, "edge-stopped"); /* most behind first */
    ck_assert_int_eq(s.behind[0].watermark_ms, NOW - 61000);
    ck_assert_str_eq(s.behind[1].edge, "edge-slow");
    ck_assert_int_eq(s.behind[1].watermark_ms, NOW - 9000);
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

START_TEST(test_an_edge_within_five_seconds_is_not_behind) {
    wms_t *w = caught_up();
    NOTE(w, 0, "edge-a", NOW - WM_BEHIND_MS, NOW);
    NOTE(w, 0, "edge-b", NOW - WM_BEHIND_MS - 1, NOW);
    wms_status_t s = status(w, 0);
    ck_assert_uint_eq(s.nbehind, 1);
    ck_assert_str_eq(s.behind[0].edge, "edge-b");
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

START_TEST(test_an_edge_stale_for_five_minutes_stays_listed_but_no_longer_holds_complete_to) {
    wms_t *w = caught_up();
    NOTE(w, 2, "edge-a", NOW - 700, NOW - 500);
    NOTE(w, 2, "gone", NOW - WM_EDGE_STALE_MS - 5000, NOW - WM_EDGE_STALE_MS - 1);
    wms_status_t s = status(w, 2);
    ck_assert_int_eq(s.complete_to_ms, NOW - 700);
    ck_assert_uint_eq(s.nbehind, 1);
    ck_assert_str_eq(s.behind[0].edge, "gone");
    wms_status_free(&s);
    wms_counts_t c;
    char buf[4096];
    ck_assert_uint_gt(wms_metrics(w, NOW, -1, buf, sizeof buf, &c), 0);
    ck_assert_uint_eq(c.edges, 2);
    ck_assert_uint_eq(c.behind, 1);
    ck_assert_uint_eq(c.stale, 1);
    wms_free(w);
}
END_TEST

START_TEST(test_an_edge_silent_for_hours_is_forgotten) {
    wms_t *w = caught_up();
    NOTE(w, 0, "old", NOW - WMS_FORGET_MS - 10, NOW - WMS_FORGET_MS - 1);
    NOTE(w, 0, "edge-a", NOW - 300, NOW - 100);
    wms_sweep(w, NOW);
    wms_status_t s = status(w, 0);
    ck_assert_uint_eq(s.nbehind, 0);
    ck_assert_int_eq(s.complete_to_ms, NOW - 300);
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

START_TEST(test_no_edge_reporting_means_complete_once_read_to_the_end) {
    wms_t *w = caught_up();
    wms_status_t s = status(w, 0);
    ck_assert_int_eq(s.complete_to_ms, END);
    ck_assert_int_eq(s.catching_up, 0);
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

START_TEST(test_while_catching_up_nothing_unread_is_complete) {
    wms_t *w = wms_new();
    wms_status_t s = status(w, -1); /* partitions not known yet */
    ck_assert_int_eq(s.catching_up, 1);
    ck_assert_int_eq(s.complete_to_ms, FROM);
    wms_status_free(&s);
    wms_set_partitions(w, 2);
    wms_partition(w, 0, 1, NOW - 100);
    wms_partition(w, 1, 0, -1); /* nothing read yet */
    s = status(w, 1);
    ck_assert_int_eq(s.catching_up, 1);
    ck_assert_int_eq(s.complete_to_ms, FROM);
    wms_status_free(&s);
    /* read up to 20 s ago: an edge's watermark from then, and nothing beyond what was read */
    NOTE(w, 1, "edge-a", NOW - 19000, NOW - 19000);
    wms_partition(w, 1, 0, NOW - 20000);
    s = status(w, 1);
    ck_assert_int_eq(s.complete_to_ms, NOW - 20000);
    ck_assert_int_eq(s.catching_up, 1);
    wms_status_free(&s);
    /* partition 0 is read: the instance is still catching up because of partition 1 */
    s = status(w, 0);
    ck_assert_int_eq(s.catching_up, 1);
    ck_assert_int_eq(s.complete_to_ms, END);
    wms_status_free(&s);
    wms_partition(w, 1, 1, NOW - 50);
    ck_assert_int_eq(wms_catching_up(w), 0);
    wms_free(w);
}
END_TEST

START_TEST(test_partitions_added_later_are_caught_up_again) {
    wms_t *w = caught_up();
    ck_assert_int_eq(wms_catching_up(w), 0);
    wms_set_partitions(w, 6);
    ck_assert_int_eq(wms_catching_up(w), 1);
    wms_partition(w, 4, 1, -1);
    wms_partition(w, 5, 1, -1);
    ck_assert_int_eq(wms_catching_up(w), 0);
    wms_set_partitions(w, 3); /* never shrinks */
    ck_assert_int_eq(wms_catching_up(w), 0);
    wms_free(w);
}
END_TEST

START_TEST(test_metrics_give_the_lowest_watermark_per_edge_with_escaped_labels) {
    wms_t *w = caught_up();
    NOTE(w, 0, "edge-a", NOW - 1000, NOW - 900);
    NOTE(w, 1, "edge-a", NOW - 2000, NOW - 100);
    NOTE(w, 0, "we\"ird\\", NOW - 3000, NOW - 100);
    char buf[4096], line[256];
    size_t n = wms_metrics(w, NOW, 1234, buf, sizeof buf, NULL);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(strlen(buf), n);
    snprintf(line, sizeof line, "aggregator_edge_watermark_seconds{edge=\"edge-a\"} %lld.%03lld\n",
             (NOW - 2000) / 1000, (NOW - 2000) % 1000);
    ck_assert_ptr_nonnull(strstr(buf, line));
    snprintf(line, sizeof line,
             "aggregator_edge_last_report_seconds{edge=\"edge-a\"} %lld.%03lld\n",
             (NOW - 100) / 1000, (NOW - 100) % 1000);
    ck_assert_ptr_nonnull(strstr(buf, line));
    ck_assert_ptr_nonnull(strstr(buf, "{edge=\"we\\\"ird\\\\\"}"));
    ck_assert_ptr_nonnull(strstr(buf, "\naggregator_edges 2\n"));
    ck_assert_ptr_nonnull(strstr(buf, "\naggregator_catching_up 0\n"));
    ck_assert_ptr_nonnull(strstr(buf, "\naggregator_catchup_seconds 1.234\n"));
    ck_assert_uint_eq(wms_metrics(w, NOW, -1, buf, 50, NULL), 0); /* does not fit */
    wms_free(w);
}
END_TEST

START_TEST(test_many_edges_and_partitions) {
    wms_t *w = caught_up();
    char e[32];
    for (int i = 0; i < 200; i++) {
        snprintf(e, sizeof e, "edge-%03d", i);
        for (int p = 0; p < 4; p++)
            NOTE(w, p, e, NOW - 10000 - i, NOW - 100);
    }
    wms_status_t s = status(w, 2);
    ck_assert_int_eq(s.complete_to_ms, NOW - 10199);
    ck_assert_uint_eq(s.nbehind, WMS_BEHIND_MAX);
    ck_assert_str_eq(s.behind[0].edge, "edge-199");
    wms_status_free(&s);
    wms_free(w);
}
END_TEST

int main(void) {
    Suite *s = suite_create("wmstate");
    TCase *tc = tcase_create("wmstate");
    tcase_add_test(tc, test_complete_to_is_the_lowest_watermark_of_the_partition);
    tcase_add_test(tc, test_a_watermark_never_moves_back);
    tcase_add_test(tc, test_complete_to_never_passes_end_ms);
    tcase_add_test(tc, test_a_silent_edge_is_behind_with_its_last_watermark_and_holds_complete_to);
    tcase_add_test(tc, test_an_edge_within_five_seconds_is_not_behind);
    tcase_add_test(
        tc, test_an_edge_stale_for_five_minutes_stays_listed_but_no_longer_holds_complete_to);
    tcase_add_test(tc, test_an_edge_silent_for_hours_is_forgotten);
    tcase_add_test(tc, test_no_edge_reporting_means_complete_once_read_to_the_end);
    tcase_add_test(tc, test_while_catching_up_nothing_unread_is_complete);
    tcase_add_test(tc, test_partitions_added_later_are_caught_up_again);
    tcase_add_test(tc, test_metrics_give_the_lowest_watermark_per_edge_with_escaped_labels);
    tcase_add_test(tc, test_many_edges_and_partitions);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
