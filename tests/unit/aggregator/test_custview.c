/* Unit tests of aggregator/custview.c: status classes, cache classes, top hosts with "other",
 * the hour by minute and region names, checked against a plain list of every hit added (the
 * reference) while the clock moves on, and against the window fed the same hits (window.c): the
 * classes sum to its hits exactly. Also: the late/future rule, host folding keeps totals exact,
 * expiry, the customer list. */
#include "../../../aggregator/custview.h"
#include "../../../aggregator/window.h"
#include "../../../aggregator/winjson.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-11-24T22:05:00Z, a whole minute */
#define T0 1764021900LL
#define MS(s) ((s)*1000LL)

/* ---- the reference: every hit added, with the verdict the window gave it ------------------- */

typedef struct ref_hit {
    char customer[16], host[16], cache[12], country[3], region[8], rname[16];
    int64_t ts_ms;
    int status;
    uint64_t bytes;
    int8_t verdict;
} ref_hit_t;

static ref_hit_t *refs;
static size_t nrefs, caprefs;
static win_t *w;
static cv_t *v;

static void setup(void) {
    w = win_new();
    v = cv_new(MS(T0) - MS(65));
    ck_assert(w && v);
    nrefs = 0;
}

static void teardown(void) {
    win_free(w);
    cv_free(v);
    free(refs);
    refs = NULL;
    caprefs = 0;
}

static hit_t of_ref(const ref_hit_t *r) {
    hit_t h;
    memset(&h, 0, sizeof h);
    h.ts_ms = r->ts_ms;
    h.customer = (slice_t){r->customer, strlen(r->customer)};
    h.host = (slice_t){r->host, strlen(r->host)};
    h.country = (slice_t){r->country, 2};
    h.region = (slice_t){r->region, strlen(r->region)};
    h.region_name = (slice_t){r->rname, strlen(r->rname)};
    h.cache = (slice_t){r->cache, strlen(r->cache)};
    h.edge = h.src = (slice_t){"e", 1};
    h.status = r->status;
    h.bytes = r->bytes;
    return h;
}

/* Adds the batch rs[0..n) to the window and the view at now_ms, as feed.c does. */
static void add_batch(ref_hit_t *rs, size_t n, int64_t now_ms) {
    hit_t hs[256];
    int32_t parts[256] = {0};
    int8_t res[256];
    ck_assert_uint_le(n, 256);
    for (size_t i = 0; i < n; i++)
        hs[i] = of_ref(&rs[i]);
    win_add_batch(w, hs, parts, n, now_ms, res);
    cv_add_batch(v, hs, n, now_ms, res);
    for (size_t i = 0; i < n; i++) {
        rs[i].verdict = res[i];
        if (nrefs == caprefs) {
            caprefs = caprefs ? caprefs * 2 : 1024;
            refs = realloc(refs, caprefs * sizeof *refs);
            ck_assert_ptr_nonnull(refs);
        }
        refs[nrefs++] = rs[i];
    }
}

static ref_hit_t mk(const char *cust, const char *host, int64_t ts_ms, int status,
                    const char *cache, uint64_t bytes) {
    ref_hit_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.customer, sizeof r.customer, "%s", cust);
    snprintf(r.host, sizeof r.host, "%s", host);
    snprintf(r.cache, sizeof r.cache, "%s", cache);
    memcpy(r.country, "US", 3);
    snprintf(r.region, sizeof r.region, "CA");
    r.ts_ms = ts_ms;
    r.status = status;
    r.bytes = bytes;
    return r;
}

