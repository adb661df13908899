/* tail.c: reading lines from the sources, tokens and acks, rewind, saving positions (tail.h).
 * Finding the files (globs, rotation, truncation, resuming) is in tailscan.c. */
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

void tail_event(tail_t *t, const char *event, const source_t *s) {
    if (t->o.on_event) t->o.on_event(t->o.event_ctx, event, s->path, s->src, s->rd_off);
}

source_t *tail_find(const tail_t *t, uint64_t dev, uint64_t ino) {
    for (uint32_t i = 0; i < t->nslots; i++) {
        source_t *s = t->slot[i];
        if (s && s->kind == SRC_FILE && s->dev == dev && s->ino == ino) return s;
    }
    return NULL;
}

source_t *tail_find_id(const tail_t *t, uint64_t id) {
    for (uint32_t i = 0; i < t->nslots; i++)
        if (t->slot[i] && t->slot[i]->id == id) return t->slot[i];
    return NULL;
}

/* A free slot (growing the table); SRC_SLOTS_MAX bounds it, as tokens carry 20 bits of it. */
static int slot_alloc(tail_t *t, uint32_t *out) {
    for (uint32_t i = 0; i < t->nslots; i++)
        if (!t->slot[i]) {
            *out = i;
            return 0;
        }
    if (t->nslots == SRC_SLOTS_MAX) return -1;
    if (t->nslots == t->slot_cap) {
        uint32_t cap = t->slot_cap ? 2 * t->slot_cap : 16;
        source_t **s = realloc(t->slot, cap * sizeof *s);
        if (!s) return -1;
        t->slot = s;
        uint64_t *q = realloc(t->slot_seq, cap * sizeof *q);
        if (!q) return -1;
        t->slot_seq = q;
        t->slot_cap = cap;
    }
    t->slot[t->nslots] = NULL;
    t->slot_seq[t->nslots] = 0;
    *out = t->nslots++;
    return 0;
}

source_t *tail_add_file(tail_t *t, int fd, const char *path, const struct stat *st) {
    uint32_t i;
    source_t *s = NULL;
    if (slot_alloc(t, &i) == 0) s = src_new_file(fd, path, i, ++t->next_id, t->slot_seq[i]);
    if (!s) {
        close(fd);
        return NULL;
    }
    s->dev = (uint64_t)st->st_dev;
    s->ino = (uint64_t)st->st_ino;
    s->size = (uint64_t)st->st_size;
    /* When it last grew, from its mtime: a file rotated long ago is quiet already, so that a
     * collector restarted often still finishes it at once and goes on to the next. */
    int64_t age =
        clock_wall_ms() - ((int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000);
    s->grew_ms = clock_mono_ms() - (age > 0 ? age : 0);
    s->seen = 1;
    t->slot[i] = s;
    return s;
}

void tail_close_source(tail_t *t, source_t *s) {
    t->slot_seq[s->slot] = s->next; /* the next occupant's seqs follow: old tokens stay stale */
    t->slot[s->slot] = NULL;
    t->inflight -= src_inflight(s);
    if (t->win.owner == s) t->win.owner = NULL;
    t->dirty = 1;
    src_free(s);
}

void tail_tomb(tail_t *t, const char *src, const char *path, uint64_t dev, uint64_t ino,
               uint64_t fp, uint32_t gen) {
    posstore_t *ps = &t->tombs;
    /* Only the highest gen of an identity matters; the list keeps the latest TAIL_TOMBS_MAX. */
    for (size_t i = 0; i < ps->n; i++) {
        posstore_ent_t *e = &ps->v[i];
        if (e->dev == dev && e->ino == ino && e->fp == fp && e->gen >= gen) return;
    }
    if (ps->n == TAIL_TOMBS_MAX) {
        free(ps->v[0].src);
        free(ps->v[0].path);
        memmove(ps->v, ps->v + 1, (ps->n - 1) * sizeof *ps->v);
        ps->n--;
    }
    posstore_ent_t e = {(char *)src, (char *)path, dev, ino, fp, gen, 0, 0, 1};
    posstore_add(ps, &e); /* out of memory: the tombstone is lost, the gen rule weakens only */
    t->dirty = 1;
}

int tail_identify(tail_t *t, source_t *s, int final) {
    uint64_t fp;
    uint32_t len;
    int r = src_fingerprint(s->fd, final, &fp, &len);
    if (r < 0) {
        snprintf(t->err, sizeof t->err, "%s: read: %s", s->path, strerror(errno));
        return -1;
    }
    if (r == 0) { /* wait for a complete first line: until the size grows */
        s->eof = 1;
        s->eof_off = s->size;
        return 0;
    }
    /* A new identity never repeats a src seen before: one more than any finished file with the
     * same inode and first line (inode reused, or the file truncated and rewritten alike). */
    uint32_t gen = s->gen_min;
    for (size_t i = 0; i < t->tombs.n; i++) {
        const posstore_ent_t *e = &t->tombs.v[i];
        if (e->dev == s->dev && e->ino == s->ino && e->fp == fp && e->gen >= gen) gen = e->gen + 1;
    }
    src_set_id(s, s->path, fp, len, gen);
    t->dirty = 1;
    tail_event(t, "file opened", s);
    return 1;
}

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
    const source_t *pred = tail_find_id(t, s->after_id);
    if (pred && pred->detached && !(pred->eof && !pred->skipping && !pred->resync)) return 1;
    s->after_id = 0;
    return 0;
}

