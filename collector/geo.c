/* geo.c: see geo.h. Open (schema defaults, path compilation, probing) then the lookup path. */
#include "geo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How deep the probe may walk the search tree: 128 bits of address, plus aliases. */
#define GEO_PROBE_DEPTH 160
/* Search-tree nodes the probe may visit before giving up: the first records of any real tree
 * are a few hundred nodes down. */
#define GEO_PROBE_NODES 100000

/* One compiled dotted path: parts point into buf; n == 0 means "do not read". */
typedef struct geo_path {
    char text[GEO_PATH_MAX + 1];           /* as given, for messages and geo_keys_in_use */
    char buf[GEO_PATH_MAX + 1];            /* the same, split at each '.' */
    const char *parts[GEO_PATH_PARTS + 1]; /* NULL-terminated, as MMDB_aget_value wants */
    int n;
} geo_path_t;

typedef struct geo_slot {
    uint8_t addr[16]; /* the address, IPv4 in the first 4 bytes */
    uint8_t family;   /* 0: empty slot, 4 or 6 */
    uint8_t found;    /* 1: country holds a code; 0: ZZ */
    char country[2];
    uint8_t rlen;                      /* region length, <= GEO_CACHE_REGION_MAX */
    char region[GEO_CACHE_REGION_MAX]; /* not NUL-terminated */
    uint8_t nlen;                      /* region name length, <= GEO_CACHE_NAME_MAX */
    char name[GEO_CACHE_NAME_MAX];     /* not NUL-terminated; empty unless region is a code */
} geo_slot_t;

/* What one data record gave: the region points into the database (mapped while it is open). */
typedef struct geo_rec {
    uint64_t off1; /* the record's offset + 1; 0: empty */
    uint8_t found;
    char country[2];
    uint32_t rlen, nlen;
    const char *region;
    const char *name; /* the name beside a region code; nlen 0: none */
} geo_rec_t;

/* Where the search took an IPv4 /24: all its addresses reach the same leaf of the search tree
 * when the network found (netmask) is a /24 or wider, so the answer is the /24's. */
typedef struct geo_net {
    uint32_t net1;  /* the /24's first three bytes, big-endian, + 1; 0: empty */
    uint32_t found; /* the search found a data record */
    uint64_t off;   /* its offset (MMDB_entry_s.offset) */
} geo_net_t;
struct geo {
    MMDB_s mmdb;
    geo_path_t country, region, region_name;
    geo_stats_t st;
    geo_slot_t cache[GEO_CACHE_SLOTS];
    geo_rec_t recs[GEO_RECORD_SLOTS];
    geo_net_t nets[GEO_NET_SLOTS];
};

/* ---- open ------------------------------------------------------------------------------------ */

static int path_compile(geo_path_t *p, const char *what, const char *s, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    size_t len = strlen(s);
    if (len == 0) return 0;
    if (len > GEO_PATH_MAX) {
        snprintf(err, errlen, "geo %s key '%.40s...': longer than %d bytes", what, s, GEO_PATH_MAX);
        return -1;
    }
    memcpy(p->text, s, len + 1);
    memcpy(p->buf, s, len + 1);
    for (char *c = p->buf;; c++) {
        char *dot = strchr(c, '.');
        if (dot) *dot = 0;
        if (*c == 0 || p->n == GEO_PATH_PARTS) {
            snprintf(err, errlen,
                     "geo %s key '%s': %s (a path is map keys or array indexes joined by '.', "
                     "e.g. country.iso_code)",
                     what, s, *c == 0 ? "empty component" : "too many components");
            return -1;
        }
        p->parts[p->n++] = c;
        if (!dot) break;
        c = dot;
    }
    p->parts[p->n] = NULL;
    return 0;
}

/* The string at path p in entry e: 1 with *s, *n set; 0 if absent, empty or not a string. */
static int path_string(MMDB_entry_s *e, const geo_path_t *p, const char **s, uint32_t *n) {
    if (p->n == 0) return 0;
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, p->parts) != MMDB_SUCCESS) return 0;
    if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0) return 0;
    *s = d.utf8_string;
    *n = d.data_size;
    return 1;
}

typedef struct probe {
    const geo_path_t *paths[2]; /* paths to try on each record */
    int hits[2];                /* records on which each gave a country code */
    int records;                /* data records examined */
    int nodes;                  /* search nodes visited */
} probe_t;

