/* jsonr.c: strict JSON scanning that agrees with jansson 2.14 (see jsonr.h). */
#include "jsonr.h"

#include <stdlib.h>

typedef unsigned char u8;

/* Objects with up to this many keys are checked for duplicates pair by pair, larger by sorting. */
#define JSONR_KEYS_PAIRWISE 8

/* One row per 16 byte values; '"' is 0x22, '\\' 0x5C. */
const unsigned char jsonr_body_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x00 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, /* 0x50 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0x80 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0x90 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0xA0 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0xB0 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0xC0 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0xD0 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0xE0 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0xF0 */
};

/* 2^1024 - 2^970, the least decimal that strtod rounds to infinity (half way between DBL_MAX
 * and 2^1024, where ties go to the even 2^1024): jansson refuses a real from here up. */
static const char real_limit[] =
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797"
    "75872070963302864166928879109465555478519404026306574886715058206819089020007083836762738548"
    "45817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711"
    "559699508093042880177904174497792";
#define REAL_LIMIT_EXP 309 /* real_limit has 309 digits before the point */

void jsonr_init(jsonr_t *r, const char *buf, size_t len) {
    r->base = (const u8 *)(buf ? buf : "");
    r->end = r->base + (buf ? len : 0);
    r->keys = r->inl;
    r->nkeys = r->kbase = 0;
    r->capkeys = JSONR_KEYS_INLINE;
    r->why = NULL;
    r->at = 0;
}

void jsonr_fini(jsonr_t *r) {
    if (r->keys != r->inl) free(r->keys);
    r->keys = r->inl;
}

const u8 *jsonr_fail(jsonr_t *r, const u8 *p, const char *why) {
    if (!r->why) {
        r->why = why;
        r->at = (size_t)(p - r->base);
    }
    return NULL;
}

static inline int is_digit(u8 c) {
    return c >= '0' && c <= '9';
}

/* The four hex digits at p as a number, or -1. */
static long hex4(const u8 *p) {
    long v = 0;
    for (int i = 0; i < 4; i++) {
        u8 c = p[i];
        int x = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (x < 0) return -1;
        v = v << 4 | x;
    }
    return v;
}

/* One escape at p (p[0] == '\\'): checked as jansson does (\u0000 and lone surrogates refused). */
const u8 *jsonr_escape_end(jsonr_t *r, const u8 *p) {
    const u8 *e = r->end;
    if (e - p < 2) return jsonr_fail(r, p, "unterminated string");
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u':
        break;
    default:
        return jsonr_fail(r, p, "invalid escape");
    }
    long cp = e - p >= 6 ? hex4(p + 2) : -1;
    if (cp < 0) return jsonr_fail(r, p, "invalid \\u escape");
    if (cp == 0) return jsonr_fail(r, p, "\\u0000 is not allowed");
    if (cp >= 0xDC00 && cp <= 0xDFFF) return jsonr_fail(r, p, "lone low surrogate");
    if (cp < 0xD800 || cp > 0xDBFF) return p + 6;
    long lo = e - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return jsonr_fail(r, p, "lone high surrogate");
    return p + 12;
}

/* Decodes the escape at p (already checked) into out; returns where it ends. */
static const u8 *escape_decode(const u8 *p, u8 out[4], size_t *n) {
    static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
    if (p[1] != 'u') {
        out[0] = (u8)simple_out[strchr(simple_in, p[1]) - simple_in];
        *n = 1;
        return p + 2;
    }
    unsigned long cp = (unsigned long)hex4(p + 2);
    p += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)hex4(p + 2) - 0xDC00);
        p += 6;
    }
    if (cp < 0x80) {
        out[0] = (u8)cp, *n = 1;
    } else if (cp < 0x800) {
        out[0] = (u8)(0xC0 | cp >> 6), out[1] = (u8)(0x80 | (cp & 0x3F)), *n = 2;
    } else if (cp < 0x10000) {
        out[0] = (u8)(0xE0 | cp >> 12), out[1] = (u8)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (u8)(0x80 | (cp & 0x3F)), *n = 3;
    } else {
        out[0] = (u8)(0xF0 | cp >> 18), out[1] = (u8)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (u8)(0x80 | (cp >> 6 & 0x3F)), out[3] = (u8)(0x80 | (cp & 0x3F)), *n = 4;
    }
    return p;
}

