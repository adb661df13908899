/* posstore.h: the collector's read positions on disk, one state file per state directory.
 *
 * The position of a log file is where the read of the next run starts: the end of the last line
 * whose delivery Kafka confirmed. It is written atomically (temporary file, fsync, rename, fsync
 * of the directory), so that a crash at any instant leaves either the previous file or the new
 * one, never a mix. A file is told apart from another by more than its inode (inodes are reused
 * after a delete): the first line's fingerprint and a checksum of the bytes just before the
 * position must match too.
 *
 * The file, <state_dir>/positions, is text: a version header, then one entry per line,
 * nine space-separated fields, strings %XX-escaped (bytes <= ' ', '%', DEL and >= 0x80):
 *
 *     collector-positions 1
 *     pos  SRC DEV INO FP GEN OFF CHK PATH    a file being read: resume at OFF
 *     done SRC DEV INO FP GEN 0 0 PATH        a file finished or gone (a tombstone)
 *
 * FP and CHK are 16 lower-case hex digits. Tombstones keep the generation of identities seen
 * recently, so that a new file that gets the same inode and the same first line still gets a
 * new src (billing drops a (src, off) it has billed already). Loading refuses any line that is
 * not exactly this, with "FILE:LINE: reason": positions are never guessed. */
#ifndef POSSTORE_H
#define POSSTORE_H

#include <stddef.h>
#include <stdint.h>

#define POSSTORE_FILE "positions"
#define POSSTORE_HEADER "collector-positions 1"
/* Bound of the state file read at start (about 1 KiB per entry: far above any real count). */
#define POSSTORE_FILE_MAX (64u << 20)
/* Longest path kept, in bytes (PATH_MAX). */
#define POSSTORE_PATH_MAX 4096

typedef struct posstore_ent {
    char *src;    /* the log source id of the file's lines (hit record `src`) */
    char *path;   /* where the file was last seen (absolute) */
    uint64_t dev; /* st_dev */
    uint64_t ino; /* st_ino */
    uint64_t fp;  /* hash of the file's first line (at most FP_MAX_BYTES bytes) */
    uint32_t gen; /* truncations and identity clashes seen: part of src */
    uint64_t off; /* confirmed read position (pos only) */
    uint64_t chk; /* hash of the bytes just before off, 0 when off is 0 (pos only) */
    int done;     /* 1: a tombstone ("done" line) */
} posstore_ent_t;

/* A growable list of entries; strings are owned. */
typedef struct posstore {
    posstore_ent_t *v;
    size_t n, cap;
} posstore_t;

void posstore_init(posstore_t *ps);
void posstore_fini(posstore_t *ps);

/* Appends a copy of e (its strings copied). Returns 0, or -1 when out of memory. */
int posstore_add(posstore_t *ps, const posstore_ent_t *e);

/* Parses the text of a state file into ps (appending). name is used in messages. Returns 0, or
 * -1 with "name:LINE: reason" in err. */
int posstore_parse(posstore_t *ps, const char *name, const char *buf, size_t len, char *err,
                   size_t errlen);

/* Reads <dir>/positions into ps. A missing file is an empty store (first run); a leftover
 * positions.tmp from a crash is ignored. Returns 0 or -1 with err. */
int posstore_load(posstore_t *ps, const char *dir, char *err, size_t errlen);

/* Formats v[0..n) as the state file into *out (malloc'd, NUL-terminated, caller frees). Returns
 * its length, or -1 when out of memory. */
long posstore_format(const posstore_ent_t *v, size_t n, char **out);

/* Writes v[0..n) to <dir>/positions atomically. Returns 0 or -1 with err. */
int posstore_save(const char *dir, const posstore_ent_t *v, size_t n, char *err, size_t errlen);

#endif
