/* api.c: see api.h. libmicrohttpd calls on_uri once per request with the raw request target
 * (we route it there, with route.c, before MHD's own decoding), then on_request, which applies
 * the bounds (rate, method, body) and answers; on_done frees the request's state. */
#include "api.h"

#include "cli.h"
#include "clock.h"
#include "dashboard_assets.h"
#include "heartbeat.h"
#include "httpd.h"
#include "jsonw.h"
#include "log.h"
#include "opsd.h"
#include "ratelimit.h"
#include "route.h"
#include "tokens.h"
#include "winjson.h"
#include "xff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define API_ERROR_JSON_MAX 1024 /* {"error": ...} of a message of ROUTE_ERROR_MAX or so */
#define API_WHOSE_MAX 64        /* customers /v1/token lists */
#define API_CUSTOMERS_MAX 1000  /* customers /v1/customers lists (the first, by id) */

/* The page's policy, sent with every answer: this origin only, no inline script or style. */
#define API_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* ---- metrics --------------------------------------------------------------------------------- */

#define HTTP_HELP "HTTP requests answered by the aggregator, by status code"
#define HTTP_CODE(c)                                                                               \
    METRIC_COUNTER("http_" #c, "aggregator_http_requests_total", "code=\"" #c "\"", HTTP_HELP)
static metric_t m_window = METRIC_COUNTER("window_queries", "aggregator_window_queries_total", NULL,
                                          "Window reads answered with 200");
static metric_t m_http[] = {HTTP_CODE(200), HTTP_CODE(304), HTTP_CODE(400), HTTP_CODE(401),
                            HTTP_CODE(403), HTTP_CODE(404), HTTP_CODE(405), HTTP_CODE(413),
                            HTTP_CODE(414), HTTP_CODE(429), HTTP_CODE(500), HTTP_CODE(503)};
static const unsigned http_codes[] = {200, 304, 400, 401, 403, 404, 405, 413, 414, 429, 500, 503};
static metric_t m_tokens =
    METRIC_GAUGE("tokens", "aggregator_tokens", NULL, "Entries of the tokens file in use");
static metric_t m_reload_ok = METRIC_COUNTER("token_reloads", "aggregator_token_reloads_total",
                                             "result=\"ok\"", "Re-reads of the tokens file");
static metric_t m_reload_err = METRIC_COUNTER(
    "token_reload_errors", "aggregator_token_reloads_total", "result=\"error\"", "unused");

static metric_t m_xff[] = {
    METRIC_COUNTER("client_from_xff", "aggregator_http_client_address_total",
                   "source=\"forwarded_for\"",
                   "Requests keyed for the rate limit by the address X-Forwarded-For names (a "
                   "trusted peer's), or by the peer's own address"),
    METRIC_COUNTER("client_from_peer", "aggregator_http_client_address_total", "source=\"peer\"",
                   ""),
};

metric_t *const api_metrics[] = {
    &m_window,
    &m_http[0],
    &m_http[1],
    &m_http[2],
    &m_http[3],
    &m_http[4],
    &m_http[5],
    &m_http[6],
    &m_http[7],
    &m_http[8],
    &m_http[9],
    &m_http[10],
    &m_http[11],
    &m_tokens,
    &m_reload_ok,
    &m_reload_err,
    &metrics_rss,
    /* the server's (httpd.h): open connections, those closed for a deadline or for room */
    &httpd_m_open,
    &httpd_m_head,
    &httpd_m_req,
    &httpd_m_room,
    &httpd_m_perip,
    &httpd_m_badline,
    &httpd_m_badhead,
    &httpd_m_suppressed,
    &m_xff[0],
    &m_xff[1],
};
const size_t api_nmetrics = sizeof api_metrics / sizeof api_metrics[0];

static void count_code(unsigned code) {
    for (size_t i = 0; i < sizeof http_codes / sizeof http_codes[0]; i++)
        if (http_codes[i] == code) metric_add(&m_http[i], 1);
}

/* ---- the server ------------------------------------------------------------------------------ */

struct api {
    httpd_t *d;
    char *tokens_path;
    pthread_rwlock_t lock; /* guards tokens: readers check, api_reload_tokens swaps */
    tokens_t *tokens;
    win_reader_t reader;
    cv_t *cv;                 /* the window's extras; NULL: none */
    metric_t *const *metrics; /* the program's, borrowed */
    size_t nmetrics;
    int (*ready)(void *ctx);
    void *ready_ctx;
    api_status_fn status;
    void *status_ctx;
    size_t (*extra_metrics)(void *ctx, char *buf, size_t cap);
    void *extra_ctx;
    rl_t *rl;
    xff_nets_t trusted; /* --trusted-proxy; n == 0: X-Forwarded-For is never read */
};

/* One request's state, from on_uri to on_done. */
typedef struct req {
    route_t route;
} req_t;

/* ---- answers ------------------------------------------------------------------------------- */

/* Queues r (taking it) with the headers every answer carries; cache is Cache-Control. */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, struct MHD_Response *r,
                              const char *cache) {
    if (!r) return MHD_NO; /* out of memory: MHD closes the connection */
    MHD_add_response_header(r, "Cache-Control", cache);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", API_CSP);
    count_code(code);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static struct MHD_Response *body_copy(const char *type, const void *p, size_t n) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (r) MHD_add_response_header(r, "Content-Type", type);
    return r;
}

