#include "edges_db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_CLOCK[] =
    "SELECT (extract(epoch FROM now()) * 1000)::bigint,"
    " coalesce((SELECT partitions FROM billing_topics WHERE topic = $1), 0)";
/* Every edge known: by a watermark in the topic, by usage in the month, or retired. Its
 * watermarks come as "partition:wm_ms,..." (one row per edge whatever the partitions). */
static const char SQL_EDGES[] =
    "WITH e AS (SELECT edge FROM billing_edge_watermarks WHERE topic = $1"
    " UNION SELECT edge FROM billing_edge_months WHERE month = $2::date"
    " UNION SELECT edge FROM billing_edges_retired)"
    " SELECT e.edge, m.hits::text,"
    " to_char(r.retired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.retired_by,"
    " r.reason,"
    " coalesce((SELECT string_agg(w.kafka_partition || ':' || w.wm_ms, ',')"
    " FROM billing_edge_watermarks w WHERE w.topic = $1 AND w.edge = e.edge), '')"
    " FROM e LEFT JOIN billing_edge_months m ON m.edge = e.edge AND m.month = $2::date"
    " LEFT JOIN billing_edges_retired r ON r.edge = e.edge"
    " ORDER BY e.edge COLLATE \"C\"";

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *p, const char *what,
                       char *err, size_t errlen) {
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK) return r;
    snprintf(err, errlen, "%s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    err[strcspn(err, "\n")] = 0;
    PQclear(r);
    return NULL;
}

static const char *val(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* "3:1764...,0:1764..." into e's billed-to, latest and partitions seen. */
static int read_watermarks(edgesdb_edge_t *e, const char *list, int32_t nparts) {
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    int32_t *part = calloc(cap, sizeof *part);
    int64_t *wm = calloc(cap, sizeof *wm);
    size_t n = 0;
    if (!part || !wm) {
        free(part);
        free(wm);
        return -1;
    }
    e->latest_wm_ms = -1;
    for (const char *p = list; *p;) {
        char *end;
        part[n] = (int32_t)strtol(p, &end, 10);
        wm[n] = *end == ':' ? strtoll(end + 1, &end, 10) : 0;
        if (wm[n] > e->latest_wm_ms) e->latest_wm_ms = wm[n];
        if (part[n] >= 0 && part[n] < nparts) e->partitions_seen++;
        n++;
        p = *end == ',' ? end + 1 : end + strlen(end);
    }
    e->billed_to_ms = edges_billed_to(part, wm, n, nparts);
    free(part);
    free(wm);
    return 0;
}

int edgesdb_load(PGconn *c, const char *topic, int year, int month, int64_t grace_ms, edgesdb_t *d,
                 char *err, size_t errlen) {
    char first[16];
    memset(d, 0, sizeof *d);
    snprintf(first, sizeof first, "%04d-%02d-01", year, month);
    const char *p1[1] = {topic}, *p2[2] = {topic, first};
    if (!(d->res[0] = query(c, SQL_CLOCK, 1, p1, "reading the clock", err, errlen)) ||
        !(d->res[1] = query(c, SQL_EDGES, 2, p2, "reading the edges", err, errlen)))
        return -1;
    d->now_ms = strtoll(PQgetvalue(d->res[0], 0, 0), NULL, 10);
    d->partitions = (int32_t)strtol(PQgetvalue(d->res[0], 0, 1), NULL, 10);
    d->start_ms = edges_month_start_ms(year, month);
    d->end_ms = edges_month_start_ms(month == 12 ? year + 1 : year, month == 12 ? 1 : month + 1);
    d->grace_ms = grace_ms;
    d->open = d->now_ms < d->end_ms + grace_ms;
    int n = PQntuples(d->res[1]);
    d->edges = calloc((size_t)n + 1, sizeof *d->edges);
    if (!d->edges) goto oom;
    for (int i = 0; i < n; i++) {
        const PGresult *r = d->res[1];
        edgesdb_edge_t *e = &d->edges[d->n++];
        *e = (edgesdb_edge_t){val(r, i, 0), val(r, i, 1), val(r, i, 2), val(r, i, 3),
                              val(r, i, 4), -1,           -1,           0,
                              EDGES_OPEN};
        if (read_watermarks(e, val(r, i, 5), d->partitions) < 0) goto oom;
        edges_in_t in = {e->month_hits != NULL,
                         e->retired_at != NULL,
                         e->billed_to_ms,
                         e->latest_wm_ms,
                         d->start_ms,
                         d->end_ms,
                         grace_ms,
                         d->now_ms};
        e->state = edges_state(&in);
        d->nincomplete += e->state == EDGES_INCOMPLETE;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory reading the edges");
    return -1;
}

void edgesdb_free(edgesdb_t *d) {
    PQclear(d->res[0]);
    PQclear(d->res[1]);
    free(d->edges);
    memset(d, 0, sizeof *d);
}

char *edgesdb_incomplete(const edgesdb_t *d, int *oom) {
    char *s = NULL, t[40];
    size_t len = 0;
    FILE *f;
    *oom = 0;
    if (!d->open && !d->nincomplete) return NULL;
    if (!(f = open_memstream(&s, &len))) goto oom;
    if (d->open)
        fprintf(f, "the month has not ended plus the grace (not before %s)",
                edges_time_format(d->end_ms + d->grace_ms, t, sizeof t));
    for (size_t i = 0, k = 0; i < d->n && !d->open; i++) {
        const edgesdb_edge_t *e = &d->edges[i];
        if (e->state != EDGES_INCOMPLETE) continue;
        if (e->billed_to_ms >= 0)
            fprintf(f, "%s%s billed to %s", k++ ? ", " : "", e->edge,
                    edges_time_format(e->billed_to_ms, t, sizeof t));
        else if (d->partitions > 0)
            fprintf(f, "%s%s without a watermark in %" PRId32 " of %" PRId32 " partitions",
                    k++ ? ", " : "", e->edge, d->partitions - e->partitions_seen, d->partitions);
        else
            fprintf(f, "%s%s (the topic's partitions are not known yet)", k++ ? ", " : "", e->edge);
    }
    if (fclose(f) != 0) goto oom;
    return s;
oom:
    free(s);
    *oom = 1;
    return NULL;
}
