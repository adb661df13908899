/* Unit tests of aggregator/window.c: the key cap (hits of further keys fold into their
 * country's (other) row, totals stay exact, the counts /metrics shows), the memory a key takes
 * (only its seconds with hits), seconds added in any order, and the expiry horizon. */
#include "../../../aggregator/window.h"
#include "../../../aggregator/winjson.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1764021900LL /* 2025-11-24T22:05:00Z */
#define MS(s) ((s)*1000LL)

static win_t *w;

static void setup(void) {
    w = win_new();
    ck_assert_ptr_nonnull(w);
}

static void teardown(void) {
    win_free(w);
}

static win_add_result_t add(const char *cust, int64_t ts_ms, const char *country,
                            const char *region, uint64_t bytes, int64_t now_ms) {
    hit_t h;
    memset(&h, 0, sizeof h);
    h.ts_ms = ts_ms;
    h.customer = (slice_t){cust, strlen(cust)};
    h.country = (slice_t){country, strlen(country)};
    h.region = (slice_t){region, strlen(region)};
    h.bytes = bytes;
    h.host = h.edge = h.src = (slice_t){"x", 1};
    return win_add(w, &h, 0, now_ms);
}

static void ok(const char *cust, int64_t ts_ms, const char *country, const char *region,
               uint64_t bytes, int64_t now_ms) {
    ck_assert_int_eq(add(cust, ts_ms, country, region, bytes, now_ms), WIN_ADDED);
}

static const win_region_t *row(const win_result_t *r, const char *country, const char *region,
                               int other) {
    for (size_t i = 0; i < r->nregions; i++)
        if (!strcmp(r->regions[i].country, country) && !strcmp(r->regions[i].region, region) &&
            r->regions[i].other == other)
            return &r->regions[i];
    return NULL;
}

START_TEST(test_the_default_key_cap_is_documented_value) {
    win_stats_t st;
    win_stats(w, &st);
    ck_assert_uint_eq(st.key_cap, WIN_KEYS_PER_CUSTOMER_DEFAULT);
    ck_assert_uint_eq(WIN_KEYS_PER_CUSTOMER_DEFAULT, 1000);
}
END_TEST

START_TEST(test_hits_beyond_the_key_cap_fold_into_their_country_other_row) {
    win_set_key_cap(w, 3);
    int64_t now = MS(T0);
    ok("acme", now, "US", "CA", 10, now);
    ok("acme", now, "US", "NY", 20, now);
    ok("acme", now, "DE", "BE", 40, now);  /* 3 keys: at the cap */
    ok("acme", now, "US", "TX", 1, now);   /* folded */
    ok("acme", now, "US", "WA", 2, now);   /* folded */
    ok("acme", now, "DE", "BY", 4, now);   /* folded, into DE's row */
    ok("acme", now, "US", "CA", 100, now); /* a key held: not folded */
    ok("globex", now, "US", "TX", 8, now); /* another customer has its own keys */
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    ck_assert_uint_eq(r.hits, 7); /* totals exact */
    ck_assert_uint_eq(r.bytes, 177);
    ck_assert_uint_eq(r.nregions, 5);
    const win_region_t *g = row(&r, "US", WIN_OTHER_REGION, 1);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g->hits, 2);
    ck_assert_uint_eq(g->bytes, 3);
    g = row(&r, "DE", WIN_OTHER_REGION, 1);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g->bytes, 4);
    ck_assert_uint_eq(row(&r, "US", "CA", 0)->bytes, 110);
    ck_assert_ptr_null(row(&r, "US", "TX", 0));
    ck_assert_uint_eq(r.ncountries, 2); /* countries exact */
    ck_assert_str_eq(r.countries[0].country, "US");
    ck_assert_uint_eq(r.countries[0].hits, 5);
    ck_assert_uint_eq(r.countries[0].bytes, 133);
    ck_assert_uint_eq(r.countries[1].bytes, 44);
    win_result_free(&r);
    win_stats_t st;
    win_stats(w, &st);
    ck_assert_uint_eq(st.hits_folded, 3);
    ck_assert_uint_eq(st.customers_at_cap, 1);
    ck_assert_uint_eq(st.keys, 3 + 2 + 1);
}
END_TEST

START_TEST(test_a_customer_under_the_cap_again_keeps_new_keys) {
    win_set_key_cap(w, 2);
    ok("acme", MS(T0), "US", "CA", 1, MS(T0));
    ok("acme", MS(T0 + 30), "US", "NY", 1, MS(T0 + 30));
    ok("acme", MS(T0 + 30), "US", "TX", 1, MS(T0 + 30)); /* folded */
    win_stats_t st;
    win_stats(w, &st);
    ck_assert_uint_eq(st.customers_at_cap, 1);
    ck_assert_uint_eq(win_expire(w, MS(T0 + 60)), 1); /* CA left the window */
    win_stats(w, &st);
    ck_assert_uint_eq(st.customers_at_cap, 0);
    ok("acme", MS(T0 + 60), "US", "TX", 5, MS(T0 + 60)); /* a key of its own now */
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0 + 60), &r), 0);
    ck_assert_uint_eq(row(&r, "US", "TX", 0)->bytes, 5);
    ck_assert_uint_eq(row(&r, "US", WIN_OTHER_REGION, 1)->bytes, 1); /* what came at the cap */
    win_result_free(&r);
    win_stats(w, &st);
    ck_assert_uint_eq(st.customers_at_cap, 1);
    ck_assert_uint_eq(st.hits_folded, 1);
}
END_TEST

