#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sdnotify_send(const char *state, char *err, size_t errlen) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path), len = strlen(state);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path) {
        snprintf(err, errlen, "NOTIFY_SOCKET: expected /PATH or @NAME of at most %zu bytes",
                 sizeof sa.sun_path - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@') sa.sun_path[0] = 0; /* abstract namespace: the name is not 0-terminated */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    int rc = -1, fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    ssize_t w = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    if (w == (ssize_t)len)
        rc = 0;
    else
        snprintf(err, errlen, "NOTIFY_SOCKET %s: %s", path,
                 w < 0 ? strerror(errno) : "short write");
    close(fd);
    return rc;
}

int sdnotify_ready(void) {
    char err[160];
    return sdnotify_send("READY=1", err, sizeof err);
}
