/* tail.h: the collector's reader of log files: follows paths and globs as `tail -F` does, and
 * guarantees that no line is lost or skipped.
 *
 * Each file (or stdin) is a source with a stable id, `src`, that names its lines for ever
 * together with their byte offset `off`. Every line handed out carries a token; the caller
 * passes it to Kafka as the message's opaque and calls tail_ack() when the broker confirms the
 * delivery. A file's read position advances only past lines confirmed without a gap, and that
 * position is what tail_save() writes to the state directory: after a crash the next run starts
 * there, so a line is published at least once and, sent again, carries the same (src, off).
 *
 * Files are told apart by (device, inode) and a fingerprint of their first line: inodes are
 * reused after a delete, and a store keyed by inode alone would skip or repeat data. src is
 * "PATH:INODE:FP:GEN" (PATH where the file was first seen, FP 16 hex digits, GEN the number of
 * truncations seen), stdin's is "-:stdin:START_MS" (not resumable).
 *
 * Follow mode: paths and globs are expanded again every TAIL_POLL_MS (and on inotify events of
 * their directories). A file renamed away (rotation) or deleted is read to its end, kept until it
 * has not grown for TAIL_ROTATE_GRACE_MS and every line is confirmed, then closed; a new file at
 * its path starts once the old one has been read to the end it had when the rotation was seen
 * (the old file first, then the new one; late writes to the old file still follow, within the
 * grace period, without holding the new file back). A file that shrinks
 * (copytruncate) starts again at 0 under a new src; lines written to it and truncated before
 * they were read are lost, which is inherent to copytruncate. Files seen for the first time are
 * read from offset 0: billing needs every line.
 *
 * Memory is bounded: at most TAIL_INFLIGHT_MAX unconfirmed lines per source and
 * TAIL_INFLIGHT_TOTAL_MAX in all; at the bound tail_next() hands out nothing (backpressure: when
 * Kafka is slow or away, reading stops). Reading is pread() of TAIL_READ_BUF bytes and memchr:
 * no system call and no allocation per line.
 *
 * At start, a file whose (inode, first line) has a saved position resumes there, if the bytes
 * just before it are still the same (else the inode was reused, or the file rewritten: it is
 * read from 0 under a new src). A saved file no longer at its path is looked for in the same
 * directory (rotated while we were stopped) and finished first; one that is there but cannot be
 * opened keeps its position until it can (tail_new). Known limits: a file created
 * and rotated away entirely while the collector was stopped is not seen (as with tail -F); a
 * file moved to another directory while stopped is dropped; a glob that also matches compressed
 * rotations (access.log*) reads them as text. A state file that is not exactly what we write
 * refuses the start ("FILE:LINE: reason"): guessing positions would skip or repeat lines.
 *
 * --once hands out an unterminated last line (follow mode waits for its '\n', except at the end
 * of a rotated or deleted file); if that line grows later, the next run skips its rest. */
#ifndef TAIL_H
#define TAIL_H

/* The line handed out (tail_line_t), the two callbacks (tail_event_fn, with the list of events;
 * tail_settled_fn) and the bounds of reading (LINE_MAX_BYTES, TAIL_READ_BUF, ...) are in
 * taildefs.h, which the tail's own files share without importing this header. */
#include "taildefs.h"

#include <stddef.h>
#include <stdint.h>

#define TAIL_POLL_MS 250
#define TAIL_ROTATE_GRACE_MS 2000
#define TAIL_INFLIGHT_MAX (1u << 17)
#define TAIL_INFLIGHT_TOTAL_MAX (1u << 20)

/* tail_next() results besides 1 (a line) and 0 (nothing now). */
#define TAIL_DONE 2

typedef struct tail_opts {
    const char *const *paths; /* files, globs, or "-" for stdin */
    int npaths;
    const char *state_dir;      /* NULL: positions are not kept */
    int once;                   /* read everything to its end once, then TAIL_DONE */
    tail_event_fn on_event;     /* may be NULL */
    tail_settled_fn on_settled; /* may be NULL */
    tail_warn_fn on_warn;       /* a file that cannot be opened; may be NULL */
    void *event_ctx;            /* passed to the callbacks */
    /* For tests; 0 means the default. */
    int stdin_fd;          /* what "-" reads: 0 = standard input */
    int poll_ms;           /* TAIL_POLL_MS */
    int grace_ms;          /* TAIL_ROTATE_GRACE_MS */
    uint32_t inflight_max; /* TAIL_INFLIGHT_MAX (rounded up to a power of two) */
} tail_opts_t;

