#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

log_level_t log_min_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Long enough for any line we write; a longer one is cut, never split into two. */
#define LOG_LINE_MAX 4096

void log_msg(log_level_t level, const char *msg, const char *fmt, ...) {
    if (level < log_min_level) return;
    char line[LOG_LINE_MAX], q[1024];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     now.tv_nsec / 1000000, level_names[level], log_quote(msg, q, sizeof q));
    if (n < 0) return;
    if ((size_t)n >= sizeof line - 2) n = sizeof line - 2;
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n + 1, sizeof line - (size_t)n - 2, fmt, ap);
        va_end(ap);
        if (m > 0) {
            line[n] = ' ';
            int room = (int)sizeof line - n - 3;
            n += 1 + (m < room ? m : room);
        }
    }
    line[n++] = '\n';
    /* One write: concurrent lines (librdkafka threads log too) never interleave. A reader that
     * stops reading (journald or a Docker log driver that stalls) blocks it; a signal then
     * interrupts it (our handlers have no SA_RESTART), before any byte or after a part: write the
     * rest, so that a SIGHUP neither loses a line nor leaves half of one. */
    size_t done = 0;
    while (done < (size_t)n) {
        ssize_t w = write(STDERR_FILENO, line + done, (size_t)n - done);
        if (w > 0)
            done += (size_t)w;
        else if (w == 0 || errno != EINTR)
            break; /* no stderr (closed, EPIPE): nowhere to say it */
    }
}

const char *log_quote(const char *s, char *buf, size_t bufsize) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (bufsize < 3) {
        if (bufsize) buf[0] = 0;
        return buf;
    }
    buf[o++] = '"';
    for (; s && *s && o + 7 < bufsize; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

int log_level_parse(const char *s) {
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}
