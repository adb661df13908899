/* The host map finds every host's customer as CONTRACT.md describes (case, ports, trailing dots,
 * IPv6 literals, wildcards, most specific entry first), and refuses every bad file with a message
 * naming FILE:LINE. A naive linear matcher serves as the oracle for random maps and hosts. */
#include "../../../collector/hostmap.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NORM_CAP 1024

static hostmap_t *map_of(const char *text) {
    char err[512] = "";
    hostmap_t *m = hostmap_parse(text, strlen(text), "hosts.map", err, sizeof err);
    ck_assert_msg(m != NULL, "refused: %s", err);
    return m;
}

/* The error message for a map that must be refused. */
static const char *refusal(const char *text) {
    static char err[512];
    err[0] = 0;
    hostmap_t *m = hostmap_parse(text, strlen(text), "hosts.map", err, sizeof err);
    ck_assert_msg(m == NULL, "accepted: %s", text);
    ck_assert_msg(err[0] != 0, "no message for: %s", text);
    return err;
}

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define ck_assert_refused_at(text, where, needle)                                                  \
    do {                                                                                           \
        const char *e_ = refusal(text);                                                            \
        ck_assert_msg(starts_with(e_, where), "message '%s' does not start with '%s'", e_, where); \
        ck_assert_msg(strstr(e_, needle) != NULL, "message '%s' lacks '%s'", e_, needle);          \
    } while (0)

/* The customer of host, "-" when unknown, "!" when refused as empty or too long. norm_out, if
 * given, receives the normalized host. */
static const char *cust_of(const hostmap_t *m, const char *host, char *norm_out) {
    static char out[128];
    char norm[NORM_CAP];
    size_t nl = 12345;
    slice_t c = {NULL, 0};
    memset(norm, 'x', sizeof norm);
    int rc = hostmap_lookup(m, host, strlen(host), &c, norm, sizeof norm, &nl);
    if (rc == -2) return "!";
    ck_assert_uint_eq(nl, strlen(norm)); /* NUL-terminated, length reported */
    if (norm_out) strcpy(norm_out, norm);
    if (rc == -1) return "-";
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_gt(c.n, 0);
    snprintf(out, sizeof out, "%.*s", (int)c.n, c.p);
    return out;
}

START_TEST(test_exact_host_finds_its_customer) {
    hostmap_t *m = map_of("www.example.com acme\nimg.example.net beta\n");
    ck_assert_str_eq(cust_of(m, "www.example.com", NULL), "acme");
    ck_assert_str_eq(cust_of(m, "img.example.net", NULL), "beta");
    ck_assert_str_eq(cust_of(m, "example.com", NULL), "-");
    ck_assert_str_eq(cust_of(m, "www.example.co", NULL), "-");
    ck_assert_str_eq(cust_of(m, "xwww.example.com", NULL), "-");
    ck_assert_uint_eq(hostmap_size(m), 2);
    hostmap_free(m);
}
END_TEST

START_TEST(test_hosts_compare_case_insensitively_and_come_out_lower_case) {
    hostmap_t *m = map_of("WWW.Example.COM acme\n");
    char norm[NORM_CAP];
    ck_assert_str_eq(cust_of(m, "www.example.com", norm), "acme");
    ck_assert_str_eq(cust_of(m, "wWw.EXAMPLE.cOm", norm), "acme");
    ck_assert_str_eq(norm, "www.example.com");
    ck_assert_str_eq(cust_of(m, "OTHER.Example.COM", norm), "-");
    ck_assert_str_eq(norm, "other.example.com"); /* written even when unknown */
    hostmap_free(m);
}
END_TEST

START_TEST(test_customer_ids_keep_their_case) {
    hostmap_t *m = map_of("a.example.com Acme.EU_1-x\n");
    ck_assert_str_eq(cust_of(m, "a.example.com", NULL), "Acme.EU_1-x");
    hostmap_free(m);
}
END_TEST

