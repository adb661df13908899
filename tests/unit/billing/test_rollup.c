/* Unit tests of billing's in-memory state: rollup.c (sums per partition, customer, UTC hour,
 * country), marks.c (replay marks), what is refused before summing (bstats.c's reasons,
 * hit_validate with the consumer's window), and the array literals store.c sends PostgreSQL. */
#include "../../../billing/bstats.h"
#include "../../../common/hitcheck.h"
#include "../../../billing/marks.h"
#include "../../../billing/rollup.h"
#include "../../../billing/store.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL
/* 2026-11-01T00:00:00Z, a month boundary */
#define NOV1_MS 1793491200000LL

static rollup_t *r;

static void setup(void) {
    r = rollup_new();
    ck_assert_ptr_nonnull(r);
}

static void teardown(void) {
    rollup_free(r);
}

static void add(int32_t part, const char *cust, int64_t ts_ms, const char *country,
                uint64_t bytes) {
    ck_assert_int_eq(rollup_add(r, part, cust, strlen(cust), ts_ms, country, bytes), 0);
}

/* The rows as exported, in a new array the caller frees. */
static size_t export_rows(store_row_t **rows) {
    *rows = calloc(rollup_rows(r) + 1, sizeof **rows);
    return rollup_export(r, *rows);
}

/* The exported row of a key (export order is a hash order), failing if absent or twice. */
static const store_row_t *find(const store_row_t *rows, size_t n, const char *cust, int64_t hour_s,
                               const char *country) {
    const store_row_t *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].customer, cust) && rows[i].hour_s == hour_s &&
            !strcmp(rows[i].country, country)) {
            ck_assert_msg(found == NULL, "%s %lld %s exported twice", cust, (long long)hour_s,
                          country);
            found = &rows[i];
        }
    ck_assert_msg(found != NULL, "%s %lld %s not exported", cust, (long long)hour_s, country);
    return found;
}

START_TEST(test_hour_is_the_floor_of_utc_hours) {
    ck_assert_int_eq(rollup_hour_of(0), 0);
    ck_assert_int_eq(rollup_hour_of(HOUR_MS - 1), 0);
    ck_assert_int_eq(rollup_hour_of(HOUR_MS), 3600);
    ck_assert_int_eq(rollup_hour_of(-1), -3600);
    ck_assert_int_eq(rollup_hour_of(NOV1_MS - 1), NOV1_MS / 1000 - 3600);
    ck_assert_int_eq(rollup_hour_of(NOV1_MS), NOV1_MS / 1000);
}
END_TEST

START_TEST(test_hits_of_one_key_add_up) {
    add(3, "acme", NOV1_MS + 5, "US", 100);
    add(3, "acme", NOV1_MS + HOUR_MS - 1, "US", 250);
    add(3, "acme", NOV1_MS + 1000, "US", 0);
    ck_assert_uint_eq(rollup_rows(r), 1);
    ck_assert_uint_eq(rollup_hits(r), 3);
    store_row_t *rows;
    ck_assert_uint_eq(export_rows(&rows), 1);
    ck_assert_str_eq(rows[0].customer, "acme");
    ck_assert_int_eq(rows[0].hour_s, NOV1_MS / 1000);
    ck_assert_str_eq(rows[0].country, "US");
    ck_assert_uint_eq(rows[0].hits, 3);
    ck_assert_uint_eq(rows[0].bytes, 350);
    free(rows);
}
END_TEST

START_TEST(test_month_boundary_splits_rows_by_hour) {
    add(0, "acme", NOV1_MS - 1, "DE", 7);
    add(0, "acme", NOV1_MS, "DE", 11);
    store_row_t *rows;
    ck_assert_uint_eq(export_rows(&rows), 2);
    /* 2026-10-31T23:00Z and 2026-11-01T00:00Z */
    ck_assert_uint_eq(find(rows, 2, "acme", NOV1_MS / 1000 - 3600, "DE")->bytes, 7);
    ck_assert_uint_eq(find(rows, 2, "acme", NOV1_MS / 1000, "DE")->bytes, 11);
    free(rows);
}
END_TEST

