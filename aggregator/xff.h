/* xff.h: who the client is behind a trusted proxy (--trusted-proxy CIDR[,CIDR...]).
 *
 * Behind a proxy every request reaches the aggregator from the proxy's address, so the
 * per-address rate limit (ratelimit.h) would put every user into one bucket. When, and only
 * when, the peer of a connection is in a trusted range, the client is read from
 * X-Forwarded-For: its addresses (all header lines, in order, each a comma-separated list) are
 * walked from the right, skipping those that are themselves trusted (a chain of our proxies);
 * the first one not trusted is the client. A header from any other peer is never read: anyone
 * can write one.
 *
 * Strict: every element the walk meets must be exactly an IPv4 dotted quad or an IPv6 address
 * (inet_pton), spaces and tabs around it allowed; anything else met (a port, brackets, a zone,
 * "unknown", an empty element, garbage) stops the walk and the peer's address is used, as when
 * every address met is trusted or the header is absent. Elements left of the client are never
 * looked at (they are the client's to write). The result is an address key as httpd.h's
 * httpd_addr_key: 4 bytes of IPv4 (also IPv4-mapped IPv6), or the /64 of IPv6.
 *
 * The per-address connection room (httpd.h) cannot use the header: it is decided at accept,
 * before any header, and a proxy's kept-alive connection carries requests of many clients. A
 * connection from a trusted peer is therefore not counted per address (still in the total):
 * the proxy bounds its own connections (haproxy.cfg: maxconn 32 per instance). */
#ifndef XFF_H
#define XFF_H

#include "httpd.h"

#include <stddef.h>

#define XFF_NETS_MAX 32   /* ranges --trusted-proxy takes */
#define XFF_VALUES_MAX 16 /* X-Forwarded-For lines looked at, the last ones */
#define XFF_HOPS_MAX 32   /* addresses walked before giving up (the peer is used) */

typedef struct xff_net {
    unsigned char addr[16]; /* IPv4 in the first 4 bytes */
    int v6;                 /* 0: IPv4, 1: IPv6 */
    unsigned bits;          /* prefix length */
} xff_net_t;

typedef struct xff_nets {
    xff_net_t net[XFF_NETS_MAX];
    size_t n; /* 0: nothing trusted, the header is never read */
} xff_nets_t;

/* Parses "CIDR[,CIDR...]": each an IPv4 or IPv6 address with an optional /BITS (default: the
 * whole address); bits beyond the prefix must be 0. 0, or -1 with err set ("--trusted-proxy:
 * ..."). */
int xff_parse_nets(const char *s, xff_nets_t *out, char *err, size_t errlen);

/* 1 when sa (a struct sockaddr *, IPv4 or IPv6; an IPv4-mapped IPv6 address counts as IPv4) is
 * in one of the ranges. */
int xff_trusted_sa(const xff_nets_t *t, const void *sa);

/* The client's address key from the n X-Forwarded-For values vals[i][0..lens[i]) (in header
 * order), by the walk above: its length (4 or 8), or 0 when the peer's address must be used. The
 * caller has checked that the peer is trusted. */
size_t xff_client(const xff_nets_t *t, const char *const *vals, const size_t *lens, size_t n,
                  unsigned char key[HTTPD_KEY_MAX]);

#endif