typedef struct tail tail_t;

/* Opens every path and resumes from the state directory (created if missing; locked against a
 * second collector). Fails, with err naming the path or file:line, when a plain path is not a
 * regular file, the state file is corrupt, or (--once only) a path does not exist or a file
 * cannot be opened. Follow mode waits for a missing path, and treats a file it cannot open
 * (permissions) alike at start and later: reported once to on_warn with the reason, counted
 * (tail_unreadable, tail_open_failures), the other files read, and tried again at every scan;
 * once it can be opened it is read like any new file, from 0, or from its saved position if
 * the state file had one (kept in the state file meanwhile). A glob that matches nothing is
 * reported as an event, not an error. */
tail_t *tail_new(const tail_opts_t *o, char *err, size_t errlen);

/* The next line into *out: 1 = a line; 0 = nothing now (every source at its end, or
 * backpressure: returns at once then, so that the caller can serve deliveries); TAIL_DONE =
 * --once (or stdin only) and everything handed out; -1 = a read error (tail_error()). Waits at
 * most timeout_ms for new data. */
int tail_next(tail_t *t, tail_line_t *out, int timeout_ms);
const char *tail_error(const tail_t *t);

/* Kafka confirmed the line of token. Tokens may come in any order; a token of a source that was
 * rewound, truncated or closed since is ignored. */
void tail_ack(tail_t *t, uint64_t token);
/* Attaches a small caller value to a line still in flight (passed to on_settled). */
void tail_tag(tail_t *t, uint64_t token, int tag);

/* After a producer failure: every source goes back to its confirmed position, lines in flight
 * are forgotten (their tokens become stale) and are handed out again with the same (src, off). */
void tail_rewind_all(tail_t *t);

/* Writes the positions if anything changed since the last save. 0, or -1 with err. The tail
 * also saves by itself at start and whenever it identifies a new file, so that a file is known
 * to the next run before any of its lines goes out; the caller saves about once a second (the
 * positions) and at exit. */
int tail_save(tail_t *t, char *err, size_t errlen);

/* ---- what watermarks need (collector/watermarks.h) ---------------------------------------- */

/* A wall-clock time T (ms since epoch) such that every line written to a followed file before T
 * has been handed out: the start of the last pass that found every source at its end (no line,
 * no backpressure), and no later than the start of the last scan of the patterns (a file
 * created before that scan is known), and while no matched file is unreadable (its lines are
 * unknown). -1 until the first such pass. --once: the pass that ended the run. */
int64_t tail_caught_up_ms(const tail_t *t);

/* How far each open source has handed lines out, taken at one moment: the furthest line end
 * handed out (which a rewind does not lower), per source id and identity generation. */
typedef struct tail_mark {
    uint64_t id;  /* the source (never reused within a tail) */
    uint64_t off; /* its furthest line end handed out */
    uint32_t gen; /* its identity generation then: a truncation since ends the wait */
} tail_mark_t;

typedef struct tail_marks {
    tail_mark_t *v;
    size_t n, cap;
} tail_marks_t;

/* Records every source's furthest line handed out into m (replacing what it held). 0, or -1
 * when out of memory. */
int tail_marks_take(const tail_t *t, tail_marks_t *m);
/* 1 when every line handed out before m was taken is confirmed: each source's confirmed position
 * reached its mark; a source closed since (closed only once everything is confirmed) or
 * truncated since (its old lines are gone from it) no longer holds the marks back. Else 0. */
int tail_marks_passed(const tail_t *t, const tail_marks_t *m);
void tail_marks_fini(tail_marks_t *m);

uint64_t tail_inflight(const tail_t *t);  /* lines handed out, not yet confirmed */
uint64_t tail_lag_bytes(const tail_t *t); /* bytes in the sources beyond the confirmed positions */
int tail_nsources(const tail_t *t);       /* sources open now */
/* Files the patterns match that cannot be opened now (as of the last scan). */
uint64_t tail_unreadable(const tail_t *t);
/* Files that turned unreadable, each counted once until it was readable or gone. */
uint64_t tail_open_failures(const tail_t *t);

void tail_free(tail_t *t);

#endif
