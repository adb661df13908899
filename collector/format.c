#include "format.h"

#include "logtime.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRESET_COMBINED                                                                            \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "             \
    "\"$http_referer\" \"$http_user_agent\""
/* Apache's vhost_combined: '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'. $host
 * ends at the first ':', so the port is not part of it. */
#define PRESET_VHOST_COMBINED                                                                      \
    "$host:$server_port $remote_addr $remote_ident $remote_user [$time_local] \"$request\" "       \
    "$status $bytes_sent \"$http_referer\" \"$http_user_agent\""

/* Longest time field kept in the one-entry cache: an ISO 8601 time with 9 fractional digits
 * and an offset is 35 bytes. */
#define TIME_CACHE_MAX 40

/* What a field is read for. ROLE_SKIP fields are matched, then forgotten. */
enum role {
    ROLE_SKIP,
    ROLE_ADDR,
    ROLE_HOST,
    ROLE_TIME,
    ROLE_STATUS,
    ROLE_BYTES,
    ROLE_CACHE,
    ROLE_COUNT
};
enum timekind { TIME_LOCAL, TIME_ISO8601, TIME_MSEC };

/* The variables that fill a role, best first: the first of them present in a format wins. The
 * same names are the keys of the json format. */
static const struct known_var {
    const char *name;
    unsigned char role;
    unsigned char timekind;
} known_vars[] = {
    /* clang-format off */
    {"remote_addr", ROLE_ADDR, 0},
    {"host", ROLE_HOST, 0},
    {"http_host", ROLE_HOST, 0},
    {"server_name", ROLE_HOST, 0},
    {"msec", ROLE_TIME, TIME_MSEC},
    {"time_iso8601", ROLE_TIME, TIME_ISO8601},
    {"time_local", ROLE_TIME, TIME_LOCAL},
    {"status", ROLE_STATUS, 0},
    {"bytes_sent", ROLE_BYTES, 0},
    {"body_bytes_sent", ROLE_BYTES, 0},
    {"upstream_cache_status", ROLE_CACHE, 0},
    /* clang-format on */
};
#define KNOWN_VARS (sizeof known_vars / sizeof known_vars[0])

typedef struct field {
    const char *term; /* the literal after the field (points into spec); empty only last */
    size_t termn;
    unsigned char role;    /* enum role */
    unsigned char quoted;  /* between '"'s: ends at the first quote no backslash escapes */
    unsigned char lenient; /* last field, quoted, only '"' after it: may be cut off unclosed */
} field_t;

struct format {
    int json;     /* the json format: none of the text fields below are used */
    int timekind; /* enum timekind of the time field (text formats) */
    int has_host;
    char *spec;         /* own copy of the text format: the literals point into it */
    const char *prefix; /* literal text before the first field */
    size_t prefixn;
    field_t fields[FORMAT_MAX_FIELDS];
    size_t nfields;
    char *scratch; /* json: the current line's strings, unescaped */
    size_t scratch_cap;
    char tcache[TIME_CACHE_MAX]; /* the last time field parsed, and its value */
    size_t tcache_n;             /* 0: empty */
    int64_t tcache_ms;
};

