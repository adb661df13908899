/* replay.h: drops hits the collector sent twice, so a window counts each log line once.
 *
 * After a crash or a producer failure the collector sends a source's lines again from its last
 * confirmed position, with the same (src, off). It sends a source's lines in order, and a
 * customer's hits all go to one partition, so per (partition, edge, src) the offsets only grow
 * except across a replay: a hit whose off is not above the highest seen is a repeat. (billing
 * keeps the same marks in PostgreSQL; here they live only as long as the partition is held.) */
#ifndef REPLAY_H
#define REPLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct replay replay_t;

replay_t *replay_new(void);
void replay_free(replay_t *r);

/* 1 if (partition, edge, src) has already seen a line at or after off (a repeat: drop it);
 * 0 if the hit is new, and it is recorded. -1 if memory ran out (the hit is treated as new). */
int replay_seen(replay_t *r, int32_t partition, const char *edge, size_t edgelen, const char *src,
                size_t srclen, uint64_t off, uint64_t now_s);

/* Forgets every mark of a partition (unused since every partition is always read; kept). */
void replay_drop_partition(replay_t *r, int32_t partition);

/* Forgets marks not touched since before idle_before_s: a source that stopped long ago. */
void replay_evict(replay_t *r, uint64_t idle_before_s);

size_t replay_count(const replay_t *r);

#endif
