/* The hardened HTTP server (common/httpd.h), on a real libmicrohttpd over loopback: answers are
 * kept alive; a NUL byte inside a header line or a folded line is a 400 (MHD 0.9.75 would cut or
 * join them silently); bare-LF heads are fine; past the per-address count the longest waiting
 * connection of that address is closed and the new one answered; past the total room the same,
 * whoever holds it; binary garbage without a line end gets a 400 at once (MHD alone waits for the
 * timeout); and the head check itself on blocks laid out as MHD leaves them. */
#include "../../../common/httpd.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static enum MHD_Result ok_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)req_cls;
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* The test's trusted proxy: 127.0.0.3. */
static int proxy_3(void *ctx, const void *sa) {
    (void)ctx;
    const struct sockaddr_in *in = sa;
    return in->sin_family == AF_INET && in->sin_addr.s_addr == htonl(0x7f000003);
}

static int (*trusted_peer)(void *, const void *); /* the next start's */

static httpd_t *start(unsigned connections, unsigned per_ip) {
    struct sockaddr_storage ss;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    memset(&ss, 0, sizeof ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    httpd_opts_t o = {.addr = &ss,
                      .name = "test http server",
                      .threads = 2,
                      .connections = connections,
                      .per_ip = per_ip,
                      .conn_memory = 16 << 10,
                      .handler = ok_handler,
                      .trusted_peer = trusted_peer};
    httpd_t *h = httpd_start(&o);
    ck_assert_ptr_nonnull(h);
    return h;
}

/* A connection to the server from the source address from (e.g. "127.0.0.2"). */
static int dial(httpd_t *h, const char *from) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &src.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons((unsigned short)httpd_port(h));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0);
    return fd;
}

/* Reads what arrives within ms milliseconds (until EOF, or until the answer to one request is
 * complete: a header block and its "ok\n" or error body). "" on EOF with nothing. */
static const char *read_for(int fd, int ms, char *buf, size_t cap) {
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    buf[0] = 0;
    while (n + 1 < cap && poll(&p, 1, ms) == 1) {
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
        buf[n] = 0;
        const char *body = strstr(buf, "\r\n\r\n");
        if (body && strchr(body + 4, '\n')) break; /* one whole answer */
    }
    return buf;
}

static int eof_within(int fd, int ms) {
    char b[256];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, ms) == 1) {
        if (recv(fd, b, sizeof b, 0) <= 0) return 1;
    }
    return 0;
}

static const char *ask(int fd, const char *req, char *buf, size_t cap) {
    ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    return read_for(fd, 3000, buf, cap);
}

#define GET "GET / HTTP/1.1\r\nHost: x\r\n"

START_TEST(test_two_requests_on_one_connection_are_both_answered) {
    httpd_t *h = start(64, 16);
    int fd = dial(h, "127.0.0.1");
    char buf[4096];
    for (int i = 0; i < 2; i++) {
        const char *r = ask(fd, GET "\r\n", buf, sizeof buf);
        ck_assert_msg(strncmp(r, "HTTP/1.1 200", 12) == 0, "answer %d: %s", i, r);
        ck_assert_msg(!strstr(r, "Connection: close"), "answer %d closes: %s", i, r);
    }
    close(fd);
    httpd_stop(h);
}
END_TEST

START_TEST(test_a_nul_or_a_folded_line_in_the_head_is_a_400) {
    static const struct {
        const char *req;
        size_t len;
        const char *status;
    } cases[] = {
#define CASE(s, st) {s, sizeof s - 1, st}
        CASE(GET "Authorization: Bearer tok\0junk\r\n\r\n", "HTTP/1.1 400"),
        CASE(GET "Authorization: Bearer tok\0\0junk\r\n\r\n", "HTTP/1.1 400"),
        CASE(GET "X-A: b\0\r\nX-B: c\r\n\r\n", "HTTP/1.1 400"),
        CASE(GET "X-A: b\r\n  folded\r\n\r\n", "HTTP/1.1 400"),
        CASE(GET "Authorization: Bearer tok\r\n\r\n", "HTTP/1.1 200"),
        CASE("GET / HTTP/1.1\nHost: x\nX-A:\n\n", "HTTP/1.1 200"),
        CASE(GET "X-A: b  \r\nX-B:\tc\r\n\r\n", "HTTP/1.1 200"),
#undef CASE
    };
    httpd_t *h = start(64, 16);
    char buf[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = dial(h, "127.0.0.1");
        ck_assert_int_eq(send(fd, cases[i].req, cases[i].len, 0), (ssize_t)cases[i].len);
        const char *r = read_for(fd, 3000, buf, sizeof buf);
        ck_assert_msg(strncmp(r, cases[i].status, 12) == 0, "case %zu: %s", i, r);
        close(fd);
    }
    httpd_stop(h);
}
END_TEST

START_TEST(test_past_the_per_address_count_its_longest_waiting_connection_goes) {
    httpd_t *h = start(64, 4);
    int idle[4];
    char buf[4096];
    for (int i = 0; i < 4; i++)
        idle[i] = dial(h, "127.0.0.2");
    usleep(100000); /* in that order */
    int fresh = dial(h, "127.0.0.2");
    ck_assert_msg(eof_within(idle[0], 2000), "the longest waiting stays open");
    ck_assert_msg(!eof_within(idle[1], 300), "a second one was closed");
    ck_assert(strncmp(ask(fresh, GET "\r\n", buf, sizeof buf), "HTTP/1.1 200", 12) == 0);
    for (int i = 0; i < 4; i++)
        close(idle[i]);
    close(fresh);
    httpd_stop(h);
}
END_TEST