/* Reads a checked string body byte by byte with its escapes undone. */
typedef struct body_iter {
    const u8 *p, *e;
    u8 pend[4];
    size_t npend, ipend;
} body_iter_t;

static int body_next(body_iter_t *it) {
    if (it->ipend < it->npend) return it->pend[it->ipend++];
    if (it->p >= it->e) return -1;
    if (*it->p != '\\') return *it->p++;
    it->p = escape_decode(it->p, it->pend, &it->npend);
    it->ipend = 1;
    return it->pend[0];
}

/* Orders two checked string bodies by their unescaped bytes, as memcmp would. */
static int body_cmp(const u8 *a, size_t an, int aesc, const u8 *b, size_t bn, int besc) {
    if (!aesc && !besc) {
        int c = memcmp(a, b, an < bn ? an : bn);
        return c ? c : (an > bn) - (an < bn);
    }
    body_iter_t x = {a, a + an, {0}, 0, 0}, y = {b, b + bn, {0}, 0, 0};
    for (;;) {
        int cx = body_next(&x), cy = body_next(&y);
        if (cx != cy || cx < 0) return cx - cy;
    }
}

size_t jsonr_unescape(const u8 *p, size_t n, u8 *out, size_t cap) {
    body_iter_t it = {p, p + n, {0}, 0, 0};
    size_t k = 0;
    for (int c; (c = body_next(&it)) >= 0; k++)
        if (k < cap) out[k] = (u8)c;
    return k;
}

/* Would strtod turn the real s[0..e) (JSON syntax, already checked) into +-HUGE_VAL? Decided on
 * the digits, exactly, so neither the locale nor the digit count matters. */
static int real_overflows(const u8 *s, const u8 *e) {
    if (*s == '-') s++;
    const u8 *m = s; /* mantissa: digits and at most one '.', up to the exponent */
    while (m < e && *m != 'e' && *m != 'E')
        m++;
    int64_t exp = 0, sign = 1; /* saturates far beyond any exponent that could matter */
    if (m < e) {
        const u8 *q = m + 1;
        if (*q == '+' || *q == '-') sign = *q++ == '-' ? -1 : 1;
        for (; q < e; q++)
            if (exp < 1000000000000000) exp = exp * 10 + (*q - '0');
    }
    /* lead: the first non-zero digit; the value is 0.(digits from lead) x 10^place */
    int64_t place = 0;
    int in_frac = 0;
    const u8 *lead = NULL;
    for (const u8 *q = s; q < m && !lead; q++) {
        if (*q == '.')
            in_frac = 1;
        else if (*q != '0')
            lead = q;
        else if (in_frac)
            place--;
    }
    if (!lead) return 0; /* zero */
    if (!in_frac)        /* the integer digits from lead on, up to the point */
        for (const u8 *q = lead; q < m && *q != '.'; q++)
            place++;
    place += sign * exp;
    if (place != REAL_LIMIT_EXP) return place > REAL_LIMIT_EXP;
    const u8 *q = lead;
    for (const char *l = real_limit; *l; l++, q++) {
        if (q < m && *q == '.') q++;
        if (q >= m || (char)*q < *l) return 0; /* shorter reads as trailing zeros: smaller */
        if ((char)*q > *l) return 1;
    }
    return 1; /* equal to the limit, or more */
}

