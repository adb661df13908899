/* The HTTP side answers as CONTRACT.md and api.h say, over real sockets to a real server on an
 * ephemeral port, with a real window store: the window's JSON shape and numbers, 401 / 403 /
 * 400 / 404 / 405 / 413 / 414 / 429 with their JSON bodies and headers, /metrics, /healthz,
 * /readyz, the page with its security headers, token reload (good and bad files), bad start
 * configurations, IPv6. */
#include "../../../aggregator/api.h"
#include "../../../aggregator/tokens.h"

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX (1u << 20)

static api_t *A;
static win_t *W;
static char tokens_path[64];
static int ready_flag;
static metric_t m_prog = METRIC_COUNTER("hits", "aggregator_hits_consumed_total", NULL, "test");
static metric_t *const prog_metrics[] = {&m_prog};

typedef struct resp {
    int code;
    char head[8192]; /* status line and headers */
    char *body;
    size_t blen;
} resp_t;

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static int ready(void *ctx) {
    return *(int *)ctx;
}

static void add(const char *cust, const char *cc, const char *region, uint64_t bytes, int64_t ts) {
    hit_t h = {0};
    h.ts_ms = ts;
    h.customer = (slice_t){cust, strlen(cust)};
    h.host = (slice_t){"h.example", 9};
    h.bytes = bytes;
    h.status = 200;
    h.country = (slice_t){cc, 2};
    h.region = (slice_t){region, strlen(region)};
    h.edge = (slice_t){"e1", 2};
    h.src = (slice_t){"s", 1};
    ck_assert_int_eq(win_add(W, &h, 0, ts), WIN_ADDED);
}

static api_t *start(const char *listen, unsigned rate, char *err, size_t errlen) {
    api_opts_t o = {.listen = listen,
                    .tokens_path = tokens_path,
                    .win = W,
                    .metrics = prog_metrics,
                    .nmetrics = 1,
                    .ready = ready,
                    .ready_ctx = &ready_flag,
                    .rate_per_s = rate};
    return api_start(&o, err, errlen);
}

static void setup(void) {
    char err[512] = "", tokens[1024], ha[TOKENS_HEX_LEN + 1], hg[TOKENS_HEX_LEN + 1],
         ho[TOKENS_HEX_LEN + 1];
    strcpy(tokens_path, "/tmp/test_api_tokens.XXXXXX");
    int fd = mkstemp(tokens_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    tokens_hash_hex("acme-t", 6, ha);
    tokens_hash_hex("globex-t", 8, hg);
    tokens_hash_hex("op-t", 4, ho);
    snprintf(tokens, sizeof tokens, "# test\nacme %s\nglobex %s\n* %s\n", ha, hg, ho);
    write_file(tokens_path, tokens);
    W = win_new();
    ck_assert_ptr_nonnull(W);
    int64_t now = (time(NULL) - 3) * 1000LL; /* whole seconds a little in the past */
    add("acme", "US", "CA", 100, now);
    add("acme", "US", "CA", 100, now - 1000);
    add("acme", "US", "CA", 100, now - 2000);
    add("acme", "US", "NY", 50, now);
    add("acme", "DE", "", 10, now);
    add("acme", "DE", "", 10, now - 1000);
    add("acme", "CA",
        "Qu\xc3\xa9"
        "bec \"x\"",
        7, now);
    add("globex", "FR", "IDF", 5, now);
    ready_flag = 0;
    A = start("127.0.0.1:0", 0, err, sizeof err);
    ck_assert_msg(A != NULL, "api_start: %s", err);
}

static void teardown(void) {
    api_stop(A);
    A = NULL;
    win_free(W);
    unlink(tokens_path);
}

/* Sends raw (a whole request) to 127.0.0.1:port and reads the answer until the server closes. */
static void http_raw(unsigned port, const char *raw, size_t n, resp_t *r) {
    memset(r, 0, sizeof *r);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    for (size_t o = 0; o < n;) {
        ssize_t w = send(fd, raw + o, n - o, MSG_NOSIGNAL);
        if (w <= 0) break; /* the server may answer and close before reading all */
        o += (size_t)w;
    }
    char *buf = malloc(RESP_MAX + 1);
    size_t got = 0;
    ssize_t k;
    while (got < RESP_MAX && (k = recv(fd, buf + got, RESP_MAX - got, 0)) > 0)
        got += (size_t)k;
    close(fd);
    buf[got] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    ck_assert_msg(end != NULL, "no header end in: %.200s", buf);
    size_t hn = (size_t)(end - buf) + 2;
    ck_assert_uint_lt(hn, sizeof r->head);
    memcpy(r->head, buf, hn);
    r->head[hn] = 0;
    ck_assert_int_eq(sscanf(buf, "HTTP/1.%*d %d", &r->code), 1);
    r->blen = got - hn - 2;
    r->body = malloc(r->blen + 1);
    memcpy(r->body, end + 4, r->blen);
    r->body[r->blen] = 0;
    free(buf);
}

static void get(const char *path, const char *token, resp_t *r) {
    char req[8192];
    int n = snprintf(
        req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n%s%s%sConnection: close\r\n\r\n", path,
        token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    http_raw(api_port(A), req, (size_t)n, r);
}

/* The value of header name in r ("" if absent). */
static const char *header(const resp_t *r, const char *name) {
    static char v[1024];
    v[0] = 0;
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        size_t nl = strlen(name);
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *s = p + 3 + nl + strspn(p + 3 + nl, " ");
            size_t len = strcspn(s, "\r\n");
            snprintf(v, sizeof v, "%.*s", (int)len, s);
            break;
        }
    }
    return v;
}

