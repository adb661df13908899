/* tailscan.c: finding the files of the tail (tailscan.h): glob expansion, rename rotation,
 * deletion, truncation, resuming from the state file at start, and inotify wake-ups. */
#include "tailscan.h"

#include "clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK                                                                                 \
    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB |                 \
     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define BAD_MAX 1024 /* files reported as unopenable, remembered to report each once */

enum { C_OK = 0, C_MISSING = 1, C_SKIP = 2 };

/* What the start needs besides the tail: the loaded entries, and which were matched. */
typedef struct start_ctx {
    posstore_t *ps;
    uint8_t *used;
} start_ctx_t;

typedef struct pathlist {
    char **v;
    size_t n, cap;
} pathlist_t;

static void event_raw(tail_t *t, const char *event, const char *path, const char *src,
                      uint64_t off) {
    if (t->o.on_event) t->o.on_event(t->o.event_ctx, event, path, src, off);
}

/* The directory part of an absolute path. */
static char *dir_of(const char *path) {
    const char *sl = strrchr(path, '/');
    size_t n = !sl ? 0 : sl == path ? 1 : (size_t)(sl - path);
    return n ? strndup(path, n) : strdup(".");
}

static int same_dir(const char *a, const char *b) {
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return sa && sb && sa - a == sb - b && memcmp(a, b, (size_t)(sa - a)) == 0;
}

/* ---- inotify ----------------------------------------------------------------------------- */

static void watch_retry(tail_t *t) {
    for (int i = 0; i < t->nwatches; i++)
        if (t->watches[i].wd < 0)
            t->watches[i].wd = inotify_add_watch(t->ino_fd, t->watches[i].dir, WATCH_MASK);
}

void tscan_watch_init(tail_t *t) {
    t->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (t->ino_fd < 0) return; /* polling alone still sees everything, later */
    t->watches = calloc((size_t)t->npats, sizeof *t->watches);
    if (!t->watches) {
        close(t->ino_fd);
        t->ino_fd = -1;
        return;
    }
    for (int i = 0; i < t->npats; i++) {
        if (strcmp(t->pats[i], "-") == 0) continue;
        char *dir = dir_of(t->pats[i]);
        int dup = !dir || strpbrk(dir, "*?[") != NULL; /* a glob directory: polled only */
        for (int k = 0; !dup && k < t->nwatches; k++)
            dup = strcmp(t->watches[k].dir, dir) == 0;
        if (dup) {
            free(dir);
            continue;
        }
        t->watches[t->nwatches++] = (tail_watch_t){dir, -1};
    }
    watch_retry(t);
}

void tscan_watch_drain(tail_t *t) {
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    if (t->ino_fd < 0) return;
    for (;;) {
        ssize_t n = read(t->ino_fd, buf, sizeof buf);
        if (n <= 0) return;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                /* The directory went away or moved: watch its path again at the next scan. */
                for (int i = 0; i < t->nwatches; i++)
                    if (t->watches[i].wd == ev->wd) {
                        if (!(ev->mask & IN_IGNORED)) inotify_rm_watch(t->ino_fd, ev->wd);
                        t->watches[i].wd = -1;
                    }
                t->rescan = 1;
            } else if (ev->mask & ~(uint32_t)IN_MODIFY) {
                t->rescan = 1; /* created, moved, deleted, attributes, or queue overflow */
            } else {
                t->refresh = 1;
            }
            p += sizeof *ev + ev->len;
        }
    }
}

void tscan_watch_free(tail_t *t) {
    for (int i = 0; i < t->nwatches; i++)
        free(t->watches[i].dir);
    free(t->watches);
    if (t->ino_fd >= 0) close(t->ino_fd);
    t->ino_fd = -1;
}

/* ---- following: scans and size checks ---------------------------------------------------- */

/* 1 the first time this file could not be opened, 0 after (it is reported once). */
static int bad_once(tail_t *t, const struct stat *st) {
    for (size_t i = 0; i < t->nbad; i++)
        if (t->bad[i][0] == (uint64_t)st->st_dev && t->bad[i][1] == (uint64_t)st->st_ino) return 0;
    if (!t->bad) t->bad = malloc(BAD_MAX * sizeof *t->bad);
    if (t->bad && t->nbad < BAD_MAX) {
        t->bad[t->nbad][0] = (uint64_t)st->st_dev;
        t->bad[t->nbad++][1] = (uint64_t)st->st_ino;
    }
    return 1;
}

