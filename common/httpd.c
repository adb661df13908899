/* httpd.c: see httpd.h. One table of open connections (a list, oldest accept first) that MHD's
 * connection notifications fill and empty; the request handler and the completion callback
 * move each between WAITING (for a request head) and BUSY (being answered); the reaper thread
 * and make_room close connections with shutdown(2) while holding the table's lock. That is safe
 * because MHD calls the CLOSED notification (which takes the same lock and unlinks the entry)
 * before it closes the descriptor: a descriptor in the table is never one reused by another
 * connection. */
#include "httpd.h"

#include "clock.h"
#include "log.h"

#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received (glibc's lacks it) */
#include <netinet/in.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

/* ---- metrics --------------------------------------------------------------------------------- */

#define CLOSED_HELP "Connections the server closed itself, by reason"
metric_t httpd_m_open = METRIC_GAUGE("http_open", "http_connections_open", NULL,
                                     "Open HTTP connections (every server of the process)");
metric_t httpd_m_head = METRIC_COUNTER("http_closed_head", "http_connections_closed_total",
                                       "reason=\"head_timeout\"", CLOSED_HELP);
metric_t httpd_m_req = METRIC_COUNTER("http_closed_request", "http_connections_closed_total",
                                      "reason=\"request_timeout\"", CLOSED_HELP);
metric_t httpd_m_room = METRIC_COUNTER("http_closed_room", "http_connections_closed_total",
                                       "reason=\"room\"", CLOSED_HELP);
metric_t httpd_m_perip = METRIC_COUNTER("http_closed_per_ip", "http_connections_closed_total",
                                        "reason=\"per_ip\"", CLOSED_HELP);
metric_t httpd_m_badline = METRIC_COUNTER("http_closed_bad_line", "http_connections_closed_total",
                                          "reason=\"bad_request_line\"", CLOSED_HELP);
metric_t httpd_m_badhead = METRIC_COUNTER("http_bad_heads", "http_bad_heads_total", NULL,
                                          "Requests refused (400) for a NUL or a folded line "
                                          "in their head");
metric_t httpd_m_suppressed =
    METRIC_COUNTER("http_log_suppressed", "http_log_lines_suppressed_total", NULL,
                   "HTTP server messages not logged (more than the burst per interval)");

metric_t *const httpd_metrics[] = {&httpd_m_open,    &httpd_m_head,      &httpd_m_req,
                                   &httpd_m_room,    &httpd_m_perip,     &httpd_m_badline,
                                   &httpd_m_badhead, &httpd_m_suppressed};
const size_t httpd_nmetrics = sizeof httpd_metrics / sizeof httpd_metrics[0];

/* ---- the table ------------------------------------------------------------------------------- */

typedef enum { CONN_WAITING, CONN_BUSY, CONN_CLOSING } conn_state_t;

typedef struct hconn {
    struct hconn *prev, *next;
    MHD_socket fd;
    unsigned char key[HTTPD_KEY_MAX]; /* httpd_addr_key of the client */
    size_t keylen;
    int64_t since_ms;      /* monotonic: when the current state began */
    conn_state_t state;    /* CLOSING: shut down by us, MHD has not closed it yet */
    unsigned served;       /* requests answered on it */
    int line_seen;         /* the current request's line is complete (MHD called on_uri) */
    uint64_t bytes_base;   /* bytes received (TCP_INFO) when the current wait began */
    int64_t first_byte_ms; /* monotonic: when the reaper first saw bytes of this wait; 0 none */
} hconn_t;

struct httpd {
    struct MHD_Daemon *d;
    httpd_opts_t o;
    pthread_mutex_t lock; /* guards the list and open */
    hconn_t *head, *tail;
    unsigned open; /* entries not CLOSING */
    pthread_t reaper;
    int reaper_started;
    atomic_int stop;
    /* logging */
    atomic_int starting; /* 1 while MHD_start_daemon runs: messages are held */
    char held[512];
    pthread_mutex_t log_lock;
    int64_t log_window_ms; /* start of the current interval */
    unsigned logged, suppressed;
};

