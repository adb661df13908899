#include "cli.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t cli_stop, cli_reload;

static void on_stop(int sig) {
    (void)sig;
    if (cli_stop < 2) cli_stop++;
}

static void on_reload(int sig) {
    (void)sig;
    cli_reload = 1;
}

void cli_signals_install(void) {
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void cli_version(const char *program) {
    printf("%s %s\n", program, CDN_VERSION);
}

int cli_log_level(const char *arg, char *err, size_t errlen) {
    const char *src = "--log-level";
    if (!arg) {
        arg = getenv("LOG_LEVEL");
        src = "$LOG_LEVEL";
        if (!arg || !*arg) return 0;
    }
    int l = log_level_parse(arg);
    if (l < 0) {
        snprintf(err, errlen, "%s %s: expected debug, info, warn or error", src, arg);
        return -1;
    }
    log_min_level = (log_level_t)l;
    return 0;
}

int cli_long(const char *opt, const char *arg, long lo, long hi, long *out, char *err,
             size_t errlen) {
    char *end = NULL;
    errno = 0;
    long v = strtol(arg, &end, 10);
    int starts =
        (arg[0] >= '0' && arg[0] <= '9') || (arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9');
    if (!starts || *end || errno || v < lo || v > hi) {
        snprintf(err, errlen, "%s %s: expected a whole number from %ld to %ld", opt, arg, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_duration_ms(const char *opt, const char *arg, int64_t *out_ms, char *err, size_t errlen) {
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const int64_t max_ms = 100LL * 366 * 86400000;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (arg[0] >= '0' && arg[0] <= '9' && !errno && v >= 0)
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp(end, units[i].unit) == 0 && v <= max_ms / units[i].ms) {
                *out_ms = (int64_t)v * units[i].ms;
                return 0;
            }
    snprintf(err, errlen, "%s %s: expected a duration such as 500ms, 90s, 15m, 24h or 35d", opt,
             arg);
    return -1;
}

int cli_addr(const char *opt, const char *arg, int allow_any_port, char *host, size_t hostcap,
             unsigned *port, char *err, size_t errlen) {
    const char *colon = strrchr(arg, ':');
    const char *h = arg;
    size_t hn = colon ? (size_t)(colon - arg) : 0;
    long p = -1;
    int ok_host = colon != NULL; /* "" (":8080") is every address */
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
        strlen(colon + 1) <= 5)
        p = strtol(colon + 1, NULL, 10);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') { /* [IPv6]:PORT */
        h++;
        hn -= 2;
        ok_host = hn > 0;
    } else if (colon && memchr(h, ':', hn)) {
        ok_host = 0; /* an IPv6 address needs its brackets */
    }
    if (p < (allow_any_port ? 0 : 1) || p > 65535 || !ok_host || hn >= hostcap) {
        snprintf(err, errlen,
                 "%s %s: expected ADDR:PORT with a port from %d to 65535, e.g. "
                 "127.0.0.1:8080 or [::1]:8080",
                 opt, arg, allow_any_port ? 0 : 1);
        return -1;
    }
    memcpy(host, h, hn);
    host[hn] = 0;
    *port = (unsigned)p;
    return 0;
}