START_TEST(test_customer_country_and_hour_each_separate_rows) {
    add(1, "acme", NOV1_MS, "US", 1);
    add(1, "acme", NOV1_MS, "CA", 2);
    add(1, "acmf", NOV1_MS, "US", 4);
    add(1, "acme", NOV1_MS + HOUR_MS, "US", 8);
    add(1, "acm", NOV1_MS, "US", 16); /* a prefix of another customer is another customer */
    ck_assert_uint_eq(rollup_rows(r), 5);
    store_row_t *rows;
    size_t n = export_rows(&rows);
    ck_assert_uint_eq(n, 5);
    int64_t h = NOV1_MS / 1000;
    ck_assert_uint_eq(find(rows, n, "acme", h, "US")->bytes, 1);
    ck_assert_uint_eq(find(rows, n, "acme", h, "CA")->bytes, 2);
    ck_assert_uint_eq(find(rows, n, "acmf", h, "US")->bytes, 4);
    ck_assert_uint_eq(find(rows, n, "acme", h + 3600, "US")->bytes, 8);
    ck_assert_uint_eq(find(rows, n, "acm", h, "US")->bytes, 16);
    free(rows);
}
END_TEST

START_TEST(test_export_order_is_a_property_of_the_keys) {
    /* Two rollups fed the same keys in other orders and partitions export the same order: two
     * billing processes writing the same rows lock them in one order. */
    rollup_t *other = rollup_new();
    const char *cs[] = {"acme", "globex", "initech", "hooli", "umbrella"};
    for (int i = 0; i < 5; i++) {
        add(i, cs[i], NOV1_MS + i * HOUR_MS, "US", 1);
        ck_assert_int_eq(rollup_add(other, 9 - i, cs[4 - i], strlen(cs[4 - i]),
                                    NOV1_MS + (4 - i) * HOUR_MS, "US", 1),
                         0);
    }
    store_row_t *a, *b = calloc(6, sizeof *b);
    ck_assert_uint_eq(export_rows(&a), 5);
    ck_assert_uint_eq(rollup_export(other, b), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(a[i].customer, b[i].customer);
        ck_assert_uint_eq(a[i].order, b[i].order);
        if (i) ck_assert_uint_le(a[i - 1].order, a[i].order);
    }
    free(a);
    free(b);
    rollup_free(other);
}
END_TEST

START_TEST(test_export_merges_a_key_held_by_two_partitions) {
    add(1, "acme", NOV1_MS, "US", 10);
    add(2, "acme", NOV1_MS, "US", 32);
    add(2, "acme", NOV1_MS, "US", 1);
    ck_assert_uint_eq(rollup_rows(r), 2);
    store_row_t *rows;
    ck_assert_uint_eq(export_rows(&rows), 1); /* one upsert may not name a key twice */
    ck_assert_uint_eq(rows[0].hits, 3);
    ck_assert_uint_eq(rows[0].bytes, 43);
    free(rows);
}
END_TEST

START_TEST(test_drop_partition_forgets_exactly_its_sums) {
    add(1, "acme", NOV1_MS, "US", 10);
    add(2, "acme", NOV1_MS, "US", 20);
    add(2, "globex", NOV1_MS, "FR", 30);
    add(3, "initech", NOV1_MS, "JP", 40);
    ck_assert_uint_eq(rollup_drop_partition(r, 2), 2);
    ck_assert_uint_eq(rollup_rows(r), 2);
    ck_assert_uint_eq(rollup_hits(r), 2);
    ck_assert_uint_eq(rollup_drop_partition(r, 2), 0);
    /* the dropped keys can come back, and the others still add up */
    add(2, "globex", NOV1_MS, "FR", 5);
    add(1, "acme", NOV1_MS, "US", 1);
    store_row_t *rows;
    size_t n = export_rows(&rows);
    ck_assert_uint_eq(n, 3);
    int64_t h = NOV1_MS / 1000;
    ck_assert_uint_eq(find(rows, n, "acme", h, "US")->bytes, 11);
    ck_assert_uint_eq(find(rows, n, "globex", h, "FR")->bytes, 5);
    ck_assert_uint_eq(find(rows, n, "initech", h, "JP")->bytes, 40);
    free(rows);
}
END_TEST