START_TEST(test_port_suffix_is_ignored) {
    hostmap_t *m = map_of("www.example.com acme\n");
    char norm[NORM_CAP];
    ck_assert_str_eq(cust_of(m, "www.example.com:8080", norm), "acme");
    ck_assert_str_eq(norm, "www.example.com");
    ck_assert_str_eq(cust_of(m, "WWW.EXAMPLE.COM:443", norm), "acme");
    ck_assert_str_eq(cust_of(m, "www.example.com:", norm), "acme");
    ck_assert_str_eq(cust_of(m, ":8080", norm), "!"); /* nothing left: empty */
    hostmap_free(m);
}
END_TEST

START_TEST(test_trailing_dot_is_ignored_in_lookups_and_in_the_map) {
    hostmap_t *m = map_of("www.example.com acme\ncdn.example.org. beta\n");
    char norm[NORM_CAP];
    ck_assert_str_eq(cust_of(m, "www.example.com.", norm), "acme");
    ck_assert_str_eq(norm, "www.example.com");
    ck_assert_str_eq(cust_of(m, "www.example.com.:80", norm), "acme");
    ck_assert_str_eq(cust_of(m, "cdn.example.org", norm), "beta");
    ck_assert_str_eq(cust_of(m, "www.example.com..", norm), "-"); /* only one dot is dropped */
    ck_assert_str_eq(cust_of(m, ".", norm), "!");
    hostmap_free(m);
}
END_TEST

START_TEST(test_ipv6_literal_host_loses_its_port_after_the_bracket) {
    hostmap_t *m = map_of("[2001:db8::1] v6cust\n");
    char norm[NORM_CAP];
    ck_assert_str_eq(cust_of(m, "[2001:db8::1]:8080", norm), "v6cust");
    ck_assert_str_eq(norm, "[2001:db8::1]");
    ck_assert_str_eq(cust_of(m, "[2001:DB8::1]", norm), "v6cust");
    ck_assert_str_eq(cust_of(m, "[2001:db8::2]:8080", norm), "-");
    ck_assert_str_eq(norm, "[2001:db8::2]");
    /* a bare address is not cut at its last colon, and is not the bracketed entry */
    ck_assert_str_eq(cust_of(m, "2001:db8::1", norm), "-");
    ck_assert_str_eq(norm, "2001:db8::1");
    ck_assert_str_eq(cust_of(m, "[2001:db8::1", norm), "-"); /* unclosed: kept whole */
    hostmap_free(m);
}
END_TEST

START_TEST(test_ipv4_literal_hosts_work_with_a_port) {
    hostmap_t *m = map_of("203.0.113.7 ipcust\n");
    ck_assert_str_eq(cust_of(m, "203.0.113.7:80", NULL), "ipcust");
    hostmap_free(m);
}
END_TEST

START_TEST(test_wildcard_matches_any_subdomain_but_not_the_domain_itself) {
    hostmap_t *m = map_of("*.example.com acme\n");
    ck_assert_str_eq(cust_of(m, "a.example.com", NULL), "acme");
    ck_assert_str_eq(cust_of(m, "a.b.c.example.com:8080", NULL), "acme");
    ck_assert_str_eq(cust_of(m, "A.EXAMPLE.COM.", NULL), "acme");
    ck_assert_str_eq(cust_of(m, "example.com", NULL), "-");
    ck_assert_str_eq(cust_of(m, "badexample.com", NULL), "-");
    ck_assert_str_eq(cust_of(m, "example.com.evil.net", NULL), "-");
    ck_assert_str_eq(cust_of(m, ".example.com", NULL), "-"); /* a subdomain needs a name */
    hostmap_free(m);
}
END_TEST

START_TEST(test_domain_and_its_wildcard_can_both_be_listed) {
    hostmap_t *m = map_of("*.example.com acme\nexample.com acme\n");
    ck_assert_str_eq(cust_of(m, "example.com", NULL), "acme");
    ck_assert_str_eq(cust_of(m, "x.example.com", NULL), "acme");
    ck_assert_uint_eq(hostmap_size(m), 2);
    hostmap_free(m);
}
END_TEST

