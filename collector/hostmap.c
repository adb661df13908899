/* hostmap.c: see hostmap.h. Parsing (one pass over the text into an arena and a table sized up
 * on demand), then the lookup path.
 *
 * Keys are hashed from their LAST byte to their first. That lets one right-to-left pass over a
 * looked-up host yield the hash of the whole host and, at each '.', the hash of the suffix after
 * it: the wildcard candidates, without hashing any byte twice. */
#include "hostmap.h"

#include "cfgfile.h"
#include "custid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define WILD_SEED 0x9e3779b97f4a7c15ULL /* separates "*.a.com" from "a.com" in the table */
#define HOSTMAP_LABEL_MAX 63            /* longest DNS label */
#define HOSTMAP_SLOTS_MIN 16

typedef struct hm_entry {
    uint64_t hash;   /* finished hash; 0 marks an empty slot (finish never yields 0) */
    uint32_t key;    /* offset in the arena: the host, or a wildcard's suffix after "*." */
    uint32_t cust;   /* offset in the arena of the customer id */
    uint32_t line;   /* line that defined it, for the duplicate message */
    uint16_t keylen; /* <= HOSTMAP_HOST_MAX */
    uint8_t custlen; /* <= HOSTMAP_CUSTOMER_MAX */
    uint8_t wild;    /* 1: matches subdomains of key, not key itself */
} hm_entry_t;

/* A recent answer, by the host's bytes as logged (HM_MEMO_HOST_MAX at most): a log has few
 * distinct hosts, and the answer was most of a line's host work (the port cut, the hash, the
 * probes). Direct-mapped; a slot holds the bytes it answers for, so a collision only misses. */
#define HM_MEMO_SLOTS 256
#define HM_MEMO_HOST_MAX 64
typedef struct hm_memo {
    uint8_t n;       /* length of raw; 0: empty */
    uint8_t normlen; /* host_part(raw, n) */
    uint8_t found;   /* a map entry matched */
    uint8_t custlen; /* its customer id's length */
    uint32_t cust;   /* its offset in the arena */
    char raw[HM_MEMO_HOST_MAX];
} hm_memo_t;

struct hostmap {
    hm_memo_t *memo;   /* HM_MEMO_SLOTS; written by lookups (one thread looks up) */
    hm_entry_t *slots; /* open addressing, linear probing, at most half full */
    size_t mask;       /* slots - 1, slots a power of two */
    size_t count;      /* entries */
    size_t nwild;      /* of which wildcards: 0 skips the suffix probes */
    char *arena;       /* keys and customer ids, back to back, never moved after parsing */
    size_t arena_len;
};

/* ---- hashing and the table ------------------------------------------------------------------- */

static uint64_t finish(uint64_t h, int wild) {
    h ^= wild ? WILD_SEED : 0;
    h ^= h >> 33; /* murmur3 fmix64: the table uses the low bits, FNV's weakest */
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h ? h : 1;
}

static uint64_t hash_rev(const char *s, size_t n) {
    uint64_t h = FNV_OFFSET;
    while (n--)
        h = (h ^ (unsigned char)s[n]) * FNV_PRIME;
    return h;
}

/* The slot holding (key, wild), or the empty slot where it would go. */
static hm_entry_t *probe(const hostmap_t *m, uint64_t h, const char *key, size_t n, int wild) {
    for (size_t i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
        hm_entry_t *e = &m->slots[i];
        if (e->hash == 0) return e;
        if (e->hash == h && e->wild == wild && e->keylen == n &&
            memcmp(m->arena + e->key, key, n) == 0)
            return e;
    }
}

/* Doubles the table (or makes the first one); keeps it at most half full, so probes end. */
static int grow(hostmap_t *m) {
    size_t slots = m->slots ? 2 * (m->mask + 1) : HOSTMAP_SLOTS_MIN;
    hm_entry_t *t = calloc(slots, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; m->slots && i <= m->mask; i++) {
        if (m->slots[i].hash == 0) continue;
        size_t j = (size_t)m->slots[i].hash & (slots - 1);
        while (t[j].hash)
            j = (j + 1) & (slots - 1);
        t[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = t;
    m->mask = slots - 1;
    return 0;
}

/* ---- parsing --------------------------------------------------------------------------------- */

typedef struct parser {
    hostmap_t *m;
    const char *name; /* file name for messages */
    unsigned line;
    char *err;
    size_t errlen;
} parser_t;

static int fail(parser_t *p, const char *what, const char *tok, size_t n, const char *why) {
    cfg_line_t at = {.name = p->name, .no = p->line};
    return cfg_fail(&at, p->err, p->errlen, what, tok, n, why);
}

static int is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Checks a lower-cased DNS name: allowed characters, no empty or overlong label. */
static const char *name_problem(const char *s, size_t n) {
    if (n == 0) return "is empty";
    if (n > HOSTMAP_HOST_MAX) return "is longer than 253 bytes";
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '*')
            return "is a bad wildcard: only a leading '*.' is allowed, as in *.example.com";
        if (s[i] == ':')
            return "has a port or is an IPv6 address without brackets: list the host "
                   "alone (ports are ignored when matching) or as [2001:db8::1]";
        if (!is_name_char(s[i]))
            return "has a character that cannot be in a host name (letters, digits, '-', '_', "
                   "'.'; international names in their xn-- form)";
        if (s[i] != '.') {
            if (++label > HOSTMAP_LABEL_MAX) return "has a label longer than 63 bytes";
            continue;
        }
        if (label == 0) return "has an empty label";
        label = 0;
    }
    return label == 0 ? "has an empty label" : NULL;
}

