/* The tail hands out every line of a file exactly as it is, with its byte offset, and never
 * loses or skips one: positions pass only confirmed lines, a restart resumes at them with the
 * same src, a rewind hands the same (src, off) out again, memory stays bounded without acks, and
 * stdin is read like a file. The test acks lines itself, as Kafka's delivery reports would.
 * Following files (rotation, truncation, globs, reused inodes) is in test_tail_follow.c. */
#include "tail_test.h"

static void ack_all(tail_t *t) {
    for (size_t i = 0; i < L.n; i++)
        tail_ack(t, L.v[i].token);
}

/* ---- reading ------------------------------------------------------------------------------ */

START_TEST(test_every_line_of_a_real_log_with_its_exact_offset) {
    char path[512];
    snprintf(path, sizeof path, "%s/apache_logs", getenv("TEST_DATA"));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    tail_t *t = open1(path, NULL, 1);
    ck_assert_int_eq(collect(t, 20000, 1, WAIT_MS), TAIL_DONE);
    char *line = NULL;
    size_t cap = 0, i = 0;
    uint64_t off = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        ck_assert_uint_lt(i, L.n);
        ck_assert_uint_eq(L.v[i].off, off);
        ck_assert_uint_eq(L.v[i].n, (size_t)n - 1);
        ck_assert(memcmp(L.v[i].text, line, (size_t)n - 1) == 0);
        ck_assert_str_eq(L.v[i].src, L.v[0].src);
        off += (uint64_t)n;
        i++;
    }
    ck_assert_uint_eq(i, 10000);
    ck_assert_uint_eq(L.n, 10000);
    ck_assert_uint_eq(tail_inflight(t), 0);
    ck_assert_uint_eq(tail_lag_bytes(t), 0);
    /* src = PATH:INO:FP:GEN */
    struct stat st;
    stat(path, &st);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s:%llu:", path, (unsigned long long)st.st_ino);
    ck_assert_msg(strncmp(L.v[0].src, prefix, strlen(prefix)) == 0, "src %s", L.v[0].src);
    ck_assert_str_eq(L.v[0].src + strlen(L.v[0].src) - 2, ":0");
    free(line);
    fclose(f);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_crlf_empty_lines_and_binary_bytes_pass_through) {
    const char *p = in_dir("a.log");
    FILE *f = fopen(p, "w");
    fwrite("one\r\n\n\0x\xff\n", 1, 10, f);
    fclose(f);
    tail_t *t = open1(p, NULL, 1);
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 3);
    ck_assert_uint_eq(L.v[0].n, 4);
    ck_assert(memcmp(L.v[0].text, "one\r", 4) == 0);
    ck_assert_uint_eq(L.v[1].n, 0);
    ck_assert_uint_eq(L.v[1].off, 5);
    ck_assert_uint_eq(L.v[2].n, 3);
    ck_assert_uint_eq(L.v[2].off, 6);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_too_long_line_is_handed_out_once_with_its_first_bytes) {
    const char *p = in_dir("a.log");
    size_t big = LINE_MAX_BYTES + 1;
    char *x = malloc(3 * LINE_MAX_BYTES);
    FILE *f = fopen(p, "w");
    fputs("before\n", f);
    memset(x, 'x', big);
    x[0] = 'L';
    fwrite(x, 1, big, f); /* one byte over the limit */
    fputc('\n', f);
    memset(x, 'y', LINE_MAX_BYTES); /* exactly the limit: whole */
    fwrite(x, 1, LINE_MAX_BYTES, f);
    fputc('\n', f);
    memset(x, 'z', 3 * LINE_MAX_BYTES);
    fwrite(x, 1, 3 * LINE_MAX_BYTES, f);
    fputs("\nafter\n", f);
    fclose(f);
    tail_t *t = open1(p, NULL, 1);
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 5);
    ck_assert_str_eq(L.v[0].text, "before");
    ck_assert_int_eq(L.v[1].too_long, 1);
    ck_assert_uint_eq(L.v[1].off, 7);
    ck_assert_uint_eq(L.v[1].n, REJECT_LINE_MAX);
    ck_assert_int_eq(L.v[1].text[0], 'L');
    ck_assert_int_eq(L.v[2].too_long, 0);
    ck_assert_uint_eq(L.v[2].n, LINE_MAX_BYTES);
    ck_assert_uint_eq(L.v[2].off, 7 + big + 1);
    ck_assert_int_eq(L.v[3].too_long, 1);
    ck_assert_int_eq(L.v[3].text[0], 'z');
    ck_assert_str_eq(L.v[4].text, "after");
    ck_assert_uint_eq(L.v[4].off, 7 + big + 1 + LINE_MAX_BYTES + 1 + 3 * LINE_MAX_BYTES + 1);
    ck_assert_uint_eq(tail_lag_bytes(t), 0); /* the long lines' ends were confirmed too */
    free(x);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_unterminated_last_line_is_handed_out_in_once_mode_only) {
    const char *p = in_dir("a.log");
    put(p, "w", "a\nb\npartial");
    tail_t *t = open1(p, NULL, 1);
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 3);
    ck_assert_str_eq(L.v[2].text, "partial");
    ck_assert_uint_eq(L.v[2].off, 4);
    tail_free(t);
    lines_clear();
    /* Following: the line waits for its newline. */
    t = open1(p, NULL, 0);
    collect(t, 3, 1, 400);
    ck_assert_uint_eq(L.n, 2);
    put(p, "a", " now complete\n");
    collect(t, 1, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 3);
    ck_assert_str_eq(L.v[2].text, "partial now complete");
    tail_free(t);
    lines_clear();
}
END_TEST

