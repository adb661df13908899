/* hit.c: the hit record codec (see hit.h).
 *
 * The decoder is one pass over the bytes with no allocation for the records we write (flat,
 * keys in contract order, no escapes). It must accept exactly what jansson 2.14's
 * json_loadb(JSON_REJECT_DUPLICATES) accepts, so it copies jansson's rules wherever JSON leaves
 * room: integers are int64 and a larger one is a syntax error, a real that overflows a double is
 * a syntax error, strings must be valid UTF-8 without \u0000 or lone surrogates, values may nest
 * HIT_MAX_DEPTH deep counting the record itself, and keys must be unique in every object, nested
 * ones included. Only after the whole text parsed are keys, types and ranges checked. */
#include "hit.h"
#include "jsonw.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned char u8;

/* jansson's JSON_PARSER_MAX_DEPTH: a value nested deeper (the record is depth 1) is refused. */
#define HIT_MAX_DEPTH 2048
/* Keys of unknown or nested objects kept on the stack before the key list needs the heap. */
#define KEYS_INLINE 16
/* Objects with up to this many keys are checked for duplicates pair by pair, larger by sorting. */
#define KEYS_PAIRWISE 8
/* The longest known key ("customer"): an escaped key that decodes longer is unknown. */
#define KEY_NAME_MAX 8

/* For the few scanners every member of every record goes through: inlined, ~10% faster. */
#define HOT static inline __attribute__((always_inline))

#define STR_(x) #x
#define STR(x) STR_(x)

enum key { K_V, K_TS, K_CUSTOMER, K_HOST, K_BYTES, K_STATUS, K_COUNTRY, K_REGION, K_EDGE, K_SRC,
           K_OFF, K_COUNT };
static const char *const key_name[K_COUNT] = {"v",       "ts",     "customer", "host",
                                              "bytes",   "status", "country",  "region",
                                              "edge",    "src",    "off"};
/* What a member value turned out to be; only V_INT and V_STR are ever wanted. */
enum kind { V_NONE, V_STR, V_INT, V_REAL, V_OTHER };
static const u8 key_kind[K_COUNT] = {V_INT, V_INT, V_STR, V_STR, V_INT, V_INT,
                                     V_STR, V_STR, V_STR, V_STR, V_INT};

/* A known key's value as found: a raw string body (escapes not yet undone) or an integer. */
typedef struct field {
    int kind;
    int esc;      /* V_STR: the body holds at least one backslash escape */
    int64_t i;    /* V_INT */
    const u8 *p;  /* V_STR: the body, between the quotes, in the input */
    size_t n;
} field_t;

/* A key of an unknown member or of a nested object, kept until its object closes to check
 * uniqueness. p == NULL marks where a nested object's keys begin; n then holds the enclosing
 * object's first index. */
typedef struct keyrec {
    const u8 *p; /* raw body in the input */
    size_t n;
    int esc;
} keyrec_t;

typedef struct dec {
    const u8 *base, *end;
    field_t f[K_COUNT];
    unsigned seen;       /* bit per known key already met */
    keyrec_t *keys;      /* inl, or the heap once more keys are open at once */
    size_t nkeys, capkeys;
    size_t kbase;        /* first key of the innermost open object */
    const char *why;     /* the syntax error, if any */
    size_t at;           /* its byte offset */
    keyrec_t inl[KEYS_INLINE];
} dec_t;

/* String body bytes, one row per 16 values: 0 plain, 1 '"' (0x22), 2 '\\' (0x5C),
 * 3 control (refused), 4 non-ASCII (must start valid UTF-8). */
