/* Client addresses resolve to the country and region that tests/data/geo-networks.tsv lists for
 * them, in every schema tools/mkgeodb writes (City, Country, flat), with default and custom key
 * paths; anything that is not an address, or not in the database, is ZZ / "". The test reads the
 * TSV itself and finds each address's row by its own prefix arithmetic: that is the oracle.
 *
 * Databases: $TEST_GEODB (the Makefile's build/test-geo.mmdb) for the City schema, else one
 * written here; the other schemas are written here, into a temporary directory, by running
 * tools/mkgeodb. */
#include "../../../collector/geo.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 512
#define REGION_CAP 256

typedef struct row {
    int v6;          /* 0: IPv4 row */
    uint8_t a[16];   /* first address (4 bytes used for IPv4) */
    int plen;        /* prefix length */
    char net[64];    /* as written */
    char country[3]; /* "" for an unmapped row */
    char iso[16];    /* subdivision_iso, as written */
    char name[128];  /* subdivision_name */
} row_t;

static row_t rows[MAX_ROWS];
static int nrows;
static char tmpdir[] = "/tmp/test_geo.XXXXXX";
static char city_db[512], country_db[512], flat_db[512], odd_db[512], odd_tsv[512];
static char weird_db[512], asn_db[512], weird_pl[512], many_db[512], many_tsv[512];
/* The many-records database: network i is 10.(i / 256).(i % 256).0/24, its own data record. */
#define MANY_NETS (3 * GEO_RECORD_SLOTS)
static const char *const many_countries[] = {"DE", "FR", "US", "AT", "BR", "CA", "CN"};
static char tsv_path[512], mkgeodb[512];

/* ---- the oracle ------------------------------------------------------------------------------ */

/* Runs before the suite: failures end the program. */
static void die(const char *what, const char *detail) {
    fprintf(stderr, "test_geo: %s: %s\n", what, detail);
    exit(EXIT_FAILURE);
}

static void load_rows(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot read", path);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        if (nrows == MAX_ROWS) die("too many rows in", path);
        row_t *r = &rows[nrows++];
        memset(r, 0, sizeof *r);
        char *col[4] = {line, "", "", ""};
        for (int i = 1; i < 4; i++) {
            char *tab = strchr(col[i - 1], '\t');
            if (!tab) break;
            *tab = 0;
            col[i] = tab + 1;
        }
        snprintf(r->net, sizeof r->net, "%.63s", col[0]);
        snprintf(r->country, sizeof r->country, "%.2s", col[1]);
        snprintf(r->iso, sizeof r->iso, "%.15s", col[2]);
        snprintf(r->name, sizeof r->name, "%.127s", col[3]);
        char addr[64];
        snprintf(addr, sizeof addr, "%.63s", col[0]);
        char *slash = strchr(addr, '/');
        if (!slash) die("not a CIDR network", r->net);
        *slash = 0;
        r->plen = atoi(slash + 1);
        r->v6 = strchr(addr, ':') != NULL;
        if (inet_pton(r->v6 ? AF_INET6 : AF_INET, addr, r->a) != 1) die("bad address", r->net);
    }
    fclose(f);
    if (nrows < 30) die("expected 30 or more networks in", path);
}

static int in_row(const row_t *r, int v6, const uint8_t *a) {
    if (r->v6 != v6) return 0;
    for (int bit = 0; bit < r->plen; bit++) {
        int m = 0x80 >> (bit % 8);
        if ((a[bit / 8] & m) != (r->a[bit / 8] & m)) return 0;
    }
    return 1;
}

/* The row an address belongs to (rows never overlap), NULL if none. ::ffff:a.b.c.d is a.b.c.d. */
static const row_t *row_of(int v6, const uint8_t *a) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (v6 && memcmp(a, mapped, 12) == 0) return row_of(0, a + 12);
    for (int i = 0; i < nrows; i++)
        if (in_row(&rows[i], v6, a)) return &rows[i];
    return NULL;
}

/* a += k (k may be negative), as a big-endian integer of `bytes` bytes, wrapping around. */
static void add(uint8_t *a, int bytes, long long k) {
    for (int i = bytes - 1; i >= 0 && k != 0; i--) {
        long long v = a[i] + k % 256;
        k /= 256;
        if (v < 0) {
            v += 256;
            k -= 1;
        } else if (v > 255) {
            v -= 256;
            k += 1;
        }
        a[i] = (uint8_t)v;
    }
}

/* Address of row r at offset k from its first address (k >= 0), or from its last (k < 0: -1 is
 * the last). */
static void row_addr(const row_t *r, long long k, uint8_t out[16]) {
    int bytes = r->v6 ? 16 : 4;
    memcpy(out, r->a, 16);
    if (k < 0) {
        for (int bit = r->plen; bit < bytes * 8; bit++)
            out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
        k += 1;
    }
    add(out, bytes, k);
}

typedef enum { REGION_CODE, REGION_NONE, REGION_NAME_ONLY } region_rule_t;