START_TEST(test_most_specific_entry_wins) {
    hostmap_t *m = map_of("*.example.com wide\n"
                          "*.static.example.com narrow\n"
                          "special.static.example.com exact\n"
                          "*.com tld\n");
    ck_assert_str_eq(cust_of(m, "www.example.com", NULL), "wide");
    ck_assert_str_eq(cust_of(m, "img.static.example.com", NULL), "narrow");
    ck_assert_str_eq(cust_of(m, "a.img.static.example.com", NULL), "narrow");
    ck_assert_str_eq(cust_of(m, "special.static.example.com", NULL), "exact");
    ck_assert_str_eq(cust_of(m, "x.special.static.example.com", NULL), "narrow");
    ck_assert_str_eq(cust_of(m, "static.example.com", NULL), "wide");
    ck_assert_str_eq(cust_of(m, "other.com", NULL), "tld");
    ck_assert_str_eq(cust_of(m, "com", NULL), "-");
    hostmap_free(m);
}
END_TEST

START_TEST(test_order_of_lines_does_not_change_the_winner) {
    hostmap_t *m = map_of("special.static.example.com exact\n"
                          "*.static.example.com narrow\n"
                          "*.example.com wide\n");
    ck_assert_str_eq(cust_of(m, "img.static.example.com", NULL), "narrow");
    ck_assert_str_eq(cust_of(m, "special.static.example.com", NULL), "exact");
    ck_assert_str_eq(cust_of(m, "www.example.com", NULL), "wide");
    hostmap_free(m);
}
END_TEST

START_TEST(test_comments_blank_lines_and_whitespace) {
    hostmap_t *m = map_of("# the host map\n"
                          "\n"
                          "   \t \n"
                          "a.example.com acme # trailing comment\n"
                          "b.example.com\tbeta#no space before it\n"
                          "  \t c.example.com   \t gamma  \r\n"
                          "#d.example.com delta\n"
                          "   # indented comment with three fields in it\n"
                          "e.example.com epsilon"); /* no final newline */
    ck_assert_str_eq(cust_of(m, "a.example.com", NULL), "acme");
    ck_assert_str_eq(cust_of(m, "b.example.com", NULL), "beta");
    ck_assert_str_eq(cust_of(m, "c.example.com", NULL), "gamma");
    ck_assert_str_eq(cust_of(m, "d.example.com", NULL), "-");
    ck_assert_str_eq(cust_of(m, "e.example.com", NULL), "epsilon");
    ck_assert_uint_eq(hostmap_size(m), 4);
    hostmap_free(m);
}
END_TEST

START_TEST(test_empty_and_comment_only_files_give_an_empty_map) {
    const char *texts[] = {"", "\n\n", "# nothing yet\n", "\xEF\xBB\xBF"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        hostmap_t *m = map_of(texts[i]);
        ck_assert_uint_eq(hostmap_size(m), 0);
        ck_assert_str_eq(cust_of(m, "www.example.com", NULL), "-");
        hostmap_free(m);
    }
}
END_TEST

START_TEST(test_utf8_bom_at_the_start_is_skipped) {
    hostmap_t *m = map_of("\xEF\xBB\xBFwww.example.com acme\n");
    ck_assert_str_eq(cust_of(m, "www.example.com", NULL), "acme");
    hostmap_free(m);
}
END_TEST

START_TEST(test_same_host_twice_for_one_customer_is_allowed) {
    hostmap_t *m = map_of("a.example.com acme\nA.EXAMPLE.COM. acme\n*.x.com c\n*.X.com c\n");
    ck_assert_uint_eq(hostmap_size(m), 2);
    ck_assert_str_eq(cust_of(m, "a.example.com", NULL), "acme");
    hostmap_free(m);
}
END_TEST

START_TEST(test_empty_or_oversized_host_is_minus_2) {
    hostmap_t *m = map_of("abc.de cust\n");
    slice_t c;
    char norm[8];
    size_t nl = 0;
    ck_assert_int_eq(hostmap_lookup(m, "", 0, &c, norm, sizeof norm, &nl), -2);
    ck_assert_int_eq(hostmap_lookup(m, ":80", 3, &c, norm, sizeof norm, &nl), -2);
    /* 6 bytes and a NUL fit in 7, not in 6 */
    ck_assert_int_eq(hostmap_lookup(m, "ABC.DE:1", 8, &c, norm, 6, &nl), -2);
    ck_assert_int_eq(hostmap_lookup(m, "ABC.DE:1", 8, &c, norm, 7, &nl), 0);
    ck_assert_uint_eq(nl, 6);
    ck_assert_str_eq(norm, "abc.de");
    /* longer than any DNS name: unknown, but still normalized */
    char big[600], out[NORM_CAP];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert_int_eq(hostmap_lookup(m, big, strlen(big), &c, out, sizeof out, &nl), -1);
    ck_assert_uint_eq(nl, strlen(big));
    hostmap_free(m);
}
END_TEST