static int is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}

static int is_country_code(const char *s, uint32_t n) {
    return n == 2 && is_upper(s[0]) && is_upper(s[1]);
}

static void probe_record(probe_t *pr, MMDB_entry_s e) {
    for (int i = 0; i < 2; i++) {
        const char *s;
        uint32_t n;
        if (pr->paths[i] && path_string(&e, pr->paths[i], &s, &n) && is_country_code(s, n))
            pr->hits[i]++;
    }
    pr->records++;
}

/* Walks the search tree depth first, from the low addresses up (IPv4 first in an IPv6 tree),
 * feeding up to GEO_PROBE_RECORDS data records to probe_record. */
static void probe_walk(const MMDB_s *db, uint32_t node, int depth, probe_t *pr) {
    MMDB_search_node_s sn;
    if (depth > GEO_PROBE_DEPTH || pr->records >= GEO_PROBE_RECORDS ||
        ++pr->nodes > GEO_PROBE_NODES || MMDB_read_node(db, node, &sn) != MMDB_SUCCESS)
        return;
    uint64_t rec[2] = {sn.left_record, sn.right_record};
    uint8_t type[2] = {sn.left_record_type, sn.right_record_type};
    MMDB_entry_s entry[2] = {sn.left_record_entry, sn.right_record_entry};
    for (int i = 0; i < 2 && pr->records < GEO_PROBE_RECORDS; i++) {
        if (type[i] == MMDB_RECORD_TYPE_SEARCH_NODE)
            probe_walk(db, (uint32_t)rec[i], depth + 1, pr);
        else if (type[i] == MMDB_RECORD_TYPE_DATA)
            probe_record(pr, entry[i]);
    }
}

enum geo_schema { SCHEMA_CITY, SCHEMA_COUNTRY, SCHEMA_FLAT, SCHEMA_UNKNOWN };

static enum geo_schema schema_of_type(const char *t) {
    if (!t || !(strstr(t, "GeoIP2") || strstr(t, "GeoLite2") || strstr(t, "DBIP")))
        return SCHEMA_UNKNOWN;
    if (strstr(t, "City") || strstr(t, "Enterprise")) return SCHEMA_CITY;
    if (strstr(t, "Country")) return SCHEMA_COUNTRY;
    return SCHEMA_UNKNOWN; /* ASN, ISP, Anonymous-IP...: no location, unless its records say so */
}

/* Settles the schema of a database whose type does not tell, from its first records. */
static enum geo_schema schema_probe(const MMDB_s *db) {
    geo_path_t mm, flat;
    char e[8];
    path_compile(&mm, "", "country.iso_code", e, sizeof e);
    path_compile(&flat, "", "country_code", e, sizeof e);
    probe_t pr = {.paths = {&mm, &flat}};
    probe_walk(db, 0, 0, &pr);
    if (pr.hits[0] >= pr.hits[1] && pr.hits[0] > 0) return SCHEMA_CITY;
    if (pr.hits[1] > 0) return SCHEMA_FLAT;
    return SCHEMA_UNKNOWN;
}

/* Fills in the paths, taking the schema's default for each NULL key. */
static int keys_compile(geo_t *g, const geo_keys_t *k, const char *path, char *err, size_t errlen) {
    static const char *const defaults[3][3] = {
        [SCHEMA_CITY] = {"country.iso_code", "subdivisions.0.iso_code", "subdivisions.0.names.en"},
        [SCHEMA_COUNTRY] = {"country.iso_code", "", ""},
        [SCHEMA_FLAT] = {"country_code", "state1", ""},
    };
    geo_keys_t none = {NULL, NULL, NULL};
    if (!k) k = &none;
    const char *want[3] = {k->country, k->region, k->region_name};
    enum geo_schema s = SCHEMA_UNKNOWN;
    if (!want[0] || !want[1] || !want[2]) {
        s = schema_of_type(g->mmdb.metadata.database_type);
        if (s == SCHEMA_UNKNOWN) s = schema_probe(&g->mmdb);
        if (s == SCHEMA_UNKNOWN) {
            snprintf(err, errlen,
                     "%s: database type '%s' has no known location schema (no country.iso_code "
                     "or country_code in its first records): name the paths with "
                     "--geo-country-key and --geo-region-key",
                     path, g->mmdb.metadata.database_type ? g->mmdb.metadata.database_type : "");
            return -1;
        }
    }
    static const char *const what[3] = {"country", "region", "region name"};
    geo_path_t *dst[3] = {&g->country, &g->region, &g->region_name};
    for (int i = 0; i < 3; i++)
        if (path_compile(dst[i], what[i], want[i] ? want[i] : defaults[s][i], err, errlen) < 0)
            return -1;
    if (g->country.n == 0) {
        snprintf(err, errlen, "%s: the geo country key must not be empty", path);
        return -1;
    }
    return 0;
}

