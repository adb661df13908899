/* hit_jansson.c: the jansson oracle (see hit_jansson.h). Deliberately plain: every rule is
 * written from the contract, not shared with common/hit.c, so that the two can disagree. */
#include "hit_jansson.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(int rc, char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* 11 required keys, then the optional ones (cache, region_name: strings when present). */
#define NKEYS 13
#define NREQ 11
static const char *const names[NKEYS] = {"v",      "ts",      "customer",   "host", "bytes",
                                         "status", "country", "region",     "edge", "src",
                                         "off",    "cache",   "region_name"};
static const int is_int[NKEYS] = {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0};

static int check_values(json_t *o, char *err, size_t errlen) {
    for (int i = 0; i < NREQ; i++)
        if (!json_object_get(o, names[i]))
            return refuse(HIT_ERR_MISSING, err, errlen, "missing %s", names[i]);
    for (int i = 0; i < NKEYS; i++) {
        json_t *v = json_object_get(o, names[i]);
        if (!v) continue; /* only optional keys can be absent here */
        if (is_int[i] ? !json_is_integer(v) : !json_is_string(v))
            return refuse(HIT_ERR_TYPE, err, errlen, "type of %s", names[i]);
    }
    if (json_integer_value(json_object_get(o, "v")) != 1)
        return refuse(HIT_ERR_VERSION, err, errlen, "version");
    for (int i = 0; i < NKEYS; i++) {
        json_t *v = json_object_get(o, names[i]);
        const char *k = names[i];
        if (!v) continue;
        int bad;
        if (is_int[i]) {
            json_int_t x = json_integer_value(v);
            bad = strcmp(k, "status") == 0 ? x < 0 || x > 999 : x < 0;
        } else {
            size_t n = json_string_length(v);
            if (strcmp(k, "country") == 0)
                bad = n != 2;
            else if (strcmp(k, "cache") == 0)
                bad = n > 16; /* HIT_CACHE_MAX, written out: the oracle shares no rule */
            else if (strcmp(k, "customer") == 0 || strcmp(k, "src") == 0)
                bad = n < 1 || n > HIT_STR_MAX;
            else
                bad = n > HIT_STR_MAX;
        }
        if (bad) return refuse(HIT_ERR_RANGE, err, errlen, "range of %s", k);
    }
    return HIT_OK;
}

static slice_t copy_str(json_t *o, const char *k, char *scratch, size_t *used) {
    json_t *v = json_object_get(o, k);
    if (!v) return (slice_t){NULL, 0}; /* an absent optional key */
    size_t n = json_string_length(v);
    char *p = scratch + *used;
    if (n) memcpy(p, json_string_value(v), n);
    *used += n;
    return (slice_t){p, n};
}

int hit_decode_jansson(hit_t *h, const char *buf, size_t len, char *scratch, size_t scratch_cap,
                       char *err, size_t errlen) {
    json_error_t je;
    json_t *o = buf ? json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    int rc;
    if (!o) return refuse(HIT_ERR_SYNTAX, err, errlen, "jansson: %s", buf ? je.text : "NULL");
    if (!json_is_object(o)) {
        rc = refuse(HIT_ERR_SYNTAX, err, errlen, "not an object");
        goto out;
    }
    if ((rc = check_values(o, err, errlen)) != HIT_OK) goto out;
    size_t need = 0, used = 0;
    for (int i = 0; i < NKEYS; i++)
        if (!is_int[i] && json_object_get(o, names[i]))
            need += json_string_length(json_object_get(o, names[i]));
    if (need > scratch_cap || (need && !scratch)) {
        rc = refuse(HIT_ERR_SYNTAX, err, errlen, "scratch too small");
        goto out;
    }
    h->ts_ms = json_integer_value(json_object_get(o, "ts"));
    h->bytes = (uint64_t)json_integer_value(json_object_get(o, "bytes"));
    h->status = (int)json_integer_value(json_object_get(o, "status"));
    h->off = (uint64_t)json_integer_value(json_object_get(o, "off"));
    h->customer = copy_str(o, "customer", scratch, &used);
    h->host = copy_str(o, "host", scratch, &used);
    h->country = copy_str(o, "country", scratch, &used);
    h->region = copy_str(o, "region", scratch, &used);
    h->edge = copy_str(o, "edge", scratch, &used);
    h->src = copy_str(o, "src", scratch, &used);
    h->cache = copy_str(o, "cache", scratch, &used);
    h->region_name = copy_str(o, "region_name", scratch, &used);
    rc = HIT_OK;
out:
    json_decref(o);
    return rc;
}

