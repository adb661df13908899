#include "loggen_model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct customer {
    const char *id;
    double weight;       /* share of the traffic */
    double video;        /* share of its requests that are video segments */
    const char *hosts[4]; /* map entries; a leading "*." stands for generated subdomains */
} customer_t;

static const customer_t customers[] = {
    {"acme", 0.40, 0.30, {"cdn.acme.example", "img.acme.example", "*.video.acme.example", NULL}},
    {"globex", 0.25, 0.05, {"static.globex.example", "*.globex.example", NULL, NULL}},
    {"umbrella", 0.18, 0.60, {"media.umbrella.example", "*.umbrella.example", NULL, NULL}},
    {"initech", 0.10, 0.00, {"assets.initech.example", NULL, NULL, NULL}},
    {"hooli", 0.07, 0.20, {"*.hooli.example", NULL, NULL, NULL}},
};
#define NCUST (sizeof customers / sizeof customers[0])

typedef struct net {
    int v6;
    uint8_t addr[16];
    int prefix;
    char country[3];
    char region[64];
    double cum; /* cumulative Zipf weight */
} net_t;

typedef struct tally {
    char key[97]; /* \0-separated fields (<= 96 bytes), compared as a whole, NUL-terminated */
    size_t keylen;
    uint64_t hits, bytes;
} tally_t;

typedef struct tallies {
    tally_t *v;
    size_t n, cap;
} tallies_t;

struct model {
    net_t *nets;
    size_t nnets;
    double bad_ratio;
    uint64_t rng;
    uint64_t lines, hits, bytes, rejected;
    tallies_t by_customer, by_geo, by_hour;
    time_t tcache_sec;
    char tcache[40];
};

static uint64_t rnd(model_t *m) { /* splitmix64: fast, good enough for traffic */
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double unif(model_t *m) {
    return (double)(rnd(m) >> 11) / 9007199254740992.0;
}

static int parse_net(char *line, net_t *n) {
    char *f[4] = {0};
    int k = 0;
    for (char *s = line; k < 4; k++) {
        f[k] = s;
        char *t = strchr(s, '\t');
        if (!t) {
            k++;
            break;
        }
        *t = 0;
        s = t + 1;
    }
    if (k < 2) return -1;
    char *slash = strchr(f[0], '/');
    if (!slash) return -1;
    *slash = 0;
    n->prefix = atoi(slash + 1);
    n->v6 = strchr(f[0], ':') != NULL;
    if (inet_pton(n->v6 ? AF_INET6 : AF_INET, f[0], n->addr) != 1) return -1;
    if (n->prefix < 0 || n->prefix > (n->v6 ? 128 : 32)) return -1;
    if (f[1][0] == 0) { /* an unmapped range: the geo database has no answer for it */
        memcpy(n->country, "ZZ", 3);
        n->region[0] = 0;
        return 0;
    }
    if (strlen(f[1]) != 2) return -1;
    memcpy(n->country, f[1], 3);
    const char *iso = k > 2 ? f[2] : "", *name = k > 3 ? f[3] : "";
    snprintf(n->region, sizeof n->region, "%s", *iso ? iso : name);
    return 0;
}

model_t *model_new(const char *networks, uint64_t seed, double bad_ratio) {
    FILE *f = fopen(networks, "r");
    if (!f) return NULL;
    model_t *m = calloc(1, sizeof *m);
    char line[512];
    size_t cap = 0;
    while (m && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        if (m->nnets == cap) {
            cap = cap ? 2 * cap : 64;
            net_t *g = realloc(m->nets, cap * sizeof *g);
            if (!g) break;
            m->nets = g;
        }
        net_t n = {0};
        if (parse_net(line, &n) == 0) m->nets[m->nnets++] = n;
    }
    fclose(f);
    if (!m || m->nnets == 0) {
        if (m) free(m->nets);
        free(m);
        errno = EINVAL;
        return NULL;
    }
    /* Zipf over the list order: the first networks get most of the traffic. */
    double cum = 0;
    for (size_t i = 0; i < m->nnets; i++) m->nets[i].cum = (cum += 1.0 / pow((double)i + 1, 1.1));
    for (size_t i = 0; i < m->nnets; i++) m->nets[i].cum /= cum;
    m->rng = seed;
    m->bad_ratio = bad_ratio;
    return m;
}

void model_free(model_t *m) {
    if (!m) return;
    free(m->nets);
    free(m->by_customer.v);
    free(m->by_geo.v);
    free(m->by_hour.v);
    free(m);
}

static void tally(tallies_t *t, const char *key, size_t keylen, uint64_t bytes) {
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].keylen == keylen && memcmp(t->v[i].key, key, keylen) == 0) {
            t->v[i].hits++;
            t->v[i].bytes += bytes;
            return;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        tally_t *g = realloc(t->v, cap * sizeof *g);
        if (!g) abort(); /* a truth with a hole would make every test lie */
        t->v = g;
        t->cap = cap;
    }
    tally_t *e = &t->v[t->n++];
    memcpy(e->key, key, keylen);
    e->key[keylen] = 0; /* field() reads the last field up to a NUL */
    e->keylen = keylen;
    e->hits = 1;
    e->bytes = bytes;
}

