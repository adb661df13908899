/* Unit tests of aggregator/window.c: one-second buckets by event time, the sliding read, the
 * late/future rule, expiry and memory, exact sums, ordering, partitions; and a randomized run
 * against a plain list of every hit added (the model). */
#include "../../../aggregator/window.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-11-24T22:05:00Z */
#define T0 1764021900LL
#define MS(s) ((s)*1000LL)

static win_t *w;

static void setup(void) {
    w = win_new();
    ck_assert_ptr_nonnull(w);
}

static void teardown(void) {
    win_free(w);
}

static hit_t mkhit(const char *cust, int64_t ts_ms, const char *country, const char *region,
                   uint64_t bytes) {
    hit_t h;
    memset(&h, 0, sizeof h);
    h.ts_ms = ts_ms;
    h.customer = (slice_t){cust, strlen(cust)};
    h.country = (slice_t){country, strlen(country)};
    h.region = (slice_t){region, strlen(region)};
    h.bytes = bytes;
    h.host = h.edge = h.src = (slice_t){"x", 1};
    h.status = 200;
    return h;
}

static win_add_result_t add(const char *cust, int64_t ts_ms, const char *country,
                            const char *region, uint64_t bytes, int64_t now_ms) {
    hit_t h = mkhit(cust, ts_ms, country, region, bytes);
    return win_add(w, &h, 0, now_ms);
}

static void ok(const char *cust, int64_t ts_ms, const char *country, const char *region,
               uint64_t bytes, int64_t now_ms) {
    ck_assert_int_eq(add(cust, ts_ms, country, region, bytes, now_ms), WIN_ADDED);
}

/* hits and bytes of the customer's window */
static void expect(const char *cust, int seconds, int64_t now_ms, uint64_t hits, uint64_t bytes) {
    win_result_t r;
    int rc = win_read(w, cust, seconds, now_ms, &r);
    ck_assert_int_eq(rc, hits ? 0 : 1);
    ck_assert_uint_eq(r.hits, hits);
    ck_assert_uint_eq(r.bytes, bytes);
    win_result_free(&r);
}

START_TEST(test_a_hit_on_a_second_boundary_belongs_to_that_second) {
    ok("acme", MS(T0), "US", "CA", 10, MS(T0));
    ok("acme", MS(T0) - 1, "US", "CA", 20, MS(T0));
    ok("acme", MS(T0) + 999, "US", "CA", 40, MS(T0));
    expect("acme", 1, MS(T0), 2, 50);       /* T0.000 and T0.999 */
    expect("acme", 1, MS(T0) + 999, 2, 50); /* any instant of the second T0 reads the same */
    expect("acme", 2, MS(T0), 3, 70);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 2, MS(T0) + 500, &r), 0);
    ck_assert_int_eq(r.end_ms, MS(T0));
    ck_assert_int_eq(r.series[0].t_ms, MS(T0 - 1));
    ck_assert_uint_eq(r.series[0].bytes, 20);
    ck_assert_int_eq(r.series[1].t_ms, MS(T0));
    ck_assert_uint_eq(r.series[1].bytes, 50);
    win_result_free(&r);
}
END_TEST

START_TEST(test_a_window_drains_to_zero_when_traffic_stops) {
    ok("acme", MS(T0), "US", "CA", 100, MS(T0));
    ok("acme", MS(T0 + 10), "US", "CA", 1, MS(T0 + 10));
    expect("acme", 60, MS(T0 + 10), 2, 101);
    expect("acme", 60, MS(T0 + 59), 2, 101);
    expect("acme", 60, MS(T0 + 60), 1, 1); /* T0 left the window */
    expect("acme", 50, MS(T0 + 59), 1, 1);
    expect("acme", 60, MS(T0 + 69), 1, 1);
    expect("acme", 60, MS(T0 + 70), 0, 0);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0 + 70), &r), 1);
    ck_assert_uint_eq(r.nregions, 0);
    ck_assert_uint_eq(r.ncountries, 0);
    for (int i = 0; i < 60; i++) {
        ck_assert_uint_eq(r.series[i].hits, 0);
        ck_assert_int_eq(r.series[i].t_ms, MS(T0 + 11 + i));
    }
    win_result_free(&r);
}
END_TEST

