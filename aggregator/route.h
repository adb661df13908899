/* route.h: what an HTTP request to the aggregator asks for, from its raw request target.
 *
 * Pure functions over bytes, no allocation, no I/O: the same code serves requests and the
 * fuzzer (tests/fuzz/fuzz_route.c). The target is the raw one from the request line (path and
 * query, still percent-encoded), so that every decision (decoding, duplicate parameters, bounds)
 * is made here, once, and tested.
 *
 * Paths (one trailing '/' is ignored, except on "/"; segments are percent-decoded before they
 * are compared, so "/v1/%63ustomers/acme/window" is the window of acme):
 *     /v1/customers/{customer}/window?seconds=N   ROUTE_WINDOW (CONTRACT.md); N in 1..60,
 *                                                 default 60
 *     /v1/token                                   ROUTE_TOKEN: whom the bearer token reads
 *     /v1/customers                               ROUTE_CUSTOMERS: whom it may pick from
 *     /metrics  /healthz  /readyz                 ROUTE_METRICS, ROUTE_HEALTHZ, ROUTE_READYZ
 *     /                                           ROUTE_ASSET "index.html" (the dashboard)
 *     /NAME                                       ROUTE_ASSET NAME: a file name with an
 *                                                 extension, of [A-Za-z0-9._-], not starting
 *                                                 with '.' (the page's files)
 *     anything else                               ROUTE_NOT_FOUND
 * The window's query is strict: the only parameter is `seconds`, given at most once, as decimal
 * digits; anything else makes a 400 whose message is in route_t.error. Other routes ignore
 * their query. */
#ifndef ROUTE_H
#define ROUTE_H

#include "tokens.h" /* TOKENS_CUSTOMER_MAX */

#include <stddef.h>

/* Longest request target (path and query) we look at; longer ones are ROUTE_TOO_LONG (414). */
#define ROUTE_TARGET_MAX 2048
/* Window lengths, in seconds (CONTRACT.md). */
#define ROUTE_SECONDS_MIN 1
#define ROUTE_SECONDS_MAX 60
#define ROUTE_SECONDS_DEFAULT 60
/* Longest dashboard file name. */
#define ROUTE_ASSET_MAX 64
/* Room for a 400's message. */
#define ROUTE_ERROR_MAX 160

typedef enum route_kind {
    ROUTE_NOT_FOUND = 0, /* 404 */
    ROUTE_TOO_LONG,      /* 414: the target exceeds ROUTE_TARGET_MAX */
    ROUTE_WINDOW,        /* a customer's window: customer, seconds, maybe error */
    ROUTE_TOKEN,         /* whom the presented token reads */
    ROUTE_METRICS,
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_ASSET,     /* a dashboard file: asset */
    ROUTE_CUSTOMERS, /* the customers the token may pick from (custview.h, tokens.h) */
} route_kind_t;

typedef struct route {
    route_kind_t kind;
    int seconds;                            /* ROUTE_WINDOW: 1..60 when error is empty */
    char customer[TOKENS_CUSTOMER_MAX + 1]; /* ROUTE_WINDOW: the decoded id; "" when the path's
                                               segment is not a valid customer id */
    char asset[ROUTE_ASSET_MAX + 1];        /* ROUTE_ASSET: file name, e.g. "app.js" */
    char error[ROUTE_ERROR_MAX];            /* ROUTE_WINDOW: non-empty means 400 with this
                                               message (printable ASCII only) */
} route_t;

/* Parses the request target target[0..n) (any bytes, no NUL needed) into *r. Never fails: what
 * is not understood is ROUTE_NOT_FOUND, or ROUTE_WINDOW with an error. */
void route_parse(const char *target, size_t n, route_t *r);

/* Finds the token in an Authorization header value v[0..n): "Bearer TOKEN", the scheme in any
 * case, spaces around; TOKEN of the RFC 6750 characters [A-Za-z0-9-._~+/] then any '='. Sets
 * *tok (pointing into v) and *toklen and returns 0, or -1 when v is not such a header. */
int route_bearer(const char *v, size_t n, const char **tok, size_t *toklen);

/* Percent-decodes s[0..n) into out (cap bytes, no NUL written); '+' becomes ' ' when plus is 1
 * (query strings). Returns the decoded length, or -1 on a bad escape ("%", "%4", "%zz") or when
 * the result would not fit in cap. */
long route_unescape(const char *s, size_t n, char *out, size_t cap, int plus);

#endif