/* Takes buf (malloc'd): MHD frees it once sent. */
static struct MHD_Response *body_owned(const char *type, char *buf, size_t n) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(buf);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", type);
    return r;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *s) {
    return answer(c, code, body_copy("text/plain; charset=utf-8", s, strlen(s)), "no-store");
}

/* {"error": msg} with code, and one more header hname: hvalue unless hname is NULL. */
static enum MHD_Result json_error(struct MHD_Connection *c, unsigned code, const char *msg,
                                  const char *hname, const char *hvalue) {
    char buf[API_ERROR_JSON_MAX];
    jsonw_t j;
    jsonw_init(&j, buf, sizeof buf);
    JSONW_LIT(&j, "{\"error\":");
    jsonw_str(&j, msg, strnlen(msg, ROUTE_ERROR_MAX * 2));
    JSONW_LIT(&j, "}\n");
    int n = jsonw_len(&j);
    struct MHD_Response *r = body_copy("application/json", buf, n < 0 ? 0 : (size_t)n);
    if (r && hname) MHD_add_response_header(r, hname, hvalue);
    return answer(c, code, r, "no-store");
}

/* ---- authorization --------------------------------------------------------------------------- */

/* The verdict on the request's bearer token for customer; *sent says whether one was sent. */
static tokens_verdict_t authorize(api_t *a, struct MHD_Connection *c, const char *customer,
                                  int *sent) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *tok;
    size_t n;
    *sent = h != NULL;
    if (!h || route_bearer(h, strlen(h), &tok, &n) < 0) return TOKENS_UNKNOWN;
    pthread_rwlock_rdlock(&a->lock);
    tokens_verdict_t v = tokens_check(a->tokens, tok, n, customer);
    pthread_rwlock_unlock(&a->lock);
    return v;
}

static enum MHD_Result unauthorized(struct MHD_Connection *c, int sent) {
    if (!sent)
        return json_error(c, 401, "no bearer token: send Authorization: Bearer TOKEN",
                          "WWW-Authenticate", "Bearer realm=\"aggregator\"");
    return json_error(c, 401, "the bearer token is not valid", "WWW-Authenticate",
                      "Bearer realm=\"aggregator\", error=\"invalid_token\"");
}

/* ---- the window ------------------------------------------------------------------------------ */