START_TEST(test_an_other_row_is_told_apart_from_a_region_named_other) {
    win_set_key_cap(w, 1);
    int64_t now = MS(T0);
    ok("acme", now, "US", WIN_OTHER_REGION, 1, now); /* a real region of that name */
    ok("acme", now, "US", "NY", 2, now);             /* folded */
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    ck_assert_uint_eq(r.nregions, 2);
    ck_assert_uint_eq(row(&r, "US", WIN_OTHER_REGION, 0)->bytes, 1);
    ck_assert_uint_eq(row(&r, "US", WIN_OTHER_REGION, 1)->bytes, 2);
    win_result_free(&r);
}
END_TEST

START_TEST(test_lowering_the_cap_keeps_the_keys_held) {
    ok("acme", MS(T0), "US", "CA", 1, MS(T0));
    ok("acme", MS(T0), "US", "NY", 1, MS(T0));
    win_set_key_cap(w, 1);
    ok("acme", MS(T0), "US", "CA", 1, MS(T0));
    ok("acme", MS(T0), "US", "NY", 1, MS(T0));
    ok("acme", MS(T0), "US", "TX", 1, MS(T0));
    win_stats_t st;
    win_stats(w, &st);
    ck_assert_uint_eq(st.hits_folded, 1);
    ck_assert_uint_eq(st.customers_at_cap, 1);
    win_set_key_cap(w, 0); /* clamped to 1 */
    win_stats(w, &st);
    ck_assert_uint_eq(st.key_cap, 1);
}
END_TEST

START_TEST(test_the_json_marks_an_other_row_and_only_it) {
    win_set_key_cap(w, 1);
    int64_t now = MS(T0);
    ok("acme", now, "US", WIN_OTHER_REGION, 1, now);
    ok("acme", now, "US", "NY", 2, now);
    ok("acme", now, "US", "NY", 2, now);
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 60, now, &r), 0);
    wms_status_t st = {.complete_to_ms = now};
    size_t len;
    char *j = winjson("acme", &r, &st, NULL, &len);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_nonnull(strstr(j, "{\"country\":\"US\",\"region\":\"(other)\",\"other\":true,"
                                    "\"hits\":2,\"bytes\":4}"));
    ck_assert_ptr_nonnull(strstr(j, "{\"country\":\"US\",\"region\":\"(other)\",\"hits\":1,"
                                    "\"bytes\":1}"));
    char *p = strstr(j, "\"other\"");
    ck_assert_ptr_null(strstr(p + 1, "\"other\"")); /* once */
    free(j);
    win_result_free(&r);
}
END_TEST

/* The store's bytes for one customer of one key with `seconds` seconds of one hit of `bytes`. */
static uint64_t key_bytes(int seconds, uint64_t bytes, int hits_per_second) {
    win_stats_t st0, st;
    ok("base", MS(T0), "US", "", 1, MS(T0)); /* the customer's own memory, to subtract */
    win_stats(w, &st0);
    for (int s = 0; s < seconds; s++)
        for (int i = 0; i < hits_per_second; i++)
            ok("base", MS(T0 - s), "DE", "a region", bytes, MS(T0));
    win_stats(w, &st);
    return st.bytes - st0.bytes;
}

START_TEST(test_a_key_of_one_second_takes_a_few_dozen_bytes) {
    uint64_t b = key_bytes(1, 1000, 1);
    ck_assert_uint_le(b, 64); /* the ring of old: 62 x 12 bytes and more */
}
END_TEST

START_TEST(test_a_key_with_a_hit_every_second_takes_a_few_bytes_a_second) {
    uint64_t b = key_bytes(60, 1000, 1);
    ck_assert_uint_le(b, 64 + 60 * 3 + 32); /* 3 bytes a second: tag with hits, 2-byte varint */
}
END_TEST

START_TEST(test_a_key_of_the_largest_seconds_stays_bounded) {
    /* 5 x 2^61 bytes a second: a 10-byte varint, the longest */
    uint64_t b = key_bytes(WIN_SECONDS, UINT64_C(1) << 61, 5);
    ck_assert_uint_le(b, 64 + WIN_SECONDS * 12 * 5 / 4 + 32); /* room grows by a quarter */
}
END_TEST

