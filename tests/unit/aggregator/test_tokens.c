/* The tokens file is read as CONTRACT.md and tokens.h say (hashes in either case, comments,
 * operator lines), every bad file is refused with a message naming FILE:LINE, and a token is
 * judged by its SHA-256 against every entry: allowed for its customers, forbidden for others,
 * unknown when no hash matches, even one that differs in a single bit. The demo tokens file of
 * the repository is read for real and its documented tokens work. */
#include "../../../aggregator/tokens.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* SHA-256 hex of "demo-acme-token", as tools/demo-tokens lists it (and as sha256sum prints). */
#define ACME_HEX "6972625cf174a9fd5a7c8bd472c0924f8b3287c47736b36af448ceb846ce8548"

static const char *hex_of(const char *token) {
    static char hex[4][TOKENS_HEX_LEN + 1];
    static int k;
    k = (k + 1) % 4;
    ck_assert_int_eq(tokens_hash_hex(token, strlen(token), hex[k]), 0);
    return hex[k];
}

static tokens_t *set_of(const char *text) {
    char err[512] = "";
    tokens_t *t = tokens_parse(text, strlen(text), "tokens", err, sizeof err);
    ck_assert_msg(t != NULL, "refused: %s", err);
    return t;
}

static const char *refusal(const char *text, size_t len) {
    static char err[512];
    err[0] = 0;
    tokens_t *t = tokens_parse(text, len, "tokens", err, sizeof err);
    ck_assert_msg(t == NULL, "accepted: %s", text);
    ck_assert_msg(err[0] != 0, "no message for: %s", text);
    return err;
}

#define ck_refused_at(text, where, needle)                                                         \
    do {                                                                                           \
        const char *e_ = refusal(text, strlen(text));                                              \
        ck_assert_msg(strncmp(e_, where, strlen(where)) == 0, "message '%s' lacks '%s' first", e_, \
                      where);                                                                      \
        ck_assert_msg(strstr(e_, needle) != NULL, "message '%s' lacks '%s'", e_, needle);          \
    } while (0)

static tokens_verdict_t check(const tokens_t *t, const char *token, const char *customer) {
    return tokens_check(t, token, strlen(token), customer);
}

START_TEST(test_hash_is_the_sha256_hex_that_sha256sum_prints) {
    ck_assert_str_eq(hex_of("demo-acme-token"), ACME_HEX);
    ck_assert_str_eq(hex_of(""),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_customer_token_reads_its_customer_only) {
    char text[512];
    snprintf(text, sizeof text, "acme %s\nglobex %s\n", ACME_HEX, hex_of("g-token"));
    tokens_t *t = set_of(text);
    ck_assert_uint_eq(tokens_size(t), 2);
    ck_assert_int_eq(check(t, "demo-acme-token", "acme"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "demo-acme-token", "globex"), TOKENS_FORBIDDEN);
    ck_assert_int_eq(check(t, "demo-acme-token", "acm"), TOKENS_FORBIDDEN);
    ck_assert_int_eq(check(t, "demo-acme-token", "acmee"), TOKENS_FORBIDDEN);
    ck_assert_int_eq(check(t, "demo-acme-token", "ACME"), TOKENS_FORBIDDEN);
    ck_assert_int_eq(check(t, "demo-acme-token", ""), TOKENS_FORBIDDEN);
    ck_assert_int_eq(check(t, "g-token", "globex"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "g-token", "acme"), TOKENS_FORBIDDEN);
    tokens_free(t);
}
END_TEST

START_TEST(test_unknown_empty_and_overlong_tokens_are_unknown) {
    char text[512];
    snprintf(text, sizeof text, "acme %s\n", ACME_HEX);
    tokens_t *t = set_of(text);
    ck_assert_int_eq(check(t, "demo-acme-tokeN", "acme"), TOKENS_UNKNOWN);
    ck_assert_int_eq(check(t, "demo-acme-token ", "acme"), TOKENS_UNKNOWN);
    ck_assert_int_eq(check(t, "", "acme"), TOKENS_UNKNOWN);
    ck_assert_int_eq(tokens_check(t, "demo-acme-token", 14, "acme"), TOKENS_UNKNOWN); /* prefix */
    ck_assert_int_eq(tokens_check(NULL, "demo-acme-token", 15, "acme"), TOKENS_UNKNOWN);
    /* The token whose hash is listed, but longer than the bound: refused unhashed. */
    char *big = malloc(TOKENS_TOKEN_MAX + 2);
    memset(big, 'x', TOKENS_TOKEN_MAX + 1);
    big[TOKENS_TOKEN_MAX + 1] = 0;
    char line[256];
    snprintf(line, sizeof line, "acme %s\n", hex_of(big));
    tokens_t *t2 = set_of(line);
    ck_assert_int_eq(check(t2, big, "acme"), TOKENS_UNKNOWN);
    big[TOKENS_TOKEN_MAX] = 0; /* at the bound it is hashed */
    snprintf(line, sizeof line, "acme %s\n", hex_of(big));
    tokens_free(t2);
    t2 = set_of(line);
    ck_assert_int_eq(check(t2, big, "acme"), TOKENS_ALLOWED);
    tokens_free(t2);
    free(big);
    tokens_free(t);
}
END_TEST

/* A hash that differs from the token's in one bit, at the first or the last byte or in the
 * middle, matches nothing: the comparison covers all 32 bytes. */
START_TEST(test_a_hash_one_bit_off_matches_nothing) {
    static const int where[] = {0, 1, 31, 32, 62, 63};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        char hex[TOKENS_HEX_LEN + 1], text[256];
        strcpy(hex, ACME_HEX);
        int d = hex[where[i]] <= '9' ? hex[where[i]] - '0' : hex[where[i]] - 'a' + 10;
        hex[where[i]] = "0123456789abcdef"[d ^ 1];
        snprintf(text, sizeof text, "acme %s\n", hex);
        tokens_t *t = set_of(text);
        ck_assert_msg(check(t, "demo-acme-token", "acme") == TOKENS_UNKNOWN, "digit %d", where[i]);
        tokens_free(t);
    }
}
END_TEST

