/* The log-line parser: every real line of data/apache_logs is read with the totals an independent
 * reading gives, each format's fields land where they belong, quoting and offsets are handled,
 * and bad lines and bad formats are refused with the contract's reasons. */
#include "../../../collector/format.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Totals of data/apache_logs, derived outside this code:
 *   wc -l apache_logs                                  -> 10000 lines
 *   awk '{ b = $10; if (b == "-") b = 0; s += b } END { printf "%.0f", s }' apache_logs
 *                                                      -> 2747282740 bytes
 *   awk '$9 >= 400' apache_logs | wc -l                -> 220 lines with status >= 400
 * (%.0f, not %d: mawk's %d saturates at 2^31-1.) The test recomputes them with a naive parser. */
#define APACHE_LINES 10000
#define APACHE_BYTES 2747282740ULL
#define APACHE_ERRORS 220
/* 17/May/2015:10:05:03 +0000 (python3: calendar.timegm((2015,5,17,10,5,3)) * 1000) */
#define T0_MS 1431857103000LL
#define LINE_TAIL "\"GET / HTTP/1.1\" 200 1234 \"-\" \"curl/8.0\""
#define T0_LOCAL "[17/May/2015:10:05:03 +0000]"

static format_t *mk(const char *spec) {
    char err[256] = "";
    format_t *f = format_new(spec, err, sizeof err);
    ck_assert_msg(f != NULL, "format_new(%s): %s", spec, err);
    return f;
}

static void parse_ok(format_t *f, const char *line, logrec_t *r) {
    const char *why = "unset";
    int rc = format_parse(f, line, strlen(line), r, &why);
    ck_assert_msg(rc == 0, "refused (%s): %s", why, line);
}

/* The reason a line is refused for, or "ok". */
static const char *why_refused(format_t *f, const char *line) {
    logrec_t r;
    const char *why = NULL;
    if (format_parse(f, line, strlen(line), &r, &why) == 0) return "ok";
    ck_assert_ptr_nonnull(why);
    return why;
}

#define ck_assert_slice(s, str)                                                                    \
    do {                                                                                           \
        slice_t s_ = (s);                                                                          \
        ck_assert_msg(s_.n == strlen(str) && memcmp(s_.p, str, s_.n) == 0, "slice '%.*s' != '%s'", \
                      (int)s_.n, s_.p, str);                                                       \
    } while (0)

/* ---- the real log: tests/data/apache_logs ------------------------------------------------ */

static char *read_file(const char *name, size_t *len) {
    const char *dir = getenv("TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", name);
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = 0;
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* What a naive reader sees in one line of this file: split on spaces (every request here is
 * "METHOD PATH PROTO"), the 1st word the client, the 4th and 5th the time, the 9th the status
 * and the 10th the size; the time through strptime + timegm. */
typedef struct naive {
    char ip[64];
    long long ts_ms;
    int status;
    unsigned long long bytes;
} naive_t;

static void naive_parse(const char *line, size_t n, naive_t *nv) {
    char copy[2048], *words[12] = {0}, *save = NULL;
    ck_assert_uint_lt(n, sizeof copy);
    memcpy(copy, line, n);
    copy[n] = 0;
    int k = 0;
    for (char *w = strtok_r(copy, " ", &save); w && k < 12; w = strtok_r(NULL, " ", &save))
        words[k++] = w;
    ck_assert_int_eq(k, 12);
    snprintf(nv->ip, sizeof nv->ip, "%s", words[0]);
    struct tm tm = {0};
    const char *end = strptime(words[3] + 1, "%d/%b/%Y:%H:%M:%S", &tm);
    ck_assert_msg(end && !*end && strcmp(words[4], "+0000]") == 0, "time of %s", line);
    nv->ts_ms = (long long)timegm(&tm) * 1000;
    nv->status = atoi(words[8]);
    nv->bytes = strcmp(words[9], "-") == 0 ? 0 : strtoull(words[9], NULL, 10);
}

START_TEST(test_every_apache_line_parses_with_the_independent_totals) {
    size_t len;
    char *buf = read_file("apache_logs", &len);
    format_t *f = mk("combined");
    unsigned long long lines = 0, bytes = 0, naive_bytes = 0, errors = 0;
    long long min_ts = -1, max_ts = -1;
    for (size_t start = 0; start < len;) {
        const char *line = buf + start;
        const char *nl = memchr(line, '\n', len - start);
        size_t n = nl ? (size_t)(nl - line) : len - start;
        logrec_t r;
        const char *why = NULL;
        ck_assert_msg(format_parse(f, line, n, &r, &why) == 0, "line %llu refused: %s", lines + 1,
                      why);
        naive_t nv;
        naive_parse(line, n, &nv);
        ck_assert_slice(r.remote_addr, nv.ip);
        ck_assert_int_eq(r.ts_ms, nv.ts_ms);
        ck_assert_int_eq(r.status, nv.status);
        ck_assert_uint_eq(r.bytes, nv.bytes);
        ck_assert_uint_eq(r.host.n, 0); /* combined has no host */
        ck_assert(r.remote_addr.p == line && r.remote_addr.p + r.remote_addr.n <= line + n);
        lines++;
        bytes += r.bytes;
        naive_bytes += nv.bytes;
        errors += r.status >= 400;
        if (min_ts < 0 || r.ts_ms < min_ts) min_ts = r.ts_ms;
        if (r.ts_ms > max_ts) max_ts = r.ts_ms;
        start += n + 1;
    }
    ck_assert_uint_eq(lines, APACHE_LINES);
    ck_assert_uint_eq(bytes, APACHE_BYTES);
    ck_assert_uint_eq(naive_bytes, APACHE_BYTES);
    ck_assert_uint_eq(errors, APACHE_ERRORS);
    /* sort of awk '{print substr($4,2)}': 17/May/2015:10:05:00 .. 20/May/2015:21:05:59 */
    ck_assert_int_eq(min_ts, 1431857100000LL);
    ck_assert_int_eq(max_ts, 1432155959000LL);
    format_free(f);
    free(buf);
}
END_TEST

START_TEST(test_first_apache_line_exact_fields) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f,
             "83.149.9.216 - - [17/May/2015:10:05:03 +0000] \"GET "
             "/presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1\" 200 "
             "203023 \"http://semicomplete.com/presentations/logstash-monitorama-2013/\" "
             "\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like "
             "Gecko) Chrome/32.0.1700.77 Safari/537.36\"",
             &r);
    ck_assert_slice(r.remote_addr, "83.149.9.216");
    ck_assert_int_eq(r.ts_ms, T0_MS);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.bytes, 203023);
    ck_assert_uint_eq(r.host.n, 0);
    format_free(f);
}
END_TEST

