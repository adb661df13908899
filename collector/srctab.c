/* srctab.c: the table of open sources, their identities and their lines in flight (srctab.h). */
#include "srctab.h"

#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct srctab_bad {
    char *path;
    uint64_t dev, ino; /* 0, 0: not even stat() worked */
    int now;           /* reported unreadable by the scan under way */
};

int srctab_init(srctab_t *tab, tail_event_fn on_event, void *event_ctx) {
    memset(tab, 0, sizeof *tab);
    posstore_init(&tab->tombs);
    tab->on_event = on_event;
    tab->event_ctx = event_ctx;
    tab->dirty = 1; /* never written: the first save writes, even an empty table */
    tab->win.cap = TAIL_READ_BUF;
    tab->win.buf = malloc(tab->win.cap);
    return tab->win.buf ? 0 : -1;
}

void srctab_fini(srctab_t *tab) {
    for (uint32_t i = 0; i < tab->nslots; i++)
        src_free(tab->slot[i]);
    free(tab->slot);
    free(tab->slot_seq);
    free(tab->win.buf);
    posstore_fini(&tab->tombs);
    for (size_t i = 0; i < tab->nbad; i++)
        free(tab->bad[i].path);
    free(tab->bad);
    posstore_fini(&tab->held);
    memset(tab, 0, sizeof *tab);
}

void srctab_event_at(const srctab_t *tab, const char *event, const char *path, const char *src,
                     uint64_t off) {
    if (tab->on_event) tab->on_event(tab->event_ctx, event, path, src, off);
}

void srctab_event(const srctab_t *tab, const char *event, const source_t *s) {
    srctab_event_at(tab, event, s->path, s->src, s->rd_off);
}

/* ---- opening, finding, closing ------------------------------------------------------------- */

source_t *srctab_find(const srctab_t *tab, uint64_t dev, uint64_t ino) {
    for (uint32_t i = 0; i < tab->nslots; i++) {
        source_t *s = tab->slot[i];
        if (s && s->kind == SRC_FILE && s->dev == dev && s->ino == ino) return s;
    }
    return NULL;
}

source_t *srctab_find_id(const srctab_t *tab, uint64_t id) {
    for (uint32_t i = 0; i < tab->nslots; i++)
        if (tab->slot[i] && tab->slot[i]->id == id) return tab->slot[i];
    return NULL;
}

/* A free slot (growing the table); SRC_SLOTS_MAX bounds it, as tokens carry 20 bits of it. */
static int slot_alloc(srctab_t *tab, uint32_t *out) {
    for (uint32_t i = 0; i < tab->nslots; i++)
        if (!tab->slot[i]) {
            *out = i;
            return 0;
        }
    if (tab->nslots == SRC_SLOTS_MAX) return -1;
    if (tab->nslots == tab->slot_cap) {
        uint32_t cap = tab->slot_cap ? 2 * tab->slot_cap : 16;
        source_t **s = realloc(tab->slot, cap * sizeof *s);
        if (!s) return -1;
        tab->slot = s;
        uint64_t *q = realloc(tab->slot_seq, cap * sizeof *q);
        if (!q) return -1;
        tab->slot_seq = q;
        tab->slot_cap = cap;
    }
    tab->slot[tab->nslots] = NULL;
    tab->slot_seq[tab->nslots] = 0;
    *out = tab->nslots++;
    return 0;
}

source_t *srctab_add_file(srctab_t *tab, int fd, const char *path, const struct stat *st) {
    uint32_t i;
    source_t *s = NULL;
    if (slot_alloc(tab, &i) == 0) s = src_new_file(fd, path, i, ++tab->next_id, tab->slot_seq[i]);
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
    tab->slot[i] = s;
    return s;
}

source_t *srctab_add_stdin(srctab_t *tab, int fd, int64_t start_ms) {
    uint32_t i;
    source_t *s = NULL;
    if (slot_alloc(tab, &i) == 0)
        s = src_new_stdin(fd, i, ++tab->next_id, tab->slot_seq[i], start_ms);
    if (!s) return NULL;
    tab->slot[i] = s;
    srctab_event(tab, "stdin opened", s);
    return s;
}

/* s forgot its n lines in flight (closed or truncated): they leave the count, the window no
 * longer holds s's bytes, and the positions to save changed. */
static void forgot(srctab_t *tab, const source_t *s, uint64_t n) {
    tab->inflight -= n;
    if (tab->win.owner == s) tab->win.owner = NULL;
    tab->dirty = 1;
}

void srctab_close(srctab_t *tab, source_t *s) {
    tab->slot_seq[s->slot] = s->next; /* the next occupant's seqs follow: old tokens stay stale */
    tab->slot[s->slot] = NULL;
    forgot(tab, s, src_inflight(s));
    src_free(s);
}