START_TEST(test_lookup_of_arbitrary_bytes_is_unknown) {
    hostmap_t *m = map_of("*.example.com acme\nexample.com acme\n");
    const char raw[] = "ex\0mple.com\xff\x80.example.com";
    slice_t c;
    char norm[NORM_CAP];
    size_t nl;
    ck_assert_int_eq(hostmap_lookup(m, raw, 11, &c, norm, sizeof norm, &nl), -1);
    ck_assert_uint_eq(nl, 11);
    /* the bytes before ".example.com" do not matter to a wildcard */
    ck_assert_int_eq(hostmap_lookup(m, raw, sizeof raw - 1, &c, norm, sizeof norm, &nl), 0);
    hostmap_free(m);
}
END_TEST

START_TEST(test_duplicate_host_for_another_customer_names_both_lines) {
    ck_assert_refused_at("# c\na.example.com acme\n\nA.example.com. beta\n",
                         "hosts.map:4: ", "already mapped to acme (line 2), not to beta");
    ck_assert_refused_at("*.example.com acme\n*.EXAMPLE.com beta\n",
                         "hosts.map:2: ", "already mapped to acme (line 1)");
}
END_TEST

START_TEST(test_bad_wildcards_are_refused) {
    const char *bad[] = {"*foo.com", "a.*.com", "*",  "*.",  "*.*.com", "**.a.com",
                         "a*.com",   "*.a*",    "*.", "*..", "*.[::1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128], where[64];
        snprintf(text, sizeof text, "ok.example.com acme\n%s beta\n", bad[i]);
        snprintf(where, sizeof where, "hosts.map:2: host '%s'", bad[i]);
        const char *e = refusal(text);
        ck_assert_msg(starts_with(e, where), "'%s' does not start with '%s'", e, where);
        ck_assert_msg(strstr(e, "wildcard") || strstr(e, "character"), "%s", e);
    }
}
END_TEST

START_TEST(test_lines_with_one_or_three_fields_are_refused) {
    ck_assert_refused_at("a.example.com acme\nb.example.com\n", "hosts.map:2: ", "1 field");
    ck_assert_refused_at("a.example.com acme extra\n", "hosts.map:1: ", "3 or more fields");
    ck_assert_refused_at("\n\na.example.com acme x y z # c\n", "hosts.map:3: ", "3 or more");
}
END_TEST

START_TEST(test_bad_customer_ids_are_refused) {
    ck_assert_refused_at("a.example.com ac/me\n", "hosts.map:1: customer id 'ac/me'", CUSTID_RULE);
    ck_assert_refused_at("a.example.com acmé\n", "hosts.map:1: customer id", CUSTID_RULE);
    ck_assert_refused_at("a.example.com Müller\n", "hosts.map:1: customer id", CUSTID_RULE);
    ck_assert_refused_at("a.example.com acme+eu\n", "hosts.map:1: customer id 'acme+eu'",
                         CUSTID_RULE);
    ck_assert_refused_at("a.example.com \"acme\"\n", "hosts.map:1: customer id", CUSTID_RULE);
    char text[256], id[HOSTMAP_CUSTOMER_MAX + 2];
    memset(id, 'c', sizeof id - 1);
    id[sizeof id - 1] = 0; /* 65 bytes */
    snprintf(text, sizeof text, "a.example.com %s\n", id);
    ck_assert_refused_at(text, "hosts.map:1: customer id", CUSTID_RULE);
    id[HOSTMAP_CUSTOMER_MAX] = 0; /* 64 bytes: fine */
    snprintf(text, sizeof text, "a.example.com %s\n", id);
    hostmap_t *m = map_of(text);
    ck_assert_str_eq(cust_of(m, "a.example.com", NULL), id);
    hostmap_free(m);
}
END_TEST

