/* fuzz_xff: the X-Forwarded-For walk and the --trusted-proxy parser on arbitrary bytes.
 *
 * Besides "no crash, no overflow" (ASan+UBSan), it checks what must hold for any input:
 *  - xff_client: the key is 0 (the peer), 4 (IPv4) or 8 (an IPv6 /64) bytes; an IPv4 client is
 *    never in a trusted range; the same lines walked again give the same key (no state);
 *  - xff_parse_nets: a range accepted has a prefix within its family's length and no bit set
 *    past it, and the text of the ranges accepted, printed again, parses to the same ranges.
 * Input: the first byte picks the trusted ranges, the rest is split at '\n' into header lines. */
#include "../../aggregator/xff.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NETS[] = {"10.0.0.0/8,127.0.0.1", "0.0.0.0/0", "::/0,0.0.0.0/0",
                                   "fd00::/8,192.168.0.0/16", "2001:db8::/32"};

static void check_nets(const uint8_t *d, size_t n) {
    char s[512], again[XFF_NETS_MAX * 64], err[256];
    if (n >= sizeof s) n = sizeof s - 1;
    memcpy(s, d, n);
    s[n] = 0;
    xff_nets_t t, u;
    if (xff_parse_nets(s, &t, err, sizeof err) < 0) return;
    size_t at = 0;
    for (size_t i = 0; i < t.n; i++) {
        const xff_net_t *x = &t.net[i];
        unsigned max = x->v6 ? 128 : 32;
        if (x->bits > max) abort();
        for (unsigned b = x->bits; b < max; b++)
            if (x->addr[b / 8] & (0x80u >> (b % 8))) abort();
        char a[INET6_ADDRSTRLEN];
        inet_ntop(x->v6 ? AF_INET6 : AF_INET, x->addr, a, sizeof a);
        at += (size_t)snprintf(again + at, sizeof again - at, "%s%s/%u", i ? "," : "", a, x->bits);
    }
    if (xff_parse_nets(again, &u, err, sizeof err) < 0 || u.n != t.n) abort();
    for (size_t i = 0; i < t.n; i++)
        if (u.net[i].bits != t.net[i].bits || u.net[i].v6 != t.net[i].v6 ||
            memcmp(u.net[i].addr, t.net[i].addr, 16) != 0)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n == 0) return 0;
    check_nets(d + 1, n - 1);
    xff_nets_t t;
    char err[256];
    if (xff_parse_nets(NETS[d[0] % (sizeof NETS / sizeof NETS[0])], &t, err, sizeof err) < 0)
        abort();
    const char *v[XFF_VALUES_MAX];
    size_t len[XFF_VALUES_MAX], k = 0;
    const char *p = (const char *)d + 1, *end = (const char *)d + n;
    while (k < XFF_VALUES_MAX && p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        v[k] = p;
        len[k++] = (size_t)((nl ? nl : end) - p);
        if (!nl) break;
        p = nl + 1;
    }
    unsigned char key[HTTPD_KEY_MAX], key2[HTTPD_KEY_MAX];
    size_t kn = xff_client(&t, v, len, k, key);
    if (kn != 0 && kn != 4 && kn != 8) abort();
    if (xff_client(&t, v, len, k, key2) != kn || memcmp(key, key2, kn) != 0) abort();
    if (kn == 4) {
        struct sockaddr_in in = {.sin_family = AF_INET};
        memcpy(&in.sin_addr, key, 4);
        if (xff_trusted_sa(&t, &in)) abort();
    }
    return 0;
}
