/* Unit tests of what billing keeps beside usage: the text of a rejected record (rejrec.c), the
 * rollup's side tables (edge months, watermarks, rejects: dropped with their partition), and the
 * completeness rules of `billing status` and `billing invoice --finalize` (edges.c). */
#include "../../../billing/edges.h"
#include "../../../billing/rejrec.h"
#include "../../../billing/rollup.h"

#include <check.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL
#define NOV1_MS 1793491200000LL /* 2026-11-01T00:00:00Z */
#define DEC1_MS 1796083200000LL /* 2026-12-01T00:00:00Z */

/* ---- rejected records -------------------------------------------------------------------- */

START_TEST(test_valid_utf8_record_is_kept_as_it_is) {
    char out[REJREC_MAX + 1];
    int alt;
    const char in[] = "{\"v\":2,\"host\":\"M\xc3\xbcller.example\",\"x\":\"\xf0\x9f\x98\x80\"}";
    ck_assert_uint_eq(rejrec_text(in, strlen(in), out, &alt), strlen(in));
    ck_assert_str_eq(out, in);
    ck_assert_int_eq(alt, 0);
}
END_TEST

START_TEST(test_nul_and_invalid_bytes_become_replacement_characters) {
    char out[REJREC_MAX + 1];
    int alt;
    const char in[] = {'a',        0,   'b',        (char)0xff, 'c',
                       (char)0xc3, 'd', (char)0xed, (char)0xa0, (char)0x80 /* a surrogate */};
    size_t n = rejrec_text(in, sizeof in, out, &alt);
    ck_assert_int_eq(alt, 1);
    ck_assert_uint_eq(n, strlen(out)); /* no NUL inside */
    ck_assert_str_eq(out, "a\xef\xbf\xbd"
                          "b\xef\xbf\xbd"
                          "c\xef\xbf\xbd"
                          "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(test_long_record_is_cut_at_4_kib_on_a_character_boundary) {
    /* 1 byte, then 3-byte characters: the one that would cross 4096 is left out whole */
    size_t n = 1 + 3 * 2000;
    char *in = malloc(n), out[REJREC_MAX + 1];
    in[0] = 'x';
    for (size_t i = 1; i < n; i += 3)
        memcpy(in + i, "\xe2\x82\xac", 3); /* U+20AC */
    int alt;
    size_t got = rejrec_text(in, n, out, &alt);
    ck_assert_uint_le(got, REJREC_MAX);
    ck_assert_uint_eq(got, 1 + 3 * 1365); /* 4096 = 1 + 3 * 1365 exactly */
    ck_assert_int_eq(alt, 0);
    in[0] = 'x';
    memcpy(in + 1, "ab", 2); /* now 3 + 3k: the cut falls inside a character */
    got = rejrec_text(in, n, out, &alt);
    ck_assert_uint_eq(got % 3, 0);
    ck_assert_uint_eq(got, 4095);
    free(in);
}
END_TEST

/* ---- the rollup's side tables ------------------------------------------------------------ */

START_TEST(test_edge_months_count_hits_per_utc_month_merged_across_partitions) {
    rollup_t *r = rollup_new();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rollup_add_edge(r, 0, "fra", 3, NOV1_MS - HOUR_MS + i), 0); /* Oct */
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(rollup_add_edge(r, i % 3, "fra", 3, NOV1_MS + i * HOUR_MS), 0); /* Nov */
    ck_assert_int_eq(rollup_add_edge(r, 0, "", 0, NOV1_MS), 0); /* no edge: nothing */
    store_edge_month_t em[16];
    store_watermark_t wm[4];
    store_reject_t rej[4];
    size_t nem, nwm, nrej;
    rollup_export_side(r, em, &nem, wm, &nwm, rej, &nrej);
    ck_assert_uint_eq(nem, 2);
    ck_assert_str_eq(em[0].edge, "fra");
    ck_assert_int_eq(em[0].month, 2026 * 12 + 9);
    ck_assert_uint_eq(em[0].hits, 5);
    ck_assert_int_eq(em[1].month, 2026 * 12 + 10);
    ck_assert_uint_eq(em[1].hits, 7);
    rollup_free(r);
}
END_TEST

