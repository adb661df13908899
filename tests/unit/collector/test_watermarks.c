/* The watermark rule (collector/watermarks.h): W = T is published only once every line read
 * before T was taken is confirmed. The state machine: nothing before the tail is first caught
 * up, one pending T at a time, W a whole second, sent every interval (again when idle) and
 * early when it moved (not within half an interval), never backwards,
 * late lines are those before the published W. The tail's side: tail_caught_up_ms appears only
 * once a pass found every file at its end, and marks pass only when every line handed out
 * before them is confirmed: acks in any order, a rewind that hands lines out again, a file
 * closed or truncated since. */
#include "tail_test.h"

#include "../../../collector/watermarks.h"

#include "clock.h"

/* ---- the state machine ------------------------------------------------------------------- */

START_TEST(test_nothing_is_sent_before_the_tail_is_caught_up) {
    wmk_t w;
    wmk_init(&w, 0);
    ck_assert_int_eq(w.interval_ms, WM_INTERVAL_MS);
    ck_assert_int_eq(wmk_offer(&w, -1), 0);
    ck_assert_int_eq(wmk_due(&w, 0), -1);
    ck_assert_int_eq(wmk_due(&w, 100000), -1);
    ck_assert(!wmk_is_late(&w, 0));
    wmk_fini(&w);
}
END_TEST

START_TEST(test_a_pending_time_is_sent_only_after_confirmation) {
    wmk_t w;
    wmk_init(&w, 1000);
    ck_assert_int_eq(wmk_offer(&w, 5000), 1); /* caller takes marks */
    ck_assert_int_eq(wmk_due(&w, 0), -1);     /* not confirmed: nothing to send */
    ck_assert_int_eq(wmk_offer(&w, 6000), 0); /* one wait at a time */
    wmk_confirmed(&w);
    ck_assert_int_eq(wmk_due(&w, 10), 5000);
    ck_assert_int_eq(w.published, 5000);
    wmk_fini(&w);
}
END_TEST

START_TEST(test_sent_every_interval_also_when_it_does_not_move) {
    wmk_t w;
    wmk_init(&w, 1000);
    wmk_offer(&w, 5000);
    wmk_confirmed(&w);
    ck_assert_int_eq(wmk_due(&w, 100), 5000);
    ck_assert_int_eq(wmk_due(&w, 500), -1); /* not due yet */
    ck_assert_int_eq(wmk_due(&w, 1099), -1);
    ck_assert_int_eq(wmk_due(&w, 1100), 5000); /* idle: the same W again */
    ck_assert_int_eq(wmk_offer(&w, 6800), 1);
    wmk_confirmed(&w);
    ck_assert_int_eq(wmk_due(&w, 1500), -1); /* a newer W waits for the interval */
    ck_assert_int_eq(wmk_due(&w, 2100), 6000);
    wmk_fini(&w);
}
END_TEST

START_TEST(test_a_moved_watermark_goes_out_early_but_not_within_half_an_interval) {
    wmk_t w;
    wmk_init(&w, 1000);
    wmk_offer(&w, 5000);
    wmk_confirmed(&w);
    ck_assert_int_eq(wmk_due(&w, 100), 5000);
    wmk_offer(&w, 6000);
    wmk_confirmed(&w);
    ck_assert_int_eq(wmk_due(&w, 599), -1);   /* within half an interval */
    ck_assert_int_eq(wmk_due(&w, 600), 6000); /* moved: at once after it */
    ck_assert_int_eq(wmk_due(&w, 1200), -1);  /* unchanged: the whole interval */
    ck_assert_int_eq(wmk_due(&w, 1600), 6000);
    wmk_fini(&w);
}
END_TEST

