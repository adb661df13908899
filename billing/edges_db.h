/* edges_db.h: what PostgreSQL knows of the edges, for one topic and one month: the facts
 * edges.h decides on, loaded once for `billing status` and `billing invoice`.
 *
 * Read in the caller's transaction (billing invoice's REPEATABLE READ snapshot: the decision to
 * finalize is taken on the very data it prices). "now" is the database's transaction time, so
 * every machine that asks gets the same answer. Strings point into the PGresult: valid until
 * edgesdb_free. */
#ifndef EDGES_DB_H
#define EDGES_DB_H

#include "edges.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

typedef struct edgesdb_edge {
    const char *edge;
    const char *month_hits;  /* billed hits in the month (decimal), NULL when none */
    const char *retired_at;  /* ISO 8601 UTC, NULL when not retired */
    const char *retired_by;  /* NULL when not retired */
    const char *retired_why; /* the reason given, NULL when not retired */
    int64_t billed_to_ms;    /* edges_billed_to, -1 when not known */
    int64_t latest_wm_ms;    /* the highest watermark of any partition, -1 when none */
    int32_t partitions_seen; /* partitions (of the topic's) that carried its watermark */
    edges_state_t state;
} edgesdb_edge_t;

typedef struct edgesdb {
    PGresult *res[2];      /* clock and partitions; edges */
    int32_t partitions;    /* the topic's, from billing_topics; 0 when not known */
    edgesdb_edge_t *edges; /* sorted by name (byte order) */
    size_t n;
    int64_t start_ms, end_ms; /* the month */
    int64_t grace_ms, now_ms;
    int open;           /* now < end + grace: the month cannot be complete yet */
    size_t nincomplete; /* edges in state EDGES_INCOMPLETE */
} edgesdb_t;

/* Loads the edges of topic for the month (year, month) into d (zeroed first). 0, or -1 with err;
 * edgesdb_free(d) either way. */
int edgesdb_load(PGconn *c, const char *topic, int year, int month, int64_t grace_ms, edgesdb_t *d,
                 char *err, size_t errlen);
void edgesdb_free(edgesdb_t *d);

/* Why the month is not complete, one line (malloc'd, the caller frees): "the month has not
 * ended plus the grace (until ...)", or "edge-a billed to 2026-11-30T22:00:00.000Z, edge-b
 * without a watermark in 3 of 16 partitions". NULL when it is complete (or out of memory:
 * *oom is then set). */
char *edgesdb_incomplete(const edgesdb_t *d, int *oom);

#endif
