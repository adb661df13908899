/* hosts.h: `billing hosts`: the collector's host map, from the customer_hosts table.
 *
 * Printed in the collector's --customers format: one "HOST CUSTOMER_ID" per line, sorted by
 * host, after one '#' comment line saying where it came from. The collector refuses a whole map
 * with one bad line (and keeps its old one on reload), so every line printed must be one it
 * accepts: customer ids follow the one rule (custid.h), which customers.id's CHECK enforces
 * (schema/006), and a host the collector's host map would refuse (collector/hostmap.c: a DNS
 * name of letters, digits, '-', '_' and '.', labels of 1..63 bytes, at most 253 bytes, an
 * optional leading "*." and trailing '.'; or a bracketed IPv6 address) is left out, with a
 * warning naming it, rather than breaking every collector's map. */
#ifndef HOSTS_H
#define HOSTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#define HOSTS_HOST_MAX 253 /* collector/hostmap.h's HOSTMAP_HOST_MAX */

/* Writes the map to out; *n gets the number of hosts written, *skipped those left out (each
 * reported through warn(ctx, host, why), which may be NULL). 0, or -1 with err. */
int hosts_write(PGconn *c, FILE *out, size_t *n, size_t *skipped,
                void (*warn)(void *ctx, const char *host, const char *why), void *ctx, char *err,
                size_t errlen);

/* Why the collector would refuse host as a host map entry, or NULL when it accepts it. */
const char *hosts_problem(const char *host);

#endif