START_TEST(test_user_agent_cut_off_at_end_of_line_is_accepted) {
    /* line 8899 of data/apache_logs: the user agent has no closing quote */
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f,
             "46.118.127.106 - - [20/May/2015:12:05:17 +0000] \"GET "
             "/scripts/grok-py-test/configlib.py HTTP/1.1\" 200 235 \"-\" \"Mozilla/5.0 "
             "(compatible; Googlebot/2.1; +http://www.google.com/bot.html",
             &r);
    ck_assert_slice(r.remote_addr, "46.118.127.106");
    ck_assert_int_eq(r.ts_ms, 1432123517000LL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.bytes, 235);
    /* only the last field may be cut off */
    ck_assert_str_eq(why_refused(f, "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 200 1 \"http://x"),
                     "parse");
    ck_assert_str_eq(why_refused(f, "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1 200 1 \"-\" \"u\""),
                     "parse");
    /* a closed last field must end the line */
    ck_assert_str_eq(why_refused(f, "1.2.3.4 - - " T0_LOCAL " " LINE_TAIL " x"), "parse");
    ck_assert_str_eq(why_refused(f, "1.2.3.4 - - " T0_LOCAL " " LINE_TAIL), "ok");
    format_free(f);
}
END_TEST

/* ---- combined: fields and quoting ----------------------------------------------------------- */

START_TEST(test_ipv6_remote_addr) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f, "2001:db8::1 - - " T0_LOCAL " " LINE_TAIL, &r);
    ck_assert_slice(r.remote_addr, "2001:db8::1");
    ck_assert_int_eq(r.ts_ms, T0_MS);
    parse_ok(f, "::ffff:192.0.2.7 - - " T0_LOCAL " " LINE_TAIL, &r);
    ck_assert_slice(r.remote_addr, "::ffff:192.0.2.7");
    ck_assert_uint_eq(r.bytes, 1234);
    format_free(f);
}
END_TEST

