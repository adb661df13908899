/* srctab.h: the tail's table of open sources (tail.h): every file and stdin being read, the
 * read window they share, the count of their lines in flight, and the identities of finished
 * files (tombstones).
 *
 * The table is the one place that opens, finds, names, truncates and closes a source, and the
 * one place that counts lines in flight: tailscan.c finds files and hands them to the table,
 * tail.c reads lines through it and hands it the acks; the table calls neither. A slot's tokens
 * stay stale once its source is closed (slot_seq), and a file's identity never repeats a src
 * given before (tombs).
 *
 * Internal to the tail module: the collector uses tail.h only. */
#ifndef SRCTAB_H
#define SRCTAB_H

#include "posstore.h"
#include "source.h"
#include "taildefs.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct srctab {
    source_t **slot;    /* open sources; NULL for a free slot */
    uint64_t *slot_seq; /* next seq of each slot, kept across occupants: old tokens stay stale */
    uint32_t nslots, slot_cap;
    src_win_t win; /* the shared read window; its owner is an open source, or NULL */
    /* Lines handed out and not yet confirmed, in all sources: always the sum of
     * src_inflight() over the open sources. Only srctab.c changes it, in step with every call
     * that changes a source's ring (a line handed out, acked, rewound, truncated, closed). */
    uint64_t inflight;
    uint64_t next_id;       /* the last source id given: ids are never reused, slots are */
    int dirty;              /* what srctab_save() writes changed since it last wrote */
    posstore_t tombs;       /* identities finished or dropped: done entries, oldest first */
    tail_event_fn on_event; /* may be NULL */
    tail_warn_fn on_warn;   /* may be NULL */
    void *event_ctx;
    /* Files a pattern matches that cannot be opened now (srctab_unreadable), and the saved
     * positions of those among them the state file knew (held until they can be opened, and
     * saved meanwhile: the file resumes there, not at 0 under a new src). */
    struct srctab_bad *bad;
    size_t nbad, bad_cap;
    posstore_t held;
    uint64_t open_failures; /* files that turned unreadable: each counted once, as reported */
} srctab_t;

/* An empty table whose events go to on_event (may be NULL), dirty: its first srctab_save()
 * writes. 0, or -1 when out of memory. */
int srctab_init(srctab_t *tab, tail_event_fn on_event, void *event_ctx);
/* Frees every source, the window and the tombstones. */
void srctab_fini(srctab_t *tab);

/* ---- events, for the log (taildefs.h lists them) ------------------------------------------- */

void srctab_event_at(const srctab_t *tab, const char *event, const char *path, const char *src,
                     uint64_t off);
/* An event of s: its path, src and read position. */
void srctab_event(const srctab_t *tab, const char *event, const source_t *s);

/* ---- opening, finding, closing ------------------------------------------------------------- */

/* The open file (not stdin) with this inode, or NULL. */
source_t *srctab_find(const srctab_t *tab, uint64_t dev, uint64_t ino);
/* The open source of this id, or NULL (closed). */
source_t *srctab_find_id(const srctab_t *tab, uint64_t id);
/* A new file source for fd (taken over) at path, not identified yet; NULL when out of memory
 * (fd closed). */
source_t *srctab_add_file(srctab_t *tab, int fd, const char *path, const struct stat *st);
/* The stdin source reading fd; NULL when out of memory. Reports "stdin opened". */
source_t *srctab_add_stdin(srctab_t *tab, int fd, int64_t start_ms);
/* Closes s and frees it: its lines in flight are forgotten (their tokens become stale). */
void srctab_close(srctab_t *tab, source_t *s);
/* s was truncated (copytruncate), or starts with another first line: its identity becomes a
 * tombstone and reading starts again at 0 under a new src (gen + 1); lines in flight keep their
 * old src and are forgotten. Reports "file truncated". */
void srctab_truncated(srctab_t *tab, source_t *s);
int srctab_count(const srctab_t *tab); /* sources open now */

/* ---- identities ---------------------------------------------------------------------------- */

/* The fingerprint of s's first line (src_fingerprint): 1 with *fp and *fp_len; 0 when it has no
 * complete first line yet (s then waits at its end until it grows); -1 on a read error (err). */
int srctab_fingerprint(source_t *s, int final, uint64_t *fp, uint32_t *fp_len, char *err,
                       size_t errlen);
/* Gives s a new identity from its fingerprint: a gen above every tombstone of the same inode and
 * first line, so that no src repeats. Reports "file opened". */
void srctab_name(srctab_t *tab, source_t *s, uint64_t fp, uint32_t fp_len);
/* Fingerprint, then name: 1 identified, 0 not yet, -1 on a read error (err). */
int srctab_identify(srctab_t *tab, source_t *s, int final, char *err, size_t errlen);
/* Gives s the saved identity e (checked by the caller: same file, same bytes before e->off)
 * and continues at e's position. */
void srctab_resume_at(srctab_t *tab, source_t *s, const posstore_ent_t *e, uint64_t fp,
                      uint32_t fp_len);
/* Remembers a finished identity, so that it is never given again. */
void srctab_tomb(srctab_t *tab, const char *src, const char *path, uint64_t dev, uint64_t ino,
                 uint64_t fp, uint32_t gen);
/* Keeps the tombstones (done entries) of a loaded state file. 0, or -1 when out of memory. */
int srctab_keep_tombs(srctab_t *tab, const posstore_t *ps);

/* ---- lines in flight ------------------------------------------------------------------------ */

/* The next line of s (src_next over the shared window), counted in flight when handed out. */
int srctab_next(srctab_t *tab, source_t *s, const src_rd_t *rd, tail_line_t *out, char *err,
                size_t errlen);
/* Kafka confirmed the line of token; a token of a closed slot or an old seq is ignored. */
void srctab_ack(srctab_t *tab, uint64_t token, tail_settled_fn settled, void *ctx);
void srctab_tag(srctab_t *tab, uint64_t token, int tag);
/* Every source back to its confirmed position; nothing is in flight after. */
void srctab_rewind_all(srctab_t *tab);
uint64_t srctab_lag(const srctab_t *tab); /* bytes beyond the confirmed positions, in all */

/* ---- files that cannot be opened -------------------------------------------------------- */

/* path (st: its stat, NULL if even that failed) could not be opened, with errno e. The first
 * time (or the first since it was readable or gone): reported to on_warn and counted. A file
 * is known by its inode (by its path if stat failed): renamed, it is not reported again. */
void srctab_unreadable(srctab_t *tab, const char *path, const struct stat *st, int e);
/* The end of a scan: files not reported unreadable by it are forgotten (opened, or gone), and
 * held positions whose file is no longer among the unreadable ones are dropped (tombstones):
 * opened files took theirs already (srctab_unhold). */
void srctab_unreadable_sweep(srctab_t *tab);
/* At start: keeps the saved entry e if its file is one of the unreadable ones (same inode, same
 * device or directory). 1 kept ("file unreadable: position kept"), 0 not, -1 out of memory. */
int srctab_hold(srctab_t *tab, const posstore_ent_t *e);
/* Removes the held entry i (its file was opened and resumed, or dropped). */
void srctab_unhold(srctab_t *tab, size_t i);
size_t srctab_nunreadable(const srctab_t *tab); /* files that cannot be opened now */

/* ---- positions ------------------------------------------------------------------------------ */

/* Writes every identified file's confirmed position and the tombstones to state_dir, if
 * anything changed since the last save. 0, or -1 with err. */
int srctab_save(srctab_t *tab, const char *state_dir, char *err, size_t errlen);

#endif
