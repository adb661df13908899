/* taildefs.h: what the tail's users (tail.h) and the tail's own files (source.c, srctab.c,
 * tailscan.c) share: the line handed out, the two callbacks, and the bounds of reading. Types
 * and numbers only, no code: the parts of the tail import it rather than tail.h, whose code
 * (tail.c) calls them. */
#ifndef TAILDEFS_H
#define TAILDEFS_H

#include <stddef.h>
#include <stdint.h>

/* Longest line handed out whole; a longer one is handed out once, as a too-long line holding
 * its first REJECT_LINE_MAX bytes (hit.h), and the rest up to its newline is skipped. */
#define LINE_MAX_BYTES 65536
/* Bytes of the first line hashed into the fingerprint; a file is read once it has a complete
 * first line or this many bytes. */
#define FP_MAX_BYTES 256
/* Bytes of the read window that all files share (more than LINE_MAX_BYTES + 1). */
#define TAIL_READ_BUF (1u << 20)
/* Bytes of stdin lines kept until confirmed (stdin cannot be read again after a failure). */
#define TAIL_STDIN_KEEP_MAX (32u << 20)
/* Identities of finished files remembered (and saved) so that a reused inode with the same
 * first line still gets a new src. */
#define TAIL_TOMBS_MAX 1024

/* One line. Pointers stay valid until the next tail_next() or tail_free(). */
typedef struct tail_line {
    const char *src; /* the source id (NUL-terminated) */
    size_t src_len;
    uint64_t off;  /* byte offset of the line's first byte in its source */
    const char *p; /* the line without its '\n' ('\r' left in); for too_long its first bytes */
    size_t n;
    int too_long;   /* longer than LINE_MAX_BYTES: p holds its first REJECT_LINE_MAX bytes */
    int reread;     /* handed out before, sent again after tail_rewind_all() */
    uint64_t token; /* for tail_ack() and tail_tag() */
} tail_line_t;

/* Something happened to a source, for the log. off is the read position then; src is "" for a
 * file not identified yet (no complete first line). Events: "file opened", "file resumed",
 * "file resumed after rotation", "file rotated", "file deleted", "file truncated", "file
 * truncated while stopped", "file changed while stopped: reading from 0", "inode reused:
 * reading the new file from 0", "file finished", "file back at a watched path", "position
 * dropped: file gone", "no file matches" (a glob), "waiting for file" (a plain path), "file
 * unreadable: position kept" (a saved file that cannot be opened at start: resumed when it can),
 * "stdin opened", "stdin finished". */
typedef void (*tail_event_fn)(void *ctx, const char *event, const char *path, const char *src,
                              uint64_t off);
/* A file matched by a pattern cannot be opened now (permissions): reported once, when it turns
 * unreadable, with the reason (strerror). It is tried again at every scan; it is reported again
 * only after it was readable or gone in between. */
typedef void (*tail_warn_fn)(void *ctx, const char *event, const char *path, const char *why);
/* A line's position was passed: confirmed, never to be sent again. tag is what tail_tag() set
 * (0 if nothing). Called from tail_ack(), once per line. */
typedef void (*tail_settled_fn)(void *ctx, const char *src, size_t src_len, int tag);

#endif
