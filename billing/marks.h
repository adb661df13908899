/* marks.h: replay marks, the highest line offset billed per (edge, src, partition).
 *
 * The collector sends each log line with (src, off), the line's source and byte offset, and
 * after a crash sends lines again from its last saved position, with the same pairs. Billing
 * drops those copies: a hit whose off is not above the mark of its (edge, src, partition) was
 * already billed. A mark per source and partition (rather than a set of every pair) suffices
 * because of what the collector guarantees, and this is what it assumes:
 *   1. a source's lines are produced in increasing off, and a replay starts from an earlier
 *      line of the same source and goes forward in order;
 *   2. within one partition Kafka keeps that order (the collector's producer is idempotent:
 *      retries neither reorder nor duplicate), and no line is missing between two delivered
 *      lines of a source in a partition (a failed delivery makes the collector resend from its
 *      last confirmed line, i.e. a replay; a lost line followed by a later delivered one would
 *      be taken for billed when it is replayed);
 *   3. a line always goes to the same partition: the key is the customer and the partition count
 *      does not change while replays are possible (a host map change that moves a line to
 *      another customer between the original and its replay would bill it again, to that one).
 * edge is part of the key so that two edges may use the same src names.
 *
 * This module is the in-memory cache of the marks table (billing_replay_marks): an entry is
 * created PENDING when a key is first seen, filled from PostgreSQL (one query for all new keys
 * of a batch), raised as hits are billed, written with the flush that bills them, and evicted
 * when idle. Entries are allocated one by one, so a pointer to one stays valid until the entry
 * is dropped (marks_drop_partition, marks_evict). */
#ifndef MARKS_H
#define MARKS_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { MARK_PENDING, MARK_READY } mark_state_t;

typedef struct mark {
    uint64_t hash;
    char *edge, *src; /* NUL-terminated copies */
    uint32_t edgelen, srclen;
    int32_t partition;
    mark_state_t state; /* PENDING: the stored value is not known yet: do not decide on it */
    int64_t max_off;    /* highest off billed, in PostgreSQL or pending in memory; -1: none */
    int64_t stored;     /* max_off as PostgreSQL has it (-1: no row): max_off > stored is dirty */
    uint64_t used;      /* marks_tick() count at last use, for eviction */
    uint64_t queued;    /* batch number this entry was queued for reading in (0: never) */
} mark_t;

typedef struct marks marks_t;

marks_t *marks_new(void);
void marks_free(marks_t *m);

/* The entry of (edge, src, partition), created PENDING if new; stamped as used now. NULL when
 * out of memory. */
mark_t *marks_get(marks_t *m, const char *edge, size_t edgelen, const char *src, size_t srclen,
                  int32_t partition);

/* A READY entry's verdict on a hit at off: 1 if already billed (a replay: drop it), else 0 and
 * the mark rises to off. */
static inline int marks_seen(mark_t *e, uint64_t off) {
    if ((int64_t)off <= e->max_off) return 1;
    e->max_off = (int64_t)off;
    return 0;
}

/* Fills a PENDING entry with what PostgreSQL has (-1: no row). */
void marks_loaded(mark_t *e, int64_t stored);

size_t marks_count(const marks_t *m);
/* The dirty entries (max_off > stored) as store_mark_t into out (room for marks_count(m)):
 * returns how many. out[i].edge/src point into m: valid until m next changes. */
size_t marks_dirty(const marks_t *m, store_mark_t *out);
/* The dirty entries of partition (or of all when partition < 0) are now in PostgreSQL. */
void marks_settle(marks_t *m, int32_t partition);
/* Forgets every entry of partition (they are read again when next seen). */
void marks_drop_partition(marks_t *m, int32_t partition);
/* Advances the use clock (once per flush); marks_get stamps each entry it returns. */
uint64_t marks_tick(marks_t *m);
/* Frees clean entries unused for more than idle ticks; returns how many. */
size_t marks_evict(marks_t *m, uint64_t idle);

#endif
