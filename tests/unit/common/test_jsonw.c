/* The JSON appender: integers in decimal at every width and sign, strings escaped so that any
 * bytes give valid JSON, the U+FFFD rule on every UTF-8 boundary, and overflow that is sticky
 * and never writes past cap. */
#include "../../../common/jsonw.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the writer produced, NUL-terminated, or "<overflow>". */
static const char *text(jsonw_t *w) {
    static char out[1024];
    int n = jsonw_len(w);
    if (n < 0) return "<overflow>";
    snprintf(out, sizeof out, "%.*s", n, w->buf);
    return out;
}

static const char *str_of(const char *s, size_t n) {
    static char buf[1024];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_str(&w, s, n);
    ck_assert_uint_eq((size_t)jsonw_len(&w), jsonw_str_size(s, n));
    return text(&w);
}

START_TEST(test_integers_match_printf) {
    const int64_t is[] = {0,
                          1,
                          -1,
                          9,
                          10,
                          -10,
                          99,
                          100,
                          12345,
                          -987654321,
                          INT64_MAX,
                          INT64_MIN,
                          INT64_MAX - 1,
                          INT64_MIN + 1,
                          1000000000000000000,
                          1764021841123};
    char buf[64], want[64];
    for (size_t i = 0; i < sizeof is / sizeof *is; i++) {
        jsonw_t w;
        jsonw_init(&w, buf, sizeof buf);
        jsonw_i64(&w, is[i]);
        snprintf(want, sizeof want, "%" PRId64, is[i]);
        ck_assert_str_eq(text(&w), want);
    }
    for (uint64_t u = 1, k = 0; k < 64; k++, u = u * 3 + 1) {
        uint64_t vs[3] = {u, UINT64_MAX - u, u % 1000};
        for (int j = 0; j < 3; j++) {
            jsonw_t w;
            jsonw_init(&w, buf, sizeof buf);
            jsonw_u64(&w, vs[j]);
            snprintf(want, sizeof want, "%" PRIu64, vs[j]);
            ck_assert_str_eq(text(&w), want);
        }
    }
}
END_TEST

