/* opsd.c: see opsd.h. */
#include "opsd.h"

#include "cli.h"
#include "httpd.h"
#include "log.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OPSD_ADDR_MAX 300 /* longest ADDR */
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct opsd {
    httpd_t *d;
    opsd_opts_t o;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             struct MHD_Response *r) {
    if (!r) return MHD_NO; /* out of memory: MHD closes the connection */
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *s) {
    return reply(c, code, "text/plain; charset=utf-8",
                 MHD_create_response_from_buffer(strlen(s), (void *)s, MHD_RESPMEM_MUST_COPY));
}

static enum MHD_Result serve_metrics(opsd_t *s, struct MHD_Connection *c) {
    size_t len = 0;
    char *page = metrics_page(s->o.metrics, s->o.nmetrics, s->o.more, s->o.nmore, s->o.extra,
                              s->o.extra_ctx, &len);
    if (!page) return text(c, 500, "metrics do not fit\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, page, MHD_RESPMEM_MUST_FREE);
    if (!r) free(page);
    return reply(c, 200, PROM_TYPE, r);
}

static enum MHD_Result serve_ready(opsd_t *s, struct MHD_Connection *c) {
    char why[OPSD_WHY_MAX] = "", msg[OPSD_WHY_MAX + 16];
    if (!s->o.ready || s->o.ready(s->o.ready_ctx, why, sizeof why)) return text(c, 200, "ready\n");
    snprintf(msg, sizeof msg, "not ready: %s\n", why[0] ? why : "starting");
    return text(c, 503, msg);
}

static enum MHD_Result serve_health(opsd_t *s, struct MHD_Connection *c) {
    char why[OPSD_WHY_MAX] = "", msg[OPSD_WHY_MAX + 16];
    if (!s->o.alive || s->o.alive(s->o.alive_ctx, why, sizeof why)) return text(c, 200, "ok\n");
    snprintf(msg, sizeof msg, "stalled: %s\n", why);
    return text(c, 503, msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
    opsd_t *s = cls;
    (void)version;
    (void)upload;
    (void)req_cls;
    if (*upload_size) { /* a body nobody asked for: dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(9, (void *)"GET only\n", MHD_RESPMEM_PERSISTENT);
        if (r) MHD_add_response_header(r, "Allow", "GET, HEAD");
        return reply(c, 405, "text/plain; charset=utf-8", r);
    }
    if (strcmp(url, "/metrics") == 0) return serve_metrics(s, c);
    if (strcmp(url, "/healthz") == 0) return serve_health(s, c);
    if (strcmp(url, "/readyz") == 0) return serve_ready(s, c);
    return text(c, 404, "not found: /metrics, /healthz, /readyz\n");
}

int opsd_parse_addr(const char *opt, const char *s, struct sockaddr_storage *ss, char *err,
                    size_t errlen) {
    char host[OPSD_ADDR_MAX], port[8];
    unsigned pn;
    if (cli_addr(opt, s, 1, host, sizeof host, &pn, err, errlen) < 0) return -1;
    size_t hn = strlen(host);
    snprintf(port, sizeof port, "%u", pn);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = hn ? AF_UNSPEC : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(hn ? host : NULL, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "%s %s: %s", opt, s, gai_strerror(g));
        return -1;
    }
    /* A name with both kinds of address listens on its IPv4 one: "localhost:9101" must answer
     * http://127.0.0.1:9101, which ::1 (even dual-stack) would not. */
    const struct addrinfo *pick = ai;
    for (const struct addrinfo *x = ai; x; x = x->ai_next)
        if (x->ai_family == AF_INET) {
            pick = x;
            break;
        }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

/* Why binding ss fails, for the message when MHD could not listen (it only logs the reason). */
const char *opsd_bind_problem(const struct sockaddr_storage *ss) {
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e = 0;
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (fd < 0) return strerror(errno);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, len) < 0) e = errno;
    close(fd);
    return e ? strerror(e) : "the HTTP server did not start (see its log line)";
}

opsd_t *opsd_start(const opsd_opts_t *o, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    const char *opt = o->option ? o->option : "--metrics-listen";
    if (opsd_parse_addr(opt, o->listen ? o->listen : "", &ss, err, errlen) < 0) return NULL;
    opsd_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->o = *o;
    if (!s->o.more) { /* the server's own metrics (the aggregator lists them among its API's) */
        s->o.more = httpd_metrics;
        s->o.nmore = httpd_nmetrics;
    }
    httpd_opts_t ho = {.addr = &ss,
                       .name = "operator http server",
                       .threads = OPSD_THREADS,
                       .connections = OPSD_CONNECTIONS,
                       .per_ip = OPSD_CONNECTIONS_PER_IP,
                       .conn_memory = OPSD_CONNECTION_MEMORY,
                       .handler = on_request,
                       .handler_ctx = s};
    s->d = httpd_start(&ho);
    if (!s->d) {
        snprintf(err, errlen, "%s %s: %s", opt, o->listen, opsd_bind_problem(&ss));
        free(s);
        return NULL;
    }
    return s;
}

unsigned opsd_port(const opsd_t *s) {
    return httpd_port(s->d);
}

void opsd_stop(opsd_t *s) {
    if (!s) return;
    httpd_stop(s->d);
    free(s);
}