START_TEST(test_bad_hosts_are_refused) {
    ck_assert_refused_at("a.example.com:8080 acme\n", "hosts.map:1: host 'a.example.com:8080'",
                         "port");
    ck_assert_refused_at("a..example.com acme\n", "hosts.map:1: host", "empty label");
    ck_assert_refused_at(".example.com acme\n", "hosts.map:1: host", "empty label");
    ck_assert_refused_at(". acme\n", "hosts.map:1: host", "empty label");
    ck_assert_refused_at("exa$mple.com acme\n", "hosts.map:1: host", "character");
    ck_assert_refused_at("bücher.de acme\n", "hosts.map:1: host", "xn--");
    ck_assert_refused_at("[2001:db8::zz] acme\n", "hosts.map:1: host", "IPv6");
    ck_assert_refused_at("[2001:db8::1]:80 acme\n", "hosts.map:1: host", "IPv6");
    ck_assert_refused_at("2001:db8::1 acme\n", "hosts.map:1: host", "brackets");
    char label[80], text[700];
    memset(label, 'l', 64);
    label[64] = 0;
    snprintf(text, sizeof text, "%s.com acme\n", label);
    ck_assert_refused_at(text, "hosts.map:1: host", "label longer than 63");
    /* 4 x 63 + 3 dots = 255 bytes: over the 253 of a DNS name */
    memset(label, 'a', 63);
    label[63] = 0;
    snprintf(text, sizeof text, "%s.%s.%s.%s acme\n", label, label, label, label);
    ck_assert_refused_at(text, "hosts.map:1: host", "longer than 253");
}
END_TEST

START_TEST(test_error_names_the_right_line_after_comments_and_crlf) {
    ck_assert_refused_at("# one\r\n\r\na.example.com acme\r\n  # four\r\nb.example.com\r\n",
                         "hosts.map:5: ", "1 field");
}
END_TEST

START_TEST(test_unprintable_bytes_in_a_message_are_masked) {
    const char *e = refusal("a\x01\x1b[31m.com acme\n");
    for (const char *p = e; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "raw byte 0x%02x in '%s'", (unsigned char)*p, e);
}
END_TEST

START_TEST(test_load_reads_a_file_and_names_it_in_errors) {
    char dir[] = "/tmp/test_hostmap.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/customers.map", dir);
    FILE *f = fopen(path, "w");
    fputs("# customers\nwww.example.com acme\n*.cdn.example.net beta\n", f);
    fclose(f);
    hostmap_t *m = hostmap_load(path, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_uint_eq(hostmap_size(m), 2);
    ck_assert_str_eq(cust_of(m, "img.cdn.example.net:443", NULL), "beta");
    hostmap_free(m);

    f = fopen(path, "a");
    fputs("bad.example.com\n", f);
    fclose(f);
    ck_assert_ptr_null(hostmap_load(path, err, sizeof err));
    char want[300];
    snprintf(want, sizeof want, "%s:4: ", path);
    ck_assert_msg(starts_with(err, want), "'%s' does not start with '%s'", err, want);

    unlink(path);
    ck_assert_ptr_null(hostmap_load(path, err, sizeof err));
    ck_assert_msg(strstr(err, path) && strstr(err, "No such file"), "%s", err);
    ck_assert_ptr_null(hostmap_load(dir, err, sizeof err)); /* a directory cannot be read */
    ck_assert_msg(strstr(err, dir) != NULL, "%s", err);
    rmdir(dir);
}
END_TEST

