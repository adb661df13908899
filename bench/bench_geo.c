/* bench_geo: client geolocation and host map lookup rates, one core, no I/O.
 *
 *   bench_geo [GEODB [LOGFILE [LOOKUPS]]]
 *
 * GEODB defaults to $TEST_GEODB, else $BUILD/test-geo.mmdb (BUILD defaults to build); LOGFILE to
 * $SHARED_DATA/apache_logs, whose first field (the client address) of every line is looked up,
 * cycling, LOOKUPS times (default 5,000,000). Prints logfmt lines:
 *   geo            the real client mix (repeats, as real traffic has: the cache works)
 *   geo_uncached   uniformly random IPv4 addresses (almost every lookup misses the cache)
 *   hostmap        a 10,000-entry map, hosts with mixed case, ports, wildcards and unknowns
 * with counts beside the rates, so that a rate measured on failures cannot pass for the real one.
 */
#include "clock.h"
#include "../collector/geo.h"
#include "../collector/hostmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_LOOKUPS_DEFAULT 5000000L
#define BENCH_IPS_MAX 1000000
#define BENCH_IP_TEXT 64
#define BENCH_HOSTS 10000

typedef struct texts {
    char (*s)[BENCH_IP_TEXT];
    size_t *n;
    size_t count;
} texts_t;

/* The first field of each line of path (at most BENCH_IPS_MAX lines). */
static int read_ips(const char *path, texts_t *t) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    t->s = malloc(BENCH_IPS_MAX * sizeof *t->s);
    t->n = malloc(BENCH_IPS_MAX * sizeof *t->n);
    char line[65536];
    while (t->s && t->n && t->count < BENCH_IPS_MAX && fgets(line, sizeof line, f)) {
        size_t k = strcspn(line, " \t\r\n");
        if (k == 0 || k >= BENCH_IP_TEXT) continue;
        memcpy(t->s[t->count], line, k);
        t->s[t->count][k] = 0;
        t->n[t->count++] = k;
    }
    fclose(f);
    return t->count ? 0 : -1;
}

static size_t distinct(const texts_t *t) {
    size_t d = 0;
    for (size_t i = 0; i < t->count; i++) {
        size_t j = 0;
        while (j < i && strcmp(t->s[i], t->s[j]) != 0)
            j++;
        d += j == i;
        if (i > 20000) return 0; /* quadratic: only for data/apache_logs-sized inputs */
    }
    return d;
}

static void bench_geo(geo_t *g, const texts_t *t, long lookups, const char *name) {
    char country[3], region[256];
    uint64_t found = 0, sum = 0;
    geo_stats_t a, b;
    geo_stats(g, &a);
    int64_t t0 = clock_mono_us();
    for (long i = 0; i < lookups; i++) {
        size_t k = (size_t)i % t->count;
        found += geo_lookup(g, t->s[k], t->n[k], country, region, sizeof region) == 0;
        sum += (unsigned char)country[0] + (unsigned char)region[0];
    }
    int64_t us = clock_mono_us() - t0;
    if (us < 1) us = 1;
    geo_stats(g, &b);
    printf("%s lookups_per_s=%.0f ns_per_lookup=%.1f lookups=%ld addresses=%zu found=%" PRIu64
           " cache_hit_ratio=%.3f checksum=%" PRIu64 "\n",
           name, (double)lookups / ((double)us / 1e6), (double)us * 1000.0 / (double)lookups,
           lookups, t->count, found,
           (double)(b.cache_hits - a.cache_hits) / (double)(b.lookups - a.lookups), sum);
}

static void random_ips(texts_t *t, size_t count) {
    t->s = malloc(count * sizeof *t->s);
    t->n = malloc(count * sizeof *t->n);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (t->count = 0; t->s && t->n && t->count < count; t->count++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = snprintf(t->s[t->count], BENCH_IP_TEXT, "%u.%u.%u.%u", (unsigned)(x >> 56) & 255,
                         (unsigned)(x >> 48) & 255, (unsigned)(x >> 40) & 255,
                         (unsigned)(x >> 32) & 255);
        t->n[t->count] = (size_t)k;
    }
}

