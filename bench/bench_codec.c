/* bench_codec: hit record encoding and decoding rate, one core, against jansson.
 *
 *   bench_codec [N]
 *
 * Builds N hits (default 2,000,000) from realistic values (customers, hosts, countries with
 * regions, status mix, edge ids, log sources with growing offsets) and encodes them with
 * hit_encode twice: each into the same buffer from a hit in cache, as the collector does
 * (encode_ns_per_record), and all one after the other into memory (encode_stream_ns_per_record,
 * which adds the cost of writing 220 MB per million records). Then decodes that text with
 * hit_decode, and decodes and encodes a sample with jansson (json_loadb + gets, json_pack +
 * json_dumpb) for comparison. Prints one logfmt line per figure, each starting with "codec". Every
 * decoded record is checked against its source, so a fast decoder that refuses records cannot pass
 * for a fast one. */
#include "hit.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_N_DEFAULT 2000000
#define HOT_HITS 4096         /* hits that stay in cache, as the collector's one current hit */
#define JANSSON_SAMPLE 200000 /* jansson is ~10x slower: a sample gives the figure */

static const char *const customers[] = {"acme",  "globex",           "initech",   "umbrella",
                                        "hooli", "stark-industries", "wayne-ent", "cyberdyne"};
static const char *const hosts[] = {"www.acme.example",       "cdn.globex.example",
                                    "static.initech.example", "img.umbrella.example",
                                    "video.hooli.example",    "assets.stark.example",
                                    "download.wayne.example", "api.cyberdyne.example"};
static const char *const geo[][2] = {{"US", "CA"},  {"US", "NY"}, {"DE", "BE"}, {"FR", "IDF"},
                                     {"GB", "ENG"}, {"JP", "13"}, {"BR", "SP"}, {"ZZ", ""},
                                     {"IN", "MH"},  {"AU", "NSW"}};
static const int statuses[] = {200, 200, 200, 200, 200, 206, 304, 304, 404, 500};
static const char *const edges[] = {"edge-fra-01", "edge-iad-03", "edge-nrt-02", "edge-gru-01"};
static const char *const srcs[] = {"6f1c2a9e:/var/log/nginx/access.log",
                                   "b27d44c0:/var/log/nginx/access.log.1",
                                   "0c9e1f33:/var/log/apache2/other_vhosts_access.log"};

static slice_t S(const char *s) {
    return (slice_t){s, strlen(s)};
}

/* CPU time of this thread: the cost per core, unaffected by other processes taking turns. */
static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static hit_t make_hit(size_t i, uint64_t *off) {
    uint32_t r = (uint32_t)(i * 2654435761u) ^ (uint32_t)(i >> 7);
    int g = (int)(r % 10), c = (int)(r / 10 % 8);
    hit_t h = {.ts_ms = 1764021841000 + (int64_t)(i / 50),
               .customer = S(customers[c]),
               .host = S(hosts[c]),
               .bytes = 200 + r % 2000000,
               .status = statuses[r / 80 % 10],
               .country = S(geo[g][0]),
               .region = S(geo[g][1]),
               .edge = S(edges[r / 800 % 4]),
               .src = S(srcs[i % 3]),
               .off = *off};
    *off += 180 + r % 120;
    return h;
}

/* jansson's own decode of one record, as a consumer would write it: load, 11 gets. */
static int jansson_decode(const char *p, size_t n, hit_t *h) {
    json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
    if (!o) return -1;
    h->ts_ms = json_integer_value(json_object_get(o, "ts"));
    h->bytes = (uint64_t)json_integer_value(json_object_get(o, "bytes"));
    h->status = (int)json_integer_value(json_object_get(o, "status"));
    h->off = (uint64_t)json_integer_value(json_object_get(o, "off"));
    const char *keys[] = {"v", "customer", "host", "country", "region", "edge", "src"};
    int ok = 1;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        ok &= json_object_get(o, keys[i]) != NULL;
    json_decref(o);
    return ok ? 0 : -1;
}