static const char *literal_problem(const char *s, size_t n) {
    char buf[INET6_ADDRSTRLEN + 2];
    struct in6_addr a;
    if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof buf) return "is not a bracketed IPv6 address";
    memcpy(buf, s + 1, n - 2);
    buf[n - 2] = 0;
    return inet_pton(AF_INET6, buf, &a) == 1 ? NULL : "is not a bracketed IPv6 address";
}

static int add_entry(parser_t *p, const char *host, size_t hn, const char *cust, size_t cn) {
    hostmap_t *m = p->m;
    char *key = m->arena + m->arena_len;
    for (size_t i = 0; i < hn; i++)
        key[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] + 32) : host[i];
    size_t kn = hn;
    if (kn > 1 && key[kn - 1] == '.' && key[0] != '[') kn--; /* "example.com." is example.com */
    int wild = kn >= 2 && key[0] == '*' && key[1] == '.';
    const char *k = wild ? key + 2 : key;
    size_t n = wild ? kn - 2 : kn;
    const char *why = key[0] == '[' ? literal_problem(k, n) : name_problem(k, n);
    if (why) return fail(p, "host", host, hn, wild && n == 0 ? "is a bad wildcard" : why);
    if (!custid_valid(cust, cn))
        return fail(p, "customer id", cust, cn, "is not a valid customer id (" CUSTID_RULE ")");
    if (2 * (m->count + 1) > m->mask + 1 && grow(m) < 0) {
        snprintf(p->err, p->errlen, "%s:%u: out of memory", p->name, p->line);
        return -1;
    }
    uint64_t h = finish(hash_rev(k, n), wild);
    hm_entry_t *e = probe(m, h, k, n, wild);
    if (e->hash) {
        if (e->custlen == cn && memcmp(m->arena + e->cust, cust, cn) == 0) return 0;
        char why2[2 * HOSTMAP_CUSTOMER_MAX + 64];
        snprintf(why2, sizeof why2, "is already mapped to %.*s (line %u), not to %.*s",
                 (int)e->custlen, m->arena + e->cust, e->line, (int)cn, cust);
        return fail(p, "host", host, hn, why2);
    }
    /* Keys are kept in place (the suffix after "*." for wildcards), the customer right after. */
    *e = (hm_entry_t){.hash = h,
                      .key = (uint32_t)(k - m->arena),
                      .keylen = (uint16_t)n,
                      .wild = (uint8_t)wild,
                      .cust = (uint32_t)(m->arena_len + kn),
                      .custlen = (uint8_t)cn,
                      .line = p->line};
    memcpy(m->arena + m->arena_len + kn, cust, cn);
    m->arena_len += kn + cn;
    m->count++;
    m->nwild += (size_t)wild;
    return 0;
}

/* One line of the file, split by cfgfile. */
static int on_line(void *ctx, const cfg_line_t *l, char *err, size_t errlen) {
    parser_t *p = ctx;
    p->line = l->no;
    if (l->nfields != 2) {
        snprintf(err, errlen, "%s:%u: expected 'HOST CUSTOMER_ID', found %s", l->name, l->no,
                 l->nfields == 1 ? "1 field" : "3 or more fields");
        return -1;
    }
    return add_entry(p, l->f[0].p, l->f[0].n, l->f[1].p, l->f[1].n);
}