static int bench_hostmap(long lookups) {
    size_t cap = (size_t)BENCH_HOSTS * 48, len = 0;
    char *text = malloc(cap);
    if (!text) return -1;
    for (int i = 0; i < BENCH_HOSTS; i++)
        len += (size_t)snprintf(
            text + len, cap - len,
            i % 5 ? "www.customer%d.example.com c%d\n" : "*.cdn%d.example.net w%d\n", i, i % 1000);
    char err[256];
    hostmap_t *m = hostmap_parse(text, len, "bench", err, sizeof err);
    free(text);
    if (!m) {
        fprintf(stderr, "bench_geo: %s\n", err);
        return -1;
    }
    enum { Q = 4096 };
    static char q[Q][96];
    static size_t qn[Q];
    for (int i = 0; i < Q; i++) {
        int h = (i * 7919) % BENCH_HOSTS, k;
        switch (i % 4) {
        case 0:
            k = snprintf(q[i], sizeof q[i], "www.customer%d.example.com", h | 1);
            break;
        case 1:
            k = snprintf(q[i], sizeof q[i], "WWW.Customer%d.Example.COM:443", h | 1);
            break;
        case 2:
            k = snprintf(q[i], sizeof q[i], "img.v2.cdn%d.example.net", h - h % 5);
            break;
        default:
            k = snprintf(q[i], sizeof q[i], "unknown%d.example.org:8080", h);
            break;
        }
        qn[i] = (size_t)k;
    }
    char norm[1024];
    uint64_t found = 0, sum = 0;
    int64_t t0 = clock_mono_us();
    for (long i = 0; i < lookups; i++) {
        slice_t c;
        size_t nl;
        int j = (int)(i % Q);
        if (hostmap_lookup(m, q[j], qn[j], &c, norm, sizeof norm, &nl) == 0) {
            found++;
            sum += c.n + nl;
        }
    }
    int64_t us = clock_mono_us() - t0;
    if (us < 1) us = 1;
    printf("hostmap lookups_per_s=%.0f ns_per_lookup=%.1f lookups=%ld entries=%zu found=%" PRIu64
           " checksum=%" PRIu64 "\n",
           (double)lookups / ((double)us / 1e6), (double)us * 1000.0 / (double)lookups, lookups,
           hostmap_size(m), found, sum);
    hostmap_free(m);
    return 0;
}

int main(int argc, char **argv) {
    char defdb[4096], deflog[4096];
    const char *build = getenv("BUILD"), *data = getenv("SHARED_DATA"), *env = getenv("TEST_GEODB");
    snprintf(defdb, sizeof defdb, "%s/test-geo.mmdb", build ? build : "build");
    snprintf(deflog, sizeof deflog, "%s/apache_logs", data ? data : "../shared/data");
    const char *db = argc > 1 ? argv[1] : env ? env : defdb;
    const char *log = argc > 2 ? argv[2] : deflog;
    long lookups = argc > 3 ? strtol(argv[3], NULL, 10) : BENCH_LOOKUPS_DEFAULT;
    if (lookups < 1) lookups = 1;

    char err[512];
    geo_t *g = geo_open(db, NULL, err, sizeof err);
    if (!g) {
        fprintf(stderr, "bench_geo: %s\n", err);
        return 1;
    }
    texts_t real = {0}, rnd = {0};
    if (read_ips(log, &real) < 0) {
        fprintf(stderr, "bench_geo: cannot read client addresses from %s\n", log);
        return 1;
    }
    printf("geo_input path=%s lines=%zu distinct=%zu db=%s type=%s\n", log, real.count,
           distinct(&real), db, geo_database_type(g));
    bench_geo(g, &real, lookups, "geo");
    geo_close(g);
    g = geo_open(db, NULL, err, sizeof err); /* a cold cache for the random run */
    random_ips(&rnd, 1 << 20);
    if (!g || rnd.count == 0) return 1;
    bench_geo(g, &rnd, lookups, "geo_uncached");
    geo_close(g);
    int rc = bench_hostmap(lookups * 2);
    free(real.s);
    free(real.n);
    free(rnd.s);
    free(rnd.n);
    return rc < 0 ? 1 : 0;
}