START_TEST(test_clear_empties_and_tracks_max_bytes) {
    add(0, "a", 0, "ZZ", 5);
    add(0, "a", 0, "ZZ", 6);
    add(0, "b", 0, "ZZ", 7);
    ck_assert_uint_eq(rollup_max_bytes(r), 11);
    rollup_clear(r);
    ck_assert_uint_eq(rollup_rows(r), 0);
    ck_assert_uint_eq(rollup_hits(r), 0);
    ck_assert_uint_eq(rollup_max_bytes(r), 0);
    store_row_t *rows;
    ck_assert_uint_eq(export_rows(&rows), 0);
    free(rows);
    add(0, "a", 0, "ZZ", 1);
    ck_assert_uint_eq(rollup_rows(r), 1);
}
END_TEST

START_TEST(test_any_bytes_in_a_customer_survive) {
    const char weird[] = "a \"quoted\", {braced} \\ back\xc3\xa9";
    add(0, weird, 0, "ZZ", 1);
    store_row_t *rows;
    ck_assert_uint_eq(export_rows(&rows), 1);
    ck_assert_str_eq(rows[0].customer, weird);
    free(rows);
}
END_TEST

/* 200k hits over 20k keys in 16 partitions, drops included, against a plain model. */
START_TEST(test_many_keys_sum_exactly_as_a_model) {
    enum { CUST = 500, HOURS = 10, KEYS = CUST * HOURS * 4 };
    static uint64_t hits[KEYS], bytes[KEYS];
    static const char *countries[4] = {"US", "DE", "JP", "ZZ"};
    memset(hits, 0, sizeof hits);
    memset(bytes, 0, sizeof bytes);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int c = (int)(x % CUST), h = (int)(x / CUST % HOURS), k = (int)(x / CUST / HOURS % 4);
        uint64_t b = x % 100000;
        char cust[16];
        snprintf(cust, sizeof cust, "cust%d", c);
        /* the partition is a function of the customer, as with Kafka keys */
        add(c % 16, cust, NOV1_MS + h * HOUR_MS + (int64_t)(x % HOUR_MS), countries[k], b);
        int key = (c * HOURS + h) * 4 + k;
        hits[key]++;
        bytes[key] += b;
        if (i == 100000) { /* drop partition 5 half-way, and the model's */
            rollup_drop_partition(r, 5);
            for (int cc = 5; cc < CUST; cc += 16)
                for (int j = 0; j < HOURS * 4; j++)
                    hits[cc * HOURS * 4 + j] = bytes[cc * HOURS * 4 + j] = 0;
        }
    }
    store_row_t *rows;
    size_t n = export_rows(&rows), want = 0;
    uint64_t total = 0;
    for (int key = 0; key < KEYS; key++)
        want += hits[key] > 0, total += hits[key];
    ck_assert_uint_eq(n, want);
    ck_assert_uint_eq(rollup_hits(r), total);
    for (size_t i = 0; i < n; i++) {
        int c = atoi(rows[i].customer + 4), h = (int)((rows[i].hour_s - NOV1_MS / 1000) / 3600);
        int k = 0;
        while (strcmp(countries[k], rows[i].country))
            k++;
        int key = (c * HOURS + h) * 4 + k;
        ck_assert_uint_eq(rows[i].hits, hits[key]);
        ck_assert_uint_eq(rows[i].bytes, bytes[key]);
    }
    free(rows);
}
END_TEST

/* ---- marks ----------------------------------------------------------------------------------- */

static marks_t *m;

static void msetup(void) {
    m = marks_new();
    ck_assert_ptr_nonnull(m);
}

static void mteardown(void) {
    marks_free(m);
}

static mark_t *get(const char *edge, const char *src, int32_t part) {
    mark_t *e = marks_get(m, edge, strlen(edge), src, strlen(src), part);
    ck_assert_ptr_nonnull(e);
    return e;
}