/* One line from any source, round robin from the one after t->cur. 1, 0 (none), -1. */
static int try_sources(tail_t *t, tail_line_t *out, int *full) {
    int64_t now = clock_mono_ms();
    for (uint32_t k = 1; k <= t->nslots; k++) {
        uint32_t i = (t->cur + k) % t->nslots;
        source_t *s = t->slot[i];
        if (!s || waiting(t, s)) continue;
        if (t->inflight >= TAIL_INFLIGHT_TOTAL_MAX) {
            *full = 1;
            return 0;
        }
        src_rd_t rd = {1, is_final(t, s, now), t->ring_max};
        if (!s->has_id) {
            if (s->eof) continue;
            int r = tail_identify(t, s, rd.final);
            if (r < 0) return -1;
            if (r == 0) continue;
            /* A new file is on disk before its first line goes out: were we killed before the
             * next save and the file rotated away meanwhile, the next run could not find it. A
             * failure is reported by the caller's next tail_save(). */
            char err[8];
            tail_save(t, err, sizeof err);
        }
        int r = src_next(s, &t->win, &rd, out, t->err, sizeof t->err);
        if (s->moved) {
            s->moved = 0;
            t->dirty = 1;
        }
        if (r == SRC_LINE) {
            t->cur = i;
            t->inflight++;
            return 1;
        }
        if (r == SRC_ERR) return -1;
        if (r == SRC_FULL) *full = 1;
        if (r == SRC_TRUNC) tscan_truncated(t, s);
    }
    return 0;
}

/* Closes what is finished: a rotated or deleted file read to its end, quiet for the grace
 * period, every line confirmed; stdin at its end, confirmed. */
static void close_finished(tail_t *t, int64_t now) {
    for (uint32_t i = 0; i < t->nslots; i++) {
        source_t *s = t->slot[i];
        if (!s || src_inflight(s) || !src_drained(s)) continue;
        if (s->kind == SRC_STDIN) {
            tail_event(t, "stdin finished", s);
            tail_close_source(t, s);
            continue;
        }
        if (!s->detached || now - s->grew_ms < t->grace_ms) continue;
        struct stat st;
        if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size > s->eof_off) {
            s->eof = 0; /* grew after all */
            continue;
        }
        if (s->has_id) tail_tomb(t, s->src, s->path, s->dev, s->ino, s->fp, s->gen);
        tail_event(t, "file finished", s);
        tail_close_source(t, s);
    }
}

static int all_drained(const tail_t *t) {
    for (uint32_t i = 0; i < t->nslots; i++)
        if (t->slot[i] && !src_drained(t->slot[i])) return 0;
    return 1;
}

/* Sleeps up to ms for inotify or stdin. */
static void wait_events(tail_t *t, int ms) {
    struct pollfd pf[2];
    int n = 0;
    if (t->ino_fd >= 0) pf[n++] = (struct pollfd){t->ino_fd, POLLIN, 0};
    for (uint32_t i = 0; i < t->nslots; i++) {
        int fd = t->slot[i] ? src_poll_fd(t->slot[i]) : -1;
        if (fd >= 0) {
            pf[n++] = (struct pollfd){fd, POLLIN, 0};
            break;
        }
    }
    if (poll(pf, (nfds_t)n, ms) > 0 && t->ino_fd >= 0 && pf[0].revents) tscan_watch_drain(t);
}

static int next_slow(tail_t *t, tail_line_t *out, int timeout_ms) {
    int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t now = clock_mono_ms(), wall = clock_wall_ms();
        if (!t->o.once) {
            int64_t due = t->next_scan;
            if (tscan_passes(t, now) < 0) return -1;
            if (t->next_scan != due) t->scan_wall = wall; /* the patterns were scanned */
        }
        int full = 0, r = t->nslots ? try_sources(t, out, &full) : 0;
        if (r != 0) return r;
        /* Nothing anywhere and no backpressure: every line written before this pass began (and
         * before the last scan found the files) is handed out. */
        if (!full) t->caught_up = wall < t->scan_wall ? wall : t->scan_wall;
        close_finished(t, now);
        if ((t->o.once || t->stdin_only) && all_drained(t)) return TAIL_DONE;
        now = clock_mono_ms();
        if (full || now >= deadline) return 0; /* full: the caller must serve acks now */
        int64_t wait = deadline - now;
        if (!t->o.once && t->next_scan - now < wait)
            wait = t->next_scan > now ? t->next_scan - now : 0;
        wait_events(t, (int)wait);
    }
}

