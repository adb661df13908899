/* Request routing reads the raw request target as route.h says: the contract's window path with
 * its strict `seconds` query, trailing slashes, percent-encoding, the other endpoints and the
 * dashboard's files, bounds; and the Authorization header's bearer token. */
#include "../../../aggregator/route.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static route_t parse(const char *target) {
    route_t r;
    memset(&r, 0x5a, sizeof r); /* route_parse must set every field it promises */
    route_parse(target, strlen(target), &r);
    return r;
}

/* A window request that must be accepted: its customer and seconds. */
#define ck_window(target, cust, secs)                                                              \
    do {                                                                                           \
        route_t r_ = parse(target);                                                                \
        ck_assert_msg(r_.kind == ROUTE_WINDOW, "%s: kind %d", target, r_.kind);                    \
        ck_assert_msg(r_.error[0] == 0, "%s: error '%s'", target, r_.error);                       \
        ck_assert_str_eq(r_.customer, cust);                                                       \
        ck_assert_int_eq(r_.seconds, secs);                                                        \
    } while (0)

/* A window request that must get a 400 whose message holds needle. */
#define ck_window_bad(target, needle)                                                              \
    do {                                                                                           \
        route_t r_ = parse(target);                                                                \
        ck_assert_msg(r_.kind == ROUTE_WINDOW, "%s: kind %d", target, r_.kind);                    \
        ck_assert_msg(strstr(r_.error, needle) != NULL, "%s: error '%s' lacks '%s'", target,       \
                      r_.error, needle);                                                           \
    } while (0)

#define ck_kind(target, k)                                                                         \
    do {                                                                                           \
        route_t r_ = parse(target);                                                                \
        ck_assert_msg(r_.kind == (k), "%s: kind %d, want %d", target, r_.kind, (k));               \
    } while (0)

#define BAD_SECONDS "seconds must be a whole number from 1 to 60"

START_TEST(test_window_path_defaults_to_sixty_seconds) {
    ck_window("/v1/customers/acme/window", "acme", 60);
    ck_window("/v1/customers/acme/window?", "acme", 60);
    ck_window("/v1/customers/a.b_c-D9/window", "a.b_c-D9", 60);
}
END_TEST

START_TEST(test_window_seconds_from_one_to_sixty) {
    ck_window("/v1/customers/acme/window?seconds=1", "acme", 1);
    ck_window("/v1/customers/acme/window?seconds=10", "acme", 10);
    ck_window("/v1/customers/acme/window?seconds=60", "acme", 60);
    ck_window("/v1/customers/acme/window?seconds=007", "acme", 7); /* decimal, leading zeros */
    ck_window("/v1/customers/acme/window?seconds=%33%30", "acme", 30);
    ck_window("/v1/customers/acme/window?&seconds=5&", "acme", 5); /* empty pieces are nothing */
}
END_TEST

START_TEST(test_bad_seconds_are_refused_with_a_message) {
    static const char *const bad[] = {
        "0",  "61",         "-1", "1e1", "",     "abc",  "99999999999999999999999999999999",
        "+5", " 5",         "5 ", "5.0", "0x10", "%2B5", "6%00",
        "１", "4294967297", "-0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char t[256];
        snprintf(t, sizeof t, "/v1/customers/acme/window?seconds=%s", bad[i]);
        ck_window_bad(t, BAD_SECONDS);
    }
    ck_window_bad("/v1/customers/acme/window?seconds", BAD_SECONDS);
    ck_window_bad("/v1/customers/acme/window?seconds=+5", BAD_SECONDS); /* '+' is a space */
}
END_TEST

START_TEST(test_seconds_given_twice_is_refused_even_when_equal) {
    ck_window_bad("/v1/customers/acme/window?seconds=10&seconds=10", "more than once");
    ck_window_bad("/v1/customers/acme/window?seconds=10&seconds=20", "more than once");
    ck_window_bad("/v1/customers/acme/window?seconds=10&second%73=20", "more than once");
}
END_TEST

START_TEST(test_unknown_query_parameters_are_refused) {
    ck_window_bad("/v1/customers/acme/window?secs=10", "unknown query parameter 'secs'");
    ck_window_bad("/v1/customers/acme/window?seconds=10&x=1", "unknown query parameter 'x'");
    ck_window_bad("/v1/customers/acme/window?=5", "unknown query parameter ''");
    /* What a message quotes is made safe to show: no quotes, no control bytes. */
    route_t r = parse("/v1/customers/acme/window?a%22b%0A=1");
    ck_assert_str_eq(r.error, "unknown query parameter 'a?b?': the only one is seconds");
}
END_TEST

START_TEST(test_bad_percent_encoding_in_the_query_is_refused) {
    ck_window_bad("/v1/customers/acme/window?seconds=1%", BAD_SECONDS);
    ck_window_bad("/v1/customers/acme/window?seconds=%zz", BAD_SECONDS);
    ck_window_bad("/v1/customers/acme/window?sec%onds=1", "bad percent-encoding");
}
END_TEST