static const net_t *pick_net(model_t *m) {
    double u = unif(m);
    size_t lo = 0, hi = m->nnets - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->nets[mid].cum < u) lo = mid + 1;
        else hi = mid;
    }
    return &m->nets[lo];
}

static void draw_ip(model_t *m, const net_t *n, char *out, size_t cap) {
    uint8_t a[16];
    int bits = n->v6 ? 128 : 32;
    memcpy(a, n->addr, 16);
    for (int b = n->prefix; b < bits; b++) {
        int byte = b / 8, bit = 7 - b % 8;
        if (rnd(m) & 1) a[byte] |= (uint8_t)(1 << bit);
        else a[byte] &= (uint8_t)~(1 << bit);
    }
    inet_ntop(n->v6 ? AF_INET6 : AF_INET, a, out, (socklen_t)cap);
}

static const customer_t *pick_customer(model_t *m) {
    double u = unif(m), c = 0;
    for (size_t i = 0; i < NCUST; i++)
        if (u < (c += customers[i].weight)) return &customers[i];
    return &customers[NCUST - 1];
}

static void make_host(model_t *m, const customer_t *c, char *out, size_t cap) {
    int nh = 0;
    while (nh < 4 && c->hosts[nh]) nh++;
    const char *h = c->hosts[rnd(m) % (uint64_t)nh];
    if (strncmp(h, "*.", 2) == 0) {
        static const char *const subs[] = {"a", "b", "edge1", "v2", "eu.img"};
        snprintf(out, cap, "%s%s", subs[rnd(m) % 5], h + 1);
    } else {
        snprintf(out, cap, "%s", h);
    }
}

/* Sizes: small images and scripts log-uniform, video segments 0.5-6 MB, 304s carry nothing. */
static void make_object(model_t *m, const customer_t *c, int *status, uint64_t *bytes,
                        const char **path, const char **cache) {
    double u = unif(m);
    int video = unif(m) < c->video;
    *path = video ? "/v/seg-%u.ts" : u < 0.6 ? "/img/p%u.jpg" : "/static/app.%u.js";
    double lo = video ? 5e5 : 2e2, hi = video ? 6e6 : 2.5e5;
    *bytes = (uint64_t)exp(log(lo) + unif(m) * (log(hi) - log(lo)));
    double s = unif(m);
    *status = s < 0.86 ? 200 : s < 0.91 ? 206 : s < 0.96 ? 304 : s < 0.99 ? 404 : 500;
    if (*status == 304) *bytes = 0;
    if (*status == 404 || *status == 500) *bytes = 150 + rnd(m) % 400;
    double k = unif(m);
    *cache = k < 0.85 ? "HIT" : k < 0.97 ? "MISS" : "EXPIRED";
}

static const char *time_local(model_t *m, int64_t ts_ms) {
    time_t sec = (time_t)(ts_ms / 1000);
    if (sec != m->tcache_sec) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(m->tcache, sizeof m->tcache, "%d/%b/%Y:%H:%M:%S +0000", &tm);
        m->tcache_sec = sec;
    }
    return m->tcache;
}

