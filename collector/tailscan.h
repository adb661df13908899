/* tailscan.h: the tail's finder of files (tail.h): expands the patterns, notices files renamed
 * away (rotation), deleted, truncated or grown, resumes the files of the state file at start,
 * and listens to inotify to do so before the next poll.
 *
 * The scanner only finds: every file it finds, resumes or sees truncated goes to the table of
 * sources (srctab.h), which it calls and which never calls it. tail.c runs it.
 *
 * Internal to the tail module: the collector uses tail.h only. */
#ifndef TAILSCAN_H
#define TAILSCAN_H

#include "posstore.h"
#include "srctab.h"

#include <stddef.h>
#include <stdint.h>

/* A directory watched with inotify, to notice new, moved and written files before the poll. */
typedef struct tscan_watch {
    char *dir;
    int wd; /* -1: not watched (yet: missing directories are tried again at each scan) */
} tscan_watch_t;

typedef struct tscan {
    srctab_t *tab;        /* borrowed: where the files found go */
    char **pats;          /* the patterns, made absolute; "-" (stdin, opened by tail.c) is kept */
    uint8_t *pat_glob;    /* the pattern has * ? or [ */
    uint8_t *pat_missing; /* "waiting for file" was reported for it */
    int npats;
    char *err; /* borrowed (errlen bytes): what failed, when a call returns -1 */
    size_t errlen;
    int nstdin;  /* patterns that are "-": 0 or 1 */
    int once;    /* --once: a missing plain path is an error, files are read to their end */
    int poll_ms; /* between scans of the patterns */
    int ino_fd;  /* inotify, -1 if unavailable (then polling only) */
    tscan_watch_t *watches;
    int nwatches;
    int64_t next_scan;   /* monotonic ms of the next scan of the patterns */
    int rescan, refresh; /* inotify said: a directory changed / a file was written */
} tscan_t;

/* Takes the npaths patterns of paths (files, globs, or "-" for stdin; made absolute: a relative
 * one is relative to the working directory now, not to the next run's) for files that go to
 * tab; once: --once (tail.h). Failures are described in err (kept). 0, or -1 with err;
 * tscan_fini() in both cases. */
int tscan_init(tscan_t *sc, srctab_t *tab, const char *const *paths, int npaths, int once,
               int poll_ms, char *err, size_t errlen);
/* Follow mode: watches the patterns' directories (inotify). Then finds the files of every
 * pattern and resumes them from ps (the loaded state file); entries that match no file are
 * finished (a rotated file found in the same directory) or dropped. 0, or -1 with sc->err. */
int tscan_start(tscan_t *sc, posstore_t *ps);
/* Follow mode: scans the patterns when due (or told by inotify), and checks sizes. 1 when the
 * patterns were scanned, 0 when not, -1 with sc->err. */
int tscan_passes(tscan_t *sc, int64_t now);
/* Reads the inotify events that came (poll on sc->ino_fd to wait for them). */
void tscan_watch_drain(tscan_t *sc);
void tscan_fini(tscan_t *sc);

#endif