static enum MHD_Result serve_window(api_t *a, struct MHD_Connection *c, const route_t *r) {
    int sent;
    tokens_verdict_t v = authorize(a, c, r->customer, &sent);
    if (v == TOKENS_UNKNOWN) return unauthorized(c, sent);
    /* A malformed customer id is a bad request whoever asks; only then is the token's reach
     * told (403), and last the query (400). */
    if (r->error[0] && !r->customer[0]) return json_error(c, 400, r->error, NULL, NULL);
    if (v == TOKENS_FORBIDDEN) {
        char msg[ROUTE_ERROR_MAX];
        snprintf(msg, sizeof msg, "this token may not read customer %s", r->customer);
        return json_error(c, 403, msg, NULL, NULL);
    }
    if (r->error[0]) return json_error(c, 400, r->error, NULL, NULL);
    win_result_t w;
    wms_status_t st = {0};
    int64_t now = clock_wall_ms();
    int rc = a->reader.read(a->reader.ctx, r->customer, r->seconds, now, &w);
    if (rc >= 0) {
        int64_t from = w.end_ms - (int64_t)(w.seconds - 1) * 1000;
        if (!a->status)
            st.complete_to_ms = w.end_ms;
        else if (a->status(a->status_ctx, r->customer, now, from, w.end_ms, &st) < 0)
            rc = -1;
    }
    cv_result_t cv = {0};
    if (rc >= 0 && a->cv && cv_read(a->cv, r->customer, r->seconds, now, &w, &cv) < 0) rc = -1;
    size_t len = 0;
    char *body = rc < 0 ? NULL : winjson(r->customer, &w, &st, a->cv ? &cv : NULL, &len);
    cv_result_free(&cv);
    win_result_free(&w);
    wms_status_free(&st);
    if (!body) return json_error(c, 500, "out of memory", NULL, NULL);
    metric_add(&m_window, 1);
    return answer(c, 200, body_owned("application/json", body, len), "no-store");
}

/* {"operator": bool, "customers": [...]}: what the dashboard needs after sign-in. */
static enum MHD_Result serve_token(api_t *a, struct MHD_Connection *c) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *tok, *cs[API_WHOSE_MAX];
    size_t n, k = 0;
    int op = 0;
    if (!h || route_bearer(h, strlen(h), &tok, &n) < 0) return unauthorized(c, h != NULL);
    pthread_rwlock_rdlock(&a->lock);
    k = tokens_whose(a->tokens, tok, n, &op, cs, API_WHOSE_MAX);
    char buf[API_WHOSE_MAX * (TOKENS_CUSTOMER_MAX + 4) + 64];
    jsonw_t j;
    jsonw_init(&j, buf, sizeof buf);
    JSONW_LIT(&j, "{\"operator\":");
    if (op)
        JSONW_LIT(&j, "true");
    else
        JSONW_LIT(&j, "false");
    JSONW_LIT(&j, ",\"customers\":[");
    for (size_t i = 0; i < k; i++) {
        if (i) JSONW_LIT(&j, ",");
        jsonw_str(&j, cs[i], strlen(cs[i])); /* ids are plain ASCII: never escaped longer */
    }
    JSONW_LIT(&j, "]}\n");
    pthread_rwlock_unlock(&a->lock); /* cs points into the set until here */
    int len = jsonw_len(&j);
    if (k == 0 && !op) return unauthorized(c, 1);
    if (len < 0) return json_error(c, 500, "customer list too long", NULL, NULL);
    return answer(c, 200, body_copy("application/json", buf, (size_t)len), "no-store");
}

/* One entry of /v1/customers. */
static void put_customer(jsonw_t *j, size_t i, const char *id, int active) {
    if (i) JSONW_LIT(j, ",");
    JSONW_LIT(j, "{\"customer\":");
    jsonw_str(j, id, strlen(id));
    if (active)
        JSONW_LIT(j, ",\"active\":true}");
    else
        JSONW_LIT(j, ",\"active\":false}");
}

/* The operator's list: the tokens file's customers and the active ones, merged by id (both
 * lists sorted, each cut at API_CUSTOMERS_MAX: the first API_CUSTOMERS_MAX of the union are
 * in them). Returns 1 when the union is longer than what was written. The caller holds the
 * tokens lock. */
static int operator_list(api_t *a, jsonw_t *j, const char **named,
                         char (*act)[CV_CUSTOMER_MAX + 1]) {
    size_t nn = tokens_customers(a->tokens, named, API_CUSTOMERS_MAX), na = 0, total = 0;
    if (a->cv) na = cv_customers(a->cv, clock_wall_ms(), act, API_CUSTOMERS_MAX);
    size_t in = nn < API_CUSTOMERS_MAX ? nn : API_CUSTOMERS_MAX;
    size_t ia = na < API_CUSTOMERS_MAX ? na : API_CUSTOMERS_MAX, x = 0, y = 0;
    while ((x < in || y < ia) && total < API_CUSTOMERS_MAX) {
        int c = x == in ? 1 : y == ia ? -1 : strcmp(named[x], act[y]);
        put_customer(j, total++, c <= 0 ? named[x] : act[y], c >= 0);
        x += c <= 0;
        y += c >= 0;
    }
    return x < nn || y < na;
}