START_TEST(test_late_and_future_hits_are_refused_by_the_rule) {
    int64_t now = MS(T0) + 300;
    ck_assert_int_eq(add("acme", MS(T0 - 60) + 999, "US", "", 1, now), WIN_LATE);
    ck_assert_int_eq(add("acme", MS(T0 - 59), "US", "", 2, now), WIN_ADDED);
    ck_assert_int_eq(add("acme", MS(T0 + WIN_FUTURE_S) + 999, "US", "", 4, now), WIN_ADDED);
    ck_assert_int_eq(add("acme", MS(T0 + WIN_FUTURE_S + 1), "US", "", 8, now), WIN_FUTURE);
    expect("acme", 60, now, 1, 2);                   /* the future second is not here yet */
    expect("acme", 60, MS(T0 + WIN_FUTURE_S), 1, 4); /* and shows once it is; T0-59 left */
    expect("acme", 3, MS(T0 + WIN_FUTURE_S), 1, 4);
}
END_TEST

START_TEST(test_a_clock_stepping_back_makes_older_seconds_late) {
    ok("acme", MS(T0 + 100), "US", "", 1, MS(T0 + 100));
    /* The clock went back 100 s: T0 - 30 is in range by the clock, but the ring of acme now
     * holds T0+39..T0+100, and no read can show it. */
    ck_assert_int_eq(add("acme", MS(T0 - 30), "US", "", 1, MS(T0)), WIN_LATE);
    ck_assert_int_eq(add("other", MS(T0 - 30), "US", "", 1, MS(T0)), WIN_ADDED);
}
END_TEST

START_TEST(test_expiry_frees_every_key_and_the_memory) {
    win_stats_t st0, st;
    win_stats(w, &st0);
    char cust[16], region[16];
    for (int c = 0; c < 300; c++) {
        snprintf(cust, sizeof cust, "c%d", c);
        for (int k = 0; k < 20; k++) {
            snprintf(region, sizeof region, "R%d", k);
            ok(cust, MS(T0) + k, k % 2 ? "US" : "DE", region, 1, MS(T0));
        }
    }
    ok("late", MS(T0 + 30), "FR", "", 1, MS(T0 + 30));
    win_stats(w, &st);
    ck_assert_uint_eq(st.customers, 301);
    ck_assert_uint_eq(st.keys, 6001);
    ck_assert_uint_gt(st.bytes, st0.bytes);
    ck_assert_uint_lt(st.bytes, 6001 * 150); /* one second each: a few bytes a key (window.h) */
    ck_assert_uint_eq(win_expire(w, MS(T0 + 59)), 0);
    ck_assert_uint_eq(win_expire(w, MS(T0 + 60)), 6000);
    win_stats(w, &st);
    ck_assert_uint_eq(st.customers, 1);
    ck_assert_uint_eq(st.keys, 1);
    expect("late", 60, MS(T0 + 60), 1, 1);
    expect("c7", 60, MS(T0 + 30), 0, 0); /* freed: a read even of an older second finds none */
    ck_assert_uint_eq(win_expire(w, MS(T0 + 90)), 1);
    win_stats(w, &st);
    ck_assert_uint_eq(st.customers, 0);
    ck_assert_uint_eq(st.keys, 0);
    ck_assert_uint_eq(st.bytes, st0.bytes);
}
END_TEST