static json_t *json_of(const resp_t *r) {
    json_error_t e;
    json_t *j = json_loadb(r->body, r->blen, 0, &e);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, r->body);
    return j;
}

/* An error answer: code, a JSON body {"error": "..."} holding needle, no caching. */
static void ck_error(const resp_t *r, int code, const char *needle) {
    ck_assert_msg(r->code == code, "code %d, want %d: %s", r->code, code, r->body);
    ck_assert_str_eq(header(r, "Content-Type"), "application/json");
    ck_assert_str_eq(header(r, "Cache-Control"), "no-store");
    json_t *j = json_of(r);
    ck_assert_uint_eq(json_object_size(j), 1);
    const char *msg = json_string_value(json_object_get(j, "error"));
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "error '%s' lacks '%s'", msg, needle);
    json_decref(j);
}

static void done(resp_t *r) {
    free(r->body);
}

START_TEST(test_window_has_the_contract_shape_and_numbers) {
    resp_t r;
    get("/v1/customers/acme/window?seconds=60", "acme-t", &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(header(&r, "Content-Type"), "application/json");
    ck_assert_str_eq(header(&r, "Cache-Control"), "no-store");
    json_t *j = json_of(&r);
    ck_assert_uint_eq(json_object_size(j), 11);
    ck_assert_str_eq(json_string_value(json_object_get(j, "customer")), "acme");
    /* Without a status source (no consumer): complete to end_ms, nobody behind. */
    ck_assert_int_eq(json_integer_value(json_object_get(j, "complete_to_ms")),
                     json_integer_value(json_object_get(j, "end_ms")));
    ck_assert_uint_eq(json_array_size(json_object_get(j, "edges_behind")), 0);
    ck_assert(json_is_false(json_object_get(j, "catching_up")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seconds")), 60);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "hits")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "bytes")), 377);
    json_int_t end = json_integer_value(json_object_get(j, "end_ms"));
    ck_assert_int_eq(end % 1000, 0);
    ck_assert(llabs(end - (json_int_t)time(NULL) * 1000) <= 2000);
    char *cs = json_dumps(json_object_get(j, "countries"), JSON_COMPACT);
    ck_assert_str_eq(cs, "[{\"country\":\"US\",\"hits\":4,\"bytes\":350},"
                         "{\"country\":\"DE\",\"hits\":2,\"bytes\":20},"
                         "{\"country\":\"CA\",\"hits\":1,\"bytes\":7}]");
    free(cs);
    /* Ties on hits go by bytes, most first; strings come back whole, escaped as JSON. */
    char *rs = json_dumps(json_object_get(j, "regions"), JSON_COMPACT);
    ck_assert_str_eq(rs, "[{\"country\":\"US\",\"region\":\"CA\",\"hits\":3,\"bytes\":300},"
                         "{\"country\":\"DE\",\"region\":\"\",\"hits\":2,\"bytes\":20},"
                         "{\"country\":\"US\",\"region\":\"NY\",\"hits\":1,\"bytes\":50},"
                         "{\"country\":\"CA\",\"region\":\"Qu\xc3\xa9"
                         "bec \\\"x\\\"\",\"hits\":1,"
                         "\"bytes\":7}]");
    free(rs);
    json_t *series = json_object_get(j, "series");
    ck_assert_uint_eq(json_array_size(series), 60);
    json_int_t sum = 0, sumb = 0;
    for (size_t i = 0; i < 60; i++) {
        json_t *p = json_array_get(series, i);
        ck_assert_uint_eq(json_object_size(p), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(p, "t_ms")),
                         end - (59 - (int)i) * 1000);
        sum += json_integer_value(json_object_get(p, "hits"));
        sumb += json_integer_value(json_object_get(p, "bytes"));
    }
    ck_assert_int_eq(sum, 7);
    ck_assert_int_eq(sumb, 377);
    json_decref(j);
    done(&r);
}
END_TEST

START_TEST(test_window_seconds_default_and_bounds) {
    resp_t r;
    get("/v1/customers/acme/window", "acme-t", &r);
    ck_assert_int_eq(r.code, 200);
    json_t *j = json_of(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seconds")), 60);
    json_decref(j);
    done(&r);
    get("/v1/customers/acme/window/?seconds=1", "acme-t", &r);
    ck_assert_int_eq(r.code, 200);
    j = json_of(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seconds")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "series")), 1);
    json_decref(j);
    done(&r);
    static const char *const bad[] = {"0", "61", "-1", "1e1", "", "abc", "999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/customers/acme/window?seconds=%s", bad[i]);
        get(path, "acme-t", &r);
        ck_error(&r, 400, "seconds must be a whole number from 1 to 60");
        done(&r);
    }
    get("/v1/customers/acme/window?seconds=5&seconds=5", "acme-t", &r);
    ck_error(&r, 400, "more than once");
    done(&r);
}
END_TEST

START_TEST(test_customer_with_no_traffic_gets_an_empty_window) {
    resp_t r;
    get("/v1/customers/hooli/window?seconds=10", "op-t", &r);
    ck_assert_int_eq(r.code, 200);
    json_t *j = json_of(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "hits")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "countries")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "series")), 10);
    json_decref(j);
    done(&r);
}
END_TEST