START_TEST(test_new_mark_is_pending_until_loaded) {
    mark_t *e = get("e1", "/var/log/a@1", 0);
    ck_assert_int_eq(e->state, MARK_PENDING);
    marks_loaded(e, 500);
    ck_assert_int_eq(e->state, MARK_READY);
    ck_assert_int_eq(marks_seen(e, 500), 1); /* billed before */
    ck_assert_int_eq(marks_seen(e, 10), 1);
    ck_assert_int_eq(marks_seen(e, 501), 0);
    ck_assert_int_eq(e->max_off, 501);
    ck_assert_ptr_eq(get("e1", "/var/log/a@1", 0), e);
}
END_TEST

START_TEST(test_replay_from_an_earlier_line_is_dropped_then_new_lines_billed) {
    mark_t *e = get("e1", "src", 3);
    marks_loaded(e, -1);
    int billed = 0, dups = 0;
    for (int off = 0; off <= 100; off++)
        *(marks_seen(e, (uint64_t)off * 80) ? &dups : &billed) += 1;
    for (int off = 40; off <= 120; off++)
        *(marks_seen(e, (uint64_t)off * 80) ? &dups : &billed) += 1;
    ck_assert_int_eq(billed, 121);
    ck_assert_int_eq(dups, 61);
}
END_TEST

START_TEST(test_edge_src_and_partition_each_separate_marks) {
    mark_t *a = get("e1", "s", 0), *b = get("e2", "s", 0), *c = get("e1", "s", 1),
           *d = get("e1", "t", 0), *e = get("e1s", "", 0), *f = get("e", "1s", 0);
    mark_t *all[] = {a, b, c, d, e, f};
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            ck_assert_ptr_ne(all[i], all[j]);
    ck_assert_uint_eq(marks_count(m), 6);
}
END_TEST

START_TEST(test_dirty_marks_are_those_above_the_stored_value) {
    mark_t *a = get("e", "a", 0), *b = get("e", "b", 1), *c = get("e", "c", 1);
    marks_loaded(a, 10);
    marks_loaded(b, -1);
    marks_loaded(c, 7);
    marks_seen(a, 11);
    marks_seen(b, 0);
    store_mark_t out[3];
    ck_assert_uint_eq(marks_dirty(m, out), 2);
    marks_settle(m, 1);
    ck_assert_uint_eq(marks_dirty(m, out), 1);
    ck_assert_str_eq(out[0].src, "a");
    ck_assert_int_eq(out[0].max_off, 11);
    marks_settle(m, -1);
    ck_assert_uint_eq(marks_dirty(m, out), 0);
}
END_TEST

START_TEST(test_pending_marks_are_never_written) {
    mark_t *a = get("e", "a", 0);
    (void)a;
    store_mark_t out[1];
    ck_assert_uint_eq(marks_dirty(m, out), 0);
}
END_TEST

START_TEST(test_drop_partition_forgets_its_marks_only) {
    mark_t *a = get("e", "a", 0), *b = get("e", "b", 1);
    marks_loaded(a, 1);
    marks_loaded(b, 2);
    marks_drop_partition(m, 0);
    ck_assert_uint_eq(marks_count(m), 1);
    ck_assert_int_eq(get("e", "b", 1)->max_off, 2);
    ck_assert_int_eq(get("e", "a", 0)->state, MARK_PENDING); /* read again when seen again */
    ck_assert_uint_eq(marks_count(m), 2);
}
END_TEST

START_TEST(test_evict_frees_idle_clean_marks_but_keeps_dirty_ones) {
    mark_t *idle = get("e", "idle", 0), *dirty = get("e", "dirty", 0), *busy = get("e", "busy", 0);
    marks_loaded(idle, 1);
    marks_loaded(dirty, 1);
    marks_loaded(busy, 1);
    marks_seen(dirty, 2);
    for (int i = 0; i < 20; i++) {
        marks_tick(m);
        get("e", "busy", 0);
    }
    ck_assert_uint_eq(marks_evict(m, 10), 1);
    ck_assert_uint_eq(marks_count(m), 2);
    ck_assert_ptr_eq(get("e", "dirty", 0), dirty);
    ck_assert_ptr_eq(get("e", "busy", 0), busy);
}
END_TEST