/* What a schema's default keys give for row r. */
static void expected(const row_t *r, region_rule_t rule, char country[3], char *region) {
    strcpy(country, r && r->country[0] ? r->country : "ZZ");
    region[0] = 0;
    if (!r || !r->country[0] || rule == REGION_NONE) return;
    if (rule == REGION_NAME_ONLY)
        strcpy(region, r->name);
    else
        strcpy(region, r->iso[0] ? r->iso : r->name);
}

static void check_addr(geo_t *g, int v6, const uint8_t *a, region_rule_t rule) {
    char ip[INET6_ADDRSTRLEN], country[3], region[REGION_CAP], wc[3], wr[REGION_CAP];
    inet_ntop(v6 ? AF_INET6 : AF_INET, a, ip, sizeof ip);
    const row_t *r = row_of(v6, a);
    expected(r, rule, wc, wr);
    int rc = geo_lookup(g, ip, strlen(ip), country, region, sizeof region);
    ck_assert_msg(strcmp(country, wc) == 0 && strcmp(region, wr) == 0,
                  "%s (row %s): got %s/'%s', want %s/'%s'", ip, r ? r->net : "none", country,
                  region, wc, wr);
    ck_assert_int_eq(rc, strcmp(wc, "ZZ") == 0 ? 1 : 0);
}

/* First and last addresses of every row, and the addresses just outside it. */
static void check_every_row(geo_t *g, region_rule_t rule) {
    for (int i = 0; i < nrows; i++) {
        const row_t *r = &rows[i];
        uint8_t a[16];
        long long ks[] = {0, 1, -1, -2};
        for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
            row_addr(r, ks[j], a);
            check_addr(g, r->v6, a, rule);
        }
        row_addr(r, 0, a);
        add(a, r->v6 ? 16 : 4, -1);
        check_addr(g, r->v6, a, rule);
        row_addr(r, -1, a);
        add(a, r->v6 ? 16 : 4, 1);
        check_addr(g, r->v6, a, rule);
    }
}

static geo_t *open_db(const char *path, const geo_keys_t *keys) {
    char err[512] = "";
    geo_t *g = geo_open(path, keys, err, sizeof err);
    ck_assert_msg(g != NULL, "geo_open %s: %s", path, err);
    return g;
}

static const char *lookup(geo_t *g, const char *ip, int *rc) {
    static char out[REGION_CAP + 8];
    char country[3], region[REGION_CAP];
    int r = geo_lookup(g, ip, strlen(ip), country, region, sizeof region);
    if (rc) *rc = r;
    snprintf(out, sizeof out, "%s/%s", country, region);
    return out;
}

/* ---- the City database ----------------------------------------------------------------------- */

START_TEST(test_every_listed_network_resolves_at_its_first_and_last_address) {
    geo_t *g = open_db(city_db, NULL);
    check_every_row(g, REGION_CODE);
    geo_close(g);
}
END_TEST

START_TEST(test_ipv4_rows_resolve_through_ipv4_mapped_ipv6) {
    geo_t *g = open_db(city_db, NULL);
    int n = 0;
    for (int i = 0; i < nrows; i++) {
        if (rows[i].v6) continue;
        for (long long k = 0; k > -2; k--) { /* first and last */
            uint8_t v4[16], a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
            row_addr(&rows[i], k, v4);
            memcpy(a + 12, v4, 4);
            check_addr(g, 1, a, REGION_CODE);
        }
        n++;
    }
    ck_assert_int_gt(n, 20);
    ck_assert_str_eq(lookup(g, "::ffff:66.249.1.2", NULL), "US/CA");
    geo_close(g);
}
END_TEST

START_TEST(test_known_addresses_give_the_listed_geo) {
    geo_t *g = open_db(city_db, NULL);
    int rc;
    ck_assert_str_eq(lookup(g, "66.249.73.135", &rc), "US/CA");
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(lookup(g, "2001:db8:1::1", NULL), "DE/BE");
    ck_assert_str_eq(lookup(g, "2001:DB8:1:ffff:ffff:ffff:ffff:ffff", NULL), "DE/BE");
    ck_assert_str_eq(lookup(g, "87.250.1.1", NULL), "IE/Leinster");  /* a name, no code */
    ck_assert_str_eq(lookup(g, "2001:db8:4::9", NULL), "CH/Zürich"); /* UTF-8 name */
    ck_assert_str_eq(lookup(g, "178.255.1.1", NULL), "NL/");         /* no subdivision */
    ck_assert_str_eq(lookup(g, "2001:db8:3::1", NULL), "AU/NSW");    /* a code, no name */
    ck_assert_str_eq(lookup(g, "192.0.2.1", NULL), "US/NY");         /* documentation range */
    ck_assert_str_eq(lookup(g, "203.0.113.255", NULL), "JP/13");
    geo_close(g);
}
END_TEST