void srctab_truncated(srctab_t *tab, source_t *s) {
    if (s->has_id) srctab_tomb(tab, s->src, s->path, s->dev, s->ino, s->fp, s->gen);
    srctab_event(tab, "file truncated", s);
    forgot(tab, s, src_truncated(s));
}

int srctab_count(const srctab_t *tab) {
    int n = 0;
    for (uint32_t i = 0; i < tab->nslots; i++)
        n += tab->slot[i] != NULL;
    return n;
}

/* ---- identities ---------------------------------------------------------------------------- */

int srctab_fingerprint(source_t *s, int final, uint64_t *fp, uint32_t *fp_len, char *err,
                       size_t errlen) {
    int r = src_fingerprint(s->fd, final, fp, fp_len);
    if (r < 0) {
        snprintf(err, errlen, "%s: read: %s", s->path, strerror(errno));
        return -1;
    }
    if (r == 0) { /* wait for a complete first line: until the size grows */
        s->eof = 1;
        s->eof_off = s->size;
    }
    return r;
}

void srctab_name(srctab_t *tab, source_t *s, uint64_t fp, uint32_t fp_len) {
    /* A new identity never repeats a src seen before: one more than any finished file with the
     * same inode and first line (inode reused, or the file truncated and rewritten alike). */
    uint32_t gen = s->gen_min;
    for (size_t i = 0; i < tab->tombs.n; i++) {
        const posstore_ent_t *e = &tab->tombs.v[i];
        if (e->dev == s->dev && e->ino == s->ino && e->fp == fp && e->gen >= gen) gen = e->gen + 1;
    }
    src_set_id(s, s->path, fp, fp_len, gen);
    tab->dirty = 1;
    srctab_event(tab, "file opened", s);
}

int srctab_identify(srctab_t *tab, source_t *s, int final, char *err, size_t errlen) {
    uint64_t fp;
    uint32_t len;
    int r = srctab_fingerprint(s, final, &fp, &len, err, errlen);
    if (r == 1) srctab_name(tab, s, fp, len);
    return r;
}

void srctab_resume_at(srctab_t *tab, source_t *s, const posstore_ent_t *e, uint64_t fp,
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
    tab->dirty = 1;
}

void srctab_tomb(srctab_t *tab, const char *src, const char *path, uint64_t dev, uint64_t ino,
                 uint64_t fp, uint32_t gen) {
    posstore_t *ps = &tab->tombs;
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
    tab->dirty = 1;
}

int srctab_keep_tombs(srctab_t *tab, const posstore_t *ps) {
    for (size_t i = 0; i < ps->n; i++) /* tombstones stay tombstones */
        if (ps->v[i].done && posstore_add(&tab->tombs, &ps->v[i]) < 0) return -1;
    return 0;
}

/* ---- files that cannot be opened -------------------------------------------------------- */

void srctab_unreadable(srctab_t *tab, const char *path, const struct stat *st, int e) {
    uint64_t dev = st ? (uint64_t)st->st_dev : 0, ino = st ? (uint64_t)st->st_ino : 0;
    for (size_t i = 0; i < tab->nbad; i++) {
        struct srctab_bad *o = &tab->bad[i];
        /* The same file: by inode when known (renamed by a rotation: not reported again). */
        if (ino ? o->ino != ino || o->dev != dev : o->ino || strcmp(o->path, path)) continue;
        char *p = strcmp(o->path, path) ? strdup(path) : NULL;
        if (p) {
            free(o->path);
            o->path = p;
        }
        o->now = 1;
        return;
    }
    /* A new one: reported and counted even if it cannot be remembered (then again next scan). */
    tab->open_failures++;
    if (tab->on_warn) tab->on_warn(tab->event_ctx, "cannot open file", path, strerror(e));
    if (tab->nbad == tab->bad_cap) {
        size_t cap = tab->bad_cap ? 2 * tab->bad_cap : 8;
        struct srctab_bad *v = realloc(tab->bad, cap * sizeof *v);
        if (!v) return;
        tab->bad = v;
        tab->bad_cap = cap;
    }
    char *p = strdup(path);
    if (p) tab->bad[tab->nbad++] = (struct srctab_bad){p, dev, ino, 1};
}

static int same_dir(const char *a, const char *b) {
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return sa && sb && sa - a == sb - b && memcmp(a, b, (size_t)(sa - a)) == 0;
}

/* The unreadable file that is e's: same inode, same device (or directory: device numbers may
 * change across reboots). */
static int bad_has(const srctab_t *tab, const posstore_ent_t *e) {
    for (size_t i = 0; i < tab->nbad; i++) {
        const struct srctab_bad *b = &tab->bad[i];
        if (b->ino && b->ino == e->ino && (b->dev == e->dev || same_dir(b->path, e->path)))
            return 1;
    }
    return 0;
}

