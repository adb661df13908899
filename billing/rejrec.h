/* rejrec.h: the text of a rejected record, as billing_rejects.record keeps it.
 *
 * A reject is kept with its message value so that someone can see what was refused and why
 * (CONTRACT.md: "at most 4 KiB of it"). PostgreSQL text holds neither NUL bytes nor bytes that are
 * not UTF-8, and a record refused for bad UTF-8 is exactly one that has them: such bytes are
 * replaced by U+FFFD (and the row says so: record_altered), never dropped, so that the kept text
 * is always storable and the flush that carries it can never fail on it. The cut is made on a
 * character boundary: the text never ends in half a character. */
#ifndef REJREC_H
#define REJREC_H

#include <stddef.h>

#define REJREC_MAX 4096 /* bytes of the kept text, at most */

/* Writes the storable text of in[0..n) to out (room for REJREC_MAX + 1 bytes: the text and a
 * NUL): valid UTF-8 copied, each NUL byte and each byte of an invalid sequence replaced by
 * U+FFFD, cut before the first character that would pass REJREC_MAX bytes. Returns the length;
 * *altered is 1 when something was replaced (a cut alone is not an alteration: compare with the
 * record's length). */
size_t rejrec_text(const char *in, size_t n, char *out, int *altered);

#endif
