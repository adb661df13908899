/* A file the tail cannot open (permissions) is treated alike at start and later: the other
 * files are read, it is reported once and counted, tried again at every scan, and read once it
 * can be opened: from 0 if new, from its saved position if the state file knew it. --once still
 * refuses it, as it has no later scan. Root reads any file, so the tail runs as nobody here
 * (the effective uid only: the test takes root back to change modes). */
#include "tail_test.h"

#define NOBODY 65534

static void as_user(void) {
    if (getuid() == 0) ck_assert_int_eq(seteuid(NOBODY), 0);
}

static void as_root(void) {
    if (getuid() == 0) ck_assert_int_eq(seteuid(0), 0);
}

static void set_mode(const char *p, mode_t m) {
    as_root();
    ck_assert_int_eq(chmod(p, m), 0);
    as_user();
}

static void expect_warn(const char *path) {
    char want[512];
    snprintf(want, sizeof want, "cannot open file|%s|%s", path, strerror(EACCES));
    ck_assert_int_eq(nwarns, 1);
    ck_assert_str_eq(warns[0], want);
}

START_TEST(test_unreadable_glob_file_is_reported_once_and_read_once_readable) {
    const char *b = in_dir("b.log");
    ck_assert_int_eq(chmod(dir, 0777), 0); /* nobody creates the state directory in it */
    put_lines(in_dir("a.log"), "a", 0, 5);
    put_lines(b, "b", 0, 7);
    ck_assert_int_eq(chmod(b, 0), 0);
    as_user();
    tail_t *t = open1(in_dir("*.log"), state, 0);
    collect(t, 5, 1, WAIT_MS);
    collect(t, 1, 1, 300); /* about 15 scans: b.log is tried at each, reported once */
    ck_assert_uint_eq(L.n, 5);
    assert_run(0, "a", 0, 5);
    expect_warn(b);
    ck_assert_uint_eq(tail_unreadable(t), 1);
    ck_assert_uint_eq(tail_open_failures(t), 1);
    set_mode(b, 0644);
    collect(t, 7, 1, WAIT_MS);
    collect(t, 1, 1, 100);
    ck_assert_uint_eq(L.n, 12);
    assert_run(5, "b", 0, 7);
    ck_assert_uint_eq(L.v[5].off, 0);
    ck_assert_uint_eq(tail_unreadable(t), 0);
    ck_assert_uint_eq(tail_open_failures(t), 1);
    ck_assert_int_eq(nwarns, 1);
    tail_free(t);
    as_root();
    lines_clear();
}
END_TEST

START_TEST(test_unreadable_plain_path_is_treated_as_a_glob_file) {
    const char *p = in_dir("access.log");
    ck_assert_int_eq(chmod(dir, 0777), 0);
    put_lines(p, "a", 0, 4);
    ck_assert_int_eq(chmod(p, 0), 0);
    as_user();
    tail_t *t = open1(p, NULL, 0);
    collect(t, 1, 1, 200);
    ck_assert_uint_eq(L.n, 0);
    expect_warn(p);
    ck_assert_uint_eq(tail_unreadable(t), 1);
    set_mode(p, 0644);
    collect(t, 4, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 4);
    assert_run(0, "a", 0, 4);
    ck_assert_uint_eq(tail_unreadable(t), 0);
    tail_free(t);
    as_root();
    lines_clear();
}
END_TEST

START_TEST(test_unreadable_file_rotated_by_rename_is_not_reported_again) {
    const char *p = in_dir("access.log"), *old = in_dir("access.log.1");
    ck_assert_int_eq(chmod(dir, 0777), 0);
    put_lines(p, "a", 0, 3);
    ck_assert_int_eq(chmod(p, 0), 0);
    as_user();
    tail_t *t = open1(in_dir("access.log*"), NULL, 0);
    collect(t, 1, 1, 100);
    expect_warn(p);
    as_root();
    ck_assert_int_eq(rename(p, old), 0);
    as_user();
    collect(t, 1, 1, 300);
    ck_assert_uint_eq(L.n, 0);
    ck_assert_int_eq(nwarns, 1);
    ck_assert_uint_eq(tail_unreadable(t), 1);
    ck_assert_uint_eq(tail_open_failures(t), 1);
    set_mode(old, 0644);
    collect(t, 3, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 3);
    assert_run(0, "a", 0, 3);
    ck_assert_uint_eq(tail_unreadable(t), 0);
    tail_free(t);
    as_root();
    lines_clear();
}
END_TEST