int tail_next(tail_t *t, tail_line_t *out, int timeout_ms) {
    /* The hot path: the next line of the current source's window, no clock, no system call. */
    source_t *s = t->nslots ? t->slot[t->cur] : NULL;
    if (s && s->has_id && t->inflight < TAIL_INFLIGHT_TOTAL_MAX) {
        src_rd_t rd = {0, 0, t->ring_max};
        int r = src_next(s, &t->win, &rd, out, t->err, sizeof t->err);
        if (r == SRC_LINE) {
            t->inflight++;
            return 1;
        }
        if (r == SRC_ERR) return -1;
    }
    return next_slow(t, out, timeout_ms);
}

const char *tail_error(const tail_t *t) {
    return t->err;
}

void tail_ack(tail_t *t, uint64_t token) {
    uint64_t i = token >> SRC_SEQ_BITS;
    if (i >= t->nslots || !t->slot[i]) return; /* closed since: stale */
    uint64_t k = src_ack(t->slot[i], token & SRC_SEQ_MASK, t->o.on_settled, t->o.event_ctx);
    if (k) {
        t->inflight -= k;
        t->dirty = 1;
    }
}

void tail_tag(tail_t *t, uint64_t token, int tag) {
    uint64_t i = token >> SRC_SEQ_BITS;
    if (i < t->nslots && t->slot[i]) src_tag(t->slot[i], token & SRC_SEQ_MASK, tag);
}

void tail_rewind_all(tail_t *t) {
    for (uint32_t i = 0; i < t->nslots; i++)
        if (t->slot[i]) t->inflight -= src_rewind(t->slot[i]);
}

int64_t tail_caught_up_ms(const tail_t *t) {
    return t->caught_up;
}

