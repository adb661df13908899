/* watermark.h: the edge watermark, the record that says when an edge's hits are complete.
 *
 * A watermark message sits in the `hits` topic between hit records. Its meaning, which every
 * consumer may rely on:
 *
 *     In partition P, a watermark {edge E, wm_ms W} comes after every hit of edge E with
 *     ts < W that belongs to P. A consumer that has read P up to it holds all of them.
 *
 * The collector sends one to every partition of the topic at least once a second, also when it
 * has no traffic, and only once Kafka has confirmed every line it read before taking W (see
 * collector/watermarks.h for how W is chosen). So a consumer of one partition learns, from
 * that partition alone, up to when each edge is complete for the customers it holds.
 *
 * The message key is WM_KEY: it starts with '#', which no customer id may hold (custid.h), so a
 * consumer tells a watermark from a hit by the key alone, before decoding anything. The value:
 *
 *     {"v":1,"kind":"watermark","edge":"edge-fra-1","wm_ms":1764021898000}
 *
 * Cost at scale: E edges and P partitions at one watermark a second give E x P messages a
 * second in all (100 edges x 16 partitions: 1,600/s of about 70 bytes, 112 kB/s), and each
 * partition's readers see E a second, whatever the hit rate. The collector sends at most one per
 * partition per interval (WM_INTERVAL_MS), so the cost is bounded by E x P / interval. */
#ifndef WATERMARK_H
#define WATERMARK_H

#include "hit.h"

#include <stddef.h>
#include <stdint.h>

#define WM_KEY "#wm"
#define WM_KEY_LEN 3
#define WM_INTERVAL_MS 1000
/* An edge silent for this long no longer holds complete_to_ms back (CONTRACT.md: 5 minutes). */
#define WM_EDGE_STALE_MS (5 * 60 * 1000)
/* An edge whose watermark is this far behind the wall clock is behind (CONTRACT.md: 5 s). */
#define WM_BEHIND_MS 5000
#define WM_ENCODED_MAX (6 * HIT_STR_MAX + 128)

typedef struct wm {
    char edge[HIT_STR_MAX + 1]; /* NUL-terminated edge id */
    int64_t wm_ms;              /* hits of this edge with ts < wm_ms precede the message */
} wm_t;

/* 1 if a message key marks a watermark, else 0. key may be NULL. */
static inline int wm_key_is(const void *key, size_t n) {
    return key && n == WM_KEY_LEN && ((const char *)key)[0] == '#' &&
           ((const char *)key)[1] == 'w' && ((const char *)key)[2] == 'm';
}

/* Appends the JSON value of a watermark for edge[0..n) to buf; returns its length, or -1 if it
 * does not fit in cap (WM_ENCODED_MAX always does for n <= HIT_STR_MAX). */
int wm_encode(const char *edge, size_t n, int64_t wm_ms, char *buf, size_t cap);

/* Reads a watermark value (jansson: this is not a hot path, E messages a second per partition).
 * Returns 0, or -1 with err when it is not a v1 watermark with a non-empty edge of at most
 * HIT_STR_MAX bytes without NUL and a wm_ms >= 0. */
int wm_decode(wm_t *w, const char *buf, size_t len, char *err, size_t errlen);

#endif
