/* hit.c: the hit record codec (see hit.h).
 *
 * Encoding writes straight into the buffer when it holds the worst case, else appends with jsonw
 * (bound-checked); both write the same bytes (unit test, fuzz_hit_encode). Decoding is one pass of
 * jsonr's scanners over the text, with no allocation for the records we write (flat, keys in
 * contract order, no escapes): jsonr refuses exactly what jansson refuses (all HIT_ERR_SYNTAX), and
 * only once the whole text parsed are the known keys' presence, types, version and ranges checked,
 * in that order. */
#include "hit.h"

#include "decimal.h"
#include "jsonr.h"
#include "jsonw.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef unsigned char u8;

/* The longest known key ("region_name"): an escaped key that decodes longer is unknown. */
#define KEY_NAME_MAX 11

#define STR_(x) #x
#define STR(x) STR_(x)

/* The record's keys, in contract order. */
enum key {
    K_V,
    K_TS,
    K_CUSTOMER,
    K_HOST,
    K_BYTES,
    K_STATUS,
    K_COUNTRY,
    K_REGION,
    K_EDGE,
    K_SRC,
    K_OFF,
    K_CACHE, /* optional keys from here on */
    K_REGION_NAME,
    K_COUNT
};
#define K_REQUIRED K_CACHE /* keys before it must be present */
static const char *const key_name[K_COUNT] = {"v",      "ts",      "customer",   "host", "bytes",
                                              "status", "country", "region",     "edge", "src",
                                              "off",    "cache",   "region_name"};
static const u8 key_kind[K_COUNT] = {JSONR_INT, JSONR_INT, JSONR_STR, JSONR_STR, JSONR_INT,
                                     JSONR_INT, JSONR_STR, JSONR_STR, JSONR_STR, JSONR_STR,
                                     JSONR_INT, JSONR_STR, JSONR_STR};

typedef struct dec {
    jsonr_t r;
    unsigned seen;          /* bit per known key already met */
    jsonr_val_t f[K_COUNT]; /* f[i] is written when bit i of seen is set, and read only then */
} dec_t;

