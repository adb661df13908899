/* The per-line stage refuses, through hit_validate, what no later stage would bill: a time
 * outside the window around the collector's clock (the year 3000, 1970, one day and a
 * millisecond ahead) is a dead letter with reason "timestamp", bytes above HIT_BYTES_MAX with
 * reason "bytes" (exactly HIT_BYTES_MAX is a hit); the window follows --max-age/--max-ahead;
 * the reason words are hitv_name's; a hit carries its ts out for the late-line count. */
#include "../../../collector/process.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1796119200000LL /* the clock in these tests: 2026-12-01T10:00:00Z */

static int64_t fixed_clock(void) {
    return NOW;
}

static format_t *fmt;
static hostmap_t *map;

static void setup(void) {
    char err[512];
    fmt = format_new("combined", err, sizeof err);
    ck_assert_msg(fmt != NULL, "%s", err);
    const char *m = "a.example acme\n";
    map = hostmap_parse(m, strlen(m), "hosts", err, sizeof err);
    ck_assert_msg(map != NULL, "%s", err);
}

static void teardown(void) {
    format_free(fmt);
    hostmap_free(map);
}

/* The outcome of one combined line dated `when` with `bytes`, under window w (NULL: default). */
static proc_out_t run(proc_t *p, const char *when, const char *bytes, const hit_tswin_t *w) {
    proc_cfg_t c = {fmt, map, NULL, "a.example", "e1", w ? *w : (hit_tswin_t){0, 0}, fixed_clock};
    proc_init(p, &c);
    char line[512];
    int n = snprintf(line, sizeof line, "10.0.0.1 - - [%s] \"GET / HTTP/1.1\" 200 %s \"-\" \"ua\"",
                     when, bytes);
    proc_out_t out;
    proc_line(p, "src-1", 5, 0, line, (size_t)n, 0, &out);
    return out;
}

/* The "reason" of a dead letter. */
static const char *reason_of(const proc_out_t *o, char *buf, size_t cap) {
    json_error_t je;
    json_t *j = json_loadb(o->val, o->n, 0, &je);
    ck_assert_msg(j != NULL, "%s", je.text);
    snprintf(buf, cap, "%s", json_string_value(json_object_get(j, "reason")));
    json_decref(j);
    return buf;
}

START_TEST(test_a_recent_line_is_a_hit_with_its_time) {
    proc_t p;
    proc_out_t o = run(&p, "01/Dec/2026:09:59:00 +0000", "100", NULL);
    ck_assert_int_eq(o.kind, PROC_HIT);
    ck_assert_int_eq(o.ts_ms, NOW - 60000);
}
END_TEST

START_TEST(test_absurd_times_are_timestamp_rejects) {
    const char *when[] = {"01/Jan/3000:00:00:00 +0000", "01/Jan/1970:00:00:00 +0000",
                          "27/Oct/2026:09:59:59 +0000" /* 35 days and 1 s ago */,
                          "02/Dec/2026:10:00:01 +0000" /* 1 day and 1 s ahead */};
    char buf[64];
    for (size_t i = 0; i < sizeof when / sizeof when[0]; i++) {
        proc_t p;
        proc_out_t o = run(&p, when[i], "100", NULL);
        ck_assert_msg(o.kind == PROC_TIMESTAMP, "%s: kind %d", when[i], o.kind);
        ck_assert_str_eq(reason_of(&o, buf, sizeof buf), "timestamp");
        ck_assert_int_eq(o.keylen, 5); /* dead letters are keyed by src */
    }
    proc_t p; /* exactly at the edges: hits */
    ck_assert_int_eq(run(&p, "27/Oct/2026:10:00:00 +0000", "1", NULL).kind, PROC_HIT);
    ck_assert_int_eq(run(&p, "02/Dec/2026:10:00:00 +0000", "1", NULL).kind, PROC_HIT);
}
END_TEST

START_TEST(test_window_follows_the_options) {
    hit_tswin_t w = {3600 * 1000, 60 * 1000}; /* --max-age 1h --max-ahead 1m */
    proc_t p;
    ck_assert_int_eq(run(&p, "01/Dec/2026:09:00:00 +0000", "1", &w).kind, PROC_HIT);
    ck_assert_int_eq(run(&p, "01/Dec/2026:08:59:59 +0000", "1", &w).kind, PROC_TIMESTAMP);
    ck_assert_int_eq(run(&p, "01/Dec/2026:10:01:00 +0000", "1", &w).kind, PROC_HIT);
    ck_assert_int_eq(run(&p, "01/Dec/2026:10:01:01 +0000", "1", &w).kind, PROC_TIMESTAMP);
}
END_TEST