START_TEST(test_string_escapes) {
    ck_assert_str_eq(str_of("", 0), "\"\"");
    ck_assert_str_eq(str_of("plain text/ok", 13), "\"plain text/ok\"");
    ck_assert_str_eq(str_of("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    ck_assert_str_eq(str_of("\x01\n\t\x1f\x7f", 5), "\"\\u0001\\u000a\\u0009\\u001f\x7f\"");
    ck_assert_str_eq(str_of("a\0b", 3), "\"a\xEF\xBF\xBD"
                                        "b\""); /* jansson refuses \u0000 */
    ck_assert_str_eq(str_of("caf\xC3\xA9", 5), "\"caf\xC3\xA9\"");
    ck_assert_str_eq(str_of("\xF0\x9F\x98\x80", 4), "\"\xF0\x9F\x98\x80\"");
}
END_TEST

START_TEST(test_invalid_utf8_becomes_replacement_per_byte) {
    struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"\x80", 1, "\xEF\xBF\xBD"},                                 /* stray continuation */
        {"\xC3", 1, "\xEF\xBF\xBD"},                                 /* truncated */
        {"\xC3x", 2, "\xEF\xBF\xBDx"},                               /* bad continuation */
        {"\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong '/' */
        {"\xC1\xBF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong */
        {"\xC2\x80", 2, "\xC2\x80"},                                 /* U+0080, the first 2-byte */
        {"\xE0\x9F\xBF", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* overlong 3-byte */
        {"\xE0\xA0\x80", 3, "\xE0\xA0\x80"},                         /* U+0800 */
        {"\xED\x9F\xBF", 3, "\xED\x9F\xBF"},                         /* U+D7FF */
        {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate D800 */
        {"\xED\xBF\xBF", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate DFFF */
        {"\xEE\x80\x80", 3, "\xEE\x80\x80"},                         /* U+E000 */
        {"\xF0\x8F\xBF\xBF", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF0\x90\x80\x80", 4, "\xF0\x90\x80\x80"}, /* U+10000 */
        {"\xF4\x8F\xBF\xBF", 4, "\xF4\x8F\xBF\xBF"}, /* U+10FFFF */
        {"\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF5\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xFF", 1, "\xEF\xBF\xBD"},
        {"\xE2\x82", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"}, /* truncated euro sign */
    };
    char want[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(want, sizeof want, "\"%s\"", cases[i].out);
        ck_assert_msg(strcmp(str_of(cases[i].in, cases[i].n), want) == 0, "case %zu", i);
    }
    ck_assert_uint_eq(jsonw_utf8_seq((const unsigned char *)"\xE2\x82\xAC", 3), 3);
    ck_assert_uint_eq(jsonw_utf8_seq((const unsigned char *)"\xE2\x82\xAC", 2), 0);
    ck_assert_uint_eq(jsonw_utf8_seq((const unsigned char *)"a", 0), 0);
}
END_TEST

/* Every cap up to the full length: -1 below it, the text at it, nothing written past cap. */
START_TEST(test_overflow_is_sticky_and_bounded) {
    char full[256], buf[256];
    jsonw_t w;
    jsonw_init(&w, full, sizeof full);
    JSONW_LIT(&w, "{\"k\":");
    jsonw_str(&w, "x\x01\xff\"y", 5);
    JSONW_LIT(&w, ",\"n\":");
    jsonw_i64(&w, INT64_MIN);
    JSONW_LIT(&w, "}");
    int n = jsonw_len(&w);
    ck_assert_int_gt(n, 0);
    for (int cap = 0; cap <= n; cap++) {
        memset(buf, 0x5A, sizeof buf);
        jsonw_init(&w, buf, (size_t)cap);
        JSONW_LIT(&w, "{\"k\":");
        jsonw_str(&w, "x\x01\xff\"y", 5);
        JSONW_LIT(&w, ",\"n\":");
        jsonw_i64(&w, INT64_MIN);
        JSONW_LIT(&w, "}");
        if (cap < n) {
            ck_assert_int_eq(jsonw_len(&w), -1);
        } else {
            ck_assert_int_eq(jsonw_len(&w), n);
            ck_assert(memcmp(buf, full, (size_t)n) == 0);
        }
        for (int i = cap; i < (int)sizeof buf; i++)
            ck_assert_msg(buf[i] == 0x5A, "cap %d wrote byte %d", cap, i);
    }
    jsonw_init(&w, NULL, 100);
    JSONW_LIT(&w, "");
    ck_assert_int_eq(jsonw_len(&w), -1);
}
END_TEST

/* jsonw_fputs (billing's reports print JSON to a stream) writes exactly what jsonw_str writes,
 * for random bytes of every kind: controls, quotes, valid and broken UTF-8. */
START_TEST(test_fputs_writes_what_jsonw_str_writes) {
    static const unsigned char alphabet[] = {'a',  '"',  '\\', 0x01, 0x1F, 0x7F, 0xC3, 0xA9, 0xE2,
                                             0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xC0, 'z'};
    char in[64], want[64 * JSONW_ESC_MAX + 3];
    srand(7);
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand() % 40);
        for (size_t i = 0; i < n; i++)
            in[i] = (char)alphabet[rand() % (int)sizeof alphabet];
        in[n] = 0;
        jsonw_t w;
        jsonw_init(&w, want, sizeof want);
        jsonw_str(&w, in, n);
        char *got = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&got, &len);
        ck_assert_ptr_nonnull(f);
        jsonw_fputs(f, in);
        fclose(f);
        ck_assert_int_eq((int)len, jsonw_len(&w));
        ck_assert(memcmp(got, want, len) == 0);
        free(got);
    }
    char *got = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&got, &len);
    jsonw_fputs(f, NULL);
    fclose(f);
    ck_assert_str_eq(got, "null");
    free(got);
}
END_TEST

int main(void) {
    Suite *s = suite_create("jsonw");
    TCase *tc = tcase_create("jsonw");
    tcase_add_test(tc, test_integers_match_printf);
    tcase_add_test(tc, test_string_escapes);
    tcase_add_test(tc, test_fputs_writes_what_jsonw_str_writes);
    tcase_add_test(tc, test_invalid_utf8_becomes_replacement_per_byte);
    tcase_add_test(tc, test_overflow_is_sticky_and_bounded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