size_t httpd_addr_key(const void *sa_, unsigned char key[HTTPD_KEY_MAX]) {
    const struct sockaddr *sa = sa_;
    if (!sa) return 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        memcpy(key, &in.sin_addr, 4);
        return 4;
    }
    if (sa->sa_family != AF_INET6) return 0;
    struct sockaddr_in6 in6;
    memcpy(&in6, sa, sizeof in6);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
        memcpy(key, in6.sin6_addr.s6_addr + 12, 4);
        return 4;
    }
    memcpy(key, in6.sin6_addr.s6_addr, 8);
    return 8;
}

/* Bytes the kernel has received on fd so far (0 if it cannot say). MHD reads them at once, so
 * this is the only way to see that a client sent something that is not yet a request line. */
static uint64_t bytes_received(MHD_socket fd) {
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return 0;
    return ti.tcpi_bytes_received;
}

/* Under the lock: shuts c down (MHD reads EOF and closes it) and counts why. */
static void shut(httpd_t *h, hconn_t *c, metric_t *why) {
    shutdown(c->fd, SHUT_RDWR);
    c->state = CONN_CLOSING;
    h->open--;
    metric_add(why, 1);
}

/* Under the lock: the connection to close for room among those from key (or all, keylen 0),
 * other than except: of those waiting for a request, one never answered before if there is one
 * (a flood's sockets never complete a request; a real client's kept-alive connection has), and
 * of those the one waiting longest. NULL if none waits. *count: the open ones looked at. */
static hconn_t *longest_waiting(httpd_t *h, const unsigned char *key, size_t keylen,
                                const hconn_t *except, unsigned *count) {
    hconn_t *best = NULL;
    *count = 0;
    for (hconn_t *c = h->head; c; c = c->next) {
        if (c->state == CONN_CLOSING) continue;
        if (keylen && (c->keylen != keylen || memcmp(c->key, key, keylen) != 0)) continue;
        (*count)++;
        if (c == except || c->state != CONN_WAITING) continue;
        if (!best || (c->served == 0) > (best->served == 0) ||
            ((c->served == 0) == (best->served == 0) && c->since_ms < best->since_ms))
            best = c;
    }
    return best;
}

/* Under the lock, after n joined: room for it, by closing those that waited longest. When every
 * other connection is busy, n itself goes (the limit holds). */
static void make_room(httpd_t *h, hconn_t *n) {
    unsigned count;
    while (n->state != CONN_CLOSING && n->keylen) {
        hconn_t *v = longest_waiting(h, n->key, n->keylen, n, &count);
        if (count <= h->o.per_ip) break;
        shut(h, v ? v : n, &httpd_m_perip);
    }
    while (n->state != CONN_CLOSING && h->open > h->o.connections) {
        hconn_t *v = longest_waiting(h, NULL, 0, n, &count);
        shut(h, v ? v : n, &httpd_m_room);
    }
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **ctx,
                          enum MHD_ConnectionNotificationCode what) {
    httpd_t *h = cls;
    hconn_t *c = *ctx;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!fi || !(c = calloc(1, sizeof *c))) return; /* untracked: MHD's timeout applies */
        *ctx = c;
        c->fd = fi->connect_fd;
        c->keylen = ai ? httpd_addr_key(ai->client_addr, c->key) : 0;
        if (ai && h->o.trusted_peer && h->o.trusted_peer(h->o.trusted_ctx, ai->client_addr))
            c->keylen = 0; /* a trusted proxy's: not counted per address (httpd_opts_t) */
        c->since_ms = clock_mono_ms();
        c->state = CONN_WAITING;
        pthread_mutex_lock(&h->lock);
        c->prev = h->tail;
        if (h->tail)
            h->tail->next = c;
        else
            h->head = c;
        h->tail = c;
        h->open++;
        metric_add(&httpd_m_open, 1);
        make_room(h, c);
        pthread_mutex_unlock(&h->lock);
        return;
    }
    if (!c) return;
    pthread_mutex_lock(&h->lock);
    if (c->state != CONN_CLOSING) h->open--;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        h->tail = c->prev;
    pthread_mutex_unlock(&h->lock);
    metric_add(&httpd_m_open, -1);
    free(c);
    *ctx = NULL;
}