int tail_marks_take(const tail_t *t, tail_marks_t *m) {
    m->n = 0;
    for (uint32_t i = 0; i < t->nslots; i++) {
        const source_t *s = t->slot[i];
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
        const source_t *s = tail_find_id(t, m->v[k].id);
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
    return t->inflight;
}

uint64_t tail_lag_bytes(const tail_t *t) {
    uint64_t lag = 0;
    for (uint32_t i = 0; i < t->nslots; i++)
        if (t->slot[i]) lag += src_lag(t->slot[i]);
    return lag;
}

int tail_nsources(const tail_t *t) {
    int n = 0;
    for (uint32_t i = 0; i < t->nslots; i++)
        n += t->slot[i] != NULL;
    return n;
}

/* Whether s would repeat an entry's src or inode: the loader refuses such a file, so it is
 * never written (it cannot happen: an open file's inode is its own, and src holds it). */
static int clashes(const posstore_ent_t *v, size_t n, const source_t *s) {
    for (size_t i = 0; i < n; i++)
        if ((v[i].dev == s->dev && v[i].ino == s->ino) || strcmp(v[i].src, s->src) == 0) return 1;
    return 0;
}

int tail_save(tail_t *t, char *err, size_t errlen) {
    if (!t->state_dir || !t->dirty) return 0;
    posstore_ent_t *v = malloc((t->nslots + t->tombs.n + 1) * sizeof *v);
    size_t n = 0;
    if (!v) {
        snprintf(err, errlen, "%s: out of memory", t->state_dir);
        return -1;
    }
    for (uint32_t i = 0; i < t->nslots; i++) {
        source_t *s = t->slot[i];
        if (!s || s->kind != SRC_FILE || !s->has_id) continue;
        /* The check hash of the bytes before the position; if they cannot be read (the file
         * shrank, truncation not yet seen), the last position checked is saved: an earlier
         * position only means lines sent again, never lines skipped. */
        uint64_t chk;
        if (s->chk_off != s->confirmed && src_chk(s->fd, s->confirmed, &chk) == 0) {
            s->chk = chk;
            s->chk_off = s->confirmed;
        }
        if (!clashes(v, n, s))
            v[n++] = (posstore_ent_t){s->src, s->path,    s->dev, s->ino, s->fp,
                                      s->gen, s->chk_off, s->chk, 0};
    }
    if (t->tombs.n) memcpy(v + n, t->tombs.v, t->tombs.n * sizeof *v);
    int rc = posstore_save(t->state_dir, v, n + t->tombs.n, err, errlen);
    free(v);
    if (rc == 0) t->dirty = 0;
    return rc;
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
    for (size_t i = 0; i < ps->n; i++) /* tombstones stay tombstones */
        if (ps->v[i].done && posstore_add(&t->tombs, &ps->v[i]) < 0) {
            snprintf(err, errlen, "%s: out of memory", t->state_dir);
            return -1;
        }
    return 0;
}

/* Makes the patterns absolute (a relative one is relative to the working directory now, not
 * to the next run's) and finds out which are globs and which is stdin. */
static int set_patterns(tail_t *t, const tail_opts_t *o, char *err, size_t errlen) {
    char cwd[POSSTORE_PATH_MAX];
    int nstdin = 0;
    t->pats = calloc((size_t)o->npaths, sizeof *t->pats);
    t->pat_glob = calloc((size_t)o->npaths, 1);
    t->pat_missing = calloc((size_t)o->npaths, 1);
    if (!t->pats || !t->pat_glob || !t->pat_missing) goto nomem;
    t->npats = o->npaths; /* entries not set yet are NULL: tail_free frees all */
    for (int i = 0; i < o->npaths; i++) {
        const char *p = o->paths[i];
        if (!p || !*p) {
            snprintf(err, errlen, "an empty PATH");
            return -1;
        }
        if (strcmp(p, "-") == 0) {
            if (nstdin++) {
                snprintf(err, errlen, "-: stdin given twice");
                return -1;
            }
            t->pats[i] = strdup(p);
        } else if (p[0] == '/') {
            t->pats[i] = strdup(p);
        } else {
            if (!getcwd(cwd, sizeof cwd)) {
                snprintf(err, errlen, "%s: cannot make it absolute: %s", p, strerror(errno));
                return -1;
            }
            if (asprintf(&t->pats[i], "%s/%s", strcmp(cwd, "/") ? cwd : "", p) < 0)
                t->pats[i] = NULL;
        }
        if (!t->pats[i]) goto nomem;
        if (strlen(t->pats[i]) >= POSSTORE_PATH_MAX) {
            snprintf(err, errlen, "%s: path too long", p);
            return -1;
        }
        t->pat_glob[i] = strpbrk(t->pats[i], "*?[") != NULL;
    }
    t->stdin_only = nstdin == o->npaths;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int add_stdin(tail_t *t, char *err, size_t errlen) {
    uint32_t i;
    source_t *s = NULL;
    if (slot_alloc(t, &i) == 0)
        s = src_new_stdin(t->o.stdin_fd, i, ++t->next_id, t->slot_seq[i], clock_wall_ms());
    if (!s) {
        snprintf(err, errlen, "-: out of memory");
        return -1;
    }
    t->slot[i] = s;
    tail_event(t, "stdin opened", s);
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
    t->lock_fd = t->ino_fd = -1;
    t->caught_up = -1;
    t->scan_wall = clock_wall_ms(); /* tscan_start below finds the files there now */
    t->poll_ms = o->poll_ms > 0 ? o->poll_ms : TAIL_POLL_MS;
    t->grace_ms = o->grace_ms > 0 ? o->grace_ms : TAIL_ROTATE_GRACE_MS;
    uint32_t want = o->inflight_max ? o->inflight_max : TAIL_INFLIGHT_MAX;
    if (want > TAIL_INFLIGHT_TOTAL_MAX) want = TAIL_INFLIGHT_TOTAL_MAX;
    for (t->ring_max = 1; t->ring_max < want; t->ring_max *= 2) {
    }
    t->win.cap = TAIL_READ_BUF;
    t->win.buf = malloc(t->win.cap);
    if (!t->win.buf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (o->npaths <= 0) {
        snprintf(err, errlen, "no PATH given");
        goto fail;
    }
    if (set_patterns(t, o, err, errlen) < 0) goto fail;
    if (o->state_dir) {
        t->state_dir = strdup(o->state_dir);
        if (!t->state_dir || open_state(t, &ps, err, errlen) < 0) goto fail;
    }
    if (!o->once) tscan_watch_init(t);
    if (tscan_start(t, &ps) < 0) {
        snprintf(err, errlen, "%s", t->err);
        goto fail;
    }
    for (int i = 0; i < t->npats; i++)
        if (strcmp(t->pats[i], "-") == 0 && add_stdin(t, err, errlen) < 0) goto fail;
    /* Saved at once: every file found is known to the next run even if this one is killed
     * within a second (a file rotated away in between is then still found and finished). */
    t->dirty = 1;
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
    for (uint32_t i = 0; i < t->nslots; i++)
        src_free(t->slot[i]);
    free(t->slot);
    free(t->slot_seq);
    for (int i = 0; i < t->npats; i++)
        free(t->pats[i]);
    free(t->pats);
    free(t->pat_glob);
    free(t->pat_missing);
    free(t->win.buf);
    free(t->state_dir);
    if (t->lock_fd >= 0) close(t->lock_fd);
    posstore_fini(&t->tombs);
    tscan_watch_free(t);
    free(t->bad);
    free(t);
}