static int64_t floordiv_(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* What the reference says for customer over `seconds` at now_ms, checked against cv_read and
 * win_read. Hosts: exact rows when the customer never had more than CV_HOSTS_MAX hosts in a
 * window (exact_hosts), else only the totals. */
static void check_read(const char *cust, int seconds, int64_t now_ms, int exact_hosts) {
    int64_t n = floordiv_(now_ms, 1000), cur = floordiv_(n, 60);
    uint64_t st[CV_NSTATUS] = {0}, cache[3] = {0}, hits = 0, bytes = 0;
    uint64_t mh[CV_MINUTES] = {0}, mb[CV_MINUTES] = {0};
    for (size_t i = 0; i < nrefs; i++) {
        const ref_hit_t *r = &refs[i];
        if (strcmp(r->customer, cust)) continue;
        int64_t s = floordiv_(r->ts_ms, 1000), m = floordiv_(s, 60);
        if ((r->verdict == WIN_ADDED || r->verdict == WIN_LATE) && m >= cur - 59 && m <= cur) {
            mh[m - (cur - 59)]++;
            mb[m - (cur - 59)] += r->bytes;
        }
        if (r->verdict != WIN_ADDED || s < n - (seconds - 1) || s > n) continue;
        int c = r->status / 100;
        st[c >= 2 && c <= 5 ? c - 2 : CV_OTHER]++;
        cache[r->cache[0] ? hit_cache_class(r->cache, strlen(r->cache)) : 0]++;
        hits++;
        bytes += r->bytes;
    }
    cv_result_t out;
    win_result_t wr;
    win_read(w, cust, seconds, now_ms, &wr);
    ck_assert_int_eq(cv_read(v, cust, seconds, now_ms, &wr, &out), 0);
    ck_assert_uint_eq(wr.hits, hits);
    uint64_t sum = 0, hsum = 0, hbytes = 0;
    for (int k = 0; k < CV_NSTATUS; k++) {
        ck_assert_uint_eq(out.status[k], st[k]);
        sum += out.status[k];
    }
    ck_assert_uint_eq(sum, wr.hits);
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(out.cache[k], cache[k]);
    for (size_t k = 0; k < out.nhosts; k++) {
        hsum += out.hosts[k].hits;
        hbytes += out.hosts[k].bytes;
        uint64_t want = 0;
        for (size_t i = 0; i < nrefs; i++) {
            int64_t s = floordiv_(refs[i].ts_ms, 1000);
            if (!strcmp(refs[i].customer, cust) && !strcmp(refs[i].host, out.hosts[k].host) &&
                refs[i].verdict == WIN_ADDED && s >= n - (seconds - 1) && s <= n)
                want++;
        }
        if (exact_hosts)
            ck_assert_uint_eq(out.hosts[k].hits, want);
        else
            ck_assert_uint_le(out.hosts[k].hits, want);
        if (k) ck_assert_uint_ge(out.hosts[k - 1].hits, out.hosts[k].hits);
    }
    ck_assert_uint_eq(hsum + out.other_hits, hits);
    ck_assert_uint_eq(hbytes + out.other_bytes, bytes);
    ck_assert_uint_eq(wr.bytes, bytes);
    for (int k = 0; k < CV_MINUTES; k++) {
        ck_assert_int_eq(out.minutes[k].t_ms, (cur - 59 + k) * 60000);
        ck_assert_uint_eq(out.minutes[k].hits, mh[k]);
        ck_assert_uint_eq(out.minutes[k].bytes, mb[k]);
    }
    cv_result_free(&out);
    win_result_free(&wr);
}

/* ---- tests ---------------------------------------------------------------------------------- */

START_TEST(test_status_and_cache_classes_sum_to_the_window) {
    ref_hit_t b[] = {
        mk("acme", "a.example", MS(T0) - 500, 200, "HIT", 10),
        mk("acme", "a.example", MS(T0) - 1500, 204, "STALE", 20),
        mk("acme", "a.example", MS(T0) - 2500, 301, "MISS", 30),
        mk("acme", "b.example", MS(T0) - 2500, 404, "EXPIRED", 40),
        mk("acme", "b.example", MS(T0) - 3500, 503, "", 50),
        mk("acme", "b.example", MS(T0) - 3500, 101, "WEIRD", 60),
        mk("acme", "b.example", MS(T0) - 3500, 0, "BYPASS", 70),
        mk("acme", "c.example", MS(T0) - 3500, 999, "REVALIDATED", 80),
        mk("acme", "c.example", MS(T0) - 3500, 600, "UPDATING", 90),
    };
    add_batch(b, sizeof b / sizeof b[0], MS(T0));
    cv_result_t out;
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0), NULL, &out), 0);
    ck_assert_uint_eq(out.status[CV_2XX], 2);
    ck_assert_uint_eq(out.status[CV_3XX], 1);
    ck_assert_uint_eq(out.status[CV_4XX], 1);
    ck_assert_uint_eq(out.status[CV_5XX], 1);
    ck_assert_uint_eq(out.status[CV_OTHER], 4);
    ck_assert_uint_eq(out.cache[HIT_CACHE_HIT], 4);
    ck_assert_uint_eq(out.cache[HIT_CACHE_MISS], 3);
    ck_assert_uint_eq(out.cache[HIT_CACHE_UNKNOWN], 2);
    ck_assert_uint_eq(out.nhosts, 3);
    ck_assert_str_eq(out.hosts[0].host, "b.example"); /* 4 hits */
    ck_assert_uint_eq(out.hosts[0].bytes, 220);
    ck_assert_str_eq(out.hosts[1].host, "a.example"); /* 3 hits, 60 bytes */
    ck_assert_str_eq(out.hosts[2].host, "c.example"); /* 2 hits */
    cv_result_free(&out);
    for (int s = 1; s <= 60; s += 1)
        check_read("acme", s, MS(T0), 1);
    ck_assert_int_eq(cv_read(v, "nobody", 60, MS(T0), NULL, &out), 0);
    ck_assert_uint_eq(out.nhosts + out.status[CV_2XX] + out.minutes[59].hits, 0);
    cv_result_free(&out);
}
END_TEST

