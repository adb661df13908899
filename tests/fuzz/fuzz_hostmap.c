/* fuzz_hostmap: hostmap_parse on arbitrary text, then lookups of pieces of that text.
 *
 * Besides "no crash, no leak, no overflow" (ASan+UBSan), it checks what must hold for any input:
 *  - a refused text gets a message that names the file and a line ("fuzz.map:N: ...");
 *  - every lookup returns 0, -1 or -2; a normalized host is NUL-terminated, fits, has no
 *    upper-case letter; a customer is 1..HOSTMAP_CUSTOMER_MAX bytes of [A-Za-z0-9._-];
 *  - when the map was accepted, every exact `HOST CUSTOMER` line's host finds exactly that
 *    customer (duplicates for another customer are refused), and a name under every wildcard
 *    finds some customer;
 *  - case, a ":port" suffix and a trailing dot never change a lookup's answer. */
#include "../../collector/hostmap.h"
#include "cfgfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NORM_CAP 1024 /* as the collector's (HIT_STR_MAX) */

static void check_lookup(const hostmap_t *m, const char *host, size_t n, int *rc_out,
                         slice_t *cust_out) {
    char norm[NORM_CAP];
    size_t nl = 0;
    slice_t c = {NULL, 0};
    int rc = hostmap_lookup(m, host, n, &c, norm, sizeof norm, &nl);
    if (rc != 0 && rc != -1 && rc != -2) abort();
    if (rc != -2) {
        if (nl >= sizeof norm || norm[nl] != 0) abort();
        for (size_t i = 0; i < nl; i++)
            if (norm[i] >= 'A' && norm[i] <= 'Z') abort();
    }
    if (rc == 0) {
        if (c.n == 0 || c.n > HOSTMAP_CUSTOMER_MAX) abort();
        for (size_t i = 0; i < c.n; i++) {
            char x = c.p[i];
            int ok = (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9') ||
                     x == '.' || x == '_' || x == '-';
            if (!ok) abort();
        }
    }
    if (rc_out) *rc_out = rc;
    if (cust_out) *cust_out = c;
}

/* Looks host up as given, then upper-cased with ":8080" and a trailing '.' added, which must
 * give the same answer. Hosts with ':' or '[' are left out of the variant (a colon already
 * decides what the port is), as are hosts ending in '.' (only one dot is dropped). */
static void check_host(const hostmap_t *m, const char *host, size_t n, int *rc, slice_t *cust) {
    check_lookup(m, host, n, rc, cust);
    if (n == 0 || n > 200 || memchr(host, ':', n) || memchr(host, '[', n) || host[n - 1] == '.')
        return;
    char v[256];
    for (size_t i = 0; i < n; i++)
        v[i] = (host[i] >= 'a' && host[i] <= 'z') ? (char)(host[i] - 32) : host[i];
    memcpy(v + n, ".:8080", 6);
    int rc2;
    slice_t c2;
    check_lookup(m, v, n + 6, &rc2, &c2);
    if (rc2 != *rc) abort();
    if (*rc == 0 && (c2.n != cust->n || memcmp(c2.p, cust->p, c2.n) != 0)) abort();
}

/* Each line as the map's own reader (cfgfile.h) splits it: every field as a host, and an
 * accepted HOST CUSTOMER line as an entry that must be found. */
static int check_entry(void *ctx, const cfg_line_t *l, char *err, size_t errlen) {
    const hostmap_t *m = ctx;
    (void)err, (void)errlen;
    int rc;
    slice_t c;
    for (size_t i = 0; i < l->nfields; i++)
        check_host(m, l->f[i].p, l->f[i].n, &rc, &c);
    if (l->nfields != 2) abort(); /* the map accepted the text */
    const char *h = l->f[0].p;
    size_t hn = l->f[0].n;
    if (hn >= 2 && h[0] == '*' && h[1] == '.') {
        char sub[300];
        if (hn + 1 > HOSTMAP_HOST_MAX || hn - 1 >= sizeof sub) return 0; /* "q" + ".suffix" */
        sub[0] = 'q';
        memcpy(sub + 1, h + 1, hn - 1);
        check_host(m, sub, hn, &rc, &c);
        if (rc != 0) abort();
        return 0;
    }
    check_host(m, h, hn, &rc, &c);
    if (rc != 0 || c.n != l->f[1].n || memcmp(c.p, l->f[1].p, c.n) != 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    char err[512] = "";
    hostmap_t *m = hostmap_parse(text, size, "fuzz.map", err, sizeof err);
    if (!m) {
        if (strncmp(err, "fuzz.map:", 9) != 0) abort();
        return 0;
    }
    if (cfg_parse(text, size, "fuzz.map", 2, check_entry, m, err, sizeof err) < 0) abort();
    for (size_t off = 0; off < size;) { /* each whole line as a host: anything goes */
        const char *nl = memchr(text + off, '\n', size - off);
        size_t end = nl ? (size_t)(nl - text) : size;
        int rc;
        slice_t c;
        check_host(m, text + off, end - off, &rc, &c);
        off = end + 1;
    }
    hostmap_free(m);
    return 0;
}
