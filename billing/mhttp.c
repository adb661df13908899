#include "mhttp.h"

#include "cli.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct mhttp {
    int fd;      /* listening socket */
    int wake[2]; /* a pipe: writing to it ends the thread */
    pthread_t thread;
    metric_t *const *ms;
    size_t n;
};

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int code, const char *reason, const char *type, const char *body,
                  size_t len, int head) {
    char h[256];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     code, reason, type, len);
    send_all(fd, h, (size_t)n);
    if (!head) send_all(fd, body, len);
}

/* Reads the request head (up to the blank line or MHTTP_REQUEST_MAX) and answers it. */
static void serve(struct mhttp *s, int fd) {
    char req[MHTTP_REQUEST_MAX + 1];
    size_t got = 0;
    struct timeval tv = {MHTTP_IO_TIMEOUT_MS / 1000, (MHTTP_IO_TIMEOUT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (got < MHTTP_REQUEST_MAX) {
        ssize_t r = recv(fd, req + got, MHTTP_REQUEST_MAX - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
        req[got] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
    }
    req[got] = 0;
    int head = strncmp(req, "HEAD ", 5) == 0;
    if (strncmp(req, "GET ", 4) != 0 && !head) {
        reply(fd, 405, "Method Not Allowed", "text/plain", "GET only\n", 9, 0);
        return;
    }
    const char *path = req + (head ? 5 : 4);
    size_t plen = strcspn(path, " ?\r\n");
    if (plen == 8 && strncmp(path, "/metrics", 8) == 0) {
        static char body[MHTTP_BODY_MAX]; /* this thread only */
        size_t n = metrics_prometheus(s->ms, s->n, body, sizeof body);
        reply(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, n, head);
    } else if (plen == 8 && strncmp(path, "/healthz", 8) == 0) {
        reply(fd, 200, "OK", "text/plain", "ok\n", 3, head);
    } else {
        reply(fd, 404, "Not Found", "text/plain", "not found\n", 10, head);
    }
}

static void *loop(void *arg) {
    struct mhttp *s = arg;
    struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[1].revents) break;
        if (!(p[0].revents & POLLIN)) continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) continue;
        serve(s, fd);
        close(fd);
    }
    return NULL;
}

static int listen_on(const char *addr, char *err, size_t errlen) {
    char host[256], port[8];
    unsigned pn;
    if (cli_addr("--metrics", addr, 0, host, sizeof host, &pn, err, errlen) < 0) return -1;
    snprintf(port, sizeof port, "%u", pn);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "--metrics %s: %s", addr, gai_strerror(g));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 16) == 0) break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) snprintf(err, errlen, "--metrics %s: %s", addr, strerror(e ? e : EINVAL));
    return fd;
}

mhttp_t *mhttp_start(const char *addr, metric_t *const *ms, size_t n, char *err, size_t errlen) {
    struct mhttp *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->ms = ms;
    s->n = n;
    s->wake[0] = s->wake[1] = -1;
    s->fd = listen_on(addr, err, errlen);
    if (s->fd < 0) goto fail;
    if (pipe(s->wake) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    int e = pthread_create(&s->thread, NULL, loop, s);
    if (e != 0) {
        snprintf(err, errlen, "cannot start the metrics thread: %s", strerror(e));
        goto fail;
    }
    return s;
fail:
    if (s->fd >= 0) close(s->fd);
    if (s->wake[0] >= 0) close(s->wake[0]);
    if (s->wake[1] >= 0) close(s->wake[1]);
    free(s);
    return NULL;
}

void mhttp_stop(mhttp_t *s) {
    if (!s) return;
    ssize_t w = write(s->wake[1], "x", 1);
    (void)w;
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s);
}