START_TEST(test_expiry_keeps_live_keys_of_a_customer_reachable) {
    /* Keys of one customer expire at different times; the ones left must still be found by
     * later adds (no duplicate key) and reads. */
    char region[16];
    for (int k = 0; k < 200; k++) {
        snprintf(region, sizeof region, "R%d", k);
        ok("acme", MS(T0 + (k % 3 == 0 ? 10 : 0)), "US", region, 1, MS(T0 + 10));
    }
    ck_assert_uint_eq(win_expire(w, MS(T0 + 60)), 133);
    win_stats_t st;
    win_stats(w, &st);
    ck_assert_uint_eq(st.keys, 67);
    for (int k = 0; k < 200; k += 3) {
        snprintf(region, sizeof region, "R%d", k);
        ok("acme", MS(T0 + 60), "US", region, 2, MS(T0 + 60));
    }
    win_stats(w, &st);
    ck_assert_uint_eq(st.keys, 67);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0 + 60), &r), 0);
    ck_assert_uint_eq(r.nregions, 67);
    ck_assert_uint_eq(r.hits, 134);
    ck_assert_uint_eq(r.regions[0].hits, 2);
    win_result_free(&r);
}
END_TEST

START_TEST(test_the_series_has_every_second_oldest_first) {
    int64_t now = MS(T0) + 123;
    for (int i = 0; i < 60; i++)
        for (int j = 0; j <= i % 4; j++)
            ok("acme", MS(T0 - i) + j * 7, "US", "NY", 1000 + i, now);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    ck_assert_int_eq(r.seconds, 60);
    uint64_t hits = 0, bytes = 0;
    for (int i = 0; i < 60; i++) {
        int age = 59 - i;
        ck_assert_int_eq(r.series[i].t_ms, MS(T0 - age));
        ck_assert_uint_eq(r.series[i].hits, (uint64_t)(age % 4 + 1));
        ck_assert_uint_eq(r.series[i].bytes, (uint64_t)(age % 4 + 1) * (1000 + age));
        hits += r.series[i].hits;
        bytes += r.series[i].bytes;
    }
    ck_assert_uint_eq(r.hits, hits);
    ck_assert_uint_eq(r.bytes, bytes);
    ck_assert_uint_eq(r.nregions, 1);
    ck_assert_uint_eq(r.regions[0].hits, hits);
    ck_assert_uint_eq(r.countries[0].bytes, bytes);
    win_result_free(&r);
    ck_assert_int_eq(win_read(w, "acme", 5, now, &r), 0);
    ck_assert_int_eq(r.seconds, 5);
    ck_assert_int_eq(r.series[0].t_ms, MS(T0 - 4));
    ck_assert_uint_eq(r.hits, 1 + 2 + 3 + 4 + 1);
    win_result_free(&r);
}
END_TEST

