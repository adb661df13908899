/* fuzz_hit_encode: whatever a hit holds, hit_encode writes JSON that jansson reads back to the
 * same values (strings as their UTF-8-sanitized form), never writes past cap, and hit_decode
 * reads the text back to those values, or refuses it with the class the contract gives. The same
 * for reject_encode, whose line is cut at REJECT_LINE_MAX without splitting a UTF-8 sequence.
 *
 * Input layout: 8 bytes ts, 8 bytes bytes, 8 bytes off, 2 bytes status, 1 byte flags, then for
 * each of customer, host, country, region, edge, src, reason, line: a 2-byte length (taken modulo
 * what is left, +1) and that many bytes, then the same for the optional cache and region_name
 * (empty when the input ends first: absent from the record). Flag bit 0 keeps bytes and off in
 * int64 range; bit 1 repeats the line to more than REJECT_LINE_MAX bytes. */
#include "../../common/hit.h"
#include "../support/hit_jansson.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSTR 10

static void fail(const char *what, const char *text, size_t n) {
    fprintf(stderr, "fuzz_hit_encode: %s: '%.*s'\n", what, (int)(n > 400 ? 400 : n), text);
    abort();
}

static uint64_t take_u64(const uint8_t **p, size_t *left, size_t k) {
    uint64_t v = 0;
    for (size_t i = 0; i < k && *left; i++, (*p)++, (*left)--)
        v = v << 8 | **p;
    return v;
}

/* The sanitized copy of s, in its own buffer (freed by the caller). */
static slice_t sanitized(slice_t s) {
    char *o = malloc(3 * s.n + 1);
    if (!o) abort();
    return (slice_t){o, hit_utf8_sanitize(s.p, s.n, o)};
}

static int str_is(json_t *o, const char *k, slice_t want) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) == want.n &&
           (want.n == 0 || memcmp(json_string_value(v), want.p, want.n) == 0);
}

static int int_is(json_t *o, const char *k, int64_t want) {
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) == want;
}

/* The code hit_decode must give for a record holding these (sanitized) values. */
static int expected_code(const hit_t *s) {
    int ok = s->ts_ms >= 0 && s->customer.n >= 1 && s->customer.n <= HIT_STR_MAX &&
             s->host.n <= HIT_STR_MAX && s->status >= 0 && s->status <= 999 && s->country.n == 2 &&
             s->region.n <= HIT_STR_MAX && s->edge.n <= HIT_STR_MAX && s->src.n >= 1 &&
             s->src.n <= HIT_STR_MAX && s->cache.n <= HIT_CACHE_MAX &&
             s->region_name.n <= HIT_STR_MAX;
    return ok ? HIT_OK : HIT_ERR_RANGE;
}

static void check_hit(const hit_t *h, const hit_t *s) {
    size_t cap = 512;
    slice_t all[8] = {h->customer, h->host, h->country, h->region,
                      h->edge,     h->src,  h->cache,   h->region_name};
    for (int i = 0; i < 8; i++)
        cap += 6 * all[i].n + 2;
    char *buf = malloc(cap);
    if (!buf) abort();
    int n = hit_encode(h, buf, cap);
    if (h->bytes > INT64_MAX || h->off > INT64_MAX) {
        if (n != -1) fail("encoded an integer beyond int64", buf, n > 0 ? (size_t)n : 0);
        free(buf);
        return;
    }
    if (n < 0) fail("did not fit the worst-case size", "", 0);
    /* one byte short must be refused, and ASan watches the copy's exact bounds */
    char *tight = malloc((size_t)n);
    if (!tight || hit_encode(h, tight, (size_t)n - 1) != -1) fail("overflow not refused", buf, n);
    if (hit_encode(h, tight, (size_t)n) != n || memcmp(tight, buf, (size_t)n) != 0)
        fail("exact fit differs", buf, n);
    free(tight);
    json_error_t je;
    json_t *o = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!o) fail(je.text, buf, (size_t)n);
    size_t keys = 11 + (h->cache.n > 0) + (h->region_name.n > 0);
    if ((h->cache.n ? !str_is(o, "cache", s->cache) : json_object_get(o, "cache") != NULL) ||
        (h->region_name.n ? !str_is(o, "region_name", s->region_name)
                          : json_object_get(o, "region_name") != NULL))
        fail("optional keys read back otherwise", buf, (size_t)n);
    if (json_object_size(o) != keys || !int_is(o, "v", 1) || !int_is(o, "ts", h->ts_ms) ||
        !int_is(o, "bytes", (int64_t)h->bytes) || !int_is(o, "status", h->status) ||
        !int_is(o, "off", (int64_t)h->off) || !str_is(o, "customer", s->customer) ||
        !str_is(o, "host", s->host) || !str_is(o, "country", s->country) ||
        !str_is(o, "region", s->region) || !str_is(o, "edge", s->edge) || !str_is(o, "src", s->src))
        fail("jansson reads other values", buf, (size_t)n);
    json_decref(o);
    hit_t a, b;
    char *s1 = malloc((size_t)n), *s2 = malloc((size_t)n), ea[256] = "", eb[256] = "";
    if (!s1 || !s2) abort();
    int ra = hit_decode(&a, buf, (size_t)n, s1, (size_t)n, ea, sizeof ea);
    int rb = hit_decode_jansson(&b, buf, (size_t)n, s2, (size_t)n, eb, sizeof eb);
    if (ra != expected_code(s) || rb != ra) fail(ea[0] ? ea : "decode code", buf, (size_t)n);
    if (ra == HIT_OK && (!hit_equal(&a, s) || !hit_equal(&b, s))) fail("decoded values", buf, n);
    free(s1);
    free(s2);
    free(buf);
}

