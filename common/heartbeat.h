/* heartbeat.h: whether a service's main loop is alive, for /healthz.
 *
 * A process whose HTTP threads answer while its main loop is stuck (a call into PostgreSQL or
 * Kafka that never returns, a deadlock) is not alive, yet a /healthz that only proves the
 * process runs says "ok". So every service's main loop stamps a heartbeat (hb_beat: one atomic
 * store of the monotonic clock) at each iteration, at least every few hundred ms while it works
 * or waits, and /healthz (common/opsd.c, through hb_alive) answers 503 "stalled: ..." once the
 * last stamp is older than the stall limit (--health-stall DURATION, default HB_STALL_DEFAULT_MS).
 *
 * Loops that wait on purpose stamp while they wait (billing's backoff naps while PostgreSQL is
 * down: the loop is alive, the database is not, /readyz tells that). A single call that blocks
 * longer than the limit is what /healthz reports: billing's flush waiting on a row lock, a
 * connection attempt to a host that does not answer (keepalives and tcp_user_timeout bound it).
 * Before the first stamp (start-up) and after hb_stop (shutdown) the loop counts as alive.
 * Any thread may call any function: the state is atomics. */
#ifndef HEARTBEAT_H
#define HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

/* The stall limit by default: far above a loop iteration (<= 0.5 s in every service) and a
 * billing flush of --flush-rows rows (well under a second measured), far below what an operator
 * waits before restarting by hand. */
#define HB_STALL_DEFAULT_MS 30000

/* The --health-stall help line, the same in every service. */
#define HB_HELP                                                                                    \
    "      --health-stall DURATION  /healthz answers 503 when the main loop has not turned\n"      \
    "                             for this long (default 30s; 500ms, 90s, 5m)\n"

/* --health-stall ARG: sets the limit (a duration above 0, cli_duration_ms's forms). 0, or -1
 * with err naming the option. */
int hb_option(const char *arg, char *err, size_t errlen);

/* The limit in ms (HB_STALL_DEFAULT_MS unless hb_option set another). */
int64_t hb_stall_ms(void);

/* The main loop turned: now is its last sign of life. */
void hb_beat(void);

/* The loop ends on purpose (stopping): /healthz no longer judges it, and later stamps (from
 * waits inside the last flush or drain) are ignored. */
void hb_stop(void);

/* opsd's alive callback: 1 when the loop stamped within the limit (or has not started, or has
 * stopped); 0 with why = "main loop stalled for N s (limit M s)". ctx unused. */
int hb_alive(void *ctx, char *why, size_t whylen);

#endif
