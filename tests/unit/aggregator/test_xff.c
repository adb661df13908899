/* Unit tests of aggregator/xff.c: --trusted-proxy ranges, and the client named by
 * X-Forwarded-For walked from the right, strictly (garbage met means the peer). */
#include "../../../aggregator/xff.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static xff_nets_t nets(const char *s) {
    xff_nets_t t;
    char err[256];
    ck_assert_msg(xff_parse_nets(s, &t, err, sizeof err) == 0, "%s: %s", s, err);
    return t;
}

static int refused(const char *s) {
    xff_nets_t t;
    char err[256] = "";
    int rc = xff_parse_nets(s, &t, err, sizeof err);
    if (rc < 0) ck_assert_ptr_nonnull(strstr(err, "--trusted-proxy"));
    return rc < 0;
}

/* The client key the header lines give behind trusted t, as text ("" for the peer). */
static const char *client(const xff_nets_t *t, const char *l1, const char *l2) {
    static char out[INET6_ADDRSTRLEN];
    const char *v[2] = {l1, l2};
    size_t len[2] = {strlen(l1), l2 ? strlen(l2) : 0};
    unsigned char key[HTTPD_KEY_MAX], a[16] = {0};
    size_t n = xff_client(t, v, len, l2 ? 2 : 1, key);
    if (n == 0) return "";
    memcpy(a, key, n);
    inet_ntop(n == 4 ? AF_INET : AF_INET6, a, out, sizeof out);
    return out;
}

START_TEST(test_ranges_parse_strictly) {
    xff_nets_t t = nets("10.0.0.0/8,172.16.0.0/12,::1,fd00::/8,127.0.0.1");
    ck_assert_uint_eq(t.n, 5);
    ck_assert_uint_eq(t.net[0].bits, 8);
    ck_assert_uint_eq(t.net[2].bits, 128);
    ck_assert_uint_eq(t.net[4].bits, 32);
    ck_assert_uint_eq(nets("0.0.0.0/0").net[0].bits, 0);
    ck_assert(refused(""));
    ck_assert(refused("10.0.0.1/8")); /* bits past the prefix: a typo */
    ck_assert(refused("10.0.0.0/33"));
    ck_assert(refused("10.0.0.0/"));
    ck_assert(refused("10.0.0.0/08"));
    ck_assert(refused("10.0.0.0/8,"));
    ck_assert(refused(" 10.0.0.0/8"));
    ck_assert(refused("10.0.0/8"));
    ck_assert(refused("example.com"));
    ck_assert(refused("::1/129"));
}
END_TEST

START_TEST(test_peer_in_a_range_is_trusted_mapped_ipv4_too) {
    xff_nets_t t = nets("10.1.0.0/16,fd00::/8");
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
    ck_assert(xff_trusted_sa(&t, &in));
    inet_pton(AF_INET, "10.2.2.3", &in.sin_addr);
    ck_assert(!xff_trusted_sa(&t, &in));
    inet_pton(AF_INET6, "::ffff:10.1.9.9", &in6.sin6_addr);
    ck_assert(xff_trusted_sa(&t, &in6));
    inet_pton(AF_INET6, "fd12::1", &in6.sin6_addr);
    ck_assert(xff_trusted_sa(&t, &in6));
    inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
    ck_assert(!xff_trusted_sa(&t, &in6));
    xff_nets_t none = {.n = 0};
    ck_assert(!xff_trusted_sa(&none, &in6));
}
END_TEST

START_TEST(test_client_is_the_last_address_not_trusted) {
    xff_nets_t t = nets("10.0.0.0/8");
    ck_assert_str_eq(client(&t, "203.0.113.7", NULL), "203.0.113.7");
    /* the client wrote the first two itself: they are never looked at */
    ck_assert_str_eq(client(&t, "1.1.1.1, garbage, 203.0.113.7, 10.0.0.2", NULL), "203.0.113.7");
    /* HAProxy appends a line of its own: the last line counts first */
    ck_assert_str_eq(client(&t, "198.51.100.1", "203.0.113.7"), "203.0.113.7");
    ck_assert_str_eq(client(&t, "198.51.100.1", "10.9.9.9"), "198.51.100.1");
    ck_assert_str_eq(client(&t, " \t203.0.113.7 \t", NULL), "203.0.113.7");
    ck_assert_str_eq(client(&t, "2001:db8:1:2:3:4:5:6", NULL), "2001:db8:1:2::"); /* the /64 */
    ck_assert_str_eq(client(&t, "::ffff:192.0.2.1", NULL), "192.0.2.1");
}
END_TEST

START_TEST(test_garbage_or_all_trusted_means_the_peer) {
    xff_nets_t t = nets("10.0.0.0/8");
    const char *bad[] = {"",
                         " ",
                         "203.0.113.7:443",
                         "[2001:db8::1]",
                         "unknown",
                         "203.0.113",
                         "203.0.113.07",
                         "fe80::1%eth0",
                         "1.2.3.4 5",
                         "203.0.113.7,",
                         "0x7f.0.0.1",
                         "203.0.113.256"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!strcmp(client(&t, bad[i], NULL), ""), "'%s' gave a client", bad[i]);
    /* garbage right of the client stops the walk too */
    ck_assert_str_eq(client(&t, "203.0.113.7, bogus, 10.0.0.1", NULL), "");
    ck_assert_str_eq(client(&t, "10.0.0.1, 10.0.0.2", NULL), "");
    char nul[] = "203.0.113.7";
    nul[3] = 0; /* a NUL inside: never an address */
    const char *v[1] = {nul};
    size_t len[1] = {11};
    unsigned char key[HTTPD_KEY_MAX];
    ck_assert_uint_eq(xff_client(&t, v, len, 1, key), 0);
}
END_TEST

START_TEST(test_long_chains_of_trusted_hops_give_up) {
    xff_nets_t t = nets("10.0.0.0/8");
    char buf[1024] = "203.0.113.7";
    for (int i = 0; i < XFF_HOPS_MAX; i++)
        strcat(buf, ",10.0.0.1");
    ck_assert_str_eq(client(&t, buf, NULL), "");
    ck_assert_str_eq(client(&t, buf + strlen("203.0.113.7,10.0.0.1"), NULL), "");
    char ok[1024] = "203.0.113.7";
    for (int i = 0; i < XFF_HOPS_MAX - 1; i++)
        strcat(ok, ",10.0.0.1");
    ck_assert_str_eq(client(&t, ok, NULL), "203.0.113.7");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("xff");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ranges_parse_strictly);
    tcase_add_test(tc, test_peer_in_a_range_is_trusted_mapped_ipv4_too);
    tcase_add_test(tc, test_client_is_the_last_address_not_trusted);
    tcase_add_test(tc, test_garbage_or_all_trusted_means_the_peer);
    tcase_add_test(tc, test_long_chains_of_trusted_hops_give_up);
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
