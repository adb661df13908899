/* meter.h: `billing run`'s meter: reads `hits` and turns every hit into usage rows, exactly once.
 *
 *   owner (partitions owned by advisory locks in PostgreSQL, owner.h; meter_own.c) ->
 *   kassign (reads exactly those) -> watermark (key "#wm") or hit_decode + hit_validate ->
 *   replay marks (drop replays) -> rollup (sums per partition, customer, UTC hour, country; edge
 *   months, watermarks, rejects) -> store_flush (one transaction: usage, offsets by
 *   compare-and-set, marks, rejects, watermarks, edge months)
 *
 * Every record consumed is a hit, a watermark, or a reject: a record that cannot be billed
 * (the decoder's reasons, hit_validate's with the Kafka message timestamp as the reference, a
 * "#wm" value that is not a watermark) is written to billing_rejects in the flush that moves
 * the offset past it, logged (at most METER_REJECT_LOG_PER_MIN lines per reason and minute,
 * the rest counted in one line) and counted in billing_hits_rejected_total{reason}.
 *
 * Exactly once, whatever happens:
 * - Offsets live in PostgreSQL, written in the transaction that writes the sums they cover. When
 *   taken, a partition starts at its stored offset (Kafka's committed offsets are unused),
 *   so a kill -9 at any instant loses nothing (what was not committed is read again) and counts
 *   nothing twice (what was committed is past the stored offset).
 * - Each offset moves by compare-and-set from the value this consumer read or wrote. A consumer
 *   that lost a partition (its owner session ended while it still held sums) and still holds sums
 *   fails the compare: it rolls back, drops exactly that partition's sums and marks, re-reads
 *   the stored offset and seeks there. Sums of other partitions are kept and written next.
 * - A COMMIT whose connection dropped is never retried blindly: after reconnecting, a partition
 *   whose stored offset is the one written has landed (its sums are dropped from memory), one
 *   still at the expected value has not (its sums are kept and written again), any other value
 *   is a conflict as above.
 * - Replays of the collector (same edge, src, off) are dropped by the marks (marks.h).
 * - PostgreSQL down or restarting: the loop stops taking messages (librdkafka buffers a bounded
 *   amount), retries with backoff, and goes on where it was; the outage and the recovery are
 *   logged once each. The owner session is lost with the server: every partition is dropped at
 *   once and taken again, from the stored offsets, when the database answers.
 * - Kafka down: librdkafka reconnects by itself (its log lines, with repeats suppressed, say so;
 *   consumer errors that reach billing are logged once per change); billing writes what it
 *   holds and waits.
 *
 * Flushes happen every flush_ms while there is progress, and as soon as the rows and dirty marks
 * held reach flush_rows. Flushes happen between two batches of messages, never inside one. */
#ifndef METER_H
#define METER_H

#include "hit.h"
#include "kafka.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define METER_DEFAULT_GROUP "billing"
#define METER_DEFAULT_FLUSH_MS 1000
#define METER_DEFAULT_FLUSH_ROWS 50000
/* Rejects held in memory before a flush is due: bounds their memory (4 KiB of text each). */
#define METER_REJECTS_FLUSH 10000
/* Reject log lines per reason and minute; the rest is counted and said in one line. */
#define METER_REJECT_LOG_PER_MIN 10
/* After an offset gap, `billing run --metrics-listen` (not --once) keeps serving /metrics this
 * long, billing_offset_gap set, before it exits 1: a process that exits at once is never scraped
 * (Prometheus scrapes every 15 s to 1 min), so the gap would show only as a restart loop.
 * SIGTERM ends the wait. */
#define METER_GAP_LINGER_MS 60000

typedef struct meter_opts {
    const kopts_t *kafka;        /* brokers, topic, -X properties */
    const char *group;           /* names the stored offsets and the lock space */
    const char *conninfo;        /* libpq conninfo or URI; "" = PG* environment */
    const char *role;            /* SET ROLE to this after connecting ("" = stay) */
    int once;                    /* stop at the partition ends as they were at start */
    int flush_ms;                /* flush at least this often while there is progress */
    size_t flush_rows;           /* flush as soon as rows + dirty marks reach this */
    int metrics_interval_s;      /* logfmt metrics line every N s (0: only at exit) */
    volatile sig_atomic_t *stop; /* set by the signal handlers: finish and return */
    /* ownership (owner.h) */
    const char *instance;       /* this member's name: application_name of its owner session */
    volatile sig_atomic_t *hup; /* set by SIGHUP: logged, nothing to reload; NULL: unused */
} meter_opts_t;

typedef struct meter meter_t;

/* Creates the consumer (takes partitions on the first poll, owner.h). NULL with err on bad Kafka
 * properties. The caller owns the result: meter_free. */
meter_t *meter_new(const meter_opts_t *o, char *err, size_t errlen);

/* Runs until --once is done or *stop is set; writes what it holds before returning. Returns 0
 * (done, or stopped), 2 on a configuration error (the database does not exist, authentication
 * failed: logged), 1 on a failure that retrying cannot fix (logged: an offset gap is one), or
 * with --once when stopped before the end. */
int meter_run(meter_t *c);

void meter_free(meter_t *c);

#endif