START_TEST(test_operator_token_reads_every_customer) {
    char text[512];
    snprintf(text, sizeof text, "* %s\nacme %s\n", hex_of("op"), ACME_HEX);
    tokens_t *t = set_of(text);
    ck_assert_int_eq(check(t, "op", "acme"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "op", "anyone-else"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "op", ""), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "demo-acme-token", ""), TOKENS_FORBIDDEN);
    /* '*' is not a customer id a request can name to ride on a customer token. */
    ck_assert_int_eq(check(t, "demo-acme-token", "*"), TOKENS_FORBIDDEN);
    int op = -1;
    const char *cs[4];
    ck_assert_uint_eq(tokens_whose(t, "op", 2, &op, cs, 4), 0);
    ck_assert_int_eq(op, 1);
    ck_assert_uint_eq(tokens_whose(t, "demo-acme-token", 15, &op, cs, 4), 1);
    ck_assert_int_eq(op, 0);
    ck_assert_str_eq(cs[0], "acme");
    ck_assert_uint_eq(tokens_whose(t, "nobody", 6, &op, cs, 4), 0);
    ck_assert_int_eq(op, 0);
    tokens_free(t);
}
END_TEST

/* What an operator picks from: every customer the file names, once, sorted, operators left out;
 * the count is of all of them when cap cuts the list. */
START_TEST(test_customers_named_by_the_file_are_listed_sorted_once) {
    char text[1024];
    snprintf(text, sizeof text, "zeta %s\n* %s\nacme %s\nmid %s\nacme %s\n", hex_of("z"),
             hex_of("op"), ACME_HEX, hex_of("m"), hex_of("a2"));
    tokens_t *t = set_of(text);
    const char *cs[4];
    ck_assert_uint_eq(tokens_customers(t, cs, 4), 3);
    ck_assert_str_eq(cs[0], "acme");
    ck_assert_str_eq(cs[1], "mid");
    ck_assert_str_eq(cs[2], "zeta");
    ck_assert_uint_eq(tokens_customers(t, cs, 1), 3);
    ck_assert_str_eq(cs[0], "acme");
    ck_assert_uint_eq(tokens_customers(NULL, cs, 4), 0);
    tokens_free(t);
}
END_TEST