/* A country path that no record has is a typo that would turn every hit into ZZ: refuse it. */
static int country_path_check(const geo_t *g, const char *path, char *err, size_t errlen) {
    probe_t pr = {.paths = {&g->country, NULL}};
    probe_walk(&g->mmdb, 0, 0, &pr);
    if (pr.records == 0 || pr.hits[0] > 0) return 0;
    snprintf(err, errlen,
             "%s: geo country key '%s' gives a country code in none of the first %d records", path,
             g->country.text, pr.records);
    return -1;
}

geo_t *geo_open(const char *path, const geo_keys_t *keys, char *err, size_t errlen) {
    geo_t *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    errno = 0;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (rc != MMDB_SUCCESS) {
        int sys = (rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) && errno;
        snprintf(err, errlen, "%s: cannot open geo database: %s%s%s", path, MMDB_strerror(rc),
                 sys ? ": " : "", sys ? strerror(errno) : "");
        free(g);
        return NULL;
    }
    if (keys_compile(g, keys, path, err, errlen) < 0 ||
        country_path_check(g, path, err, errlen) < 0) {
        geo_close(g);
        return NULL;
    }
    return g;
}

void geo_close(geo_t *g) {
    if (!g) return;
    MMDB_close(&g->mmdb);
    free(g);
}

const char *geo_database_type(const geo_t *g) {
    return g->mmdb.metadata.database_type ? g->mmdb.metadata.database_type : "";
}

geo_keys_t geo_keys_in_use(const geo_t *g) {
    geo_keys_t k = {g->country.text, g->region.text, g->region_name.text};
    return k;
}

void geo_stats(const geo_t *g, geo_stats_t *st) {
    *st = g->st;
}

/* ---- lookup ---------------------------------------------------------------------------------- */

/* Dotted-quad IPv4 text into a[0..4): 1, or 0 if it is not one. Exactly what glibc's
 * inet_pton(AF_INET) accepts (four decimal parts of 0..255, no leading zeros, nothing else), in
 * one pass without the NUL-terminated copy inet_pton needs: every line has an address, and
 * inet_pton was a sixth of a lookup. The unit test holds it against inet_pton. */
static int parse_ipv4(const char *s, size_t n, uint8_t a[4]) {
    uint8_t t[4] = {0, 0, 0, 0};
    unsigned parts = 0, cur = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        if (c >= '0' && c <= '9') {
            if (digits && cur == 0) return 0; /* a leading zero */
            cur = cur * 10 + (c - '0');
            if (cur > 255) return 0;
            if (!digits++ && ++parts > 4) return 0;
        } else if (c == '.' && digits) {
            if (parts == 4) return 0;
            t[parts - 1] = (uint8_t)cur;
            cur = digits = 0;
        } else {
            return 0;
        }
    }
    if (parts < 4 || !digits) return 0;
    t[3] = (uint8_t)cur;
    memcpy(a, t, 4);
    return 1;
}

