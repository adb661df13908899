/* tail.c: the tail (tail.h): reading lines from the sources in turn, backpressure, finishing
 * rotated files, acks, rewind, the state directory, and what watermarks need. The sources are
 * kept by the table (srctab.c); finding the files (globs, rotation, truncation, resuming) is
 * tailscan.c's. */
#include "srctab.h"
#include "tail.h"
#include "tailscan.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct tail {
    tail_opts_t o;     /* paths not kept: see scan.pats */
    srctab_t tab;      /* the open sources */
    tscan_t scan;      /* finds the files of the patterns (follow mode: again and again) */
    int stdin_only;    /* every pattern is "-": TAIL_DONE at its end even when following */
    uint32_t cur;      /* the slot being read */
    uint32_t ring_max; /* lines in flight per source, a power of two */
    int grace_ms;      /* a detached file quiet this long, all confirmed, is closed */
    char *state_dir;   /* NULL: no positions kept */
    int lock_fd;       /* holds the flock of STATE_DIR/lock: one collector per directory */
    int64_t scan_wall; /* wall ms at the start of the last scan of the patterns */
    int64_t caught_up; /* tail_caught_up_ms(), -1: not yet */
    char err[1024];    /* tail_error(); the scanner writes its failures here too */
};

static int is_final(const tail_t *t, const source_t *s, int64_t now) {
    return t->o.once || s->kind == SRC_STDIN || (s->detached && now - s->grew_ms >= t->grace_ms);
}

/* A new file waits until the file that was at its path before (rotated away) has been read to
 * the end it had when the rotation was seen: the old file first, then the new one. The old one
 * is still followed for late writes until it is quiet for the grace period, but the new one
 * does not wait for that: fresh lines would stall at every rotation, and a collector restarted
 * more often than the grace period would never reach the new file. */
static int waiting(const tail_t *t, source_t *s) {
    if (!s->after_id) return 0;
    const source_t *pred = srctab_find_id(&t->tab, s->after_id);
    if (pred && pred->detached && !(pred->eof && !pred->skipping && !pred->resync)) return 1;
    s->after_id = 0;
    return 0;
}

/* One line from any source, round robin from the one after t->cur. 1, 0 (none), -1. */
static int try_sources(tail_t *t, tail_line_t *out, int *full) {
    int64_t now = clock_mono_ms();
    srctab_t *tab = &t->tab;
    for (uint32_t k = 1; k <= tab->nslots; k++) {
        uint32_t i = (t->cur + k) % tab->nslots;
        source_t *s = tab->slot[i];
        if (!s || waiting(t, s)) continue;
        if (tab->inflight >= TAIL_INFLIGHT_TOTAL_MAX) {
            *full = 1;
            return 0;
        }
        src_rd_t rd = {1, is_final(t, s, now), t->ring_max};
        if (!s->has_id) {
            if (s->eof) continue;
            int r = srctab_identify(tab, s, rd.final, t->err, sizeof t->err);
            if (r < 0) return -1;
            if (r == 0) continue;
            /* A new file is on disk before its first line goes out: were we killed before the
             * next save and the file rotated away meanwhile, the next run could not find it. A
             * failure is reported by the caller's next tail_save(). */
            char err[8];
            tail_save(t, err, sizeof err);
        }
        int r = srctab_next(tab, s, &rd, out, t->err, sizeof t->err);
        if (r == SRC_LINE) {
            t->cur = i;
            return 1;
        }
        if (r == SRC_ERR) return -1;
        if (r == SRC_FULL) *full = 1;
        if (r == SRC_TRUNC) srctab_truncated(tab, s);
    }
    return 0;
}

/* Closes what is finished: a rotated or deleted file read to its end, quiet for the grace
 * period, every line confirmed; stdin at its end, confirmed. */
static void close_finished(tail_t *t, int64_t now) {
    srctab_t *tab = &t->tab;
    for (uint32_t i = 0; i < tab->nslots; i++) {
        source_t *s = tab->slot[i];
        if (!s || src_inflight(s) || !src_drained(s)) continue;
        if (s->kind == SRC_STDIN) {
            srctab_event(tab, "stdin finished", s);
            srctab_close(tab, s);
            continue;
        }
        if (!s->detached || now - s->grew_ms < t->grace_ms) continue;
        struct stat st;
        if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size > s->eof_off) {
            s->eof = 0; /* grew after all */
            continue;
        }
        if (s->has_id) srctab_tomb(tab, s->src, s->path, s->dev, s->ino, s->fp, s->gen);
        srctab_event(tab, "file finished", s);
        srctab_close(tab, s);
    }
}

