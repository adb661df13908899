/* xff.c: trusted proxy ranges and the right-to-left walk of X-Forwarded-For (see xff.h). */
#include "xff.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 45 /* INET6_ADDRSTRLEN - 1: the longest address inet_pton reads */

typedef struct xaddr {
    unsigned char a[16];
    int v6;
} xaddr_t;

/* Reads exactly one address from s[0..n) (no spaces): 0, or -1. IPv4-mapped IPv6 becomes IPv4,
 * so that a dual-stack socket's peer matches the IPv4 ranges. */
static int parse_addr(const char *s, size_t n, xaddr_t *out) {
    char buf[ADDR_TEXT_MAX + 1];
    if (n == 0 || n > ADDR_TEXT_MAX || memchr(s, 0, n)) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    memset(out, 0, sizeof *out);
    if (!memchr(s, ':', n)) return inet_pton(AF_INET, buf, out->a) == 1 ? 0 : -1;
    struct in6_addr in6;
    if (inet_pton(AF_INET6, buf, &in6) != 1) return -1;
    if (IN6_IS_ADDR_V4MAPPED(&in6)) {
        memcpy(out->a, in6.s6_addr + 12, 4);
        return 0;
    }
    memcpy(out->a, in6.s6_addr, 16);
    out->v6 = 1;
    return 0;
}

static int in_net(const xff_net_t *net, const xaddr_t *x) {
    if (net->v6 != x->v6) return 0;
    unsigned full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->addr, x->a, full) != 0) return 0;
    if (!rest) return 1;
    unsigned char mask = (unsigned char)(0xff00u >> rest);
    return (net->addr[full] & mask) == (x->a[full] & mask);
}

static int trusted(const xff_nets_t *t, const xaddr_t *x) {
    for (size_t i = 0; i < t->n; i++)
        if (in_net(&t->net[i], x)) return 1;
    return 0;
}

/* One range "ADDR[/BITS]" of s[0..n) into *net: 0, or -1 with err set. */
static int parse_net(const char *s, size_t n, xff_net_t *net, char *err, size_t errlen) {
    const char *slash = memchr(s, '/', n);
    size_t an = slash ? (size_t)(slash - s) : n;
    xaddr_t x;
    if (parse_addr(s, an, &x) < 0) {
        snprintf(err, errlen, "--trusted-proxy: '%.*s' is not an IPv4 or IPv6 address", (int)an, s);
        return -1;
    }
    unsigned max = x.v6 ? 128 : 32, bits = max;
    if (slash) {
        const char *b = slash + 1, *e = s + n;
        if (b == e || e - b > 3) goto bad_bits;
        bits = 0;
        for (const char *p = b; p < e; p++) {
            if (*p < '0' || *p > '9') goto bad_bits;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > max || (e - b > 1 && *b == '0')) goto bad_bits;
    }
    memcpy(net->addr, x.a, sizeof net->addr);
    net->v6 = x.v6;
    net->bits = bits;
    for (unsigned i = bits; i < max; i++) /* bits past the prefix: a typo, not a range */
        if (x.a[i / 8] & (0x80u >> (i % 8))) {
            snprintf(err, errlen, "--trusted-proxy: '%.*s' has bits set past /%u", (int)n, s, bits);
            return -1;
        }
    return 0;
bad_bits:
    snprintf(err, errlen, "--trusted-proxy: '%.*s': expected /0..%u", (int)n, s, max);
    return -1;
}

int xff_parse_nets(const char *s, xff_nets_t *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!*s) {
        snprintf(err, errlen, "--trusted-proxy: expected CIDR[,CIDR...]");
        return -1;
    }
    for (const char *p = s;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (out->n == XFF_NETS_MAX) {
            snprintf(err, errlen, "--trusted-proxy: at most %d ranges", XFF_NETS_MAX);
            return -1;
        }
        if (parse_net(p, n, &out->net[out->n], err, errlen) < 0) return -1;
        out->n++;
        if (!c) break;
        p = c + 1;
    }
    return 0;
}

int xff_trusted_sa(const xff_nets_t *t, const void *sa_) {
    const struct sockaddr *sa = sa_;
    xaddr_t x;
    memset(&x, 0, sizeof x);
    if (!sa || !t->n) return 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        memcpy(x.a, &in.sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
            memcpy(x.a, in6.sin6_addr.s6_addr + 12, 4);
        } else {
            memcpy(x.a, in6.sin6_addr.s6_addr, 16);
            x.v6 = 1;
        }
    } else {
        return 0;
    }
    return trusted(t, &x);
}

/* One element s[0..n) of the list, spaces and tabs around it dropped: 0, or -1 (garbage). */
static int parse_elem(const char *s, size_t n, xaddr_t *x) {
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return parse_addr(s, n, x);
}

size_t xff_client(const xff_nets_t *t, const char *const *vals, const size_t *lens, size_t n,
                  unsigned char key[HTTPD_KEY_MAX]) {
    unsigned hops = 0;
    for (size_t i = n; i-- > 0;) {
        const char *v = vals[i];
        size_t end = lens[i];
        for (;;) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',')
                start--;
            xaddr_t x;
            if (++hops > XFF_HOPS_MAX || parse_elem(v + start, end - start, &x) < 0) return 0;
            if (!trusted(t, &x)) {
                memcpy(key, x.a, x.v6 ? 8 : 4); /* httpd_addr_key's form: IPv4, or the /64 */
                return x.v6 ? 8 : 4;
            }
            if (start == 0) break;
            end = start - 1; /* before the comma */
        }
    }
    return 0; /* absent, or every address trusted: the peer */
}
