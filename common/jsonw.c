/* jsonw.c: the JSON appender (see jsonw.h). */
#include "jsonw.h"

#include "decimal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* What a string byte needs: copied as is, escaped, or checked as the start of UTF-8. */
enum { C_COPY = 0, C_ESC = 1, C_HIGH = 2 };

/* One row per 16 byte values: 1 = escape (control bytes, '"' at 0x22, '\\' at 0x5C),
 * 2 = non-ASCII, 0 = copy. Constant, so no first-use initialisation races between threads. */
static const unsigned char str_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xA0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xB0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xC0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xD0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xE0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xF0 */
};

static const char hex_digit[16] = "0123456789abcdef";

void jsonw_init(jsonw_t *w, char *buf, size_t cap) {
    w->buf = buf;
    w->n = 0;
    w->cap = buf ? cap : 0;
    w->overflow = !buf; /* nothing fits in no buffer, not even 0 bytes (memcpy(NULL, ...)) */
}

/* Room for k more bytes? Marks the writer overflowed if not. */
static inline int room(jsonw_t *w, size_t k) {
    if (w->overflow || w->cap - w->n < k) {
        w->overflow = 1;
        return 0;
    }
    return 1;
}

size_t jsonw_utf8_seq(const unsigned char *p, size_t n) {
    if (n == 0) return 0;
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0; /* a continuation byte, or C0/C1: overlong ASCII */
    if (c < 0xE0) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3) return 0;
        /* E0 needs A0..BF (else overlong); ED needs 80..9F (else a surrogate D800..DFFF) */
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4) return 0;
        /* F0 needs 90..BF (else overlong); F4 needs 80..8F (else above U+10FFFF) */
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        return 4;
    }
    return 0;
}

size_t jsonw_str_size(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 2;
    for (size_t i = 0; i < n;) {
        switch (str_class[u[i]]) {
        case C_COPY:
            out++, i++;
            break;
        case C_ESC:
            out += u[i] == 0 ? 3 : u[i] < 0x20 ? 6 : 2, i++;
            break;
        default: {
            size_t k = jsonw_utf8_seq(u + i, n - i);
            out += k ? k : 3;
            i += k ? k : 1;
        }
        }
    }
    return out;
}

/* Writes the escaped string with no bound check: the caller made sure it fits. */
static char *str_unchecked(char *o, const unsigned char *u, size_t n) {
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        uint64_t w; /* plain runs 8 bytes at a time: most strings are plain ASCII */
        while (n - i >= 8 && (memcpy(&w, u + i, 8), !jsonw_word_special(w))) {
            memcpy(o, &w, 8);
            o += 8;
            i += 8;
        }
        if (i == n) break;
        unsigned c = u[i];
        if (str_class[c] == C_COPY) {
            *o++ = (char)c;
            i++;
        } else if (c == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else if (str_class[c] == C_ESC) {
            *o++ = '\\';
            if (c >= 0x20) {
                *o++ = (char)c;
            } else {
                memcpy(o, "u00", 3);
                o[3] = hex_digit[c >> 4];
                o[4] = hex_digit[c & 15];
                o += 5;
            }
            i++;
        } else {
            size_t k = jsonw_utf8_seq(u + i, n - i);
            if (k) {
                memcpy(o, u + i, k);
                o += k;
                i += k;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
            }
        }
    }
    *o++ = '"';
    return o;
}

void jsonw_str(jsonw_t *w, const char *s, size_t n) {
    if (w->overflow) return;
    size_t left = w->cap - w->n;
    /* The common case fits even if every byte were a control byte: no sizing pass. */
    if (n > (SIZE_MAX - 2) / JSONW_ESC_MAX || left < JSONW_ESC_MAX * n + 2) {
        if (!room(w, jsonw_str_size(s, n))) return;
    }
    char *end = str_unchecked(w->buf + w->n, (const unsigned char *)s, n);
    w->n = (size_t)(end - w->buf);
}

/* Writes a sign (if neg) and the magnitude straight into the buffer: no staging copy. */
static void put_u64(jsonw_t *w, uint64_t mag, int neg) {
    size_t width = dec_width(mag) + (size_t)neg;
    if (!room(w, width)) return;
    char *o = w->buf + w->n;
    if (neg) *o = '-';
    dec_digits(o + width, mag);
    w->n += width;
}

void jsonw_u64(jsonw_t *w, uint64_t v) {
    put_u64(w, v, 0);
}

void jsonw_i64(jsonw_t *w, int64_t v) {
    /* 0 - (uint64_t)v is the magnitude even for INT64_MIN, where -v would overflow */
    put_u64(w, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

int jsonw_len(const jsonw_t *w) {
    if (w->overflow || w->n > INT_MAX) return -1;
    return (int)w->n;
}

void jsonw_fputs(FILE *out, const char *s) {
    if (!s) {
        fputs("null", out);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    fputc('"', out);
    while (n) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u00%c%c", hex_digit[*p >> 4], hex_digit[*p & 15]);
        } else {
            size_t k = jsonw_utf8_seq(p, n);
            if (!k) {
                fputs("\xEF\xBF\xBD", out);
                k = 1;
            } else {
                fwrite(p, 1, k, out);
            }
            p += k;
            n -= k;
            continue;
        }
        p++;
        n--;
    }
    fputc('"', out);
}