static int all_drained(const tail_t *t) {
    for (uint32_t i = 0; i < t->tab.nslots; i++)
        if (t->tab.slot[i] && !src_drained(t->tab.slot[i])) return 0;
    return 1;
}

/* Sleeps up to ms for inotify or stdin. */
static void wait_events(tail_t *t, int ms) {
    struct pollfd pf[2];
    int n = 0, ino_fd = t->scan.ino_fd;
    if (ino_fd >= 0) pf[n++] = (struct pollfd){ino_fd, POLLIN, 0};
    for (uint32_t i = 0; i < t->tab.nslots; i++) {
        int fd = t->tab.slot[i] ? src_poll_fd(t->tab.slot[i]) : -1;
        if (fd >= 0) {
            pf[n++] = (struct pollfd){fd, POLLIN, 0};
            break;
        }
    }
    if (poll(pf, (nfds_t)n, ms) > 0 && ino_fd >= 0 && pf[0].revents) tscan_watch_drain(&t->scan);
}

static int next_slow(tail_t *t, tail_line_t *out, int timeout_ms) {
    int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t now = clock_mono_ms(), wall = clock_wall_ms();
        if (!t->o.once) {
            int r = tscan_passes(&t->scan, now);
            if (r < 0) return -1;
            if (r > 0) t->scan_wall = wall; /* the patterns were scanned */
        }
        int full = 0, r = t->tab.nslots ? try_sources(t, out, &full) : 0;
        if (r != 0) return r;
        /* Nothing anywhere and no backpressure: every line written before this pass began (and
         * before the last scan found the files) is handed out. Not while a matched file cannot
         * be opened: its lines are unknown, so the edge's watermark holds (and shows the edge as
         * behind) rather than claim them complete. */
        if (!full && srctab_nunreadable(&t->tab) == 0)
            t->caught_up = wall < t->scan_wall ? wall : t->scan_wall;
        close_finished(t, now);
        if ((t->o.once || t->stdin_only) && all_drained(t)) return TAIL_DONE;
        now = clock_mono_ms();
        if (full || now >= deadline) return 0; /* full: the caller must serve acks now */
        int64_t wait = deadline - now, next_scan = t->scan.next_scan;
        if (!t->o.once && next_scan - now < wait) wait = next_scan > now ? next_scan - now : 0;
        wait_events(t, (int)wait);
    }
}

int tail_next(tail_t *t, tail_line_t *out, int timeout_ms) {
    /* The hot path: the next line of the current source's window, no clock, no system call. */
    source_t *s = t->tab.nslots ? t->tab.slot[t->cur] : NULL;
    if (s && s->has_id && t->tab.inflight < TAIL_INFLIGHT_TOTAL_MAX) {
        src_rd_t rd = {0, 0, t->ring_max};
        int r = srctab_next(&t->tab, s, &rd, out, t->err, sizeof t->err);
        if (r == SRC_LINE) return 1;
        if (r == SRC_ERR) return -1;
    }
    return next_slow(t, out, timeout_ms);
}

const char *tail_error(const tail_t *t) {
    return t->err;
}

void tail_ack(tail_t *t, uint64_t token) {
    srctab_ack(&t->tab, token, t->o.on_settled, t->o.event_ctx);
}

void tail_tag(tail_t *t, uint64_t token, int tag) {
    srctab_tag(&t->tab, token, tag);
}

void tail_rewind_all(tail_t *t) {
    srctab_rewind_all(&t->tab);
}

int64_t tail_caught_up_ms(const tail_t *t) {
    return t->caught_up;
}

int tail_marks_take(const tail_t *t, tail_marks_t *m) {
    m->n = 0;
    for (uint32_t i = 0; i < t->tab.nslots; i++) {
        const source_t *s = t->tab.slot[i];
        if (!s || !s->hw) continue; /* nothing handed out: nothing to wait for */
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 16;
            tail_mark_t *v = realloc(m->v, cap * sizeof *v);
            if (!v) return -1;
            m->v = v;
            m->cap = cap;
        }
        m->v[m->n++] = (tail_mark_t){s->id, s->hw, s->gen};
    }
    return 0;
}

int tail_marks_passed(const tail_t *t, const tail_marks_t *m) {
    for (size_t k = 0; k < m->n; k++) {
        const source_t *s = srctab_find_id(&t->tab, m->v[k].id);
        if (!s || !s->has_id || s->gen != m->v[k].gen) continue; /* closed or truncated since */
        if (s->confirmed < m->v[k].off) return 0;
    }
    return 1;
}

void tail_marks_fini(tail_marks_t *m) {
    free(m->v);
    memset(m, 0, sizeof *m);
}

