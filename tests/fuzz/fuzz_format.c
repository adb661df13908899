/* fuzz_format: the log-line parser never crashes, leaks or reads outside a line, whatever the
 * line and whatever the log_format string; what it accepts obeys logrec_t's invariants; and a
 * combined line built from known values gives those values back.
 *
 * The first input byte picks the mode:
 *   0-4  the rest is lines ('\n'-separated) for a fixed format: combined, vhost_combined, json,
 *        a log_format with $host, then (4) one with $time_iso8601 or (11) one with $msec
 *   5    the first line is a format string given to format_new; the other lines are parsed with
 *        it if it compiles
 *   6    the bytes are values (time, offset, status, bytes, address) and two free-text fields:
 *        a combined line is written from them, Apache-escaped, and must parse back to them */
#include "../../collector/format.h"
#include "../../collector/logtime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIXED_FORMATS 6
static const char *const fixed_specs[FIXED_FORMATS] = {
    "combined",
    "vhost_combined",
    "json",
    ("$remote_addr - $remote_user [$time_local] \"$request\" $status $bytes_sent "
     "\"$http_referer\" \"$http_user_agent\" $host $upstream_cache_status"),
    "${remote_addr}|${time_iso8601}|\"${request}\"|${status}|${body_bytes_sent}|${http_host}",
    "$msec $remote_addr $status $bytes_sent \"$http_user_agent\"",
};

static void fail(const char *what, const char *line, size_t n) {
    fprintf(stderr, "fuzz_format: %s: '%.*s'\n", what, (int)(n > 300 ? 300 : n), line);
    abort();
}

static int inside(slice_t s, const char *line, size_t n) {
    return s.n == 0 || (s.p >= line && s.p + s.n <= line + n);
}

/* Parses line [p, p+n) from a buffer of exactly n bytes (so ASan sees any read past it) and
 * checks what format_parse promises. */
static void parse_checked(format_t *f, int json, const char *p, size_t n) {
    char *line = malloc(n ? n : 1);
    if (!line) return;
    memcpy(line, p, n);
    logrec_t r;
    const char *why = NULL;
    if (format_parse(f, line, n, &r, &why) == 0) {
        if (r.status < 100 || r.status > 999) fail("status out of range", line, n);
        if (r.ts_ms < 0 || r.ts_ms > LOGTIME_MS_MAX) fail("time out of range", line, n);
        if (r.remote_addr.n == 0) fail("empty remote_addr", line, n);
        if (r.host.n == 1 && r.host.p[0] == '-') fail("host '-'", line, n);
        if (!json && (!inside(r.remote_addr, line, n) || !inside(r.host, line, n) ||
                      !inside(r.cache, line, n)))
            fail("slice outside the line", line, n);
        /* json slices live in the format's scratch: reading them must be valid */
        volatile unsigned sum = 0;
        for (size_t i = 0; i < r.remote_addr.n; i++)
            sum += (unsigned char)r.remote_addr.p[i];
        for (size_t i = 0; i < r.host.n; i++)
            sum += (unsigned char)r.host.p[i];
        for (size_t i = 0; i < r.cache.n; i++)
            sum += (unsigned char)r.cache.p[i];
        (void)sum;
    } else if (!why || (strcmp(why, "parse") != 0 && strcmp(why, "timestamp") != 0)) {
        fail("refused without a contract reason", line, n);
    }
    free(line);
}

static void parse_lines(format_t *f, int json, const char *p, size_t n) {
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        parse_checked(f, json, p, len);
        if (!nl) break;
        p += len + 1;
        n -= len + 1;
    }
}

static uint64_t take(const uint8_t **d, size_t *n, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i<bytes && * n> 0; i++, (*d)++, (*n)--)
        v = v << 8 | **d;
    return v;
}

/* Appends s[0..n) to out, Apache-escaped: '"' and '\' get a backslash. */
static size_t put_escaped(char *out, const uint8_t *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') out[k++] = '\\';
        out[k++] = (char)s[i];
    }
    return k;
}

/* Mode 6: a combined line written from known values must read back exactly. */
static void round_trip(format_t *combined, const uint8_t *d, size_t n) {
    int64_t t = (int64_t)(take(&d, &n, 5) % 253402300800ULL);
    int off = (int)(take(&d, &n, 2) % (2 * LOGTIME_OFFSET_MAX_MIN + 1)) - LOGTIME_OFFSET_MAX_MIN;
    int status = 100 + (int)(take(&d, &n, 2) % 900);
    uint64_t bytes = take(&d, &n, 8);
    uint32_t ip = (uint32_t)take(&d, &n, 4);
    size_t split = n ? take(&d, &n, 1) % (n + 1) : 0;
    time_t local = (time_t)(t + off * 60);
    struct tm tm;
    if (local < 0 || !gmtime_r(&local, &tm) || tm.tm_year + 1900 > LOGTIME_YEAR_MAX) return;
    char ts[64];
    strftime(ts, sizeof ts, "%d/%b/%Y:%H:%M:%S", &tm);
    int a = off < 0 ? -off : off;
    char *line = malloc(2 * n + 256);
    if (!line) return;
    char addr[16];
    snprintf(addr, sizeof addr, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    size_t k = (size_t)sprintf(line, "%s - - [%s %c%02d%02d] \"", addr, ts, off < 0 ? '-' : '+',
                               a / 60, a % 60);
    k += put_escaped(line + k, d, split); /* the request */
    k += (size_t)sprintf(line + k, "\" %d %llu \"-\" \"", status, (unsigned long long)bytes);
    k += put_escaped(line + k, d + split, n - split); /* the user agent */
    line[k++] = '"';
    logrec_t r;
    const char *why = NULL;
    if (format_parse(combined, line, k, &r, &why) != 0) fail("built line refused", line, k);
    if (r.ts_ms != t * 1000 || r.status != status || r.bytes != bytes ||
        r.remote_addr.n != strlen(addr) || memcmp(r.remote_addr.p, addr, r.remote_addr.n) != 0)
        fail("built line read back wrong", line, k);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static format_t *fixed[FIXED_FORMATS];
    if (!fixed[0]) {
        for (int i = 0; i < FIXED_FORMATS; i++) {
            char err[256];
            fixed[i] = format_new(fixed_specs[i], err, sizeof err);
            if (!fixed[i]) fail(err, fixed_specs[i], strlen(fixed_specs[i]));
        }
    }
    if (size < 1) return 0;
    unsigned mode = data[0] % 7;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (mode < 5) {
        /* mode 4: the first byte's next bit picks the $time_iso8601 or the $msec format */
        int which = mode == 4 ? 4 + (data[0] / 7) % 2 : (int)mode;
        parse_lines(fixed[which], which == 2, p, n);
    } else if (mode == 5) {
        const char *nl = memchr(p, '\n', n);
        size_t specn = nl ? (size_t)(nl - p) : n;
        char *spec = malloc(specn + 1);
        if (!spec) return 0;
        memcpy(spec, p, specn);
        spec[specn] = 0;
        char err[256] = "";
        format_t *f = format_new(spec, err, sizeof err);
        if (!f && strncmp(err, "--format: ", 10) != 0)
            fail("refused without a message", spec, specn);
        if (f && nl) parse_lines(f, strcmp(spec, "json") == 0, nl + 1, n - specn - 1);
        format_free(f);
        free(spec);
    } else {
        round_trip(fixed[0], data + 1, n);
    }
    return 0;
}