START_TEST(test_regions_and_countries_sort_by_hits_then_bytes_then_code) {
    int64_t now = MS(T0);
    const struct {
        const char *c, *r;
        int hits;
        uint64_t bytes;
    } in[] = {
        {"US", "CA", 3, 10}, {"US", "NY", 3, 10}, {"DE", "BE", 3, 10}, {"FR", "", 3, 30},
        {"JP", "13", 5, 1},  {"US", "TX", 1, 99}, {"DE", "BY", 1, 0},
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        for (int j = 0; j < in[i].hits; j++)
            ok("acme", now, in[i].c, in[i].r, j == 0 ? in[i].bytes : 0, now);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    const char *want[] = {"JP13", "FR", "DEBE", "USCA", "USNY", "USTX", "DEBY"};
    ck_assert_uint_eq(r.nregions, 7);
    for (size_t i = 0; i < 7; i++) {
        char got[16];
        snprintf(got, sizeof got, "%s%s", r.regions[i].country, r.regions[i].region);
        ck_assert_str_eq(got, want[i]);
    }
    /* US 7 hits 119 bytes, JP 5/1, DE 4/10, FR 3/30 */
    ck_assert_uint_eq(r.ncountries, 4);
    ck_assert_str_eq(r.countries[0].country, "US");
    ck_assert_uint_eq(r.countries[0].hits, 7);
    ck_assert_uint_eq(r.countries[0].bytes, 119);
    ck_assert_str_eq(r.countries[1].country, "JP");
    ck_assert_str_eq(r.countries[2].country, "DE");
    ck_assert_uint_eq(r.countries[2].bytes, 10);
    ck_assert_str_eq(r.countries[3].country, "FR");
    win_result_free(&r);

    /* equal hits and bytes: by code */
    ok("tie", now, "US", "", 5, now);
    ok("tie", now, "DE", "", 5, now);
    ok("tie", now, "AT", "", 5, now);
    ck_assert_int_eq(win_read(w, "tie", 60, now, &r), 0);
    ck_assert_str_eq(r.countries[0].country, "AT");
    ck_assert_str_eq(r.countries[1].country, "DE");
    ck_assert_str_eq(r.countries[2].country, "US");
    win_result_free(&r);
}
END_TEST

START_TEST(test_two_customers_are_isolated) {
    int64_t now = MS(T0);
    ok("acme", now, "US", "CA", 100, now);
    ok("acme", now, "US", "CA", 100, now);
    ok("globex", now, "US", "CA", 7, now);
    ok("acme2", now, "DE", "", 1, now);
    expect("acme", 60, now, 2, 200);
    expect("globex", 60, now, 1, 7);
    expect("acme2", 60, now, 1, 1);
    expect("acm", 60, now, 0, 0);
    expect("", 60, now, 0, 0);
}
END_TEST

START_TEST(test_sums_are_exact_to_the_byte_near_two_to_the_forty) {
    int64_t now = MS(T0);
    const uint64_t big = (UINT64_C(1) << 40) + 12345;
    uint64_t want = 0;
    for (int i = 0; i < 5000; i++) {
        uint64_t b = big + (uint64_t)i * 7919;
        ok("acme", MS(T0 - i % 60), i % 3 ? "US" : "BR", i % 5 ? "CA" : "SP", b, now);
        want += b;
    }
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    ck_assert_uint_eq(r.hits, 5000);
    ck_assert_uint_eq(r.bytes, want);
    uint64_t sum = 0;
    for (size_t i = 0; i < r.nregions; i++)
        sum += r.regions[i].bytes;
    ck_assert_uint_eq(sum, want);
    sum = 0;
    for (size_t i = 0; i < r.ncountries; i++)
        sum += r.countries[i].bytes;
    ck_assert_uint_eq(sum, want);
    win_result_free(&r);
}
END_TEST

START_TEST(test_an_add_that_would_overflow_is_refused_whole) {
    int64_t now = MS(T0);
    ok("acme", now, "US", "", UINT64_MAX - 10, now);
    ck_assert_int_eq(add("acme", now, "US", "", 11, now), WIN_OVERFLOW);
    ok("acme", now, "US", "", 10, now);
    expect("acme", 60, now, 2, UINT64_MAX);
    /* another key of the same customer: the customer's slot would overflow too */
    ck_assert_int_eq(add("acme", now, "DE", "", 1, now), WIN_OVERFLOW);
    ok("acme", now, "DE", "", 0, now);
    expect("acme", 60, now, 3, UINT64_MAX);
}
END_TEST

START_TEST(test_a_partition_drops_only_its_customers) {
    int64_t now = MS(T0);
    hit_t a = mkhit("acme", now, "US", "CA", 10), g = mkhit("globex", now, "US", "CA", 20);
    ck_assert_int_eq(win_add(w, &a, 3, now), WIN_ADDED);
    ck_assert_int_eq(win_add(w, &g, 4, now), WIN_ADDED);
    ck_assert_uint_eq(win_drop_partition(w, 5), 0);
    ck_assert_uint_eq(win_drop_partition(w, 3), 1);
    expect("acme", 60, now, 0, 0);
    expect("globex", 60, now, 1, 20);
}
END_TEST

START_TEST(test_a_customer_seen_in_two_partitions_is_merged_exactly) {
    int64_t now = MS(T0);
    hit_t h1 = mkhit("acme", now, "US", "CA", 10), h2 = mkhit("acme", now - 1000, "US", "CA", 5);
    hit_t h3 = mkhit("acme", now, "DE", "", 1);
    ck_assert_int_eq(win_add(w, &h1, 1, now), WIN_ADDED);
    ck_assert_int_eq(win_add(w, &h2, 2, now), WIN_ADDED);
    ck_assert_int_eq(win_add(w, &h3, 2, now), WIN_ADDED);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    ck_assert_uint_eq(r.hits, 3);
    ck_assert_uint_eq(r.bytes, 16);
    ck_assert_uint_eq(r.nregions, 2);
    ck_assert_str_eq(r.regions[0].region, "CA");
    ck_assert_uint_eq(r.regions[0].hits, 2);
    ck_assert_uint_eq(r.regions[0].bytes, 15);
    ck_assert_uint_eq(r.series[58].bytes, 5);
    ck_assert_uint_eq(r.series[59].bytes, 11);
    win_result_free(&r);
    ck_assert_uint_eq(win_drop_partition(w, 2), 1);
    expect("acme", 60, now, 1, 10);
}
END_TEST

START_TEST(test_a_slot_is_reused_a_ring_later) {
    ok("acme", MS(T0), "US", "", 1, MS(T0));
    ok("acme", MS(T0 + WIN_RING), "US", "", 2, MS(T0 + WIN_RING));
    expect("acme", 60, MS(T0 + WIN_RING), 1, 2);
    ok("acme", MS(T0 + WIN_RING + 1), "US", "", 4, MS(T0 + WIN_RING + 1));
    expect("acme", 60, MS(T0 + WIN_RING + 1), 2, 6);
    expect("acme", 1, MS(T0 + WIN_RING + 1), 1, 4);
}
END_TEST

START_TEST(test_region_bytes_are_kept_as_they_are) {
    int64_t now = MS(T0);
    hit_t h = mkhit("acme", now, "ZZ", "", 3);
    const char odd[] = {'a', 0, 'b'};
    h.region = (slice_t){odd, 3};
    ck_assert_int_eq(win_add(w, &h, 0, now), WIN_ADDED);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    ck_assert_uint_eq(r.regions[0].region_len, 3);
    ck_assert_int_eq(memcmp(r.regions[0].region, odd, 3), 0);
    ck_assert_int_eq(r.regions[0].region[3], 0);
    win_result_free(&r);
}
END_TEST

START_TEST(test_a_country_of_other_than_two_bytes_is_refused) {
    ck_assert_int_eq(add("acme", MS(T0), "USA", "", 1, MS(T0)), WIN_INVALID);
    ck_assert_int_eq(add("acme", MS(T0), "", "", 1, MS(T0)), WIN_INVALID);
    expect("acme", 60, MS(T0), 0, 0);
}
END_TEST

START_TEST(test_seconds_are_clamped_to_the_window) {
    ok("acme", MS(T0 - 70), "US", "", 1, MS(T0 - 70));
    ok("acme", MS(T0), "US", "", 2, MS(T0));
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 600, MS(T0), &r), 0);
    ck_assert_int_eq(r.seconds, WIN_SECONDS);
    ck_assert_uint_eq(r.bytes, 2);
    win_result_free(&r);
    ck_assert_int_eq(win_read(w, "acme", 0, MS(T0), &r), 0);
    ck_assert_int_eq(r.seconds, 1);
    win_result_free(&r);
}
END_TEST