START_TEST(test_escaped_quotes_inside_quoted_fields) {
    format_t *f = mk("combined");
    logrec_t r;
    /* Apache escapes '"' as \" and '\' as \\ */
    parse_ok(f,
             "1.2.3.4 - - " T0_LOCAL " \"GET /a\\\"b\\\" HTTP/1.1\" 201 77 \"-\" "
             "\"Mozilla \\\"quoted\\\" \\\\\"",
             &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_uint_eq(r.bytes, 77);
    /* nginx escapes them as \x22 and \x5C */
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " \"GET /\\x22 HTTP/1.1\" 202 78 \"\\x22\" \"a\\x5C\"", &r);
    ck_assert_int_eq(r.status, 202);
    ck_assert_uint_eq(r.bytes, 78);
    /* an even run of backslashes escapes only itself: the quote after it closes the field */
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " \"GET /\\\\\" 203 79 \"-\" \"-\"", &r);
    ck_assert_int_eq(r.status, 203);
    format_free(f);
}
END_TEST

START_TEST(test_empty_and_odd_requests) {
    format_t *f = mk("combined");
    logrec_t r;
    /* what Apache logs for a connection closed before a request line */
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " \"\" 408 0 \"-\" \"-\"", &r);
    ck_assert_int_eq(r.status, 408);
    ck_assert_uint_eq(r.bytes, 0);
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " \"-\" 400 150 \"\" \"\"", &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_uint_eq(r.bytes, 150);
    /* a request with spaces, brackets and "] \"" inside it */
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " \"GET /x] \\\"y [z HTTP/1.0\" 200 5 \"-\" \"-\"", &r);
    ck_assert_uint_eq(r.bytes, 5);
    format_free(f);
}
END_TEST

START_TEST(test_remote_user_may_hold_spaces) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f, "1.2.3.4 - john smith " T0_LOCAL " " LINE_TAIL, &r);
    ck_assert_slice(r.remote_addr, "1.2.3.4");
    ck_assert_int_eq(r.ts_ms, T0_MS);
    format_free(f);
}
END_TEST

START_TEST(test_dash_size_is_zero_bytes) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 304 - \"-\" \"-\"", &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_uint_eq(r.bytes, 0);
    format_free(f);
}
END_TEST

static const char *with_status_bytes(format_t *f, const char *status, const char *bytes) {
    static char line[512];
    snprintf(line, sizeof line, "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" %s %s \"-\" \"-\"",
             status, bytes);
    return why_refused(f, line);
}

START_TEST(test_status_is_three_digits_100_to_999) {
    format_t *f = mk("combined");
    ck_assert_str_eq(with_status_bytes(f, "100", "1"), "ok");
    ck_assert_str_eq(with_status_bytes(f, "999", "1"), "ok");
    static const char *const bad[] = {"099", "20", "2000", "abc", "-", "", "+20", "20x", "0200"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(strcmp(with_status_bytes(f, bad[i], "1"), "parse") == 0, "status '%s'",
                      bad[i]);
    format_free(f);
}
END_TEST

START_TEST(test_bytes_fit_uint64_or_are_refused) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 200 18446744073709551615 \"-\" \"-\"",
             &r);
    ck_assert_uint_eq(r.bytes, UINT64_MAX);
    parse_ok(f,
             "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 200 000000000000000000000042 \"-\" \"-\"",
             &r);
    ck_assert_uint_eq(r.bytes, 42);
    static const char *const bad[] = {
        "18446744073709551616", "99999999999999999999", "-1", "1.5", "12a", "", "--", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(strcmp(with_status_bytes(f, "200", bad[i]), "parse") == 0, "bytes '%s'",
                      bad[i]);
    format_free(f);
}
END_TEST

START_TEST(test_invalid_time_is_refused_as_timestamp) {
    format_t *f = mk("combined");
    static const char *const bad[] = {"[31/Feb/2015:10:05:03 +0000]",
                                      "[17/May/2015:25:05:03 +0000]",
                                      "[17/Foo/2015:10:05:03 +0000]",
                                      "[17/May/2015:10:05:03 +9999]",
                                      "[yesterday]",
                                      "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "1.2.3.4 - - %s %s", bad[i], LINE_TAIL);
        ck_assert_msg(strcmp(why_refused(f, line), "timestamp") == 0, "%s", line);
    }
    format_free(f);
}
END_TEST