START_TEST(test_unmapped_addresses_are_ZZ) {
    geo_t *g = open_db(city_db, NULL);
    const char *ips[] = {"10.1.2.3", "192.0.2.200",     "192.168.1.1", "2001:db8:ffff::1",
                         "1.1.1.1",  "8.8.8.8",         "::1",         "2001:db8:5::1",
                         "0.0.0.0",  "255.255.255.255", "fe80::1",     "ffff::1"};
    for (size_t i = 0; i < sizeof ips / sizeof *ips; i++) {
        uint8_t a[16];
        int v6 = strchr(ips[i], ':') != NULL;
        ck_assert_int_eq(inet_pton(v6 ? AF_INET6 : AF_INET, ips[i], a), 1);
        const row_t *r = row_of(v6, a);
        ck_assert_msg(!r || !r->country[0], "%s is in mapped row %s: fix the test", ips[i], r->net);
        int rc = 7;
        ck_assert_str_eq(lookup(g, ips[i], &rc), "ZZ/");
        ck_assert_int_eq(rc, 1);
    }
    geo_stats_t st;
    geo_stats(g, &st);
    ck_assert_uint_eq(st.not_found, sizeof ips / sizeof *ips);
    geo_close(g);
}
END_TEST

START_TEST(test_text_that_is_not_an_address_is_ZZ_and_minus_1) {
    geo_t *g = open_db(city_db, NULL);
    const char *bad[] = {"",
                         "-",
                         "1.2.3",
                         "1.2.3.4.5",
                         "256.1.1.1",
                         "01.2.3.4",
                         "x66.249.1.1",
                         " 66.249.1.1",
                         "66.249.1.1 ",
                         "66.249.1.1:80",
                         "1.2.3.4/24",
                         "::g",
                         "66.249.1.1,10.0.0.1",
                         "[2001:db8:1::1]",
                         "2001:db8:1::1%eth0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = 7;
        ck_assert_msg(strcmp(lookup(g, bad[i], &rc), "ZZ/") == 0 && rc == -1, "'%s' gave %s %d",
                      bad[i], lookup(g, bad[i], NULL), rc);
    }
    char country[3] = "xx", region[8] = "junk";
    char nul[] = "66.249.1.1\0junk";
    ck_assert_int_eq(geo_lookup(g, nul, sizeof nul - 1, country, region, sizeof region), -1);
    ck_assert_str_eq(country, "ZZ");
    ck_assert_str_eq(region, "");
    char longtext[4096];
    memset(longtext, '1', sizeof longtext);
    ck_assert_int_eq(geo_lookup(g, longtext, sizeof longtext, country, region, sizeof region), -1);
    /* the longest address texts are still read */
    const char *longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    ck_assert_uint_eq(strlen(longest), GEO_IP_TEXT_MAX);
    int rc = 7;
    ck_assert_str_eq(lookup(g, longest, &rc), "ZZ/");
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(lookup(g, "2001:0db8:0001:0000:0000:0000:0000:0001", NULL), "DE/BE");
    ck_assert_str_eq(lookup(g, "0:0:0:0:0:ffff:66.249.1.1", NULL), "US/CA");
    geo_stats_t st;
    geo_stats(g, &st);
    ck_assert_uint_ge(st.bad_ip, sizeof bad / sizeof *bad + 2);
    geo_close(g);
}
END_TEST

START_TEST(test_region_is_cut_at_a_character_boundary_to_fit) {
    geo_t *g = open_db(city_db, NULL);
    char country[3], region[16];
    const char *ip = "2001:db8:4::1"; /* CH, "Zürich": Z, then ü in two bytes */
    size_t n = strlen(ip);
    ck_assert_int_eq(geo_lookup(g, ip, n, country, region, 3), 0);
    ck_assert_str_eq(region, "Z"); /* "Z\xc3" would cut the ü */
    ck_assert_int_eq(geo_lookup(g, ip, n, country, region, 4), 0);
    ck_assert_str_eq(region, "Zü");
    ck_assert_int_eq(geo_lookup(g, ip, n, country, region, 1), 0);
    ck_assert_str_eq(region, "");
    memcpy(region, "untouched", 10);
    ck_assert_int_eq(geo_lookup(g, ip, n, country, region, 0), 0);
    ck_assert_str_eq(region, "untouched");
    ck_assert_str_eq(country, "CH");
    geo_close(g);
}
END_TEST

START_TEST(test_city_db_gets_city_keys_by_default) {
    geo_t *g = open_db(city_db, NULL);
    ck_assert_str_eq(geo_database_type(g), "GeoIP2-City");
    geo_keys_t k = geo_keys_in_use(g);
    ck_assert_str_eq(k.country, "country.iso_code");
    ck_assert_str_eq(k.region, "subdivisions.0.iso_code");
    ck_assert_str_eq(k.region_name, "subdivisions.0.names.en");
    geo_close(g);
}
END_TEST