START_TEST(test_watermark_never_goes_back) {
    wmk_t w;
    wmk_init(&w, 1000);
    wmk_offer(&w, 5000);
    wmk_confirmed(&w);
    ck_assert_int_eq(wmk_offer(&w, 4000), 0); /* the wall clock stepped back */
    ck_assert_int_eq(wmk_offer(&w, 5000), 0);
    ck_assert_int_eq(wmk_due(&w, 0), 5000);
    wmk_confirmed(&w); /* nothing pending: no change */
    ck_assert_int_eq(w.ready, 5000);
    wmk_fini(&w);
}
END_TEST

START_TEST(test_watermark_is_a_whole_second) {
    wmk_t w;
    wmk_init(&w, 1000);
    ck_assert_int_eq(wmk_offer(&w, 5999), 1);
    ck_assert_int_eq(w.pending, 5000); /* a line stamped 5000 may have been written at 5999 */
    wmk_confirmed(&w);
    ck_assert_int_eq(wmk_offer(&w, 5500), 0); /* same second: nothing new */
    ck_assert_int_eq(wmk_offer(&w, 6000), 1);
    wmk_fini(&w);
}
END_TEST

START_TEST(test_late_lines_are_those_before_the_published_watermark) {
    wmk_t w;
    wmk_init(&w, 1000);
    wmk_offer(&w, 5000);
    wmk_confirmed(&w);
    ck_assert(!wmk_is_late(&w, 1)); /* ready but not published yet */
    wmk_due(&w, 0);
    ck_assert(wmk_is_late(&w, 4999));
    ck_assert(!wmk_is_late(&w, 5000));
    ck_assert(!wmk_is_late(&w, 9000));
    wmk_fini(&w);
}
END_TEST

/* ---- the tail's side --------------------------------------------------------------------- */

/* Takes up to want lines without acking; returns how many. */
static size_t take(tail_t *t, size_t want) {
    size_t before = L.n;
    collect(t, want, 0, WAIT_MS);
    return L.n - before;
}

/* Calls tail_next until it reports nothing (a pass that found every file at its end). */
static void reach_end(tail_t *t) {
    tail_line_t l;
    int r;
    while ((r = tail_next(t, &l, 0)) == 1)
        ck_assert_msg(0, "unexpected line");
    ck_assert_int_eq(r, 0);
}

