/* bench_window: the aggregator's work per hit on one core, in memory, and the windows' memory.
 *
 *   bench_window [HITS [KEYS]]
 *
 * 1. decode + window: HITS (default 1,000,000) encoded hit records, stamped over the last 60 s,
 *    customers drawn from a Zipf-like law over 1,000 customers, (country, region) over ~100 per
 *    customer, are decoded (hit_decode) and added (win_add_batch) in batches of 8,192, as the
 *    consumer does. Also the window alone, on pre-decoded hits.
 * 2. memory: KEYS (default 100,000) distinct (customer, country, region) keys, each with a hit in
 *    every second of the last minute (the dense case) and, separately, one hit each; the
 *    store's own count of bytes and the heap's growth (malloc's overhead included), per key and
 *    per 100,000 keys (the target: at most 50 MB). Part 1 prints the same for its mix.
 * 3. reads: win_read of one customer with 100 keys, 60 s window, µs per read.
 * 4. the key cap: 10 customers offered 20,000 regions each against the default cap of
 *    --max-keys-per-customer: keys held, hits folded into (other) rows, exact totals.
 * Prints logfmt lines beginning with bench=window_*. Figures only. */
#include "../aggregator/window.h"
#include "clock.h"
#include "hit.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 8192
#define CUSTOMERS 1000
#define REGIONS_PER_COUNTRY 10
static const char *const COUNTRIES[] = {"US", "DE", "FR", "GB", "JP", "BR", "IN", "CN", "ZZ", "CA"};
#define NCOUNTRIES (sizeof COUNTRIES / sizeof COUNTRIES[0])

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void) { /* xorshift64 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Zipf-like: customer i with weight ~1/(i+1), by inverse transform over a precomputed table. */
static int zipf_customer(const double *cdf) {
    double u = (double)(rnd() >> 11) / (double)(1ULL << 53);
    int lo = 0, hi = CUSTOMERS - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Bytes handed out by malloc, its own per-chunk overhead included. */
static size_t heap_in_use(void) {
    return mallinfo2().uordblks;
}

static long rss_kb(void) {
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* spread_ms: hits are stamped now minus up to this: ~2 s for live traffic, 60 s for the minute a
 * restarted aggregator reads back. */
static void bench_decode_and_add(size_t nhits, int64_t now_ms, int spread_ms) {
    double cdf[CUSTOMERS], sum = 0;
    for (int i = 0; i < CUSTOMERS; i++)
        sum += 1.0 / (i + 1);
    for (int i = 0; i < CUSTOMERS; i++)
        cdf[i] = (i ? cdf[i - 1] : 0) + 1.0 / (i + 1) / sum;
    /* encode the records into one buffer */
    size_t cap = nhits * 256 + HIT_ENCODED_MAX, used = 0;
    char *buf = malloc(cap), names[CUSTOMERS][16], region[16];
    size_t *off = malloc((nhits + 1) * sizeof *off);
    int32_t *parts = malloc(nhits * sizeof *parts);
    for (int i = 0; i < CUSTOMERS; i++)
        snprintf(names[i], sizeof names[i], "customer-%04d", i);
    for (size_t i = 0; i < nhits; i++) {
        int c = zipf_customer(cdf), co = (int)(rnd() % NCOUNTRIES);
        parts[i] = c % 16; /* the message key is the customer: one partition per customer */
        snprintf(region, sizeof region, "R%d", (int)(rnd() % REGIONS_PER_COUNTRY));
        hit_t h = {.ts_ms = now_ms - (int64_t)(rnd() % (uint64_t)spread_ms),
                   .bytes = rnd() % 2000000,
                   .status = 200,
                   .off = i};
        h.customer = (slice_t){names[c], strlen(names[c])};
        h.host = (slice_t){"cdn.example.com", 15};
        h.country = (slice_t){COUNTRIES[co], 2};
        h.region = (slice_t){region, strlen(region)};
        h.edge = (slice_t){"edge-fra-01", 11};
        h.src = (slice_t){"/var/log/nginx/access.log:1764021900", 36};
        off[i] = used;
        used += (size_t)hit_encode(&h, buf + used, cap - used);
    }
    off[nhits] = used;
    hit_t *hits = malloc(BATCH * sizeof *hits);
    int32_t bparts[BATCH];
    int8_t res[BATCH];
    char *scratch = malloc((size_t)BATCH * 512), err[128];

    win_t *w = win_new();
    uint64_t added = 0, bad = 0;
    int64_t t0 = clock_mono_us();
    for (size_t i = 0; i < nhits; i += BATCH) {
        size_t n = nhits - i < BATCH ? nhits - i : BATCH, k = 0, s = 0;
        for (size_t j = 0; j < n; j++) {
            size_t len = off[i + j + 1] - off[i + j];
            if (hit_decode(&hits[k], buf + off[i + j], len, scratch + s, len, err, sizeof err) == 0)
                bparts[k++] = parts[i + j];
            else
                bad++;
            s += len;
        }
        win_add_batch(w, hits, bparts, k, now_ms, res);
        for (size_t j = 0; j < k; j++)
            added += res[j] == WIN_ADDED;
    }
    int64_t us = clock_mono_us() - t0;
    win_stats_t st;
    win_stats(w, &st);
    printf("bench=window_decode_add ts_spread_ms=%d hits=%zu added=%" PRIu64 " bad=%" PRIu64
           " customers=%" PRIu64 " keys=%" PRIu64 " seconds=%.3f hits_per_s=%.0f ns_per_hit=%.0f"
           " avg_record_bytes=%zu store_mb=%.1f mb_per_100k_keys=%.1f\n",
           spread_ms, nhits, added, bad, st.customers, st.keys, us / 1e6, nhits / (us / 1e6),
           us * 1000.0 / (double)nhits, used / nhits, st.bytes / 1e6,
           st.keys ? st.bytes / 1e6 * 100000.0 / (double)st.keys : 0.0);
    win_free(w);

    /* the window alone: decode once, add the same decoded hits again into a fresh store */
    w = win_new();
    int64_t window_us = 0;
    for (size_t i = 0; i < nhits; i += BATCH) {
        size_t n = nhits - i < BATCH ? nhits - i : BATCH, k = 0, s = 0;
        for (size_t j = 0; j < n; j++) {
            size_t len = off[i + j + 1] - off[i + j];
            if (hit_decode(&hits[k], buf + off[i + j], len, scratch + s, len, err, sizeof err) == 0)
                bparts[k++] = parts[i + j];
            s += len;
        }
        int64_t a = clock_mono_us();
        win_add_batch(w, hits, bparts, k, now_ms, res);
        window_us += clock_mono_us() - a;
    }
    printf("bench=window_add_only ts_spread_ms=%d hits=%zu seconds=%.3f hits_per_s=%.0f "
           "ns_per_hit=%.0f\n",
           spread_ms, nhits, window_us / 1e6, nhits / (window_us / 1e6),
           window_us * 1000.0 / (double)nhits);
    win_free(w);
    free(buf);
    free(off);
    free(hits);
    free(scratch);
    free(parts);
}

/* KEYS keys over KEYS/100 customers; `dense`: a hit in every second of the last minute. */
static void bench_memory(size_t nkeys, int dense, int64_t now_ms) {
    size_t heap0 = heap_in_use();
    win_t *w = win_new();
    char cust[32], region[32];
    int8_t r;
    for (size_t k = 0; k < nkeys; k++) {
        snprintf(cust, sizeof cust, "customer-%05zu", k / 100);
        snprintf(region, sizeof region, "region-%02zu", k % 100 / NCOUNTRIES);
        hit_t h = {.bytes = 1000};
        h.customer = (slice_t){cust, strlen(cust)};
        h.country = (slice_t){COUNTRIES[k % NCOUNTRIES], 2};
        h.region = (slice_t){region, strlen(region)};
        int32_t part = 0;
        for (int s = dense ? 59 : 0; s >= 0; s--) {
            h.ts_ms = now_ms - s * 1000LL;
            win_add_batch(w, &h, &part, 1, now_ms, &r);
        }
    }
    win_stats_t st;
    win_stats(w, &st);
    size_t heap = heap_in_use() - heap0;
    printf("bench=window_memory keys=%" PRIu64 " customers=%" PRIu64 " hits_per_key=%d "
           "store_mb=%.1f store_bytes_per_key=%.0f heap_mb=%.1f heap_bytes_per_key=%.0f "
           "mb_per_100k_keys=%.1f target_mb_per_100k_keys=50 process_rss_mb=%.1f\n",
           st.keys, st.customers, dense ? 60 : 1, st.bytes / 1e6, (double)st.bytes / st.keys,
           heap / 1e6, (double)heap / st.keys, heap / 1e6 * 100000.0 / (double)st.keys,
           rss_kb() / 1024.0);
    /* a read of one customer of 100 keys */
    win_result_t res;
    int reads = 20000;
    int64_t t0 = clock_mono_us();
    for (int i = 0; i < reads; i++) {
        snprintf(cust, sizeof cust, "customer-%05zu", (size_t)i % (nkeys / 100));
        win_read(w, cust, 60, now_ms, &res);
        win_result_free(&res);
    }
    int64_t us = clock_mono_us() - t0;
    t0 = clock_mono_us();
    for (int i = 0; i < reads; i++) { /* the same customer again and again: in cache */
        win_read(w, "customer-00007", 60, now_ms, &res);
        win_result_free(&res);
    }
    int64_t hot = clock_mono_us() - t0;
    if (dense)
        printf("bench=window_read keys_per_customer=100 seconds=60 reads=%d us_per_read=%.2f "
               "us_per_read_same_customer=%.2f\n",
               reads, (double)us / reads, (double)hot / reads);
    int64_t e0 = clock_mono_us();
    size_t freed = win_expire(w, now_ms + 60000);
    win_stats(w, &st);
    printf("bench=window_expire keys_freed=%zu ms=%.1f store_bytes_left=%" PRIu64 "\n", freed,
           (clock_mono_us() - e0) / 1000.0, st.bytes);
    win_free(w);
}

/* The cardinality guard: CAP_CUSTOMERS customers each offered CAP_REGIONS distinct regions
 * (a hit each, over the last minute) against the default key cap, and one customer within it.
 * Keys held, hits folded into (other) rows, customers at the cap, the memory, and that every
 * customer's totals and countries still sum to what was added. */
#define CAP_CUSTOMERS 10
#define CAP_REGIONS 20000
static void bench_cap(int64_t now_ms) {
    size_t heap0 = heap_in_use();
    win_t *w = win_new();
    char cust[32], region[32];
    int8_t r;
    uint64_t want_bytes[CAP_CUSTOMERS + 1] = {0}, added = 0;
    for (int c = 0; c <= CAP_CUSTOMERS; c++) {
        int regions = c < CAP_CUSTOMERS ? CAP_REGIONS : 100; /* the last: 100 keys, no fold */
        snprintf(cust, sizeof cust, "wide-%02d", c);
        for (int k = 0; k < regions; k++) {
            snprintf(region, sizeof region, "region-%05d", k);
            hit_t h = {.bytes = 1000 + (uint64_t)k, .ts_ms = now_ms - (int64_t)(rnd() % 60000)};
            h.customer = (slice_t){cust, strlen(cust)};
            h.country = (slice_t){COUNTRIES[k % NCOUNTRIES], 2};
            h.region = (slice_t){region, strlen(region)};
            int32_t part = 0;
            win_add_batch(w, &h, &part, 1, now_ms, &r);
            if (r == WIN_ADDED) {
                want_bytes[c] += h.bytes;
                added++;
            }
        }
    }
    int exact = 1;
    size_t others = 0;
    for (int c = 0; c <= CAP_CUSTOMERS; c++) {
        win_result_t res;
        snprintf(cust, sizeof cust, "wide-%02d", c);
        win_read(w, cust, 60, now_ms, &res);
        uint64_t cb = 0, rb = 0;
        for (size_t i = 0; i < res.ncountries; i++)
            cb += res.countries[i].bytes;
        for (size_t i = 0; i < res.nregions; i++) {
            rb += res.regions[i].bytes;
            others += res.regions[i].other;
        }
        exact &= res.bytes == want_bytes[c] && cb == want_bytes[c] && rb == want_bytes[c];
        win_result_free(&res);
    }
    win_stats_t st;
    win_stats(w, &st);
    size_t heap = heap_in_use() - heap0;
    printf("bench=window_cap customers=%d regions_offered_per_customer=%d key_cap=%u hits=%" PRIu64
           " keys=%" PRIu64 " other_rows=%zu hits_folded=%" PRIu64 " customers_at_cap=%" PRIu64
           " heap_mb=%.1f totals_exact=%s\n",
           CAP_CUSTOMERS + 1, CAP_REGIONS, st.key_cap, added, st.keys, others, st.hits_folded,
           st.customers_at_cap, heap / 1e6, exact ? "yes" : "NO");
    win_free(w);
}

int main(int argc, char **argv) {
    size_t nhits = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t nkeys = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
    if (nhits == 0 || nkeys < 100) {
        fprintf(stderr, "usage: bench_window [HITS [KEYS >= 100]]\n");
        return 2;
    }
    int64_t now_ms = clock_wall_ms();
    bench_decode_and_add(nhits, now_ms, 2000);
    bench_decode_and_add(nhits, now_ms, 60000);
    bench_memory(nkeys, 0, now_ms);
    bench_memory(nkeys, 1, now_ms);
    bench_cap(now_ms);
    return 0;
}
