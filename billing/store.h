/* store.h: billing's PostgreSQL side: connections, stored offsets, replay marks, and the one
 * transaction per flush that makes `billing run` exactly-once.
 *
 * A flush writes, in ONE transaction: the usage sums (upsert adding to usage_hourly), the next
 * offset of every partition it covers, moved with a compare-and-set from the value this consumer
 * read or last wrote (so a consumer that lost a partition and still holds sums cannot write
 * them: its expected offset is stale), the replay marks, the rejected records (billing_rejects,
 * each Kafka position once), and the edges' watermarks and months (store_side.c). Either all
 * of it lands or none.
 *
 * No single row can stop billing: usage is upserted under a savepoint; when the upsert fails
 * with an error of the data (a value, a constraint, a trigger: SQLSTATE classes 22, 23, P0),
 * the rows are written one by one, each under its own savepoint, and a row that still fails is
 * kept in billing_usage_held with the error instead, in the same transaction: the offsets move
 * on and every other row is billed. Values are numeric in PostgreSQL (schema/006): no sum
 * overflows there.
 *
 * Outcomes are explicit because each needs a different reaction from the consumer:
 *   STORE_OK        committed.
 *   STORE_CONFLICT  an offset was not the expected one: rolled back; `conflicts` lists those
 *                   partitions (someone else owns or advanced them).
 *   STORE_RETRY     failed before COMMIT was sent (connection lost, server restarting, deadlock,
 *                   serialization): certainly not committed; retry later.
 *   STORE_UNKNOWN   the connection dropped during COMMIT: it may or may not have landed. Never
 *                   retry blindly: reconnect and compare the stored offsets (store_read_offsets)
 *                   with what was written.
 *   STORE_FATAL     an error retrying cannot fix (missing table, permission, constraint): the
 *                   program stops with err.
 * Every statement is parameterized; values travel as PostgreSQL array literals built here.
 *
 * Connections: store_connect is the one place billing opens a session (billing invoice reuses
 * it). The session is set up for correctness whatever the server's defaults: UTF8, TimeZone UTC,
 * synchronous_commit on, notices below warnings silenced; and, when asked and allowed, SET ROLE
 * to a less privileged role. */
#ifndef STORE_H
#define STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

enum {
    STORE_OK = 0,
    STORE_CONFLICT = -1,
    STORE_RETRY = -2,
    STORE_UNKNOWN = -3,
    STORE_FATAL = -4,
};

/* The role `billing run` and `billing invoice` switch to (schema/001_init.sql creates it). */
#define STORE_WRITER_ROLE "billing_writer"
/* The role `billing hosts` switches to: it only reads. */
#define STORE_READER_ROLE "billing_reader"
/* No stored offset for a partition (no row yet). */
#define STORE_NO_OFFSET (-1)

/* --db if given, else $DATABASE_URL, else "" (libpq then uses its PG* environment variables,
 * and its password file: $PGPASSFILE, else ~/.pgpass, which it reads whenever the connection
 * string has no password). */
const char *store_conninfo(const char *opt_db);

/* Hides the secrets a message may echo from a connection string, in place: the value of every
 * password=... (quoted or not, also in a URI's query) and the password of a URI's user:pass@
 * become "***". Every message that can hold a connection string goes through it (libpq quotes
 * a malformed URI whole in its error). Returns s. */
char *store_redact(char *s);

/* Checks the syntax of a connection string: 0, or -1 with "--db: bad connection string: why"
 * (redacted) in err. */
int store_check_conninfo(const char *conninfo, char *err, size_t errlen);

/* Opens a session and sets it up (see above). role: NULL or "" keeps the login role; else, if
 * that role exists and the login role is a member of it, SET ROLE to it (a login role that is not
 * a member keeps its own rights). Returns NULL with err on failure. The caller PQfinish()es. */
PGconn *store_connect(const char *conninfo, const char *app_name, const char *role, char *err,
                      size_t errlen);

/* Whether a failed result means "try again later" (connection, server starting or stopping,
 * deadlock, serialization, resources) rather than a permanent error. res may be NULL. */
int store_transient(PGconn *c, const PGresult *res);

/* One usage row of a flush: sums for (customer, hour, country), keys unique within a flush.
 * Rows are written in the order given; rollup_export orders them by `order`, a hash of the key
 * that every billing process computes alike, so that two writers of the same rows lock them in
 * one order (no deadlock). */
typedef struct store_row {
    const char *customer; /* borrowed, NUL-terminated */
    int64_t hour_s;       /* start of the UTC hour, seconds since the epoch */
    char country[3];      /* two letters A-Z and NUL */
    uint64_t hits, bytes;
    uint64_t order; /* rollup's key hash; 0 where unused */
} store_row_t;

/* One partition's offset move: expected -> next. */
typedef struct store_offset {
    int32_t partition;
    int64_t expected; /* the stored value this consumer knows, or STORE_NO_OFFSET (no row) */
    int64_t next;     /* the next offset to read after this flush */
} store_offset_t;

