/* hosts.h: `billing hosts`: the collector's host map, from the customer_hosts table.
 *
 * Printed in the collector's --customers format: one "HOST CUSTOMER_ID" per line, sorted by
 * host, after one '#' comment line saying where it came from. The schema guarantees that hosts
 * and customer ids hold no white space or '#', so every row is one well-formed line. */
#ifndef HOSTS_H
#define HOSTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

/* Writes the map to out; *n gets the number of hosts. 0, or -1 with err (query or write). */
int hosts_write(PGconn *c, FILE *out, size_t *n, char *err, size_t errlen);

#endif
