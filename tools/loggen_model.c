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
    double weight;        /* share of the traffic */
    double video;         /* share of its requests that are video segments */
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
    /* Where each (customer, network) lands in by_geo and, for the hour in hour_of, in by_hour
     * (index + 1, 0: not yet): a line finds its tallies without building and searching keys,
     * which cost loggen more than writing the line. */
    uint32_t *geo_at, *hour_at;
    int64_t *hour_of;
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
    for (size_t i = 0; i < m->nnets; i++)
        m->nets[i].cum = (cum += 1.0 / pow((double)i + 1, 1.1));
    for (size_t i = 0; i < m->nnets; i++)
        m->nets[i].cum /= cum;
    m->rng = seed;
    m->bad_ratio = bad_ratio;
    size_t nslots = NCUST * m->nnets;
    m->geo_at = calloc(nslots, sizeof *m->geo_at);
    m->hour_at = calloc(nslots, sizeof *m->hour_at);
    m->hour_of = calloc(nslots, sizeof *m->hour_of);
    if (!m->geo_at || !m->hour_at || !m->hour_of) {
        model_free(m);
        errno = ENOMEM;
        return NULL;
    }
    return m;
}

void model_free(model_t *m) {
    if (!m) return;
    free(m->nets);
    free(m->geo_at);
    free(m->hour_at);
    free(m->hour_of);
    free(m->by_customer.v);
    free(m->by_geo.v);
    free(m->by_hour.v);
    free(m);
}

/* Adds one hit to the tally of key (made if new); returns its index. */
static size_t tally(tallies_t *t, const char *key, size_t keylen, uint64_t bytes) {
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].keylen == keylen && memcmp(t->v[i].key, key, keylen) == 0) {
            t->v[i].hits++;
            t->v[i].bytes += bytes;
            return i;
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
    return t->n - 1;
}

/* One hit to the tally at *at (index + 1), found by key when *at is 0. */
static void tally_at(tallies_t *t, uint32_t *at, const char *key, size_t keylen, uint64_t bytes) {
    if (*at) {
        t->v[*at - 1].hits++;
        t->v[*at - 1].bytes += bytes;
        return;
    }
    *at = (uint32_t)tally(t, key, keylen, bytes) + 1;
}

static const net_t *pick_net(model_t *m) {
    double u = unif(m);
    size_t lo = 0, hi = m->nnets - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->nets[mid].cum < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return &m->nets[lo];
}

static void draw_ip(model_t *m, const net_t *n, char *out, size_t cap) {
    uint8_t a[16];
    int bits = n->v6 ? 128 : 32;
    memcpy(a, n->addr, 16);
    for (int b = n->prefix; b < bits; b++) {
        int byte = b / 8, bit = 7 - b % 8;
        if (rnd(m) & 1)
            a[byte] |= (uint8_t)(1 << bit);
        else
            a[byte] &= (uint8_t) ~(1 << bit);
    }
    if (n->v6 || cap < 16) {
        inet_ntop(n->v6 ? AF_INET6 : AF_INET, a, out, (socklen_t)cap);
        return;
    }
    for (int i = 0; i < 4; i++) { /* as inet_ntop writes it (which costs a sprintf) */
        unsigned v = a[i];
        if (v >= 100) *out++ = (char)('0' + v / 100);
        if (v >= 10) *out++ = (char)('0' + v / 10 % 10);
        *out++ = (char)('0' + v % 10);
        *out++ = i < 3 ? '.' : 0;
    }
}

static const customer_t *pick_customer(model_t *m) {
    double u = unif(m), c = 0;
    for (size_t i = 0; i < NCUST; i++)
        if (u < (c += customers[i].weight)) return &customers[i];
    return &customers[NCUST - 1];
}

static void make_host(model_t *m, const customer_t *c, char *out, size_t cap) {
    int nh = 0;
    while (nh < 4 && c->hosts[nh])
        nh++;
    const char *h = c->hosts[rnd(m) % (uint64_t)nh];
    if (strncmp(h, "*.", 2) == 0) {
        static const char *const subs[] = {"a", "b", "edge1", "v2", "eu.img"};
        const char *sub = subs[rnd(m) % 5];
        size_t a = strlen(sub), b = strlen(h + 1);
        if (a + b >= cap) a = b = 0; /* cannot happen: cap is 128, the names are short */
        memcpy(out, sub, a);
        memcpy(out + a, h + 1, b + 1);
    } else {
        snprintf(out, cap, "%s", h);
    }
}