/* CPU ns spent by json_pack + json_dumpb on hits[0..n); *bytes gets the text length. */
static double jansson_encode_all(const hit_t *hits, size_t n, size_t *bytes) {
    static char jbuf[HIT_ENCODED_MAX];
    double t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        const hit_t *h = &hits[i];
        json_t *o = json_pack("{s:i,s:I,s:s%,s:s%,s:I,s:i,s:s%,s:s%,s:s%,s:s%,s:I}", "v", 1, "ts",
                              (json_int_t)h->ts_ms, "customer", h->customer.p, h->customer.n,
                              "host", h->host.p, h->host.n, "bytes", (json_int_t)h->bytes, "status",
                              h->status, "country", h->country.p, h->country.n, "region",
                              h->region.p, h->region.n, "edge", h->edge.p, h->edge.n, "src",
                              h->src.p, h->src.n, "off", (json_int_t)h->off);
        *bytes += json_dumpb(o, jbuf, sizeof jbuf, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
    }
    return now_ns() - t0;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : BENCH_N_DEFAULT;
    if (n == 0) n = 1;
    hit_t *hits = malloc(n * sizeof *hits);
    size_t *at = malloc((n + 1) * sizeof *at),
           cap = n * 256 + HIT_ENCODED_MAX; /* records are < 256 bytes */
    char *text = malloc(cap), *scratch = malloc(HIT_ENCODED_MAX);
    if (!hits || !at || !text || !scratch) {
        fprintf(stderr, "bench_codec: out of memory for %zu records\n", n);
        return 1;
    }
    memset(text, 0, cap); /* fault the pages in now, not inside the timed loop */
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++)
        hits[i] = make_hit(i, &off);

    /* encode as the collector does: a hit just built (so in cache: cycle over the first
     * HOT_HITS) into the same buffer every time */
    static char one[HIT_ENCODED_MAX];
    size_t sum = 0, hot = n < HOT_HITS ? n : HOT_HITS;
    double t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        int len = hit_encode(&hits[i % hot], one, sizeof one);
        if (len < 0) return fprintf(stderr, "bench_codec: encode failed\n"), 1;
        sum += (size_t)len + (unsigned char)one[len / 2];
    }
    double t_enc = now_ns() - t0;
    /* encode all records one after the other into memory: the text the decoders read */
    t0 = now_ns();
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        at[i] = used;
        int len = hit_encode(&hits[i], text + used, cap - used);
        if (len < 0) return fprintf(stderr, "bench_codec: encode failed\n"), 1;
        used += (size_t)len;
    }
    at[n] = used;
    double t_stream = now_ns() - t0;

    t0 = now_ns();
    size_t bad = 0;
    char err[256];
    for (size_t i = 0; i < n; i++) {
        hit_t h;
        int rc = hit_decode(&h, text + at[i], at[i + 1] - at[i], scratch, HIT_ENCODED_MAX, err,
                            sizeof err);
        bad += rc != HIT_OK || h.off != hits[i].off || h.bytes != hits[i].bytes;
    }
    double t_dec = now_ns() - t0;
    size_t ns = n < JANSSON_SAMPLE ? n : JANSSON_SAMPLE;
    t0 = now_ns();
    for (size_t i = 0; i < ns; i++) {
        hit_t h;
        bad += jansson_decode(text + at[i], at[i + 1] - at[i], &h) != 0 || h.off != hits[i].off;
    }
    double t_jdec = now_ns() - t0;

    size_t jbytes = 0;
    double t_jenc = jansson_encode_all(hits, ns, &jbytes);

    printf("codec records=%zu avg_record_bytes=%.1f decode_failures=%zu\n", n,
           (double)used / (double)n, bad);
    printf("codec encode_ns_per_record=%.1f encode_stream_ns_per_record=%.1f check=%zu\n",
           t_enc / (double)n, t_stream / (double)n, sum % 10);
    printf("codec decode_ns_per_record=%.1f decode_records_per_s=%.0f\n", t_dec / (double)n,
           (double)n * 1e9 / t_dec);
    printf("codec jansson_decode_ns_per_record=%.1f sample=%zu\n", t_jdec / (double)ns, ns);
    printf("codec jansson_encode_ns=%.1f sample=%zu bytes=%zu\n", t_jenc / (double)ns, ns, jbytes);
    free(hits);
    free(at);
    free(text);
    free(scratch);
    return bad ? 1 : 0;
}
