/* cfgfile.h: the one reader of line-oriented configuration files.
 *
 * The collector's host map ("HOST CUSTOMER_ID") and the aggregator's tokens file
 * ("CUSTOMER_ID SHA256_HEX") share one syntax, so they share this reader and cannot drift apart:
 *   - one record per line ('\n'; a '\r' before it is white space);
 *   - fields separated by runs of space, tab, '\r', '\v' or '\f';
 *   - '#' starts a comment that runs to the end of the line; a line with no field is skipped;
 *   - a UTF-8 byte order mark at the start of the file (as some editors write) is skipped;
 *   - a NUL byte anywhere refuses the file ("FILE:LINE: has a NUL byte"): it is not text;
 *   - every message names the file and the line: "FILE:LINE: ...".
 * The reader splits; the caller's function decides what the fields mean. */
#ifndef CFGFILE_H
#define CFGFILE_H

#include "hit.h" /* slice_t */

#include <stddef.h>

#define CFG_FIELDS_MAX 8 /* fields a line may be split into (one more is reported as extra) */
#define CFG_SHOW_MAX 80  /* bytes of a bad field quoted in a message */

/* One non-empty line, split. */
typedef struct cfg_line {
    const char *name; /* the file's name, for messages */
    unsigned no;      /* its line number, from 1 */
    size_t nfields;   /* fields found, at most max_fields + 1: more than max_fields means the
                         line has too many, and f[max_fields] is the first extra one */
    slice_t f[CFG_FIELDS_MAX + 1];
    slice_t text; /* the whole line without its comment, blanks trimmed at both ends: for
                     "key = value" files whose values may hold blanks */
} cfg_line_t;

/* Called for each non-empty line; returns 0, or -1 having written its message to err (cfg_fail
 * writes one in the common form). */
typedef int (*cfg_fn)(void *ctx, const cfg_line_t *l, char *err, size_t errlen);

/* Splits text[0..len) into lines and fields (at most max_fields, <= CFG_FIELDS_MAX, + 1) and
 * calls fn for each non-empty line, in order. Returns 0, or -1 with err at the first refused
 * line. */
int cfg_parse(const char *text, size_t len, const char *name, size_t max_fields, cfg_fn fn,
              void *ctx, char *err, size_t errlen);

/* Flags of cfg_parse_flags. CFG_HASH_FIRST: '#' starts a comment only as the first non-blank
 * character of a line (as kcat's -F files have it), so that a value (a password) may hold '#'. */
#define CFG_HASH_FIRST 1u

/* cfg_parse with flags. */
int cfg_parse_flags(const char *text, size_t len, const char *name, size_t max_fields,
                    unsigned flags, cfg_fn fn, void *ctx, char *err, size_t errlen);

/* Reads a whole file of at most max_bytes into a new buffer (the caller frees it); NULL with
 * "PATH: reason" in err when it cannot be read or is larger. */
char *cfg_read(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen);

/* "FILE:LINE: WHAT 'TOKEN' WHY" into err, the token quoted with at most CFG_SHOW_MAX bytes and
 * unprintable bytes as '?'. Returns -1, so that a caller can `return cfg_fail(...)`. */
int cfg_fail(const cfg_line_t *l, char *err, size_t errlen, const char *what, const char *tok,
             size_t n, const char *why);

#endif