START_TEST(test_custom_paths_read_other_values) {
    geo_keys_t k = {"registered_country.iso_code", "subdivisions.0.names.en", ""};
    geo_t *g = open_db(city_db, &k);
    check_every_row(g, REGION_NAME_ONLY);
    geo_close(g);
    geo_keys_t partial = {NULL, "subdivisions.-1.names.en", NULL}; /* NULL: the default */
    g = open_db(city_db, &partial);
    ck_assert_str_eq(geo_keys_in_use(g).country, "country.iso_code");
    ck_assert_str_eq(lookup(g, "66.249.1.1", NULL), "US/California");
    ck_assert_str_eq(lookup(g, "2001:db8:3::1", NULL), "AU/"); /* no name: no region */
    geo_close(g);
    geo_keys_t noname = {NULL, NULL, ""}; /* no fall-back to the name */
    g = open_db(city_db, &noname);
    ck_assert_str_eq(lookup(g, "87.1.1.1", NULL), "IE/");
    ck_assert_str_eq(lookup(g, "66.249.1.1", NULL), "US/CA");
    geo_close(g);
}
END_TEST

/* ---- the cache ------------------------------------------------------------------------------- */

START_TEST(test_same_ip_twice_is_answered_from_the_cache_alike) {
    geo_t *g = open_db(city_db, NULL);
    const char *ips[] = {"66.249.1.1", "2001:db8:4::1", "10.0.0.1", "87.1.1.1"};
    for (size_t i = 0; i < sizeof ips / sizeof *ips; i++) {
        char first[REGION_CAP + 8];
        int rc1, rc2;
        geo_stats_t a, b;
        strcpy(first, lookup(g, ips[i], &rc1));
        geo_stats(g, &a);
        ck_assert_str_eq(lookup(g, ips[i], &rc2), first);
        geo_stats(g, &b);
        ck_assert_int_eq(rc1, rc2);
        ck_assert_uint_eq(b.cache_hits, a.cache_hits + 1);
        ck_assert_uint_eq(b.lookups, a.lookups + 1);
    }
    geo_close(g);
}
END_TEST

START_TEST(test_colliding_ips_evict_each_other_but_never_mix_answers) {
    /* 3x as many distinct addresses as slots: by pigeonhole most share a slot with another */
    enum { N = 3 * GEO_CACHE_SLOTS };
    static uint8_t addrs[N][16];
    static int v6[N];
    int n = 0;
    for (long long k = 0; n < N; k++)
        for (int i = 0; i < nrows && n < N; i++) {
            int bits = (rows[i].v6 ? 128 : 32) - rows[i].plen;
            if (bits < 16 || !rows[i].country[0]) continue;
            row_addr(&rows[i], k * 2654435761LL % 65536, addrs[n]);
            v6[n++] = rows[i].v6;
        }
    geo_t *g = open_db(city_db, NULL);
    geo_stats_t before, after;
    for (int pass = 0; pass < 2; pass++) {
        geo_stats(g, &before);
        for (int i = 0; i < N; i++)
            check_addr(g, v6[i], addrs[i], REGION_CODE);
        for (int i = N - 1; i >= 0; i -= 3)
            check_addr(g, v6[i], addrs[i], REGION_CODE);
        geo_stats(g, &after);
        uint64_t misses = (after.lookups - before.lookups) - (after.cache_hits - before.cache_hits);
        /* at most GEO_CACHE_SLOTS addresses can be resident: the rest of a pass must miss */
        ck_assert_uint_ge(misses, (uint64_t)(N - GEO_CACHE_SLOTS));
    }
    geo_close(g);
}
END_TEST

/* The record cache: 3x as many data records as its slots, visited in an order that mixes them,
 * twice; every answer is the one written for its network (the TSV is the oracle). */
START_TEST(test_many_records_share_record_slots_but_never_mix_answers) {
    geo_t *g = open_db(many_db, NULL);
    for (int pass = 0; pass < 2; pass++)
        for (long k = 0; k < MANY_NETS; k++) {
            long i = k * 7919 % MANY_NETS; /* 7919 is prime: a permutation */
            char ip[32], want[64], region[REGION_CAP], country[3];
            snprintf(ip, sizeof ip, "10.%ld.%ld.%ld", i / 256, i % 256, (k + pass) % 256);
            snprintf(want, sizeof want, "Region %ld", i);
            ck_assert_int_eq(geo_lookup(g, ip, strlen(ip), country, region, sizeof region), 0);
            ck_assert_str_eq(country, many_countries[i % 7]);
            ck_assert_str_eq(region, want);
        }
    geo_close(g);
}
END_TEST

/* ---- other schemas --------------------------------------------------------------------------- */

START_TEST(test_country_schema_db_gives_countries_and_no_region) {
    geo_t *g = open_db(country_db, NULL);
    ck_assert_str_eq(geo_database_type(g), "GeoIP2-Country");
    ck_assert_str_eq(geo_keys_in_use(g).region, "");
    check_every_row(g, REGION_NONE);
    geo_close(g);
}
END_TEST

START_TEST(test_flat_db_is_recognized_by_its_records) {
    geo_t *g = open_db(flat_db, NULL);
    ck_assert_str_eq(geo_database_type(g), "flat-test");
    geo_keys_t k = geo_keys_in_use(g);
    ck_assert_str_eq(k.country, "country_code");
    ck_assert_str_eq(k.region, "state1");
    check_every_row(g, REGION_NAME_ONLY); /* state1 holds names, dashes and all */
    ck_assert_str_eq(lookup(g, "78.1.1.1", NULL), "FR/Auvergne-Rhône-Alpes");
    geo_close(g);
}
END_TEST

