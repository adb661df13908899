/* The tail follows files as `tail -F` does and loses or doubles no line: rename rotation (the
 * old file first, then the new), copytruncate, deletion, new files of a glob, files rotated while
 * the collector was stopped, reused inodes, and a random history of all of it with crashes and
 * rewinds in between. The test acks lines itself, as Kafka's delivery reports would. */
#include "tail_test.h"

static void assert_no_pair_twice(void) {
    for (size_t i = 0; i < L.n; i++)
        for (size_t k = i + 1; k < L.n && k < i + 400; k++)
            ck_assert(!(L.v[i].off == L.v[k].off && strcmp(L.v[i].src, L.v[k].src) == 0));
}

/* ---- new files ------------------------------------------------------------------------------ */

START_TEST(test_new_file_matching_a_glob_is_picked_up) {
    put_lines(in_dir("a.log"), "a", 0, 5);
    put_lines(in_dir("skip.txt"), "s", 0, 5);
    tail_t *t = open1(in_dir("*.log"), NULL, 0);
    collect(t, 5, 1, WAIT_MS);
    put_lines(in_dir("b.log"), "b", 0, 7);
    put_lines(in_dir("other.txt"), "o", 0, 7);
    collect(t, 7, 1, WAIT_MS);
    collect(t, 1, 1, 300); /* nothing else comes */
    ck_assert_uint_eq(L.n, 12);
    assert_run(0, "a", 0, 5);
    assert_run(5, "b", 0, 7);
    ck_assert_str_ne(L.v[0].src, L.v[5].src);
    ck_assert_int_eq(tail_nsources(t), 2);
    tail_free(t);
    lines_clear();
}
END_TEST

/* ---- following ---------------------------------------------------------------------------- */

START_TEST(test_rotation_by_rename_loses_no_line_and_reads_the_old_file_first) {
    const char *p = in_dir("access.log"), *old = in_dir("access.log.1");
    grace_ms = 3000; /* the old file is still followed when the late writes come */
    put_lines(p, "a", 0, 100);
    tail_t *t = open1(p, NULL, 0);
    collect(t, 100, 1, WAIT_MS);
    collect(t, 1, 1, 100); /* at its end: what follows is seen with the rotation */
    ck_assert_uint_eq(L.n, 100);
    FILE *w = fopen(p, "a"); /* the writer keeps its file open across the rename */
    for (int i = 100; i < 150; i++)
        fprintf(w, "a%d\n", i);
    fflush(w);
    ck_assert_int_eq(rename(p, old), 0);
    put_lines(p, "b", 0, 50);
    collect(t, 100, 1, WAIT_MS); /* what the old file had first, then the new file */
    ck_assert_uint_eq(L.n, 200);
    assert_run(0, "a", 0, 150);
    assert_run(150, "b", 0, 50);
    for (int i = 150; i < 200; i++) /* late writes to the old file, before the writer reopens */
        fprintf(w, "a%d\n", i);
    fclose(w);
    collect(t, 50, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 250);
    assert_run(200, "a", 150, 200);
    for (size_t i = 1; i < 150; i++)
        ck_assert_str_eq(L.v[i].src, L.v[0].src);
    for (size_t i = 200; i < 250; i++)
        ck_assert_str_eq(L.v[i].src, L.v[0].src);
    ck_assert_str_ne(L.v[150].src, L.v[0].src);
    ck_assert_uint_eq(L.v[150].off, 0);
    assert_no_pair_twice();
    ck_assert(saw_event("file rotated"));
    /* The old file is closed once quiet and confirmed. */
    int64_t end = now_ms() + WAIT_MS;
    while (tail_nsources(t) != 1 && now_ms() < end)
        collect(t, 1, 1, 50);
    ck_assert_int_eq(tail_nsources(t), 1);
    ck_assert(saw_event("file finished"));
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_copytruncate_starts_again_at_zero_with_a_new_src) {
    const char *p = in_dir("access.log");
    put_lines(p, "line", 0, 100);
    tail_t *t = open1(p, state, 0);
    collect(t, 100, 1, WAIT_MS);
    put(p, "w", "");             /* truncate in place */
    put_lines(p, "line", 0, 20); /* the same first line: only the generation tells them apart */
    collect(t, 20, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 120);
    assert_run(100, "line", 0, 20);
    ck_assert_uint_eq(L.v[100].off, 0);
    ck_assert_str_ne(L.v[100].src, L.v[0].src);
    ck_assert_str_eq(L.v[100].src + strlen(L.v[100].src) - 2, ":1");
    ck_assert(saw_event("file truncated"));
    /* Truncated and written past the old size before the next look: the first line differs. */
    put(p, "w", "");
    put_lines(p, "new", 0, 300);
    collect(t, 300, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 420);
    assert_run(120, "new", 0, 300);
    ck_assert_uint_eq(L.v[120].off, 0);
    ck_assert_str_ne(L.v[120].src, L.v[100].src);
    save(t);
    ck_assert_int_eq(saved_off(L.v[120].src), 300 * 4 + 10 * 1 + 90 * 2 + 200 * 3);
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_deleted_file_is_read_to_its_end_then_dropped) {
    const char *p = in_dir("a.log");
    put_lines(p, "line", 0, 50);
    tail_t *t = open1(p, state, 0);
    ck_assert_int_eq(unlink(p), 0);
    collect(t, 50, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 50);
    assert_run(0, "line", 0, 50);
    int64_t end = now_ms() + WAIT_MS;
    while (tail_nsources(t) != 0 && now_ms() < end)
        collect(t, 1, 1, 50);
    ck_assert_int_eq(tail_nsources(t), 0);
    ck_assert(saw_event("file deleted"));
    save(t);
    ck_assert_int_eq(saved_off(L.v[0].src), -1); /* its position is gone */
    tail_free(t);
    lines_clear();
}
END_TEST

