/* edges.h: when an edge's hits are billed up to, and whether a month is complete: the rules of
 * `billing status` and `billing invoice --finalize`, as pure functions.
 *
 * An edge's watermark (common/watermark.h) in partition P says: every hit of the edge with
 * ts < wm_ms that belongs to P comes before it. `billing run` stores, per (topic, edge,
 * partition), the highest watermark consumed up to the stored offsets, in the transaction that
 * stores those offsets (so every hit before it is billed). The edge is then billed up to the
 * smallest of them over ALL partitions of the topic: a partition that never carried the edge's
 * watermark may still hold hits of any age, so the edge has no billed-to time yet.
 *
 * A month M = [start, end) of UTC is complete for an edge when (first rule that applies):
 *   retired        the edge will never report again (`billing edges retire`): holds nothing open
 *   open           now < end + grace: no month is complete before its end plus the grace
 *   complete       billed_to >= end + grace
 *   incomplete     the edge has billed usage in M, or it reported during M (its latest
 *                  watermark is >= start: it may have hits of M not billed yet)
 *   not_in_month   neither: the edge stopped before M began; it does not hold M open
 * The contract asks for the edges with usage in M; an edge that was reporting during M but has
 * no usage billed in it yet may be exactly one whose hits of M are late, so it holds M open too.
 * A month is complete when no edge is incomplete and it is not open. */
#ifndef EDGES_H
#define EDGES_H

#include <stddef.h>
#include <stdint.h>

#define EDGES_GRACE_DEFAULT_MS (3600LL * 1000) /* --grace default: 1 hour */
#define EDGES_GRACE_DEFAULT "1h"

typedef enum edges_state {
    EDGES_RETIRED,
    EDGES_OPEN,
    EDGES_COMPLETE,
    EDGES_INCOMPLETE,
    EDGES_NOT_IN_MONTH,
} edges_state_t;

/* What is known of one edge for one month. */
typedef struct edges_in {
    int has_usage;            /* billing_edge_months has the edge in the month */
    int retired;              /* billing_edges_retired has the edge */
    int64_t billed_to_ms;     /* edges_billed_to, or -1 when not known */
    int64_t latest_wm_ms;     /* the highest watermark of any partition, -1 when none */
    int64_t start_ms, end_ms; /* the month, UTC */
    int64_t grace_ms;
    int64_t now_ms;
} edges_in_t;

/* The billed-to time of one edge from its watermarks: part[i] carries wm[i] (i < n, partitions
 * unique), the topic has nparts partitions. -1 when nparts <= 0 or some partition 0..nparts-1
 * has no watermark, else the smallest wm of those partitions (partitions >= nparts, which a
 * topic that shrank... cannot have, are ignored). */
int64_t edges_billed_to(const int32_t *part, const int64_t *wm, size_t n, int32_t nparts);

edges_state_t edges_state(const edges_in_t *e);
/* "retired", "open", "complete", "incomplete", "not in month". */
const char *edges_state_name(edges_state_t s);

/* The first millisecond of month (1..12) of year, UTC. */
int64_t edges_month_start_ms(int year, int month);

/* A duration: a whole number followed by ms, s, m, h or d ("90m", "1h", "2d"), or "0". 0, or -1
 * when malformed or longer than 366 days. */
int edges_duration_parse(const char *s, int64_t *ms);
/* ms as "3d4h", "2h5m", "1m30s", "12s", "0s" (the two largest units). Returns buf. */
char *edges_duration_format(int64_t ms, char *buf, size_t cap);
/* ms since the epoch as "2026-11-30T23:59:59.123Z" ("-" for ms < 0). Returns buf. */
char *edges_time_format(int64_t ms, char *buf, size_t cap);

#endif