/* ---- randomized: the store against the list of every hit it accepted ------------------------ */

typedef struct mhit {
    int c, country, region;
    int64_t s;
    uint64_t bytes;
} mhit_t;

static const char *const CUSTS[] = {"acme", "globex", "umbrella", "initech", "hooli"};
static const char *const COUNTRIES[] = {"US", "DE", "FR", "BR"};
static const char *const REGIONS[] = {"", "A", "BB", "CCC", "a long region name of many bytes"};

START_TEST(test_random_traffic_equals_the_model) {
    srand(42);
    size_t cap = 200000, n = 0;
    mhit_t *m = malloc(cap * sizeof *m);
    int64_t now_s = T0;
    for (int step = 0; step < 3000; step++) {
        now_s += rand() % 100 == 0 ? 40 : rand() % 3 == 0; /* mostly crawls, sometimes jumps */
        for (int i = rand() % 40; i > 0; i--) {
            mhit_t x = {rand() % 5, rand() % 4, rand() % 5, now_s - 62 + rand() % 66,
                        (uint64_t)rand() * 1000 + (uint64_t)(rand() % 1000)};
            int64_t ts = MS(x.s) + rand() % 1000;
            win_add_result_t r = add(CUSTS[x.c], ts, COUNTRIES[x.country], REGIONS[x.region],
                                     x.bytes, MS(now_s) + rand() % 1000);
            win_add_result_t want = x.s < now_s - 59  ? WIN_LATE
                                    : x.s > now_s + 2 ? WIN_FUTURE
                                                      : WIN_ADDED;
            ck_assert_int_eq(r, want);
            if (r == WIN_ADDED && n < cap) m[n++] = x;
        }
        if (rand() % 10 == 0) win_expire(w, MS(now_s));
        int c = rand() % 5, secs = 1 + rand() % 60;
        uint64_t hits = 0, bytes = 0, rb[4][5] = {{0}}, rh[4][5] = {{0}};
        for (size_t i = 0; i < n; i++) {
            if (m[i].c != c || m[i].s > now_s || m[i].s <= now_s - secs) continue;
            hits++;
            bytes += m[i].bytes;
            rh[m[i].country][m[i].region]++;
            rb[m[i].country][m[i].region] += m[i].bytes;
        }
        win_result_t r;
        ck_assert_int_eq(win_read(w, CUSTS[c], secs, MS(now_s) + 999, &r), hits ? 0 : 1);
        ck_assert_uint_eq(r.hits, hits);
        ck_assert_uint_eq(r.bytes, bytes);
        for (size_t i = 0; i < r.nregions; i++) {
            int ci = 0, ri = 0;
            while (strcmp(COUNTRIES[ci], r.regions[i].country))
                ci++;
            while (strcmp(REGIONS[ri], r.regions[i].region))
                ri++;
            ck_assert_uint_eq(r.regions[i].hits, rh[ci][ri]);
            ck_assert_uint_eq(r.regions[i].bytes, rb[ci][ri]);
            rh[ci][ri] = 0;
            if (i) ck_assert_uint_ge(r.regions[i - 1].hits, r.regions[i].hits);
        }
        for (int ci = 0; ci < 4; ci++)
            for (int ri = 0; ri < 5; ri++)
                ck_assert_uint_eq(rh[ci][ri], 0);
        win_result_free(&r);
    }
    free(m);
}
END_TEST

