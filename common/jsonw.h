/* jsonw.h: a tiny JSON appender for hot paths.
 *
 * Writes JSON text into a caller's fixed buffer: literals copied as they are, strings quoted and
 * escaped whatever bytes they hold, integers formatted without printf. Nothing allocates. Bounds
 * are checked on every append; the first append that does not fit marks the writer as overflowed
 * and every later one does nothing, so a caller appends a whole record and checks once at the
 * end (jsonw_len). hit_encode writes a full hit record this way in well under 100 ns.
 *
 * String escaping keeps the output valid JSON and valid UTF-8 for any input: '"' and '\\' are
 * escaped, control characters (0x01-0x1F) become \u00XX, valid UTF-8 sequences are copied, and
 * each byte that is not part of a valid UTF-8 sequence (stray continuation bytes, truncated
 * sequences, overlong forms, UTF-16 surrogates ED A0..BF xx, code points above U+10FFFF, bytes
 * F5..FF) becomes U+FFFD (EF BF BD). So does a NUL byte: jansson, which reads everything we
 * write, refuses \u0000 (without JSON_ALLOW_NUL), so writing it would make the text unreadable. */
#ifndef JSONW_H
#define JSONW_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

/* Worst-case growth of one string byte once escaped: a control byte becomes \u00XX. */
#define JSONW_ESC_MAX 6

typedef struct jsonw {
    char *buf;    /* the caller's buffer; never NUL-terminated by the writer */
    size_t n;     /* bytes written so far */
    size_t cap;   /* size of buf */
    int overflow; /* 1 once an append did not fit: later appends are ignored */
} jsonw_t;

/* Starts writing at buf[0]; cap is the room in buf. */
void jsonw_init(jsonw_t *w, char *buf, size_t cap);

/* Appends n bytes as they are (keys, punctuation). Inline so that a constant n (JSONW_LIT)
 * becomes a few moves instead of a memcpy call. */
static inline void jsonw_lit(jsonw_t *w, const char *s, size_t n) {
    if (w->overflow || w->cap - w->n < n) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->n, s, n);
    w->n += n;
}

/* Appends a NUL-terminated literal; for string constants. */
#define JSONW_LIT(w, s) jsonw_lit((w), (s), sizeof(s) - 1)

/* Appends s[0..n) as a quoted, escaped JSON string (see above). */
void jsonw_str(jsonw_t *w, const char *s, size_t n);

/* Appends an integer in decimal. */
void jsonw_i64(jsonw_t *w, int64_t v);
void jsonw_u64(jsonw_t *w, uint64_t v);

/* Does any of the 8 bytes in w need a look: '"', '\\', a control byte or a non-ASCII byte? Lets
 * the writer copy, and jsonr's reader skip, plain runs 8 bytes at a time. Exact as a yes/no (the
 * borrow tricks only misfire above a byte that really matches). */
static inline int jsonw_word_special(uint64_t w) {
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t control = (w - ones * 0x20) & ~w, quote = (q - ones) & ~q, bslash = (b - ones) & ~b;
    return ((control | quote | bslash | w) & high) != 0;
}

/* The length written, or -1 if an append overflowed (or the length exceeds INT32_MAX). */
int jsonw_len(const jsonw_t *w);

/* Length of the JSON string jsonw_str writes for s[0..n), quotes included. */
size_t jsonw_str_size(const char *s, size_t n);

/* Length (1..4) of the valid UTF-8 sequence that starts at p[0], looking at no more than n
 * bytes, or 0 if p[0] does not start one (n == 0 included). Valid means the shortest form of a
 * code point up to U+10FFFF that is not a surrogate, as jansson and RFC 3629 require. */
size_t jsonw_utf8_seq(const unsigned char *p, size_t n);

/* Writes NUL-terminated s to out as a JSON string, escaped as jsonw_str does ('"' and '\\'
 * escaped, control bytes as \u00XX, valid UTF-8 copied, every other byte U+FFFD); NULL as
 * null. For JSON printed straight to a stream (billing's reports). */
void jsonw_fputs(FILE *out, const char *s);

#endif