START_TEST(test_watermark_keeps_the_highest_and_drop_forgets_the_partition) {
    rollup_t *r = rollup_new();
    ck_assert_int_eq(rollup_watermark(r, 1, "fra", 2000), 0);
    ck_assert_int_eq(rollup_watermark(r, 1, "fra", 1000), 0);
    ck_assert_int_eq(rollup_watermark(r, 2, "fra", 500), 0);
    ck_assert_int_eq(rollup_reject(r, 2, 77, "syntax", -1, "not json", 8), 0);
    ck_assert_int_eq(rollup_reject(r, 1, 78, "version", 5, "{\"v\":2}", 7), 0);
    ck_assert_int_eq(rollup_add_edge(r, 2, "fra", 3, NOV1_MS), 0);
    store_edge_month_t em[4];
    store_watermark_t wm[4];
    store_reject_t rej[4];
    size_t nem, nwm, nrej;
    rollup_export_side(r, em, &nem, wm, &nwm, rej, &nrej);
    ck_assert_uint_eq(nwm, 2);
    ck_assert_int_eq(wm[0].partition, 1);
    ck_assert_int_eq(wm[0].wm_ms, 2000);
    ck_assert_uint_eq(nrej, 2);
    /* partition 2 is lost (revoked, or moved by another consumer): all of its side goes */
    rollup_drop_partition(r, 2);
    rollup_export_side(r, em, &nem, wm, &nwm, rej, &nrej);
    ck_assert_uint_eq(nem, 0);
    ck_assert_uint_eq(nwm, 1);
    ck_assert_uint_eq(nrej, 1);
    ck_assert_int_eq(rej[0].offset, 78);
    ck_assert_str_eq(rej[0].reason, "version");
    ck_assert_str_eq(rej[0].record, "{\"v\":2}");
    ck_assert_uint_eq(rej[0].record_bytes, 7);
    rollup_clear(r);
    ck_assert_uint_eq(rollup_rejects(r) + rollup_watermarks(r) + rollup_edge_months(r), 0);
    rollup_free(r);
}
END_TEST

/* Many edges, months and partitions (the table grows, a partition is dropped half-way, the
 * fast path is taken and missed): the export equals a plain model. */
START_TEST(test_edge_months_of_many_edges_equal_a_model) {
    enum { EDGES = 300, PARTS = 4 };
    static uint64_t model[EDGES][2];
    memset(model, 0, sizeof model);
    rollup_t *r = rollup_new();
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int e = (int)(x % EDGES), part = (int)(x / EDGES % PARTS), m = (int)(x / 7 % 2);
        char name[16];
        snprintf(name, sizeof name, "edge-%d", e);
        int64_t ts = (m ? NOV1_MS : NOV1_MS - 10 * HOUR_MS) + (int64_t)(x % HOUR_MS);
        int repeat = 1 + (int)(x % 3); /* runs of one key: the fast path */
        for (int k = 0; k < repeat; k++)
            ck_assert_int_eq(rollup_add_edge(r, part, name, strlen(name), ts), 0);
        model[e][m] += (uint64_t)repeat;
        if (i == 50000) {
            /* partition 2 lost: its counts go; the model restarts from what remains */
            rollup_drop_partition(r, 2);
            memset(model, 0, sizeof model);
            store_edge_month_t *em = calloc(rollup_edge_months(r) + 1, sizeof *em);
            store_watermark_t wm[1];
            store_reject_t rej[1];
            size_t nem, nwm, nrej;
            rollup_export_side(r, em, &nem, wm, &nwm, rej, &nrej);
            for (size_t j = 0; j < nem; j++)
                model[atoi(em[j].edge + 5)][em[j].month == 2026 * 12 + 10] += em[j].hits;
            free(em);
        }
    }
    store_edge_month_t *em = calloc(rollup_edge_months(r) + 1, sizeof *em);
    store_watermark_t wm[1];
    store_reject_t rej[1];
    size_t nem, nwm, nrej, seen = 0;
    rollup_export_side(r, em, &nem, wm, &nwm, rej, &nrej);
    for (size_t j = 0; j < nem; j++) {
        int e = atoi(em[j].edge + 5), m = em[j].month == 2026 * 12 + 10;
        ck_assert_uint_eq(em[j].hits, model[e][m]);
        seen++;
    }
    size_t want = 0;
    for (int e = 0; e < EDGES; e++)
        want += (model[e][0] > 0) + (model[e][1] > 0);
    ck_assert_uint_eq(seen, want);
    free(em);
    rollup_free(r);
}
END_TEST

