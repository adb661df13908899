/* consume_int.h: the state `billing run` shares between consume.c (the loop and the batches)
 * and consume_state.c (partitions, rebalances, waiting out outages, flushes). Private to them. */
#ifndef CONSUME_INT_H
#define CONSUME_INT_H

#include "consume.h"

#include "bstats.h"
#include "hitcheck.h"
#include "kconsumer.h"
#include "marks.h"
#include "rollup.h"
#include "store.h"

#define BATCH_MAX 8192     /* messages taken from librdkafka at once */
#define POLL_MAX_MS 100    /* longest wait in kcons_poll: flushes and signals stay timely */
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
    int64_t low, end; /* --once: the watermarks at start; end -1: not part of this run */
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

struct consume {
    consume_opts_t o;
    kcons_t *kc;
    store_t *store;
    rollup_t *rollup;
    marks_t *marks;
    part_t *parts;
    int32_t nparts;
    int assigned; /* the group gave us an assignment (possibly empty) */
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
    int reason_logged[BREJ_COUNT];
    /* ---- records: rejects, watermarks, completeness (consume.c; bdata) ---- */
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

/* consume_state.c */
part_t *consume_part(consume_t *c, int32_t id);     /* NULL if never seen */
part_t *consume_part_get(consume_t *c, int32_t id); /* created on first use; NULL: bad id/OOM */
int consume_stopping(consume_t *c);
int consume_nap(consume_t *c, int ms);
void consume_kafka_error(consume_t *c, const rd_kafka_message_t *m);
void consume_kafka_up(consume_t *c);
void consume_kafka_down(consume_t *c, rd_kafka_resp_err_t e, const char *detail);
int consume_db_wait(consume_t *c, int rc, const char *err);
void consume_db_up(consume_t *c);
int consume_on_assign(void *ctx, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, char *err,
                      size_t errlen);
void consume_on_revoke(void *ctx, rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *l);
/* Writes what memory holds (one transaction; conflicts and unknown commits resolved, outages
 * waited out). 0 when everything held is written, -1 when failed or stopping. */
int consume_flush(consume_t *c);

#endif