/* A number at p. With f, records an integer's value or that it was a real. */
static const u8 *number(jsonr_t *r, const u8 *p, jsonr_val_t *f) {
    const u8 *e = r->end, *s = p;
    int neg = *p == '-';
    p += neg;
    if (p >= e || !is_digit(*p)) return jsonr_fail(r, p, "invalid number");
    uint64_t v = 0;
    const u8 *digits = p;
    if (*p == '0') {
        if (++p < e && is_digit(*p)) return jsonr_fail(r, p, "leading zero");
    } else {
        for (; p < e && is_digit(*p); p++)
            if (p - digits < 19) v = v * 10 + (uint64_t)(*p - '0'); /* < 10^19: no wrap */
    }
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E')) {
        if (*p == '.') {
            if (++p >= e || !is_digit(*p)) return jsonr_fail(r, p, "invalid number");
            while (p < e && is_digit(*p))
                p++;
        }
        if (p < e && (*p == 'e' || *p == 'E')) {
            if (++p < e && (*p == '+' || *p == '-')) p++;
            if (p >= e || !is_digit(*p)) return jsonr_fail(r, p, "invalid number");
            while (p < e && is_digit(*p))
                p++;
        }
        if (real_overflows(s, p)) return jsonr_fail(r, s, "real number overflow");
        if (f) f->kind = JSONR_REAL;
        return p;
    }
    /* json_int_t is long long: jansson refuses what strtoll cannot hold */
    if (p - digits > 19 || v > (uint64_t)INT64_MAX + neg)
        return jsonr_fail(r, s, "integer too big");
    if (f) {
        f->kind = JSONR_INT;
        f->i = !neg ? (int64_t)v : v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    }
    return p;
}

/* A string, number, true, false or null at p. With f, records what it was. */
static const u8 *scalar(jsonr_t *r, const u8 *p, jsonr_val_t *f) {
    const u8 *e = r->end;
    size_t left = (size_t)(e - p);
    if (*p == '"') {
        int esc = 0;
        const u8 *q = jsonr_string_end(r, p + 1, &esc);
        if (q && f)
            *f = (jsonr_val_t){.kind = JSONR_STR, .esc = esc, .p = p + 1, .n = (size_t)(q - p - 1)};
        return q ? q + 1 : NULL;
    }
    if (*p == '-' || is_digit(*p)) {
        p = number(r, p, f);
    } else {
        size_t n = *p == 't' && left >= 4 && !memcmp(p, "true", 4)    ? 4
                   : *p == 'f' && left >= 5 && !memcmp(p, "false", 5) ? 5
                   : *p == 'n' && left >= 4 && !memcmp(p, "null", 4)  ? 4
                                                                      : 0;
        if (!n) return jsonr_fail(r, p, "invalid value");
        if (f) f->kind = JSONR_OTHER;
        p += n;
    }
    /* jansson 2.14 reads one byte past a number or a literal and puts it back; its stream takes a
     * put-back NUL for "buffer empty", so one NUL byte right after such a token vanishes. */
    if (p && p < e && *p == 0) p++;
    return p;
}

/* ---- keys and nested values ------------------------------------------------------------- */

int jsonr_key_push(jsonr_t *r, const u8 *p, size_t n, int esc) {
    if (r->nkeys == r->capkeys) {
        size_t cap = r->capkeys * 2;
        jsonr_key_t *k =
            r->keys == r->inl ? malloc(cap * sizeof *k) : realloc(r->keys, cap * sizeof *k);
        if (!k) return jsonr_fail(r, p ? p : r->base, "out of memory"), -1;
        if (r->keys == r->inl) memcpy(k, r->inl, sizeof r->inl);
        r->keys = k;
        r->capkeys = cap;
    }
    r->keys[r->nkeys++] = (jsonr_key_t){p, n, esc};
    return 0;
}

static int key_order(const void *a, const void *b) {
    const jsonr_key_t *x = a, *y = b;
    return body_cmp(x->p, x->n, x->esc, y->p, y->n, y->esc);
}