START_TEST(test_late_and_future_follow_the_window_minutes_keep_the_hour) {
    ref_hit_t b[] = {
        mk("acme", "a", MS(T0 - 59), 200, "HIT", 1),      /* oldest second kept */
        mk("acme", "a", MS(T0 - 60), 200, "HIT", 2),      /* late: minutes only */
        mk("acme", "a", MS(T0 - 59 * 60), 200, "HIT", 4), /* late: in the hour's first minute */
        mk("acme", "a", MS(T0 - 60 * 60), 200, "HIT", 8), /* out of the hour */
        mk("acme", "a", MS(T0 + 2), 200, "HIT", 16),      /* kept ahead */
        mk("acme", "a", MS(T0 + 3), 200, "HIT", 32),      /* future: nowhere */
    };
    add_batch(b, 6, MS(T0));
    ck_assert_int_eq(refs[1].verdict, WIN_LATE);
    ck_assert_int_eq(refs[5].verdict, WIN_FUTURE);
    cv_result_t out;
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0), NULL, &out), 0);
    ck_assert_uint_eq(out.status[CV_2XX], 1);        /* T0+2 is not shown before its second */
    ck_assert_uint_eq(out.minutes[59].bytes, 16);    /* the current minute: what arrived for it */
    ck_assert_uint_eq(out.minutes[58].bytes, 1 + 2); /* T0-59 and T0-60 are minute T0-60 */
    ck_assert_uint_eq(out.minutes[0].bytes, 4);
    ck_assert_int_eq(out.minutes[0].t_ms, MS(T0 - 59 * 60));
    cv_result_free(&out);
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0 + 2), NULL, &out), 0);
    ck_assert_uint_eq(out.status[CV_2XX], 1); /* T0+2 came in, T0-59 left the 60 s */
    ck_assert_uint_eq(out.minutes[59].bytes, 16);
    ck_assert_int_eq(out.minutes_from_ms, MS(T0 - 60)); /* read back from T0-65 s */
    cv_result_free(&out);
    check_read("acme", 60, MS(T0 + 2), 1);
}
END_TEST

