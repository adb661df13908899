/* sdnotify: READY=1 arrives as one datagram on the socket $NOTIFY_SOCKET names (a path or an
 * abstract '@' name), nothing is sent and 0 returned without the variable, and a malformed or
 * unreachable address is -1 with a reason. */
#include "../../../common/sdnotify.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound at name (a path, or '@...' for the abstract namespace). */
static int listen_at(const char *name) {
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@') sa.sun_path[0] = 0;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static void expect_datagram(int fd, const char *want) {
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    ck_assert_int_eq(n, (ssize_t)strlen(want));
    buf[n] = 0;
    ck_assert_str_eq(buf, want);
}

START_TEST(test_ready_is_one_datagram_on_the_socket_path) {
    char dir[] = "/tmp/sdnotify.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = listen_at(path);
    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(sdnotify_ready(), 0);
    expect_datagram(fd, "READY=1");
    char err[128] = "";
    ck_assert_int_eq(sdnotify_send("STATUS=reading 16 partitions", err, sizeof err), 0);
    expect_datagram(fd, "STATUS=reading 16 partitions");
    close(fd);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_an_abstract_socket_name_is_reached) {
    char name[64];
    snprintf(name, sizeof name, "@cdn-sdnotify-test-%ld", (long)getpid());
    int fd = listen_at(name);
    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(sdnotify_ready(), 0);
    expect_datagram(fd, "READY=1");
    close(fd);
}
END_TEST

START_TEST(test_without_notify_socket_nothing_is_sent) {
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(sdnotify_ready(), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    ck_assert_int_eq(sdnotify_ready(), 0);
}
END_TEST

START_TEST(test_a_bad_or_absent_socket_is_an_error_with_a_reason) {
    char err[128] = "";
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ck_assert_int_eq(sdnotify_send("READY=1", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "NOTIFY_SOCKET"));
    setenv("NOTIFY_SOCKET", "/nonexistent/cdn-notify", 1);
    ck_assert_int_eq(sdnotify_send("READY=1", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    ck_assert_int_eq(sdnotify_ready(), -1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("sdnotify");
    TCase *tc = tcase_create("sdnotify");
    tcase_add_test(tc, test_ready_is_one_datagram_on_the_socket_path);
    tcase_add_test(tc, test_an_abstract_socket_name_is_reached);
    tcase_add_test(tc, test_without_notify_socket_nothing_is_sent);
    tcase_add_test(tc, test_a_bad_or_absent_socket_is_an_error_with_a_reason);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
