/* Unit tests of aggregator/window.c against a dense reference: the simplest store that keeps
 * the same rules, an array of (hits, bytes) per (customer entry, key, absolute second), with
 * no ring, no encoding and no table. Random hits (in and out of order, late, future, bursts of
 * one key-second, bytes of every varint length, clock jumps forward and back, expiry,
 * partitions dropped, a small key cap so that hits fold), and after every step every
 * customer's window is read and compared whole: totals, every second of the series, every
 * region and (other) row, every country, and the store's counts. */
#include "../../../aggregator/window.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1764021900LL /* 2025-11-24T22:05:00Z */
#define MS(s) ((s)*1000LL)
#define RING (WIN_SECONDS + WIN_FUTURE_S) /* what a customer's and a key's ring hold */

#define NCUST 3
#define NPART 2
#define NCOUNTRY 3
#define NREGION 8
#define NKEY (NCOUNTRY * NREGION + NCOUNTRY) /* regions, then each country's (other) row */
#define NSEC 9000                            /* seconds from T0 - 100 the runs may reach */
#define BASE (T0 - 100)
#define NONE INT64_MIN

/* Check writes a record for every passing ck_assert: millions of them here would take most of
 * the run. These only call Check when a comparison fails. */
#define EQ(a, b)                                                                                   \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                           \
        if (a_ != b_)                                                                              \
            ck_abort_msg("line %d: %s == %llu, %s == %llu", __LINE__, #a, (unsigned long long)a_,  \
                         #b, (unsigned long long)b_);                                              \
    } while (0)
