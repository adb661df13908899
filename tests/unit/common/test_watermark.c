/* The watermark record: wm_encode writes JSON that jansson reads back to the same edge and
 * wm_ms whatever bytes the edge holds, wm_decode reads it back, a small buffer is refused and
 * never overrun, and wm_decode refuses every value that is not a v1 watermark (wrong version,
 * kind, types, an empty or overlong edge, a negative time, duplicate keys, not JSON). The key
 * test tells "#wm" from any customer id. */
#include "../../../common/custid.h"
#include "../../../common/watermark.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Encodes (edge, wm) and checks it with jansson and with wm_decode. */
static void round_trip(const char *edge, size_t n, int64_t wm) {
    char buf[WM_ENCODED_MAX], err[256];
    int len = wm_encode(edge, n, wm, buf, sizeof buf);
    ck_assert_int_gt(len, 0);
    json_error_t je;
    json_t *o = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(o != NULL, "jansson: %s on '%.*s'", je.text, len, buf);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "v")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "watermark");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "wm_ms")), wm);
    json_t *e = json_object_get(o, "edge");
    ck_assert_uint_eq(json_string_length(e), n);
    ck_assert(memcmp(json_string_value(e), edge, n) == 0);
    ck_assert_int_eq(json_object_size(o), 4);
    json_decref(o);
    wm_t w;
    ck_assert_msg(wm_decode(&w, buf, (size_t)len, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(strlen(w.edge), n);
    ck_assert(memcmp(w.edge, edge, n) == 0);
    ck_assert_int_eq(w.wm_ms, wm);
}

START_TEST(test_encoded_form_is_the_documented_one) {
    char buf[WM_ENCODED_MAX];
    int n = wm_encode("edge-fra-1", 10, 1764021898000, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_str_eq(
        buf, "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"edge-fra-1\",\"wm_ms\":1764021898000}");
}
END_TEST

START_TEST(test_round_trip_of_plain_and_odd_edges) {
    round_trip("edge-fra-1", 10, 1764021898000);
    round_trip("e", 1, 0);
    round_trip("e", 1, INT64_MAX);
    round_trip("quote\"back\\slash\ttab", 20, 1);
    round_trip("caf\xc3\xa9 \xe2\x82\xac", 9, 42);
    round_trip("\x01\x1f\x7f", 3, 7);
}
END_TEST

START_TEST(test_longest_edge_fits_the_bound) {
    static char edge[HIT_STR_MAX];
    memset(edge, '"', sizeof edge); /* every byte escaped */
    round_trip(edge, sizeof edge, 1764021898000);
    memset(edge, 0x01, sizeof edge); /* \u0001: the longest escape */
    char buf[WM_ENCODED_MAX];
    ck_assert_int_gt(wm_encode(edge, sizeof edge, INT64_MAX, buf, sizeof buf), 0);
}
END_TEST

START_TEST(test_small_buffer_refused_never_overrun) {
    char buf[64 + 8];
    memset(buf, 'X', sizeof buf);
    ck_assert_int_eq(wm_encode("edge-fra-1", 10, 1764021898000, buf, 64), -1);
    for (size_t i = 64; i < sizeof buf; i++)
        ck_assert_int_eq(buf[i], 'X');
    ck_assert_int_eq(wm_encode("e", 1, 1, buf, 0), -1);
}
END_TEST

START_TEST(test_bad_values_are_refused) {
    const char *bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{\"v\":2,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":1}",
        "{\"v\":\"1\",\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":1}",
        "{\"v\":1.0,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":1}",
        "{\"v\":1,\"kind\":\"hit\",\"edge\":\"e\",\"wm_ms\":1}",
        "{\"v\":1,\"edge\":\"e\",\"wm_ms\":1}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"\",\"wm_ms\":1}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":5,\"wm_ms\":1}",
        "{\"v\":1,\"kind\":\"watermark\",\"wm_ms\":1}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"a\\u0000b\",\"wm_ms\":1}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":-1}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":1.5}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":\"1\"}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"e\"}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":1,\"wm_ms\":2}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":99999999999999999999}",
        "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"e\",\"wm_ms\":1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wm_t w;
        char err[256] = "";
        ck_assert_msg(wm_decode(&w, bad[i], strlen(bad[i]), err, sizeof err) == -1, "accepted: %s",
                      bad[i]);
        ck_assert_msg(err[0], "no reason for: %s", bad[i]);
    }
}
END_TEST

START_TEST(test_edge_longer_than_the_bound_is_refused) {
    static char text[HIT_STR_MAX + 128];
    int n = snprintf(text, sizeof text,
                     "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"%0*d\",\"wm_ms\":1}",
                     HIT_STR_MAX + 1, 0);
    wm_t w;
    char err[256];
    ck_assert_int_eq(wm_decode(&w, text, (size_t)n, err, sizeof err), -1);
    n = snprintf(text, sizeof text,
                 "{\"v\":1,\"kind\":\"watermark\",\"edge\":\"%0*d\",\"wm_ms\":1}", HIT_STR_MAX, 0);
    ck_assert_int_eq(wm_decode(&w, text, (size_t)n, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(w.edge), HIT_STR_MAX);
}
END_TEST

START_TEST(test_extra_keys_and_any_order_are_read) {
    const char *t = "{\"wm_ms\":5,\"edge\":\"x\",\"future\":[1],\"kind\":\"watermark\",\"v\":1}";
    wm_t w;
    char err[256];
    ck_assert_int_eq(wm_decode(&w, t, strlen(t), err, sizeof err), 0);
    ck_assert_str_eq(w.edge, "x");
    ck_assert_int_eq(w.wm_ms, 5);
}
END_TEST

START_TEST(test_key_tells_watermarks_from_customers) {
    ck_assert(wm_key_is(WM_KEY, WM_KEY_LEN));
    ck_assert(wm_key_is("#wm", 3));
    ck_assert(!wm_key_is(NULL, 3));
    ck_assert(!wm_key_is("#wm", 2));
    ck_assert(!wm_key_is("#wmx", 4));
    ck_assert(!wm_key_is("#WM", 3));
    ck_assert(!wm_key_is("acme", 4));
    /* no valid customer id is the watermark key */
    ck_assert(!custid_valid(WM_KEY, WM_KEY_LEN));
}
END_TEST

int main(void) {
    Suite *s = suite_create("watermark");
    TCase *t = tcase_create("codec");
    tcase_add_test(t, test_encoded_form_is_the_documented_one);
    tcase_add_test(t, test_round_trip_of_plain_and_odd_edges);
    tcase_add_test(t, test_longest_edge_fits_the_bound);
    tcase_add_test(t, test_small_buffer_refused_never_overrun);
    tcase_add_test(t, test_bad_values_are_refused);
    tcase_add_test(t, test_edge_longer_than_the_bound_is_refused);
    tcase_add_test(t, test_extra_keys_and_any_order_are_read);
    tcase_add_test(t, test_key_tells_watermarks_from_customers);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
