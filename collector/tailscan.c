/* tailscan.c: finding the files of the tail (tailscan.h): glob expansion, rename rotation,
 * deletion, truncation, resuming from the state file at start, and inotify wake-ups. What it
 * finds goes to the table of sources (srctab.h). */
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

/* ---- patterns ------------------------------------------------------------------------------ */

int tscan_init(tscan_t *sc, srctab_t *tab, const char *const *paths, int npaths, int once,
               int poll_ms, char *err, size_t errlen) {
    char cwd[POSSTORE_PATH_MAX];
    memset(sc, 0, sizeof *sc);
    sc->tab = tab;
    sc->err = err;
    sc->errlen = errlen;
    sc->once = once;
    sc->poll_ms = poll_ms;
    sc->ino_fd = -1;
    sc->pats = calloc((size_t)npaths, sizeof *sc->pats);
    sc->pat_glob = calloc((size_t)npaths, 1);
    sc->pat_missing = calloc((size_t)npaths, 1);
    if (!sc->pats || !sc->pat_glob || !sc->pat_missing) goto nomem;
    sc->npats = npaths; /* entries not set yet are NULL: tscan_fini frees all */
    for (int i = 0; i < npaths; i++) {
        const char *p = paths[i];
        if (!p || !*p) {
            snprintf(err, errlen, "an empty PATH");
            return -1;
        }
        if (strcmp(p, "-") == 0) {
            if (sc->nstdin++) {
                snprintf(err, errlen, "-: stdin given twice");
                return -1;
            }
            sc->pats[i] = strdup(p);
        } else if (p[0] == '/') {
            sc->pats[i] = strdup(p);
        } else {
            if (!getcwd(cwd, sizeof cwd)) {
                snprintf(err, errlen, "%s: cannot make it absolute: %s", p, strerror(errno));
                return -1;
            }
            if (asprintf(&sc->pats[i], "%s/%s", strcmp(cwd, "/") ? cwd : "", p) < 0)
                sc->pats[i] = NULL;
        }
        if (!sc->pats[i]) goto nomem;
        if (strlen(sc->pats[i]) >= POSSTORE_PATH_MAX) {
            snprintf(err, errlen, "%s: path too long", p);
            return -1;
        }
        sc->pat_glob[i] = strpbrk(sc->pats[i], "*?[") != NULL;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ---- inotify ----------------------------------------------------------------------------- */

static void watch_retry(tscan_t *sc) {
    for (int i = 0; i < sc->nwatches; i++)
        if (sc->watches[i].wd < 0)
            sc->watches[i].wd = inotify_add_watch(sc->ino_fd, sc->watches[i].dir, WATCH_MASK);
}

static void watch_init(tscan_t *sc) {
    sc->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (sc->ino_fd < 0) return; /* polling alone still sees everything, later */
    sc->watches = calloc((size_t)sc->npats, sizeof *sc->watches);
    if (!sc->watches) {
        close(sc->ino_fd);
        sc->ino_fd = -1;
        return;
    }
    for (int i = 0; i < sc->npats; i++) {
        if (strcmp(sc->pats[i], "-") == 0) continue;
        char *dir = dir_of(sc->pats[i]);
        int dup = !dir || strpbrk(dir, "*?[") != NULL; /* a glob directory: polled only */
        for (int k = 0; !dup && k < sc->nwatches; k++)
            dup = strcmp(sc->watches[k].dir, dir) == 0;
        if (dup) {
            free(dir);
            continue;
        }
        sc->watches[sc->nwatches++] = (tscan_watch_t){dir, -1};
    }
    watch_retry(sc);
}

void tscan_watch_drain(tscan_t *sc) {
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    if (sc->ino_fd < 0) return;
    for (;;) {
        ssize_t n = read(sc->ino_fd, buf, sizeof buf);
        if (n <= 0) return;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                /* The directory went away or moved: watch its path again at the next scan. */
                for (int i = 0; i < sc->nwatches; i++)
                    if (sc->watches[i].wd == ev->wd) {
                        if (!(ev->mask & IN_IGNORED)) inotify_rm_watch(sc->ino_fd, ev->wd);
                        sc->watches[i].wd = -1;
                    }
                sc->rescan = 1;
            } else if (ev->mask & ~(uint32_t)IN_MODIFY) {
                sc->rescan = 1; /* created, moved, deleted, attributes, or queue overflow */
            } else {
                sc->refresh = 1;
            }
            p += sizeof *ev + ev->len;
        }
    }
}

static void watch_free(tscan_t *sc) {
    for (int i = 0; i < sc->nwatches; i++)
        free(sc->watches[i].dir);
    free(sc->watches);
    if (sc->ino_fd >= 0) close(sc->ino_fd);
    sc->ino_fd = -1;
}