static void errf(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- compiling a log_format string ------------------------------------------------------- */

static int is_name_byte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Reads the variable after the '$' at s[i]: its name, and the index just past it. -1 if there
 * is no name (a lone '$', "${}", or "${name" without '}'). */
static int read_var(const char *s, size_t n, size_t i, const char **name, size_t *namen,
                    size_t *next) {
    size_t j = i + 1;
    int braced = j < n && s[j] == '{';
    size_t start = j + braced;
    for (j = start; j < n && is_name_byte(s[j]); j++)
        ;
    if (j == start) return -1;
    if (braced && (j >= n || s[j] != '}')) return -1;
    *name = s + start;
    *namen = j - start;
    *next = j + braced;
    return 0;
}

/* Chooses, for every role, the best variable the format holds, and marks its first occurrence;
 * then checks that the required roles are filled. */
static int assign_roles(format_t *f, const slice_t *names, char *err, size_t errlen) {
    int filled[ROLE_COUNT] = {0};
    for (size_t v = 0; v < KNOWN_VARS; v++) {
        const struct known_var *kv = &known_vars[v];
        if (filled[kv->role]) continue;
        for (size_t k = 0; k < f->nfields; k++) {
            if (names[k].n != strlen(kv->name) || memcmp(names[k].p, kv->name, names[k].n) != 0)
                continue;
            f->fields[k].role = kv->role;
            if (kv->role == ROLE_TIME) f->timekind = kv->timekind;
            filled[kv->role] = 1;
            break;
        }
    }
    f->has_host = filled[ROLE_HOST];
    if (!filled[ROLE_ADDR])
        errf(err, errlen, "--format: no $remote_addr (the client address, for geolocation)");
    else if (!filled[ROLE_TIME])
        errf(err, errlen, "--format: no time variable ($time_local, $time_iso8601 or $msec)");
    else if (!filled[ROLE_STATUS])
        errf(err, errlen, "--format: no $status");
    else if (!filled[ROLE_BYTES])
        errf(err, errlen, "--format: no $bytes_sent or $body_bytes_sent");
    else
        return 0;
    return -1;
}

/* Gives the literal [p, p+n) to the field before it, or makes it the prefix. Only the literal
 * at the end of the format (at_end) may be empty: the last field then takes the rest of the line;
 * names[nfields] is the variable that follows the literal otherwise. */
static int set_literal(format_t *f, const char *p, size_t n, int at_end, const slice_t *names,
                       char *err, size_t errlen) {
    if (f->nfields == 0) {
        f->prefix = p;
        f->prefixn = n;
        return 0;
    }
    if (n == 0 && !at_end) {
        const slice_t *a = &names[f->nfields - 1], *b = &names[f->nfields];
        errf(err, errlen, "--format: $%.*s and $%.*s have no text between them", (int)a->n, a->p,
             (int)b->n, b->p);
        return -1;
    }
    f->fields[f->nfields - 1].term = p;
    f->fields[f->nfields - 1].termn = n;
    return 0;
}

/* Splits f->spec into prefix + (field, terminating literal)*, then marks roles and quoting. */
static int compile(format_t *f, char *err, size_t errlen) {
    const char *s = f->spec;
    size_t n = strlen(s), lit = 0, i = 0;
    slice_t names[FORMAT_MAX_FIELDS + 1];
    while (i < n) {
        if (s[i] != '$') {
            i++;
            continue;
        }
        size_t next;
        if (f->nfields == FORMAT_MAX_FIELDS) {
            errf(err, errlen, "--format: more than %d variables", FORMAT_MAX_FIELDS);
            return -1;
        }
        if (read_var(s, n, i, &names[f->nfields].p, &names[f->nfields].n, &next) < 0) {
            errf(err, errlen, "--format: '$' at byte %zu is not followed by a variable name", i);
            return -1;
        }
        if (set_literal(f, s + lit, i - lit, 0, names, err, errlen) < 0) return -1;
        f->fields[f->nfields++] = (field_t){.term = "", .termn = 0};
        lit = i = next;
    }
    if (set_literal(f, s + lit, n - lit, 1, names, err, errlen) < 0) return -1;
    if (assign_roles(f, names, err, errlen) < 0) return -1;
    for (size_t k = 0; k < f->nfields; k++) {
        field_t *fd = &f->fields[k];
        const char *before = k ? f->fields[k - 1].term : f->prefix;
        size_t beforen = k ? f->fields[k - 1].termn : f->prefixn;
        fd->quoted = beforen && before[beforen - 1] == '"' && fd->termn && fd->term[0] == '"';
        fd->lenient = fd->quoted && k + 1 == f->nfields && fd->termn == 1;
    }
    return 0;
}

format_t *format_new(const char *spec, char *err, size_t errlen) {
    format_t *f = calloc(1, sizeof *f);
    if (!f) {
        errf(err, errlen, "--format: out of memory");
        return NULL;
    }
    if (!spec) spec = "";
    if (strcmp(spec, "json") == 0) {
        f->json = 1;
        f->has_host = 1;
        return f;
    }
    if (strcmp(spec, "combined") == 0) spec = PRESET_COMBINED;
    if (strcmp(spec, "vhost_combined") == 0) spec = PRESET_VHOST_COMBINED;
    size_t n = strlen(spec);
    if (n == 0) {
        errf(err, errlen, "--format: empty (give combined, vhost_combined, json or a log_format)");
        goto fail;
    }
    if (n > FORMAT_SPEC_MAX) {
        errf(err, errlen, "--format: longer than %d bytes", FORMAT_SPEC_MAX);
        goto fail;
    }
    f->spec = strdup(spec);
    if (!f->spec) {
        errf(err, errlen, "--format: out of memory");
        goto fail;
    }
    if (compile(f, err, errlen) < 0) goto fail;
    return f;
fail:
    format_free(f);
    return NULL;
}

void format_free(format_t *f) {
    if (!f) return;
    free(f->spec);
    free(f->scratch);
    free(f);
}

int format_has_host(const format_t *f) {
    return f->has_host;
}

/* ---- field values ------------------------------------------------------------------------- */

/* A 3-digit status 100..999, as nginx and Apache print it. */
static int parse_status(const char *p, size_t n, int *status) {
    if (n != 3) return -1;
    int v = 0;
    for (size_t i = 0; i < 3; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9) return -1;
        v = v * 10 + (int)d;
    }
    if (v < 100) return -1;
    *status = v;
    return 0;
}