START_TEST(test_file_rotated_while_stopped_is_finished_before_the_new_one) {
    const char *p = in_dir("access.log"), *old = in_dir("access.log.1");
    put_lines(p, "a", 0, 10);
    tail_t *t = open1(p, state, 0);
    collect(t, 10, 1, WAIT_MS);
    save(t);
    char *src = strdup(L.v[0].src);
    tail_free(t);
    lines_clear();
    put_lines(p, "a", 10, 15); /* written while the collector was down, then rotated */
    ck_assert_int_eq(rename(p, old), 0);
    put_lines(p, "b", 0, 5);
    t = open1(p, state, 0);
    ck_assert(saw_event("file resumed after rotation"));
    collect(t, 10, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, 10);
    assert_run(0, "a", 10, 15);
    assert_run(5, "b", 0, 5);
    ck_assert_str_eq(L.v[0].src, src);
    ck_assert_uint_eq(L.v[0].off, 10 * 3);
    ck_assert_str_ne(L.v[5].src, src);
    tail_free(t);
    lines_clear();
    free(src);
}
END_TEST

START_TEST(test_files_rotated_twice_while_stopped_are_read_oldest_first) {
    const char *p = in_dir("access.log"), *p1 = in_dir("access.log.1"),
               *p2 = in_dir("access.log.2");
    put_lines(p, "a", 0, 10);
    tail_t *t = open1(p, state, 0);
    collect(t, 10, 0, WAIT_MS);
    for (int i = 0; i < 9; i++) /* a9 stays unconfirmed: the file cannot be finished */
        tail_ack(t, L.v[i].token);
    ck_assert_int_eq(rename(p, p1), 0);
    put_lines(p, "b", 0, 10);
    collect(t, 5, 1, WAIT_MS); /* b0..b4, read once a's file was read to its end */
    ck_assert_uint_eq(L.n, 15);
    assert_run(10, "b", 0, 5);
    save(t);
    tail_free(t); /* killed */
    lines_clear();
    /* While stopped: late lines in the old file (more than one read window, so that reading
     * side by side would interleave), then one more rotation. */
    put_lines(p1, "a", 10, 200000);
    ck_assert_int_eq(rename(p1, p2), 0);
    ck_assert_int_eq(rename(p, p1), 0);
    put_lines(p, "c", 0, 3);
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}}; /* a's file is the older */
    ck_assert_int_eq(utimensat(AT_FDCWD, p2, old, 0), 0);
    t = open1(p, state, 0);
    size_t na = 200000 - 9;
    collect(t, na + 8, 1, WAIT_MS);
    ck_assert_uint_eq(L.n, na + 8);
    assert_run(0, "a", 9, 200000);
    assert_run(na, "b", 5, 10);
    assert_run(na + 5, "c", 0, 3);
    ck_assert_str_ne(L.v[0].src, L.v[na].src);
    ck_assert_str_ne(L.v[na].src, L.v[na + 5].src);
    tail_free(t);
    lines_clear();
}
END_TEST