int main(void) {
    Suite *s = suite_create("window");
    TCase *t = tcase_create("window");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_a_hit_on_a_second_boundary_belongs_to_that_second);
    tcase_add_test(t, test_a_window_drains_to_zero_when_traffic_stops);
    tcase_add_test(t, test_late_and_future_hits_are_refused_by_the_rule);
    tcase_add_test(t, test_a_clock_stepping_back_makes_older_seconds_late);
    tcase_add_test(t, test_expiry_frees_every_key_and_the_memory);
    tcase_add_test(t, test_expiry_keeps_live_keys_of_a_customer_reachable);
    tcase_add_test(t, test_the_series_has_every_second_oldest_first);
    tcase_add_test(t, test_regions_and_countries_sort_by_hits_then_bytes_then_code);
    tcase_add_test(t, test_two_customers_are_isolated);
    tcase_add_test(t, test_sums_are_exact_to_the_byte_near_two_to_the_forty);
    tcase_add_test(t, test_an_add_that_would_overflow_is_refused_whole);
    tcase_add_test(t, test_a_partition_drops_only_its_customers);
    tcase_add_test(t, test_a_customer_seen_in_two_partitions_is_merged_exactly);
    tcase_add_test(t, test_a_slot_is_reused_a_ring_later);
    tcase_add_test(t, test_region_bytes_are_kept_as_they_are);
    tcase_add_test(t, test_a_country_of_other_than_two_bytes_is_refused);
    tcase_add_test(t, test_seconds_are_clamped_to_the_window);
    tcase_add_test(t, test_random_traffic_equals_the_model);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
