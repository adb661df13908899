/* heartbeat.c: see heartbeat.h. */
#include "heartbeat.h"

#include "cli.h"
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>

/* monotonic ms of the last stamp; 0: none yet; HB_STOPPED: stopping (stamps are ignored) */
static _Atomic int64_t last_ms;
#define HB_STOPPED INT64_C(-1)
static _Atomic int64_t stall_ms = HB_STALL_DEFAULT_MS;

int hb_option(const char *arg, char *err, size_t errlen) {
    int64_t ms;
    if (cli_duration_ms("--health-stall", arg, &ms, err, errlen) < 0) return -1;
    if (ms <= 0) {
        snprintf(err, errlen, "--health-stall %s: expected a duration above 0, such as 30s", arg);
        return -1;
    }
    atomic_store(&stall_ms, ms);
    return 0;
}

int64_t hb_stall_ms(void) {
    return atomic_load(&stall_ms);
}

void hb_beat(void) {
    int64_t now = clock_mono_ms();
    if (atomic_load(&last_ms) != HB_STOPPED) atomic_store(&last_ms, now > 0 ? now : 1);
}

void hb_stop(void) {
    atomic_store(&last_ms, HB_STOPPED);
}

int hb_alive(void *ctx, char *why, size_t whylen) {
    (void)ctx;
    int64_t last = atomic_load(&last_ms), limit = atomic_load(&stall_ms);
    if (last <= 0) return 1; /* not started, or stopping */
    int64_t quiet = clock_mono_ms() - last;
    if (quiet < limit) return 1;
    snprintf(why, whylen, "main loop stalled for %lld.%03lld s (limit %lld.%03lld s)",
             (long long)(quiet / 1000), (long long)(quiet % 1000), (long long)(limit / 1000),
             (long long)(limit % 1000));
    return 0;
}
