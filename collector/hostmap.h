/* hostmap.h: request host -> customer id, the `--customers FILE` host map (CONTRACT.md).
 *
 * Every hit is billed to the customer that owns its host, so the collector looks up the host of
 * every log line here. The map is loaded once, then only read: a reload (SIGHUP) loads a new map,
 * swaps the pointer between lines and frees the old one. Lookups allocate nothing: the host is
 * normalized into the caller's buffer and looked up in an open-addressing hash table.
 *
 * File format, one entry per line:
 *     HOST CUSTOMER_ID          fields separated by spaces or tabs
 *     *.example.com acme        any subdomain of example.com (a.example.com, a.b.example.com),
 *                               not example.com itself: list that too if it is wanted
 *     # comment                 '#' starts a comment, on its own line or after the fields
 * Blank lines are fine, and so is an empty file (a map that knows no host). HOST is a DNS name
 * (letters, digits, '-', '_', '.'; no empty label; at most HOSTMAP_HOST_MAX bytes) or a bracketed
 * IPv6 literal ([2001:db8::1]); it is compared case-insensitively and one trailing '.' is
 * ignored; it carries no port. CUSTOMER_ID follows custid.h (CUSTID_RULE).
 * The same host listed twice for one customer is allowed; for two customers it is an error.
 * A bad line is an error naming "FILE:LINE: problem" (the collector exits 2 with it).
 *
 * Matching: the host of a log line is normalized (ASCII lower case, a ":port" suffix dropped,
 * also after an IPv6 literal's ']', one trailing '.' dropped), then the most specific entry
 * wins: the exact host, else the wildcard with the longest suffix
 * (*.a.example.com before *.example.com). */
#ifndef HOSTMAP_H
#define HOSTMAP_H

#include "custid.h"
#include "hit.h" /* slice_t */

#include <stddef.h>

/* Longest host a map entry may have: the longest DNS name. Longer looked-up hosts are unknown. */
#define HOSTMAP_HOST_MAX 253
/* Longest customer id. */
#define HOSTMAP_CUSTOMER_MAX CUSTID_MAX
/* Largest map file hostmap_load reads. */
#define HOSTMAP_FILE_MAX (256u << 20)

typedef struct hostmap hostmap_t;

/* Reads and parses the map file at path. NULL with "FILE:LINE: problem" (or "FILE: reason" when
 * the file cannot be read) in err. The caller owns the result: hostmap_free. */
hostmap_t *hostmap_load(const char *path, char *err, size_t errlen);

/* The same from text[0..len) (any bytes); name stands for the file name in messages. */
hostmap_t *hostmap_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);

/* Looks up host[0..n) (any bytes). Writes the normalized host and a NUL into norm (normcap
 * bytes), its length into *normlen: that is the hit record's host. Returns 0 with *customer set
 * (pointing into the map: valid until hostmap_free) when a map entry matches, -1 when none does,
 * -2 when the normalized host is empty or does not fit in normcap with its NUL (norm is then not
 * written). Lookups keep a memo of recent answers inside the map: one thread at a time may look
 * up a given map (the collector's main loop does). */
int hostmap_lookup(const hostmap_t *m, const char *host, size_t n, slice_t *customer, char *norm,
                   size_t normcap, size_t *normlen);

/* Number of entries (exact hosts and wildcards). */
size_t hostmap_size(const hostmap_t *m);

/* Frees the map; NULL is fine. */
void hostmap_free(hostmap_t *m);

#endif