/* One path a pattern names now: marks the source that has it, or lists it as new. */
static int consider(tail_t *t, const char *path, int plain, start_ctx_t *sc, pathlist_t *nl) {
    struct stat st;
    int e = stat(path, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? -1 : 0;
    if (e) {
        int missing = e == ENOENT || e == ENOTDIR;
        if (sc && plain && (!missing || t->o.once)) { /* follow mode waits for a missing one */
            snprintf(t->err, sizeof t->err, "%s: %s", path,
                     e < 0     ? "not a regular file"
                     : missing ? "no such file"
                               : strerror(e));
            return -1;
        }
        return missing ? C_MISSING : C_SKIP;
    }
    source_t *s = tail_find(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (s) {
        s->seen = 1;
        if (strcmp(s->path, path) != 0) { /* renamed to another watched name */
            char *p = strdup(path);
            if (p) {
                free(s->path);
                s->path = p;
            }
        }
        if (s->detached) {
            s->detached = 0;
            tail_event(t, "file back at a watched path", s);
        }
        return C_OK;
    }
    if (nl->n == nl->cap) {
        size_t cap = nl->cap ? 2 * nl->cap : 16;
        char **v = realloc(nl->v, cap * sizeof *v);
        if (!v) return C_SKIP; /* found again at the next scan */
        nl->v = v;
        nl->cap = cap;
    }
    if ((nl->v[nl->n] = strdup(path)) != NULL) nl->n++;
    return C_OK;
}

static int resume(tail_t *t, source_t *s, start_ctx_t *sc);

/* The last of the files rotated away from path and not finished: the one no other file waits
 * for (files rotated from one path form a chain, each waiting for the one before). */
static const source_t *chain_end(const tail_t *t, const char *path, const source_t *except) {
    const source_t *end = NULL;
    for (uint32_t i = 0; i < t->nslots; i++) {
        const source_t *o = t->slot[i];
        if (!o || o == except || o->kind != SRC_FILE || !o->detached || strcmp(o->path, path))
            continue;
        int waited_for = 0;
        for (uint32_t k = 0; k < t->nslots && !waited_for; k++)
            waited_for = t->slot[k] && t->slot[k] != except && t->slot[k]->after_id == o->id;
        if (!waited_for && (!end || o->id > end->id)) end = o;
    }
    return end;
}

/* Opens a file found by a scan. A file that was at the same path before and was rotated away
 * is read first: the new one waits for it. */
static int open_new(tail_t *t, const char *path, start_ctx_t *sc) {
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) return 0; /* gone since the scan */
        if (sc) {
            snprintf(t->err, sizeof t->err, "%s: %s", path, strerror(e));
            return -1;
        }
        if (stat(path, &st) == 0 && bad_once(t, &st)) event_raw(t, "cannot open file", path, "", 0);
        return 0;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    source_t *s = tail_find(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (s) { /* listed twice (two patterns), or raced with a rename */
        s->seen = 1;
        close(fd);
        return 0;
    }
    if (!(s = tail_add_file(t, fd, path, &st))) {
        snprintf(t->err, sizeof t->err, "%s: out of memory", path);
        return -1;
    }
    const source_t *pred = chain_end(t, path, s);
    if (pred) s->after_id = pred->id;
    return sc ? resume(t, s, sc) : 0; /* identified when read: "file opened" */
}

/* Sources that no scan found: renamed away, or deleted. Read to the end, then closed. */
static void detach_unseen(tail_t *t) {
    for (uint32_t i = 0; i < t->nslots; i++) {
        source_t *s = t->slot[i];
        if (!s || s->kind != SRC_FILE || s->seen || s->detached) continue;
        struct stat st;
        int deleted = fstat(s->fd, &st) == 0 && st.st_nlink == 0;
        s->detached = 1;
        tail_event(t, deleted ? "file deleted" : "file rotated", s);
    }
}

static int scan_pattern(tail_t *t, int i, start_ctx_t *sc, pathlist_t *nl) {
    const char *p = t->pats[i];
    int c, found = 0;
    if (t->pat_glob[i]) {
        glob_t g;
        if (glob(p, 0, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                found += consider(t, g.gl_pathv[k], 0, sc, nl) == C_OK;
            globfree(&g);
        }
        if (!found) found = consider(t, p, 0, sc, nl) == C_OK; /* a name with [ in it */
    } else {
        if ((c = consider(t, p, 1, sc, nl)) < 0) return -1;
        found = c == C_OK;
    }
    if (found) {
        t->pat_missing[i] = 0;
    } else if (!t->pat_missing[i]) {
        t->pat_missing[i] = 1;
        event_raw(t, t->pat_glob[i] ? "no file matches" : "waiting for file", p, "", 0);
    }
    return 0;
}

static int scan(tail_t *t, start_ctx_t *sc) {
    pathlist_t nl = {0};
    int rc = -1;
    for (uint32_t i = 0; i < t->nslots; i++)
        if (t->slot[i]) t->slot[i]->seen = 0;
    for (int i = 0; i < t->npats; i++)
        if (strcmp(t->pats[i], "-") != 0 && scan_pattern(t, i, sc, &nl) < 0) goto out;
    if (!sc) detach_unseen(t);
    for (size_t i = 0; i < nl.n; i++)
        if (open_new(t, nl.v[i], sc) < 0) goto out;
    rc = 0;
out:
    for (size_t i = 0; i < nl.n; i++)
        free(nl.v[i]);
    free(nl.v);
    return rc;
}

/* The file shrank, or starts with another first line: copytruncate. Lines in flight keep their
 * old src; reading starts again at 0 under a new src (gen + 1). */
void tscan_truncated(tail_t *t, source_t *s) {
    if (s->has_id) tail_tomb(t, s->src, s->path, s->dev, s->ino, s->fp, s->gen);
    tail_event(t, "file truncated", s);
    t->inflight -= src_truncated(s);
    if (t->win.owner == s) t->win.owner = NULL;
    t->dirty = 1;
}

static void refresh(tail_t *t, int64_t now) {
    for (uint32_t i = 0; i < t->nslots; i++) {
        source_t *s = t->slot[i];
        struct stat st;
        if (!s || s->kind != SRC_FILE || fstat(s->fd, &st) < 0) continue;
        uint64_t size = (uint64_t)st.st_size;
        int trunc = size < s->seen_end;
        if (!trunc && s->has_id && size != s->size) trunc = src_same_start(s) == 0;
        if (trunc) tscan_truncated(t, s);
        if (size != s->size) {
            s->size = size;
            s->grew_ms = now;
        }
        if (size > s->eof_off) s->eof = 0;
        if (st.st_nlink == 0 && !s->detached) {
            s->detached = 1;
            tail_event(t, "file deleted", s);
        }
    }
}

int tscan_passes(tail_t *t, int64_t now) {
    if (now >= t->next_scan || t->rescan) {
        tscan_watch_drain(t);
        t->rescan = t->refresh = 0;
        t->next_scan = now + t->poll_ms;
        watch_retry(t);
        if (scan(t, NULL) < 0) return -1;
        refresh(t, now);
    } else if (t->refresh) {
        t->refresh = 0;
        refresh(t, now);
    }
    return 0;
}

/* ---- start: resuming from the state file --------------------------------------------------- */

/* Continues s where entry e left off (identity checked by the caller). */
static void resume_at(tail_t *t, source_t *s, const posstore_ent_t *e, uint64_t fp,
                      uint32_t fp_len) {
    size_t n = strlen(e->src);
    memcpy(s->src, e->src, n + 1); /* n <= HIT_STR_MAX: posstore checks */
    s->src_len = n;
    s->fp = fp;
    s->fp_len = fp_len;
    s->gen = e->gen;
    s->has_id = 1;
    s->rd_off = s->confirmed = s->hw = s->seen_end = s->scan_off = e->off;
    s->chk = e->chk;
    s->chk_off = e->off;
    /* The last run handed out an unterminated last line (--once, or a finished file) and the
     * file went on since: the rest of that line is not a line of its own. */
    char c;
    if (e->off > 0 && pread(s->fd, &c, 1, (off_t)e->off - 1) == 1 && c != '\n') s->resync = 1;
    t->dirty = 1;
}

/* The entry of the file s, if any: same inode, same first line, same device (or the same
 * directory: device numbers may change across reboots). */
static posstore_ent_t *match(start_ctx_t *sc, const source_t *s, uint64_t fp) {
    for (size_t i = 0; i < sc->ps->n; i++) {
        posstore_ent_t *e = &sc->ps->v[i];
        if (e->done || sc->used[i] || e->ino != s->ino || e->fp != fp) continue;
        if (e->dev == s->dev || same_dir(e->path, s->path)) {
            sc->used[i] = 1;
            return e;
        }
    }
    return NULL;
}

static int resume(tail_t *t, source_t *s, start_ctx_t *sc) {
    uint64_t fp, chk = 0;
    uint32_t len;
    int r = src_fingerprint(s->fd, t->o.once, &fp, &len);
    if (r < 0) {
        snprintf(t->err, sizeof t->err, "%s: read: %s", s->path, strerror(errno));
        return -1;
    }
    if (r == 0) { /* no first line yet: a new file, identified when it has one */
        s->eof = 1;
        s->eof_off = s->size;
        return 0;
    }
    posstore_ent_t *e = match(sc, s, fp);
    const char *why = NULL;
    if (!e) {
        for (size_t i = 0; i < sc->ps->n && !why; i++) {
            const posstore_ent_t *o = &sc->ps->v[i];
            if (!o->done && !sc->used[i] && o->ino == s->ino && o->dev == s->dev)
                why = "inode reused: reading the new file from 0";
        }
    } else if (e->off > s->size) {
        why = "file truncated while stopped";
    } else if (e->off > 0 && (src_chk(s->fd, e->off, &chk) < 0 || chk != e->chk)) {
        why = "file changed while stopped: reading from 0";
    } else {
        resume_at(t, s, e, fp, len);
        tail_event(t, "file resumed", s);
        return 0;
    }
    /* A new identity, never one seen before: the old one becomes a tombstone. */
    if (e) tail_tomb(t, e->src, e->path, s->dev, s->ino, e->fp, e->gen);
    if (tail_identify(t, s, t->o.once) < 0) return -1;
    if (why) tail_event(t, why, s);
    return 0;
}

/* An entry's file rotated away while we were stopped: in the same directory, under another
 * name, with the same inode, first line and bytes before the position. */
static int try_rotated(tail_t *t, const posstore_ent_t *e, const char *path) {
    struct stat st;
    uint64_t fp, chk = 0;
    uint32_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != e->ino ||
        tail_find(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino) || (uint64_t)st.st_size < e->off ||
        src_fingerprint(fd, 1, &fp, &len) != 1 || fp != e->fp ||
        (e->off > 0 && (src_chk(fd, e->off, &chk) < 0 || chk != e->chk))) {
        close(fd);
        return 0;
    }
    source_t *s = tail_add_file(t, fd, path, &st);
    if (!s) {
        snprintf(t->err, sizeof t->err, "%s: out of memory", path);
        return -1;
    }
    resume_at(t, s, e, fp, len);
    s->detached = 1;
    free(s->path); /* its old path: the file now there comes after it (chain_at_start) */
    if (!(s->path = strdup(e->path))) {
        snprintf(t->err, sizeof t->err, "%s: out of memory", path);
        return -1;
    }
    tail_event(t, "file resumed after rotation", s);
    return 1;
}

typedef struct aged {
    source_t *s;
    int64_t mtime_ns; /* of the last write */
} aged_t;

static int by_path_then_age(const void *a, const void *b) {
    const aged_t *x = a, *y = b;
    int c = strcmp(x->s->path, y->s->path);
    if (c) return c;
    return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

/* The files found rotated away at start are read oldest first (by the time of their last
 * write), then the file now at their path: each waits for the one before. */
static void chain_at_start(tail_t *t) {
    aged_t *v = calloc(t->nslots + 1, sizeof *v);
    size_t n = 0;
    if (!v) return; /* read side by side then: order only, nothing is lost */
    for (uint32_t i = 0; i < t->nslots; i++) {
        source_t *s = t->slot[i];
        struct stat st;
        if (!s || s->kind != SRC_FILE || !s->detached || fstat(s->fd, &st) < 0) continue;
        v[n++] = (aged_t){s, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec};
    }
    qsort(v, n, sizeof *v, by_path_then_age);
    for (size_t i = 0; i < n; i++) {
        int last = i + 1 == n || strcmp(v[i + 1].s->path, v[i].s->path) != 0;
        if (!last) {
            v[i + 1].s->after_id = v[i].s->id;
            continue;
        }
        for (uint32_t k = 0; k < t->nslots; k++) {
            source_t *o = t->slot[k];
            if (o && o->kind == SRC_FILE && !o->detached && strcmp(o->path, v[i].s->path) == 0)
                o->after_id = v[i].s->id;
        }
    }
    free(v);
}

static int find_rotated(tail_t *t, const posstore_ent_t *e) {
    char *dir = dir_of(e->path);
    DIR *d = dir ? opendir(dir) : NULL;
    int rc = 0;
    struct dirent *de;
    while (d && rc == 0 && (de = readdir(d)) != NULL) {
        char *p;
        if ((uint64_t)de->d_ino != e->ino) continue;
        if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name) < 0) continue;
        rc = try_rotated(t, e, p);
        free(p);
    }
    if (d) closedir(d);
    free(dir);
    return rc;
}

int tscan_start(tail_t *t, posstore_t *ps) {
    start_ctx_t sc = {ps, calloc(ps->n + 1, 1)};
    int rc = -1;
    if (!sc.used) {
        snprintf(t->err, sizeof t->err, "out of memory");
        return -1;
    }
    if (scan(t, &sc) < 0) goto out;
    for (size_t i = 0; i < ps->n; i++) {
        const posstore_ent_t *e = &ps->v[i];
        if (e->done || sc.used[i]) continue;
        int r = find_rotated(t, e);
        if (r < 0) goto out;
        if (r == 0) { /* gone: deleted, or moved out of its directory */
            tail_tomb(t, e->src, e->path, e->dev, e->ino, e->fp, e->gen);
            event_raw(t, "position dropped: file gone", e->path, e->src, e->off);
        }
    }
    chain_at_start(t);
    t->next_scan = clock_mono_ms() + t->poll_ms;
    rc = 0;
out:
    free(sc.used);
    return rc;
}
