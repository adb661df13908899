/* tailscan.h: the inside of tail_t, shared by tail.c (reading, acks, positions) and tailscan.c
 * (finding files: globs, rotation, truncation, resuming from the state file, inotify).
 *
 * Internal to the tail module: the collector uses tail.h only. */
#ifndef TAILSCAN_H
#define TAILSCAN_H

#include "posstore.h"
#include "source.h"
#include "tail.h"

#include <stdint.h>
#include <sys/stat.h>

/* A directory watched with inotify, to notice new, moved and written files before the poll. */
typedef struct tail_watch {
    char *dir;
    int wd; /* -1: not watched (yet: missing directories are tried again at each scan) */
} tail_watch_t;

struct tail {
    tail_opts_t o;        /* paths not kept: see pats */
    char **pats;          /* the patterns, made absolute; "-" is stdin */
    uint8_t *pat_glob;    /* the pattern has * ? or [ */
    uint8_t *pat_missing; /* "waiting for file" was reported for it */
    int npats;
    int stdin_only;     /* every pattern is "-": TAIL_DONE at its end even when following */
    source_t **slot;    /* open sources; NULL for a free slot */
    uint64_t *slot_seq; /* next seq of each slot, kept across occupants: old tokens stay stale */
    uint32_t nslots, slot_cap;
    uint32_t cur;      /* the source being read */
    src_win_t win;     /* the shared read window */
    uint64_t inflight; /* lines in flight in all sources */
    uint32_t ring_max; /* per source, a power of two */
    uint64_t next_id;
    int poll_ms, grace_ms;
    char *state_dir; /* NULL: no positions kept */
    int lock_fd;
    int dirty;        /* positions changed since the last save */
    posstore_t tombs; /* identities finished or dropped: done entries, oldest first */
    int ino_fd;       /* inotify, -1 if unavailable (then polling only) */
    tail_watch_t *watches;
    int nwatches;
    int64_t next_scan;   /* monotonic ms of the next scan of the patterns */
    int64_t scan_wall;   /* wall ms at the start of the last scan of the patterns */
    int64_t caught_up;   /* tail_caught_up_ms(), -1: not yet */
    int rescan, refresh; /* inotify said: a directory changed / a file was written */
    uint64_t (*bad)[2];  /* (dev, ino) of files that could not be opened: reported once */
    size_t nbad;
    char err[1024];
};

/* tail.c */
void tail_event(tail_t *t, const char *event, const source_t *s);
source_t *tail_find(const tail_t *t, uint64_t dev, uint64_t ino);
source_t *tail_find_id(const tail_t *t, uint64_t id);
/* A new file source for fd (taken over) at path; NULL when out of memory (fd closed). */
source_t *tail_add_file(tail_t *t, int fd, const char *path, const struct stat *st);
void tail_close_source(tail_t *t, source_t *s);
/* Gives s its identity from its first line: 1 done, 0 not yet (no complete first line), -1 on a
 * read error (t->err). */
int tail_identify(tail_t *t, source_t *s, int final);
/* Remembers a finished identity, so that it is never given again. */
void tail_tomb(tail_t *t, const char *src, const char *path, uint64_t dev, uint64_t ino,
               uint64_t fp, uint32_t gen);

/* tailscan.c */
/* Finds the files of every pattern and resumes them from ps (the loaded state file); entries
 * that match no file are finished (a rotated file found in the same directory) or dropped. */
int tscan_start(tail_t *t, posstore_t *ps);
/* Follow mode: scans the patterns when due (or told by inotify), and checks sizes. */
int tscan_passes(tail_t *t, int64_t now);
/* s was truncated (copytruncate): its lines start again at 0 under a new src. */
void tscan_truncated(tail_t *t, source_t *s);
void tscan_watch_init(tail_t *t);
void tscan_watch_drain(tail_t *t);
void tscan_watch_free(tail_t *t);

#endif
