#include "edges.h"

#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t edges_billed_to(const int32_t *part, const int64_t *wm, size_t n, int32_t nparts) {
    if (nparts <= 0) return -1;
    int64_t min = -1;
    int32_t seen = 0;
    /* Partitions are unique: nparts of them below nparts means every one is there. */
    for (size_t i = 0; i < n; i++) {
        if (part[i] < 0 || part[i] >= nparts) continue;
        seen++;
        if (min < 0 || wm[i] < min) min = wm[i];
    }
    return seen == nparts ? min : -1;
}

edges_state_t edges_state(const edges_in_t *e) {
    if (e->retired) return EDGES_RETIRED;
    /* end + grace: both are sane (a month end, a grace of at most 366 days): no overflow. */
    int64_t due = e->end_ms + e->grace_ms;
    if (e->now_ms < due) return EDGES_OPEN;
    if (e->billed_to_ms >= due) return EDGES_COMPLETE;
    if (e->has_usage || e->latest_wm_ms >= e->start_ms) return EDGES_INCOMPLETE;
    return EDGES_NOT_IN_MONTH;
}

const char *edges_state_name(edges_state_t s) {
    static const char *const names[] = {"retired", "open", "complete", "incomplete",
                                        "not in month"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown";
}

int64_t edges_month_start_ms(int year, int month) {
    struct tm t = {0};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = 1;
    return (int64_t)timegm(&t) * 1000;
}

int edges_duration_parse(const char *s, int64_t *ms) {
    char err[256];
    int64_t v;
    /* common/cli.h's durations, narrowed to what --grace always took: a unit is required (only
     * "0" goes without one) and at most 366 days. */
    if (!s || (strspn(s, "0123456789") == strlen(s) && strcmp(s, "0") != 0)) return -1;
    if (cli_duration_ms("--grace", s, &v, err, sizeof err) < 0 || v > 366LL * 86400000) return -1;
    *ms = v;
    return 0;
}

char *edges_duration_format(int64_t ms, char *buf, size_t cap) {
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'d', 86400000}, {'h', 3600000}, {'m', 60000}, {'s', 1000}};
    const char *sign = ms < 0 ? "-" : "";
    int64_t v = ms < 0 ? -ms : ms;
    for (size_t i = 0; i < 3; i++) {
        if (v < units[i].ms) continue;
        int64_t a = v / units[i].ms, b = v % units[i].ms / units[i + 1].ms;
        if (b)
            snprintf(buf, cap, "%s%" PRId64 "%c%" PRId64 "%c", sign, a, units[i].unit, b,
                     units[i + 1].unit);
        else
            snprintf(buf, cap, "%s%" PRId64 "%c", sign, a, units[i].unit);
        return buf;
    }
    snprintf(buf, cap, "%s%" PRId64 "s", sign, v / 1000);
    return buf;
}

char *edges_time_format(int64_t ms, char *buf, size_t cap) {
    if (ms < 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}