START_TEST(test_one_token_listed_for_several_customers_reads_each) {
    char text[512];
    const char *h = hex_of("shared");
    snprintf(text, sizeof text, "acme %s\nglobex %s\nacme %s\n", h, h, h);
    tokens_t *t = set_of(text);
    ck_assert_int_eq(check(t, "shared", "acme"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "shared", "globex"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "shared", "hooli"), TOKENS_FORBIDDEN);
    const char *cs[4];
    int op = -1;
    ck_assert_uint_eq(tokens_whose(t, "shared", 6, &op, cs, 4), 2); /* acme once */
    ck_assert_str_eq(cs[0], "acme");
    ck_assert_str_eq(cs[1], "globex");
    ck_assert_uint_eq(tokens_whose(t, "shared", 6, &op, cs, 1), 1); /* at most cap */
    tokens_free(t);
}
END_TEST

/* Every entry is compared: a match at the end of a long file is found like one at the start. */
START_TEST(test_match_anywhere_in_a_long_file) {
    size_t n = 2000, cap = n * 80 + 1;
    char *text = malloc(cap), tok[32];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(tok, sizeof tok, "tok-%zu", i);
        o += (size_t)snprintf(text + o, cap - o, "c%zu %s\n", i, hex_of(tok));
    }
    tokens_t *t = set_of(text);
    ck_assert_uint_eq(tokens_size(t), n);
    ck_assert_int_eq(check(t, "tok-0", "c0"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "tok-1999", "c1999"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "tok-1999", "c0"), TOKENS_FORBIDDEN);
    ck_assert_int_eq(check(t, "tok-2000", "c1999"), TOKENS_UNKNOWN);
    tokens_free(t);
    free(text);
}
END_TEST

START_TEST(test_comments_blank_lines_tabs_crlf_and_upper_case_hex_are_fine) {
    char text[1024], upper[TOKENS_HEX_LEN + 1];
    for (int i = 0; i < TOKENS_HEX_LEN; i++)
        upper[i] = (char)(ACME_HEX[i] >= 'a' ? ACME_HEX[i] - 32 : ACME_HEX[i]);
    upper[TOKENS_HEX_LEN] = 0;
    snprintf(text, sizeof text,
             "# dashboard tokens\n\n   \t\n  acme\t%s   # acme's token\r\n#* %s\n* %s#op", upper,
             hex_of("x"), hex_of("op"));
    tokens_t *t = set_of(text);
    ck_assert_uint_eq(tokens_size(t), 2);
    ck_assert_int_eq(check(t, "demo-acme-token", "acme"), TOKENS_ALLOWED);
    ck_assert_int_eq(check(t, "x", "acme"), TOKENS_UNKNOWN); /* commented out */
    ck_assert_int_eq(check(t, "op", "acme"), TOKENS_ALLOWED);
    tokens_free(t);
    t = set_of("");
    ck_assert_uint_eq(tokens_size(t), 0);
    ck_assert_int_eq(check(t, "demo-acme-token", "acme"), TOKENS_UNKNOWN);
    tokens_free(t);
}
END_TEST

START_TEST(test_every_bad_line_is_named_by_file_and_line) {
    ck_refused_at("acme\n", "tokens:1: ", "has one field");
    ck_refused_at("# c\n\nacme " ACME_HEX " extra\n", "tokens:3: ", "'extra' is one too many");
    ck_refused_at("ac/me " ACME_HEX "\n", "tokens:1: ", "customer id 'ac/me' may hold only");
    ck_refused_at("** " ACME_HEX "\n", "tokens:1: ", "customer id '**'");
    ck_refused_at("ac\xc3\xa9me " ACME_HEX "\n", "tokens:1: ", "customer id 'ac??me'");
    ck_refused_at("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " ACME_HEX,
                  "tokens:1: ", "longer than 64 bytes");
    ck_refused_at("acme 6972625cf174a9fd5a7c8bd472c0924f8b3287c47736b36af448ceb846ce854\n",
                  "tokens:1: ", "is not 64 hex digits");
    ck_refused_at("acme " ACME_HEX "0\n", "tokens:1: ", "is not 64 hex digits");
    ck_refused_at("\nacme g972625cf174a9fd5a7c8bd472c0924f8b3287c47736b36af448ceb846ce8548\n",
                  "tokens:2: ", "is not 64 hex digits");
    ck_refused_at("acme demo-acme-token\n", "tokens:1: ", "hash 'demo-acme-token'");
    ck_refused_at("acme " ACME_HEX "\n\n\nacme\n", "tokens:4: ", "has one field");
    const char nul[] = "acme " ACME_HEX "\nglo\0bex " ACME_HEX "\n";
    const char *e = refusal(nul, sizeof nul - 1);
    ck_assert_msg(strncmp(e, "tokens:2: ", 10) == 0 && strstr(e, "NUL"), "message '%s'", e);
}
END_TEST

