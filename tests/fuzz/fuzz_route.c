/* fuzz_route: the request router on arbitrary request targets and Authorization headers.
 *
 * Besides "no crash, no overflow" (ASan+UBSan), it checks what must hold for any input:
 *  - route_parse: a target over ROUTE_TARGET_MAX is ROUTE_TOO_LONG and only then; a window
 *    route has either a message (NUL-terminated printable ASCII, no quotes) or a valid customer
 *    id and seconds in 1..60; a customer id kept is always valid; an asset name is a file name;
 *  - a window target built from the input (its bytes as the customer id, percent-encoded byte
 *    by byte or not as the input's bits say, and a seconds value) routes back to exactly that
 *    customer and value when they are valid, and to a 400 when not;
 *  - route_bearer: a token found lies inside the header, is non-empty and of the RFC 6750 set;
 *  - route_unescape never writes past its cap and never grows the text. */
#include "../../aggregator/route.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int printable(const char *s) {
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\') return 0;
    return 1;
}

static void check_route(const char *t, size_t n, route_t *r) {
    route_parse(t, n, r);
    if ((r->kind == ROUTE_TOO_LONG) != (n > ROUTE_TARGET_MAX)) abort();
    if (r->kind < ROUTE_NOT_FOUND || r->kind > ROUTE_CUSTOMERS) abort();
    if (memchr(r->error, 0, sizeof r->error) == NULL || !printable(r->error)) abort();
    if (memchr(r->customer, 0, sizeof r->customer) == NULL) abort();
    if (r->customer[0] && !tokens_customer_ok(r->customer, strlen(r->customer))) abort();
    if (r->kind == ROUTE_WINDOW && !r->error[0]) {
        if (!r->customer[0]) abort();
        if (r->seconds < ROUTE_SECONDS_MIN || r->seconds > ROUTE_SECONDS_MAX) abort();
    }
    if (r->kind != ROUTE_WINDOW && r->error[0]) abort();
    if (r->kind == ROUTE_ASSET) {
        size_t an = strnlen(r->asset, sizeof r->asset);
        if (an == 0 || an > ROUTE_ASSET_MAX || r->asset[0] == '.' || !strchr(r->asset, '.'))
            abort();
    }
}

/* The window target of customer id c[0..n) (escaped as bits says) and seconds value s. */
static void round_trip(const uint8_t *data, size_t size) {
    if (size < 2) return;
    int secs = data[0] % 70;
    const uint8_t *bits = data + 1;
    size_t n = (size - 1) / 2, nb = size - 1 - n;
    const char *c = (const char *)data + 1 + nb;
    if (n > 100) return;
    char t[1024];
    size_t o = (size_t)snprintf(t, sizeof t, "/v1/customers/");
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)c[i];
        int esc = (bits[i % nb] >> (i % 8)) & 1;
        if (esc || b == '/' || b == '?' || b == '%')
            o += (size_t)snprintf(t + o, sizeof t - o, "%%%02X", b);
        else
            t[o++] = (char)b;
    }
    o += (size_t)snprintf(t + o, sizeof t - o, "/window?seconds=%d", secs);
    route_t r;
    check_route(t, o, &r);
    int valid_c = tokens_customer_ok(c, n);
    /* An empty id or one with '/' decoded is simply another path shape: 404 or 400. */
    if (r.kind != ROUTE_WINDOW) {
        if (valid_c) abort();
        return;
    }
    if (!valid_c) {
        if (!r.error[0] || r.customer[0]) abort();
        return;
    }
    if (strlen(r.customer) != n || memcmp(r.customer, c, n) != 0) abort();
    int valid_s = secs >= ROUTE_SECONDS_MIN && secs <= ROUTE_SECONDS_MAX;
    if (valid_s != !r.error[0]) abort();
    if (valid_s && r.seconds != secs) abort();
}

static int token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~+/=", c) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Copies of exactly the input's size: ASan catches any read past the end. */
    char *t = malloc(size ? size : 1);
    memcpy(t, data, size);
    route_t r;
    check_route(t, size, &r);

    const char *tok = NULL;
    size_t tn = 0;
    if (route_bearer(t, size, &tok, &tn) == 0) {
        if (tn == 0 || tok < t || tok + tn > t + size) abort();
        for (size_t i = 0; i < tn; i++)
            if (!token_char(tok[i])) abort();
    }

    size_t cap = size / 2;
    char *out = malloc(cap ? cap : 1);
    long d = route_unescape(t, size, out, cap, size & 1);
    if (d < -1 || d > (long)cap) abort();
    char *full = malloc(size ? size : 1);
    long d2 = route_unescape(t, size, full, size, 0);
    if (d2 > (long)size) abort();
    if (d >= 0 && d2 < 0) abort(); /* plus or cap cannot turn a bad escape into a good one */
    free(full);
    free(out);
    free(t);

    round_trip(data, size);
    return 0;
}