void srctab_unreadable_sweep(srctab_t *tab) {
    size_t k = 0;
    for (size_t i = 0; i < tab->nbad; i++) {
        if (tab->bad[i].now) {
            tab->bad[i].now = 0;
            tab->bad[k++] = tab->bad[i];
        } else {
            free(tab->bad[i].path);
        }
    }
    tab->nbad = k;
    for (size_t i = tab->held.n; i-- > 0;) {
        const posstore_ent_t *e = &tab->held.v[i];
        if (bad_has(tab, e)) continue;
        srctab_tomb(tab, e->src, e->path, e->dev, e->ino, e->fp, e->gen);
        srctab_event_at(tab, "position dropped: file gone", e->path, e->src, e->off);
        srctab_unhold(tab, i);
    }
}

int srctab_hold(srctab_t *tab, const posstore_ent_t *e) {
    if (!bad_has(tab, e)) return 0;
    if (posstore_add(&tab->held, e) < 0) return -1;
    srctab_event_at(tab, "file unreadable: position kept", e->path, e->src, e->off);
    return 1;
}

void srctab_unhold(srctab_t *tab, size_t i) {
    posstore_t *ps = &tab->held;
    free(ps->v[i].src);
    free(ps->v[i].path);
    memmove(ps->v + i, ps->v + i + 1, (ps->n - i - 1) * sizeof *ps->v);
    ps->n--;
    tab->dirty = 1;
}

size_t srctab_nunreadable(const srctab_t *tab) {
    return tab->nbad;
}

/* ---- lines in flight ------------------------------------------------------------------------ */

int srctab_next(srctab_t *tab, source_t *s, const src_rd_t *rd, tail_line_t *out, char *err,
                size_t errlen) {
    int r = src_next(s, &tab->win, rd, out, err, errlen);
    if (r == SRC_LINE) tab->inflight++;
    if (s->moved) { /* resynced: the position moved without an ack */
        s->moved = 0;
        tab->dirty = 1;
    }
    return r;
}

void srctab_ack(srctab_t *tab, uint64_t token, tail_settled_fn settled, void *ctx) {
    uint64_t i = token >> SRC_SEQ_BITS;
    if (i >= tab->nslots || !tab->slot[i]) return; /* closed since: stale */
    uint64_t k = src_ack(tab->slot[i], token & SRC_SEQ_MASK, settled, ctx);
    if (k) {
        tab->inflight -= k;
        tab->dirty = 1;
    }
}

void srctab_tag(srctab_t *tab, uint64_t token, int tag) {
    uint64_t i = token >> SRC_SEQ_BITS;
    if (i < tab->nslots && tab->slot[i]) src_tag(tab->slot[i], token & SRC_SEQ_MASK, tag);
}

void srctab_rewind_all(srctab_t *tab) {
    for (uint32_t i = 0; i < tab->nslots; i++)
        if (tab->slot[i]) tab->inflight -= src_rewind(tab->slot[i]);
}

uint64_t srctab_lag(const srctab_t *tab) {
    uint64_t lag = 0;
    for (uint32_t i = 0; i < tab->nslots; i++)
        if (tab->slot[i]) lag += src_lag(tab->slot[i]);
    return lag;
}

/* ---- positions ------------------------------------------------------------------------------ */

/* Whether s would repeat an entry's src or inode: the loader refuses such a file, so it is
 * never written (it cannot happen: an open file's inode is its own, and src holds it). */
static int clashes(const posstore_ent_t *v, size_t n, const source_t *s) {
    for (size_t i = 0; i < n; i++)
        if ((v[i].dev == s->dev && v[i].ino == s->ino) || strcmp(v[i].src, s->src) == 0) return 1;
    return 0;
}

static int clashes_ent(const posstore_ent_t *v, size_t n, const posstore_ent_t *e) {
    for (size_t i = 0; i < n; i++)
        if ((v[i].dev == e->dev && v[i].ino == e->ino) || strcmp(v[i].src, e->src) == 0) return 1;
    return 0;
}

int srctab_save(srctab_t *tab, const char *state_dir, char *err, size_t errlen) {
    if (!tab->dirty) return 0;
    posstore_ent_t *v = malloc((tab->nslots + tab->held.n + tab->tombs.n + 1) * sizeof *v);
    size_t n = 0;
    if (!v) {
        snprintf(err, errlen, "%s: out of memory", state_dir);
        return -1;
    }
    for (uint32_t i = 0; i < tab->nslots; i++) {
        source_t *s = tab->slot[i];
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
    for (size_t i = 0; i < tab->held.n; i++) /* files unreadable now keep their positions */
        if (!clashes_ent(v, n, &tab->held.v[i])) v[n++] = tab->held.v[i];
    if (tab->tombs.n) memcpy(v + n, tab->tombs.v, tab->tombs.n * sizeof *v);
    int rc = posstore_save(state_dir, v, n + tab->tombs.n, err, errlen);
    free(v);
    if (rc == 0) tab->dirty = 0;
    return rc;
}