/* The clock moves over 20 minutes; every few seconds a batch of random hits (some late, some
 * ahead); every read agrees with the reference, so ring reuse never leaks an old second. */
START_TEST(test_random_traffic_agrees_with_the_reference) {
    srand(11);
    static const char *const cache[] = {"HIT", "MISS", "", "STALE", "BYPASS", "-"};
    static const int status[] = {200, 206, 304, 404, 500, 502, 101};
    for (int64_t t = T0; t < T0 + 1200; t += 1 + rand() % 9) {
        ref_hit_t b[64];
        int n = rand() % 64;
        for (int i = 0; i < n; i++) {
            char host[16];
            snprintf(host, sizeof host, "h%d.example", rand() % 12);
            int64_t age = rand() % 8 == 0 ? rand() % 4000 : rand() % 66 - 3; /* s, < 0 ahead */
            b[i] = mk(rand() % 3 ? "acme" : "beta", host, MS(t - age) + rand() % 1000,
                      status[rand() % 7], cache[rand() % 6], (uint64_t)(rand() % 100000));
        }
        add_batch(b, (size_t)n, MS(t) + rand() % 1000);
        if (rand() % 4 == 0) {
            cv_expire(v, MS(t));
            win_expire(w, MS(t));
        }
        int64_t at = MS(t) + rand() % 3000;
        check_read("acme", 1 + rand() % 60, at, 1);
        check_read("beta", 60, at, 1);
    }
}
END_TEST

/* More hosts than the table holds: the extra ones are summed into other, the totals stay exact,
 * and a host idle for a minute gives its entry to a new one. */
START_TEST(test_hosts_beyond_the_table_fold_into_other) {
    ref_hit_t b[200];
    for (int i = 0; i < 200; i++) {
        char host[16];
        snprintf(host, sizeof host, "h%03d", i % 40);
        b[i] = mk("acme", host, MS(T0) - (i % 50) * 1000, 200, "HIT", (uint64_t)i);
    }
    add_batch(b, 200, MS(T0));
    check_read("acme", 60, MS(T0), 0);
    cv_stats_t st;
    cv_stats(v, &st);
    ck_assert_uint_eq(st.hosts, CV_HOSTS_MAX);
    ck_assert_uint_eq(st.hosts_folded, 200 - CV_HOSTS_MAX * 5);
    cv_result_t out;
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0), NULL, &out), 0);
    ck_assert_uint_eq(out.nhosts, CV_TOP_HOSTS);
    cv_result_free(&out);
    /* two minutes later every old host is idle: a new one is tracked again, exactly */
    ref_hit_t late[3] = {mk("acme", "new", MS(T0 + 120), 200, "", 5),
                         mk("acme", "new", MS(T0 + 120), 200, "", 6),
                         mk("acme", "h001", MS(T0 + 120), 200, "", 7)};
    add_batch(late, 3, MS(T0 + 120));
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0 + 120), NULL, &out), 0);
    ck_assert_str_eq(out.hosts[0].host, "new");
    ck_assert_uint_eq(out.hosts[0].bytes, 11);
    ck_assert_uint_eq(out.nhosts, 2);
    ck_assert_str_eq(out.hosts[1].host, "h001"); /* still tracked: its entry was idle, kept */
    ck_assert_uint_eq(out.other_hits, 0);
    cv_result_free(&out);
}
END_TEST

