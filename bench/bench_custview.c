/* bench_custview: the live view's CPU per hit beside the window's, and its memory per customer.
 *
 *   bench_custview [HITS]
 *
 * 1. CPU: HITS (default 1,000,000) decoded hits, 1,000 customers x 5 hosts, (country, region)
 *    over 10 x 10, status and cache classes mixed, stamped over the last 60 s, in random order,
 *    are added in batches of 8,192 as feed.c does: win_add_batch into a fresh window, then
 *    cv_add_batch (custview.h) with the window's verdicts into a fresh view. Best of 3 runs,
 *    each timed on its own; ns per hit for each. One line bench=custview_add.
 * 2. memory: 10,000 customers with one hit each on 1 host, then on 16 hosts (CV_HOSTS_MAX):
 *    the view's own count (cv_stats) and the heap's growth (malloc's overhead included) per
 *    customer. Lines bench=custview_memory.
 * Figures only. */
#include "../aggregator/custview.h"
#include "../aggregator/window.h"
#include "clock.h"
#include "hit.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 8192
#define CUSTOMERS 1000
#define HOSTS 5
#define RUNS 3
#define MEM_CUSTOMERS 10000

static const char *const COUNTRIES[] = {"US", "DE", "FR", "GB", "JP", "BR", "IN", "CN", "ZZ", "CA"};
static const char *const CACHES[] = {"HIT", "MISS", "", "STALE", "EXPIRED"};
static const int STATUSES[] = {200, 200, 200, 206, 304, 404, 500};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) { /* xorshift64 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t heap_in_use(void) {
    return mallinfo2().uordblks;
}

/* Names the hits point into, kept for the whole run. */
static char cust_names[MEM_CUSTOMERS][16], host_names[CV_HOSTS_MAX][24], region_codes[10][4];

static hit_t mk_hit(size_t cust, size_t host, size_t country, size_t region, int64_t ts_ms) {
    hit_t h;
    memset(&h, 0, sizeof h);
    h.ts_ms = ts_ms;
    h.customer = (slice_t){cust_names[cust], strlen(cust_names[cust])};
    h.host = (slice_t){host_names[host], strlen(host_names[host])};
    h.country = (slice_t){COUNTRIES[country], 2};
    h.region = (slice_t){region_codes[region], strlen(region_codes[region])};
    h.region_name = (slice_t){"Some Region", 11};
    const char *c = CACHES[rnd() % 5];
    h.cache = (slice_t){c, strlen(c)};
    h.status = STATUSES[rnd() % 7];
    h.bytes = 500 + rnd() % 100000;
    h.edge = h.src = (slice_t){"e1", 2};
    return h;
}

/* One run: ns per hit of the window and of the view over hits[0..n). */
static void one_run(const hit_t *hits, size_t n, int64_t now_ms, double *win_ns, double *cv_ns,
                    uint64_t *added) {
    static int32_t parts[BATCH];
    static int8_t res[BATCH];
    win_t *w = win_new();
    cv_t *v = cv_new(now_ms - 65000);
    if (!w || !v) {
        fprintf(stderr, "bench_custview: out of memory\n");
        exit(1);
    }
    int64_t tw = 0, tv = 0;
    *added = 0;
    for (size_t at = 0; at < n; at += BATCH) {
        size_t m = n - at < BATCH ? n - at : BATCH;
        int64_t t0 = mono_ns();
        win_add_batch(w, hits + at, parts, m, now_ms, res);
        int64_t t1 = mono_ns();
        cv_add_batch(v, hits + at, m, now_ms, res);
        tv += mono_ns() - t1;
        tw += t1 - t0;
        for (size_t i = 0; i < m; i++)
            *added += res[i] == WIN_ADDED;
    }
    *win_ns = (double)tw / (double)n;
    *cv_ns = (double)tv / (double)n;
    win_free(w);
    cv_free(v);
}

static void bench_cpu(size_t n, int64_t now_ms) {
    hit_t *hits = malloc(n * sizeof *hits);
    if (!hits) {
        fprintf(stderr, "bench_custview: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        hits[i] = mk_hit(rnd() % CUSTOMERS, rnd() % HOSTS, rnd() % 10, rnd() % 10,
                         now_ms - (int64_t)(rnd() % 60000));
    double bw = 1e18, bv = 1e18;
    uint64_t added = 0;
    for (int r = 0; r < RUNS; r++) {
        double w_ns, v_ns;
        one_run(hits, n, now_ms, &w_ns, &v_ns, &added);
        if (w_ns < bw) bw = w_ns;
        if (v_ns < bv) bv = v_ns;
    }
    printf("bench=custview_add hits=%zu customers=%d hosts_per_customer=%d added=%" PRIu64
           " runs=%d win_ns_per_hit=%.0f view_ns_per_hit=%.0f view_over_window=%.2f\n",
           n, CUSTOMERS, HOSTS, added, RUNS, bw, bv, bv / bw);
    free(hits);
}

static void bench_memory(size_t hosts, int64_t now_ms) {
    static int8_t res[CV_HOSTS_MAX];
    hit_t hs[CV_HOSTS_MAX];
    size_t heap0 = heap_in_use();
    cv_t *v = cv_new(now_ms - 65000);
    if (!v) exit(1);
    for (size_t c = 0; c < MEM_CUSTOMERS; c++) {
        for (size_t k = 0; k < hosts; k++) {
            hs[k] = mk_hit(c, k, c % 10, k % 10, now_ms - 1000);
            res[k] = WIN_ADDED;
        }
        cv_add_batch(v, hs, hosts, now_ms, res);
    }
    cv_stats_t st;
    cv_stats(v, &st);
    size_t heap = heap_in_use() - heap0;
    printf("bench=custview_memory customers=%" PRIu64 " hosts_per_customer=%zu store_bytes=%" PRIu64
           " store_bytes_per_customer=%.0f heap_bytes_per_customer=%.0f\n",
           st.customers, hosts, st.bytes, (double)st.bytes / (double)st.customers,
           (double)heap / (double)st.customers);
    cv_free(v);
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0) {
        fprintf(stderr, "usage: bench_custview [HITS]\n");
        return 2;
    }
    for (size_t i = 0; i < MEM_CUSTOMERS; i++)
        snprintf(cust_names[i], sizeof cust_names[i], "cust%05zu", i);
    for (size_t i = 0; i < CV_HOSTS_MAX; i++)
        snprintf(host_names[i], sizeof host_names[i], "h%zu.cdn.example", i);
    for (size_t i = 0; i < 10; i++)
        snprintf(region_codes[i], sizeof region_codes[i], "R%zu", i);
    int64_t now_ms = clock_wall_ms();
    bench_cpu(n, now_ms);
    bench_memory(1, now_ms);
    bench_memory(CV_HOSTS_MAX, now_ms);
    return 0;
}
