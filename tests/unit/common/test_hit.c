/* The hit encoder: every record hit_encode writes is JSON that jansson reads back to the same
 * values whatever bytes the strings hold (invalid UTF-8 and NUL as U+FFFD), and hit_decode reads
 * it back too; small buffers are refused, never overrun; dead-letter lines are cut at
 * REJECT_LINE_MAX without splitting a UTF-8 sequence. Decoding: test_hit_decode.c. */
#include "../../../common/hit.h"
#include "../../support/hit_jansson.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALID HIT_SAMPLE_JSON

static slice_t S(const char *s) {
    return (slice_t){s, strlen(s)};
}

/* Decodes text with both decoders; they must agree on the code and, if accepted, the values.
 * Returns the code; *out (if given) gets hit_decode's values, last_err its message. */
static char last_err[512];
static int decode_both_n(const char *text, size_t n, hit_t *out) {
    char why[1024];
    int rc = hit_decode_both(text, n, out, last_err, sizeof last_err, why, sizeof why);
    ck_assert_msg(rc != HIT_DECODERS_DISAGREE, "%s on '%.*s'", why, (int)(n > 300 ? 300 : n), text);
    return rc;
}

/* ---- encoding ---------------------------------------------------------------------------- */

START_TEST(test_round_trip_of_a_realistic_hit) {
    hit_t h = hit_sample(), back;
    char buf[HIT_ENCODED_MAX];
    int n = hit_encode(&h, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(VALID, (buf[n] = 0, buf));
    ck_assert_int_eq(decode_both_n(buf, (size_t)n, &back), HIT_OK);
    ck_assert(hit_equal(&h, &back));
    /* no escapes: every slice points into the record itself */
    ck_assert(back.customer.p >= buf && back.src.p + back.src.n <= buf + n);
}
END_TEST

START_TEST(test_optional_keys_written_last_and_only_when_set) {
    hit_t h = hit_sample(), back;
    char buf[HIT_ENCODED_MAX];
    h.cache = (slice_t){"HIT", 3};
    h.region_name = (slice_t){"California", 10};
    int n = hit_encode(&h, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, "\"off\":1048576,\"cache\":\"HIT\",\"region_name\":"
                                      "\"California\"}"));
    ck_assert_int_eq(decode_both_n(buf, (size_t)n, &back), HIT_OK);
    ck_assert(hit_equal(&h, &back));
    h.cache = (slice_t){"", 0};
    n = hit_encode(&h, buf, sizeof buf);
    buf[n] = 0;
    ck_assert_ptr_null(strstr(buf, "cache"));
    ck_assert_ptr_nonnull(strstr(buf, "region_name"));
}
END_TEST

/* Encodes h with host, src and the reject line set to s; jansson must read s sanitized back. */
static void check_string_survives(const char *s, size_t n) {
    static char buf[HIT_ENCODED_MAX], rbuf[REJECT_ENCODED_MAX], want[3 * REJECT_LINE_MAX];
    ck_assert_uint_le(n, REJECT_LINE_MAX);
    size_t wn = hit_utf8_sanitize(s, n, want);
    hit_t h = hit_sample();
    h.host = h.src = (slice_t){s, n};
    int len = hit_encode(&h, buf, sizeof buf);
    ck_assert_int_gt(len, 0);
    json_error_t je;
    json_t *o = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(o != NULL, "jansson: %s on '%.*s'", je.text, len, buf);
    const char *keys[2] = {"host", "src"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(o, keys[i]);
        ck_assert_uint_eq(json_string_length(v), wn);
        ck_assert(wn == 0 || memcmp(json_string_value(v), want, wn) == 0);
    }
    json_decref(o);
    reject_t r = {.edge = S("e"), .src = S("s"), .off = 7, .reason = "parse", .line = {s, n}};
    len = reject_encode(&r, rbuf, sizeof rbuf);
    ck_assert_int_gt(len, 0);
    o = json_loadb(rbuf, (size_t)len, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(o != NULL, "jansson: %s", je.text);
    json_t *v = json_object_get(o, "line");
    ck_assert_uint_eq(json_string_length(v), wn);
    ck_assert(wn == 0 || memcmp(json_string_value(v), want, wn) == 0);
    json_decref(o);
}

START_TEST(test_every_byte_escapes_to_valid_json) {
    char s[3] = {'a', 0, 'z'};
    for (int b = 0; b < 256; b++) {
        s[1] = (char)b;
        check_string_survives(s, 3);
        check_string_survives(s + 1, 1);
    }
    char all[256];
    for (int b = 0; b < 256; b++)
        all[b] = (char)b;
    check_string_survives(all, sizeof all);
}
END_TEST

/* Sanitizing is local to a sequence, so pairs are checked 256 at a time, each followed by 'x'
 * (end of string after a byte is covered above). */
START_TEST(test_every_byte_pair_escapes_to_valid_json) {
    char s[256 * 3];
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++)
            s[3 * b] = (char)a, s[3 * b + 1] = (char)b, s[3 * b + 2] = 'x';
        check_string_survives(s, sizeof s);
    }
}
END_TEST

