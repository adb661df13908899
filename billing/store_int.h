/* store_int.h: what store.c (connections, offsets, marks, the flush transaction) shares with
 * store_side.c (the flush's usage fallback, rejects, watermarks, edge months). Private to them. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include "store.h"

#define STORE_ARRAYS 7 /* most array parameters of one statement */

struct store {
    char *conninfo, *role, *group, *topic;
    PGconn *conn;
    store_buf_t a[STORE_ARRAYS]; /* array literals, reused from flush to flush */
    int64_t last_flush_us;
    char last_sqlstate[6]; /* of the last failed usage upsert */
    size_t held;           /* usage rows the last flush held back (billing_usage_held) */
    store_side_fn side;    /* fills a flush's side tables (store_set_side), or NULL */
    void *side_ctx;
};

/* Runs one parameterized statement; returns its result if it has the wanted status, else NULL
 * with err (and *transient set). */
PGresult *store_exec(PGconn *c, const char *sql, int n, const char *const *vals,
                     ExecStatusType want, const char *what, int *transient, char *err,
                     size_t errlen);
/* The same, also giving the SQLSTATE of a failure ("" when none; room for 6 bytes). */
PGresult *store_exec_state(PGconn *c, const char *sql, int n, const char *const *vals,
                           ExecStatusType want, const char *what, int *transient, char *sqlstate,
                           char *err, size_t errlen);
/* err = "what: libpq's message" without the trailing newline. */
void store_pq_err(PGconn *c, const PGresult *res, const char *what, char *err, size_t errlen);
/* "2026-11-01 00:00:00+00" of an hour, unambiguous whatever the session's settings. */
void store_hour_text(int64_t hour_s, char *out, size_t cap);

/* store.c: the usage rows of b in one upsert (store_side.c calls it under a savepoint). */
int store_flush_usage(store_t *s, const store_batch_t *b, int *transient, char *err, size_t errlen);

/* store_side.c: the usage with its per-row fallback (store.h), then the rest of a flush. Each
 * returns 0, or -1 with err and *transient. */
int store_flush_usage_safely(store_t *s, const store_batch_t *b, int *transient, char *err,
                             size_t errlen);
int store_flush_side(store_t *s, const store_side_t *side, int *transient, char *err,
                     size_t errlen);

#endif
