/* tail_test.h: what the tail's tests share: a scratch directory per test, files written line by
 * line, and a record of what the tail handed out, acked as Kafka's delivery reports would. Each
 * test program includes it once. */
#ifndef TAIL_TEST_H
#define TAIL_TEST_H

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
    if (getuid() == 0 && geteuid() != 0 && seteuid(0) != 0) perror("seteuid"); /* as_user() */
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

static char warns[16][512]; /* "event|path|why" */
static int nwarns;

static void on_warn(void *ctx, const char *event, const char *path, const char *why) {
    (void)ctx;
    if (nwarns < 16) snprintf(warns[nwarns++], sizeof warns[0], "%s|%s|%s", event, path, why);
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
    nwarns = 0;
}

static tail_t *open_tail(const char *const *paths, int n, const char *st, int once) {
    tail_opts_t o = {.paths = paths,
                     .npaths = n,
                     .state_dir = st,
                     .once = once,
                     .on_event = on_event,
                     .on_warn = on_warn,
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

#endif
