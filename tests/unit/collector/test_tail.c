/* The tail hands out every line of every file exactly as it is, with its byte offset, and never
 * loses or skips one: positions pass only confirmed lines, a restart resumes at them with the
 * same src, a rewind hands the same (src, off) out again, and rotation by rename, copytruncate,
 * deletion, new files of a glob and reused inodes are followed as `tail -F` would. The test acks
 * lines itself, as Kafka's delivery reports would. */
#include "../../../collector/posstore.h"
#include "../../../collector/tail.h"
#include "hit.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAST_POLL_MS 20
#define FAST_GRACE_MS 300
#define WAIT_MS 15000 /* bound on waiting for lines that must come (never a timing assertion) */

static char dir[256], state[300];
static int grace_ms;

static int rm1(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "%s/tail.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(state, sizeof state, "%s/state", dir);
    grace_ms = FAST_GRACE_MS;
}

static void teardown(void) {
    nftw(dir, rm1, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *in_dir(const char *name) {
    static char p[8][400];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void put(const char *path, const char *mode, const char *text) {
    FILE *f = fopen(path, mode);
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Appends lines "<prefix><i>" for i in [from, to). */
static void put_lines(const char *path, const char *prefix, int from, int to) {
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    for (int i = from; i < to; i++)
        fprintf(f, "%s%d\n", prefix, i);
    fclose(f);
}

/* ---- what the tail handed out ------------------------------------------------------------- */

typedef struct got {
    char *src;
    uint64_t off;
    char *text;
    size_t n;
    int too_long, reread;
    uint64_t token;
} got_t;

typedef struct lines {
    got_t v[300000];
    size_t n;
} lines_t;

static lines_t L;
static char events[64][128];
static int nevents;

static void on_event(void *ctx, const char *event, const char *path, const char *src,
                     uint64_t off) {
    (void)ctx, (void)path, (void)src, (void)off;
    if (nevents < 64) snprintf(events[nevents++], sizeof events[0], "%s", event);
}

static int saw_event(const char *e) {
    for (int i = 0; i < nevents; i++)
        if (strcmp(events[i], e) == 0) return 1;
    return 0;
}

static void lines_clear(void) {
    for (size_t i = 0; i < L.n; i++) {
        free(L.v[i].src);
        free(L.v[i].text);
    }
    L.n = 0;
    nevents = 0;
}

static tail_t *open_tail(const char *const *paths, int n, const char *st, int once) {
    tail_opts_t o = {.paths = paths,
                     .npaths = n,
                     .state_dir = st,
                     .once = once,
                     .on_event = on_event,
                     .poll_ms = FAST_POLL_MS,
                     .grace_ms = grace_ms};
    char err[1024] = "";
    tail_t *t = tail_new(&o, err, sizeof err);
    ck_assert_msg(t != NULL, "tail_new: %s", err);
    return t;
}

static tail_t *open1(const char *path, const char *st, int once) {
    const char *p[1] = {path};
    return open_tail(p, 1, st, once);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes lines until want more have come (acking each if ack), TAIL_DONE, or WAIT_MS. Returns
 * the last tail_next result. */
static int collect(tail_t *t, size_t want, int ack, int wait_ms) {
    size_t goal = L.n + want;
    int64_t end = now_ms() + wait_ms;
    int r = 0;
    while (L.n < goal && now_ms() < end) {
        tail_line_t l;
        r = tail_next(t, &l, 20);
        ck_assert_int_ge(r, 0);
        if (r == TAIL_DONE) break;
        if (r != 1) continue;
        ck_assert_uint_lt(L.n, sizeof L.v / sizeof L.v[0]);
        ck_assert_uint_eq(strlen(l.src), l.src_len);
        got_t *g = &L.v[L.n++];
        g->src = strdup(l.src);
        g->text = strndup(l.p, l.n);
        g->n = l.n;
        g->off = l.off;
        g->too_long = l.too_long;
        g->reread = l.reread;
        g->token = l.token;
        if (ack) tail_ack(t, l.token);
    }
    return r;
}

static void ack_all(tail_t *t) {
    for (size_t i = 0; i < L.n; i++)
        tail_ack(t, L.v[i].token);
}

static void save(tail_t *t) {
    char err[512] = "";
    ck_assert_msg(tail_save(t, err, sizeof err) == 0, "tail_save: %s", err);
}

/* The saved position of the entry whose src is src; -1 if none. */
static int64_t saved_off(const char *src) {
    posstore_t ps;
    char err[512] = "";
    int64_t off = -1;
    posstore_init(&ps);
    ck_assert_msg(posstore_load(&ps, state, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < ps.n; i++)
        if (!ps.v[i].done && strcmp(ps.v[i].src, src) == 0) off = (int64_t)ps.v[i].off;
    posstore_fini(&ps);
    return off;
}

/* The lines of texts "<prefix><i>", i in [from, to), are at L.v[at...], in order. */
static void assert_run(size_t at, const char *prefix, int from, int to) {
    char want[64];
    for (int i = from; i < to; i++) {
        ck_assert_uint_lt(at, L.n);
        snprintf(want, sizeof want, "%s%d", prefix, i);
        ck_assert_str_eq(L.v[at].text, want);
        at++;
    }
}

static void assert_no_pair_twice(void) {
    for (size_t i = 0; i < L.n; i++)
        for (size_t k = i + 1; k < L.n && k < i + 400; k++)
            ck_assert(!(L.v[i].off == L.v[k].off && strcmp(L.v[i].src, L.v[k].src) == 0));
}

/* ---- reading ------------------------------------------------------------------------------ */

START_TEST(test_every_line_of_a_real_log_with_its_exact_offset) {
    char path[512];
    snprintf(path, sizeof path, "%s/apache_logs", getenv("SHARED_DATA"));
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

START_TEST(test_unreadable_path_or_directory_fails_at_start) {
    const char *d = in_dir("adir");
    mkdir(d, 0755);
    const char *paths[1] = {d};
    tail_opts_t o = {.paths = paths, .npaths = 1};
    char err[512] = "";
    ck_assert_ptr_null(tail_new(&o, err, sizeof err));
    ck_assert_msg(strstr(err, "adir: not a regular file") != NULL, "%s", err);
    if (geteuid() == 0) return; /* root reads any file: the rest needs a user */
    const char *p = in_dir("secret.log");
    put_lines(p, "line", 0, 1);
    chmod(p, 0);
    paths[0] = p;
    ck_assert_ptr_null(tail_new(&o, err, sizeof err));
    ck_assert_msg(strstr(err, "secret.log: Permission denied") != NULL, "%s", err);
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

START_TEST(test_empty_glob_is_reported_not_refused) {
    tail_t *t = open1(in_dir("*.none"), NULL, 1);
    ck_assert(saw_event("no file matches"));
    ck_assert_int_eq(collect(t, 1, 1, WAIT_MS), TAIL_DONE);
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
    tcase_add_test(t, test_unreadable_path_or_directory_fails_at_start);
    tcase_add_test(t, test_relative_paths_are_made_absolute);
    tcase_add_test(t, test_new_file_matching_a_glob_is_picked_up);
    tcase_add_test(t, test_empty_glob_is_reported_not_refused);
    tcase_add_test(t, test_rotation_by_rename_loses_no_line_and_reads_the_old_file_first);
    tcase_add_test(t, test_copytruncate_starts_again_at_zero_with_a_new_src);
    tcase_add_test(t, test_deleted_file_is_read_to_its_end_then_dropped);
    tcase_add_test(t, test_file_rotated_while_stopped_is_finished_before_the_new_one);
    tcase_add_test(t, test_files_rotated_twice_while_stopped_are_read_oldest_first);
    tcase_add_test(t, test_reused_inode_is_not_resumed_at_the_old_position);
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