START_TEST(test_flat_db_with_custom_keys) {
    geo_keys_t k = {"country_code", "state1", ""};
    geo_t *g = open_db(flat_db, &k);
    check_every_row(g, REGION_NAME_ONLY);
    geo_close(g);
}
END_TEST

START_TEST(test_whole_iso_codes_lose_their_country_prefix_and_names_do_not) {
    geo_t *g = open_db(odd_db, NULL);
    ck_assert_str_eq(lookup(g, "10.0.0.1", NULL), "US/TX");  /* stored as US-TX */
    ck_assert_str_eq(lookup(g, "10.0.1.1", NULL), "FR/IDF"); /* FR-IDF */
    ck_assert_str_eq(lookup(g, "10.0.2.1", NULL), "DE/Baden-Württemberg");
    ck_assert_str_eq(lookup(g, "10.0.3.1", NULL), "GB/ENG-X"); /* not a code: kept */
    ck_assert_str_eq(lookup(g, "10.0.4.1", NULL), "JP/13");
    geo_close(g);
}
END_TEST

START_TEST(test_region_too_long_to_cache_is_still_right_every_time) {
    const char *name = "Provincia Autonoma di Bolzano - Alto Adige, Suedtirol, Italia";
    ck_assert_uint_gt(strlen(name), GEO_CACHE_REGION_MAX);
    geo_t *g = open_db(odd_db, NULL);
    char want[128];
    snprintf(want, sizeof want, "IT/%s", name);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(lookup(g, "10.0.5.7", NULL), want);
        ck_assert_str_eq(lookup(g, "10.0.0.1", NULL), "US/TX");
    }
    geo_close(g);
}
END_TEST

START_TEST(test_country_must_be_two_upper_case_letters) {
    geo_t *g = open_db(weird_db, NULL); /* Weird-Test: told apart by its records */
    ck_assert_str_eq(geo_keys_in_use(g).country, "country.iso_code");
    int rc;
    ck_assert_str_eq(lookup(g, "10.0.0.1", &rc), "DE/BE");
    ck_assert_int_eq(rc, 0);
    const char *bad[] = {"10.0.1.1", "10.0.2.1", "10.0.3.1", "10.0.4.1",
                         "10.0.5.1", "10.0.6.1", "10.0.7.1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(strcmp(lookup(g, bad[i], &rc), "ZZ/") == 0, "%s: %s", bad[i],
                      lookup(g, bad[i], NULL));
        ck_assert_int_eq(rc, 1); /* a record without a country is "not found" */
    }
    geo_close(g);
}
END_TEST

START_TEST(test_values_of_the_wrong_shape_for_a_path_give_ZZ) {
    /* the subdivision code as the country: "CA" is two letters, "13" and "ENG" are not */
    geo_keys_t k = {"subdivisions.0.iso_code", "", ""};
    geo_t *g = open_db(city_db, &k);
    ck_assert_str_eq(lookup(g, "66.249.1.1", NULL), "CA/");
    ck_assert_str_eq(lookup(g, "61.1.1.1", NULL), "ZZ/");
    ck_assert_str_eq(lookup(g, "82.1.1.1", NULL), "ZZ/");
    geo_close(g);
    geo_keys_t m = {"country.names.en", "continent", ""}; /* a name; a map, not a string */
    char err[256];
    ck_assert_ptr_null(geo_open(city_db, &m, err, sizeof err)); /* no record has a code there */
    geo_keys_t r = {NULL, "continent", "country.names.en"};
    g = open_db(city_db, &r);
    ck_assert_str_eq(lookup(g, "66.249.1.1", NULL), "US/United States");
    geo_close(g);
}
END_TEST

/* ---- refusals -------------------------------------------------------------------------------- */

static void ck_refused(const char *path, const geo_keys_t *k, const char *needle) {
    char err[512] = "";
    geo_t *g = geo_open(path, k, err, sizeof err);
    ck_assert_msg(g == NULL, "opened %s", path);
    ck_assert_msg(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
}

START_TEST(test_bad_files_and_paths_are_refused_with_the_culprit_named) {
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.mmdb", tmpdir);
    ck_refused(missing, NULL, missing);
    ck_refused(tsv_path, NULL, tsv_path); /* not a MaxMind DB */
    geo_keys_t k1 = {"country..iso_code", NULL, NULL};
    ck_refused(city_db, &k1, "country..iso_code");
    geo_keys_t k2 = {NULL, ".subdivisions", NULL};
    ck_refused(city_db, &k2, "empty component");
    geo_keys_t k3 = {NULL, NULL, "a.b.c.d.e.f.g.h.i"};
    ck_refused(city_db, &k3, "too many components");
    char big[GEO_PATH_MAX + 10];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    geo_keys_t k4 = {big, NULL, NULL};
    ck_refused(city_db, &k4, "longer than");
    geo_keys_t k5 = {"country.iso_cod", NULL, NULL}; /* a typo: every hit would be ZZ */
    ck_refused(city_db, &k5, "country.iso_cod");
    geo_keys_t k6 = {"country_code", NULL, NULL};
    ck_refused(city_db, &k6, "none of the first");
    geo_keys_t k7 = {"", NULL, NULL};
    ck_refused(city_db, &k7, "must not be empty");
    ck_refused(asn_db, NULL, "GeoLite2-ASN"); /* no location in it: the message names the type */
    geo_keys_t k8 = {"autonomous_system_number", NULL, NULL};
    ck_refused(asn_db, &k8, "no known location schema"); /* the region still needs a default */
}
END_TEST

/* ---- set-up ---------------------------------------------------------------------------------- */

static void run_mkgeodb(const char *in, const char *out, const char *schema) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "perl '%s' '%s' '%s' --schema %s", mkgeodb, in, out, schema);
    if (system(cmd) != 0) die("failed", cmd);
}