/* ---- following: scans and size checks ---------------------------------------------------- */

/* One path a pattern names now: marks the source that has it, or lists it as new. */
static int consider(tscan_t *sc, const char *path, int plain, start_ctx_t *start, pathlist_t *nl) {
    struct stat st;
    int e = stat(path, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? -1 : 0;
    if (e) {
        int missing = e == ENOENT || e == ENOTDIR;
        /* Not a file: a configuration error. Follow mode waits for a missing one, and tries an
         * unreadable one again at every scan (its directory's permissions may change). */
        if (start && plain && (e < 0 || sc->once)) {
            snprintf(sc->err, sc->errlen, "%s: %s", path,
                     e < 0     ? "not a regular file"
                     : missing ? "no such file"
                               : strerror(e));
            return -1;
        }
        if (e > 0 && !missing) srctab_unreadable(sc->tab, path, NULL, e);
        return missing ? C_MISSING : C_SKIP;
    }
    source_t *s = srctab_find(sc->tab, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
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
            srctab_event(sc->tab, "file back at a watched path", s);
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

static int resume(tscan_t *sc, source_t *s, start_ctx_t *start);

/* The last of the files rotated away from path and not finished: the one no other file waits
 * for (files rotated from one path form a chain, each waiting for the one before). */
static const source_t *chain_end(const tscan_t *sc, const char *path, const source_t *except) {
    const source_t *end = NULL;
    for (uint32_t i = 0; i < sc->tab->nslots; i++) {
        const source_t *o = sc->tab->slot[i];
        if (!o || o == except || o->kind != SRC_FILE || !o->detached || strcmp(o->path, path))
            continue;
        int waited_for = 0;
        for (uint32_t k = 0; k < sc->tab->nslots && !waited_for; k++)
            waited_for = sc->tab->slot[k] && sc->tab->slot[k] != except &&
                         sc->tab->slot[k]->after_id == o->id;
        if (!waited_for && (!end || o->id > end->id)) end = o;
    }
    return end;
}

/* A file that could not be opened at start and can be now: resumed at its saved position, if
 * the state file had one for it (held by the table meanwhile). */
static int resume_held(tscan_t *sc, source_t *s) {
    posstore_t *held = &sc->tab->held;
    int mine = 0;
    for (size_t i = 0; i < held->n && !mine; i++)
        mine = held->v[i].ino == s->ino;
    if (!mine) return 0; /* a new file: identified when read */
    start_ctx_t h = {held, calloc(held->n + 1, 1)};
    if (!h.used) {
        snprintf(sc->err, sc->errlen, "out of memory");
        return -1;
    }
    int r = resume(sc, s, &h);
    for (size_t i = held->n; i-- > 0;)
        if (h.used[i]) srctab_unhold(sc->tab, i);
    free(h.used);
    return r;
}

/* Opens a file found by a scan. A file that was at the same path before and was rotated away
 * is read first: the new one waits for it. A file that cannot be opened is reported, counted
 * and tried again at the next scan (--once: an error, as there is no next scan). */
static int open_new(tscan_t *sc, const char *path, start_ctx_t *start) {
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) return 0; /* gone since the scan */
        if (sc->once) {
            snprintf(sc->err, sc->errlen, "%s: %s", path, strerror(e));
            return -1;
        }
        srctab_unreadable(sc->tab, path, stat(path, &st) == 0 ? &st : NULL, e);
        return 0;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    source_t *s = srctab_find(sc->tab, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (s) { /* listed twice (two patterns), or raced with a rename */
        s->seen = 1;
        close(fd);
        return 0;
    }
    if (!(s = srctab_add_file(sc->tab, fd, path, &st))) {
        snprintf(sc->err, sc->errlen, "%s: out of memory", path);
        return -1;
    }
    const source_t *pred = chain_end(sc, path, s);
    if (pred) s->after_id = pred->id;
    return start ? resume(sc, s, start) : resume_held(sc, s); /* else "file opened" when read */
}

/* Sources that no scan found: renamed away, or deleted. Read to the end, then closed. */
static void detach_unseen(tscan_t *sc) {
    for (uint32_t i = 0; i < sc->tab->nslots; i++) {
        source_t *s = sc->tab->slot[i];
        if (!s || s->kind != SRC_FILE || s->seen || s->detached) continue;
        struct stat st;
        int deleted = fstat(s->fd, &st) == 0 && st.st_nlink == 0;
        s->detached = 1;
        srctab_event(sc->tab, deleted ? "file deleted" : "file rotated", s);
    }
}

static int scan_pattern(tscan_t *sc, int i, start_ctx_t *start, pathlist_t *nl) {
    const char *p = sc->pats[i];
    int c, found = 0;
    if (sc->pat_glob[i]) {
        glob_t g;
        if (glob(p, 0, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                found += consider(sc, g.gl_pathv[k], 0, start, nl) == C_OK;
            globfree(&g);
        }
        if (!found) found = consider(sc, p, 0, start, nl) == C_OK; /* a name with [ in it */
    } else {
        if ((c = consider(sc, p, 1, start, nl)) < 0) return -1;
        found = c == C_OK;
    }
    if (found) {
        sc->pat_missing[i] = 0;
    } else if (!sc->pat_missing[i]) {
        sc->pat_missing[i] = 1;
        srctab_event_at(sc->tab, sc->pat_glob[i] ? "no file matches" : "waiting for file", p, "",
                        0);
    }
    return 0;
}

static int scan(tscan_t *sc, start_ctx_t *start) {
    pathlist_t nl = {0};
    int rc = -1;
    for (uint32_t i = 0; i < sc->tab->nslots; i++)
        if (sc->tab->slot[i]) sc->tab->slot[i]->seen = 0;
    for (int i = 0; i < sc->npats; i++)
        if (strcmp(sc->pats[i], "-") != 0 && scan_pattern(sc, i, start, &nl) < 0) goto out;
    if (!start) detach_unseen(sc);
    for (size_t i = 0; i < nl.n; i++)
        if (open_new(sc, nl.v[i], start) < 0) goto out;
    srctab_unreadable_sweep(sc->tab);
    rc = 0;
out:
    for (size_t i = 0; i < nl.n; i++)
        free(nl.v[i]);
    free(nl.v);
    return rc;
}

static void refresh(tscan_t *sc, int64_t now) {
    for (uint32_t i = 0; i < sc->tab->nslots; i++) {
        source_t *s = sc->tab->slot[i];
        struct stat st;
        if (!s || s->kind != SRC_FILE || fstat(s->fd, &st) < 0) continue;
        uint64_t size = (uint64_t)st.st_size;
        int trunc = size < s->seen_end;
        if (!trunc && s->has_id && size != s->size) trunc = src_same_start(s) == 0;
        if (trunc) srctab_truncated(sc->tab, s);
        if (size != s->size) {
            s->size = size;
            s->grew_ms = now;
        }
        if (size > s->eof_off) s->eof = 0;
        if (st.st_nlink == 0 && !s->detached) {
            s->detached = 1;
            srctab_event(sc->tab, "file deleted", s);
        }
    }
}

int tscan_passes(tscan_t *sc, int64_t now) {
    if (now >= sc->next_scan || sc->rescan) {
        tscan_watch_drain(sc);
        sc->rescan = sc->refresh = 0;
        sc->next_scan = now + sc->poll_ms;
        watch_retry(sc);
        if (scan(sc, NULL) < 0) return -1;
        refresh(sc, now);
        return 1;
    }
    if (sc->refresh) {
        sc->refresh = 0;
        refresh(sc, now);
    }
    return 0;
}

/* ---- start: resuming from the state file --------------------------------------------------- */

/* The entry of the file s, if any: same inode, same first line, same device (or the same
 * directory: device numbers may change across reboots). */
static posstore_ent_t *match(start_ctx_t *start, const source_t *s, uint64_t fp) {
    for (size_t i = 0; i < start->ps->n; i++) {
        posstore_ent_t *e = &start->ps->v[i];
        if (e->done || start->used[i] || e->ino != s->ino || e->fp != fp) continue;
        if (e->dev == s->dev || same_dir(e->path, s->path)) {
            start->used[i] = 1;
            return e;
        }
    }
    return NULL;
}

static int resume(tscan_t *sc, source_t *s, start_ctx_t *start) {
    uint64_t fp, chk = 0;
    uint32_t len;
    int r = srctab_fingerprint(s, sc->once, &fp, &len, sc->err, sc->errlen);
    if (r <= 0) return r; /* 0: no first line yet: a new file, identified when it has one */
    posstore_ent_t *e = match(start, s, fp);
    const char *why = NULL;
    if (!e) {
        for (size_t i = 0; i < start->ps->n && !why; i++) {
            const posstore_ent_t *o = &start->ps->v[i];
            if (!o->done && !start->used[i] && o->ino == s->ino && o->dev == s->dev)
                why = "inode reused: reading the new file from 0";
        }
    } else if (e->off > s->size) {
        why = "file truncated while stopped";
    } else if (e->off > 0 && (src_chk(s->fd, e->off, &chk) < 0 || chk != e->chk)) {
        why = "file changed while stopped: reading from 0";
    } else {
        srctab_resume_at(sc->tab, s, e, fp, len);
        srctab_event(sc->tab, "file resumed", s);
        return 0;
    }
    /* A new identity, never one seen before: the old one becomes a tombstone. */
    if (e) srctab_tomb(sc->tab, e->src, e->path, s->dev, s->ino, e->fp, e->gen);
    srctab_name(sc->tab, s, fp, len);
    if (why) srctab_event(sc->tab, why, s);
    return 0;
}

/* An entry's file rotated away while we were stopped: in the same directory, under another
 * name, with the same inode, first line and bytes before the position. */
static int try_rotated(tscan_t *sc, const posstore_ent_t *e, const char *path) {
    struct stat st;
    uint64_t fp, chk = 0;
    uint32_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != e->ino ||
        srctab_find(sc->tab, (uint64_t)st.st_dev, (uint64_t)st.st_ino) ||
        (uint64_t)st.st_size < e->off || src_fingerprint(fd, 1, &fp, &len) != 1 || fp != e->fp ||
        (e->off > 0 && (src_chk(fd, e->off, &chk) < 0 || chk != e->chk))) {
        close(fd);
        return 0;
    }
    source_t *s = srctab_add_file(sc->tab, fd, path, &st);
    if (!s) {
        snprintf(sc->err, sc->errlen, "%s: out of memory", path);
        return -1;
    }
    srctab_resume_at(sc->tab, s, e, fp, len);
    s->detached = 1;
    free(s->path); /* its old path: the file now there comes after it (chain_at_start) */
    if (!(s->path = strdup(e->path))) {
        snprintf(sc->err, sc->errlen, "%s: out of memory", path);
        return -1;
    }
    srctab_event(sc->tab, "file resumed after rotation", s);
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
static void chain_at_start(tscan_t *sc) {
    aged_t *v = calloc(sc->tab->nslots + 1, sizeof *v);
    size_t n = 0;
    if (!v) return; /* read side by side then: order only, nothing is lost */
    for (uint32_t i = 0; i < sc->tab->nslots; i++) {
        source_t *s = sc->tab->slot[i];
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
        for (uint32_t k = 0; k < sc->tab->nslots; k++) {
            source_t *o = sc->tab->slot[k];
            if (o && o->kind == SRC_FILE && !o->detached && strcmp(o->path, v[i].s->path) == 0)
                o->after_id = v[i].s->id;
        }
    }
    free(v);
}

static int find_rotated(tscan_t *sc, const posstore_ent_t *e) {
    char *dir = dir_of(e->path);
    DIR *d = dir ? opendir(dir) : NULL;
    int rc = 0;
    struct dirent *de;
    while (d && rc == 0 && (de = readdir(d)) != NULL) {
        char *p;
        if ((uint64_t)de->d_ino != e->ino) continue;
        if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name) < 0) continue;
        rc = try_rotated(sc, e, p);
        free(p);
    }
    if (d) closedir(d);
    free(dir);
    return rc;
}

int tscan_start(tscan_t *sc, posstore_t *ps) {
    start_ctx_t start = {ps, calloc(ps->n + 1, 1)};
    int rc = -1;
    if (!start.used) {
        snprintf(sc->err, sc->errlen, "out of memory");
        return -1;
    }
    if (!sc->once) watch_init(sc);
    if (scan(sc, &start) < 0) goto out;
    for (size_t i = 0; i < ps->n; i++) {
        const posstore_ent_t *e = &ps->v[i];
        if (e->done || start.used[i]) continue;
        int r = srctab_hold(sc->tab, e); /* its file is there but unreadable now */
        if (r > 0) continue;
        if (r < 0) snprintf(sc->err, sc->errlen, "out of memory");
        if (r == 0) r = find_rotated(sc, e);
        if (r < 0) goto out;
        if (r == 0) { /* gone: deleted, or moved out of its directory */
            srctab_tomb(sc->tab, e->src, e->path, e->dev, e->ino, e->fp, e->gen);
            srctab_event_at(sc->tab, "position dropped: file gone", e->path, e->src, e->off);
        }
    }
    chain_at_start(sc);
    sc->next_scan = clock_mono_ms() + sc->poll_ms;
    rc = 0;
out:
    free(start.used);
    return rc;
}

void tscan_fini(tscan_t *sc) {
    for (int i = 0; i < sc->npats; i++)
        free(sc->pats[i]);
    free(sc->pats);
    free(sc->pat_glob);
    free(sc->pat_missing);
    watch_free(sc);
    memset(sc, 0, sizeof *sc);
    sc->ino_fd = -1;
}
