/* jsonr.h: strict JSON scanning primitives that accept exactly what jansson 2.14 accepts.
 *
 * hit_decode is built on these (and other record decoders may be): they walk JSON text in place,
 * without allocating for ordinary input, and refuse precisely what
 * json_loadb(JSON_REJECT_DUPLICATES) refuses, jansson's own quirks included:
 *   - integers must fit json_int_t (int64); a larger one is an error, not a real;
 *   - a real whose value overflows a double (strtod gives +-HUGE_VAL) is an error;
 *   - strings must be valid UTF-8 (shortest form, no surrogates, <= U+10FFFF), hold no control
 *     byte, no \u0000 and no lone surrogate escape;
 *   - values nest at most JSONR_MAX_DEPTH deep, the outermost value being depth 1;
 *   - keys are unique within every object, nested ones included (compared after unescaping);
 *   - one NUL byte right after a number or true/false/null is skipped (jansson's stream takes
 *     the NUL it puts back for "buffer empty").
 * Every scanner returns where the scanned item ends, or NULL after recording the first error
 * (why, at) in the jsonr_t. Pointers are to unsigned char so that bytes compare as 0..255. */
#ifndef JSONR_H
#define JSONR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonw.h" /* jsonw_utf8_seq, jsonw_word_special: shared with the writer */

/* jansson's JSON_PARSER_MAX_DEPTH (jansson_config.h, 2.14). */
#define JSONR_MAX_DEPTH 2048
/* Keys of open objects kept in the jsonr_t itself before the key list moves to the heap. */
#define JSONR_KEYS_INLINE 16

/* What a value turned out to be; containers and true/false/null are all JSONR_OTHER. */
enum jsonr_kind { JSONR_NONE, JSONR_STR, JSONR_INT, JSONR_REAL, JSONR_OTHER };

/* A scanned value: a raw string body (escapes not yet undone) or an integer. */
typedef struct jsonr_val {
    int kind;               /* enum jsonr_kind */
    int esc;                /* JSONR_STR: the body holds at least one backslash escape */
    int64_t i;              /* JSONR_INT */
    const unsigned char *p; /* JSONR_STR: the body, between the quotes, in the input */
    size_t n;
} jsonr_val_t;

/* A key of an open object, kept until the object closes to check uniqueness. p == NULL marks
 * where a nested object's keys begin; n then holds the enclosing object's first index. */
typedef struct jsonr_key {
    const unsigned char *p; /* raw body in the input */
    size_t n;
    int esc;
} jsonr_key_t;

typedef struct jsonr {
    const unsigned char *base, *end; /* the text */
    jsonr_key_t *keys;               /* inl, or the heap once more keys are open at once */
    size_t nkeys, capkeys;
    size_t kbase;    /* first key of the innermost open object */
    const char *why; /* the first error, or NULL */
    size_t at;       /* its byte offset */
    jsonr_key_t inl[JSONR_KEYS_INLINE];
} jsonr_t;

/* Starts scanning buf[0..len) (buf may be NULL when len is 0). */
void jsonr_init(jsonr_t *r, const char *buf, size_t len);
/* Frees the key list if it moved to the heap. */
void jsonr_fini(jsonr_t *r);

/* Records why at p (the first error wins) and returns NULL. */
const unsigned char *jsonr_fail(jsonr_t *r, const unsigned char *p, const char *why);

/* The value at p (whitespace already skipped), nested at depth (the outermost value is 1).
 * With v, records what it is; its members, if any, are checked and skipped. */
const unsigned char *jsonr_value(jsonr_t *r, const unsigned char *p, size_t depth, jsonr_val_t *v);

/* Object keys, for the caller's own loop over the outermost object: push each key, then close
 * the object at its '}' (at) to refuse a key met twice and forget its keys. Push returns -1 when
 * out of memory (and fails r); close returns -1 on a duplicate. */
int jsonr_key_push(jsonr_t *r, const unsigned char *p, size_t n, int esc);
int jsonr_key_close(jsonr_t *r, const unsigned char *at);

/* Undoes the escapes of a checked string body p[0..n): writes at most cap bytes to out and
 * returns the full unescaped length (never more than n). */
size_t jsonr_unescape(const unsigned char *p, size_t n, unsigned char *out, size_t cap);

/* The escape at p (p[0] == '\\'), checked; used by jsonr_string_end. */
const unsigned char *jsonr_escape_end(jsonr_t *r, const unsigned char *p);

/* ---- inline fast paths: every member of every record goes through these ------------------- */

/* String body bytes: 0 plain, 1 '"', 2 '\\', 3 control (refused), 4 non-ASCII (UTF-8 lead). */
extern const unsigned char jsonr_body_class[256];

static inline const unsigned char *jsonr_ws(const unsigned char *p, const unsigned char *e) {
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* A string body starting at p (after the opening quote): returns the closing quote and sets
 * *esc if the body holds an escape. Plain runs are skipped 8 bytes at a time. */
static inline __attribute__((always_inline)) const unsigned char *
jsonr_string_end(jsonr_t *r, const unsigned char *p, int *esc) {
    const unsigned char *e = r->end;
    for (;;) {
        uint64_t w;
        while (e - p >= 8 && (memcpy(&w, p, 8), !jsonw_word_special(w)))
            p += 8;
        while (p < e && jsonr_body_class[*p] == 0)
            p++;
        if (p >= e) return jsonr_fail(r, p, "unterminated string");
        switch (jsonr_body_class[*p]) {
        case 1:
            return p;
        case 2:
            *esc = 1;
            if (!(p = jsonr_escape_end(r, p))) return NULL;
            break;
        case 3:
            return jsonr_fail(r, p, "control character in string");
        default: {
            size_t k = jsonw_utf8_seq(p, (size_t)(e - p));
            if (!k) return jsonr_fail(r, p, "invalid UTF-8");
            p += k;
        }
        }
    }
}

#endif