START_TEST(test_entries_keep_their_address_while_the_table_grows) {
    enum { N = 20000 };
    static mark_t *seen[N];
    char src[32];
    for (int i = 0; i < N; i++) {
        snprintf(src, sizeof src, "src-%d", i);
        seen[i] = get("edge", src, i % 16);
        marks_loaded(seen[i], i);
    }
    ck_assert_uint_eq(marks_count(m), N);
    for (int i = 0; i < N; i++) {
        snprintf(src, sizeof src, "src-%d", i);
        ck_assert_ptr_eq(get("edge", src, i % 16), seen[i]);
        ck_assert_int_eq(seen[i]->max_off, i);
    }
}
END_TEST

/* ---- what billing refuses before summing (bstats.c, hit_validate) ---------------------------- */

static hit_t good_hit(void) {
    hit_t h = {0};
    h.ts_ms = NOV1_MS;
    h.customer = (slice_t){"acme", 4};
    h.host = (slice_t){"cdn.acme.example", 16};
    h.bytes = 1234;
    h.status = 200;
    h.country = (slice_t){"US", 2};
    h.region = (slice_t){"CA", 2};
    h.edge = (slice_t){"e1", 2};
    h.src = (slice_t){"/var/log/a@1", 12};
    h.off = 100;
    return h;
}

START_TEST(test_reasons_are_the_decoder_and_validator_names) {
    ck_assert_str_eq(bstats_reason_name(bstats_reason_of_decode(HIT_ERR_SYNTAX)), "syntax");
    ck_assert_str_eq(bstats_reason_name(bstats_reason_of_decode(HIT_ERR_MISSING)), "missing");
    ck_assert_str_eq(bstats_reason_name(bstats_reason_of_decode(HIT_ERR_TYPE)), "type");
    ck_assert_str_eq(bstats_reason_name(bstats_reason_of_decode(HIT_ERR_RANGE)), "range");
    ck_assert_str_eq(bstats_reason_name(bstats_reason_of_decode(HIT_ERR_VERSION)), "version");
    for (int v = HITV_CUSTOMER; v < HITV_COUNT; v++)
        ck_assert_str_eq(bstats_reason_name(bstats_reason_of_validate(v)), hitv_name(v));
    ck_assert_str_eq(bstats_reason_name(BREJ_WATERMARK), "watermark");
    for (int r = 0; r < BREJ_COUNT; r++) /* every reason has a name of its own */
        for (int q = r + 1; q < BREJ_COUNT; q++)
            ck_assert_str_ne(bstats_reason_name(r), bstats_reason_name(q));
}
END_TEST

/* Billing's window: the Kafka timestamp as the reference, widened for consumers. */
START_TEST(test_year_3000_and_1970_are_rejected_not_billed) {
    hit_tswin_t w = hit_tswin_consumer(hit_tswin_default());
    hit_t h = good_hit();
    ck_assert_int_eq(hit_validate(&h, NOV1_MS, &w), HITV_OK);
    h.ts_ms = 32503680000000LL; /* 3000-01-01 */
    ck_assert_int_eq(hit_validate(&h, NOV1_MS, &w), HITV_TIMESTAMP);
    h.ts_ms = 0; /* 1970-01-01 */
    ck_assert_int_eq(hit_validate(&h, NOV1_MS, &w), HITV_TIMESTAMP);
    h.ts_ms = NOV1_MS - 35LL * 86400 * 1000; /* a backlog read a month later: accepted */
    ck_assert_int_eq(hit_validate(&h, NOV1_MS, &w), HITV_OK);
    h = good_hit();
    h.bytes = HIT_BYTES_MAX + 1;
    ck_assert_int_eq(hit_validate(&h, NOV1_MS, &w), HITV_BYTES);
    h = good_hit();
    h.country = (slice_t){"us", 2};
    ck_assert_int_eq(hit_validate(&h, NOV1_MS, &w), HITV_COUNTRY);
}
END_TEST