START_TEST(test_one_trailing_slash_is_ignored) {
    ck_window("/v1/customers/acme/window/", "acme", 60);
    ck_window("/v1/customers/acme/window/?seconds=3", "acme", 3);
    ck_kind("/v1/customers/acme/window//", ROUTE_NOT_FOUND);
    ck_kind("/metrics/", ROUTE_METRICS);
    ck_kind("/v1/token/", ROUTE_TOKEN);
    ck_kind("//", ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(test_path_segments_are_percent_decoded_before_matching) {
    ck_window("/v1/customers/ac%6De/window", "acme", 60);
    ck_window("/v1/%63ustomers/acme/%77indow", "acme", 60);
    ck_window("/%76%31/customers/ACME/window", "ACME", 60); /* ids are case-sensitive */
    ck_kind("/%6detrics", ROUTE_METRICS);
}
END_TEST

START_TEST(test_bad_customer_ids_are_refused_and_not_kept) {
    static const char *const bad[] = {
        "ac%2Fme",
        "ac%00me",
        "ac%zzme",
        "ac%me",
        "a%20b",
        "a+b",
        "%C3%A9",
        "a:b",
        "a*",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char t[256];
        snprintf(t, sizeof t, "/v1/customers/%s/window?seconds=5", bad[i]);
        route_t r = parse(t);
        ck_assert_msg(r.kind == ROUTE_WINDOW, "%s: kind %d", t, r.kind);
        ck_assert_msg(strstr(r.error, "customer id") != NULL, "%s: error '%s'", t, r.error);
        ck_assert_msg(r.customer[0] == 0, "%s: customer '%s' kept", t, r.customer);
    }
    /* 64 bytes is the longest id. */
    ck_window(
        "/v1/customers/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/window",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 60);
}
END_TEST

START_TEST(test_unknown_paths_are_not_found) {
    static const char *const nf[] = {
        "",
        "v1/customers/acme/window",
        "*",
        "/v1",
        "/v1/",
        "/v1/customers/acme",
        "/v1/customers/acme/windows",
        "/v1/customers/acme/window/x",
        "/v1/customers//window",
        "/V1/customers/acme/window",
        "/v2/customers/acme/window",
        "/v1/customers/acme/window%2F",
        "/v1//token",
        "/a/b.js",
        "/.env",
        "/app%00.js",
        "/%2e%2e",
        "/../etc/passwd",
        "/a b",
        "http://localhost/v1/customers/acme/window",
    };
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++)
        ck_kind(nf[i], ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(test_other_endpoints_ignore_their_query) {
    ck_kind("/metrics", ROUTE_METRICS);
    ck_kind("/metrics?name[]=x", ROUTE_METRICS);
    ck_kind("/healthz", ROUTE_HEALTHZ);
    ck_kind("/readyz?verbose", ROUTE_READYZ);
    ck_kind("/v1/token", ROUTE_TOKEN);
    ck_kind("/v1/customers", ROUTE_CUSTOMERS); /* the operator's pick list */
    ck_kind("/v1/customers/", ROUTE_CUSTOMERS);
    ck_kind("/v1/customers?x=1", ROUTE_CUSTOMERS);
}
END_TEST

START_TEST(test_page_and_its_files_are_assets) {
    route_t r = parse("/");
    ck_assert_int_eq(r.kind, ROUTE_ASSET);
    ck_assert_str_eq(r.asset, "index.html");
    r = parse("/?x=1");
    ck_assert_str_eq(r.asset, "index.html");
    r = parse("/app.js?v=3");
    ck_assert_int_eq(r.kind, ROUTE_ASSET);
    ck_assert_str_eq(r.asset, "app.js");
    r = parse("/style%2Ecss");
    ck_assert_str_eq(r.asset, "style.css");
}
END_TEST

START_TEST(test_targets_over_the_bound_are_too_long) {
    char *t = malloc(ROUTE_TARGET_MAX + 2);
    strcpy(t, "/v1/customers/acme/window?seconds=5&");
    size_t n = strlen(t);
    memset(t + n, '&', ROUTE_TARGET_MAX - n);
    t[ROUTE_TARGET_MAX] = 0;
    ck_window(t, "acme", 5); /* exactly the bound: still read */
    t[ROUTE_TARGET_MAX] = '&';
    t[ROUTE_TARGET_MAX + 1] = 0;
    ck_kind(t, ROUTE_TOO_LONG);
    free(t);
}
END_TEST

START_TEST(test_bytes_after_a_nul_are_part_of_the_target) {
    route_t r;
    route_parse("/metrics\0x", 10, &r);
    ck_assert_int_eq(r.kind, ROUTE_NOT_FOUND);
    route_parse("/v1/customers/acme/window?seconds=5\0", 36, &r);
    ck_assert_str_eq(r.error, "seconds must be a whole number from 1 to 60, not '5?'");
}
END_TEST

/* The token route_bearer finds, "!" when it refuses. */
static const char *bearer(const char *v) {
    static char out[256];
    const char *t = NULL;
    size_t n = 0;
    if (route_bearer(v, strlen(v), &t, &n) < 0) return "!";
    ck_assert_ptr_nonnull(t);
    ck_assert(t >= v && t + n <= v + strlen(v));
    snprintf(out, sizeof out, "%.*s", (int)n, t);
    return out;
}

START_TEST(test_bearer_token_is_found_in_the_header) {
    ck_assert_str_eq(bearer("Bearer demo-acme-token"), "demo-acme-token");
    ck_assert_str_eq(bearer("bearer abc"), "abc");
    ck_assert_str_eq(bearer("BEARER \t abc  "), "abc");
    ck_assert_str_eq(bearer("  Bearer abc"), "abc");
    ck_assert_str_eq(bearer("Bearer a.b_c~d+e/f-9=="), "a.b_c~d+e/f-9==");
}
END_TEST

START_TEST(test_other_authorization_headers_are_refused) {
    static const char *const bad[] = {
        "",           "Bearer",     "Bearer ",     "Bearer    ",     "Basic YWxhZGRpbjpvcGVu",
        "Bearerabc",  "Bearer a b", "Bearer ab=c", "Bearer =abc",    "Bearer ab\x01",
        "Bearer a,b", "Bear abc",   "Token abc",   "Bearer \"abc\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(strcmp(bearer(bad[i]), "!") == 0, "accepted '%s'", bad[i]);
}
END_TEST

/* The header value with its true length (api.c never hands over a value MHD cut at a NUL:
 * common/httpd.c refuses such a head first); a NUL or anything after the token is refused. */
START_TEST(test_a_token_followed_by_a_nul_or_junk_is_refused) {
    static const char nul[] = "Bearer demo-acme-token\0junk";
    static const char nul_end[] = "Bearer demo-acme-token\0";
    const char *t;
    size_t n;
    ck_assert_int_eq(route_bearer(nul, sizeof nul - 1, &t, &n), -1);
    ck_assert_int_eq(route_bearer(nul_end, sizeof nul_end - 1, &t, &n), -1);
    ck_assert_str_eq(bearer("Bearer demo-acme-token junk"), "!");
    ck_assert_str_eq(bearer("Bearer demo-acme-token\tjunk"), "!");
    ck_assert_str_eq(bearer("Bearer demo-acme-token=x"), "!");
}
END_TEST

START_TEST(test_unescape_decodes_and_bounds) {
    char out[8];
    ck_assert_int_eq(route_unescape("a%41+b", 6, out, sizeof out, 1), 4);
    ck_assert(memcmp(out, "aA b", 4) == 0);
    ck_assert_int_eq(route_unescape("a%41+b", 6, out, sizeof out, 0), 4);
    ck_assert(memcmp(out, "aA+b", 4) == 0);
    ck_assert_int_eq(route_unescape("%4", 2, out, sizeof out, 0), -1);
    ck_assert_int_eq(route_unescape("%", 1, out, sizeof out, 0), -1);
    ck_assert_int_eq(route_unescape("%g0", 3, out, sizeof out, 0), -1);
    ck_assert_int_eq(route_unescape("12345678", 8, out, sizeof out, 0), 8);
    ck_assert_int_eq(route_unescape("123456789", 9, out, sizeof out, 0), -1);
    ck_assert_int_eq(route_unescape("%ff%FF", 6, out, 2, 0), 2);
    ck_assert_int_eq((unsigned char)out[0], 0xff);
    ck_assert_int_eq(route_unescape("", 0, out, 0, 0), 0);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, test_window_path_defaults_to_sixty_seconds);
    tcase_add_test(tc, test_window_seconds_from_one_to_sixty);
    tcase_add_test(tc, test_bad_seconds_are_refused_with_a_message);
    tcase_add_test(tc, test_seconds_given_twice_is_refused_even_when_equal);
    tcase_add_test(tc, test_unknown_query_parameters_are_refused);
    tcase_add_test(tc, test_bad_percent_encoding_in_the_query_is_refused);
    tcase_add_test(tc, test_one_trailing_slash_is_ignored);
    tcase_add_test(tc, test_path_segments_are_percent_decoded_before_matching);
    tcase_add_test(tc, test_bad_customer_ids_are_refused_and_not_kept);
    tcase_add_test(tc, test_unknown_paths_are_not_found);
    tcase_add_test(tc, test_other_endpoints_ignore_their_query);
    tcase_add_test(tc, test_page_and_its_files_are_assets);
    tcase_add_test(tc, test_targets_over_the_bound_are_too_long);
    tcase_add_test(tc, test_bytes_after_a_nul_are_part_of_the_target);
    tcase_add_test(tc, test_bearer_token_is_found_in_the_header);
    tcase_add_test(tc, test_other_authorization_headers_are_refused);
    tcase_add_test(tc, test_a_token_followed_by_a_nul_or_junk_is_refused);
    tcase_add_test(tc, test_unescape_decodes_and_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