/* Sizes: small images and scripts log-uniform, video segments 0.5-6 MB, 304s carry nothing. */
static void make_object(model_t *m, const customer_t *c, int *status, uint64_t *bytes, int *kind,
                        const char **cache) {
    double u = unif(m);
    int video = unif(m) < c->video;
    *kind = video ? 0 : u < 0.6 ? 1 : 2; /* paths[] of model_line */
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

/* The line is written by appending (no printf: formatting was most of loggen's CPU, which the
 * pipeline benchmark shares with the stages it measures). */
static char *put(char *o, const char *s, size_t n) {
    memcpy(o, s, n);
    return o + n;
}
#define PUT_LIT(o, lit) put(o, lit, sizeof lit - 1)

static char *put_str(char *o, const char *s) {
    return put(o, s, strlen(s));
}

static char *put_u64(char *o, uint64_t v) {
    char t[20];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    while (n)
        *o++ = t[--n];
    return o;
}

/* Both tallies of a hit of customer c from network n: by (customer, country, region) and by
 * (customer, UTC hour, country). */
static void tally_hit(model_t *m, const customer_t *c, const net_t *n, int64_t ts_ms,
                      uint64_t bytes) {
    size_t slot = (size_t)(c - customers) * m->nnets + (size_t)(n - m->nets);
    char key[96];
    int64_t hour = ts_ms / 1000 / 3600 * 3600;
    m->hits++;
    m->bytes += bytes;
    tally(&m->by_customer, c->id, strlen(c->id), bytes);
    int k = 0;
    if (!m->geo_at[slot])
        k = snprintf(key, sizeof key, "%s%c%s%c%s", c->id, 0, n->country, 0, n->region);
    tally_at(&m->by_geo, &m->geo_at[slot], key, (size_t)k, bytes);
    if (m->hour_of[slot] != hour) { /* a new hour: its key is looked up (or made) once */
        m->hour_of[slot] = hour;
        m->hour_at[slot] = 0;
        k = snprintf(key, sizeof key, "%s%c%" PRId64 "%c%s", c->id, 0, hour, 0, n->country);
    }
    tally_at(&m->by_hour, &m->hour_at[slot], key, (size_t)k, bytes);
}

size_t model_line(model_t *m, int64_t ts_ms, char *buf, size_t cap) {
    static const char *const agents[] = {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
        "Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "VLC/3.0.18 LibVLC/3.0.18", "curl/8.4.0"};
    static const char *const paths[][2] = {
        {"/v/seg-", ".ts"}, {"/img/p", ".jpg"}, {"/static/app.", ".js"}};
    const customer_t *c = pick_customer(m);
    const net_t *n = pick_net(m);
    char ip[64], host[128], line[1024];
    int status, kind;
    uint64_t bytes;
    const char *cache;
    draw_ip(m, n, ip, sizeof ip);
    int badline = m->bad_ratio > 0 && unif(m) < m->bad_ratio;
    if (badline)
        snprintf(host, sizeof host, "unknown-%u.example", (unsigned)(rnd(m) % 100));
    else
        make_host(m, c, host, sizeof host);
    make_object(m, c, &status, &bytes, &kind, &cache);
    unsigned obj = (unsigned)(rnd(m) % 5000);
    /* at most 64 + 26 + 40 + 20 + 20 + 100 + 128 + 7 + 30 bytes of fields and literals */
    char *o = put_str(line, ip);
    o = PUT_LIT(o, " - - [");
    o = put_str(o, time_local(m, ts_ms));
    o = PUT_LIT(o, "] \"GET ");
    o = put_str(o, paths[kind][0]);
    o = put_u64(o, obj);
    o = put_str(o, paths[kind][1]);
    o = PUT_LIT(o, " HTTP/1.1\" ");
    o = put_u64(o, (uint64_t)status);
    *o++ = ' ';
    o = put_u64(o, bytes);
    o = PUT_LIT(o, " \"-\" \"");
    o = put_str(o, agents[rnd(m) % 4]);
    o = PUT_LIT(o, "\" ");
    o = put_str(o, host);
    *o++ = ' ';
    o = put_str(o, cache);
    *o++ = '\n';
    size_t len = (size_t)(o - line);
    m->lines++;
    if (badline)
        m->rejected++;
    else
        tally_hit(m, c, n, ts_ms, bytes);
    if (len >= cap) len = cap ? cap - 1 : 0;
    memcpy(buf, line, len);
    if (cap) buf[len] = 0;
    return len;
}

/* The i-th NUL-separated field of a tally key. */
static const char *field(const tally_t *t, int i) {
    const char *p = t->key;
    while (i-- > 0)
        p += strlen(p) + 1;
    return p;
}

int model_write_truth(const model_t *m, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f,
            "{\"lines\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"bytes\": %" PRIu64
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
        fprintf(f,
                "%s\n  {\"customer\": \"%s\", \"country\": \"%s\", \"region\": \"%s\", "
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
        fprintf(f,
                "%s\n  {\"customer\": \"%s\", \"hour\": \"%s\", \"country\": \"%s\", "
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