START_TEST(test_file_unreadable_at_restart_resumes_at_its_saved_position) {
    const char *p = in_dir("a.log");
    ck_assert_int_eq(chmod(dir, 0777), 0);
    put_lines(p, "a", 0, 5);
    as_user();
    tail_t *t = open1(in_dir("*.log"), state, 0);
    collect(t, 5, 1, WAIT_MS);
    save(t);
    tail_free(t);
    char *src = strdup(L.v[0].src);
    ck_assert_int_eq(saved_off(src), 15); /* "a0\n" ... "a4\n" */
    lines_clear();
    as_root();
    put_lines(p, "a", 5, 8);
    set_mode(p, 0);
    t = open1(in_dir("*.log"), state, 0);
    collect(t, 1, 1, 300);
    ck_assert_uint_eq(L.n, 0);
    ck_assert(saw_event("file unreadable: position kept"));
    ck_assert(!saw_event("position dropped: file gone"));
    expect_warn(p);
    save(t);
    ck_assert_int_eq(saved_off(src), 15); /* kept in the state file while unreadable */
    set_mode(p, 0644);
    collect(t, 3, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 3);
    assert_run(0, "a", 5, 8);
    ck_assert_str_eq(L.v[0].src, src); /* the same src: billing sees no line twice */
    ck_assert_uint_eq(L.v[0].off, 15);
    ck_assert(saw_event("file resumed"));
    save(t);
    ck_assert_int_eq(saved_off(src), 24);
    tail_free(t);
    free(src);
    as_root();
    lines_clear();
}
END_TEST

START_TEST(test_kept_position_is_dropped_when_the_unreadable_file_is_deleted) {
    const char *p = in_dir("a.log");
    ck_assert_int_eq(chmod(dir, 0777), 0);
    put_lines(p, "a", 0, 5);
    as_user();
    tail_t *t = open1(in_dir("*.log"), state, 0);
    collect(t, 5, 1, WAIT_MS);
    save(t);
    tail_free(t);
    char *src = strdup(L.v[0].src);
    lines_clear();
    set_mode(p, 0);
    t = open1(in_dir("*.log"), state, 0);
    ck_assert(saw_event("file unreadable: position kept"));
    ck_assert_uint_eq(tail_unreadable(t), 1);
    as_root();
    ck_assert_int_eq(unlink(p), 0);
    as_user();
    int64_t end = now_ms() + WAIT_MS;
    while (!saw_event("position dropped: file gone") && now_ms() < end)
        collect(t, 1, 1, 50);
    ck_assert(saw_event("position dropped: file gone"));
    ck_assert_uint_eq(tail_unreadable(t), 0);
    save(t);
    ck_assert_int_eq(saved_off(src), -1);
    tail_free(t);
    free(src);
    as_root();
    lines_clear();
}
END_TEST

START_TEST(test_once_mode_refuses_an_unreadable_file) {
    const char *p = in_dir("secret.log");
    ck_assert_int_eq(chmod(dir, 0777), 0);
    put(p, "w", "line\n");
    ck_assert_int_eq(chmod(p, 0), 0);
    const char *paths[1] = {in_dir("*.log")};
    tail_opts_t o = {.paths = paths, .npaths = 1, .once = 1};
    char err[512] = "";
    as_user();
    ck_assert_ptr_null(tail_new(&o, err, sizeof err));
    as_root();
    ck_assert_msg(strstr(err, "secret.log: Permission denied") != NULL, "%s", err);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("tail_unreadable");
    TCase *t = tcase_create("tail_unreadable");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_unreadable_glob_file_is_reported_once_and_read_once_readable);
    tcase_add_test(t, test_unreadable_plain_path_is_treated_as_a_glob_file);
    tcase_add_test(t, test_unreadable_file_rotated_by_rename_is_not_reported_again);
    tcase_add_test(t, test_file_unreadable_at_restart_resumes_at_its_saved_position);
    tcase_add_test(t, test_kept_position_is_dropped_when_the_unreadable_file_is_deleted);
    tcase_add_test(t, test_once_mode_refuses_an_unreadable_file);
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