/* A byte count: decimal digits that fit uint64_t, or "-" (Apache's %b for no body) as 0. */
static int parse_bytes(const char *p, size_t n, uint64_t *bytes) {
    if (n == 1 && p[0] == '-') {
        *bytes = 0;
        return 0;
    }
    if (n == 0) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *bytes = v;
    return 0;
}

/* A time field of this format's kind; consecutive lines mostly share one second, so the last
 * value is kept and reused when the next field is the same text. */
static int parse_time(format_t *f, int kind, const char *p, size_t n, int64_t *ms) {
    if (kind != TIME_MSEC && n && n == f->tcache_n && memcmp(p, f->tcache, n) == 0) {
        *ms = f->tcache_ms;
        return 0;
    }
    int rc = kind == TIME_LOCAL     ? logtime_parse_local(p, n, ms)
             : kind == TIME_ISO8601 ? logtime_parse_iso8601(p, n, ms)
                                    : logtime_parse_msec(p, n, ms);
    if (rc == 0 && n <= TIME_CACHE_MAX) {
        memcpy(f->tcache, p, n);
        f->tcache_n = n;
        f->tcache_ms = *ms;
    }
    return rc;
}

static int is_dash(slice_t s) {
    return s.n == 1 && s.p[0] == '-';
}

/* ---- text formats ------------------------------------------------------------------------- */

/* Whether a[0..n) == b[0..n). The literals of log formats are a few bytes long: a loop beats a
 * call to memcmp (measured: memcmp calls took 30% of the time of the combined format). */