/* Lead bytes C0..FF with second bytes around every boundary: overlongs, surrogates,
 * > U+10FFFF, truncated sequences (cut to 1..4 bytes, each followed by 'x'). */
START_TEST(test_utf8_edges_escape_to_valid_json) {
    const unsigned char second[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    const unsigned char tail[] = {0x41, 0x80, 0xBF, 0xC0};
    static char s[4096];
    for (int a = 0xC0; a <= 0xFF; a++) {
        size_t n = 0;
        for (size_t i = 0; i < sizeof second; i++)
            for (size_t j = 0; j < sizeof tail; j++)
                for (size_t k = 0; k < sizeof tail; k++)
                    for (size_t len = 1; len <= 4; len++) {
                        const char seq[4] = {(char)a, (char)second[i], (char)tail[j],
                                             (char)tail[k]};
                        memcpy(s + n, seq, len);
                        n += len;
                        s[n++] = 'x';
                    }
        check_string_survives(s, n);
        check_string_survives(s, 1); /* the lead byte alone, at the end */
        check_string_survives(s, 2);
        check_string_survives(s, 3);
    }
}
END_TEST

START_TEST(test_odd_strings_round_trip) {
    const char *odd[] = {"[2001:db8::1]",
                         "2001:db8::1",
                         "xn--bcher-kva.example",
                         "bücher.example",
                         "C:\\logs\\a\"b.log",
                         "tab\there",
                         "line\nbreak",
                         "ключ",
                         "😀",
                         "/",
                         "\x7f",
                         "",
                         "Z\xC3\xA9"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        hit_t h = hit_sample(), back;
        h.host = h.region = h.edge = S(odd[i]);
        if (odd[i][0]) h.src = h.customer = S(odd[i]);
        char buf[HIT_ENCODED_MAX];
        int n = hit_encode(&h, buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(decode_both_n(buf, (size_t)n, &back), HIT_OK);
        ck_assert_msg(hit_equal(&h, &back), "'%s' changed", odd[i]);
        check_string_survives(odd[i], strlen(odd[i]));
    }
}
END_TEST

START_TEST(test_longest_strings_fit_the_documented_bound) {
    static char ctl[HIT_STR_MAX], buf[HIT_ENCODED_MAX];
    memset(ctl, 0x01, sizeof ctl); /* the worst case: every byte becomes \u0001 */
    hit_t h = hit_sample();
    h.customer = h.host = h.country = h.region = h.edge = h.src = (slice_t){ctl, sizeof ctl};
    h.ts_ms = INT64_MIN, h.bytes = INT64_MAX, h.off = INT64_MAX, h.status = -2147483647 - 1;
    ck_assert_int_gt(hit_encode(&h, buf, sizeof buf), 6 * 6 * HIT_STR_MAX);
    static char rbuf[REJECT_ENCODED_MAX], line[REJECT_LINE_MAX + 100];
    memset(line, 0x02, sizeof line);
    reject_t r = {.edge = {ctl, sizeof ctl},
                  .src = {ctl, sizeof ctl},
                  .off = INT64_MAX,
                  .reason = "too_long",
                  .line = {line, sizeof line}};
    ck_assert_int_gt(reject_encode(&r, rbuf, sizeof rbuf), 6 * REJECT_LINE_MAX);
}
END_TEST

/* Every cap below the record's length is refused and nothing is written at or past cap. */
START_TEST(test_small_buffer_refused_never_overflowed) {
    hit_t h = hit_sample();
    h.host = S("h\x01\xff\"é");
    char full[HIT_ENCODED_MAX], buf[HIT_ENCODED_MAX];
    int n = hit_encode(&h, full, sizeof full);
    ck_assert_int_gt(n, 0);
    for (int cap = 0; cap < n; cap++) {
        memset(buf, 0x5A, sizeof buf);
        ck_assert_int_eq(hit_encode(&h, buf, (size_t)cap), -1);
        for (int i = cap; i < n + 8; i++)
            ck_assert_msg(buf[i] == 0x5A, "cap %d: byte %d written", cap, i);
    }
    ck_assert_int_eq(hit_encode(&h, buf, (size_t)n), n);
    ck_assert_int_eq(hit_encode(&h, NULL, 0), -1);
    reject_t r = {.edge = S("e"), .src = S("s"), .off = 1, .reason = "parse", .line = S("x\x01")};
    n = reject_encode(&r, full, sizeof full);
    for (int cap = 0; cap < n; cap++) {
        memset(buf, 0x5A, sizeof buf);
        ck_assert_int_eq(reject_encode(&r, buf, (size_t)cap), -1);
        for (int i = cap; i < n + 8; i++)
            ck_assert(buf[i] == 0x5A);
    }
}
END_TEST

START_TEST(test_integers_beyond_int64_are_not_encoded) {
    char buf[HIT_ENCODED_MAX];
    hit_t h = hit_sample();
    h.bytes = (uint64_t)INT64_MAX + 1;
    ck_assert_int_eq(hit_encode(&h, buf, sizeof buf), -1);
    h = hit_sample();
    h.off = UINT64_MAX;
    ck_assert_int_eq(hit_encode(&h, buf, sizeof buf), -1);
    h.off = INT64_MAX;
    h.ts_ms = INT64_MIN;
    int n = hit_encode(&h, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(memmem(buf, (size_t)n, "\"ts\":-9223372036854775808,", 26));
    ck_assert_int_eq(decode_both_n(buf, (size_t)n, NULL), HIT_ERR_RANGE); /* ts < 0 */
    reject_t r = {.off = (uint64_t)INT64_MAX + 1};
    ck_assert_int_eq(reject_encode(&r, buf, sizeof buf), -1);
}
END_TEST

START_TEST(test_hit_check_ranges_in_key_order) {
    char err[256];
    hit_t h = hit_sample();
    ck_assert_int_eq(hit_check(&h, err, sizeof err), HIT_OK);
    h.status = 1000;
    h.country = S("USA");
    ck_assert_int_eq(hit_check(&h, err, sizeof err), HIT_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(err, "\"status\""));
    h = hit_sample();
    h.src = S("");
    ck_assert_int_eq(hit_check(&h, err, sizeof err), HIT_ERR_RANGE);
    ck_assert_ptr_nonnull(strstr(err, "\"src\""));
}
END_TEST

/* ---- dead letters ------------------------------------------------------------------------ */

/* The line field of reject_encode's record for line[0..n). */
static json_t *reject_line(const char *line, size_t n) {
    static char buf[REJECT_ENCODED_MAX];
    static json_t *o;
    json_decref(o);
    reject_t r = {
        .edge = S("edge-1"), .src = S("src"), .off = 42, .reason = "too_long", .line = {line, n}};
    int len = reject_encode(&r, buf, sizeof buf);
    ck_assert_int_gt(len, 0);
    json_error_t je;
    o = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(o != NULL, "%s", je.text);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "v")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "off")), 42);
    ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "too_long");
    ck_assert_str_eq(json_string_value(json_object_get(o, "edge")), "edge-1");
    return json_object_get(o, "line");
}