size_t model_line(model_t *m, int64_t ts_ms, char *buf, size_t cap) {
    static const char *const agents[] = {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "VLC/3.0.18 LibVLC/3.0.18", "curl/8.4.0"};
    const customer_t *c = pick_customer(m);
    const net_t *n = pick_net(m);
    char ip[64], host[128], path[64];
    int status;
    uint64_t bytes;
    const char *pathfmt, *cache;
    draw_ip(m, n, ip, sizeof ip);
    int badline = m->bad_ratio > 0 && unif(m) < m->bad_ratio;
    if (badline) snprintf(host, sizeof host, "unknown-%u.example", (unsigned)(rnd(m) % 100));
    else make_host(m, c, host, sizeof host);
    make_object(m, c, &status, &bytes, &pathfmt, &cache);
    snprintf(path, sizeof path, pathfmt, (unsigned)(rnd(m) % 5000));
    int len = snprintf(buf, cap, "%s - - [%s] \"GET %s HTTP/1.1\" %d %" PRIu64
                       " \"-\" \"%s\" %s %s\n",
                       ip, time_local(m, ts_ms), path, status, bytes, agents[rnd(m) % 4], host,
                       cache);
    m->lines++;
    if (badline) {
        m->rejected++;
    } else {
        char key[96];
        int64_t hour = ts_ms / 1000 / 3600 * 3600;
        m->hits++;
        m->bytes += bytes;
        tally(&m->by_customer, c->id, strlen(c->id), bytes);
        int k = snprintf(key, sizeof key, "%s%c%s%c%s", c->id, 0, n->country, 0, n->region);
        tally(&m->by_geo, key, (size_t)k, bytes);
        k = snprintf(key, sizeof key, "%s%c%" PRId64 "%c%s", c->id, 0, hour, 0, n->country);
        tally(&m->by_hour, key, (size_t)k, bytes);
    }
    return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}

/* The i-th NUL-separated field of a tally key. */
static const char *field(const tally_t *t, int i) {
    const char *p = t->key;
    while (i-- > 0) p += strlen(p) + 1;
    return p;
}

int model_write_truth(const model_t *m, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "{\"lines\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"bytes\": %" PRIu64
               ", \"rejected\": %" PRIu64 ",\n \"customers\": [",
            m->lines, m->hits, m->bytes, m->rejected);
    for (size_t i = 0; i < m->by_customer.n; i++) {
        const tally_t *t = &m->by_customer.v[i];
        fprintf(f, "%s\n  {\"customer\": \"%s\", \"hits\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
                i ? "," : "", field(t, 0), t->hits, t->bytes);
    }
    fprintf(f, "],\n \"geo\": [");
    for (size_t i = 0; i < m->by_geo.n; i++) {
        const tally_t *t = &m->by_geo.v[i];
        fprintf(f, "%s\n  {\"customer\": \"%s\", \"country\": \"%s\", \"region\": \"%s\", "
                   "\"hits\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
                i ? "," : "", field(t, 0), field(t, 1), field(t, 2), t->hits, t->bytes);
    }
    fprintf(f, "],\n \"hourly\": [");
    for (size_t i = 0; i < m->by_hour.n; i++) {
        const tally_t *t = &m->by_hour.v[i];
        time_t h = (time_t)strtoll(field(t, 1), NULL, 10);
        struct tm tm;
        char hs[32];
        gmtime_r(&h, &tm);
        strftime(hs, sizeof hs, "%Y-%m-%dT%H:00:00Z", &tm);
        fprintf(f, "%s\n  {\"customer\": \"%s\", \"hour\": \"%s\", \"country\": \"%s\", "
                   "\"hits\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
                i ? "," : "", field(t, 0), hs, field(t, 2), t->hits, t->bytes);
    }
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : -1;
}

void model_print_hosts(FILE *f) {
    fprintf(f, "# loggen's demo customers: HOST CUSTOMER_ID\n");
    for (size_t i = 0; i < NCUST; i++)
        for (int h = 0; h < 4 && customers[i].hosts[h]; h++)
            fprintf(f, "%s %s\n", customers[i].hosts[h], customers[i].id);
}
