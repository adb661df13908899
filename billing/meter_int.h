/* meter_int.h: the state `billing run` shares between meter.c (the loop and the batches),
 * meter_state.c (partitions, waiting out outages, flushes) and meter_own.c (taking and
 * releasing partitions, offset gaps). Private to them. */
#ifndef METER_INT_H
#define METER_INT_H

#include "meter.h"

#include "bstats.h"
#include "hitcheck.h"
#include "kassign.h"
#include "owner.h"
#include "marks.h"
#include "rollup.h"
#include "store.h"

#define BATCH_MAX 8192     /* messages taken from librdkafka at once */
#define POLL_MAX_MS 100    /* longest wait in kassign_poll: flushes and signals stay timely */
#define BACKOFF_MIN_MS 100 /* first wait after a failure, doubled up to BACKOFF_MAX_MS */
#define BACKOFF_MAX_MS 5000
#define SHUTDOWN_FLUSH_MS 10000 /* how long the last flush may retry after a stop signal */
#define SEEK_TIMEOUT_MS 10000   /* a seek that waits guarantees no old message comes after it */
#define PARTITIONS_MAX 100000   /* partition ids we accept (Kafka allows far fewer in practice) */
#define MARK_IDLE_FLUSHES 600   /* marks unused for this many flushes (~10 min) leave memory */
#define MARK_SWEEP_FLUSHES 60   /* how often to look for them */
/* Flush before the bytes held over all rows (rollup_bytes_held) pass this: one batch adds at
 * most BATCH_MAX * HIT_BYTES_MAX (< 2^57), so every row, merged across partitions, stays below
 * 2^63 and fits the int64 of the flush (usage_hourly itself is numeric). */
#define ROW_BYTES_FLUSH (UINT64_C(1) << 62)

/* One partition of the topic, as this consumer knows it. */
typedef struct part {
    int owned;        /* assigned to this consumer now */
    int64_t stored;   /* next_offset in PostgreSQL, as last read or written; STORE_NO_OFFSET */
    int64_t next;     /* next offset to consume; -1 until the first message when started from the
                         beginning (no stored offset) */
    int64_t low, end; /* the watermarks when taken; end -1: not --once (read on for ever) */
    int odd_logged;   /* an unexpected offset was logged since the assignment */
} part_t;

/* ITEM_WM: a watermark message (key "#wm", watermark.h): neither a hit nor a reject. */
typedef enum { ITEM_SKIP, ITEM_EOF, ITEM_REJECT, ITEM_HIT, ITEM_WM } item_kind_t;

/* One message of a batch, decoded in the first pass and applied in the second. */
typedef struct item {
    rd_kafka_message_t *msg;
    item_kind_t kind;
    int reason;   /* ITEM_REJECT: a bstats_reason_t */
    hit_t hit;    /* ITEM_HIT: slices into msg's payload or the batch scratch */
    mark_t *mark; /* ITEM_HIT: the replay mark of (edge, src, partition) */
} item_t;