/* Makes the file at p (new content) sit on inode ino if the filesystem gives it back within a
 * bounded number of tries; else the state file is edited so that its entry names the new
 * file's inode: the same situation for the tail. */
static void reuse_inode(const char *p, ino_t ino, const char *content) {
    struct stat st;
    char tmp[400];
    for (int i = 0; i < 64; i++) {
        unlink(p);
        put(p, "w", content);
        stat(p, &st);
        if (st.st_ino == ino) return;
        snprintf(tmp, sizeof tmp, "%s.keep%d", p, i); /* hold the wrong one, try again */
        rename(p, tmp);
    }
    posstore_t ps;
    char err[512];
    posstore_init(&ps);
    ck_assert_int_eq(posstore_load(&ps, state, err, sizeof err), 0);
    unlink(p);
    put(p, "w", content);
    stat(p, &st);
    for (size_t i = 0; i < ps.n; i++) {
        ps.v[i].ino = st.st_ino;
        ps.v[i].dev = st.st_dev;
    }
    ck_assert_int_eq(posstore_save(state, ps.v, ps.n, err, sizeof err), 0);
    posstore_fini(&ps);
}

START_TEST(test_reused_inode_is_not_resumed_at_the_old_position) {
    const char *p = in_dir("a.log");
    put(p, "w", "first old line\nsecond old line\nthird old line\n");
    struct stat st;
    stat(p, &st);
    tail_t *t = open1(p, state, 1);
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    save(t);
    char *src1 = strdup(L.v[0].src);
    tail_free(t);
    lines_clear();
    /* Another file on the same inode, with another first line: read from 0, a new src. */
    const char *second = "new file line one\nnew two\nnew three\nnew four\n";
    reuse_inode(p, st.st_ino, second);
    t = open1(p, state, 1);
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 4);
    ck_assert_str_eq(L.v[0].text, "new file line one");
    ck_assert_uint_eq(L.v[0].off, 0);
    ck_assert_str_ne(L.v[0].src, src1);
    save(t);
    char *src2 = strdup(L.v[0].src);
    tail_free(t);
    lines_clear();
    /* Again, with the same first line but other bytes before the saved position (45): not
     * resumed either, and a new src although path, inode and first line are the same. */
    stat(p, &st);
    reuse_inode(p, st.st_ino, "new file line one\nOTHER BYTES HERE\nMORE OTHER BYTES\nAND MORE\n");
    t = open1(p, state, 1);
    ck_assert(saw_event("file changed while stopped: reading from 0"));
    ck_assert_int_eq(collect(t, 10, 1, WAIT_MS), TAIL_DONE);
    ck_assert_uint_eq(L.n, 4);
    ck_assert_uint_eq(L.v[0].off, 0);
    ck_assert_str_eq(L.v[1].text, "OTHER BYTES HERE");
    ck_assert_str_ne(L.v[0].src, src2);
    ck_assert_str_ne(L.v[0].src, src1);
    tail_free(t);
    lines_clear();
    free(src1);
    free(src2);
}
END_TEST

/* ---- a random history ---------------------------------------------------------------------- */

#define RND_LINES_MAX 40000

typedef struct first_seen {
    char *src;
    uint64_t off;
} first_seen_t;

static first_seen_t seen_as[RND_LINES_MAX];
static uint64_t pending[RND_LINES_MAX * 4];
static size_t npending;
static uint32_t rnd_state = 12345;