START_TEST(test_tokens_decide_401_403_200) {
    resp_t r;
    get("/v1/customers/acme/window", NULL, &r);
    ck_error(&r, 401, "no bearer token");
    ck_assert_str_eq(header(&r, "WWW-Authenticate"), "Bearer realm=\"aggregator\"");
    done(&r);
    get("/v1/customers/acme/window", "wrong", &r);
    ck_error(&r, 401, "not valid");
    ck_assert(strstr(header(&r, "WWW-Authenticate"), "invalid_token") != NULL);
    done(&r);
    get("/v1/customers/acme/window", "globex-t", &r);
    ck_error(&r, 403, "may not read customer acme");
    done(&r);
    get("/v1/customers/globex/window", "globex-t", &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
    get("/v1/customers/acme/window", "op-t", &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
    /* The token is checked before the query: no token, bad query -> 401. */
    get("/v1/customers/acme/window?seconds=0", NULL, &r);
    ck_assert_int_eq(r.code, 401);
    done(&r);
    /* A malformed customer id is a 400 for anyone with a valid token. */
    get("/v1/customers/ac%2Fme/window", "acme-t", &r);
    ck_error(&r, 400, "customer id");
    done(&r);
    char raw[] = "GET /v1/customers/acme/window HTTP/1.1\r\nAuthorization: Basic YTpi\r\n"
                 "Connection: close\r\n\r\n";
    http_raw(api_port(A), raw, strlen(raw), &r);
    ck_error(&r, 401, "not valid");
    done(&r);
}
END_TEST

START_TEST(test_token_endpoint_says_whom_a_token_reads) {
    resp_t r;
    get("/v1/token", "acme-t", &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(r.body, "{\"operator\":false,\"customers\":[\"acme\"]}\n");
    done(&r);
    get("/v1/token", "op-t", &r);
    ck_assert_str_eq(r.body, "{\"operator\":true,\"customers\":[]}\n");
    done(&r);
    get("/v1/token", "nope", &r);
    ck_error(&r, 401, "not valid");
    done(&r);
}
END_TEST

START_TEST(test_unknown_paths_methods_bodies_and_long_targets) {
    resp_t r;
    get("/v1/customers/acme/windows", "acme-t", &r);
    ck_error(&r, 404, "not found");
    done(&r);
    get("/nothing.js", NULL, &r);
    ck_error(&r, 404, "not found");
    done(&r);
    const char post[] =
        "POST /v1/customers/acme/window HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\nhello";
    http_raw(api_port(A), post, strlen(post), &r);
    ck_error(&r, 405, "only GET and HEAD");
    ck_assert_str_eq(header(&r, "Allow"), "GET, HEAD");
    done(&r);
    const char body[] = "GET /v1/customers/acme/window HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                        "Authorization: Bearer acme-t\r\nConnection: close\r\n\r\nhello";
    http_raw(api_port(A), body, strlen(body), &r);
    ck_error(&r, 413, "no body");
    done(&r);
    const char chunked[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                           "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    http_raw(api_port(A), chunked, strlen(chunked), &r);
    ck_error(&r, 413, "no body");
    done(&r);
    /* One long parameter: libmicrohttpd itself refuses hundreds of tiny ones (431). */
    char *path = malloc(4000);
    strcpy(path, "/v1/customers/acme/window?seconds=5&pad=");
    memset(path + strlen(path), 'x', 3000);
    path[3000] = 0;
    get(path, "acme-t", &r);
    ck_error(&r, 414, "too long");
    done(&r);
    free(path);
}
END_TEST

/* Headers beyond the connection's memory: libmicrohttpd refuses the request itself; nothing
 * leaks (the sanitizer build checks) and the server keeps serving. */
START_TEST(test_oversized_headers_are_refused_by_the_server) {
    size_t n = API_CONNECTION_MEMORY * 2;
    char *raw = malloc(n + 256);
    int k = sprintf(raw, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(raw + k, 'x', n);
    strcpy(raw + k + n, "\r\nConnection: close\r\n\r\n");
    resp_t r;
    http_raw(api_port(A), raw, strlen(raw), &r);
    ck_assert_msg(r.code == 431 || r.code == 413, "code %d", r.code);
    done(&r);
    free(raw);
    get("/healthz", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
}
END_TEST

START_TEST(test_rate_limit_answers_429_with_retry_after) {
    char err[512];
    api_stop(A);
    A = start("127.0.0.1:0", 1, err, sizeof err); /* 1/s, a burst of 2 */
    ck_assert_ptr_nonnull(A);
    resp_t r;
    get("/healthz", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
    get("/healthz", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
    get("/v1/customers/acme/window", "acme-t", &r);
    ck_error(&r, 429, "too many requests");
    ck_assert_str_eq(header(&r, "Retry-After"), "1");
    done(&r);
}
END_TEST

/* The value of the sample line "name value" in /metrics (name with its labels); -1 if none. */
static long long sample(const char *name) {
    resp_t r;
    get("/metrics", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    char key[256];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(r.body, key);
    long long v = p ? atoll(p + strlen(key)) : -1;
    done(&r);
    return v;
}

START_TEST(test_metrics_healthz_readyz) {
    resp_t r;
    /* Counters are per process: compare before and after (the suite may run without fork). */
    long long q0 = sample("aggregator_window_queries_total");
    long long ok0 = sample("aggregator_http_requests_total{code=\"200\"}");
    get("/v1/customers/acme/window", "acme-t", &r);
    done(&r);
    ck_assert_int_eq(sample("aggregator_window_queries_total"), q0 + 1);
    /* the window and the /metrics read just before this one */
    ck_assert_int_eq(sample("aggregator_http_requests_total{code=\"200\"}"), ok0 + 3);
    long long p0 = sample("aggregator_hits_consumed_total");
    metric_add(&m_prog, 41);
    ck_assert_int_eq(sample("aggregator_hits_consumed_total"), p0 + 41);
    ck_assert_int_eq(sample("aggregator_tokens"), 3);
    ck_assert_int_gt(sample("process_resident_memory_bytes"), 1 << 20);
    get("/metrics", NULL, &r);
    ck_assert_str_eq(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    ck_assert(strstr(r.body, "# TYPE aggregator_hits_consumed_total counter\n") != NULL);
    ck_assert(strstr(r.body, "# TYPE process_resident_memory_bytes gauge\n") != NULL);
    /* Each name's HELP and TYPE once, even for the label families. */
    const char *p = strstr(r.body, "# TYPE aggregator_http_requests_total counter\n");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(strstr(p + 1, "# TYPE aggregator_http_requests_total"));
    done(&r);
    get("/healthz", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(r.body, "ok\n");
    done(&r);
    get("/readyz", NULL, &r);
    ck_assert_int_eq(r.code, 503);
    done(&r);
    ready_flag = 1;
    get("/readyz", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
}
END_TEST

/* Every customer on partition 0 of a real wmstate, as feed_status would answer. */
static int status_p0(void *ctx, const char *customer, int64_t now_ms, int64_t from_ms,
                     int64_t end_ms, wms_status_t *out) {
    (void)customer;
    return wms_status(ctx, 0, now_ms, from_ms, end_ms, out);
}

static size_t edge_metrics(void *ctx, char *buf, size_t cap) {
    return wms_metrics(ctx, (int64_t)time(NULL) * 1000, -1, buf, cap, NULL);
}

START_TEST(test_window_carries_completeness_and_metrics_the_edges) {
    char err[512];
    wms_t *wms = wms_new();
    ck_assert_ptr_nonnull(wms);
    int64_t now = (int64_t)time(NULL) * 1000;
    wms_set_partitions(wms, 2);
    wms_partition(wms, 0, 1, now);
    ck_assert_int_eq(wms_note(wms, 0, "edge-ok", 7, now - 1000, now - 500), 0);
    ck_assert_int_eq(wms_note(wms, 0, "edge-late", 9, now - 20000, now - 19000), 0);
    api_stop(A);
    api_opts_t o = {.listen = "127.0.0.1:0",
                    .tokens_path = tokens_path,
                    .win = W,
                    .status = status_p0,
                    .status_ctx = wms,
                    .extra_metrics = edge_metrics,
                    .extra_ctx = wms};
    A = api_start(&o, err, sizeof err);
    ck_assert_msg(A != NULL, "api_start: %s", err);
    resp_t r;
    get("/v1/customers/acme/window", "acme-t", &r);
    ck_assert_int_eq(r.code, 200);
    json_t *j = json_of(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "complete_to_ms")), now - 20000);
    char *eb = json_dumps(json_object_get(j, "edges_behind"), JSON_COMPACT);
    char want[128];
    snprintf(want, sizeof want, "[{\"edge\":\"edge-late\",\"watermark_ms\":%lld}]",
             (long long)(now - 20000));
    ck_assert_str_eq(eb, want);
    free(eb);
    /* partition 1 not read yet: the instance is catching up */
    ck_assert(json_is_true(json_object_get(j, "catching_up")));
    json_decref(j);
    done(&r);
    get("/metrics", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    snprintf(want, sizeof want,
             "\naggregator_edge_watermark_seconds{edge=\"edge-late\"} %lld.000\n",
             (long long)(now - 20000) / 1000);
    ck_assert_ptr_nonnull(strstr(r.body, want));
    ck_assert_ptr_nonnull(strstr(r.body, "\naggregator_edges_behind 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\naggregator_catching_up 1\n"));
    done(&r);
    api_stop(A);
    A = NULL;
    wms_free(wms);
}
END_TEST

START_TEST(test_page_is_served_with_security_headers_and_etag) {
    resp_t r;
    get("/", NULL, &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(header(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert(strstr(header(&r, "Content-Security-Policy"), "default-src 'self'") != NULL);
    ck_assert(strstr(header(&r, "Content-Security-Policy"), "unsafe-inline") == NULL);
    ck_assert_str_eq(header(&r, "X-Content-Type-Options"), "nosniff");
    ck_assert_str_eq(header(&r, "X-Frame-Options"), "DENY");
    ck_assert(strstr(r.body, "<script src=\"app.js\"") != NULL);
    char etag[128];
    snprintf(etag, sizeof etag, "%s", header(&r, "ETag"));
    ck_assert_uint_gt(strlen(etag), 2);
    done(&r);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /index.html HTTP/1.1\r\nHost: t\r\nIf-None-Match: %s\r\n"
                     "Connection: close\r\n\r\n",
                     etag);
    http_raw(api_port(A), req, (size_t)n, &r);
    ck_assert_int_eq(r.code, 304);
    ck_assert_uint_eq(r.blen, 0);
    done(&r);
    get("/app.js", NULL, &r);
    ck_assert_str_eq(header(&r, "Content-Type"), "text/javascript; charset=utf-8");
    done(&r);
    const char head[] = "HEAD /style.css HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    http_raw(api_port(A), head, strlen(head), &r);
    ck_assert_int_eq(r.code, 200);
    ck_assert_uint_eq(r.blen, 0);
    done(&r);
}
END_TEST

START_TEST(test_reload_swaps_tokens_and_keeps_them_on_a_bad_file) {
    char err[512] = "", text[256], hn[TOKENS_HEX_LEN + 1];
    tokens_hash_hex("new-t", 5, hn);
    long long ok0 = sample("aggregator_token_reloads_total{result=\"ok\"}");
    long long err0 = sample("aggregator_token_reloads_total{result=\"error\"}");
    snprintf(text, sizeof text, "acme %s\n", hn);
    write_file(tokens_path, text);
    ck_assert_int_eq(api_reload_tokens(A, err, sizeof err), 0);
    resp_t r;
    get("/v1/customers/acme/window", "acme-t", &r);
    ck_assert_int_eq(r.code, 401);
    done(&r);
    get("/v1/customers/acme/window", "new-t", &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
    write_file(tokens_path, "# broken\nacme nothex\n");
    ck_assert_int_eq(api_reload_tokens(A, err, sizeof err), -1);
    char where[128];
    snprintf(where, sizeof where, "%s:2: ", tokens_path);
    ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "err '%s'", err);
    get("/v1/customers/acme/window", "new-t", &r);
    ck_assert_int_eq(r.code, 200);
    done(&r);
    ck_assert_int_eq(sample("aggregator_token_reloads_total{result=\"ok\"}"), ok0 + 1);
    ck_assert_int_eq(sample("aggregator_token_reloads_total{result=\"error\"}"), err0 + 1);
}
END_TEST

START_TEST(test_bad_start_configurations_name_the_culprit) {
    char err[512] = "";
    write_file(tokens_path, "acme\n");
    ck_assert_ptr_null(start("127.0.0.1:0", 0, err, sizeof err));
    char where[128];
    snprintf(where, sizeof where, "%s:1: ", tokens_path);
    ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "err '%s'", err);
    write_file(tokens_path, "");
    static const char *const bad[] = {
        "127.0.0.1", "127.0.0.1:",   "127.0.0.1:99999",        "::1:80",
        "[::1]",     "127.0.0.1:8x", "no.such.host.invalid:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        ck_assert_ptr_null(start(bad[i], 0, err, sizeof err));
        ck_assert_msg(strncmp(err, "--listen ", 9) == 0, "%s: err '%s'", bad[i], err);
    }
    char busy[64];
    snprintf(busy, sizeof busy, "127.0.0.1:%u", api_port(A));
    ck_assert_ptr_null(start(busy, 0, err, sizeof err));
    ck_assert_msg(strncmp(err, "--listen ", 9) == 0, "err '%s'", err);
}
END_TEST

/* [::]:PORT serves IPv6 and IPv4 both (where the host has IPv6 at all). */
START_TEST(test_ipv6_any_address_is_dual_stack) {
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int have6 = probe >= 0 && bind(probe, (struct sockaddr *)&s6, sizeof s6) == 0;
    if (probe >= 0) close(probe);
    if (!have6) return; /* no IPv6 on this host: nothing to check */
    char err[512];
    api_stop(A);
    A = start("[::]:0", 0, err, sizeof err);
    ck_assert_msg(A != NULL, "%s", err);
    resp_t r;
    get("/healthz", NULL, &r); /* over IPv4 */
    ck_assert_int_eq(r.code, 200);
    done(&r);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_window_has_the_contract_shape_and_numbers);
    tcase_add_test(tc, test_window_seconds_default_and_bounds);
    tcase_add_test(tc, test_customer_with_no_traffic_gets_an_empty_window);
    tcase_add_test(tc, test_tokens_decide_401_403_200);
    tcase_add_test(tc, test_token_endpoint_says_whom_a_token_reads);
    tcase_add_test(tc, test_unknown_paths_methods_bodies_and_long_targets);
    tcase_add_test(tc, test_oversized_headers_are_refused_by_the_server);
    tcase_add_test(tc, test_rate_limit_answers_429_with_retry_after);
    tcase_add_test(tc, test_metrics_healthz_readyz);
    tcase_add_test(tc, test_window_carries_completeness_and_metrics_the_edges);
    tcase_add_test(tc, test_page_is_served_with_security_headers_and_etag);
    tcase_add_test(tc, test_reload_swaps_tokens_and_keeps_them_on_a_bad_file);
    tcase_add_test(tc, test_bad_start_configurations_name_the_culprit);
    tcase_add_test(tc, test_ipv6_any_address_is_dual_stack);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