/* {"operator", "customers": [{"customer", "active"}], "truncated"}: whom the token
 * may pick from; active: a hit in the last hour (custview.h). */
static enum MHD_Result serve_customers(api_t *a, struct MHD_Connection *c) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *tok, *cs[API_WHOSE_MAX];
    size_t n, k;
    int op = 0, cut = 0;
    if (!h || route_bearer(h, strlen(h), &tok, &n) < 0) return unauthorized(c, h != NULL);
    size_t cap = (size_t)API_CUSTOMERS_MAX * (TOKENS_CUSTOMER_MAX + 40) + 128;
    char *buf = malloc(cap);
    const char **named = malloc(API_CUSTOMERS_MAX * sizeof *named);
    char(*act)[CV_CUSTOMER_MAX + 1] = malloc(API_CUSTOMERS_MAX * sizeof *act);
    if (!buf || !named || !act) {
        free(buf), free(named), free(act);
        return json_error(c, 500, "out of memory", NULL, NULL);
    }
    jsonw_t j;
    jsonw_init(&j, buf, cap);
    pthread_rwlock_rdlock(&a->lock);
    k = tokens_whose(a->tokens, tok, n, &op, cs, API_WHOSE_MAX);
    JSONW_LIT(&j, "{\"operator\":");
    if (op)
        JSONW_LIT(&j, "true,\"customers\":[");
    else
        JSONW_LIT(&j, "false,\"customers\":[");
    if (op) {
        cut = operator_list(a, &j, named, act);
    } else {
        for (size_t i = 0; i < k; i++)
            put_customer(&j, i, cs[i], a->cv && cv_active(a->cv, cs[i], clock_wall_ms()));
    }
    pthread_rwlock_unlock(&a->lock); /* cs and named point into the set until here */
    if (cut)
        JSONW_LIT(&j, "],\"truncated\":true}\n");
    else
        JSONW_LIT(&j, "],\"truncated\":false}\n");
    int len = jsonw_len(&j);
    free(named);
    free(act);
    if (k == 0 && !op) {
        free(buf);
        return unauthorized(c, 1);
    }
    if (len < 0) {
        free(buf);
        return json_error(c, 500, "customer list too long", NULL, NULL);
    }
    return answer(c, 200, body_owned("application/json", buf, (size_t)len), "no-store");
}

/* ---- the other endpoints -------------------------------------------------------------------- */

static enum MHD_Result serve_metrics(api_t *a, struct MHD_Connection *c) {
    size_t len = 0;
    char *buf = metrics_page(a->metrics, a->nmetrics, api_metrics, api_nmetrics, a->extra_metrics,
                             a->extra_ctx, &len);
    if (!buf) return text(c, 500, "metrics do not fit\n");
    return answer(c, 200, body_owned("text/plain; version=0.0.4; charset=utf-8", buf, len),
                  "no-store");
}

static enum MHD_Result serve_asset(struct MHD_Connection *c, const char *name) {
    const dash_asset_t *f = NULL;
    for (size_t i = 0; i < dash_nassets && !f; i++)
        if (strcmp(dash_assets[i].name, name) == 0) f = &dash_assets[i];
    if (!f) return json_error(c, 404, "not found", NULL, NULL);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *r;
    unsigned code = 200;
    if (inm && strstr(inm, f->etag)) { /* the browser's copy is this one */
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        code = 304;
    } else {
        r = MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
        if (r) MHD_add_response_header(r, "Content-Type", f->type);
    }
    if (r) MHD_add_response_header(r, "ETag", f->etag);
    /* no-cache: the browser keeps the file but asks each time (a 304 when unchanged), so a new
     * binary's page is seen at once. */
    return answer(c, code, r, "no-cache");
}

/* ---- requests ------------------------------------------------------------------------------- */