START_TEST(test_caught_up_only_after_a_pass_finds_every_file_at_its_end) {
    put_lines(in_dir("a.log"), "a", 0, 3);
    int64_t before = clock_wall_ms();
    tail_t *t = open1(in_dir("a.log"), NULL, 0);
    ck_assert_int_eq(tail_caught_up_ms(t), -1);
    ck_assert_uint_eq(take(t, 3), 3);
    reach_end(t);
    int64_t c = tail_caught_up_ms(t);
    ck_assert_int_ge(c, before);
    ck_assert_int_le(c, clock_wall_ms());
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_marks_pass_only_when_every_earlier_line_is_confirmed) {
    put_lines(in_dir("a.log"), "a", 0, 3);
    put_lines(in_dir("b.log"), "b", 0, 2);
    const char *p[2] = {in_dir("a.log"), in_dir("b.log")};
    tail_t *t = open_tail(p, 2, NULL, 0);
    ck_assert_uint_eq(take(t, 5), 5);
    reach_end(t);
    tail_marks_t m = {0};
    ck_assert_int_eq(tail_marks_take(t, &m), 0);
    ck_assert_uint_eq(m.n, 2);
    ck_assert(!tail_marks_passed(t, &m));
    /* out of order, as partitions confirm: the last line first */
    for (size_t i = L.n; i-- > 1;) {
        tail_ack(t, L.v[i].token);
        ck_assert_msg(!tail_marks_passed(t, &m), "passed with line %zu unconfirmed", i);
    }
    tail_ack(t, L.v[0].token);
    ck_assert(tail_marks_passed(t, &m));
    /* lines read after the marks do not hold them back */
    put_lines(in_dir("a.log"), "a", 3, 4);
    ck_assert_uint_eq(take(t, 1), 1);
    ck_assert(tail_marks_passed(t, &m));
    tail_marks_fini(&m);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_a_rewind_does_not_lower_the_marks) {
    put_lines(in_dir("a.log"), "a", 0, 3);
    tail_t *t = open1(in_dir("a.log"), NULL, 0);
    ck_assert_uint_eq(take(t, 3), 3);
    tail_marks_t m = {0};
    ck_assert_int_eq(tail_marks_take(t, &m), 0);
    tail_ack(t, L.v[0].token);
    tail_rewind_all(t); /* a producer failure: lines 1 and 2 go out again */
    ck_assert(!tail_marks_passed(t, &m));
    size_t at = L.n;
    ck_assert_uint_eq(take(t, 2), 2);
    ck_assert(L.v[at].reread);
    tail_ack(t, L.v[at].token);
    ck_assert(!tail_marks_passed(t, &m));
    tail_ack(t, L.v[at + 1].token);
    ck_assert(tail_marks_passed(t, &m));
    tail_marks_fini(&m);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_a_truncated_file_no_longer_holds_the_marks) {
    put_lines(in_dir("a.log"), "a", 0, 3);
    tail_t *t = open1(in_dir("a.log"), NULL, 0);
    ck_assert_uint_eq(take(t, 3), 3);
    tail_marks_t m = {0};
    ck_assert_int_eq(tail_marks_take(t, &m), 0);
    ck_assert(!tail_marks_passed(t, &m));
    put(in_dir("a.log"), "w", "new0\n"); /* copytruncate: its old lines are gone from it */
    int64_t end = now_ms() + WAIT_MS;
    while (!tail_marks_passed(t, &m) && now_ms() < end) {
        tail_line_t l;
        if (tail_next(t, &l, 20) == 1) tail_ack(t, l.token);
    }
    ck_assert(tail_marks_passed(t, &m));
    tail_marks_fini(&m);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_nothing_handed_out_gives_empty_marks_that_pass) {
    put(in_dir("a.log"), "w", "");
    tail_t *t = open1(in_dir("a.log"), NULL, 0);
    reach_end(t);
    tail_marks_t m = {0};
    ck_assert_int_eq(tail_marks_take(t, &m), 0);
    ck_assert_uint_eq(m.n, 0);
    ck_assert(tail_marks_passed(t, &m));
    ck_assert_int_ge(tail_caught_up_ms(t), 0);
    tail_marks_fini(&m);
    tail_free(t);
}
END_TEST

int main(void) {
    (void)assert_run, (void)saved_off, (void)save, (void)saw_event; /* tail_test.h's, unused here */
    Suite *s = suite_create("watermarks");
    TCase *sm = tcase_create("state machine");
    tcase_add_test(sm, test_nothing_is_sent_before_the_tail_is_caught_up);
    tcase_add_test(sm, test_a_pending_time_is_sent_only_after_confirmation);
    tcase_add_test(sm, test_sent_every_interval_also_when_it_does_not_move);
    tcase_add_test(sm, test_a_moved_watermark_goes_out_early_but_not_within_half_an_interval);
    tcase_add_test(sm, test_watermark_never_goes_back);
    tcase_add_test(sm, test_watermark_is_a_whole_second);
    tcase_add_test(sm, test_late_lines_are_those_before_the_published_watermark);
    suite_add_tcase(s, sm);
    TCase *tl = tcase_create("tail");
    tcase_add_checked_fixture(tl, setup, teardown);
    tcase_add_test(tl, test_caught_up_only_after_a_pass_finds_every_file_at_its_end);
    tcase_add_test(tl, test_marks_pass_only_when_every_earlier_line_is_confirmed);
    tcase_add_test(tl, test_a_rewind_does_not_lower_the_marks);
    tcase_add_test(tl, test_a_truncated_file_no_longer_holds_the_marks);
    tcase_add_test(tl, test_nothing_handed_out_gives_empty_marks_that_pass);
    suite_add_tcase(s, tl);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