hostmap_t *hostmap_parse(const char *text, size_t len, const char *name, char *err, size_t errlen) {
    hostmap_t *m = calloc(1, sizeof *m);
    /* The arena holds at most the text's own bytes: sized now, nothing in it ever moves. */
    if (!m || !(m->arena = malloc(len + 1)) ||
        !(m->memo = calloc(HM_MEMO_SLOTS, sizeof *m->memo)) || grow(m) < 0) {
        hostmap_free(m);
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    parser_t p = {m, name, 0, err, errlen};
    if (cfg_parse(text, len, name, 2, on_line, &p, err, errlen) < 0) {
        hostmap_free(m);
        return NULL;
    }
    return m;
}

hostmap_t *hostmap_load(const char *path, char *err, size_t errlen) {
    size_t n = 0;
    char *buf = cfg_read(path, HOSTMAP_FILE_MAX, &n, err, errlen);
    if (!buf) return NULL;
    hostmap_t *m = hostmap_parse(buf, n, path, err, errlen);
    free(buf);
    return m;
}

size_t hostmap_size(const hostmap_t *m) {
    return m->count;
}

void hostmap_free(hostmap_t *m) {
    if (!m) return;
    free(m->slots);
    free(m->arena);
    free(m->memo);
    free(m);
}

/* ---- lookup ---------------------------------------------------------------------------------- */

/* The host part of a Host value: "a.com:8080" -> "a.com", "[::1]:80" -> "[::1]", one trailing
 * '.' dropped. A bare IPv6 address (several ':' and no brackets) has no port to drop. */
static size_t host_part(const char *s, size_t n) {
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close && ((size_t)(close - s) + 1 == n || close[1] == ':'))
            return (size_t)(close - s) + 1;
        return n;
    }
    const char *colon = memchr(s, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) n = (size_t)(colon - s);
    if (n > 0 && s[n - 1] == '.') n--;
    return n;
}

/* The memo slot for host[0..n) (n <= HM_MEMO_HOST_MAX): hashed from the length and the first
 * and last bytes, which is enough to spread a log's hosts. */
static hm_memo_t *memo_slot(const hostmap_t *m, const char *host, size_t n) {
    uint64_t a = 0, b = 0;
    memcpy(&a, host, n < 8 ? n : 8);
    memcpy(&b, host + (n < 8 ? 0 : n - 8), n < 8 ? n : 8);
    uint64_t h = (a * 0x9e3779b97f4a7c15ULL) ^ (b + n) * 0xff51afd7ed558ccdULL;
    return &m->memo[(size_t)(h >> 56) & (HM_MEMO_SLOTS - 1)];
}

/* The map entry for the normalized host norm[0..n), or NULL. */
static const hm_entry_t *find(const hostmap_t *m, const char *norm, size_t n) {
    /* Right to left: at i, h is the hash of norm[i..n). Where norm[i-1] is a '.' with at least
     * one byte before it, norm[i..n) is a wildcard candidate; kept in that order, the last one
     * kept is the longest suffix. */
    uint64_t h = FNV_OFFSET, sh[HOSTMAP_HOST_MAX];
    uint16_t spos[HOSTMAP_HOST_MAX];
    size_t ns = 0;
    for (size_t i = n; i-- > 0;) {
        h = (h ^ (unsigned char)norm[i]) * FNV_PRIME;
        if (m->nwild && i > 1 && norm[i - 1] == '.') {
            sh[ns] = h;
            spos[ns++] = (uint16_t)i;
        }
    }
    const hm_entry_t *e = probe(m, finish(h, 0), norm, n, 0);
    for (size_t k = ns; e->hash == 0 && k-- > 0;)
        e = probe(m, finish(sh[k], 1), norm + spos[k], n - spos[k], 1);
    return e->hash ? e : NULL;
}

int hostmap_lookup(const hostmap_t *m, const char *host, size_t n, slice_t *customer, char *norm,
                   size_t normcap, size_t *normlen) {
    if (n == 0) return -2;
    hm_memo_t *mo = n <= HM_MEMO_HOST_MAX ? memo_slot(m, host, n) : NULL;
    int known = mo && mo->n == n && memcmp(mo->raw, host, n) == 0;
    size_t hn = known ? mo->normlen : host_part(host, n);
    if (hn == 0 || hn >= normcap) return -2;
    for (size_t i = 0; i < hn; i++)
        norm[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] + 32) : host[i];
    norm[hn] = 0;
    *normlen = hn;
    if (hn > HOSTMAP_HOST_MAX) return -1; /* no entry is that long (nor memo: n > hn) */
    if (!known) {
        const hm_entry_t *e = find(m, norm, hn);
        if (mo) {
            *mo = (hm_memo_t){.n = (uint8_t)n,
                              .normlen = (uint8_t)hn,
                              .found = e != NULL,
                              .custlen = e ? e->custlen : 0,
                              .cust = e ? e->cust : 0};
            memcpy(mo->raw, host, n);
        }
        if (!e) return -1;
        customer->p = m->arena + e->cust;
        customer->n = e->custlen;
        return 0;
    }
    if (!mo->found) return -1;
    customer->p = m->arena + mo->cust;
    customer->n = mo->custlen;
    return 0;
}
