/* wmstate.h: how complete the windows are: the edges' watermarks and the partitions' reading.
 *
 * Each edge's collector puts a watermark in every partition of `hits` at least once a second
 * (common/watermark.h): in partition P, {edge E, wm_ms W} comes after every hit of E with
 * ts < W that belongs to P. This module keeps, per (partition, edge), the highest W read and
 * when it was sent (the message's Kafka timestamp, so that a minute read back after a restart
 * is dated as it was sent, not as it was read), and, per partition, whether this instance has
 * read it up to the end it saw when it started reading, and the newest message time read.
 * From that it answers, for the partition of a customer, the three keys of every window
 * (CONTRACT.md "Completeness, recovery and rejects"):
 *
 *   complete_to_ms  min over the edges that reported on P in the last WM_EDGE_STALE_MS (5 min)
 *                   of their W: every such edge delivered all its hits with ts < this. Never
 *                   beyond end_ms (the current second is never complete). While P is still
 *                   being read back, never beyond the newest message time read in P (from_ms,
 *                   the window's first second, before any). When no edge has reported on P
 *                   in 5 minutes: end_ms once P is read to its end (nothing is known to be
 *                   missing: no edge runs, or none sends watermarks), from_ms before.
 *   edges_behind    the edges known on P whose W is more than WM_BEHIND_MS (5 s) behind the
 *                   wall clock, most behind first. An edge that stopped reporting stays listed
 *                   with its last W until WMS_FORGET_MS (6 hours) after it last reported, or
 *                   until a restart: an instance knows only the edges it read, and it reads
 *                   back about a minute.
 *   catching_up     some partition is not yet read up to the end it had when reading started
 *                   (also before the partitions are known).
 *
 * W only grows: a watermark never stops being true, so an older one read later (a collector
 * restarted with a slow clock) does not move an edge back.
 *
 * Threads: the consumer writes (wms_note, wms_partition, wms_sweep), HTTP threads read
 * (wms_status, wms_metrics); one mutex, held for a few microseconds. */
#ifndef WMSTATE_H
#define WMSTATE_H

#include "watermark.h"

#include <stddef.h>
#include <stdint.h>

#define WMS_FORGET_MS (6LL * 3600 * 1000) /* an edge silent this long is forgotten */
#define WMS_BEHIND_MAX 64                 /* edges_behind lists at most this many */
#define WMS_PARTITIONS_MAX 100000

typedef struct wms wms_t;

typedef struct wms_behind {
    char *edge; /* NUL-terminated, owned by the status */
    int64_t watermark_ms;
} wms_behind_t;

typedef struct wms_status {
    int64_t complete_to_ms;
    int catching_up;
    wms_behind_t *behind; /* nbehind entries, most behind first; free with wms_status_free */
    size_t nbehind;
} wms_status_t;

/* Counts for /metrics. */
typedef struct wms_counts {
    size_t edges;  /* edges known */
    size_t behind; /* edges whose lowest W over the partitions is > WM_BEHIND_MS behind */
    size_t stale;  /* edges that have not reported on any partition for WM_EDGE_STALE_MS */
} wms_counts_t;

/* An empty state (no partition known: catching up). NULL when out of memory; wms_free. */
wms_t *wms_new(void);
void wms_free(wms_t *w);

/* A watermark read from partition part: edge[0..n) delivered its hits with ts < wm_ms; sent_ms
 * is when it was sent (message timestamp). 0, or -1 out of memory / bad partition. */
int wms_note(wms_t *w, int32_t part, const char *edge, size_t n, int64_t wm_ms, int64_t sent_ms);

/* The topic has nparts partitions (only grows). */
void wms_set_partitions(wms_t *w, int32_t nparts);

/* Partition part's reading: caught_up (read to the end seen at start), and pos_ms, the newest
 * message timestamp read in it (-1: none). */
void wms_partition(wms_t *w, int32_t part, int caught_up, int64_t pos_ms);

/* 1 while catching up (see above). */
int wms_catching_up(wms_t *w);

/* The keys of a window on partition part ending at second end_ms whose first second starts at
 * from_ms, as of the wall clock now_ms. 0, or -1 out of memory (out then lists no edge). */
int wms_status(wms_t *w, int32_t part, int64_t now_ms, int64_t from_ms, int64_t end_ms,
               wms_status_t *out);
void wms_status_free(wms_status_t *s);

/* Forgets edges silent for WMS_FORGET_MS; the consumer calls it about once a second. */
void wms_sweep(wms_t *w, int64_t now_ms);

/* Appends Prometheus text to buf: aggregator_edge_watermark_seconds{edge=...} (lowest W over
 * the partitions, per edge), aggregator_edge_last_report_seconds{edge=...}, aggregator_edges,
 * aggregator_edges_behind, aggregator_edges_stale, aggregator_catching_up, and
 * aggregator_catchup_seconds when catchup_ms >= 0 (times in seconds, Prometheus' base unit,
 * with millisecond decimals). Returns the length written, or 0 if it does not fit. counts may
 * be NULL. */
size_t wms_metrics(wms_t *w, int64_t now_ms, int64_t catchup_ms, char *buf, size_t cap,
                   wms_counts_t *counts);

#endif