START_TEST(test_region_names_come_from_the_records) {
    ref_hit_t b[3] = {mk("acme", "a", MS(T0) - 1, 200, "", 1),
                      mk("acme", "a", MS(T0) - 1, 200, "", 1),
                      mk("acme", "a", MS(T0) - 1, 200, "", 1)};
    snprintf(b[0].rname, sizeof b[0].rname, "California");
    memcpy(b[1].country, "DE", 3);
    snprintf(b[1].region, sizeof b[1].region, "BE");
    memcpy(b[2].country, "NL", 3);
    b[2].region[0] = 0;
    add_batch(b, 3, MS(T0));
    win_result_t wr;
    cv_result_t out;
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0), &wr), 0);
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0), &wr, &out), 0);
    ck_assert_uint_eq(out.nregion_names, wr.nregions);
    int named = 0;
    for (size_t i = 0; i < wr.nregions; i++) {
        if (!strcmp(wr.regions[i].country, "US")) {
            ck_assert_str_eq(out.region_names[i], "California");
            named++;
        } else {
            ck_assert_ptr_null(out.region_names[i]); /* never named, or no region */
        }
    }
    ck_assert_int_eq(named, 1);
    cv_result_free(&out);
    win_result_free(&wr);
    /* a later name for the same place wins (the edge's database was updated) */
    ref_hit_t again = mk("beta", "a", MS(T0) - 1, 200, "", 1);
    snprintf(again.rname, sizeof again.rname, "Kalifornien");
    add_batch(&again, 1, MS(T0));
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0), &wr), 0);
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0), &wr, &out), 0);
    for (size_t i = 0; i < wr.nregions; i++)
        if (!strcmp(wr.regions[i].country, "US"))
            ck_assert_str_eq(out.region_names[i], "Kalifornien");
    cv_stats_t st;
    cv_stats(v, &st);
    ck_assert_uint_eq(st.names, 1);
    cv_result_free(&out);
    win_result_free(&wr);
}
END_TEST

START_TEST(test_region_names_beyond_the_cap_are_refused_and_counted) {
    static char regions[CV_NAMES_MAX + 5][8]; /* static: 1.6 MB off the stack */
    static hit_t h[CV_NAMES_MAX + 5];
    static int8_t res[CV_NAMES_MAX + 5];
    for (size_t i = 0; i < CV_NAMES_MAX + 5; i++) {
        memset(&h[i], 0, sizeof h[i]);
        int n = snprintf(regions[i], sizeof regions[i], "R%zu", i);
        h[i].ts_ms = MS(T0) - 1;
        h[i].customer = (slice_t){"acme", 4};
        h[i].host = (slice_t){"a", 1};
        h[i].country = (slice_t){"US", 2};
        h[i].region = (slice_t){regions[i], (size_t)n};
        h[i].region_name = (slice_t){"Name", 4};
        h[i].status = 200;
        h[i].bytes = 1;
        res[i] = WIN_ADDED;
    }
    cv_add_batch(v, h, CV_NAMES_MAX + 5, MS(T0), res);
    cv_add_batch(v, h, 1, MS(T0), res); /* a name held is not refused */
    cv_stats_t st;
    cv_stats(v, &st);
    ck_assert_uint_eq(st.names, CV_NAMES_MAX);
    ck_assert_uint_eq(st.names_refused, 5);
    ck_assert_uint_eq(st.customers, 1);
    ck_assert_uint_eq(st.hosts, 1);
}
END_TEST

START_TEST(test_customers_listed_for_the_hour_then_expired) {
    ref_hit_t b[3] = {mk("zeta", "a", MS(T0), 200, "", 1), mk("acme", "a", MS(T0 - 3), 200, "", 1),
                      mk("mid", "a", MS(T0 - 30 * 60), 200, "", 1)};
    add_batch(b, 3, MS(T0));
    char ids[2][CV_CUSTOMER_MAX + 1];
    ck_assert_uint_eq(cv_customers(v, MS(T0), ids, 2), 3); /* cut at 2, sorted */
    ck_assert_str_eq(ids[0], "acme");
    ck_assert_str_eq(ids[1], "mid");
    ck_assert_uint_eq(cv_expire(v, MS(T0 + 30 * 60)), 1); /* mid's minute left the hour */
    ck_assert_uint_eq(cv_customers(v, MS(T0 + 30 * 60), ids, 2), 2);
    ck_assert_uint_eq(cv_expire(v, MS(T0 + 61 * 60)), 2);
    cv_stats_t st;
    cv_stats(v, &st);
    ck_assert_uint_eq(st.customers, 0);
    ck_assert_uint_eq(st.hosts, 0);
}
END_TEST