START_TEST(test_bytes_above_the_bound_are_bytes_rejects) {
    proc_t p;
    char buf[64];
    proc_out_t o = run(&p, "01/Dec/2026:09:59:00 +0000", "10000000000000", NULL);
    ck_assert_int_eq(o.kind, PROC_HIT);
    o = run(&p, "01/Dec/2026:09:59:00 +0000", "10000000000001", NULL);
    ck_assert_int_eq(o.kind, PROC_BYTES);
    ck_assert_str_eq(reason_of(&o, buf, sizeof buf), "bytes");
    /* beyond int64 too: bytes, not a parse error (one path for one reason) */
    o = run(&p, "01/Dec/2026:09:59:00 +0000", "18446744073709551615", NULL);
    ck_assert_int_eq(o.kind, PROC_BYTES);
}
END_TEST

/* The reason words of dead letters refused by hit_validate are hitv_name's: the same words the
 * aggregator and billing count under. */
START_TEST(test_reason_names_are_hitv_names) {
    proc_t p;
    char buf[64];
    proc_out_t o = run(&p, "01/Jan/3000:00:00:00 +0000", "1", NULL);
    ck_assert_str_eq(reason_of(&o, buf, sizeof buf), hitv_name(HITV_TIMESTAMP));
    o = run(&p, "01/Dec/2026:09:59:00 +0000", "10000000000001", NULL);
    ck_assert_str_eq(reason_of(&o, buf, sizeof buf), hitv_name(HITV_BYTES));
    const char *line =
        "10.0.0.1 - - [01/Dec/2026:09:59:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\"";
    proc_line(&p, "src\0x", 5, 0, line, strlen(line), 0, &o); /* a NUL in src */
    ck_assert_int_eq(o.kind, PROC_TEXT);
    ck_assert_str_eq(reason_of(&o, buf, sizeof buf), hitv_name(HITV_TEXT));
}
END_TEST

/* The optional keys: an nginx cache word of $upstream_cache_status travels upper case as
 * `cache`, "-" and other text leave it out; with the test database, a region given as a code
 * carries its name, one given only by name (or none) carries no region_name. */
static json_t *hit_of(const char *spec, const char *line, geo_t *geo) {
    char err[512];
    format_t *f = format_new(spec, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    proc_cfg_t c = {f, map, geo, NULL, "e1", (hit_tswin_t){0, 0}, fixed_clock};
    proc_t *p = malloc(sizeof *p);
    ck_assert_ptr_nonnull(p);
    proc_init(p, &c);
    proc_out_t o;
    proc_line(p, "src-1", 5, 0, line, strlen(line), 0, &o);
    ck_assert_int_eq(o.kind, PROC_HIT);
    json_t *j = json_loadb(o.val, o.n, 0, NULL);
    ck_assert_ptr_nonnull(j);
    free(p);
    format_free(f);
    return j;
}

#define CACHE_FMT "$remote_addr [$time_local] $host $status $bytes_sent $upstream_cache_status"
START_TEST(test_cache_word_and_region_name_are_optional_keys) {
    static const struct {
        const char *logged, *want; /* want NULL: no key */
    } cases[] = {{"HIT", "HIT"}, {"miss", "MISS"}, {"REVALIDATED", "REVALIDATED"},
                 {"-", NULL},    {"WEIRD", NULL},  {"EXPIRED", "EXPIRED"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "10.0.0.1 [01/Dec/2026:09:59:00 +0000] a.example 200 5 %s",
                 cases[i].logged);
        json_t *j = hit_of(CACHE_FMT, line, NULL);
        json_t *c = json_object_get(j, "cache");
        if (cases[i].want)
            ck_assert_str_eq(json_string_value(c), cases[i].want);
        else
            ck_assert_ptr_null(c);
        ck_assert_ptr_null(json_object_get(j, "region_name")); /* no database */
        json_decref(j);
    }
    const char *path = getenv("TEST_GEODB");
    if (!path) return;
    char err[512];
    geo_t *g = geo_open(path, NULL, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    /* 66.249.0.0/16 US CA California; 178.0.0.0/8 NL with no subdivision */
    json_t *j = hit_of(CACHE_FMT, "66.249.1.2 [01/Dec/2026:09:59:00 +0000] a.example 200 5 HIT", g);
    ck_assert_str_eq(json_string_value(json_object_get(j, "region")), "CA");
    ck_assert_str_eq(json_string_value(json_object_get(j, "region_name")), "California");
    json_decref(j);
    j = hit_of(CACHE_FMT, "178.1.2.3 [01/Dec/2026:09:59:00 +0000] a.example 200 5 HIT", g);
    ck_assert_ptr_null(json_object_get(j, "region_name"));
    json_decref(j);
    geo_close(g);
}
END_TEST

int main(void) {
    Suite *s = suite_create("process");
    TCase *t = tcase_create("validate");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_a_recent_line_is_a_hit_with_its_time);
    tcase_add_test(t, test_absurd_times_are_timestamp_rejects);
    tcase_add_test(t, test_window_follows_the_options);
    tcase_add_test(t, test_bytes_above_the_bound_are_bytes_rejects);
    tcase_add_test(t, test_reason_names_are_hitv_names);
    tcase_add_test(t, test_cache_word_and_region_name_are_optional_keys);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