static int hex_value(unsigned c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

/* IPv6 text into a[0..16): 1, or 0. The same rules, step by step, as glibc's inet_pton6: groups
 * of 1..4 hex digits, one "::" at most (standing for one group or more), an IPv4 dotted quad as
 * the last 4 bytes, nothing else. */
static int parse_ipv6(const char *s, size_t n, uint8_t a[16]) {
    uint8_t t[16] = {0};
    size_t tp = 0, colonp = SIZE_MAX, i = 0, curtok, xdigits = 0;
    unsigned val = 0;
    if (n == 0) return 0;
    if (s[0] == ':' && (++i == n || s[i] != ':')) return 0; /* a leading ':' only as "::" */
    curtok = i;
    while (i < n) {
        unsigned c = (unsigned char)s[i++];
        int d = hex_value(c);
        if (d >= 0) {
            if (xdigits == 4) return 0;
            val = val << 4 | (unsigned)d;
            xdigits++;
            continue;
        }
        if (c == ':') {
            curtok = i;
            if (xdigits == 0) {
                if (colonp != SIZE_MAX) return 0;
                colonp = tp;
                continue;
            }
            if (i == n || tp + 2 > 16) return 0;
            t[tp++] = (uint8_t)(val >> 8);
            t[tp++] = (uint8_t)val;
            xdigits = val = 0;
            continue;
        }
        if (c == '.' && tp + 4 <= 16 && parse_ipv4(s + curtok, n - curtok, t + tp)) {
            tp += 4;
            xdigits = 0;
            break;
        }
        return 0;
    }
    if (xdigits > 0) {
        if (tp + 2 > 16) return 0;
        t[tp++] = (uint8_t)(val >> 8);
        t[tp++] = (uint8_t)val;
    }
    if (colonp != SIZE_MAX) {
        if (tp == 16) return 0; /* "::" would stand for no group */
        size_t k = tp - colonp;
        memmove(t + 16 - k, t + colonp, k);
        memset(t + colonp, 0, 16 - k - colonp);
        tp = 16;
    }
    if (tp != 16) return 0;
    memcpy(a, t, 16);
    return 1;
}

int geo_parse_ip(const char *ip, size_t n, uint8_t addr[16]) {
    if (n == 0 || n > GEO_IP_TEXT_MAX || memchr(ip, 0, n)) return 0;
    memset(addr, 0, 16);
    if (!memchr(ip, ':', n)) return parse_ipv4(ip, n, addr) ? 4 : 0;
    return parse_ipv6(ip, n, addr) ? 6 : 0;
}

static size_t slot_of(const uint8_t addr[16], int family) {
    uint64_t a, b;
    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)family) * 0xff51afd7ed558ccdULL;
    return (size_t)(h >> 32) & (GEO_CACHE_SLOTS - 1);
}

/* Copies src[0..n) into dst, NUL-terminated, cut at a UTF-8 character boundary to fit cap. */
static void copy_region(char *dst, size_t cap, const char *src, size_t n) {
    if (cap == 0) return;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* src[n] begins a char */
    }
    memcpy(dst, src, n);
    dst[n] = 0;
}

static int is_alnum(char c) {
    return is_upper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* "US-CA" -> "CA": a whole ISO 3166-2 code loses its country part; anything else is kept. */
static void strip_country_prefix(const char **s, uint32_t *n) {
    const char *p = *s;
    if (*n < 4 || *n > 6 || !is_upper(p[0]) || !is_upper(p[1]) || p[2] != '-') return;
    for (uint32_t i = 3; i < *n; i++)
        if (!is_alnum(p[i])) return;
    *s += 3;
    *n -= 3;
}

/* The values of one data record into rec (found, country, region). */
static void read_record(geo_t *g, MMDB_entry_s *e, geo_rec_t *rec) {
    const char *c;
    uint32_t cn;
    if (!path_string(e, &g->country, &c, &cn) || !is_country_code(c, cn)) return;
    rec->found = 1;
    memcpy(rec->country, c, 2);
    if (path_string(e, &g->region, &rec->region, &rec->rlen)) {
        strip_country_prefix(&rec->region, &rec->rlen);
        /* the name beside the code, for the dashboard; a region that is already the name
         * (no code in the database) gets none */
        if (!path_string(e, &g->region_name, &rec->name, &rec->nlen)) rec->nlen = 0;
    } else if (!path_string(e, &g->region_name, &rec->region, &rec->rlen)) {
        rec->rlen = 0;
    }
}

/* The search tree's answer for addr: 1 with *off the data record's offset, 0 if none. An IPv4
 * address first tries its /24's slot (GEO_NET_SLOTS). */
static int search(geo_t *g, const uint8_t addr[16], int family, uint64_t *off) {
    geo_net_t *ns = NULL;
    uint32_t net = 0;
    if (family == 4) {
        net = (uint32_t)addr[0] << 16 | (uint32_t)addr[1] << 8 | addr[2];
        ns = &g->nets[(size_t)((net * 0x9e3779b1u) >> 12) & (GEO_NET_SLOTS - 1)];
        if (ns->net1 == net + 1) {
            g->st.net_hits++;
            *off = ns->off;
            return (int)ns->found;
        }
    }
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u;
    memset(&u, 0, sizeof u);
    if (family == 4) {
        u.in4.sin_family = AF_INET;
        memcpy(&u.in4.sin_addr, addr, 4);
    } else {
        u.in6.sin6_family = AF_INET6;
        memcpy(&u.in6.sin6_addr, addr, 16);
    }
    int mmerr = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&g->mmdb, &u.sa, &mmerr);
    /* An IPv6 address in an IPv4-only database is an error here, and simply "not found". */
    if (mmerr != MMDB_SUCCESS) return 0;
    *off = r.found_entry ? r.entry.offset : 0;
    /* netmask counts from the root: an IPv4 address in an IPv6 tree starts 96 bits down */
    int v4bits = (int)r.netmask - (g->mmdb.metadata.ip_version == 6 ? 96 : 0);
    if (ns && v4bits >= 0 && v4bits <= 24)
        *ns = (geo_net_t){.net1 = net + 1, .found = r.found_entry ? 1 : 0, .off = *off};
    return r.found_entry ? 1 : 0;
}

