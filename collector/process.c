#include "process.h"

#include <string.h>
#include <time.h>

static const char *const reason_names[PROC_KINDS] = {"hit",          "parse",    "timestamp",
                                                     "unknown_host", "too_long", "customer",
                                                     "country",      "bytes",    "text"};

/* hit_validate's reasons as the collector's; the names are the same words (hitv_name). */
static proc_reason_t of_hitv(int v) {
    switch (v) {
    case HITV_CUSTOMER:
        return PROC_CUSTOMER;
    case HITV_COUNTRY:
        return PROC_COUNTRY;
    case HITV_BYTES:
        return PROC_BYTES;
    case HITV_TIMESTAMP:
        return PROC_TIMESTAMP;
    case HITV_TEXT:
        return PROC_TEXT;
    default:
        return PROC_PARSE;
    }
}

/* The clock a line's time is checked against, read once a line: the coarse wall clock (the
 * kernel's last tick, 1-4 ms behind, read without the TSC). The window it bounds is days wide. */
static int64_t coarse_wall_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME_COARSE, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void proc_init(proc_t *p, const proc_cfg_t *cfg) {
    p->cfg = *cfg;
    if (!p->cfg.now_ms) p->cfg.now_ms = coarse_wall_ms;
    if (p->cfg.tswin.past_ms <= 0 && p->cfg.tswin.ahead_ms <= 0) p->cfg.tswin = hit_tswin_default();
    p->edge_len = p->cfg.edge ? strlen(p->cfg.edge) : 0;
}

static slice_t s_of(const char *s) {
    slice_t x = {s, s ? strlen(s) : 0};
    return x;
}

static void reject(proc_t *p, proc_reason_t why, const char *src, size_t srclen, uint64_t off,
                   const char *line, size_t n, proc_out_t *out) {
    reject_t r = {.edge = (slice_t){p->cfg.edge, p->edge_len},
                  .src = {src, srclen},
                  .off = off,
                  .reason = reason_names[why],
                  .line = {line, n}};
    int len = reject_encode(&r, p->buf, sizeof p->buf);
    /* sizeof buf >= REJECT_ENCODED_MAX, which always fits: len cannot be negative */
    out->kind = why;
    out->ts_ms = 0;
    out->key = src;
    out->keylen = srclen;
    out->val = p->buf;
    out->n = len < 0 ? 0 : (size_t)len;
}

/* The record's cache word: nginx's words only, upper case; anything else is left out. */
static slice_t cache_word(proc_t *p, slice_t logged) {
    if (logged.n == 0 || logged.n > sizeof p->cache) return (slice_t){NULL, 0};
    for (size_t i = 0; i < logged.n; i++) {
        char c = logged.p[i];
        p->cache[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    if (hit_cache_class(p->cache, logged.n) == HIT_CACHE_UNKNOWN) return (slice_t){NULL, 0};
    return (slice_t){p->cache, logged.n};
}

void proc_line(proc_t *p, const char *src, size_t srclen, uint64_t off, const char *line, size_t n,
               int too_long, proc_out_t *out) {
    if (too_long) {
        reject(p, PROC_TOO_LONG, src, srclen, off, line, n, out);
        return;
    }
    logrec_t rec;
    const char *why = NULL;
    if (format_parse(p->cfg.fmt, line, n, &rec, &why) < 0) {
        int ts = why && strcmp(why, "timestamp") == 0;
        reject(p, ts ? PROC_TIMESTAMP : PROC_PARSE, src, srclen, off, line, n, out);
        return;
    }
    slice_t host = rec.host;
    if (host.n == 0) host = s_of(p->cfg.default_host);
    slice_t customer;
    size_t hostlen = 0;
    if (host.n == 0 || hostmap_lookup(p->cfg.map, host.p, host.n, &customer, p->host,
                                      sizeof p->host, &hostlen) != 0) {
        reject(p, PROC_UNKNOWN_HOST, src, srclen, off, line, n, out);
        return;
    }
    char country[3] = "ZZ";
    p->region[0] = p->region_name[0] = 0;
    if (p->cfg.geo)
        geo_lookup_named(p->cfg.geo, rec.remote_addr.p, rec.remote_addr.n, country, p->region,
                         sizeof p->region, p->region_name, sizeof p->region_name);
    hit_t h = {.ts_ms = rec.ts_ms,
               .customer = customer,
               .host = {p->host, hostlen},
               .bytes = rec.bytes,
               .status = rec.status,
               .country = {country, 2},
               .region = s_of(p->region),
               .edge = (slice_t){p->cfg.edge, p->edge_len},
               .src = {src, srclen},
               .off = off,
               .cache = cache_word(p, rec.cache),
               .region_name = s_of(p->region_name)};
    int v = hit_validate(&h, p->cfg.now_ms(), &p->cfg.tswin);
    if (v != HITV_OK) {
        reject(p, of_hitv(v), src, srclen, off, line, n, out);
        return;
    }
    int len = hit_encode(&h, p->buf, sizeof p->buf);
    if (len < 0) {
        /* A value no reader could take back (a src or edge longer than HIT_STR_MAX; bytes
         * cannot get here, hit_validate bounds them): the line is refused, never published as
         * an empty record. */
        reject(p, PROC_PARSE, src, srclen, off, line, n, out);
        return;
    }
    out->kind = PROC_HIT;
    out->ts_ms = rec.ts_ms;
    out->key = customer.p;
    out->keylen = customer.n;
    out->val = p->buf;
    out->n = len < 0 ? 0 : (size_t)len;
}