START_TEST(test_bytes_held_bound_every_merged_row) {
    rollup_t *r = rollup_new();
    /* one key in two partitions: the merged row is the sum, and bytes_held is at least that */
    ck_assert_int_eq(rollup_add(r, 0, "a", 1, NOV1_MS, "US", 10000000000000ULL), 0);
    ck_assert_int_eq(rollup_add(r, 1, "a", 1, NOV1_MS, "US", 10000000000000ULL), 0);
    ck_assert_uint_eq(rollup_max_bytes(r), 10000000000000ULL);
    ck_assert_uint_eq(rollup_bytes_held(r), 20000000000000ULL);
    rollup_drop_partition(r, 1);
    ck_assert_uint_eq(rollup_bytes_held(r), 10000000000000ULL);
    rollup_free(r);
}
END_TEST

/* ---- completeness -------------------------------------------------------------------------- */

START_TEST(test_billed_to_is_the_minimum_over_every_partition) {
    int32_t part[] = {0, 1, 2};
    int64_t wm[] = {5000, 3000, 9000};
    ck_assert_int_eq(edges_billed_to(part, wm, 3, 3), 3000);
    /* a partition that never carried the edge's watermark: not known */
    ck_assert_int_eq(edges_billed_to(part, wm, 3, 4), -1);
    ck_assert_int_eq(edges_billed_to(part, wm, 2, 3), -1);
    /* partitions unknown: not known */
    ck_assert_int_eq(edges_billed_to(part, wm, 3, 0), -1);
    /* a partition beyond the count is ignored */
    int32_t p2[] = {0, 7};
    int64_t w2[] = {4000, 1};
    ck_assert_int_eq(edges_billed_to(p2, w2, 2, 1), 4000);
}
END_TEST

static edges_in_t nov(int64_t billed_to, int64_t now) {
    return (edges_in_t){1, 0, billed_to, billed_to, NOV1_MS, DEC1_MS, EDGES_GRACE_DEFAULT_MS, now};
}

START_TEST(test_month_is_complete_only_past_its_end_plus_the_grace) {
    int64_t late = DEC1_MS + 10 * HOUR_MS;
    edges_in_t e = nov(DEC1_MS + HOUR_MS, late);
    ck_assert_int_eq(edges_state(&e), EDGES_COMPLETE);
    e = nov(DEC1_MS + HOUR_MS - 1, late); /* one ms short of the grace */
    ck_assert_int_eq(edges_state(&e), EDGES_INCOMPLETE);
    e = nov(-1, late); /* not known */
    ck_assert_int_eq(edges_state(&e), EDGES_INCOMPLETE);
    /* a month that has not ended plus the grace is never complete, whatever the edges say */
    e = nov(DEC1_MS + 5 * HOUR_MS, DEC1_MS + HOUR_MS - 1);
    ck_assert_int_eq(edges_state(&e), EDGES_OPEN);
    e.grace_ms = 0;
    ck_assert_int_eq(edges_state(&e), EDGES_COMPLETE);
}
END_TEST