int jsonr_key_close(jsonr_t *r, const u8 *at) {
    jsonr_key_t *k = r->keys + r->kbase;
    size_t n = r->nkeys - r->kbase;
    int dup = 0;
    if (n > JSONR_KEYS_PAIRWISE) {
        qsort(k, n, sizeof *k, key_order);
        for (size_t i = 1; i < n && !dup; i++)
            dup = key_order(&k[i - 1], &k[i]) == 0;
    } else {
        for (size_t i = 0; i < n && !dup; i++)
            for (size_t j = i + 1; j < n && !dup; j++)
                dup = key_order(&k[i], &k[j]) == 0;
    }
    if (dup) {
        jsonr_fail(r, at, "duplicate key");
        return -1;
    }
    if (r->kbase > 0) { /* a nested object: drop its marker too */
        r->nkeys = r->kbase - 1;
        r->kbase = r->keys[r->nkeys].n;
    } else {
        r->nkeys = 0;
    }
    return 0;
}

/* "key" : at p, inside a nested object; returns the value's start. */
static const u8 *member_key(jsonr_t *r, const u8 *p) {
    const u8 *e = r->end;
    if (p >= e || *p != '"') return jsonr_fail(r, p, "string expected");
    int esc = 0;
    const u8 *q = jsonr_string_end(r, p + 1, &esc);
    if (!q) return NULL;
    if (jsonr_key_push(r, p + 1, (size_t)(q - p - 1), esc) < 0) return NULL;
    p = jsonr_ws(q + 1, e);
    if (p >= e || *p != ':') return jsonr_fail(r, p, "':' expected");
    return jsonr_ws(p + 1, e);
}

/* Checks the container at p, at depth, and all it holds, without recursion: open[] remembers
 * for each enclosing container whether it is an object. */
static const u8 *nested(jsonr_t *r, const u8 *p, size_t depth) {
    const u8 *e = r->end;
    u8 open[JSONR_MAX_DEPTH];
    size_t sp = 0;
    enum { WANT_VALUE, WANT_KEY, AFTER_VALUE } want = WANT_VALUE;
    for (;;) {
        if (want == WANT_KEY) {
            if (!(p = member_key(r, p))) return NULL;
            want = WANT_VALUE;
        }
        if (want == WANT_VALUE) {
            if (depth + sp > JSONR_MAX_DEPTH) return jsonr_fail(r, p, "nested too deep");
            if (p >= e) return jsonr_fail(r, p, "value expected");
            if (*p != '{' && *p != '[') {
                if (!(p = scalar(r, p, NULL))) return NULL;
            } else {
                u8 obj = *p == '{';
                p = jsonr_ws(p + 1, e);
                if (p < e && *p == (obj ? '}' : ']')) {
                    p++; /* empty: a whole value already */
                } else {
                    open[sp++] = obj;
                    if (obj && jsonr_key_push(r, NULL, r->kbase, 0) < 0) return NULL;
                    if (obj) r->kbase = r->nkeys;
                    want = obj ? WANT_KEY : WANT_VALUE;
                    continue;
                }
            }
            want = AFTER_VALUE;
        }
        if (sp == 0) return p;
        u8 obj = open[sp - 1];
        p = jsonr_ws(p, e);
        if (p < e && *p == ',') {
            p = jsonr_ws(p + 1, e);
            want = obj ? WANT_KEY : WANT_VALUE;
        } else if (p < e && *p == (obj ? '}' : ']')) {
            if (obj && jsonr_key_close(r, p) < 0) return NULL;
            p++;
            sp--;
        } else {
            return jsonr_fail(r, p, obj ? "',' or '}' expected" : "',' or ']' expected");
        }
    }
}

const u8 *jsonr_value(jsonr_t *r, const u8 *p, size_t depth, jsonr_val_t *v) {
    if (depth > JSONR_MAX_DEPTH) return jsonr_fail(r, p, "nested too deep");
    if (p >= r->end) return jsonr_fail(r, p, "value expected");
    if (*p != '{' && *p != '[') return scalar(r, p, v);
    if (v) v->kind = JSONR_OTHER;
    return nested(r, p, depth);
}