struct meter {
    meter_opts_t o;
    kassign_t *kc; /* the Kafka consumer of exactly the owned partitions */
    store_t *store;
    rollup_t *rollup;
    marks_t *marks;
    part_t *parts;
    int32_t nparts;
    int assigned; /* partitions were taken at least once (possibly none) */
    int progress; /* an owned partition's next moved past its stored offset */
    int failed;   /* a failure retrying cannot fix: stop */
    int final;    /* the last flush after a stop signal: retry until SHUTDOWN_FLUSH_MS */
    int64_t final_deadline;
    /* batch */
    rd_kafka_message_t *msgs[BATCH_MAX];
    item_t items[BATCH_MAX];
    char *scratch;
    size_t scratch_cap;
    mark_t **pending; /* marks to read from PostgreSQL before deciding on the batch */
    store_mark_t *pkeys;
    int64_t *pvals;
    size_t npending, pending_cap;
    uint64_t batch_no;
    /* flush */
    store_row_t *rows;
    size_t rows_cap;
    store_mark_t *dmarks;
    size_t dmarks_cap;
    store_offset_t *offs; /* room for nparts */
    int32_t *conflicts;   /* room for nparts */
    /* states, each logged once when it changes */
    int db_down, kafka_down;
    int64_t db_down_since;
    int backoff_ms;
    rd_kafka_resp_err_t last_kafka_err;
    /* ---- ownership (meter_own.c, owner.h): partitions by advisory locks, not Kafka's group */
    owner_t *owner;
    int32_t own_parts;      /* partitions of the topic (Kafka metadata); 0 until known */
    uint8_t *other;         /* [own_parts]: held by another session at the last look */
    int64_t next_look;      /* monotonic ms of the next look at pg_locks */
    int64_t owner_retry_at; /* monotonic ms of the next connection attempt */
    int owner_backoff_ms;
    int owner_down; /* the owner connection is away (logged once) */
    int64_t owner_down_since;
    int64_t started_ms; /* monotonic ms at start: --once gives up on the database after
                           ONCE_DB_WAIT_MS */
    int meta_logged;    /* a metadata failure was logged */
    int config_error;   /* a configuration error (missing database, bad credentials): exit 2 */
    int members, rank;  /* live members and our place, at the last look */
    /* ---- records: rejects, watermarks, completeness (meter.c; bdata) ---- */
    hit_tswin_t tswin;                /* hit_validate's window around the Kafka timestamp */
    int64_t rej_window_start;         /* wall ms: the minute the reject log counts in */
    int rej_logged[BREJ_COUNT];       /* reject lines logged in that minute, per reason */
    int64_t rej_unlogged[BREJ_COUNT]; /* rejects not logged in that minute, per reason */
    int32_t topic_parts;              /* the topic's partitions as last written, 0 unknown */
    int64_t next_topic_check;         /* mono ms of the next metadata look-up */
    store_edge_month_t *side_em;      /* side tables of a flush (store_set_side) */
    store_watermark_t *side_wm;
    store_reject_t *side_rej;
    size_t side_em_cap, side_wm_cap, side_rej_cap;
};

/* meter_state.c */
part_t *meter_part(meter_t *c, int32_t id);     /* NULL if never seen */
part_t *meter_part_get(meter_t *c, int32_t id); /* created on first use; NULL: bad id/OOM */
int meter_stopping(meter_t *c);
int meter_nap(meter_t *c, int ms);
void meter_kafka_error(meter_t *c, const rd_kafka_message_t *m);
void meter_kafka_up(meter_t *c);
void meter_kafka_down(meter_t *c, rd_kafka_resp_err_t e, const char *detail);
int meter_db_wait(meter_t *c, int rc, const char *err);
void meter_db_up(meter_t *c);
int meter_read_offsets(meter_t *c, const int32_t *ids, size_t n, int64_t *out);
void meter_forget(meter_t *c, int32_t id);
/* Writes what memory holds (one transaction; conflicts and unknown commits resolved, outages
 * waited out). 0 when everything held is written, -1 when failed or stopping. */
int meter_flush(meter_t *c);

/* meter_own.c: taking and releasing partitions (owner.h) */
#define OWN_LOOK_MS 500       /* how often members look at pg_locks and rebalance */
#define OWN_RETRY_MAX_MS 5000 /* longest wait between two connection attempts */
#define ONCE_DB_WAIT_MS 60000 /* --once gives up (exit 1) on a database away this long */
#define WATERMARK_TIMEOUT_MS 5000
/* Runs the ownership protocol when due: connect, look, take or release. -1 when billing must
 * stop (c->failed or c->config_error set), else 0. */
int meter_own_tick(meter_t *c, int64_t now);
/* Kafka could not fetch an owned partition at its offset (auto.offset.reset=error): a gap. */
void meter_own_gap(meter_t *c, int32_t id);
/* Drops every partition at once (the owner connection is lost, or the end). */
void meter_own_drop_all(meter_t *c, const char *why);

#endif
