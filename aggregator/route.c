/* route.c: see route.h. The path is cut into at most ROUTE_SEGMENTS_MAX segments, each decoded
 * into a small buffer; the shapes we serve are then matched segment by segment. */
#include "route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The longest path we serve has 4 segments; a fifth means "not ours". */
#define ROUTE_SEGMENTS_MAX 4
/* A decoded segment longer than this matches nothing we serve (customer ids are <= 64). */
#define ROUTE_SEGMENT_MAX 80
/* Bytes of a bad query value quoted in an error message. */
#define ROUTE_SHOW_MAX 32

typedef struct segment {
    char s[ROUTE_SEGMENT_MAX + 1]; /* decoded, NUL-terminated (a decoded NUL stays: see ok) */
    size_t n;
    int ok;          /* 0: bad escape, too long, or holds a NUL; such a segment matches nothing */
    const char *raw; /* the segment as received, for messages */
    size_t rawn;
} segment_t;

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long route_unescape(const char *s, size_t n, char *out, size_t cap, int plus) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (plus && c == '+') {
            c = ' ';
        }
        if (o == cap) return -1;
        out[o++] = c;
    }
    return (long)o;
}

/* s[0..n) as it may appear in a message: at most ROUTE_SHOW_MAX bytes, printable ASCII other
 * than quotes and backslashes, the rest as '?'. */
static const char *show(const char *s, size_t n, char out[ROUTE_SHOW_MAX + 4]) {
    size_t k = n > ROUTE_SHOW_MAX ? ROUTE_SHOW_MAX : n;
    for (size_t i = 0; i < k; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'' && s[i] != '"' && s[i] != '\\') ? s[i]
                                                                                              : '?';
    strcpy(out + k, n > ROUTE_SHOW_MAX ? "..." : "");
    return out;
}

static int seg_is(const segment_t *g, const char *lit) {
    return g->ok && g->n == strlen(lit) && memcmp(g->s, lit, g->n) == 0;
}

/* Splits path[0..n) (starting with '/', one trailing '/' already removed) into segments; the
 * count, or -1 when there are more than ROUTE_SEGMENTS_MAX or an empty one ("//"). */
static int split_path(const char *path, size_t n, segment_t seg[ROUTE_SEGMENTS_MAX]) {
    int k = 0;
    size_t i = 1;
    if (n == 1) return 0;
    while (i <= n) {
        const char *slash = memchr(path + i, '/', n - i);
        size_t end = slash ? (size_t)(slash - path) : n;
        if (end == i || k == ROUTE_SEGMENTS_MAX) return -1;
        segment_t *g = &seg[k++];
        long d = route_unescape(path + i, end - i, g->s, ROUTE_SEGMENT_MAX, 0);
        g->ok = d >= 0 && memchr(g->s, 0, (size_t)d) == NULL;
        g->n = d >= 0 ? (size_t)d : 0;
        g->s[g->n] = 0;
        g->raw = path + i;
        g->rawn = end - i;
        i = end + 1;
    }
    return k;
}

static void bad(route_t *r, const char *fmt, const char *what, size_t n) {
    char buf[ROUTE_SHOW_MAX + 4];
    snprintf(r->error, sizeof r->error, fmt, show(what, n, buf));
}

/* N of seconds=N: decimal digits only (no sign, no exponent, no spaces), in range. */
static int parse_seconds(const char *v, size_t n) {
    long x = 0;
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (v[i] - '0');
        if (x > ROUTE_SECONDS_MAX) return -1; /* stops before any overflow, whatever n is */
    }
    return x >= ROUTE_SECONDS_MIN ? (int)x : -1;
}

/* One "key=value" piece of the window's query; 0, or -1 with r->error set. */
static int query_piece(route_t *r, const char *p, size_t n, int *seen) {
    char key[ROUTE_TARGET_MAX], val[ROUTE_TARGET_MAX];
    const char *eq = memchr(p, '=', n);
    size_t kn = eq ? (size_t)(eq - p) : n;
    long k = route_unescape(p, kn, key, sizeof key, 1);
    if (k < 0) return bad(r, "bad percent-encoding in query parameter '%s'", p, kn), -1;
    if ((size_t)k != strlen("seconds") || memcmp(key, "seconds", (size_t)k) != 0)
        return bad(r, "unknown query parameter '%s': the only one is seconds", key, (size_t)k), -1;
    if ((*seen)++) {
        snprintf(r->error, sizeof r->error, "seconds is given more than once");
        return -1;
    }
    const char *v = eq ? eq + 1 : p + n;
    size_t vn = eq ? n - kn - 1 : 0;
    long d = route_unescape(v, vn, val, sizeof val, 1);
    int s = d < 0 ? -1 : parse_seconds(val, (size_t)d);
    if (s < 0) {
        bad(r, "seconds must be a whole number from 1 to 60, not '%s'", d < 0 ? v : val,
            d < 0 ? vn : (size_t)d);
        return -1;
    }
    r->seconds = s;
    return 0;
}