const char *hit_err_name(int err) {
    switch (err) {
    case HIT_OK:
        return "ok";
    case HIT_ERR_SYNTAX:
        return "syntax";
    case HIT_ERR_MISSING:
        return "missing";
    case HIT_ERR_TYPE:
        return "type";
    case HIT_ERR_RANGE:
        return "range";
    case HIT_ERR_VERSION:
        return "version";
    default:
        return "unknown";
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

/* The bounds-checked writer: used when cap might not hold the record (fast_need), and it writes
 * the same bytes as the fast path (the fuzz target compares the two: a tight cap takes this one).
 */
static int encode_checked(const hit_t *h, char *buf, size_t cap) {
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
    if (h->cache.n) {
        JSONW_LIT(&w, ",\"cache\":");
        jsonw_str(&w, h->cache.p, h->cache.n);
    }
    if (h->region_name.n) {
        JSONW_LIT(&w, ",\"region_name\":");
        jsonw_str(&w, h->region_name.p, h->region_name.n);
    }
    JSONW_LIT(&w, "}");
    return jsonw_len(&w);
}

/* The fast path writes without a bound check per append: it runs only when cap holds the longest
 * text the values could give (every string byte escaped to JSONW_ESC_MAX bytes, every integer 20
 * digits and a sign). Keys and punctuation are constant-size copies, a string that needs no
 * escaping (the usual case: ids, hosts, codes, paths) is one memcpy, and digits are written two
 * at a time. Together ~4x fewer instructions than the jsonw appends, for the same bytes. */
#define KEYS_MAX 160      /* every key, quote, colon, comma and brace of a record; counted: 132 */
#define INT_MAX_DIGITS 21 /* "-9223372036854775808", or 20 digits of a uint64 */

static size_t fast_need(const hit_t *h) {
    const slice_t *s[8] = {&h->customer, &h->host, &h->country, &h->region,
                           &h->edge,     &h->src,  &h->cache,   &h->region_name};
    size_t need = KEYS_MAX + 4 * INT_MAX_DIGITS;
    for (int i = 0; i < 8; i++) {
        if (s[i]->n > (SIZE_MAX / 2 - need) / JSONW_ESC_MAX) return SIZE_MAX;
        need += JSONW_ESC_MAX * s[i]->n + 2;
    }
    return need;
}

static inline uint64_t load64(const char *s) {
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

static inline uint32_t load32(const char *s) {
    uint32_t w;
    memcpy(&w, s, 4);
    return w;
}

/* Copies s[0..n) to o if every byte is one JSON takes as it is (printable ASCII but '"' and
 * '\\'), checking and copying a word at a time; returns 0 (o's bytes then undefined) if not. The
 * last partial word is read overlapping the one before (a yes/no check does not mind reading a
 * byte twice), and strings under 8 bytes as two overlapping halves or single bytes: nothing is
 * read outside s[0..n). */
static inline int copy_plain(char *o, const char *s, size_t n) {
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w = load64(s + i);
            if (jsonw_word_special(w)) return 0;
            memcpy(o + i, &w, 8);
        }
        if (i < n) {
            uint64_t w = load64(s + n - 8);
            if (jsonw_word_special(w)) return 0;
            memcpy(o + n - 8, &w, 8);
        }
        return 1;
    }
    if (n >= 4) {
        uint32_t lo = load32(s), hi = load32(s + n - 4);
        if (jsonw_word_special(lo | (uint64_t)hi << 32)) return 0;
        memcpy(o, &lo, 4);
        memcpy(o + n - 4, &hi, 4);
        return 1;
    }
    if (n == 0) return 1;
    unsigned char a = (unsigned char)s[0], b = (unsigned char)s[n / 2], c = (unsigned char)s[n - 1];
    /* the other five bytes are spaces: plain */
    if (jsonw_word_special(0x2020202020000000u | a | (uint64_t)b << 8 | (uint64_t)c << 16))
        return 0;
    o[0] = (char)a, o[n / 2] = (char)b, o[n - 1] = (char)c;
    return 1;
}

/* Appends "s" at o (escaped by jsonw where it must be; o has room for the worst case). */
static inline char *put_str(char *o, slice_t s) {
    *o = '"';
    if (copy_plain(o + 1, s.p, s.n)) {
        o[s.n + 1] = '"';
        return o + s.n + 2;
    }
    jsonw_t w;
    jsonw_init(&w, o, JSONW_ESC_MAX * s.n + 2);
    jsonw_str(&w, s.p, s.n);
    return o + w.n;
}

/* Appends v in decimal at o. */
static inline char *put_u64(char *o, uint64_t v) {
    char *end = o + dec_width(v);
    dec_digits(end, v);
    return end;
}

static inline char *put_i64(char *o, int64_t v) {
    if (v < 0) *o++ = '-';
    /* 0 - (uint64_t)v is the magnitude even for INT64_MIN, where -v would overflow */
    return put_u64(o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

#define PUT_LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

int hit_encode(const hit_t *h, char *buf, size_t cap) {
    /* Readers hold JSON integers as int64 (jansson's json_int_t): larger would not read back. */
    if (h->bytes > INT64_MAX || h->off > INT64_MAX) return -1;
    if (!buf || cap < fast_need(h)) return encode_checked(h, buf, cap);
    char *o = buf;
    o = PUT_LIT(o, "{\"v\":" STR(HIT_VERSION) ",\"ts\":");
    o = put_i64(o, h->ts_ms);
    o = PUT_LIT(o, ",\"customer\":");
    o = put_str(o, h->customer);
    o = PUT_LIT(o, ",\"host\":");
    o = put_str(o, h->host);
    o = PUT_LIT(o, ",\"bytes\":");
    o = put_u64(o, h->bytes);
    o = PUT_LIT(o, ",\"status\":");
    o = put_i64(o, h->status);
    o = PUT_LIT(o, ",\"country\":");
    o = put_str(o, h->country);
    o = PUT_LIT(o, ",\"region\":");
    o = put_str(o, h->region);
    o = PUT_LIT(o, ",\"edge\":");
    o = put_str(o, h->edge);
    o = PUT_LIT(o, ",\"src\":");
    o = put_str(o, h->src);
    o = PUT_LIT(o, ",\"off\":");
    o = put_u64(o, h->off);
    if (h->cache.n) {
        o = PUT_LIT(o, ",\"cache\":");
        o = put_str(o, h->cache);
    }
    if (h->region_name.n) {
        o = PUT_LIT(o, ",\"region_name\":");
        o = put_str(o, h->region_name);
    }
    *o++ = '}';
    size_t n = (size_t)(o - buf);
    return n > INT_MAX ? -1 : (int)n;
}

hit_cache_t hit_cache_class(const char *p, size_t n) {
    static const struct {
        const char *w;
        hit_cache_t c;
    } words[] = {{"HIT", HIT_CACHE_HIT},      {"STALE", HIT_CACHE_HIT},
                 {"UPDATING", HIT_CACHE_HIT}, {"REVALIDATED", HIT_CACHE_HIT},
                 {"MISS", HIT_CACHE_MISS},    {"EXPIRED", HIT_CACHE_MISS},
                 {"BYPASS", HIT_CACHE_MISS}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].w) == n && memcmp(words[i].w, p, n) == 0) return words[i].c;
    return HIT_CACHE_UNKNOWN;
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

static int range_err(char *err, size_t errlen, const char *key, const char *want) {
    set_err(err, errlen, "range: \"%s\" %s", key, want);
    return HIT_ERR_RANGE;
}

#define LONGER "must be at most " STR(HIT_STR_MAX) " bytes"
#define SIZED "must hold 1.." STR(HIT_STR_MAX) " bytes"

int hit_check(const hit_t *h, char *err, size_t errlen) {
    if (h->ts_ms < 0) return range_err(err, errlen, "ts", "must not be negative");
    if (h->customer.n == 0 || h->customer.n > HIT_STR_MAX)
        return range_err(err, errlen, "customer", SIZED);
    if (h->host.n > HIT_STR_MAX) return range_err(err, errlen, "host", LONGER);
    if (h->bytes > INT64_MAX) return range_err(err, errlen, "bytes", "must be 0..2^63-1");
    if (h->status < 0 || h->status > 999) return range_err(err, errlen, "status", "must be 0..999");
    if (h->country.n != 2) return range_err(err, errlen, "country", "must hold 2 bytes");
    if (h->region.n > HIT_STR_MAX) return range_err(err, errlen, "region", LONGER);
    if (h->edge.n > HIT_STR_MAX) return range_err(err, errlen, "edge", LONGER);
    if (h->src.n == 0 || h->src.n > HIT_STR_MAX) return range_err(err, errlen, "src", SIZED);
    if (h->off > INT64_MAX) return range_err(err, errlen, "off", "must be 0..2^63-1");
    if (h->cache.n > HIT_CACHE_MAX)
        return range_err(err, errlen, "cache", "must be at most " STR(HIT_CACHE_MAX) " bytes");
    if (h->region_name.n > HIT_STR_MAX) return range_err(err, errlen, "region_name", LONGER);
    return HIT_OK;
}

/* ---- decoding: the record ---------------------------------------------------------------- */

/* Which known key the unescaped name k[0..n) is, or -1. Constant-length memcmp compiles to a
 * load and compare: this runs for every member of every record. */
static inline __attribute__((always_inline)) int key_index(const u8 *k, size_t n) {
    switch (n) {
    case 1:
        return k[0] == 'v' ? K_V : -1;
    case 2:
        return k[0] == 't' && k[1] == 's' ? K_TS : -1;
    case 3:
        return !memcmp(k, "src", 3) ? K_SRC : !memcmp(k, "off", 3) ? K_OFF : -1;
    case 4:
        return !memcmp(k, "host", 4) ? K_HOST : !memcmp(k, "edge", 4) ? K_EDGE : -1;
    case 5:
        return !memcmp(k, "bytes", 5) ? K_BYTES : !memcmp(k, "cache", 5) ? K_CACHE : -1;
    case 6:
        return !memcmp(k, "status", 6) ? K_STATUS : !memcmp(k, "region", 6) ? K_REGION : -1;
    case 7:
        return !memcmp(k, "country", 7) ? K_COUNTRY : -1;
    case 8:
        return !memcmp(k, "customer", 8) ? K_CUSTOMER : -1;
    case 11:
        return !memcmp(k, "region_name", 11) ? K_REGION_NAME : -1;
    default:
        return -1;
    }
}

static int key_index_escaped(const u8 *k, size_t n) {
    u8 name[KEY_NAME_MAX];
    size_t len = jsonr_unescape(k, n, name, sizeof name);
    return len <= KEY_NAME_MAX ? key_index(name, len) : -1;
}

/* One member of the record at p ('"' expected); returns where its value ends. */
static const u8 *member(dec_t *d, const u8 *p) {
    jsonr_t *r = &d->r;
    const u8 *e = r->end;
    if (p >= e || *p != '"') return jsonr_fail(r, p, "string expected");
    int esc = 0;
    const u8 *k = p + 1, *q = jsonr_string_end(r, k, &esc);
    if (!q) return NULL;
    size_t n = (size_t)(q - k);
    int i = esc ? key_index_escaped(k, n) : key_index(k, n);
    if (i >= 0) {
        if (d->seen & 1u << i) return jsonr_fail(r, p, "duplicate key");
        d->seen |= 1u << i;
    } else if (jsonr_key_push(r, k, n, esc) < 0) {
        return NULL; /* unknown keys are kept to find duplicates among them */
    }
    p = jsonr_ws(q + 1, e);
    if (p >= e || *p != ':') return jsonr_fail(r, p, "':' expected");
    return jsonr_value(r, jsonr_ws(p + 1, e), 2, i >= 0 ? &d->f[i] : NULL);
}

/* The whole text: one object and nothing but whitespace around it. 0 or -1. */
static int parse(dec_t *d) {
    jsonr_t *r = &d->r;
    const u8 *e = r->end, *p = jsonr_ws(r->base, e);
    if (p >= e || *p != '{') return jsonr_fail(r, p, "'{' expected"), -1;
    p = jsonr_ws(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (!(p = member(d, p))) return -1;
            p = jsonr_ws(p, e);
            if (p < e && *p == ',') {
                p = jsonr_ws(p + 1, e);
            } else if (p < e && *p == '}') {
                p++;
                break;
            } else {
                return jsonr_fail(r, p, "',' or '}' expected"), -1;
            }
        }
    }
    if (jsonr_key_close(r, p) < 0) return -1;
    if (jsonr_ws(p, e) != e)
        return jsonr_fail(r, jsonr_ws(p, e), "trailing bytes after the object"), -1;
    return 0;
}

/* A string field's value: in the input, or unescaped into scratch. */
static int field_str(const jsonr_val_t *f, slice_t *out, char *scratch, size_t cap, size_t *used) {
    if (!f->esc) {
        *out = (slice_t){(const char *)f->p, f->n};
        return 0;
    }
    if (cap - *used < f->n) return -1; /* unescaped is never longer than escaped */
    char *o = scratch + *used;
    *out = (slice_t){o, jsonr_unescape(f->p, f->n, (u8 *)o, f->n)};
    *used += out->n;
    return 0;
}

/* Keys, types and version of a parsed record, then its values into h. */
static int fill(const dec_t *d, hit_t *h, char *scratch, size_t cap, char *err, size_t errlen) {
    for (int i = 0; i < K_REQUIRED; i++)
        if (!(d->seen & 1u << i)) {
            set_err(err, errlen, "missing: no key \"%s\"", key_name[i]);
            return HIT_ERR_MISSING;
        }
    for (int i = 0; i < K_COUNT; i++)
        if ((d->seen & 1u << i) && d->f[i].kind != key_kind[i]) {
            set_err(err, errlen, "type: \"%s\" is not %s", key_name[i],
                    key_kind[i] == JSONR_INT ? "an integer" : "a string");
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
                             [K_EDGE] = &h->edge,         [K_SRC] = &h->src,
                             [K_CACHE] = &h->cache,       [K_REGION_NAME] = &h->region_name};
    h->cache = h->region_name = (slice_t){NULL, 0};
    for (int i = 0; i < K_COUNT; i++)
        if (str[i] && (d->seen & 1u << i) &&
            field_str(&d->f[i], str[i], scratch, scratch ? cap : 0, &used) < 0) {
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

int hit_decode(hit_t *h, const char *buf, size_t len, char *scratch, size_t scratch_cap, char *err,
               size_t errlen) {
    dec_t d;
    jsonr_init(&d.r, buf, len);
    d.seen = 0;
    int rc;
    if (parse(&d) < 0) {
        set_err(err, errlen, "syntax: %s at byte %zu", d.r.why, d.r.at);
        rc = HIT_ERR_SYNTAX;
        goto out;
    }
    rc = fill(&d, h, scratch, scratch_cap, err, errlen);
out:
    jsonr_fini(&d.r);
    return rc;
}