/* Reads the record for addr: out->found and out->country, and the region as a pointer into the
 * database (valid while it is open), so that a region too long to cache is still answered. */
static void resolve(geo_t *g, const uint8_t addr[16], int family, geo_slot_t *out,
                    const char **region, uint32_t *rlen, const char **name, uint32_t *nlen) {
    out->found = 0;
    *rlen = *nlen = 0;
    uint64_t off;
    if (!search(g, addr, family, &off)) return;
    /* Many addresses share a record (a network, a city): its values are read once. */
    geo_rec_t *rec =
        &g->recs[(size_t)((off * 0x9e3779b97f4a7c15ULL) >> 40) & (GEO_RECORD_SLOTS - 1)];
    if (rec->off1 != off + 1) {
        *rec = (geo_rec_t){.off1 = off + 1};
        MMDB_entry_s e = {.mmdb = &g->mmdb, .offset = (uint32_t)off};
        read_record(g, &e, rec);
    }
    out->found = rec->found;
    memcpy(out->country, rec->country, 2);
    *region = rec->region;
    *rlen = rec->rlen;
    *name = rec->name;
    *nlen = rec->nlen;
}

int geo_lookup(geo_t *g, const char *ip, size_t n, char country[3], char *region,
               size_t regioncap) {
    return geo_lookup_named(g, ip, n, country, region, regioncap, NULL, 0);
}

int geo_lookup_named(geo_t *g, const char *ip, size_t n, char country[3], char *region,
                     size_t regioncap, char *name, size_t namecap) {
    memcpy(country, "ZZ", 3);
    if (regioncap) region[0] = 0;
    if (namecap) name[0] = 0;
    g->st.lookups++;
    uint8_t addr[16];
    int family = geo_parse_ip(ip, n, addr);
    if (family == 0) {
        g->st.bad_ip++;
        return -1;
    }
    geo_slot_t *s = &g->cache[slot_of(addr, family)];
    if (s->family == family && memcmp(s->addr, addr, 16) == 0) {
        g->st.cache_hits++;
    } else {
        const char *r = NULL, *nm = NULL;
        uint32_t rlen = 0, nlen = 0;
        geo_slot_t fresh = {.family = 0};
        resolve(g, addr, family, &fresh, &r, &rlen, &nm, &nlen);
        if (rlen > GEO_CACHE_REGION_MAX || nlen > GEO_CACHE_NAME_MAX) {
            /* Too long to cache: answer from the database's own bytes; the slot keeps its entry. */
            memcpy(country, fresh.country, 2);
            copy_region(region, regioncap, r, rlen);
            copy_region(name, namecap, nm, nlen);
            return 0;
        }
        memcpy(fresh.addr, addr, 16);
        fresh.family = (uint8_t)family;
        fresh.rlen = (uint8_t)rlen;
        if (rlen) memcpy(fresh.region, r, rlen);
        fresh.nlen = (uint8_t)nlen;
        if (nlen) memcpy(fresh.name, nm, nlen);
        *s = fresh;
    }
    if (!s->found) {
        g->st.not_found++;
        return 1;
    }
    memcpy(country, s->country, 2);
    copy_region(region, regioncap, s->region, s->rlen);
    copy_region(name, namecap, s->name, s->nlen);
    return 0;
}