START_TEST(test_retired_edge_and_edge_gone_before_the_month_hold_nothing_open) {
    int64_t late = DEC1_MS + 10 * HOUR_MS;
    edges_in_t e = nov(NOV1_MS + 5 * HOUR_MS, late);
    ck_assert_int_eq(edges_state(&e), EDGES_INCOMPLETE);
    e.retired = 1;
    ck_assert_int_eq(edges_state(&e), EDGES_RETIRED);
    /* no usage in November, last reported in October: not in the month */
    e = nov(NOV1_MS - HOUR_MS, late);
    e.has_usage = 0;
    ck_assert_int_eq(edges_state(&e), EDGES_NOT_IN_MONTH);
    /* no usage billed yet but it reported during November: its hits may be late */
    e = nov(-1, late);
    e.has_usage = 0;
    e.latest_wm_ms = NOV1_MS + 3 * HOUR_MS;
    ck_assert_int_eq(edges_state(&e), EDGES_INCOMPLETE);
}
END_TEST

START_TEST(test_durations_parse_and_print) {
    int64_t ms;
    ck_assert_int_eq(edges_duration_parse("1h", &ms), 0);
    ck_assert_int_eq(ms, HOUR_MS);
    ck_assert_int_eq(edges_duration_parse("90m", &ms), 0);
    ck_assert_int_eq(ms, 90 * 60000);
    ck_assert_int_eq(edges_duration_parse("0", &ms), 0);
    ck_assert_int_eq(ms, 0);
    ck_assert_int_eq(edges_duration_parse("2d", &ms), 0);
    ck_assert_int_eq(edges_duration_parse("1", &ms), -1);
    ck_assert_int_eq(edges_duration_parse("h", &ms), -1);
    ck_assert_int_eq(edges_duration_parse("-1h", &ms), -1);
    ck_assert_int_eq(edges_duration_parse("400d", &ms), -1);
    char b[32];
    ck_assert_str_eq(edges_duration_format(3 * 86400000LL + 4 * HOUR_MS + 5, b, sizeof b), "3d4h");
    ck_assert_str_eq(edges_duration_format(90000, b, sizeof b), "1m30s");
    ck_assert_str_eq(edges_duration_format(1500, b, sizeof b), "1s");
    ck_assert_str_eq(edges_time_format(NOV1_MS + 1, b, sizeof b), "2026-11-01T00:00:00.001Z");
    ck_assert_int_eq(edges_month_start_ms(2026, 11), NOV1_MS);
    ck_assert_int_eq(edges_month_start_ms(2026, 12), DEC1_MS);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("billing_edges");
    TCase *t = tcase_create("rejects");
    tcase_add_test(t, test_valid_utf8_record_is_kept_as_it_is);
    tcase_add_test(t, test_nul_and_invalid_bytes_become_replacement_characters);
    tcase_add_test(t, test_long_record_is_cut_at_4_kib_on_a_character_boundary);
    suite_add_tcase(s, t);
    t = tcase_create("side");
    tcase_add_test(t, test_edge_months_count_hits_per_utc_month_merged_across_partitions);
    tcase_add_test(t, test_watermark_keeps_the_highest_and_drop_forgets_the_partition);
    tcase_add_test(t, test_edge_months_of_many_edges_equal_a_model);
    tcase_add_test(t, test_bytes_held_bound_every_merged_row);
    suite_add_tcase(s, t);
    t = tcase_create("completeness");
    tcase_add_test(t, test_billed_to_is_the_minimum_over_every_partition);
    tcase_add_test(t, test_month_is_complete_only_past_its_end_plus_the_grace);
    tcase_add_test(t, test_retired_edge_and_edge_gone_before_the_month_hold_nothing_open);
    tcase_add_test(t, test_durations_parse_and_print);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