static uint32_t rnd(void) { /* deterministic, whatever the C library */
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* Takes what the tail has for ms, checking each line against what was seen of it before: the
 * same line always comes with the same (src, off). Acks some at once. Returns lines taken. */
static size_t take(tail_t *t, int ms) {
    size_t n = 0;
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        tail_line_t l;
        int r = tail_next(t, &l, 5);
        ck_assert_int_ge(r, 0);
        if (r != 1) continue;
        int id;
        ck_assert_msg(sscanf(l.p, "k%d", &id) == 1 && id >= 0 && id < RND_LINES_MAX,
                      "not a line of ours: %.*s", (int)l.n, l.p);
        first_seen_t *f = &seen_as[id];
        if (!f->src) {
            f->src = strdup(l.src);
            f->off = l.off;
        } else {
            ck_assert_str_eq(l.src, f->src);
            ck_assert_uint_eq(l.off, f->off);
        }
        if (rnd() % 3 == 0)
            tail_ack(t, l.token);
        else
            pending[npending++] = l.token;
        n++;
    }
    return n;
}

static int by_src_off(const void *a, const void *b) {
    const first_seen_t *x = a, *y = b;
    int c = strcmp(x->src, y->src);
    return c ? c : (x->off > y->off) - (x->off < y->off);
}

START_TEST(test_random_appends_rotations_crashes_and_rewinds_lose_nothing) {
    const char *p = in_dir("r.log");
    char rotated[400];
    if (getenv("TAIL_TEST_SEED")) rnd_state = (uint32_t)atoi(getenv("TAIL_TEST_SEED"));
    int next = 0, nrot = 0;
    tail_t *t = open1(p, state, 0);
    for (int step = 0; step < 80; step++) {
        uint32_t op = rnd() % 10;
        if (op <= 4 && next < RND_LINES_MAX - 300) { /* a burst of lines */
            FILE *f = fopen(p, "a");
            for (uint32_t k = rnd() % 300; k > 0; k--)
                fprintf(f, "k%d %0*d\n", next++, (int)(rnd() % 80), 7);
            fclose(f);
        } else if (op == 5) { /* rename rotation; the next burst creates the file again */
            snprintf(rotated, sizeof rotated, "%s.%d", p, ++nrot);
            rename(p, rotated);
        } else if (op == 6) { /* Kafka confirms some, in any order */
            for (size_t i = 0; i < npending;)
                if (rnd() % 2) {
                    tail_ack(t, pending[i]);
                    pending[i] = pending[--npending];
                } else {
                    i++;
                }
        } else if (op == 7) { /* the producer failed: everything unconfirmed again */
            tail_rewind_all(t);
            npending = 0;
        } else if (op == 8) { /* kill -9: no save */
            tail_free(t);
            npending = 0;
            t = open1(p, state, 0);
        } else if (op == 9) {
            save(t);
        }
        take(t, 30);
    }
    /* Then Kafka is fine: everything comes, and is confirmed. */
    int64_t end = now_ms() + WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < npending; i++)
            tail_ack(t, pending[i]);
        npending = 0;
        int missing = 0;
        for (int i = 0; i < next; i++)
            missing += seen_as[i].src == NULL;
        if (!missing || now_ms() > end) {
            ck_assert_msg(missing == 0, "%d of %d lines never came", missing, next);
            break;
        }
        take(t, 50);
    }
    ck_assert_int_gt(next, 1000);
    ck_assert_int_gt(nrot, 2);
    /* Two lines never share a (src, off). */
    qsort(seen_as, (size_t)next, sizeof seen_as[0], by_src_off);
    for (int i = 1; i < next; i++)
        ck_assert(by_src_off(&seen_as[i - 1], &seen_as[i]) != 0);
    for (int i = 0; i < next; i++)
        free(seen_as[i].src);
    tail_free(t);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("tail_follow");
    TCase *t = tcase_create("tail_follow");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_new_file_matching_a_glob_is_picked_up);
    tcase_add_test(t, test_rotation_by_rename_loses_no_line_and_reads_the_old_file_first);
    tcase_add_test(t, test_copytruncate_starts_again_at_zero_with_a_new_src);
    tcase_add_test(t, test_deleted_file_is_read_to_its_end_then_dropped);
    tcase_add_test(t, test_file_rotated_while_stopped_is_finished_before_the_new_one);
    tcase_add_test(t, test_files_rotated_twice_while_stopped_are_read_oldest_first);
    tcase_add_test(t, test_reused_inode_is_not_resumed_at_the_old_position);
    tcase_add_test(t, test_random_appends_rotations_crashes_and_rewinds_lose_nothing);
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