static inline int same(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* First occurrence of t[0..tn) (tn >= 1) in [p, end), or NULL. memchr finds candidates, as the
 * first byte of a literal is rare within the field before it; after TERM_MISSES_MAX false
 * candidates memmem (linear: two-way) takes over, so that no line costs O(len * tn). */
#define TERM_MISSES_MAX 8
static const char *find_term(const char *p, const char *end, const char *t, size_t tn) {
    for (int misses = 0; misses < TERM_MISSES_MAX; misses++) {
        const char *q = memchr(p, t[0], (size_t)(end - p));
        if (!q || (size_t)(end - q) < tn) return NULL;
        if (same(q + 1, t + 1, tn - 1)) return q;
        p = q + 1;
    }
    return memmem(p, (size_t)(end - p), t, tn);
}

/* First '"' in [p, end) that no backslash escapes (an even run of backslashes before it escapes
 * only themselves), or NULL. Each backslash is looked at at most twice: linear. */
static const char *find_quote(const char *p, const char *end) {
    const char *s = p, *q;
    while ((q = memchr(s, '"', (size_t)(end - s))) != NULL) {
        const char *b = q;
        while (b > p && b[-1] == '\\')
            b--;
        if ((q - b) % 2 == 0) return q;
        s = q + 1;
    }
    return NULL;
}

/* Matches the line against the compiled fields, filling v[role] with each role's text. */
static int match_text(const format_t *f, const char *p, const char *end, slice_t *v) {
    if ((size_t)(end - p) < f->prefixn || !same(p, f->prefix, f->prefixn)) return -1;
    p += f->prefixn;
    for (size_t k = 0; k < f->nfields; k++) {
        const field_t *fd = &f->fields[k];
        const char *stop, *next;
        if (fd->termn == 0) {
            stop = next = end;
        } else if (fd->quoted) {
            stop = find_quote(p, end);
            if (!stop) {
                if (!fd->lenient) return -1;
                stop = next = end;
            } else {
                if ((size_t)(end - stop) < fd->termn || !same(stop, fd->term, fd->termn)) return -1;
                next = stop + fd->termn;
            }
        } else {
            stop = find_term(p, end, fd->term, fd->termn);
            if (!stop) return -1;
            next = stop + fd->termn;
        }
        v[fd->role].p = p;
        v[fd->role].n = (size_t)(stop - p);
        p = next;
    }
    return p == end ? 0 : -1;
}

static int parse_text(format_t *f, const char *line, size_t len, logrec_t *out,
                      const char **reason) {
    slice_t v[ROLE_COUNT] = {{"", 0}, {"", 0}, {"", 0}, {"", 0}, {"", 0}, {"", 0}, {"", 0}};
    *reason = "parse";
    if (match_text(f, line, line + len, v) < 0) return -1;
    if (v[ROLE_ADDR].n == 0) return -1;
    if (parse_status(v[ROLE_STATUS].p, v[ROLE_STATUS].n, &out->status) < 0) return -1;
    if (parse_bytes(v[ROLE_BYTES].p, v[ROLE_BYTES].n, &out->bytes) < 0) return -1;
    out->remote_addr = v[ROLE_ADDR];
    out->host = v[ROLE_HOST];
    if (is_dash(out->host)) out->host.n = 0;
    out->cache = v[ROLE_CACHE];
    if (parse_time(f, f->timekind, v[ROLE_TIME].p, v[ROLE_TIME].n, &out->ts_ms) < 0) {
        *reason = "timestamp";
        return -1;
    }
    return 0;
}

/* ---- json ---------------------------------------------------------------------------------- */

/* The value of the first key of known_vars with this role that obj holds, or NULL. */
static json_t *json_role(json_t *obj, int role, int *timekind) {
    for (size_t v = 0; v < KNOWN_VARS; v++) {
        if (known_vars[v].role != role) continue;
        json_t *x = json_object_get(obj, known_vars[v].name);
        if (!x) continue;
        if (timekind) *timekind = known_vars[v].timekind;
        return x;
    }
    return NULL;
}

/* A JSON string copied into the scratch at *used. The scratch holds len(line) bytes and every
 * string's unescaped form is shorter than its escaped form in the line: they always fit. */
static slice_t json_to_scratch(format_t *f, size_t *used, json_t *s) {
    size_t n = json_string_length(s);
    slice_t r = {f->scratch + *used, n};
    memcpy(f->scratch + *used, json_string_value(s), n);
    *used += n;
    return r;
}

/* status and bytes: a JSON integer, or a string as the text formats have it. */
static int json_fields(json_t *obj, logrec_t *out) {
    json_t *s = json_object_get(obj, "status"), *b = json_role(obj, ROLE_BYTES, NULL);
    if (!s || !b) return -1;
    if (json_is_integer(s)) {
        json_int_t v = json_integer_value(s);
        if (v < 100 || v > 999) return -1;
        out->status = (int)v;
    } else if (!json_is_string(s) ||
               parse_status(json_string_value(s), json_string_length(s), &out->status) < 0) {
        return -1;
    }
    if (json_is_integer(b)) {
        if (json_integer_value(b) < 0) return -1;
        out->bytes = (uint64_t)json_integer_value(b);
    } else if (!json_is_string(b) ||
               parse_bytes(json_string_value(b), json_string_length(b), &out->bytes) < 0) {
        return -1;
    }
    return 0;
}

/* The time: 0, or -1 with *reason "timestamp" for a bad value and "parse" for a bad JSON type
 * or no time key. msec may be a JSON number: it is rounded to the millisecond. */
static int json_time(format_t *f, json_t *obj, int64_t *ms, const char **reason) {
    int kind = TIME_LOCAL;
    json_t *t = json_role(obj, ROLE_TIME, &kind);
    *reason = "parse";
    if (!t) return -1;
    if (json_is_string(t)) {
        if (parse_time(f, kind, json_string_value(t), json_string_length(t), ms) == 0) return 0;
    } else if (kind == TIME_MSEC && json_is_integer(t)) {
        json_int_t v = json_integer_value(t);
        if (v >= 0 && v <= LOGTIME_MS_MAX / 1000) {
            *ms = (int64_t)v * 1000;
            return 0;
        }
    } else if (kind == TIME_MSEC && json_is_real(t)) {
        double v = json_real_value(t) * 1000.0;
        if (v >= 0 && v <= (double)LOGTIME_MS_MAX) { /* NaN fails both: jansson has none anyway */
            *ms = llround(v);
            return 0;
        }
    } else {
        return -1;
    }
    *reason = "timestamp";
    return -1;
}

static int parse_json(format_t *f, const char *line, size_t len, logrec_t *out,
                      const char **reason) {
    int rc = -1;
    *reason = "parse";
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (!obj || !json_is_object(obj)) goto out;
    if (len > f->scratch_cap) {
        char *s = realloc(f->scratch, len);
        if (!s) goto out;
        f->scratch = s;
        f->scratch_cap = len;
    }
    size_t used = 0;
    json_t *addr = json_object_get(obj, "remote_addr"), *host = json_role(obj, ROLE_HOST, NULL);
    if (!json_is_string(addr) || json_string_length(addr) == 0) goto out;
    if (host && !json_is_string(host)) goto out;
    json_t *cache = json_object_get(obj, "upstream_cache_status");
    if (json_fields(obj, out) < 0) goto out;
    out->remote_addr = json_to_scratch(f, &used, addr);
    out->host = (slice_t){"", 0};
    if (host) out->host = json_to_scratch(f, &used, host);
    if (is_dash(out->host)) out->host.n = 0;
    /* the cache word is for the dashboard only: a value of another type is no reason to refuse
     * a billable line, it is just unknown */
    out->cache = (slice_t){"", 0};
    if (json_is_string(cache)) out->cache = json_to_scratch(f, &used, cache);
    if (json_time(f, obj, &out->ts_ms, reason) < 0) goto out;
    rc = 0;
out:
    json_decref(obj);
    return rc;
}

int format_parse(format_t *f, const char *line, size_t len, logrec_t *out, const char **reason) {
    if (len && line[len - 1] == '\r') len--;
    return f->json ? parse_json(f, line, len, out, reason) : parse_text(f, line, len, out, reason);
}