/* The X-Forwarded-For lines of c, the last XFF_VALUES_MAX of them, in order. */
typedef struct xff_lines {
    const char *v[XFF_VALUES_MAX];
    size_t len[XFF_VALUES_MAX];
    size_t n, seen;
} xff_lines_t;

static enum MHD_Result xff_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                size_t key_size, const char *value, size_t value_size) {
    xff_lines_t *l = cls;
    (void)kind;
    if (key_size != 15 || strncasecmp(key, "X-Forwarded-For", 15) != 0) return MHD_YES;
    size_t at = l->seen++ % XFF_VALUES_MAX; /* a ring: the last lines are the proxies' own */
    l->v[at] = value ? value : "";
    l->len[at] = value ? value_size : 0;
    return MHD_YES;
}

/* The rate limiter's key for the client: httpd.h's address key (IPv4, or an IPv6 /64) of the
 * peer, or, when the peer is a trusted proxy (--trusted-proxy), of the client X-Forwarded-For
 * names (xff.h: the walk from the right, strict; garbage means the peer). */
static size_t client_key(const api_t *a, struct MHD_Connection *c, unsigned char key[RL_KEY_MAX]) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci) return 0;
    if (a->trusted.n && xff_trusted_sa(&a->trusted, ci->client_addr)) {
        xff_lines_t l = {.n = 0};
        MHD_get_connection_values_n(c, MHD_HEADER_KIND, xff_line, &l);
        size_t n = l.seen < XFF_VALUES_MAX ? l.seen : XFF_VALUES_MAX;
        const char *v[XFF_VALUES_MAX];
        size_t len[XFF_VALUES_MAX];
        for (size_t i = 0; i < n; i++) { /* oldest first */
            size_t at = (l.seen - n + i) % XFF_VALUES_MAX;
            v[i] = l.v[at];
            len[i] = l.len[at];
        }
        size_t kn = xff_client(&a->trusted, v, len, n, key);
        if (kn) {
            metric_add(&m_xff[0], 1);
            return kn;
        }
    }
    metric_add(&m_xff[1], 1);
    return httpd_addr_key(ci->client_addr, key);
}

/* httpd's question at accept: is this peer a trusted proxy (not counted per address)? */
static int peer_trusted(void *ctx, const void *sa) {
    const api_t *a = ctx;
    return xff_trusted_sa(&a->trusted, sa);
}

/* 413 unless the request announces no body. */
static int has_body(struct MHD_Connection *c) {
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
    return te != NULL || (cl && strspn(cl, "0") != strlen(cl));
}