/* One replay mark to raise: (edge, src, partition) -> max_off. */
typedef struct store_mark {
    const char *edge, *src; /* borrowed, NUL-terminated */
    int32_t partition;
    int64_t max_off;
} store_mark_t;

/* Billed hits of an edge in a UTC month (billing_edge_months). */
typedef struct store_edge_month {
    const char *edge; /* borrowed, NUL-terminated, not empty */
    int32_t month;    /* year * 12 + (month - 1) */
    uint64_t hits;
} store_edge_month_t;

/* The highest watermark of an edge consumed in a partition (billing_edge_watermarks). */
typedef struct store_watermark {
    const char *edge; /* borrowed, NUL-terminated, not empty */
    int32_t partition;
    int64_t wm_ms;
} store_watermark_t;

/* A record consumed and not billed (billing_rejects). */
typedef struct store_reject {
    int32_t partition;
    int64_t offset;
    const char *reason;    /* bstats_reason_name */
    const char *record;    /* rejrec_text of the value: storable text */
    int64_t kafka_ts_ms;   /* the message's Kafka timestamp, -1 if none */
    uint32_t record_bytes; /* length of the whole value */
    int altered;           /* rejrec_text replaced bytes */
} store_reject_t;

typedef struct store_batch {
    const store_row_t *rows;
    size_t nrows;
    const store_offset_t *offsets;
    size_t noffsets;
    const store_mark_t *marks;
    size_t nmarks;
} store_batch_t;

/* The rest of a flush, filled by the side function (store_set_side). */
typedef struct store_side {
    const store_edge_month_t *edge_months;
    size_t nedge_months;
    const store_watermark_t *watermarks;
    size_t nwatermarks;
    const store_reject_t *rejects;
    size_t nrejects;
} store_side_t;

/* A connection kept for `billing run`: group and topic name the offsets it owns. */
typedef struct store store_t;

/* Borrows nothing: copies conninfo, role, group and topic. Does not connect yet. */
store_t *store_new(const char *conninfo, const char *role, const char *group, const char *topic);
void store_free(store_t *s);

/* Connects if not connected (one attempt). 0, or STORE_RETRY / STORE_FATAL with err. A server
 * that refuses the connection (down, starting) is STORE_RETRY; bad credentials or a missing
 * database are too (a DBA may be fixing them): the caller backs off and logs once. */
int store_ensure(store_t *s, char *err, size_t errlen);
/* Drops the connection (after an error that leaves its state unknown). */
void store_disconnect(store_t *s);

/* Stored next offsets of parts[0..n) into out[] (STORE_NO_OFFSET where no row). */
int store_read_offsets(store_t *s, const int32_t *parts, size_t n, int64_t *out, char *err,
                       size_t errlen);

/* Stored replay marks of keys[0..n) (their max_off is ignored) into out[] (-1 where none). */
int store_read_marks(store_t *s, const store_mark_t *keys, size_t n, int64_t *out, char *err,
                     size_t errlen);

/* Fills the side tables of a flush (edge_months, watermarks, rejects) into *side, from what the
 * caller holds now. store_flush calls it on every attempt, so a retry after a conflict writes
 * exactly what is held then (the consumer drops a lost partition's side entries with its sums).
 * Returns 0, or -1 when out of memory. */
typedef int (*store_side_fn)(void *ctx, store_side_t *side);
/* Registers fn (ctx borrowed until store_free). */
void store_set_side(store_t *s, store_side_fn fn, void *ctx);

/* Records the topic's partition count in billing_topics (its own short transaction: it is a
 * fact about Kafka, not about what was billed). 0, or a STORE_ code with err. */
int store_topic_partitions(store_t *s, int32_t partitions, char *err, size_t errlen);

/* The flush transaction (see above). On STORE_CONFLICT, conflicts[0..*nconflicts) are the
 * partitions whose expected offset did not match (conflicts has room for b->noffsets). */
int store_flush(store_t *s, const store_batch_t *b, int32_t *conflicts, size_t *nconflicts,
                char *err, size_t errlen);

/* Duration of the last store_flush, microseconds (also on failure). */
int64_t store_last_flush_us(const store_t *s);
/* Usage rows the last store_flush held back in billing_usage_held (call it after a committed
 * flush); the count is then zeroed. */
size_t store_take_held(store_t *s);

/* A PostgreSQL array literal built in a growable buffer: elements quoted and escaped ("a\"b")
 * so that any text survives; exposed for the unit tests. The append functions return 0, or -1
 * when out of memory (the buffer is then unusable until store_buf_begin). */
typedef struct store_buf {
    char *p;
    size_t n, cap;
} store_buf_t;
void store_buf_begin(store_buf_t *b); /* empties b and opens the literal: "{" */
int store_buf_quoted(store_buf_t *b, const char *s);
int store_buf_int(store_buf_t *b, int64_t v);
int store_buf_uint(store_buf_t *b, uint64_t v);
int store_buf_end(store_buf_t *b); /* closes it: "}" and a NUL; -1 when out of memory */
void store_buf_free(store_buf_t *b);

#endif