uint64_t tail_inflight(const tail_t *t) {
    return t->tab.inflight;
}

uint64_t tail_lag_bytes(const tail_t *t) {
    return srctab_lag(&t->tab);
}

int tail_nsources(const tail_t *t) {
    return srctab_count(&t->tab);
}

uint64_t tail_unreadable(const tail_t *t) {
    return srctab_nunreadable(&t->tab);
}

uint64_t tail_open_failures(const tail_t *t) {
    return t->tab.open_failures;
}

int tail_save(tail_t *t, char *err, size_t errlen) {
    if (!t->state_dir) return 0;
    return srctab_save(&t->tab, t->state_dir, err, errlen);
}

/* mkdir -p: the state directory may be new. */
static int mkdirs(const char *dir, char *err, size_t errlen) {
    char p[POSSTORE_PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        snprintf(err, errlen, "%s: state directory path too long", dir);
        return -1;
    }
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c) continue;
        char was = *c;
        *c = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create state directory: %s", p, strerror(errno));
            return -1;
        }
        *c = was;
        if (!was) return 0;
    }
}

/* The state directory: created, locked (two collectors sharing it would overwrite each
 * other's positions), loaded. */
static int open_state(tail_t *t, posstore_t *ps, char *err, size_t errlen) {
    char lock[POSSTORE_PATH_MAX + 16];
    if (mkdirs(t->state_dir, err, errlen) < 0) return -1;
    snprintf(lock, sizeof lock, "%s/lock", t->state_dir);
    t->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (t->lock_fd < 0) {
        snprintf(err, errlen, "%s: %s", lock, strerror(errno));
        return -1;
    }
    if (flock(t->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "%s: state directory in use by another collector (%s)", t->state_dir,
                 strerror(errno));
        return -1;
    }
    if (posstore_load(ps, t->state_dir, err, errlen) < 0) return -1;
    if (srctab_keep_tombs(&t->tab, ps) < 0) {
        snprintf(err, errlen, "%s: out of memory", t->state_dir);
        return -1;
    }
    return 0;
}

tail_t *tail_new(const tail_opts_t *o, char *err, size_t errlen) {
    posstore_t ps;
    posstore_init(&ps);
    tail_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->o = *o;
    t->o.paths = NULL;
    t->lock_fd = t->scan.ino_fd = -1;
    t->caught_up = -1;
    t->scan_wall = clock_wall_ms(); /* tscan_start below finds the files there now */
    t->grace_ms = o->grace_ms > 0 ? o->grace_ms : TAIL_ROTATE_GRACE_MS;
    uint32_t want = o->inflight_max ? o->inflight_max : TAIL_INFLIGHT_MAX;
    if (want > TAIL_INFLIGHT_TOTAL_MAX) want = TAIL_INFLIGHT_TOTAL_MAX;
    for (t->ring_max = 1; t->ring_max < want; t->ring_max *= 2) {
    }
    if (srctab_init(&t->tab, o->on_event, o->event_ctx) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    t->tab.on_warn = o->on_warn;
    if (o->npaths <= 0) {
        snprintf(err, errlen, "no PATH given");
        goto fail;
    }
    int poll_ms = o->poll_ms > 0 ? o->poll_ms : TAIL_POLL_MS;
    if (tscan_init(&t->scan, &t->tab, o->paths, o->npaths, o->once, poll_ms, t->err,
                   sizeof t->err) < 0) {
        snprintf(err, errlen, "%s", t->err);
        goto fail;
    }
    t->stdin_only = t->scan.nstdin == t->scan.npats;
    if (o->state_dir) {
        t->state_dir = strdup(o->state_dir);
        if (!t->state_dir || open_state(t, &ps, err, errlen) < 0) goto fail;
    }
    if (tscan_start(&t->scan, &ps) < 0) {
        snprintf(err, errlen, "%s", t->err);
        goto fail;
    }
    if (t->scan.nstdin && !srctab_add_stdin(&t->tab, o->stdin_fd, clock_wall_ms())) {
        snprintf(err, errlen, "-: out of memory");
        goto fail;
    }
    /* Saved at once (a new table is dirty): every file found is known to the next run even if
     * this one is killed within a second (a file rotated away in between is then still found
     * and finished). */
    if (tail_save(t, err, errlen) < 0) goto fail;
    posstore_fini(&ps);
    return t;
fail:
    posstore_fini(&ps);
    tail_free(t);
    return NULL;
}

void tail_free(tail_t *t) {
    if (!t) return;
    srctab_fini(&t->tab);
    tscan_fini(&t->scan);
    free(t->state_dir);
    if (t->lock_fd >= 0) close(t->lock_fd);
    free(t);
}