static enum MHD_Result dispatch(api_t *a, struct MHD_Connection *c, const route_t *r) {
    switch (r->kind) {
    case ROUTE_WINDOW:
        return serve_window(a, c, r);
    case ROUTE_TOKEN:
        return serve_token(a, c);
    case ROUTE_CUSTOMERS:
        return serve_customers(a, c);
    case ROUTE_METRICS:
        return serve_metrics(a, c);
    case ROUTE_HEALTHZ: { /* the main loop's heartbeat (heartbeat.h), as on --metrics-listen */
        char why[256], msg[300];
        if (hb_alive(NULL, why, sizeof why)) return text(c, 200, "ok\n");
        snprintf(msg, sizeof msg, "stalled: %s\n", why);
        return text(c, 503, msg);
    }
    case ROUTE_READYZ:
        if (!a->ready || a->ready(a->ready_ctx)) return text(c, 200, "ready\n");
        return text(c, 503, "not ready: catching up: reading the last minute of the hits topic\n");
    case ROUTE_ASSET:
        return serve_asset(c, r->asset);
    case ROUTE_TOO_LONG:
        return json_error(c, 414, "request target too long", NULL, NULL);
    case ROUTE_NOT_FOUND:
        break;
    }
    return json_error(c, 404, "not found", NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
    api_t *a = cls;
    req_t *q = *req_cls;
    (void)url; /* already decoded by MHD: we route the raw target, kept by on_uri */
    (void)version;
    (void)upload;
    if (*upload_size) { /* only when a body came anyway: it is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (!q) return json_error(c, 500, "out of memory", NULL, NULL);
    unsigned char key[RL_KEY_MAX];
    size_t kn = client_key(a, c, key);
    int64_t wait = rl_take(a->rl, key, kn, clock_mono_ms());
    if (wait > 0) {
        char secs[24];
        snprintf(secs, sizeof secs, "%lld", (long long)((wait + 999) / 1000));
        return json_error(c, 429, "too many requests from this address", "Retry-After", secs);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return json_error(c, 405, "only GET and HEAD are served", "Allow", "GET, HEAD");
    if (has_body(c)) return json_error(c, 413, "requests carry no body here", NULL, NULL);
    return dispatch(a, c, &q->route);
}

/* Called with the raw target before MHD decodes it; what it returns is the request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    (void)cls;
    (void)c;
    req_t *q = malloc(sizeof *q);
    if (q) route_parse(uri, strnlen(uri, ROUTE_TARGET_MAX + 1), &q->route);
    return q;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

/* ---- start, reload, stop -------------------------------------------------------------------- */

api_t *api_start(const api_opts_t *o, char *err, size_t errlen) {
    api_t *a = calloc(1, sizeof *a);
    struct sockaddr_storage ss;
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_rwlock_init(&a->lock, NULL);
    a->reader = win_reader_local(o->win);
    a->cv = o->cv;
    a->metrics = o->metrics;
    a->nmetrics = o->nmetrics;
    a->ready = o->ready;
    a->ready_ctx = o->ready_ctx;
    a->status = o->status;
    a->status_ctx = o->status_ctx;
    a->extra_metrics = o->extra_metrics;
    a->extra_ctx = o->extra_ctx;
    if (o->trusted) a->trusted = *o->trusted;
    unsigned rate = o->rate_per_s ? o->rate_per_s : API_RATE_DEFAULT;
    if (rate > API_RATE_MAX) rate = API_RATE_MAX; /* keeps the burst below UINT_MAX */
    a->rl = rl_new(rate, rate * API_BURST_FACTOR);
    a->tokens_path = strdup(o->tokens_path ? o->tokens_path : "");
    if (!a->rl || !a->tokens_path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    a->tokens = tokens_load(a->tokens_path, err, errlen);
    if (!a->tokens) goto fail;
    metric_set(&m_tokens, (int64_t)tokens_size(a->tokens));
    if (opsd_parse_addr("--listen", o->listen ? o->listen : "", &ss, err, errlen) < 0) goto fail;
    httpd_opts_t ho = {.addr = &ss,
                       .name = "http server",
                       .threads = API_THREADS,
                       .connections = API_CONNECTIONS,
                       .per_ip = API_CONNECTIONS_PER_IP,
                       .conn_memory = API_CONNECTION_MEMORY,
                       .handler = on_request,
                       .handler_ctx = a,
                       .done = on_done,
                       .uri = on_uri,
                       .trusted_peer = a->trusted.n ? peer_trusted : NULL,
                       .trusted_ctx = a};
    a->d = httpd_start(&ho);
    if (!a->d) {
        snprintf(err, errlen, "--listen %s: cannot listen: %s", o->listen, opsd_bind_problem(&ss));
        goto fail;
    }
    return a;
fail:
    tokens_free(a->tokens);
    rl_free(a->rl);
    free(a->tokens_path);
    pthread_rwlock_destroy(&a->lock);
    free(a);
    return NULL;
}

int api_reload_tokens(api_t *a, char *err, size_t errlen) {
    tokens_t *t = tokens_load(a->tokens_path, err, errlen);
    if (!t) {
        metric_add(&m_reload_err, 1);
        return -1;
    }
    pthread_rwlock_wrlock(&a->lock);
    tokens_t *old = a->tokens;
    a->tokens = t;
    pthread_rwlock_unlock(&a->lock);
    tokens_free(old); /* no reader holds it: they hold the lock while they use it */
    metric_set(&m_tokens, (int64_t)tokens_size(t));
    metric_add(&m_reload_ok, 1);
    return 0;
}

unsigned api_port(const api_t *a) {
    return httpd_port(a->d);
}

void api_stop(api_t *a) {
    if (!a) return;
    httpd_stop(a->d);
    tokens_free(a->tokens);
    rl_free(a->rl);
    free(a->tokens_path);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}
