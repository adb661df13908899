/* watermarks.h: when the collector may tell consumers that this edge's hits are complete.
 *
 * The record and what it promises are in common/watermark.h: in partition P, a watermark
 * {edge E, wm_ms W} comes after every hit of E with ts < W that belongs to P. This module
 * chooses W and sends it. The rule:
 *
 *     W = T is published only once every line read before T was taken is confirmed by Kafka,
 *     where T is the start of a pass of the tail that found every followed file at its end
 *     (tail_caught_up_ms: every line written before T had been read by then), rounded down
 *     to a whole second (WMK_GRAIN_MS).
 *
 * How: when the tail is caught up to a T newer than the last W, the furthest line each source
 * has handed out is noted (tail_marks_take: "pending"). When every source's confirmed position
 * has reached its mark (tail_marks_passed), T becomes "ready". The ready W is produced to
 * EVERY partition of the hit topic, with an explicit partition and key WM_KEY: as soon as it
 * moved (but not within half an interval of the last send), and every interval (default
 * WM_INTERVAL_MS) even if it did not move (an idle edge keeps telling it is complete). Because the
 * lines were confirmed before the watermark was produced, they precede it in their partitions
 * whatever happens to the producer afterwards.
 *
 * Consequences, all intended:
 * - Kafka away: lines stay unconfirmed, the pending marks never pass, W stops (the watermarks
 *   themselves cannot be delivered either). W resumes once the backlog is confirmed.
 * - A stopped collector (SIGSTOP) sends nothing: consumers see the edge fall behind.
 * - A backlog (reading a large file, or catching up after a restart) gives no W until the tail
 *   first reaches the end of every file: no watermark at all is better than a false one.
 * - A line whose ts is before the W already published (a late line: Apache's %t is when the
 *   request started, and a long download is logged when it ends) is still published, and
 *   counted (collector_late_lines_total): the promise covers what the edge read before T, and
 *   a log can hold a time earlier than when its line was written.
 * - A watermark that Kafka does not confirm is harmless: it is neither a line nor counted as
 *   one; the next interval sends again.
 * - --once, and a stop on SIGTERM: after the final drain, if every line read is confirmed, one
 *   last W (the time the tail last found every file at its end) goes to every partition.
 *
 * Cost at scale: one message per partition per interval per edge: E edges x P partitions at
 * 1 Hz is E x P messages a second in the topic (100 edges x 16 partitions: 1,600/s of ~70
 * bytes, ~112 kB/s before compression), and each partition's readers get E a second whatever
 * the traffic. The bound: a round (one message per partition) never follows the last one
 * within half an interval, and does so early only when W moved (at most once per WMK_GRAIN_MS),
 * so at most 2 x E x P x 1000 / interval_ms messages a second in all, and in steady state at
 * the default interval one round a second (E x P/s). Rounds are skipped, not queued, when the
 * producer's queue is full, and no round is queued while a whole earlier round is unconfirmed
 * (at most 2 x P wait in memory while Kafka is away). With thousands of edges, lengthen the
 * interval (--watermark-interval) or cut P.
 *
 * Prefix wmk_. The state machine (wmk_offer, wmk_confirmed, wmk_due, wmk_is_late) is pure and
 * unit-tested; wmk_step and wmk_final drive it with the tail and the publisher. */
#ifndef WATERMARKS_H
#define WATERMARKS_H

#include "publish.h"
#include "tail.h"
#include "watermark.h"

#include <stdint.h>

/* W is a whole second (T rounded down): access logs stamp lines to the second ($time_local,
 * Apache's %t), so a line written at 12:00:00.700 carries 12:00:00.000; a W of 12:00:00.500
 * would be passed by such lines in normal operation (measured: ~40% of lines at 20k lines/s
 * counted late). Rounded down, a line is late only when its time is really older than when it
 * was read (Apache's request start). The cost: W lags up to one more second. */
#define WMK_GRAIN_MS 1000

/* How often the loop lets the module look at the tail: marks are checked at this pace (an
 * O(sources) walk), not per line. */
#define WMK_STEP_MS 20

typedef struct wmk {
    int64_t interval_ms; /* between sends to every partition */
    int64_t pending;     /* T whose marks wait for confirmation; -1: none */
    int64_t ready;       /* the newest T whose lines are all confirmed; -1: none yet */
    int64_t published;   /* the last W handed to Kafka; -1: none yet */
    int64_t next_send;   /* monotonic ms of the next send of an unchanged W */
    int64_t last_send;   /* monotonic ms of the last send */
    tail_marks_t marks;  /* the pending marks */
    uint64_t sent;       /* watermark messages queued (all partitions) */
} wmk_t;

/* interval_ms <= 0 means WM_INTERVAL_MS. */
void wmk_init(wmk_t *w, int64_t interval_ms);
void wmk_fini(wmk_t *w);

/* The tail is caught up to t_ms (tail_caught_up_ms, -1: not yet). Returns 1 when the caller
 * must take marks now (t_ms, rounded down to WMK_GRAIN_MS, became pending), 0 otherwise (one
 * wait at a time: a newer T is offered again once the pending one passes). */
int wmk_offer(wmk_t *w, int64_t t_ms);
/* The pending marks passed: the pending T becomes the W to publish. */
void wmk_confirmed(wmk_t *w);
/* The W to send now (monotonic now_ms), or -1 when not due or nothing ready: a W that moved
 * is due half an interval after the last send, an unchanged one a whole interval after. When
 * it returns a W, that W is the published one. */
int64_t wmk_due(wmk_t *w, int64_t now_ms);
/* Whether a hit of time ts_ms is late: before the W already published. */
static inline int wmk_is_late(const wmk_t *w, int64_t ts_ms) {
    return w->published >= 0 && ts_ms < w->published;
}

/* One step in follow mode (call every WMK_STEP_MS or so): pending marks checked, new marks
 * taken, and when due the ready W sent to every partition. now_ms is monotonic. */
void wmk_step(wmk_t *w, tail_t *t, publisher_t *p, const char *edge, int64_t now_ms);

/* At the end (--once, or a stop after the drain): if every line handed out is confirmed,
 * sends W = tail_caught_up_ms to every partition at once and waits up to timeout_ms for
 * Kafka. Returns the W sent, or -1 (lines unconfirmed, no catch-up ever, or no partitions). */
int64_t wmk_final(wmk_t *w, tail_t *t, publisher_t *p, const char *edge, int timeout_ms);

#endif