START_TEST(test_reject_line_cut_at_4096_bytes) {
    static char line[REJECT_LINE_MAX + 500];
    memset(line, 'a', sizeof line);
    ck_assert_uint_eq(json_string_length(reject_line(line, sizeof line)), REJECT_LINE_MAX);
    ck_assert_uint_eq(json_string_length(reject_line(line, REJECT_LINE_MAX)), REJECT_LINE_MAX);
    ck_assert_uint_eq(json_string_length(reject_line(line, 17)), 17);
    ck_assert_uint_eq(json_string_length(reject_line(line, 0)), 0);
    /* a 3-byte character over the cut (bytes 4094..4096) is dropped whole */
    memcpy(line + REJECT_LINE_MAX - 2, "\xE2\x82\xAC", 3);
    json_t *v = reject_line(line, sizeof line);
    ck_assert_uint_eq(json_string_length(v), REJECT_LINE_MAX - 2);
    ck_assert(strchr(json_string_value(v), '\xEF') == NULL);
    /* a 4-byte character ending exactly at the cut is kept */
    memcpy(line + REJECT_LINE_MAX - 4, "\xF0\x9F\x98\x80", 4);
    v = reject_line(line, sizeof line);
    ck_assert_uint_eq(json_string_length(v), REJECT_LINE_MAX);
    /* one starting on the last kept byte is dropped */
    memset(line, 'a', sizeof line);
    memcpy(line + REJECT_LINE_MAX - 1, "\xF0\x9F\x98\x80", 4);
    ck_assert_uint_eq(json_string_length(reject_line(line, sizeof line)), REJECT_LINE_MAX - 1);
    /* U+FFFD itself over the cut: dropped whole, not turned into two U+FFFD */
    memset(line, 'a', sizeof line);
    memcpy(line + REJECT_LINE_MAX - 2, "\xEF\xBF\xBD", 3);
    ck_assert_uint_eq(json_string_length(reject_line(line, sizeof line)), REJECT_LINE_MAX - 2);
    /* invalid bytes at the cut are not a sequence: cut at 4096, each becomes U+FFFD */
    memset(line, 'a', sizeof line);
    memset(line + REJECT_LINE_MAX - 2, 0x80, 4);
    v = reject_line(line, sizeof line);
    ck_assert_uint_eq(json_string_length(v), REJECT_LINE_MAX - 2 + 2 * 3);
}
END_TEST