START_TEST(test_large_map_finds_every_host) {
    enum { N = 50000 };
    size_t cap = (size_t)N * 64;
    char *text = malloc(cap);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "h%d.example%d.com c%d\n*.w%d.net w%d\n", i,
                                i % 97, i % 1000, i, i);
    hostmap_t *m = map_of(text);
    ck_assert_uint_eq(hostmap_size(m), 2 * N);
    for (int i = 0; i < N; i += 7) {
        char host[64], want[16];
        snprintf(host, sizeof host, "H%d.EXAMPLE%d.com", i, i % 97);
        snprintf(want, sizeof want, "c%d", i % 1000);
        ck_assert_str_eq(cust_of(m, host, NULL), want);
        snprintf(host, sizeof host, "x.y.w%d.net:80", i);
        snprintf(want, sizeof want, "w%d", i);
        ck_assert_str_eq(cust_of(m, host, NULL), want);
    }
    ck_assert_str_eq(cust_of(m, "h1.example2.com", NULL), "-");
    hostmap_free(m);
    free(text);
}
END_TEST

/* ---- oracle: random maps and hosts against a linear scan ------------------------------------- */

static const char *const labels[] = {"a", "b", "www", "cdn", "img", "example", "com", "net"};
#define NLABELS (sizeof labels / sizeof *labels)

typedef struct oentry {
    char host[64]; /* without "*." */
    int wild;
    char cust[16];
} oentry_t;

static void random_name(char *out, size_t cap, unsigned *seed, int maxlabels) {
    int k = 1 + (int)(rand_r(seed) % (unsigned)maxlabels);
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < k; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "." : "",
                                labels[rand_r(seed) % NLABELS]);
}

/* The most specific entry by definition: exact, else the wildcard with the longest suffix. */
static const char *oracle(const oentry_t *e, int n, const char *host) {
    const char *best = NULL;
    size_t bestlen = 0, hl = strlen(host);
    for (int i = 0; i < n; i++) {
        size_t sl = strlen(e[i].host);
        if (!e[i].wild && strcmp(e[i].host, host) == 0) return e[i].cust;
        if (e[i].wild && hl > sl + 1 && strcmp(host + hl - sl, e[i].host) == 0 &&
            host[hl - sl - 1] == '.' && sl >= bestlen) {
            best = e[i].cust;
            bestlen = sl;
        }
    }
    return best ? best : "-";
}

START_TEST(test_random_maps_agree_with_a_linear_scan) {
    unsigned seed = 12345;
    for (int round = 0; round < 40; round++) {
        oentry_t e[60];
        int n = 0;
        char text[60 * 80];
        size_t len = 0;
        for (int i = 0; i < 60; i++) {
            oentry_t x = {.wild = (int)(rand_r(&seed) % 2)};
            random_name(x.host, sizeof x.host, &seed, 4);
            snprintf(x.cust, sizeof x.cust, "c%d", i);
            int dup = 0;
            for (int j = 0; j < n; j++)
                dup |= e[j].wild == x.wild && strcmp(e[j].host, x.host) == 0;
            if (dup) continue;
            e[n++] = x;
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s %s\n", x.wild ? "*." : "",
                                    x.host, x.cust);
        }
        hostmap_t *m = map_of(text);
        ck_assert_uint_eq(hostmap_size(m), (size_t)n);
        for (int q = 0; q < 500; q++) {
            char host[128];
            random_name(host, sizeof host, &seed, 6);
            ck_assert_msg(strcmp(cust_of(m, host, NULL), oracle(e, n, host)) == 0,
                          "host %s: map says %s, oracle %s", host, cust_of(m, host, NULL),
                          oracle(e, n, host));
        }
        hostmap_free(m);
    }
}
END_TEST

/* Lookups remember recent answers by the host's logged bytes. Looked up again, in any order, with
 * slots shared (more hosts than slots), and with a tight norm buffer now and then, every host gets
 * what a map that never saw it answers (a fresh copy of the map is the oracle), norm included. */