/* ---- positions ---------------------------------------------------------------------------- */

START_TEST(test_position_passes_only_confirmed_lines_acked_out_of_order) {
    const char *p = in_dir("a.log");
    put_lines(p, "line", 0, 10); /* "lineN\n": 6 bytes each */
    tail_t *t = open1(p, state, 1);
    collect(t, 10, 0, WAIT_MS);
    ck_assert_uint_eq(L.n, 10);
    ck_assert_uint_eq(tail_inflight(t), 10);
    ck_assert_uint_eq(tail_lag_bytes(t), 60);
    int order[] = {1, 0, 3, 4, 6};
    for (int i = 0; i < 5; i++)
        tail_ack(t, L.v[order[i]].token);
    save(t);
    ck_assert_int_eq(saved_off(L.v[0].src), 12); /* stops before line 2, not yet confirmed */
    ck_assert_uint_eq(tail_inflight(t), 8);
    tail_ack(t, L.v[2].token);
    save(t);
    ck_assert_int_eq(saved_off(L.v[0].src), 30); /* 0..4 now; 5 is the gap */
    tail_ack(t, L.v[2].token);                   /* a second ack changes nothing */
    for (int i = 5; i < 10; i++)
        tail_ack(t, L.v[i].token);
    save(t);
    ck_assert_int_eq(saved_off(L.v[0].src), 60);
    ck_assert_uint_eq(tail_inflight(t), 0);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_restart_resumes_at_the_confirmed_position_with_the_same_src) {
    const char *p = in_dir("a.log");
    put_lines(p, "line", 0, 10);
    tail_t *t = open1(p, state, 0);
    collect(t, 10, 0, WAIT_MS);
    for (int i = 0; i < 4; i++)
        tail_ack(t, L.v[i].token);
    save(t);
    char *src = strdup(L.v[0].src);
    tail_free(t); /* as kill -9: lines 4..9 were never confirmed */
    lines_clear();
    put_lines(p, "line", 10, 12);
    t = open1(p, state, 1);
    ck_assert(saw_event("file resumed"));
    ck_assert_int_eq(collect(t, 100, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 8);
    assert_run(0, "line", 4, 12);
    ck_assert_uint_eq(L.v[0].off, 24);
    ck_assert_str_eq(L.v[0].src, src);
    save(t);
    tail_free(t);
    lines_clear();
    /* Everything confirmed: a third run hands out nothing. */
    t = open1(p, state, 1);
    ck_assert_int_eq(collect(t, 100, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 0);
    tail_free(t);
    free(src);
}
END_TEST

START_TEST(test_rewind_hands_out_the_same_src_and_offsets_again) {
    const char *p = in_dir("a.log");
    put_lines(p, "line", 0, 10);
    tail_t *t = open1(p, state, 0);
    collect(t, 10, 0, WAIT_MS);
    tail_ack(t, L.v[0].token);
    tail_ack(t, L.v[1].token);
    tail_ack(t, L.v[5].token);
    uint64_t stale = L.v[2].token;
    tail_rewind_all(t);
    ck_assert_uint_eq(tail_inflight(t), 0);
    tail_ack(t, stale); /* a delivery report of the old producer: ignored */
    size_t first = L.n;
    collect(t, 8, 0, WAIT_MS);
    ck_assert_uint_eq(L.n - first, 8);
    for (size_t i = 0; i < 8; i++) {
        ck_assert_str_eq(L.v[first + i].src, L.v[2 + i].src);
        ck_assert_uint_eq(L.v[first + i].off, L.v[2 + i].off);
        ck_assert_str_eq(L.v[first + i].text, L.v[2 + i].text);
        ck_assert_int_eq(L.v[first + i].reread, 1);
    }
    save(t);
    ck_assert_int_eq(saved_off(L.v[0].src), 12);
    for (size_t i = first; i < L.n; i++)
        tail_ack(t, L.v[i].token);
    save(t);
    ck_assert_int_eq(saved_off(L.v[0].src), 60);
    tail_free(t);
    lines_clear();
}
END_TEST

static int settled_tags[8];
static void on_settled(void *ctx, const char *src, size_t n, int tag) {
    (void)ctx;
    ck_assert_uint_eq(strlen(src), n);
    settled_tags[tag & 7]++;
}

START_TEST(test_settled_once_per_line_with_its_tag) {
    const char *p = in_dir("a.log");
    put_lines(p, "line", 0, 6);
    const char *paths[1] = {p};
    tail_opts_t o = {.paths = paths, .npaths = 1, .once = 1, .on_settled = on_settled};
    char err[512];
    tail_t *t = tail_new(&o, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    collect(t, 6, 0, WAIT_MS);
    for (size_t i = 0; i < 6; i++)
        tail_tag(t, L.v[i].token, (int)(i % 2) + 1);
    tail_rewind_all(t); /* sent again: still settled once */
    size_t first = L.n;
    collect(t, 6, 0, WAIT_MS);
    for (size_t i = first; i < L.n; i++)
        tail_tag(t, L.v[i].token, (int)((i - first) % 2) + 1);
    for (size_t i = first; i < L.n; i++)
        tail_ack(t, L.v[i].token);
    ack_all(t); /* the old tokens: stale */
    ck_assert_int_eq(settled_tags[1], 3);
    ck_assert_int_eq(settled_tags[2], 3);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_resume_inside_an_unterminated_line_drops_its_rest) {
    const char *p = in_dir("a.log");
    put(p, "w", "a\nb\nc");
    tail_t *t = open1(p, state, 1);
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 3);
    save(t);
    tail_free(t);
    lines_clear();
    put(p, "a", "d\ne\n"); /* "c" was handed out; "cd" is the same line */
    t = open1(p, state, 1);
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 1);
    ck_assert_str_eq(L.v[0].text, "e");
    ck_assert_uint_eq(L.v[0].off, 7);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_corrupt_state_file_is_refused_naming_file_and_line) {
    const char *p = in_dir("a.log");
    put_lines(p, "line", 0, 3);
    mkdir(state, 0755);
    char sf[400];
    snprintf(sf, sizeof sf, "%s/positions", state);
    put(sf, "w", POSSTORE_HEADER "\npos x 1 2 zz 0 0 0000000000000000 /a\n");
    const char *paths[1] = {p};
    tail_opts_t o = {.paths = paths, .npaths = 1, .state_dir = state, .once = 1};
    char err[512] = "", want[420];
    ck_assert_ptr_null(tail_new(&o, err, sizeof err));
    snprintf(want, sizeof want, "%s:2:", sf);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

START_TEST(test_state_dir_is_created_and_locked_against_a_second_collector) {
    const char *p = in_dir("a.log");
    put_lines(p, "line", 0, 3);
    snprintf(state, sizeof state, "%s/deep/er/state", dir);
    tail_t *t = open1(p, state, 0);
    const char *paths[1] = {p};
    tail_opts_t o = {.paths = paths, .npaths = 1, .state_dir = state};
    char err[512] = "";
    ck_assert_ptr_null(tail_new(&o, err, sizeof err));
    ck_assert_msg(strstr(err, "in use") != NULL, "%s", err);
    tail_free(t);
    t = tail_new(&o, err, sizeof err); /* free again once the first is gone */
    ck_assert_msg(t != NULL, "%s", err);
    tail_free(t);
}
END_TEST

/* ---- paths -------------------------------------------------------------------------------- */

START_TEST(test_missing_path_fails_in_once_mode_and_is_awaited_when_following) {
    const char *p = in_dir("later.log");
    const char *paths[1] = {p};
    tail_opts_t o = {.paths = paths, .npaths = 1, .once = 1};
    char err[512] = "";
    ck_assert_ptr_null(tail_new(&o, err, sizeof err));
    ck_assert_msg(strstr(err, "later.log") != NULL, "%s", err);
    tail_t *t = open1(p, NULL, 0);
    ck_assert(saw_event("waiting for file"));
    collect(t, 1, 1, 100);
    ck_assert_uint_eq(L.n, 0);
    put_lines(p, "line", 0, 3);
    collect(t, 3, 1, WAIT_MS);
    assert_run(0, "line", 0, 3);
    tail_free(t);
    lines_clear();
}
END_TEST

/* A file that cannot be opened is not a configuration error: test_tail_unreadable.c. */
START_TEST(test_directory_as_path_fails_at_start) {
    const char *d = in_dir("adir");
    mkdir(d, 0755);
    const char *paths[1] = {d};
    tail_opts_t o = {.paths = paths, .npaths = 1};
    char err[512] = "";
    ck_assert_ptr_null(tail_new(&o, err, sizeof err));
    ck_assert_msg(strstr(err, "adir: not a regular file") != NULL, "%s", err);
}
END_TEST

START_TEST(test_relative_paths_are_made_absolute) {
    const char *p = in_dir("rel.log");
    put_lines(p, "line", 0, 2);
    char cwd[512];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    tail_t *t = open1("rel.log", NULL, 1);
    ck_assert_int_eq(chdir(cwd), 0);
    collect(t, 2, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 2);
    ck_assert_msg(strncmp(L.v[0].src, p, strlen(p)) == 0, "src %s", L.v[0].src);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_empty_glob_is_reported_not_refused) {
    tail_t *t = open1(in_dir("*.none"), NULL, 1);
    ck_assert(saw_event("no file matches"));
    ck_assert_int_eq(collect(t, 1, 1, WAIT_MS), TAIL_DONE);
    tail_free(t);
    lines_clear();
}
END_TEST

/* ---- bounds ------------------------------------------------------------------------------- */

static void many_lines(const char *path, size_t n) {
    char *b = malloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        b[2 * i] = 'x';
        b[2 * i + 1] = '\n';
    }
    FILE *f = fopen(path, "w");
    fwrite(b, 1, 2 * n, f);
    fclose(f);
    free(b);
}

START_TEST(test_without_acks_reading_stops_at_the_in_flight_bound) {
    const char *p = in_dir("big.log");
    many_lines(p, TAIL_INFLIGHT_MAX + 1000);
    tail_t *t = open1(p, NULL, 1);
    tail_line_t l, first = {0};
    size_t n = 0;
    int r;
    while ((r = tail_next(t, &l, 0)) == 1)
        if (n++ == 0) first = l;
    ck_assert_int_eq(r, 0); /* not TAIL_DONE: lines are left, held back */
    ck_assert_uint_eq(n, TAIL_INFLIGHT_MAX);
    ck_assert_uint_eq(tail_inflight(t), TAIL_INFLIGHT_MAX);
    ck_assert_int_eq(tail_next(t, &l, 0), 0);
    tail_ack(t, first.token);
    ck_assert_int_eq(tail_next(t, &l, 0), 1);
    ck_assert_uint_eq(l.off, 2 * (uint64_t)TAIL_INFLIGHT_MAX);
    ck_assert_int_eq(tail_next(t, &l, 0), 0);
    tail_free(t);
}
END_TEST

START_TEST(test_the_bound_holds_across_all_sources) {
    const char *paths[9];
    int nfiles = TAIL_INFLIGHT_TOTAL_MAX / TAIL_INFLIGHT_MAX + 1;
    ck_assert_int_le(nfiles, 9);
    for (int i = 0; i < nfiles; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d.log", i);
        paths[i] = strdup(in_dir(name));
        many_lines(paths[i], TAIL_INFLIGHT_MAX);
    }
    tail_t *t = open_tail(paths, nfiles, NULL, 1);
    tail_line_t l;
    size_t n = 0;
    while (tail_next(t, &l, 0) == 1)
        n++;
    ck_assert_uint_eq(n, TAIL_INFLIGHT_TOTAL_MAX);
    ck_assert_uint_eq(tail_inflight(t), TAIL_INFLIGHT_TOTAL_MAX);
    tail_free(t);
    for (int i = 0; i < nfiles; i++)
        free((char *)paths[i]);
}
END_TEST

/* ---- stdin -------------------------------------------------------------------------------- */

#define STDIN_LINES 100000

START_TEST(test_stdin_lines_are_read_to_the_end_and_sent_again_after_a_rewind) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) { /* the writer: more than a pipe holds, so reading must interleave */
        close(fds[0]);
        FILE *f = fdopen(fds[1], "w");
        for (int i = 0; i < STDIN_LINES; i++)
            fprintf(f, "in%d\n", i);
        fputs("last", f); /* unterminated: stdin's end is for good */
        fclose(f);
        _exit(0);
    }
    close(fds[1]);
    const char *paths[1] = {"-"};
    tail_opts_t o = {.paths = paths, .npaths = 1, .stdin_fd = fds[0]};
    char err[512];
    tail_t *t = tail_new(&o, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    collect(t, 1000, 0, WAIT_MS);
    for (int i = 0; i < 400; i++)
        tail_ack(t, L.v[i].token);
    tail_rewind_all(t);
    size_t first = L.n;
    collect(t, 600, 1, WAIT_MS);
    for (size_t i = 0; i < 600; i++) {
        ck_assert_uint_eq(L.v[first + i].off, L.v[400 + i].off);
        ck_assert_str_eq(L.v[first + i].text, L.v[400 + i].text);
        ck_assert_int_eq(L.v[first + i].reread, 1);
    }
    ck_assert_int_eq(collect(t, STDIN_LINES, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 1000 + STDIN_LINES + 1 - 1000 + 600);
    for (size_t i = 1600; i < L.n; i++) { /* after the replay: every line once, in order */
        char want[32];
        if (i + 1 < L.n) snprintf(want, sizeof want, "in%zu", i - 1600 + 1000);
        ck_assert_str_eq(L.v[i].text, i + 1 < L.n ? want : "last");
    }
    ck_assert_msg(strncmp(L.v[0].src, "-:stdin:", 8) == 0, "%s", L.v[0].src);
    ck_assert_uint_eq(L.v[L.n - 1].off, L.v[L.n - 2].off + strlen(L.v[L.n - 2].text) + 1);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    tail_free(t);
    lines_clear();
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("tail");
    TCase *t = tcase_create("tail");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_every_line_of_a_real_log_with_its_exact_offset);
    tcase_add_test(t, test_crlf_empty_lines_and_binary_bytes_pass_through);
    tcase_add_test(t, test_too_long_line_is_handed_out_once_with_its_first_bytes);
    tcase_add_test(t, test_unterminated_last_line_is_handed_out_in_once_mode_only);
    tcase_add_test(t, test_position_passes_only_confirmed_lines_acked_out_of_order);
    tcase_add_test(t, test_restart_resumes_at_the_confirmed_position_with_the_same_src);
    tcase_add_test(t, test_rewind_hands_out_the_same_src_and_offsets_again);
    tcase_add_test(t, test_settled_once_per_line_with_its_tag);
    tcase_add_test(t, test_resume_inside_an_unterminated_line_drops_its_rest);
    tcase_add_test(t, test_corrupt_state_file_is_refused_naming_file_and_line);
    tcase_add_test(t, test_state_dir_is_created_and_locked_against_a_second_collector);
    tcase_add_test(t, test_missing_path_fails_in_once_mode_and_is_awaited_when_following);
    tcase_add_test(t, test_directory_as_path_fails_at_start);
    tcase_add_test(t, test_relative_paths_are_made_absolute);
    tcase_add_test(t, test_empty_glob_is_reported_not_refused);
    tcase_add_test(t, test_without_acks_reading_stops_at_the_in_flight_bound);
    tcase_add_test(t, test_the_bound_holds_across_all_sources);
    tcase_add_test(t, test_stdin_lines_are_read_to_the_end_and_sent_again_after_a_rewind);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
