/* offsets.h: `billing offsets` and `billing offsets reset`: where billing stands in each
 * partition, and the one way to move it after a person decided.
 *
 * `billing offsets` prints, per partition of the topic: the offset stored in PostgreSQL (the
 * next one billing reads), the range Kafka holds (low..high watermarks), the lag, the member
 * that owns it (owner.h: the application_name of the session holding its lock) and a state:
 * `ok`, or `gap` when the stored offset lies outside Kafka's range, or when there is none and
 * the first offset is above 0 (`billing run` stops on such a partition). Then the live members.
 *
 * `billing offsets reset (--partition N | --all) --to earliest|latest|OFFSET --reason TEXT`
 * moves stored offsets in one transaction, with one row per partition in
 * billing_offset_resets (schema/005_ownership.sql): who, when, old, new, Kafka's range, why.
 * A partition a live member owns is refused (stop it, or reset the others): the reset takes each
 * partition's lock for its transaction, so no member can read it meanwhile. OFFSET must lie in
 * Kafka's range. Replay marks are not touched: they name log lines (edge, src, off), not Kafka
 * offsets, so they stay true; a reset backwards re-reads hits that the marks then drop as
 * already billed, and a topic made anew carries new lines, above the marks. */
#ifndef OFFSETS_H
#define OFFSETS_H

#include "kafka.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* argv[0] is "offsets". Returns the exit status: 0, 1 (failure, logged), 2 (bad usage). */
int offsets_main(int argc, char **argv);

/* A partition in a gap (the rule above), for `billing status`. */
typedef struct offsets_gap {
    int32_t partition;
    int64_t stored; /* -1: none stored */
    int64_t lo, hi; /* Kafka's range */
} offsets_gap_t;

/* The partitions of k's topic in a gap for group: Kafka's ranges (asked through k) beside the
 * offsets stored in c. Up to cap of them into out; returns how many there are (may exceed cap),
 * or -1 with err (Kafka did not answer, or the query failed). */
int offsets_gaps(PGconn *c, const kopts_t *k, const char *group, offsets_gap_t *out, int cap,
                 char *err, size_t errlen);

#endif