static const u8 body_class[256] = {
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

const char *hit_err_name(int err) {
    switch (err) {
    case HIT_OK: return "ok";
    case HIT_ERR_SYNTAX: return "syntax";
    case HIT_ERR_MISSING: return "missing";
    case HIT_ERR_TYPE: return "type";
    case HIT_ERR_RANGE: return "range";
    case HIT_ERR_VERSION: return "version";
    default: return "unknown";
    }
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- encoding ------------------------------------------------------------------------------ */

int hit_encode(const hit_t *h, char *buf, size_t cap) {
    /* Readers hold JSON integers as int64 (jansson's json_int_t): larger would not read back. */
    if (h->bytes > INT64_MAX || h->off > INT64_MAX) return -1;
    jsonw_t w;
    jsonw_init(&w, buf, cap);
    JSONW_LIT(&w, "{\"v\":" STR(HIT_VERSION) ",\"ts\":");
    jsonw_i64(&w, h->ts_ms);
    JSONW_LIT(&w, ",\"customer\":");
    jsonw_str(&w, h->customer.p, h->customer.n);
    JSONW_LIT(&w, ",\"host\":");
    jsonw_str(&w, h->host.p, h->host.n);
    JSONW_LIT(&w, ",\"bytes\":");
    jsonw_u64(&w, h->bytes);
    JSONW_LIT(&w, ",\"status\":");
    jsonw_i64(&w, h->status);
    JSONW_LIT(&w, ",\"country\":");
    jsonw_str(&w, h->country.p, h->country.n);
    JSONW_LIT(&w, ",\"region\":");
    jsonw_str(&w, h->region.p, h->region.n);
    JSONW_LIT(&w, ",\"edge\":");
    jsonw_str(&w, h->edge.p, h->edge.n);
    JSONW_LIT(&w, ",\"src\":");
    jsonw_str(&w, h->src.p, h->src.n);
    JSONW_LIT(&w, ",\"off\":");
    jsonw_u64(&w, h->off);
    JSONW_LIT(&w, "}");
    return jsonw_len(&w);
}

/* Where to cut a line of n bytes to keep at most max: never inside a valid UTF-8 sequence,
 * which would turn its kept bytes into U+FFFD. */
static size_t line_cut(const u8 *p, size_t n, size_t max) {
    if (n <= max) return n;
    size_t s = max - 1; /* the last kept byte, then back to the lead byte of its sequence */
    while (s > 0 && max - 1 - s < 3 && (p[s] & 0xC0) == 0x80)
        s--;
    size_t k = jsonw_utf8_seq(p + s, n - s);
    return k && s + k > max ? s : max;
}

int reject_encode(const reject_t *r, char *buf, size_t cap) {
    if (r->off > INT64_MAX) return -1;
    const char *reason = r->reason ? r->reason : "";
    jsonw_t w;
    jsonw_init(&w, buf, cap);
    JSONW_LIT(&w, "{\"v\":" STR(HIT_VERSION) ",\"edge\":");
    jsonw_str(&w, r->edge.p, r->edge.n);
    JSONW_LIT(&w, ",\"src\":");
    jsonw_str(&w, r->src.p, r->src.n);
    JSONW_LIT(&w, ",\"off\":");
    jsonw_u64(&w, r->off);
    JSONW_LIT(&w, ",\"reason\":");
    jsonw_str(&w, reason, strlen(reason));
    JSONW_LIT(&w, ",\"line\":");
    size_t keep = r->line.p ? line_cut((const u8 *)r->line.p, r->line.n, REJECT_LINE_MAX) : 0;
    jsonw_str(&w, r->line.p, keep);
    JSONW_LIT(&w, "}");
    return jsonw_len(&w);
}

int hit_check(const hit_t *h, char *err, size_t errlen) {
    const char *bad = NULL, *want = NULL;
    if (h->ts_ms < 0) bad = "ts", want = "must not be negative";
    else if (h->customer.n == 0 || h->customer.n > HIT_STR_MAX)
        bad = "customer", want = "must hold 1.." STR(HIT_STR_MAX) " bytes";
    else if (h->host.n > HIT_STR_MAX) bad = "host", want = "is longer than " STR(HIT_STR_MAX);
    else if (h->bytes > INT64_MAX) bad = "bytes", want = "must be 0..2^63-1";
    else if (h->status < 0 || h->status > 999) bad = "status", want = "must be 0..999";
    else if (h->country.n != 2) bad = "country", want = "must hold 2 bytes";
    else if (h->region.n > HIT_STR_MAX) bad = "region", want = "is longer than " STR(HIT_STR_MAX);
    else if (h->edge.n > HIT_STR_MAX) bad = "edge", want = "is longer than " STR(HIT_STR_MAX);
    else if (h->src.n == 0 || h->src.n > HIT_STR_MAX)
        bad = "src", want = "must hold 1.." STR(HIT_STR_MAX) " bytes";
    else if (h->off > INT64_MAX) bad = "off", want = "must be 0..2^63-1";
    if (!bad) return HIT_OK;
    set_err(err, errlen, "range: \"%s\" %s", bad, want);
    return HIT_ERR_RANGE;
}

/* ---- decoding: scanning primitives ----------------------------------------------------------
 * Each returns where the scanned item ends, or NULL after recording why in d. */

static const u8 *fail(dec_t *d, const u8 *p, const char *why) {
    if (!d->why) {
        d->why = why;
        d->at = (size_t)(p - d->base);
    }
    return NULL;
}

static inline const u8 *ws(const u8 *p, const u8 *e) {
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
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
static const u8 *escape_end(dec_t *d, const u8 *p) {
    const u8 *e = d->end;
    if (e - p < 2) return fail(d, p, "unterminated string");
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 2;
    case 'u':
        break;
    default:
        return fail(d, p, "invalid escape");
    }
    long cp = e - p >= 6 ? hex4(p + 2) : -1;
    if (cp < 0) return fail(d, p, "invalid \\u escape");
    if (cp == 0) return fail(d, p, "\\u0000 is not allowed");
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(d, p, "lone low surrogate");
    if (cp < 0xD800 || cp > 0xDBFF) return p + 6;
    long lo = e - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return fail(d, p, "lone high surrogate");
    return p + 12;
}

/* Does any of the 8 bytes in w need a look: '"', '\\', a control byte or a non-ASCII byte?
 * Exact as a yes/no (the borrow tricks only misfire above a byte that really matches). */
static inline int word_special(uint64_t w) {
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t control = (w - ones * 0x20) & ~w, quote = (q - ones) & ~q, bslash = (b - ones) & ~b;
    return ((control | quote | bslash | w) & high) != 0;
}

/* A string body starting at p (after the opening quote): returns the closing quote. Plain runs
 * are skipped 8 bytes at a time: strings are most of a record's bytes. */
HOT const u8 *string_end(dec_t *d, const u8 *p, int *esc) {
    const u8 *e = d->end;
    for (;;) {
        uint64_t w;
        while (e - p >= 8 && (memcpy(&w, p, 8), !word_special(w)))
            p += 8;
        while (p < e && body_class[*p] == 0)
            p++;
        if (p >= e) return fail(d, p, "unterminated string");
        switch (body_class[*p]) {
        case 1:
            return p;
        case 2:
            *esc = 1;
            if (!(p = escape_end(d, p))) return NULL;
            break;
        case 3:
            return fail(d, p, "control character in string");
        default: {
            size_t k = jsonw_utf8_seq(p, (size_t)(e - p));
            if (!k) return fail(d, p, "invalid UTF-8");
            p += k;
        }
        }
    }
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

/* Undoes the escapes of a checked body into out (room for n bytes suffices); returns the length. */
static size_t body_unescape(const u8 *p, size_t n, u8 *out) {
    body_iter_t it = {p, p + n, {0}, 0, 0};
    size_t k = 0;
    for (int c; (c = body_next(&it)) >= 0;)
        out[k++] = (u8)c;
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
        if (*q == '.') in_frac = 1;
        else if (*q != '0') lead = q;
        else if (in_frac) place--;
    }
    if (!lead) return 0; /* zero */
    if (!in_frac) /* the integer digits from lead on, up to the point */
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
static const u8 *number(dec_t *d, const u8 *p, field_t *f) {
    const u8 *e = d->end, *s = p;
    int neg = *p == '-';
    p += neg;
    if (p >= e || !is_digit(*p)) return fail(d, p, "invalid number");
    uint64_t v = 0;
    const u8 *digits = p;
    if (*p == '0') {
        if (++p < e && is_digit(*p)) return fail(d, p, "leading zero");
    } else {
        for (; p < e && is_digit(*p); p++)
            if (p - digits < 19) v = v * 10 + (uint64_t)(*p - '0'); /* < 10^19: no wrap */
    }
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E')) {
        if (*p == '.') {
            if (++p >= e || !is_digit(*p)) return fail(d, p, "invalid number");
            while (p < e && is_digit(*p))
                p++;
        }
        if (p < e && (*p == 'e' || *p == 'E')) {
            if (++p < e && (*p == '+' || *p == '-')) p++;
            if (p >= e || !is_digit(*p)) return fail(d, p, "invalid number");
            while (p < e && is_digit(*p))
                p++;
        }
        if (real_overflows(s, p)) return fail(d, s, "real number overflow");
        if (f) f->kind = V_REAL;
        return p;
    }
    /* json_int_t is long long: jansson refuses what strtoll cannot hold */
    if (p - digits > 19 || v > (uint64_t)INT64_MAX + neg) return fail(d, s, "integer too big");
    if (f) {
        f->kind = V_INT;
        f->i = !neg ? (int64_t)v : v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    }
    return p;
}

/* A string, number, true, false or null at p. With f, records what it was. */
static const u8 *scalar(dec_t *d, const u8 *p, field_t *f) {
    const u8 *e = d->end;
    size_t left = (size_t)(e - p);
    if (*p == '"') {
        int esc = 0;
        const u8 *q = string_end(d, p + 1, &esc);
        if (q && f) *f = (field_t){.kind = V_STR, .esc = esc, .p = p + 1, .n = (size_t)(q - p - 1)};
        return q ? q + 1 : NULL;
    }
    if (*p == '-' || is_digit(*p)) {
        p = number(d, p, f);
    } else {
        size_t n = *p == 't' && left >= 4 && !memcmp(p, "true", 4)    ? 4
                   : *p == 'f' && left >= 5 && !memcmp(p, "false", 5) ? 5
                   : *p == 'n' && left >= 4 && !memcmp(p, "null", 4)  ? 4
                                                                      : 0;
        if (!n) return fail(d, p, "invalid value");
        if (f) f->kind = V_OTHER;
        p += n;
    }
    /* jansson 2.14 reads one byte past a number or a literal and puts it back; its stream takes a
     * put-back NUL for "buffer empty", so one NUL byte right after such a token vanishes. */
    if (p && p < e && *p == 0) p++;
    return p;
}

/* ---- decoding: key uniqueness and nested values ------------------------------------------ */

static int key_push(dec_t *d, const u8 *p, size_t n, int esc) {
    if (d->nkeys == d->capkeys) {
        size_t cap = d->capkeys * 2;
        keyrec_t *k = d->keys == d->inl ? malloc(cap * sizeof *k)
                                        : realloc(d->keys, cap * sizeof *k);
        if (!k) return -1;
        if (d->keys == d->inl) memcpy(k, d->inl, sizeof d->inl);
        d->keys = k;
        d->capkeys = cap;
    }
    d->keys[d->nkeys++] = (keyrec_t){p, n, esc};
    return 0;
}

static int key_order(const void *a, const void *b) {
    const keyrec_t *x = a, *y = b;
    return body_cmp(x->p, x->n, x->esc, y->p, y->n, y->esc);
}

/* Closes the innermost object: refuses a key met twice, then forgets its keys. */
static int key_close(dec_t *d, const u8 *at) {
    keyrec_t *k = d->keys + d->kbase;
    size_t n = d->nkeys - d->kbase;
    int dup = 0;
    if (n > KEYS_PAIRWISE) {
        qsort(k, n, sizeof *k, key_order);
        for (size_t i = 1; i < n && !dup; i++)
            dup = key_order(&k[i - 1], &k[i]) == 0;
    } else {
        for (size_t i = 0; i < n && !dup; i++)
            for (size_t j = i + 1; j < n && !dup; j++)
                dup = key_order(&k[i], &k[j]) == 0;
    }
    if (dup) {
        fail(d, at, "duplicate key");
        return -1;
    }
    if (d->kbase > 0) { /* a nested object: drop its marker too */
        d->nkeys = d->kbase - 1;
        d->kbase = d->keys[d->nkeys].n;
    } else {
        d->nkeys = 0;
    }
    return 0;
}

/* "key" : at p, inside a nested object; returns the value's start. */
static const u8 *member_key(dec_t *d, const u8 *p) {
    const u8 *e = d->end;
    if (p >= e || *p != '"') return fail(d, p, "string expected");
    int esc = 0;
    const u8 *q = string_end(d, p + 1, &esc);
    if (!q) return NULL;
    if (key_push(d, p + 1, (size_t)(q - p - 1), esc) < 0) return fail(d, p, "out of memory");
    p = ws(q + 1, e);
    if (p >= e || *p != ':') return fail(d, p, "':' expected");
    return ws(p + 1, e);
}

/* Checks the value at p, a member of the record (depth 2), whatever it holds, without recursion:
 * open[] remembers for each enclosing container whether it is an object. */
static const u8 *skip_value(dec_t *d, const u8 *p) {
    const u8 *e = d->end;
    u8 open[HIT_MAX_DEPTH];
    size_t sp = 0;
    enum { WANT_VALUE, WANT_KEY, AFTER_VALUE } want = WANT_VALUE;
    for (;;) {
        if (want == WANT_KEY) {
            if (!(p = member_key(d, p))) return NULL;
            want = WANT_VALUE;
        }
        if (want == WANT_VALUE) {
            if (2 + sp > HIT_MAX_DEPTH) return fail(d, p, "nested too deep");
            if (p >= e) return fail(d, p, "value expected");
            if (*p != '{' && *p != '[') {
                if (!(p = scalar(d, p, NULL))) return NULL;
            } else {
                u8 obj = *p == '{';
                p = ws(p + 1, e);
                if (p < e && *p == (obj ? '}' : ']')) {
                    p++; /* empty: a whole value already */
                } else {
                    open[sp++] = obj;
                    if (obj && key_push(d, NULL, d->kbase, 0) < 0)
                        return fail(d, p, "out of memory");
                    if (obj) d->kbase = d->nkeys;
                    want = obj ? WANT_KEY : WANT_VALUE;
                    continue;
                }
            }
            want = AFTER_VALUE;
        }
        if (sp == 0) return p;
        u8 obj = open[sp - 1];
        p = ws(p, e);
        if (p < e && *p == ',') {
            p = ws(p + 1, e);
            want = obj ? WANT_KEY : WANT_VALUE;
        } else if (p < e && *p == (obj ? '}' : ']')) {
            if (obj && key_close(d, p) < 0) return NULL;
            p++;
            sp--;
        } else {
            return fail(d, p, obj ? "',' or '}' expected" : "',' or ']' expected");
        }
    }
}

/* ---- decoding: the record ---------------------------------------------------------------- */

/* Which known key the unescaped name k[0..n) is, or -1. Constant-length memcmp compiles to a
 * load and compare: this runs for every member of every record. */
HOT int key_index(const u8 *k, size_t n) {
    switch (n) {
    case 1: return k[0] == 'v' ? K_V : -1;
    case 2: return k[0] == 't' && k[1] == 's' ? K_TS : -1;
    case 3: return !memcmp(k, "src", 3) ? K_SRC : !memcmp(k, "off", 3) ? K_OFF : -1;
    case 4: return !memcmp(k, "host", 4) ? K_HOST : !memcmp(k, "edge", 4) ? K_EDGE : -1;
    case 5: return !memcmp(k, "bytes", 5) ? K_BYTES : -1;
    case 6: return !memcmp(k, "status", 6) ? K_STATUS : !memcmp(k, "region", 6) ? K_REGION : -1;
    case 7: return !memcmp(k, "country", 7) ? K_COUNTRY : -1;
    case 8: return !memcmp(k, "customer", 8) ? K_CUSTOMER : -1;
    default: return -1;
    }
}

static int key_index_escaped(const u8 *k, size_t n) {
    u8 name[KEY_NAME_MAX + 1];
    body_iter_t it = {k, k + n, {0}, 0, 0};
    size_t len = 0;
    for (int c; len <= KEY_NAME_MAX && (c = body_next(&it)) >= 0;)
        name[len++] = (u8)c;
    return len <= KEY_NAME_MAX ? key_index(name, len) : -1;
}

/* One member of the record at p ('"' expected); returns where its value ends. */
static const u8 *member(dec_t *d, const u8 *p) {
    const u8 *e = d->end;
    if (p >= e || *p != '"') return fail(d, p, "string expected");
    int esc = 0;
    const u8 *k = p + 1, *q = string_end(d, k, &esc);
    if (!q) return NULL;
    size_t n = (size_t)(q - k);
    int i = esc ? key_index_escaped(k, n) : key_index(k, n);
    if (i >= 0) {
        if (d->seen & 1u << i) return fail(d, p, "duplicate key");
        d->seen |= 1u << i;
    } else if (key_push(d, k, n, esc) < 0) {
        return fail(d, p, "out of memory");
    }
    p = ws(q + 1, e);
    if (p >= e || *p != ':') return fail(d, p, "':' expected");
    p = ws(p + 1, e);
    if (p >= e) return fail(d, p, "value expected");
    field_t *f = i >= 0 ? &d->f[i] : NULL;
    if (*p != '{' && *p != '[') return scalar(d, p, f);
    if (f) f->kind = V_OTHER;
    return skip_value(d, p);
}

/* The whole text: one object and nothing but whitespace around it. 0 or -1. */
static int parse(dec_t *d) {
    const u8 *e = d->end, *p = ws(d->base, e);
    if (p >= e || *p != '{') return fail(d, p, "'{' expected"), -1;
    p = ws(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (!(p = member(d, p))) return -1;
            p = ws(p, e);
            if (p < e && *p == ',') {
                p = ws(p + 1, e);
            } else if (p < e && *p == '}') {
                p++;
                break;
            } else {
                return fail(d, p, "',' or '}' expected"), -1;
            }
        }
    }
    if (key_close(d, p) < 0) return -1;
    if (ws(p, e) != e) return fail(d, ws(p, e), "trailing bytes after the object"), -1;
    return 0;
}

/* A string field's value: in the input, or unescaped into scratch. */
static int field_str(const field_t *f, slice_t *out, char *scratch, size_t cap, size_t *used) {
    if (!f->esc) {
        *out = (slice_t){(const char *)f->p, f->n};
        return 0;
    }
    if (cap - *used < f->n) return -1; /* unescaped is never longer than escaped */
    char *o = scratch + *used;
    *out = (slice_t){o, body_unescape(f->p, f->n, (u8 *)o)};
    *used += out->n;
    return 0;
}

/* Keys, types and version of a parsed record, then its values into h. */
static int fill(const dec_t *d, hit_t *h, char *scratch, size_t cap, char *err, size_t errlen) {
    for (int i = 0; i < K_COUNT; i++)
        if (!(d->seen & 1u << i)) {
            set_err(err, errlen, "missing: no key \"%s\"", key_name[i]);
            return HIT_ERR_MISSING;
        }
    for (int i = 0; i < K_COUNT; i++)
        if (d->f[i].kind != key_kind[i]) {
            set_err(err, errlen, "type: \"%s\" is not %s", key_name[i],
                    key_kind[i] == V_INT ? "an integer" : "a string");
            return HIT_ERR_TYPE;
        }
    if (d->f[K_V].i != HIT_VERSION) {
        set_err(err, errlen, "version: \"v\" is %lld, not " STR(HIT_VERSION),
                (long long)d->f[K_V].i);
        return HIT_ERR_VERSION;
    }
    size_t used = 0;
    slice_t *str[K_COUNT] = {[K_CUSTOMER] = &h->customer, [K_HOST] = &h->host,
                             [K_COUNTRY] = &h->country,   [K_REGION] = &h->region,
                             [K_EDGE] = &h->edge,         [K_SRC] = &h->src};
    for (int i = 0; i < K_COUNT; i++)
        if (str[i] && field_str(&d->f[i], str[i], scratch, scratch ? cap : 0, &used) < 0) {
            set_err(err, errlen, "syntax: scratch buffer too small for \"%s\"", key_name[i]);
            return HIT_ERR_SYNTAX;
        }
    h->ts_ms = d->f[K_TS].i;
    /* a negative integer maps above INT64_MAX, which hit_check refuses */
    h->bytes = (uint64_t)d->f[K_BYTES].i;
    h->off = (uint64_t)d->f[K_OFF].i;
    int64_t st = d->f[K_STATUS].i;
    h->status = st >= 0 && st <= 999 ? (int)st : -1;
    return hit_check(h, err, errlen);
}

int hit_decode(hit_t *h, const char *buf, size_t len, char *scratch, size_t scratch_cap,
               char *err, size_t errlen) {
    dec_t d;
    d.base = (const u8 *)(buf ? buf : "");
    d.end = d.base + (buf ? len : 0);
    d.seen = 0; /* d.f[i] is read only once bit i of seen says it was written */
    d.keys = d.inl;
    d.nkeys = d.kbase = 0;
    d.capkeys = KEYS_INLINE;
    d.why = NULL;
    d.at = 0;
    int rc;
    if (parse(&d) < 0) {
        set_err(err, errlen, "syntax: %s at byte %zu", d.why, d.at);
        rc = HIT_ERR_SYNTAX;
        goto out;
    }
    rc = fill(&d, h, scratch, scratch_cap, err, errlen);
out:
    if (d.keys != d.inl) free(d.keys);
    return rc;
}