static void check_reject(const reject_t *r, slice_t edge, slice_t src, slice_t reason) {
    size_t cap = 6 * (r->edge.n + r->src.n + reason.n + REJECT_LINE_MAX) + 256;
    char *buf = malloc(cap);
    if (!buf) abort();
    int n = reject_encode(r, buf, cap);
    if (n < 0) fail("reject did not fit", "", 0);
    json_error_t je;
    json_t *o = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!o) fail(je.text, buf, (size_t)n);
    /* the cut: REJECT_LINE_MAX, or less so as not to fall inside a valid UTF-8 sequence of the
     * whole line (found by walking the line sequence by sequence) */
    size_t k = r->line.n;
    if (k > REJECT_LINE_MAX) {
        size_t i = 0, start = 0;
        while (i < REJECT_LINE_MAX) {
            size_t len = hit_utf8_valid_len(r->line.p + i, r->line.n - i);
            start = i;
            i += len ? len : 1;
        }
        k = i == REJECT_LINE_MAX ? i : start; /* past it: the last sequence straddles the cut */
    }
    slice_t kept = sanitized((slice_t){r->line.p, k});
    if (json_object_size(o) != 6 || !int_is(o, "v", 1) || !int_is(o, "off", (int64_t)r->off) ||
        !str_is(o, "edge", edge) || !str_is(o, "src", src) || !str_is(o, "reason", reason) ||
        !str_is(o, "line", kept))
        fail("reject reads other values", buf, (size_t)n);
    json_decref(o);
    free((void *)kept.p);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *p = data;
    size_t left = size;
    hit_t h;
    h.ts_ms = (int64_t)take_u64(&p, &left, 8);
    h.bytes = take_u64(&p, &left, 8);
    h.off = take_u64(&p, &left, 8);
    h.status = (int16_t)take_u64(&p, &left, 2);
    unsigned flags = (unsigned)take_u64(&p, &left, 1);
    if (flags & 1) h.bytes &= INT64_MAX, h.off &= INT64_MAX;
    slice_t str[NSTR];
    for (int i = 0; i < NSTR; i++) {
        size_t n = (size_t)take_u64(&p, &left, 2) % (left + 1);
        char *c = malloc(n ? n : 1); /* exact size: ASan sees reads past the string */
        if (!c) abort();
        if (n) memcpy(c, p, n);
        str[i] = (slice_t){c, n};
        p += n, left -= n;
    }
    h.customer = str[0], h.host = str[1], h.country = str[2], h.region = str[3];
    h.edge = str[4], h.src = str[5], h.cache = str[8], h.region_name = str[9];
    hit_t s = h;
    slice_t *fields[8] = {&s.customer, &s.host, &s.country, &s.region,
                          &s.edge,     &s.src,  &s.cache,   &s.region_name};
    for (int i = 0; i < 8; i++)
        *fields[i] = sanitized(*fields[i]);
    check_hit(&h, &s);

    /* reason is a C string: cut at its first NUL */
    char *reason = malloc(str[6].n + 1);
    if (!reason) abort();
    if (str[6].n) memcpy(reason, str[6].p, str[6].n);
    reason[str[6].n] = 0;
    slice_t line = str[7];
    char *longline = NULL;
    if ((flags & 2) && line.n) { /* repeat the line past the cut */
        size_t n = REJECT_LINE_MAX + 1 + line.n;
        if (!(longline = malloc(n))) abort();
        for (size_t i = 0; i < n; i++)
            longline[i] = line.p[i % line.n];
        line = (slice_t){longline, n};
    }
    reject_t r = {
        .edge = h.edge, .src = h.src, .off = h.off & INT64_MAX, .reason = reason, .line = line};
    slice_t rs = sanitized((slice_t){reason, strlen(reason)});
    check_reject(&r, s.edge, s.src, rs);
    free((void *)rs.p);
    free(longline);
    free(reason);
    for (int i = 0; i < 8; i++)
        free((void *)fields[i]->p);
    for (int i = 0; i < NSTR; i++)
        free((void *)str[i].p);
    return 0;
}