size_t hit_utf8_valid_len(const char *p, size_t n) {
    const unsigned char *u = (const unsigned char *)p;
    if (n == 0 || u[0] == 0) return 0; /* jansson refuses \u0000: NUL counts as invalid */
    unsigned c = u[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || len > n) return 0;
    unsigned long cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t j = 1; j < len; j++) {
        if ((u[j] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (u[j] & 0x3F);
    }
    static const unsigned long min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (len > 1 && (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    return len;
}

size_t hit_utf8_sanitize(const char *in, size_t n, char *out) {
    size_t o = 0, i = 0;
    while (i < n) {
        size_t len = hit_utf8_valid_len(in + i, n - i);
        if (len) {
            memcpy(out + o, in + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    return o;
}

static int slice_eq(slice_t a, slice_t b) {
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int hit_equal(const hit_t *a, const hit_t *b) {
    return a->ts_ms == b->ts_ms && a->bytes == b->bytes && a->status == b->status &&
           a->off == b->off && slice_eq(a->customer, b->customer) && slice_eq(a->host, b->host) &&
           slice_eq(a->country, b->country) && slice_eq(a->region, b->region) &&
           slice_eq(a->edge, b->edge) && slice_eq(a->src, b->src) && slice_eq(a->cache, b->cache) &&
           slice_eq(a->region_name, b->region_name);
}

hit_t hit_sample(void) {
    return (hit_t){.ts_ms = 1764021841123,
                   .customer = {"acme", 4},
                   .host = {"www.acme.example", 16},
                   .bytes = 51234,
                   .status = 200,
                   .country = {"US", 2},
                   .region = {"CA", 2},
                   .edge = {"edge-fra-01", 11},
                   .src = {"3f9a1c2e:/var/log/nginx/access.log", 34},
                   .off = 1048576};
}

int hit_decode_both(const char *text, size_t n, hit_t *out, char *err, size_t errlen, char *why,
                    size_t whylen) {
    static char *s1, *s2; /* grown to the longest text seen; slices stay valid until next call */
    static size_t cap;
    if (n + 1 > cap) {
        char *a = realloc(s1, n + 1), *b = a ? realloc(s2, n + 1) : NULL;
        if (a) s1 = a;
        if (b) s2 = b;
        if (!a || !b) return refuse(HIT_DECODERS_DISAGREE, why, whylen, "out of memory");
        cap = n + 1;
    }
    hit_t a, b;
    char eb[512];
    if (err && errlen) err[0] = 0;
    int ra = hit_decode(&a, text, n, s1, cap, err, errlen);
    int rb = hit_decode_jansson(&b, text, n, s2, cap, eb, sizeof eb);
    if (out) *out = a;
    if (ra != rb)
        return refuse(HIT_DECODERS_DISAGREE, why, whylen, "hit_decode=%d (%s) oracle=%d (%s)", ra,
                      err ? err : "", rb, eb);
    if (ra == HIT_OK && !hit_equal(&a, &b))
        return refuse(HIT_DECODERS_DISAGREE, why, whylen, "both accept, values differ");
    if (ra != HIT_OK && err && errlen && !err[0])
        return refuse(HIT_DECODERS_DISAGREE, why, whylen, "hit_decode gave no message");
    return ra;
}