START_TEST(test_a_host_asked_again_gets_the_answer_of_a_fresh_map) {
    const char *text = "a.example acme\nB.example.org bolt\n*.cdn.example wild\n[2001:db8::1] v6\n"
                       "x.test xray\n";
    hostmap_t *warm = map_of(text);
    static const char *const stems[] = {"a.example",
                                        "A.EXAMPLE",
                                        "a.example.",
                                        "a.example:80",
                                        "b.example.org",
                                        "img.cdn.example",
                                        "IMG.Cdn.Example:443",
                                        "cdn.example",
                                        "[2001:db8::1]:80",
                                        "[2001:db8::1]",
                                        "x.test",
                                        "nope.test",
                                        ":80",
                                        "x.test:1:2"};
    char host[96], wn[NORM_CAP], fn[NORM_CAP];
    srand(9);
    for (int iter = 0; iter < 20000; iter++) {
        const char *stem = stems[rand() % (int)(sizeof stems / sizeof *stems)];
        /* numbered variants make ~600 distinct hosts: more than the memo's slots */
        if (rand() % 2)
            snprintf(host, sizeof host, "%d.%s", rand() % 300, stem);
        else
            snprintf(host, sizeof host, "%s", stem);
        size_t n = strlen(host), cap = rand() % 8 ? NORM_CAP : (size_t)(rand() % 20);
        hostmap_t *fresh = map_of(text);
        slice_t wc = {NULL, 0}, fc = {NULL, 0};
        size_t wl = 0, fl = 0;
        memset(wn, 'x', sizeof wn);
        memset(fn, 'x', sizeof fn);
        int wr = hostmap_lookup(warm, host, n, &wc, wn, cap, &wl);
        int fr = hostmap_lookup(fresh, host, n, &fc, fn, cap, &fl);
        ck_assert_msg(wr == fr, "'%s' cap %zu: %d, a fresh map %d", host, cap, wr, fr);
        if (wr != -2) {
            ck_assert_uint_eq(wl, fl);
            ck_assert_msg(memcmp(wn, fn, wl + 1) == 0, "'%s': norm differs", host);
        }
        if (wr == 0)
            ck_assert_msg(wc.n == fc.n && memcmp(wc.p, fc.p, wc.n) == 0, "'%s': customer", host);
        hostmap_free(fresh);
    }
    hostmap_free(warm);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("hostmap");
    TCase *t = tcase_create("lookup");
    tcase_add_test(t, test_exact_host_finds_its_customer);
    tcase_add_test(t, test_hosts_compare_case_insensitively_and_come_out_lower_case);
    tcase_add_test(t, test_customer_ids_keep_their_case);
    tcase_add_test(t, test_port_suffix_is_ignored);
    tcase_add_test(t, test_trailing_dot_is_ignored_in_lookups_and_in_the_map);
    tcase_add_test(t, test_ipv6_literal_host_loses_its_port_after_the_bracket);
    tcase_add_test(t, test_ipv4_literal_hosts_work_with_a_port);
    tcase_add_test(t, test_wildcard_matches_any_subdomain_but_not_the_domain_itself);
    tcase_add_test(t, test_domain_and_its_wildcard_can_both_be_listed);
    tcase_add_test(t, test_most_specific_entry_wins);
    tcase_add_test(t, test_order_of_lines_does_not_change_the_winner);
    tcase_add_test(t, test_empty_or_oversized_host_is_minus_2);
    tcase_add_test(t, test_lookup_of_arbitrary_bytes_is_unknown);
    tcase_add_test(t, test_large_map_finds_every_host);
    tcase_add_test(t, test_random_maps_agree_with_a_linear_scan);
    suite_add_tcase(s, t);
    TCase *f = tcase_create("file");
    tcase_add_test(f, test_comments_blank_lines_and_whitespace);
    tcase_add_test(f, test_empty_and_comment_only_files_give_an_empty_map);
    tcase_add_test(f, test_utf8_bom_at_the_start_is_skipped);
    tcase_add_test(f, test_same_host_twice_for_one_customer_is_allowed);
    tcase_add_test(f, test_duplicate_host_for_another_customer_names_both_lines);
    tcase_add_test(f, test_bad_wildcards_are_refused);
    tcase_add_test(f, test_lines_with_one_or_three_fields_are_refused);
    tcase_add_test(f, test_bad_customer_ids_are_refused);
    tcase_add_test(f, test_bad_hosts_are_refused);
    tcase_add_test(f, test_error_names_the_right_line_after_comments_and_crlf);
    tcase_add_test(f, test_unprintable_bytes_in_a_message_are_masked);
    tcase_add_test(f, test_load_reads_a_file_and_names_it_in_errors);
    tcase_add_test(f, test_a_host_asked_again_gets_the_answer_of_a_fresh_map);
    suite_add_tcase(s, f);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