START_TEST(test_a_trusted_proxy_is_not_counted_per_address) {
    trusted_peer = proxy_3;
    httpd_t *h = start(64, 4);
    trusted_peer = NULL;
    int fd[6];
    for (int i = 0; i < 6; i++)
        fd[i] = dial(h, "127.0.0.3"); /* the proxy's: more than per_ip, none closed */
    int other[5];
    for (int i = 0; i < 5; i++)
        other[i] = dial(h, "127.0.0.2"); /* anyone else's: still 4 at most */
    ck_assert_msg(eof_within(other[0], 2000), "past per_ip from an untrusted address stays open");
    for (int i = 0; i < 6; i++)
        ck_assert_msg(!eof_within(fd[i], 200), "the proxy's connection %d was closed", i);
    for (int i = 0; i < 6; i++)
        close(fd[i]);
    for (int i = 0; i < 5; i++)
        close(other[i]);
    httpd_stop(h);
}
END_TEST

START_TEST(test_past_the_room_a_new_client_is_still_answered) {
    httpd_t *h = start(8, 64);
    int idle[8], kept;
    char buf[4096], from[32];
    kept = dial(h, "127.0.0.1"); /* a client answered once: closed only after the idle ones */
    ck_assert(strncmp(ask(kept, GET "\r\n", buf, sizeof buf), "HTTP/1.1 200", 12) == 0);
    for (int i = 0; i < 8; i++) {
        snprintf(from, sizeof from, "127.0.0.%d", 10 + i);
        idle[i] = dial(h, from);
    }
    usleep(100000);
    int fresh = dial(h, "127.0.0.3");
    ck_assert(strncmp(ask(fresh, GET "\r\n", buf, sizeof buf), "HTTP/1.1 200", 12) == 0);
    ck_assert(strncmp(ask(kept, GET "\r\n", buf, sizeof buf), "HTTP/1.1 200", 12) == 0);
    int closed = 0;
    for (int i = 0; i < 8; i++)
        closed += eof_within(idle[i], i < 2 ? 1000 : 50);
    ck_assert_int_ge(closed, 2);
    for (int i = 0; i < 8; i++)
        close(idle[i]);
    close(fresh);
    close(kept);
    httpd_stop(h);
}
END_TEST

START_TEST(test_binary_garbage_without_a_line_end_gets_a_400_within_two_seconds) {
    static const char hello[] = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03";
    httpd_t *h = start(64, 16);
    char buf[4096];
    int fd = dial(h, "127.0.0.1");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(send(fd, hello, sizeof hello - 1, 0), (ssize_t)(sizeof hello - 1));
    const char *r = read_for(fd, 5000, buf, sizeof buf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(strncmp(r, "HTTP/1.1 400", 12) == 0, "answer: %s", r);
    ck_assert_msg(s < 2.5, "took %.2f s", s);
    close(fd);
    /* A request sent whole on a kept-alive connection after a pause is no garbage. */
    fd = dial(h, "127.0.0.1");
    ck_assert(strncmp(ask(fd, GET "\r\n", buf, sizeof buf), "HTTP/1.1 200", 12) == 0);
    usleep(1500000);
    ck_assert(strncmp(ask(fd, GET "\r\n", buf, sizeof buf), "HTTP/1.1 200", 12) == 0);
    close(fd);
    httpd_stop(h);
}
END_TEST

/* A head as MHD 0.9.75 leaves it: CR and LF and each colon turned into NULs. */
START_TEST(test_the_head_check_on_blocks_as_mhd_leaves_them) {
    char ok[] = "GET / HTTP/1.1\0\0Host\0 x\0\0Auth\0 Bearer t\0\0\0\0";
    httpd_hdr_t h[2] = {{ok + 16, ok + 22, 4, 1}, {ok + 25, ok + 31, 4, 8}};
    ck_assert_int_eq(httpd_block_exact(ok, sizeof ok - 1, h, 2), 1);
    /* "Auth: Bearer t\0junk\r\n": MHD reports "Bearer t", the junk stays behind it. */
    char nul[] = "GET / HTTP/1.1\0\0Host\0 x\0\0Auth\0 Bearer t\0junk\0\0\0\0";
    httpd_hdr_t g[2] = {{nul + 16, nul + 22, 4, 1}, {nul + 25, nul + 31, 4, 8}};
    ck_assert_int_eq(httpd_block_exact(nul, sizeof nul - 1, g, 2), 0);
    /* Something other than spaces between the colon and the value. */
    char gap[] = "GET / HTTP/1.1\0\0Host\0?x\0\0\0\0";
    httpd_hdr_t k[1] = {{gap + 16, gap + 22, 4, 1}};
    ck_assert_int_eq(httpd_block_exact(gap, sizeof gap - 1, k, 1), 0);
    /* A header outside the block (a copy: MHD joined a folded line into new memory). */
    char other[] = "Host\0 x";
    httpd_hdr_t o[1] = {{other, other + 6, 4, 1}};
    ck_assert_int_eq(httpd_block_exact(ok, sizeof ok - 1, o, 1), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("httpd");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_two_requests_on_one_connection_are_both_answered);
    tcase_add_test(tc, test_a_nul_or_a_folded_line_in_the_head_is_a_400);
    tcase_add_test(tc, test_past_the_per_address_count_its_longest_waiting_connection_goes);
    tcase_add_test(tc, test_a_trusted_proxy_is_not_counted_per_address);
    tcase_add_test(tc, test_past_the_room_a_new_client_is_still_answered);
    tcase_add_test(tc, test_the_head_check_on_blocks_as_mhd_leaves_them);
    tcase_add_test(tc, test_binary_garbage_without_a_line_end_gets_a_400_within_two_seconds);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