static void parse_window_query(route_t *r, const char *q, size_t n) {
    int seen = 0;
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(q + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - q) : n;
        if (end > i && query_piece(r, q + i, end - i, &seen) < 0) return;
        i = end + 1;
    }
}

/* A file name with an extension: "app.js", not "v1" nor ".env". */
static int asset_name_ok(const segment_t *g) {
    if (!g->ok || g->n == 0 || g->n > ROUTE_ASSET_MAX || g->s[0] == '.') return 0;
    if (!memchr(g->s, '.', g->n)) return 0;
    for (size_t i = 0; i < g->n; i++) {
        char c = g->s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void route_one(route_t *r, const segment_t *g) {
    if (seg_is(g, "metrics")) {
        r->kind = ROUTE_METRICS;
    } else if (seg_is(g, "healthz")) {
        r->kind = ROUTE_HEALTHZ;
    } else if (seg_is(g, "readyz")) {
        r->kind = ROUTE_READYZ;
    } else if (asset_name_ok(g)) {
        r->kind = ROUTE_ASSET;
        memcpy(r->asset, g->s, g->n + 1);
    }
}

void route_parse(const char *target, size_t n, route_t *r) {
    memset(r, 0, sizeof *r);
    r->kind = ROUTE_NOT_FOUND;
    if (n > ROUTE_TARGET_MAX) {
        r->kind = ROUTE_TOO_LONG;
        return;
    }
    if (n == 0 || target[0] != '/') return;
    const char *qm = memchr(target, '?', n);
    size_t pn = qm ? (size_t)(qm - target) : n;
    if (pn > 1 && target[pn - 1] == '/' && target[pn - 2] != '/') pn--;
    segment_t seg[ROUTE_SEGMENTS_MAX];
    int k = split_path(target, pn, seg);
    if (k == 0) {
        r->kind = ROUTE_ASSET;
        strcpy(r->asset, "index.html");
    } else if (k == 1) {
        route_one(r, &seg[0]);
    } else if (k == 2 && seg_is(&seg[0], "v1") && seg_is(&seg[1], "token")) {
        r->kind = ROUTE_TOKEN;
    } else if (k == 2 && seg_is(&seg[0], "v1") && seg_is(&seg[1], "customers")) {
        r->kind = ROUTE_CUSTOMERS;
    } else if (k == 4 && seg_is(&seg[0], "v1") && seg_is(&seg[1], "customers") &&
               seg_is(&seg[3], "window")) {
        r->kind = ROUTE_WINDOW;
        r->seconds = ROUTE_SECONDS_DEFAULT;
        if (!seg[2].ok || !tokens_customer_ok(seg[2].s, seg[2].n)) {
            bad(r, "customer id '%s' is not 1 to 64 letters, digits, '.', '_' or '-'", seg[2].raw,
                seg[2].rawn);
            return;
        }
        memcpy(r->customer, seg[2].s, seg[2].n + 1);
        if (qm) parse_window_query(r, qm + 1, n - (size_t)(qm - target) - 1);
    }
}

static int is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int route_bearer(const char *v, size_t n, const char **tok, size_t *toklen) {
    static const char scheme[] = "bearer";
    size_t i = 0, sl = sizeof scheme - 1;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (n - i <= sl || strncasecmp(v + i, scheme, sl) != 0) return -1;
    i += sl;
    if (v[i] != ' ' && v[i] != '\t') return -1;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    size_t start = i;
    while (i < n && is_token_char(v[i]))
        i++;
    if (i == start) return -1;
    while (i < n && v[i] == '=')
        i++;
    size_t end = i;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (i != n) return -1;
    *tok = v + start;
    *toklen = end - start;
    return 0;
}