/* Databases mkgeodb would refuse to write: country values of every wrong shape, under a
 * database_type no schema default knows (so the schema is told by probing), and one without any
 * location at all, like an ASN database. */
static const char weird_script[] =
    "use strict; use MaxMind::DB::Writer::Tree;\n"
    "my %t = (country => 'map', iso_code => 'utf8_string', subdivisions => ['array', 'map'],\n"
    "         code => 'uint32', autonomous_system_number => 'uint32');\n"
    "sub tree { MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 28,\n"
    "    database_type => $_[0], description => {en => 'test'}, alias_ipv6_to_ipv4 => 1,\n"
    "    remove_reserved_networks => 0, map_key_type_callback => sub { $t{$_[0]} }) }\n"
    "my $w = tree('Weird-Test');\n"
    "$w->insert_network('10.0.0.0/24', {country => {iso_code => 'DE'},\n"
    "                                   subdivisions => [{iso_code => 'BE'}]});\n"
    "$w->insert_network('10.0.1.0/24', {country => {iso_code => 'us'}});\n"
    "$w->insert_network('10.0.2.0/24', {country => {iso_code => 'USA'}});\n"
    "$w->insert_network('10.0.3.0/24', {country => {iso_code => 'U1'}});\n"
    "$w->insert_network('10.0.4.0/24', {country => {code => 42}});\n"
    "$w->insert_network('10.0.5.0/24', {country => {iso_code => ''}});\n"
    "$w->insert_network('10.0.6.0/24', {country => {iso_code => 'uS'}});\n"
    "$w->insert_network('10.0.7.0/24', {country => {iso_code => \"D\\0\"},\n"
    "                                   subdivisions => [{iso_code => 'BE'}]});\n"
    "open my $fh, '>:raw', $ARGV[0] or die; $w->write_tree($fh); close $fh or die;\n"
    "my $a = tree('GeoLite2-ASN');\n"
    "$a->insert_network('10.0.0.0/8', {autonomous_system_number => 64496});\n"
    "open $fh, '>:raw', $ARGV[1] or die; $a->write_tree($fh); close $fh or die;\n";

static void make_weird_databases(void) {
    snprintf(weird_pl, sizeof weird_pl, "%s/weird.pl", tmpdir);
    snprintf(weird_db, sizeof weird_db, "%s/weird.mmdb", tmpdir);
    snprintf(asn_db, sizeof asn_db, "%s/asn.mmdb", tmpdir);
    FILE *f = fopen(weird_pl, "w");
    if (!f) die("cannot write", weird_pl);
    fputs(weird_script, f);
    fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "perl '%s' '%s' '%s'", weird_pl, weird_db, asn_db);
    if (system(cmd) != 0) die("failed", cmd);
}

static void make_databases(void) {
    const char *data = getenv("TEST_DATA");
    if (!data) data = "tests/data";
    snprintf(tsv_path, sizeof tsv_path, "%s/geo-networks.tsv", data);
    snprintf(mkgeodb, sizeof mkgeodb, "%s/../../tools/mkgeodb", data);
    if (!mkdtemp(tmpdir)) die("mkdtemp", tmpdir);
    const char *env = getenv("TEST_GEODB");
    if (env && *env) {
        snprintf(city_db, sizeof city_db, "%s", env);
    } else {
        snprintf(city_db, sizeof city_db, "%s/city.mmdb", tmpdir);
        run_mkgeodb(tsv_path, city_db, "city");
    }
    snprintf(country_db, sizeof country_db, "%s/country.mmdb", tmpdir);
    run_mkgeodb(tsv_path, country_db, "country");
    snprintf(flat_db, sizeof flat_db, "%s/flat.mmdb", tmpdir);
    run_mkgeodb(tsv_path, flat_db, "flat");
    snprintf(odd_tsv, sizeof odd_tsv, "%s/odd.tsv", tmpdir);
    FILE *f = fopen(odd_tsv, "w");
    if (!f) die("cannot write", odd_tsv);
    fputs("# regions stored in other shapes\n"
          "10.0.0.0/24\tUS\tUS-TX\tTexas\n"
          "10.0.1.0/24\tFR\tFR-IDF\tÎle-de-France\n"
          "10.0.2.0/24\tDE\t\tBaden-Württemberg\n"
          "10.0.3.0/24\tGB\tENG-X\tEngland\n"
          "10.0.4.0/24\tJP\t13\tTokyo\n"
          "10.0.5.0/24\tIT\t\tProvincia Autonoma di Bolzano - Alto Adige, Suedtirol, Italia\n",
          f);
    fclose(f);
    snprintf(odd_db, sizeof odd_db, "%s/odd.mmdb", tmpdir);
    run_mkgeodb(odd_tsv, odd_db, "city");
    snprintf(many_tsv, sizeof many_tsv, "%s/many.tsv", tmpdir);
    if (!(f = fopen(many_tsv, "w"))) die("cannot write", many_tsv);
    for (int i = 0; i < MANY_NETS; i++)
        fprintf(f, "10.%d.%d.0/24\t%s\t\tRegion %d\n", i / 256, i % 256, many_countries[i % 7], i);
    fclose(f);
    snprintf(many_db, sizeof many_db, "%s/many.mmdb", tmpdir);
    run_mkgeodb(many_tsv, many_db, "city");
    make_weird_databases();
}