/* The window's JSON gains the extras after the contract's keys, which stay as they were. */
START_TEST(test_window_json_gains_the_extras_only) {
    ref_hit_t b[4] = {mk("acme", "a.example", MS(T0) - 1, 200, "HIT", 10),
                      mk("acme", "a.example", MS(T0) - 1, 404, "MISS", 20),
                      mk("acme", "b.example", MS(T0) - 1, 200, "HIT", 30),
                      mk("acme", "b.example", MS(T0) - 1, 500, "", 40)};
    snprintf(b[0].rname, sizeof b[0].rname, "California");
    add_batch(b, 4, MS(T0));
    win_result_t wr;
    cv_result_t cv;
    wms_status_t st = {.complete_to_ms = MS(T0)};
    ck_assert_int_eq(win_read(w, "acme", 60, MS(T0), &wr), 0);
    ck_assert_int_eq(cv_read(v, "acme", 60, MS(T0), &wr, &cv), 0);
    size_t len, len0;
    char *text = winjson("acme", &wr, &st, &cv, &len),
         *plain = winjson("acme", &wr, &st, NULL, &len0);
    ck_assert(text && plain);
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je), *p = json_loadb(plain, len0, 0, &je);
    ck_assert_msg(o && p, "%s", je.text);
    /* without the additions, the very same object: existing keys unchanged */
    json_t *stripped = json_deep_copy(o);
    const char *extra[] = {"status", "cache", "hosts", "hosts_other", "minutes", "minutes_from_ms"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(json_object_del(stripped, extra[i]), 0);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(stripped, "regions"), i, r) json_object_del(r, "name");
    ck_assert(json_equal(stripped, p));
    json_decref(stripped);
    json_decref(p);
    json_t *s = json_object_get(o, "status");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "2xx")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "4xx")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "5xx")), 1);
    json_t *c = json_object_get(o, "cache");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "hit")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "miss")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "unknown")), 1);
    ck_assert(json_real_value(json_object_get(c, "hit_ratio")) == 0.6667);
    json_t *h = json_object_get(o, "hosts");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(h, 0), "host")), "b.example");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(h, 0), "bytes")), 70);
    ck_assert_int_eq(json_array_size(json_object_get(o, "minutes")), 60);
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(json_object_get(o, "regions"), 0), "name")),
                     "California");
    json_decref(o);
    free(text);
    free(plain);
    cv_result_free(&cv);
    win_result_free(&wr);
    /* no hit with a known cache status: hit_ratio is null */
    ck_assert_int_eq(cv_read(v, "nobody", 60, MS(T0), NULL, &cv), 0);
    win_read(w, "nobody", 60, MS(T0), &wr);
    text = winjson("nobody", &wr, &st, &cv, &len);
    ck_assert_ptr_nonnull(strstr(text, "\"hit_ratio\":null"));
    free(text);
    cv_result_free(&cv);
    win_result_free(&wr);
}
END_TEST

int main(void) {
    Suite *s = suite_create("custview");
    TCase *t = tcase_create("custview");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_status_and_cache_classes_sum_to_the_window);
    tcase_add_test(t, test_late_and_future_follow_the_window_minutes_keep_the_hour);
    tcase_add_test(t, test_random_traffic_agrees_with_the_reference);
    tcase_add_test(t, test_hosts_beyond_the_table_fold_into_other);
    tcase_add_test(t, test_region_names_come_from_the_records);
    tcase_add_test(t, test_region_names_beyond_the_cap_are_refused_and_counted);
    tcase_add_test(t, test_customers_listed_for_the_hour_then_expired);
    tcase_add_test(t, test_window_json_gains_the_extras_only);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