#define TRUE(x)                                                                                    \
    do {                                                                                           \
        if (!(x)) ck_abort_msg("line %d: %s", __LINE__, #x);                                       \
    } while (0)

static const char *const CUST[NCUST] = {"acme", "globex", "initech"};
static const char *const COUNTRY[NCOUNTRY] = {"US", "DE", "BR"};
static const char *const REGION[NREGION] = {
    "", "A", "BB", "CCC", "(other)", "x", "y", "a long region name of many bytes"};

/* The reference: one entry per (customer, partition), as the store keeps them. */
typedef struct rentry {
    int live;                                /* created and not freed */
    int64_t head;                            /* newest second added */
    int64_t khead[NKEY];                     /* a key's newest second; NONE: the key is not held */
    uint64_t ch[NSEC], cb[NSEC];             /* the customer's sums per second */
    uint64_t kh[NKEY][NSEC], kb[NKEY][NSEC]; /* each key's */
} rentry_t;

static rentry_t *ref; /* [NCUST][NPART] */
static win_t *w;
static uint32_t cap;
static uint64_t folded;
static int64_t horizon; /* the oldest second the last expiry kept */

static rentry_t *entry(int c, int p) {
    return &ref[c * NPART + p];
}

/* Forgets the entry: its sums stay in the arrays only where no read and no add can reach
 * them again (below the expiry horizon); entry_wipe clears them too. */
static void entry_clear(rentry_t *e) {
    e->live = 0;
    e->head = NONE;
    for (int k = 0; k < NKEY; k++)
        e->khead[k] = NONE;
}

static void entry_wipe(rentry_t *e) {
    memset(e, 0, sizeof *e);
    entry_clear(e);
}

static void setup(void) {
    w = win_new();
    ck_assert_ptr_nonnull(w);
    ref = malloc(sizeof *ref * NCUST * NPART);
    ck_assert_ptr_nonnull(ref);
    for (int i = 0; i < NCUST * NPART; i++)
        entry_wipe(&ref[i]);
    cap = WIN_KEYS_PER_CUSTOMER_DEFAULT;
    folded = 0;
    horizon = NONE;
}

static void teardown(void) {
    win_free(w);
    free(ref);
}

static int regular_keys(const rentry_t *e) {
    int n = 0;
    for (int k = 0; k < NCOUNTRY * NREGION; k++)
        n += e->khead[k] != NONE;
    return n;
}

/* The rule of window.h, applied to the reference. */
static win_add_result_t ref_add(int c, int p, int co, int r, int64_t s, uint64_t bytes,
                                int64_t now_s) {
    if (s < now_s - (WIN_SECONDS - 1)) return WIN_LATE;
    if (s > now_s + WIN_FUTURE_S) return WIN_FUTURE;
    if (s < horizon) return WIN_LATE;
    rentry_t *e = entry(c, p);
    e->live = 1;
    if (e->head != NONE && s <= e->head - RING) return WIN_LATE; /* the clock went back */
    int k = co * NREGION + r;
    if (e->khead[k] == NONE && regular_keys(e) >= (int)cap) {
        k = NCOUNTRY * NREGION + co;
        folded++;
    }
    /* Heads only grow: what a ring dropped is never shown again (held() at the read). */
    if (e->head == NONE || s > e->head) e->head = s;
    if (e->khead[k] == NONE || s > e->khead[k]) e->khead[k] = s;
    e->ch[s - BASE]++;
    e->cb[s - BASE] += bytes;
    e->kh[k][s - BASE]++;
    e->kb[k][s - BASE] += bytes;
    return WIN_ADDED;
}

static void ref_expire(int64_t now_s) {
    int64_t oldest = now_s - (WIN_SECONDS - 1);
    if (oldest > horizon) horizon = oldest;
    for (int i = 0; i < NCUST * NPART; i++) {
        rentry_t *e = &ref[i];
        if (!e->live) continue;
        if (e->head < oldest) { /* every sum of it is below the horizon now */
            entry_clear(e);
            continue;
        }
        for (int k = 0; k < NKEY; k++)
            if (e->khead[k] != NONE && e->khead[k] < oldest) e->khead[k] = NONE; /* (as above) */
    }
}

static void ref_drop_partition(int p) {
    for (int c = 0; c < NCUST; c++)
        entry_wipe(entry(c, p)); /* the horizon does not move: later adds may reach them */
}

/* A ring with this head holds second t. */
static int held(int64_t head, int64_t t) {
    return head != NONE && t <= head && t > head - RING;
}

static int find_key(const win_region_t *r) {
    for (int co = 0; co < NCOUNTRY; co++) {
        if (strcmp(COUNTRY[co], r->country)) continue;
        if (r->other) return NCOUNTRY * NREGION + co;
        for (int k = 0; k < NREGION; k++)
            if (strlen(REGION[k]) == r->region_len && !memcmp(REGION[k], r->region, r->region_len))
                return co * NREGION + k;
    }
    return -1;
}

/* Reads customer c's window and compares it whole with the reference. */
static void compare(int c, int seconds, int64_t now_s) {
    int64_t first = now_s - seconds + 1;
    uint64_t hits = 0, bytes = 0, kh[NKEY] = {0}, kb[NKEY] = {0}, coh[NCOUNTRY] = {0};
    uint64_t sh[WIN_SECONDS] = {0}, sb[WIN_SECONDS] = {0};
    for (int p = 0; p < NPART; p++) {
        rentry_t *e = entry(c, p);
        if (!e->live) continue;
        for (int64_t t = first; t <= now_s; t++) {
            /* shown: held by the customer's ring and not let go by expiry */
            if (!held(e->head, t) || t < horizon) continue;
            sh[t - first] += e->ch[t - BASE];
            sb[t - first] += e->cb[t - BASE];
            for (int k = 0; k < NKEY; k++) {
                if (!held(e->khead[k], t)) continue;
                kh[k] += e->kh[k][t - BASE];
                kb[k] += e->kb[k][t - BASE];
            }
        }
    }
    win_result_t r;
    int rc = win_read(w, CUST[c], seconds, MS(now_s) + 999, &r);
    TRUE(rc >= 0);
    EQ(r.seconds, seconds);
    for (int i = 0; i < seconds; i++) {
        EQ(r.series[i].t_ms, MS(first + i));
        EQ(r.series[i].hits, sh[i]);
        EQ(r.series[i].bytes, sb[i]);
        hits += sh[i];
        bytes += sb[i];
    }
    EQ(rc, hits ? 0 : 1);
    EQ(r.hits, hits);
    EQ(r.bytes, bytes);
    size_t rows = 0;
    for (int k = 0; k < NKEY; k++)
        rows += kh[k] > 0;
    EQ(r.nregions, rows);
    for (size_t i = 0; i < r.nregions; i++) {
        const win_region_t *g = &r.regions[i];
        int k = find_key(g);
        TRUE(k >= 0);
        EQ(g->hits, kh[k]);
        EQ(g->bytes, kb[k]);
        EQ(g->other, k >= NCOUNTRY * NREGION);
        if (g->other) TRUE(strcmp(g->region, WIN_OTHER_REGION) == 0);
        kh[k] = 0; /* each key once */
        if (i) TRUE(r.regions[i - 1].hits >= g->hits);
        coh[k < NCOUNTRY * NREGION ? k / NREGION : k - NCOUNTRY * NREGION] += g->hits;
    }
    uint64_t csum = 0;
    for (size_t i = 0; i < r.ncountries; i++) {
        int co = 0;
        while (co < NCOUNTRY && strcmp(COUNTRY[co], r.countries[i].country))
            co++;
        TRUE(co < NCOUNTRY);
        EQ(r.countries[i].hits, coh[co]);
        csum += r.countries[i].hits;
    }
    EQ(csum, hits); /* countries, regions and totals agree */
    win_result_free(&r);
}

static void compare_stats(void) {
    win_stats_t st;
    win_stats(w, &st);
    uint64_t keys = 0, custs = 0, at_cap = 0;
    for (int i = 0; i < NCUST * NPART; i++) {
        if (!ref[i].live) continue;
        custs++;
        for (int k = 0; k < NKEY; k++)
            keys += ref[i].khead[k] != NONE;
        at_cap += regular_keys(&ref[i]) >= (int)cap;
    }
    EQ(st.customers, custs);
    EQ(st.keys, keys);
    EQ(st.customers_at_cap, at_cap);
    EQ(st.hits_folded, folded);
}

/* Bytes of every varint length, mostly small. */
static uint64_t rand_bytes(void) {
    switch (rand() % 6) {
    case 0:
        return 0;
    case 1:
        return (uint64_t)(rand() % 128);
    case 2:
        return (uint64_t)(rand() % 100000);
    case 3:
        return (uint64_t)rand() * 1000;
    case 4:
        return ((uint64_t)rand() << 16) ^ (uint64_t)rand(); /* up to 2^47 */
    default:
        return 1000;
    }
}

static void run(unsigned seed, int steps) {
    srand(seed);
    int64_t now_s = T0;
    for (int step = 0; step < steps; step++) {
        int jump = rand() % 200;
        if (jump == 0)
            now_s += 40 + rand() % 60; /* idle: rings wrap, keys expire */
        else if (jump == 1 && now_s > T0 + 10)
            now_s -= 1 + rand() % 10; /* the clock steps back */
        else
            now_s += rand() % 3 == 0;
        TRUE(now_s + WIN_FUTURE_S - BASE < NSEC);
        for (int i = rand() % 30; i > 0; i--) {
            int c = rand() % NCUST, p = rand() % 4 == 0, co = rand() % NCOUNTRY;
            int r = rand() % NREGION;
            int64_t s = now_s - 62 + rand() % 66;   /* some late, some future */
            if (rand() % 3) s = now_s - rand() % 3; /* most near the clock */
            uint64_t bytes = rand_bytes();
            int burst = rand() % 20 == 0 ? 1 + rand() % 300 : 1; /* one key-second, many hits */
            hit_t h;
            memset(&h, 0, sizeof h);
            h.customer = (slice_t){CUST[c], strlen(CUST[c])};
            h.country = (slice_t){COUNTRY[co], 2};
            h.region = (slice_t){REGION[r], strlen(REGION[r])};
            h.host = h.edge = h.src = (slice_t){"x", 1};
            h.bytes = bytes;
            for (int b = 0; b < burst; b++) {
                h.ts_ms = MS(s) + rand() % 1000;
                win_add_result_t want = ref_add(c, p, co, r, s, bytes, now_s);
                EQ(win_add(w, &h, p, MS(now_s) + rand() % 1000), want);
            }
        }
        if (rand() % 8 == 0) {
            win_expire(w, MS(now_s));
            ref_expire(now_s);
        }
        if (rand() % 500 == 0) {
            int p = rand() % NPART;
            win_drop_partition(w, p);
            ref_drop_partition(p);
        }
        for (int c = 0; c < NCUST; c++) {
            compare(c, WIN_SECONDS, now_s);
            compare(c, 1 + rand() % WIN_SECONDS, now_s);
        }
        compare_stats();
    }
}

START_TEST(test_random_traffic_reads_as_the_dense_reference) {
    run(1, 4000);
}
END_TEST

START_TEST(test_random_traffic_over_a_small_key_cap_reads_as_the_dense_reference) {
    cap = 5;
    win_set_key_cap(w, cap);
    run(2, 4000);
    ck_assert_uint_gt(folded, 1000); /* the cap was met, often */
}
END_TEST

START_TEST(test_random_traffic_reads_as_the_dense_reference_other_seeds) {
    for (unsigned seed = 3; seed < 8; seed++) {
        teardown();
        setup();
        cap = (uint32_t)(1 + seed % 4 * 6);
        win_set_key_cap(w, cap);
        run(seed, 1500);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("window_oracle");
    TCase *t = tcase_create("window_oracle");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_random_traffic_reads_as_the_dense_reference);
    tcase_add_test(t, test_random_traffic_over_a_small_key_cap_reads_as_the_dense_reference);
    tcase_add_test(t, test_random_traffic_reads_as_the_dense_reference_other_seeds);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