START_TEST(test_utc_offsets_are_converted_exactly) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f, "1.2.3.4 - - [17/May/2015:10:05:03 +0530] " LINE_TAIL, &r);
    ck_assert_int_eq(r.ts_ms, T0_MS - 19800000LL);
    parse_ok(f, "1.2.3.4 - - [17/May/2015:10:05:03 -0700] " LINE_TAIL, &r);
    ck_assert_int_eq(r.ts_ms, T0_MS + 25200000LL);
    parse_ok(f, "1.2.3.4 - - [17/May/2015:10:05:03 +1400] " LINE_TAIL, &r);
    ck_assert_int_eq(r.ts_ms, T0_MS - 50400000LL);
    format_free(f);
}
END_TEST

START_TEST(test_time_cache_never_returns_a_stale_time) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f, "1.2.3.4 - - [17/May/2015:10:05:03 +0000] " LINE_TAIL, &r);
    parse_ok(f, "1.2.3.4 - - [17/May/2015:10:05:03 +0000] " LINE_TAIL, &r);
    ck_assert_int_eq(r.ts_ms, T0_MS);
    parse_ok(f, "1.2.3.4 - - [17/May/2015:10:05:04 +0000] " LINE_TAIL, &r);
    ck_assert_int_eq(r.ts_ms, T0_MS + 1000);
    ck_assert_str_eq(why_refused(f, "1.2.3.4 - - [17/May/2015:10:05:99 +0000] " LINE_TAIL),
                     "timestamp");
    ck_assert_str_eq(why_refused(f, "1.2.3.4 - - [17/May/2015:10:05:99 +0000] " LINE_TAIL),
                     "timestamp"); /* a refused time is not remembered as a good one */
    parse_ok(f, "1.2.3.4 - - [17/May/2015:10:05:04 +0100] " LINE_TAIL, &r);
    ck_assert_int_eq(r.ts_ms, T0_MS + 1000 - 3600000LL);
    format_free(f);
}
END_TEST

START_TEST(test_lines_that_do_not_match_are_parse_errors) {
    format_t *f = mk("combined");
    static const char *const bad[] = {
        "this is not a log line",
        "",
        "1.2.3.4",
        " - - " T0_LOCAL " " LINE_TAIL, /* no client address */
        "1.2.3.4 - - " T0_LOCAL,
        "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 200 1234",
        "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 200 1234 \"-\"",
        "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 200 1234 \"-\" curl",
        "1.2.3.4 - - 17/May/2015:10:05:03 +0000 " LINE_TAIL,
        "{\"remote_addr\": \"1.2.3.4\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(strcmp(why_refused(f, bad[i]), "parse") == 0, "accepted: %s", bad[i]);
    format_free(f);
}
END_TEST

START_TEST(test_trailing_cr_is_ignored) {
    format_t *f = mk("combined");
    logrec_t r;
    parse_ok(f, "1.2.3.4 - - " T0_LOCAL " " LINE_TAIL "\r", &r);
    ck_assert_uint_eq(r.bytes, 1234);
    /* only the length given is read: a line need not be NUL-terminated */
    const char *two = "1.2.3.4 - - " T0_LOCAL " \"GET / HTTP/1.1\" 200 99 \"-\" \"-\"GARBAGE";
    const char *why;
    ck_assert_int_eq(format_parse(f, two, strlen(two) - 7, &r, &why), 0);
    ck_assert_uint_eq(r.bytes, 99);
    format_free(f);
}
END_TEST

/* ---- other text formats --------------------------------------------------------------------- */

START_TEST(test_vhost_combined_host_without_port) {
    format_t *f = mk("vhost_combined");
    ck_assert(format_has_host(f));
    logrec_t r;
    parse_ok(f, "www.Example.com:443 2001:db8::7 - - " T0_LOCAL " " LINE_TAIL, &r);
    ck_assert_slice(r.host, "www.Example.com");
    ck_assert_slice(r.remote_addr, "2001:db8::7");
    ck_assert_int_eq(r.ts_ms, T0_MS);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.bytes, 1234);
    ck_assert_str_eq(why_refused(f, "1.2.3.4 - - " T0_LOCAL " " LINE_TAIL), "parse");
    format_free(f);
}
END_TEST

#define LOGGEN_FORMAT                                                                              \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $bytes_sent "                  \
    "\"$http_referer\" \"$http_user_agent\" $host $upstream_cache_status"