/* ---- array literals -------------------------------------------------------------------------- */

START_TEST(test_array_literal_quotes_and_escapes_any_text) {
    store_buf_t b = {0};
    store_buf_begin(&b);
    ck_assert_int_eq(store_buf_end(&b), 0);
    ck_assert_str_eq(b.p, "{}");
    store_buf_begin(&b);
    ck_assert_int_eq(store_buf_quoted(&b, "plain"), 0);
    ck_assert_int_eq(store_buf_quoted(&b, "a\"b\\c,{d} NULL"), 0);
    ck_assert_int_eq(store_buf_quoted(&b, ""), 0);
    ck_assert_int_eq(store_buf_end(&b), 0);
    ck_assert_str_eq(b.p, "{\"plain\",\"a\\\"b\\\\c,{d} NULL\",\"\"}");
    store_buf_begin(&b);
    ck_assert_int_eq(store_buf_int(&b, -1), 0);
    ck_assert_int_eq(store_buf_int(&b, INT64_MAX), 0);
    ck_assert_int_eq(store_buf_end(&b), 0);
    ck_assert_str_eq(b.p, "{-1,9223372036854775807}");
    store_buf_free(&b);
}
END_TEST

START_TEST(test_array_literal_grows_for_long_text) {
    store_buf_t b = {0};
    char *big = malloc(100001);
    memset(big, '"', 100000);
    big[100000] = 0;
    store_buf_begin(&b);
    ck_assert_int_eq(store_buf_quoted(&b, big), 0);
    ck_assert_int_eq(store_buf_end(&b), 0);
    ck_assert_uint_eq(strlen(b.p), 2 + 2 + 200000);
    free(big);
    store_buf_free(&b);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("billing_rollup");
    TCase *t = tcase_create("rollup");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_hour_is_the_floor_of_utc_hours);
    tcase_add_test(t, test_hits_of_one_key_add_up);
    tcase_add_test(t, test_month_boundary_splits_rows_by_hour);
    tcase_add_test(t, test_customer_country_and_hour_each_separate_rows);
    tcase_add_test(t, test_export_merges_a_key_held_by_two_partitions);
    tcase_add_test(t, test_export_order_is_a_property_of_the_keys);
    tcase_add_test(t, test_drop_partition_forgets_exactly_its_sums);
    tcase_add_test(t, test_clear_empties_and_tracks_max_bytes);
    tcase_add_test(t, test_any_bytes_in_a_customer_survive);
    tcase_add_test(t, test_many_keys_sum_exactly_as_a_model);
    suite_add_tcase(s, t);
    t = tcase_create("marks");
    tcase_add_checked_fixture(t, msetup, mteardown);
    tcase_add_test(t, test_new_mark_is_pending_until_loaded);
    tcase_add_test(t, test_replay_from_an_earlier_line_is_dropped_then_new_lines_billed);
    tcase_add_test(t, test_edge_src_and_partition_each_separate_marks);
    tcase_add_test(t, test_dirty_marks_are_those_above_the_stored_value);
    tcase_add_test(t, test_pending_marks_are_never_written);
    tcase_add_test(t, test_drop_partition_forgets_its_marks_only);
    tcase_add_test(t, test_evict_frees_idle_clean_marks_but_keeps_dirty_ones);
    tcase_add_test(t, test_entries_keep_their_address_while_the_table_grows);
    suite_add_tcase(s, t);
    t = tcase_create("checks");
    tcase_add_test(t, test_reasons_are_the_decoder_and_validator_names);
    tcase_add_test(t, test_year_3000_and_1970_are_rejected_not_billed);
    suite_add_tcase(s, t);
    t = tcase_create("array_literals");
    tcase_add_test(t, test_array_literal_quotes_and_escapes_any_text);
    tcase_add_test(t, test_array_literal_grows_for_long_text);
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
