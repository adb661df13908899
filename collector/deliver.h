/* deliver.h: the collector's delivery loop: lines from the tail, through process, to Kafka,
 * and Kafka's confirmations back to the tail's read positions.
 *
 * This is the collector's policy, kept out of main so that main only wires stages:
 *   - A read position advances only past lines whose delivery Kafka confirmed (deliver_ack ->
 *     tail_ack): a crash replays lines, never skips them.
 *   - Kafka away: the producer's queue fills, deliver_run waits for room (polling delivery
 *     reports), and reading pauses: memory stays bounded, nothing is dropped.
 *   - A record that fails in follow mode makes the loop resend from the confirmed positions; a
 *     fatal producer state recreates the producer and does the same. --once counts failures
 *     instead (the exit status reports them).
 *   - Delivery reports are served every DELIVER_POLL_LINES lines at speed and at least every
 *     DELIVER_POLL_MS when lines trickle in; positions are saved every DELIVER_SAVE_MS; the
 *     watermark module gets a step every WMK_STEP_MS.
 *   - The stop: the first SIGINT/SIGTERM (*stop == 1) stops reading and deliver_drain waits up to
 *     DELIVER_DRAIN_MS for Kafka to confirm what is queued; a second one (*stop == 2, "hurry")
 *     ends that wait at once. Either way the positions are saved, and they never pass an
 *     unconfirmed line: what is left unconfirmed is read and sent again by the next run.
 *
 * Prefix deliver_. */
#ifndef DELIVER_H
#define DELIVER_H

#include "cstats.h"
#include "process.h"
#include "publish.h"
#include "tail.h"
#include "watermarks.h"

#include <signal.h>
#include <stdint.h>

/* How long the first stop signal waits for Kafka to confirm what is queued before saving and
 * exiting (follow mode; --once waits for the producer's own message timeout). */
#define DELIVER_DRAIN_MS 30000
#define DELIVER_SAVE_MS 1000 /* between two saves of the read positions */
/* DELIVER_POLL_MS is timed on the coarse clock: a gap may be a tick (1-4 ms) longer. */
#define DELIVER_POLL_MS 10      /* longest gap between two services of the delivery reports */
#define DELIVER_POLL_LINES 1024 /* lines between two services at speed */
/* How long the last watermark (--once, or a stop) waits for Kafka; it is not a line: the exit
 * status does not depend on it. */
#define DELIVER_FINAL_WM_MS 5000

typedef struct deliver {
    /* Wired by the caller before deliver_run; all borrowed. */
    tail_t *tail;
    publisher_t *pub;
    proc_t *proc;
    cstats_t *stats;
    wmk_t *wm;
    const char *edge;              /* this edge's id, for the watermarks */
    int once;                      /* --once: read to the end, wait for Kafka, no watermark steps */
    int metrics_interval_s;        /* between metrics log lines; 0: only at exit */
    volatile sig_atomic_t *stop;   /* 0 run, 1 stop and drain, 2 hurry (cli_stop) */
    volatile sig_atomic_t *reload; /* set: on_reload runs between two lines, then it is cleared */
    void (*on_reload)(void *ctx);
    void *ctx;
    /* State of the loop. */
    int need_rewind; /* a record failed in follow mode: resend from the confirmed positions */
    uint64_t failed; /* --once: records Kafka refused for good */
    int confirmed;   /* a record was confirmed since the last poll_confirmations */
} deliver_t;

/* The publisher's delivery callback (pub_ack_fn); ctx is the deliver_t. */
void deliver_ack(void *ctx, uint64_t token, int is_reject, rd_kafka_resp_err_t err);

/* Reads, sends and serves deliveries until a stop signal, the end of every file (--once), or a
 * fatal error. 0, or 1 when reading the logs failed or the producer could not be recreated. */
int deliver_run(deliver_t *d);

/* After deliver_run: waits for Kafka to confirm what is queued (bounded as above), saves the
 * positions, and sends the last watermark when every line read is confirmed and the stop was
 * not hurried. */
void deliver_drain(deliver_t *d);

#endif