START_TEST(test_log_format_with_host_and_bytes_sent) {
    format_t *f = mk(LOGGEN_FORMAT);
    ck_assert(format_has_host(f));
    logrec_t r;
    const char *line = "10.0.0.5 - - [25/Nov/2026:10:00:00 -0700] \"GET / HTTP/1.1\" 404 - \"-\" "
                       "\"ua\" X.B.Example:8080 HIT";
    parse_ok(f, line, &r);
    ck_assert_slice(r.remote_addr, "10.0.0.5");
    ck_assert_slice(r.host, "X.B.Example:8080"); /* the host map drops the port, not the parser */
    ck_assert_int_eq(r.ts_ms, 1795626000000LL);
    ck_assert_int_eq(r.status, 404);
    ck_assert_uint_eq(r.bytes, 0);
    /* slices of a text format point into the line itself */
    ck_assert(r.host.p > line && r.host.p + r.host.n < line + strlen(line));
    ck_assert_str_eq(why_refused(f, "10.0.0.5 - - [25/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" "
                                    "200 1 \"-\" \"ua\" a.example"),
                     "parse"); /* $upstream_cache_status missing */
    format_free(f);
}
END_TEST

START_TEST(test_host_variable_preference) {
    format_t *f = mk("$http_host $remote_addr $host [$time_local] $status $bytes_sent");
    logrec_t r;
    parse_ok(f, "h.example:81 1.2.3.4 real.example " T0_LOCAL " 200 5", &r);
    ck_assert_slice(r.host, "real.example"); /* $host over $http_host */
    format_free(f);
    f = mk("$server_name $http_host $remote_addr [$time_local] $status $bytes_sent");
    parse_ok(f, "srv.example h.example 1.2.3.4 " T0_LOCAL " 200 5", &r);
    ck_assert_slice(r.host, "h.example"); /* $http_host over $server_name */
    parse_ok(f, "srv.example - 1.2.3.4 " T0_LOCAL " 200 5", &r);
    ck_assert_uint_eq(r.host.n, 0); /* "-": no Host header, the collector's default applies */
    format_free(f);
    f = mk("$remote_addr [$time_local] $status $bytes_sent $server_name");
    parse_ok(f, "1.2.3.4 " T0_LOCAL " 200 5 srv.example", &r);
    ck_assert_slice(r.host, "srv.example"); /* the last resort */
    format_free(f);
    f = mk("$remote_addr [$time_local] $status $bytes_sent");
    ck_assert(!format_has_host(f));
    format_free(f);
}
END_TEST

START_TEST(test_bytes_sent_preferred_over_body_bytes_sent) {
    format_t *f = mk("$remote_addr [$time_local] $status $body_bytes_sent $bytes_sent");
    logrec_t r;
    parse_ok(f, "1.2.3.4 " T0_LOCAL " 200 100 345", &r);
    ck_assert_uint_eq(r.bytes, 345);
    format_free(f);
}
END_TEST

START_TEST(test_braced_variables_and_time_kinds) {
    format_t *f = mk("${remote_addr}|${time_iso8601}|${status}|${body_bytes_sent}|${host}");
    logrec_t r;
    parse_ok(f, "1.2.3.4|2015-05-17T12:05:03+02:00|200|42|a.example", &r);
    ck_assert_int_eq(r.ts_ms, T0_MS);
    ck_assert_uint_eq(r.bytes, 42);
    ck_assert_slice(r.host, "a.example");
    ck_assert_str_eq(why_refused(f, "1.2.3.4|2015-05-17T12:05:03|200|42|a.example"), "timestamp");
    format_free(f);
    /* $msec wins over $time_local: it has the milliseconds */
    f = mk("$remote_addr [$time_local] $msec $status $bytes_sent");
    parse_ok(f, "1.2.3.4 [01/Jan/2000:00:00:00 +0000] 1431857103.123 200 1", &r);
    ck_assert_int_eq(r.ts_ms, T0_MS + 123);
    ck_assert_str_eq(why_refused(f, "1.2.3.4 " T0_LOCAL " 1431857103,123 200 1"), "timestamp");
    format_free(f);
}
END_TEST

START_TEST(test_last_unquoted_variable_takes_the_rest_of_the_line) {
    format_t *f = mk("$remote_addr [$time_local] $status $bytes_sent $request");
    logrec_t r;
    parse_ok(f, "1.2.3.4 " T0_LOCAL " 200 9 GET / HTTP/1.1 \"x\"", &r);
    ck_assert_uint_eq(r.bytes, 9);
    parse_ok(f, "1.2.3.4 " T0_LOCAL " 200 9 ", &r);
    format_free(f);
}
END_TEST