START_TEST(test_load_names_the_file_in_every_message) {
    char path[] = "/tmp/test_tokens.XXXXXX", err[512] = "";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *bad = "acme " ACME_HEX "\nglobex nothex\n";
    ck_assert_int_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    ck_assert_ptr_null(tokens_load(path, err, sizeof err));
    char where[64];
    snprintf(where, sizeof where, "%s:2: ", path);
    ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "message '%s'", err);
    unlink(path);
    ck_assert_ptr_null(tokens_load(path, err, sizeof err));
    ck_assert_msg(strstr(err, path) && strstr(err, "No such file"), "message '%s'", err);
}
END_TEST

/* The repository's demo tokens file: its header documents demo-<customer>-token and
 * demo-operator-token; the demo and the integration tests rely on that. */
START_TEST(test_demo_tokens_file_grants_what_it_documents) {
    const char *td = getenv("TEST_DATA");
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/../../tools/demo-tokens", td ? td : "tests/data");
    tokens_t *t = tokens_load(path, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    static const char *const cs[] = {"acme", "globex", "umbrella", "initech", "hooli"};
    for (size_t i = 0; i < 5; i++) {
        char tok[64];
        snprintf(tok, sizeof tok, "demo-%s-token", cs[i]);
        ck_assert_int_eq(check(t, tok, cs[i]), TOKENS_ALLOWED);
        ck_assert_int_eq(check(t, tok, cs[(i + 1) % 5]), TOKENS_FORBIDDEN);
        ck_assert_int_eq(check(t, "demo-operator-token", cs[i]), TOKENS_ALLOWED);
    }
    ck_assert_int_eq(check(t, "demo-nobody-token", "acme"), TOKENS_UNKNOWN);
    tokens_free(t);
}
END_TEST

START_TEST(test_customer_ids_follow_the_host_map_rule) {
    ck_assert_int_eq(tokens_customer_ok("acme", 4), 1);
    ck_assert_int_eq(tokens_customer_ok("A.b_c-9", 7), 1);
    ck_assert_int_eq(tokens_customer_ok("", 0), 0);
    ck_assert_int_eq(tokens_customer_ok("a b", 3), 0);
    ck_assert_int_eq(tokens_customer_ok("a\0b", 3), 0);
    ck_assert_int_eq(tokens_customer_ok("*", 1), 0);
    char id[TOKENS_CUSTOMER_MAX + 1];
    memset(id, 'a', sizeof id);
    ck_assert_int_eq(tokens_customer_ok(id, TOKENS_CUSTOMER_MAX), 1);
    ck_assert_int_eq(tokens_customer_ok(id, TOKENS_CUSTOMER_MAX + 1), 0);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("tokens");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, test_hash_is_the_sha256_hex_that_sha256sum_prints);
    tcase_add_test(tc, test_customer_token_reads_its_customer_only);
    tcase_add_test(tc, test_unknown_empty_and_overlong_tokens_are_unknown);
    tcase_add_test(tc, test_a_hash_one_bit_off_matches_nothing);
    tcase_add_test(tc, test_operator_token_reads_every_customer);
    tcase_add_test(tc, test_one_token_listed_for_several_customers_reads_each);
    tcase_add_test(tc, test_match_anywhere_in_a_long_file);
    tcase_add_test(tc, test_comments_blank_lines_tabs_crlf_and_upper_case_hex_are_fine);
    tcase_add_test(tc, test_every_bad_line_is_named_by_file_and_line);
    tcase_add_test(tc, test_load_names_the_file_in_every_message);
    tcase_add_test(tc, test_demo_tokens_file_grants_what_it_documents);
    tcase_add_test(tc, test_customer_ids_follow_the_host_map_rule);
    tcase_add_test(tc, test_customers_named_by_the_file_are_listed_sorted_once);
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