static void remove_databases(void) {
    const char *files[] = {country_db, flat_db,  odd_db,  odd_tsv, weird_db,
                           asn_db,     weird_pl, many_db, many_tsv};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        remove(files[i]);
    if (!getenv("TEST_GEODB") || !*getenv("TEST_GEODB")) remove(city_db);
    remove(tmpdir);
}

/* The /24 cache answers new addresses from a search made for another one of the same /24, but
 * only where the network found is a /24 or wider: in 192.0.2.0/24 (two /25s, one unmapped) every
 * address still gets its own half. Every address of each /24 that holds a listed network of /24
 * or narrower, in mixed order, twice; then random addresses of every wider IPv4 network (many
 * /24s, slots shared); all against the TSV. */
START_TEST(test_addresses_of_a_known_slash24_get_their_own_networks_answer) {
    geo_t *g = open_db(city_db, NULL);
    srand(3);
    int narrow = 0;
    for (int i = 0; i < nrows; i++) {
        const row_t *r = &rows[i];
        if (r->v6) continue;
        uint8_t a[16] = {0};
        if (r->plen >= 24) {
            narrow++;
            int order[256];
            for (int k = 0; k < 256; k++)
                order[k] = k;
            for (int round = 0; round < 2; round++) {
                for (int k = 255; k > 0; k--) {
                    int j = rand() % (k + 1), t = order[k];
                    order[k] = order[j], order[j] = t;
                }
                for (int k = 0; k < 256; k++) {
                    memcpy(a, r->a, 3);
                    a[3] = (uint8_t)order[k];
                    check_addr(g, 0, a, REGION_CODE);
                }
            }
        } else {
            for (int k = 0; k < 2000; k++) {
                row_addr(r,
                         (long long)(((unsigned)rand() << 8 ^ (unsigned)rand()) &
                                     ((1u << (32 - r->plen)) - 1)),
                         a);
                check_addr(g, 0, a, REGION_CODE);
            }
        }
    }
    ck_assert_int_ge(narrow, 3); /* the TSV still has its /25s and /24s */
    geo_stats_t st;
    geo_stats(g, &st);
    ck_assert_uint_gt(st.net_hits, 0);
    geo_close(g);
}
END_TEST

/* geo_parse_ip reads addresses itself: it must accept exactly what inet_pton (the oracle)
 * accepts, to the same bytes. IPv4: texts of digits, dots and a few other bytes, every length up
 * to 18, random and mutated from valid addresses, plus every 0..999 part in each place. IPv6:
 * texts of hex digits, ':' and '.', random and mutated from valid forms ("::", embedded IPv4,
 * groups of 1..5 digits). */
static void check_like_inet_pton(const char *t, size_t n) {
    char buf[64];
    uint8_t want[16], got[16];
    memcpy(buf, t, n);
    buf[n] = 0;
    memset(want, 0, sizeof want);
    int v6 = memchr(t, ':', n) != NULL;
    int ok = !memchr(t, 0, n) && n > 0 && inet_pton(v6 ? AF_INET6 : AF_INET, buf, want) == 1;
    int fam = geo_parse_ip(t, n, got);
    ck_assert_msg(fam == (ok ? (v6 ? 6 : 4) : 0), "'%s': inet_pton %d, geo_parse_ip %d", buf, ok,
                  fam);
    if (ok) ck_assert_msg(memcmp(want, got, 16) == 0, "'%s' read otherwise", buf);
}