START_TEST(test_format_new_names_what_is_wrong) {
    static const struct {
        const char *spec, *want;
    } bad[] = {
        {"$foo $bar", "$remote_addr"},
        {"$remote_addr $status $bytes_sent", "time"},
        {"$remote_addr [$time_local] $bytes_sent", "$status"},
        {"$remote_addr [$time_local] $status", "$bytes_sent"},
        {"$remote_addr$status [$time_local] $bytes_sent", "no text between"},
        {"${remote_addr}${status} [$time_local] $bytes_sent", "no text between"},
        {"$remote_addr $ [$time_local] $status $bytes_sent", "byte 13"},
        {"$remote_addr ${status [$time_local] $bytes_sent", "byte 13"},
        {"$remote_addr ${} [$time_local] $status $bytes_sent", "byte 13"},
        {"", "empty"},
        {"remote_addr time_local status", "$remote_addr"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        ck_assert_ptr_null(format_new(bad[i].spec, err, sizeof err));
        ck_assert_msg(strncmp(err, "--format: ", 10) == 0 && strstr(err, bad[i].want),
                      "spec '%s': err '%s' lacks '%s'", bad[i].spec, err, bad[i].want);
    }
    char big[FORMAT_SPEC_MAX + 2], err[256];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert_ptr_null(format_new(big, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "longer than"));
    char many[FORMAT_SPEC_MAX] = "$remote_addr [$time_local] $status $bytes_sent";
    for (int i = 0; i < FORMAT_MAX_FIELDS; i++)
        strcat(many, " $x");
    ck_assert_ptr_null(format_new(many, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "more than"));
    ck_assert_ptr_null(format_new("$foo", NULL, 0)); /* no error buffer: still refused */
}
END_TEST

/* ---- json ----------------------------------------------------------------------------------- */

START_TEST(test_json_nginx_escape_json_strings) {
    format_t *f = mk("json");
    ck_assert(format_has_host(f));
    logrec_t r;
    const char *line =
        "{\"time_local\":\"17/May/2015:12:05:03 +0200\",\"remote_addr\":\"2001:db8::"
        "\\u0031\",\"host\":\"a.ex\\u0061mple\",\"status\":\"206\","
        "\"body_bytes_sent\":\"1000\",\"bytes_sent\":\"1200\",\"request\":\"GET /\"}";
    parse_ok(f, line, &r);
    ck_assert_int_eq(r.ts_ms, T0_MS);
    ck_assert_slice(r.remote_addr, "2001:db8::1");
    ck_assert_slice(r.host, "a.example");
    ck_assert_int_eq(r.status, 206);
    ck_assert_uint_eq(r.bytes, 1200);
    format_free(f);
}
END_TEST

START_TEST(test_json_numbers_and_time_kinds) {
    format_t *f = mk("json");
    logrec_t r;
    parse_ok(f,
             "{\"remote_addr\":\"1.2.3.4\",\"msec\":1431857103.123,\"status\":200,"
             "\"body_bytes_sent\":9223372036854775807}",
             &r);
    ck_assert_int_eq(r.ts_ms, T0_MS + 123);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.bytes, 9223372036854775807ULL);
    ck_assert_uint_eq(r.host.n, 0);
    parse_ok(f,
             "{\"remote_addr\":\"1.2.3.4\",\"msec\":\"1431857103.123\",\"status\":\"200\","
             "\"bytes_sent\":\"18446744073709551615\",\"host\":\"-\"}",
             &r);
    ck_assert_int_eq(r.ts_ms, T0_MS + 123);
    ck_assert_uint_eq(r.bytes, UINT64_MAX);
    ck_assert_uint_eq(r.host.n, 0);
    parse_ok(f,
             "{\"remote_addr\":\"1.2.3.4\",\"msec\":1431857103,\"status\":200,\"bytes_sent\":0,"
             "\"time_iso8601\":\"2000-01-01T00:00:00Z\"}",
             &r);
    ck_assert_int_eq(r.ts_ms, T0_MS);
    parse_ok(f,
             "{\"remote_addr\":\"1.2.3.4\",\"time_iso8601\":\"2015-05-17T10:05:03Z\","
             "\"status\":200,\"bytes_sent\":7}\r",
             &r);
    ck_assert_int_eq(r.ts_ms, T0_MS);
    format_free(f);
}
END_TEST