static hconn_t *conn_of(struct MHD_Connection *mc) {
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* WAITING <-> BUSY (a CLOSING connection stays so); returns the state before. */
static conn_state_t set_state(httpd_t *h, hconn_t *c, conn_state_t s) {
    pthread_mutex_lock(&h->lock);
    conn_state_t was = c->state;
    if (was != CONN_CLOSING && was != s) { /* a deadline starts when the state changes */
        if (was == CONN_BUSY && s == CONN_WAITING) {
            c->served++;
            c->line_seen = 0;
            c->first_byte_ms = 0;
            c->bytes_base = bytes_received(c->fd); /* a pipelined request's bytes included:
                                                      never a false alarm, at worst none */
        }
        c->state = s;
        c->since_ms = clock_mono_ms();
    }
    pthread_mutex_unlock(&h->lock);
    return was;
}

/* ---- the reaper ------------------------------------------------------------------------------ */

/* Under the lock: a waiting connection that sent bytes HTTPD_LINE_MS ago and still no whole
 * request line sent garbage (a TLS hello on the plain port, binary): MHD would wait for a line
 * end until the head deadline. It gets a 400 written here (MHD has not answered and will not:
 * it has no request) and is shut down. */
static int bad_line(httpd_t *h, hconn_t *c, int64_t now) {
    static const char msg[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8"
                              "\r\nContent-Length: 29\r\nConnection: close\r\n\r\n"
                              "bad request: no request line\n";
    if (c->state != CONN_WAITING || c->line_seen) return 0;
    if (!c->first_byte_ms) {
        if (bytes_received(c->fd) > c->bytes_base) c->first_byte_ms = now;
        return 0;
    }
    if (now - c->first_byte_ms < HTTPD_LINE_MS) return 0;
    (void)!send(c->fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    shut(h, c, &httpd_m_badline);
    return 1;
}

static void log_flush(httpd_t *h, int64_t now);

static void *reaper(void *arg) {
    httpd_t *h = arg;
    const int64_t head_ms = HTTPD_HEAD_TIMEOUT_S * 1000, req_ms = HTTPD_REQUEST_TIMEOUT_S * 1000;
    while (!atomic_load(&h->stop)) {
        struct timespec ts = {0, HTTPD_REAP_MS * 1000000L};
        nanosleep(&ts, NULL);
        int64_t now = clock_mono_ms();
        pthread_mutex_lock(&h->lock);
        for (hconn_t *c = h->head; c; c = c->next) {
            if (bad_line(h, c, now)) continue;
            if (c->state == CONN_WAITING && now - c->since_ms > head_ms)
                shut(h, c, &httpd_m_head);
            else if (c->state == CONN_BUSY && now - c->since_ms > req_ms)
                shut(h, c, &httpd_m_req);
        }
        pthread_mutex_unlock(&h->lock);
        log_flush(h, now);
    }
    return NULL;
}

/* ---- logging --------------------------------------------------------------------------------- */

static void log_flush(httpd_t *h, int64_t now) {
    unsigned n = 0;
    pthread_mutex_lock(&h->log_lock);
    if (now - h->log_window_ms >= HTTPD_LOG_INTERVAL_S * 1000) {
        n = h->suppressed;
        h->suppressed = h->logged = 0;
        h->log_window_ms = now;
    }
    pthread_mutex_unlock(&h->log_lock);
    if (n)
        log_warn("http server messages not logged", "server=\"%s\" count=%u interval_s=%d",
                 h->o.name, n, HTTPD_LOG_INTERVAL_S);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    httpd_t *h = cls;
    char msg[512], q[600];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    if (atomic_load(&h->starting)) {
        if (!h->held[0]) snprintf(h->held, sizeof h->held, "%s", msg);
        return;
    }
    pthread_mutex_lock(&h->log_lock);
    int show = h->logged < HTTPD_LOG_BURST;
    if (show)
        h->logged++;
    else
        h->suppressed++;
    pthread_mutex_unlock(&h->log_lock);
    if (show)
        log_warn(h->o.name, "err=%s", log_quote(msg, q, sizeof q));
    else
        metric_add(&httpd_m_suppressed, 1);
}

/* ---- requests -------------------------------------------------------------------------------- */

static int announces_body(struct MHD_Connection *mc) {
    const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Transfer-Encoding");
    return te != NULL || (cl && strspn(cl, "0") != strlen(cl));
}

static enum MHD_Result bad_head(struct MHD_Connection *mc) {
    static const char body[] = "bad request: a header line holds a NUL byte or is folded\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_BAD_REQUEST, r);
    MHD_destroy_response(r);
    metric_add(&httpd_m_badhead, 1);
    return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **req_cls) {
    httpd_t *h = cls;
    hconn_t *c = conn_of(mc);
    /* The first call of a request: its head is complete. */
    if (c && set_state(h, c, CONN_BUSY) == CONN_WAITING) {
        if (!httpd_head_exact(mc, method)) return bad_head(mc);
        /* Answering now would close the connection (MHD 0.9.75): wait for the next call, unless
         * a body follows that nobody wants read. */
        if (!announces_body(mc)) return MHD_YES;
    }
    return h->o.handler(h->o.handler_ctx, mc, url, method, version, upload, upload_size, req_cls);
}

static void on_done(void *cls, struct MHD_Connection *mc, void **req_cls,
                    enum MHD_RequestTerminationCode toe) {
    httpd_t *h = cls;
    hconn_t *c = conn_of(mc);
    if (c) set_state(h, c, CONN_WAITING); /* the keep-alive wait is a head wait */
    if (h->o.done) h->o.done(h->o.done_ctx, mc, req_cls, toe);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc) {
    httpd_t *h = cls;
    hconn_t *c = conn_of(mc);
    if (c) {
        pthread_mutex_lock(&h->lock);
        c->line_seen = 1;
        pthread_mutex_unlock(&h->lock);
    }
    return h->o.uri ? h->o.uri(h->o.uri_ctx, uri, mc) : NULL;
}

/* ---- the exact head -------------------------------------------------------------------------- */

static int by_key(const void *a, const void *b) {
    const httpd_hdr_t *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

int httpd_block_exact(const char *block, size_t size, httpd_hdr_t *hd, size_t n) {
    const char *end = block + size;
    qsort(hd, n, sizeof *hd, by_key);
    for (size_t i = 0; i < n; i++) {
        const char *k = hd[i].key, *ke = k + hd[i].key_size, *v = hd[i].value;
        const char *ve = v + hd[i].value_size, *next = i + 1 < n ? hd[i + 1].key : end;
        /* Inside the block, in order, the colon (now a NUL) right after the key (a NUL in the
         * key would have hidden the colon: MHD refuses that line itself). */
        if (k < block || ke >= end || v <= ke || ve > next || *ke != 0) return 0;
        for (const char *p = ke + 1; p < v; p++)
            if (*p != ' ' && *p != '\t') return 0;
        /* After the value only its line end (CR LF or LF, now NULs), and after the last value
         * also the empty line: a hidden byte or a folded line makes more. */
        size_t tail = (size_t)(next - ve), most = i + 1 < n ? 2 : 4;
        if (tail < (i + 1 < n ? 1u : 2u) || tail > most) return 0;
        for (const char *p = ve; p < next; p++)
            if (*p != 0) return 0;
    }
    return 1;
}

typedef struct collect {
    httpd_hdr_t h[HTTPD_HEADERS_MAX];
    size_t n;
    int over;
} collect_t;

static enum MHD_Result collect_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
    collect_t *cl = cls;
    (void)kind;
    if (cl->n == HTTPD_HEADERS_MAX) {
        cl->over = 1;
        return MHD_NO;
    }
    cl->h[cl->n++] = (httpd_hdr_t){key, value ? value : "", key_size, value ? value_size : 0};
    return MHD_YES;
}

/* 1 when the running MHD parses heads in place as 0.9.75 does (0.9.75 and before). */
static int mhd_in_place(void) {
    unsigned a = 0, b = 0, c = 0;
    if (sscanf(MHD_get_version(), "%u.%u.%u", &a, &b, &c) != 3) return 0;
    return a == 0 && (b < 9 || (b == 9 && c <= 75));
}

int httpd_head_exact(struct MHD_Connection *mc, const char *method) {
    if (!mhd_in_place()) return 1;
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (!i || !method) return 0;
    collect_t cl = {.n = 0};
    MHD_get_connection_values_n(mc, MHD_HEADER_KIND, collect_one, &cl);
    if (cl.over) return 0;
    return httpd_block_exact(method, i->header_size, cl.h, cl.n);
}

/* ---- start and stop -------------------------------------------------------------------------- */

/* Raises the soft file limit to the hard one (at most HTTPD_HARD_MAX + HTTPD_FD_RESERVE: more is
 * of no use here) and returns how many connections MHD may then hold. */
static unsigned fd_room(unsigned want) {
    struct rlimit rl;
    rlim_t goal = HTTPD_HARD_MAX + HTTPD_FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return want;
    if (rl.rlim_cur < goal && rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max < goal ? rl.rlim_max : goal;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) rl.rlim_cur = old;
    }
    unsigned room = rl.rlim_cur > HTTPD_FD_RESERVE * 2 ? (unsigned)(rl.rlim_cur - HTTPD_FD_RESERVE)
                                                       : (unsigned)rl.rlim_cur / 2;
    if (room > HTTPD_HARD_MAX) room = HTTPD_HARD_MAX;
    return room > want ? room : want;
}

httpd_t *httpd_start(const httpd_opts_t *o) {
    httpd_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->o = *o;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->log_lock, NULL);
    h->log_window_ms = clock_mono_ms();
    const struct sockaddr *sa = o->addr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (sa->sa_family == AF_INET6) flags |= MHD_USE_DUAL_STACK;
    unsigned hard = fd_room(o->connections + o->threads * 8);
    atomic_store(&h->starting, 1);
    /* The logger first: MHD logs the options that follow through it. No per-address limit of
     * MHD's: it refuses, where make_room closes the address's longest waiting connection. */
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE, o->threads,
        MHD_OPTION_CONNECTION_LIMIT, hard, MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->conn_memory,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_done, h, MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, h, MHD_OPTION_END);
    atomic_store(&h->starting, 0);
    if (!h->d) goto fail;
    if (h->held[0]) {
        char q[600];
        log_warn(h->o.name, "err=%s", log_quote(h->held, q, sizeof q));
    }
    if (pthread_create(&h->reaper, NULL, reaper, h) != 0) goto fail;
    h->reaper_started = 1;
    return h;
fail:
    httpd_stop(h);
    return NULL;
}

unsigned httpd_port(const httpd_t *h) {
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void httpd_stop(httpd_t *h) {
    if (!h) return;
    atomic_store(&h->stop, 1);
    if (h->reaper_started) pthread_join(h->reaper, NULL);
    if (h->d) MHD_stop_daemon(h->d); /* its CLOSED notifications empty the table */
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->log_lock);
    free(h);
}