START_TEST(test_reject_with_null_reason_and_line) {
    char buf[256];
    reject_t r = {.edge = S("e"), .src = S("s"), .off = 3};
    int n = reject_encode(&r, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_str_eq(
        buf, "{\"v\":1,\"edge\":\"e\",\"src\":\"s\",\"off\":3,\"reason\":\"\",\"line\":\"\"}");
}
END_TEST

/* Random records: random values encoded, then decoded by both. */
START_TEST(test_random_hits_round_trip) {
    srand(7);
    static char pool[64], buf[HIT_ENCODED_MAX];
    for (int iter = 0; iter < 20000; iter++) {
        for (size_t i = 0; i < sizeof pool; i++)
            pool[i] = (char)(rand() % 4 ? 'a' + rand() % 26 : rand() % 256);
        hit_t h = hit_sample(), back;
        h.ts_ms = rand() % 3 ? (int64_t)rand() * rand() : -(int64_t)rand();
        h.bytes = (uint64_t)rand() * (uint64_t)rand();
        h.status = rand() % 1200 - 100;
        h.host = (slice_t){pool, (size_t)(rand() % 20)};
        h.region = (slice_t){pool + 20, (size_t)(rand() % 4)};
        h.country = (slice_t){pool + 30, (size_t)(rand() % 4)};
        h.src = (slice_t){pool + 40, (size_t)(rand() % 24)};
        int n = hit_encode(&h, buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        int rc = decode_both_n(buf, (size_t)n, &back);
        char err[256];
        /* sanitized strings may differ from the input; for valid UTF-8 they are equal */
        char tmp[6][96];
        hit_t want = h;
        slice_t *f[4] = {&want.host, &want.region, &want.country, &want.src};
        for (int i = 0; i < 4; i++)
            *f[i] = (slice_t){tmp[i], hit_utf8_sanitize(f[i]->p, f[i]->n, tmp[i])};
        ck_assert_int_eq(rc, hit_check(&want, err, sizeof err));
        if (rc == HIT_OK) ck_assert(hit_equal(&want, &back));
    }
}
END_TEST

/* hit_encode has two writers: one without per-append bound checks, taken when cap holds the
 * worst case, and the checked one, taken when it may not (an exact-size buffer). Both must write
 * the same bytes for any values: integers at every digit-count boundary and sign, and strings
 * whose escapes fall anywhere in a word or in its padded tail. jansson reads the integers back. */
START_TEST(test_fast_and_checked_writers_agree_byte_for_byte) {
    static const char specials[] = {'"',  '\\',       0,          1,          0x1f,
                                    0x7f, (char)0x80, (char)0xc3, (char)0xa9, ' '};
    static char pool[8][40], big[HIT_ENCODED_MAX], tight[HIT_ENCODED_MAX];
    uint64_t nums[64];
    size_t nn = 0;
    for (uint64_t p = 1; nn < 58; p *= 10) {
        nums[nn++] = p - 1;
        nums[nn++] = p;
        nums[nn++] = p + 1;
        if (p > UINT64_MAX / 10) break;
    }
    nums[nn++] = INT64_MAX;
    nums[nn++] = (uint64_t)INT64_MAX - 1;
    srand(11);
    for (int iter = 0; iter < 20000; iter++) {
        for (int f = 0; f < 8; f++)
            for (size_t i = 0; i < sizeof pool[f]; i++)
                pool[f][i] = rand() % 6 ? (char)('a' + rand() % 26) : specials[rand() % 10];
        hit_t h = hit_sample();
        uint64_t a = nums[rand() % nn], b = nums[rand() % nn], c = nums[rand() % nn];
        h.ts_ms = rand() % 2 ? (int64_t)a : -(int64_t)a;
        if (iter == 0) h.ts_ms = INT64_MIN;
        h.bytes = b > INT64_MAX ? INT64_MAX : b; /* beyond: refused, another test's case */
        h.off = c > INT64_MAX ? INT64_MAX : c;
        h.status = rand() % 2 ? (int)(a % 100000) : -(int)(b % 100000);
        slice_t *f[8] = {&h.customer, &h.host, &h.country, &h.region,
                         &h.edge,     &h.src,  &h.cache,   &h.region_name};
        for (int i = 0; i < 8; i++)
            *f[i] = (slice_t){pool[i], (size_t)(rand() % (i == 6 ? 17 : 40))};
        int n = hit_encode(&h, big, sizeof big);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(hit_encode(&h, tight, (size_t)n), n);
        ck_assert_msg(memcmp(big, tight, (size_t)n) == 0, "writers differ: '%.*s' / '%.*s'", n, big,
                      n, tight);
        ck_assert_int_eq(hit_encode(&h, tight, (size_t)n - 1), -1);
        json_error_t je;
        json_t *o = json_loadb(big, (size_t)n, JSON_REJECT_DUPLICATES, &je);
        ck_assert_msg(o != NULL, "%s: '%.*s'", je.text, n, big);
        ck_assert(json_integer_value(json_object_get(o, "ts")) == h.ts_ms);
        ck_assert(json_integer_value(json_object_get(o, "bytes")) == (json_int_t)h.bytes);
        ck_assert(json_integer_value(json_object_get(o, "off")) == (json_int_t)h.off);
        ck_assert(json_integer_value(json_object_get(o, "status")) == h.status);
        json_decref(o);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("hit_encode");
    TCase *encode = tcase_create("encode");
    tcase_add_test(encode, test_round_trip_of_a_realistic_hit);
    tcase_add_test(encode, test_every_byte_escapes_to_valid_json);
    tcase_add_test(encode, test_every_byte_pair_escapes_to_valid_json);
    tcase_add_test(encode, test_utf8_edges_escape_to_valid_json);
    tcase_add_test(encode, test_odd_strings_round_trip);
    tcase_add_test(encode, test_longest_strings_fit_the_documented_bound);
    tcase_add_test(encode, test_small_buffer_refused_never_overflowed);
    tcase_add_test(encode, test_integers_beyond_int64_are_not_encoded);
    tcase_add_test(encode, test_hit_check_ranges_in_key_order);
    tcase_add_test(encode, test_reject_line_cut_at_4096_bytes);
    tcase_add_test(encode, test_reject_with_null_reason_and_line);
    tcase_add_test(encode, test_random_hits_round_trip);
    tcase_add_test(encode, test_fast_and_checked_writers_agree_byte_for_byte);
    tcase_add_test(encode, test_optional_keys_written_last_and_only_when_set);
    suite_add_tcase(s, encode);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