START_TEST(test_json_bad_lines) {
#define J(rest)                                                                                    \
    "{\"remote_addr\":\"1.2.3.4\",\"time_local\":\"17/May/2015:10:05:03 +0000\"" rest "}"
#define K(rest) "{\"remote_addr\":\"1.2.3.4\",\"status\":200,\"bytes_sent\":1" rest "}"
    static const struct {
        const char *line, *want;
    } cases[] = {
        {J(",\"status\":200,\"bytes_sent\":1"), "ok"},
        {J(",\"status\":200"), "parse"},
        {J(",\"bytes_sent\":1"), "parse"},
        {J(",\"status\":1000,\"bytes_sent\":1"), "parse"},
        {J(",\"status\":\"20\",\"bytes_sent\":1"), "parse"},
        {J(",\"status\":200.0,\"bytes_sent\":1"), "parse"},
        {J(",\"status\":200,\"bytes_sent\":-1"), "parse"},
        {J(",\"status\":200,\"bytes_sent\":1.5"), "parse"},
        /* jansson holds JSON integers in int64: larger counts must come as strings */
        {J(",\"status\":200,\"bytes_sent\":18446744073709551615"), "parse"},
        {J(",\"status\":200,\"bytes_sent\":\"1x\""), "parse"},
        {J(",\"status\":200,\"bytes_sent\":1,\"host\":7"), "parse"},
        {J(",\"status\":200,\"bytes_sent\":1,\"status\":201"), "parse"}, /* duplicate key */
        {J(",\"status\":200,\"bytes_sent\":1") " x", "parse"},
        {"[1,2]", "parse"},
        {"not json", "parse"},
        {"", "parse"},
        {"{\"remote_addr\":\"\",\"msec\":1,\"status\":200,\"bytes_sent\":1}", "parse"},
        {K(""), "parse"}, /* no time */
        {K(",\"time_local\":17"), "parse"},
        {K(",\"time_local\":\"31/Feb/2015:10:05:03 +0000\""), "timestamp"},
        {K(",\"msec\":-1"), "timestamp"},
        {K(",\"msec\":1e300"), "timestamp"},
        {K(",\"msec\":\"soon\""), "timestamp"},
    };
#undef J
#undef K
    format_t *f = mk("json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(strcmp(why_refused(f, cases[i].line), cases[i].want) == 0, "%s: not %s",
                      cases[i].line, cases[i].want);
    format_free(f);
}
END_TEST

int main(void) {
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_every_apache_line_parses_with_the_independent_totals);
    tcase_add_test(tc, test_first_apache_line_exact_fields);
    tcase_add_test(tc, test_user_agent_cut_off_at_end_of_line_is_accepted);
    tcase_add_test(tc, test_ipv6_remote_addr);
    tcase_add_test(tc, test_escaped_quotes_inside_quoted_fields);
    tcase_add_test(tc, test_empty_and_odd_requests);
    tcase_add_test(tc, test_remote_user_may_hold_spaces);
    tcase_add_test(tc, test_dash_size_is_zero_bytes);
    tcase_add_test(tc, test_status_is_three_digits_100_to_999);
    tcase_add_test(tc, test_bytes_fit_uint64_or_are_refused);
    tcase_add_test(tc, test_invalid_time_is_refused_as_timestamp);
    tcase_add_test(tc, test_utc_offsets_are_converted_exactly);
    tcase_add_test(tc, test_time_cache_never_returns_a_stale_time);
    tcase_add_test(tc, test_lines_that_do_not_match_are_parse_errors);
    tcase_add_test(tc, test_trailing_cr_is_ignored);
    tcase_add_test(tc, test_vhost_combined_host_without_port);
    tcase_add_test(tc, test_log_format_with_host_and_bytes_sent);
    tcase_add_test(tc, test_host_variable_preference);
    tcase_add_test(tc, test_bytes_sent_preferred_over_body_bytes_sent);
    tcase_add_test(tc, test_braced_variables_and_time_kinds);
    tcase_add_test(tc, test_last_unquoted_variable_takes_the_rest_of_the_line);
    tcase_add_test(tc, test_format_new_names_what_is_wrong);
    tcase_add_test(tc, test_json_nginx_escape_json_strings);
    tcase_add_test(tc, test_json_numbers_and_time_kinds);
    tcase_add_test(tc, test_json_bad_lines);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