START_TEST(test_ipv4_text_is_read_exactly_as_inet_pton_reads_it) {
    static const char alpha[] = "0123456789.....  x+-\t\0";
    char t[20];
    srand(5);
    for (int iter = 0; iter < 300000; iter++) {
        size_t n = (size_t)(rand() % 19);
        if (iter % 2) {
            n = (size_t)snprintf(t, sizeof t, "%d.%d.%d.%d", rand() % 300, rand() % 300,
                                 rand() % 300, rand() % 300);
            for (int k = rand() % 3; k-- > 0;) /* a few bytes changed, or the text cut */
                t[rand() % n] = alpha[rand() % (sizeof alpha - 1)];
            if (rand() % 8 == 0) n = (size_t)(rand() % (int)n);
        } else {
            for (size_t i = 0; i < n; i++)
                t[i] = alpha[rand() % (sizeof alpha - 1)];
        }
        check_like_inet_pton(t, n);
    }
    static const char *const forms[] = {"2001:db8::1",
                                        "::",
                                        "::1",
                                        "1::",
                                        "::ffff:1.2.3.4",
                                        "1:2:3:4:5:6:7:8",
                                        "1:2:3:4:5:6:1.2.3.4",
                                        "fe80::1:2:3:4:5:6",
                                        "0:0:0:0:0:ffff:66.249.1.1",
                                        "abcd:EF01::12345"};
    static const char hexalpha[] = "0123456789abcdefABCDEFg::::...";
    char v[48];
    for (int iter = 0; iter < 300000; iter++) {
        size_t n;
        if (iter % 2) {
            const char *f = forms[rand() % (int)(sizeof forms / sizeof *forms)];
            n = strlen(f);
            memcpy(v, f, n);
            for (int k = rand() % 3; k-- > 0;) {
                int op = rand() % 3, at = rand() % (int)(n + 1);
                if (op == 0 && at < (int)n) /* change a byte */
                    v[at] = hexalpha[rand() % (int)(sizeof hexalpha - 1)];
                else if (op == 1 && n < 45) { /* insert one */
                    memmove(v + at + 1, v + at, n - (size_t)at);
                    v[at] = hexalpha[rand() % (int)(sizeof hexalpha - 1)];
                    n++;
                } else if (at < (int)n) { /* delete one */
                    memmove(v + at, v + at + 1, n - (size_t)at - 1);
                    n--;
                }
            }
        } else {
            n = (size_t)(rand() % 46);
            for (size_t i = 0; i < n; i++)
                v[i] = hexalpha[rand() % (int)(sizeof hexalpha - 1)];
        }
        check_like_inet_pton(v, n);
    }
    for (int part = 0; part < 4; part++)
        for (int v = 0; v < 1000; v++) {
            int q[4] = {1, 2, 3, 4};
            q[part] = v;
            int n = snprintf(t, sizeof t, "%d.%d.%d.%d", q[0], q[1], q[2], q[3]);
            check_like_inet_pton(t, (size_t)n);
            n = snprintf(t, sizeof t, "%d.%d.%d.%03d", q[0], q[1], q[2], q[3]);
            check_like_inet_pton(t, (size_t)n);
        }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("geo");
    TCase *c = tcase_create("city");
    tcase_add_test(c, test_every_listed_network_resolves_at_its_first_and_last_address);
    tcase_add_test(c, test_ipv4_rows_resolve_through_ipv4_mapped_ipv6);
    tcase_add_test(c, test_known_addresses_give_the_listed_geo);
    tcase_add_test(c, test_unmapped_addresses_are_ZZ);
    tcase_add_test(c, test_text_that_is_not_an_address_is_ZZ_and_minus_1);
    tcase_add_test(c, test_ipv4_text_is_read_exactly_as_inet_pton_reads_it);
    tcase_add_test(c, test_region_is_cut_at_a_character_boundary_to_fit);
    tcase_add_test(c, test_city_db_gets_city_keys_by_default);
    tcase_add_test(c, test_custom_paths_read_other_values);
    suite_add_tcase(s, c);
    TCase *k = tcase_create("cache");
    tcase_add_test(k, test_same_ip_twice_is_answered_from_the_cache_alike);
    tcase_add_test(k, test_colliding_ips_evict_each_other_but_never_mix_answers);
    tcase_add_test(k, test_region_too_long_to_cache_is_still_right_every_time);
    tcase_add_test(k, test_many_records_share_record_slots_but_never_mix_answers);
    tcase_add_test(k, test_addresses_of_a_known_slash24_get_their_own_networks_answer);
    suite_add_tcase(s, k);
    TCase *o = tcase_create("schemas");
    tcase_add_test(o, test_country_schema_db_gives_countries_and_no_region);
    tcase_add_test(o, test_flat_db_is_recognized_by_its_records);
    tcase_add_test(o, test_flat_db_with_custom_keys);
    tcase_add_test(o, test_whole_iso_codes_lose_their_country_prefix_and_names_do_not);
    tcase_add_test(o, test_country_must_be_two_upper_case_letters);
    tcase_add_test(o, test_values_of_the_wrong_shape_for_a_path_give_ZZ);
    tcase_add_test(o, test_bad_files_and_paths_are_refused_with_the_culprit_named);
    suite_add_tcase(s, o);
    return s;
}

int main(void) {
    make_databases();
    load_rows(tsv_path);
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    remove_databases();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