START_TEST(test_seconds_added_in_any_order_read_back_second_by_second) {
    int64_t now = MS(T0);
    int order[60];
    for (int i = 0; i < 60; i++)
        order[i] = i;
    srand(7);
    for (int i = 59; i > 0; i--) { /* a shuffle: inserts before, between and after */
        int j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 60; i++)
            for (int n = 0; n <= order[i] % 5; n++) /* 1..5 hits: inline and varint counts */
                ok("acme", MS(T0 - order[i]), "US", "CA", (uint64_t)order[i] << (order[i] % 40),
                   now);
    for (int secs = 1; secs <= 60; secs++) {
        win_result_t r;
        ck_assert_int_eq(win_read(w, "acme", secs, now, &r), 0);
        uint64_t hits = 0, bytes = 0;
        for (int age = 0; age < secs; age++) {
            uint64_t n = 3 * (uint64_t)(age % 5 + 1);
            hits += n;
            bytes += n * ((uint64_t)age << (age % 40));
            ck_assert_uint_eq(r.series[secs - 1 - age].hits, n);
        }
        ck_assert_uint_eq(r.hits, hits);
        ck_assert_uint_eq(r.bytes, bytes);
        ck_assert_uint_eq(r.nregions, 1);
        ck_assert_uint_eq(r.regions[0].hits, hits);
        ck_assert_uint_eq(r.regions[0].bytes, bytes);
        win_result_free(&r);
    }
}
END_TEST

/* A key's seconds may sum past 2^64 - 1 over the minute (each second is below it): reads
 * of a part stay exact, reads of all saturate, as the customer's totals do. */
START_TEST(test_a_key_whose_seconds_pass_two_to_the_64_reads_exactly) {
    const uint64_t half = UINT64_C(1) << 63;
    for (int i = 0; i < 3; i++)
        ok("acme", MS(T0 + i), "US", "CA", half + (uint64_t)i, MS(T0 + i));
    win_result_t r;
    ck_assert_int_eq(win_read(w, "acme", 1, MS(T0 + 2), &r), 0);
    ck_assert_uint_eq(r.regions[0].bytes, half + 2);
    win_result_free(&r);
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0 + 2), &r), 0);
    ck_assert_uint_eq(r.regions[0].bytes, UINT64_MAX);
    ck_assert_uint_eq(r.regions[0].hits, 3);
    ck_assert_uint_eq(r.bytes, UINT64_MAX);
    win_result_free(&r);
    /* the first two seconds leave the key's ring: its sum fits again, read whole */
    ok("acme", MS(T0 + WIN_RING + 1), "US", "CA", 5, MS(T0 + WIN_RING + 1));
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0 + WIN_RING + 1), &r), 0);
    ck_assert_uint_eq(r.regions[0].hits, 1);
    ck_assert_uint_eq(r.regions[0].bytes, 5);
    win_result_free(&r);
    /* T0+2 is still held: a read at an earlier clock shows it, key and totals alike */
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0 + 61), &r), 0);
    ck_assert_uint_eq(r.regions[0].bytes, half + 2);
    ck_assert_uint_eq(r.bytes, half + 2);
    win_result_free(&r);
}
END_TEST

START_TEST(test_a_second_older_than_what_expiry_kept_is_late) {
    ok("acme", MS(T0 + 100), "US", "", 1, MS(T0 + 100));
    win_expire(w, MS(T0 + 100)); /* keeps T0+41 on */
    /* the clock steps back 30 s: T0+30 is in range by it, but expiry let it go */
    ck_assert_int_eq(add("globex", MS(T0 + 30), "US", "", 1, MS(T0 + 70)), WIN_LATE);
    ck_assert_int_eq(add("globex", MS(T0 + 41), "US", "", 1, MS(T0 + 70)), WIN_ADDED);
}
END_TEST

int main(void) {
    Suite *s = suite_create("window_cap");
    TCase *t = tcase_create("window_cap");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_the_default_key_cap_is_documented_value);
    tcase_add_test(t, test_hits_beyond_the_key_cap_fold_into_their_country_other_row);
    tcase_add_test(t, test_a_customer_under_the_cap_again_keeps_new_keys);
    tcase_add_test(t, test_an_other_row_is_told_apart_from_a_region_named_other);
    tcase_add_test(t, test_lowering_the_cap_keeps_the_keys_held);
    tcase_add_test(t, test_the_json_marks_an_other_row_and_only_it);
    tcase_add_test(t, test_a_key_of_one_second_takes_a_few_dozen_bytes);
    tcase_add_test(t, test_a_key_with_a_hit_every_second_takes_a_few_bytes_a_second);
    tcase_add_test(t, test_a_key_of_the_largest_seconds_stays_bounded);
    tcase_add_test(t, test_seconds_added_in_any_order_read_back_second_by_second);
    tcase_add_test(t, test_a_key_whose_seconds_pass_two_to_the_64_reads_exactly);
    tcase_add_test(t, test_a_second_older_than_what_expiry_kept_is_late);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
