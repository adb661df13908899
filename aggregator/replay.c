#include "replay.h"

#include "strhash.h"

#include <stdlib.h>
#include <string.h>

typedef struct mark {
    char *key; /* edge '\0' src, keylen bytes; NULL: empty slot */
    size_t keylen;
    int32_t partition;
    uint64_t hash;
    uint64_t max_off;
    uint64_t seen_s; /* wall second of the last hit */
} mark_t;

struct replay {
    mark_t *slots;
    size_t cap, n; /* cap is a power of two; n < cap / 2 */
};

replay_t *replay_new(void) {
    replay_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cap = 64;
    r->slots = calloc(r->cap, sizeof *r->slots);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    return r;
}

void replay_free(replay_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->cap; i++)
        free(r->slots[i].key);
    free(r->slots);
    free(r);
}

static void place(mark_t *slots, size_t cap, mark_t m) {
    size_t i = m.hash & (cap - 1);
    while (slots[i].key)
        i = (i + 1) & (cap - 1);
    slots[i] = m;
}

/* Rebuilds the table at cap, keeping the marks keep() accepts (NULL: all). */
static int rebuild(replay_t *r, size_t cap, int (*keep)(const mark_t *, const void *),
                   const void *arg) {
    mark_t *s = calloc(cap, sizeof *s);
    if (!s) return -1;
    size_t n = 0;
    for (size_t i = 0; i < r->cap; i++) {
        if (!r->slots[i].key) continue;
        if (keep && !keep(&r->slots[i], arg)) {
            free(r->slots[i].key);
            continue;
        }
        place(s, cap, r->slots[i]);
        n++;
    }
    free(r->slots);
    r->slots = s;
    r->cap = cap;
    r->n = n;
    return 0;
}

int replay_seen(replay_t *r, int32_t partition, const char *edge, size_t edgelen, const char *src,
                size_t srclen, uint64_t off, uint64_t now_s) {
    /* Chained: the edge's hash seeds the src's, so ("ab", "c") and ("a", "bc") differ. */
    uint64_t h = strhash(src, srclen, strhash(edge, edgelen, (uint64_t)(uint32_t)partition));
    size_t keylen = edgelen + 1 + srclen;
    for (size_t i = h & (r->cap - 1); r->slots[i].key; i = (i + 1) & (r->cap - 1)) {
        mark_t *m = &r->slots[i];
        if (m->hash != h || m->partition != partition || m->keylen != keylen ||
            memcmp(m->key, edge, edgelen) != 0 || memcmp(m->key + edgelen + 1, src, srclen) != 0)
            continue;
        m->seen_s = now_s;
        if (off <= m->max_off) return 1;
        m->max_off = off;
        return 0;
    }
    if (2 * (r->n + 1) >= r->cap && rebuild(r, 2 * r->cap, NULL, NULL) < 0) return -1;
    char *key = malloc(keylen);
    if (!key) return -1;
    memcpy(key, edge, edgelen);
    key[edgelen] = 0;
    memcpy(key + edgelen + 1, src, srclen);
    place(r->slots, r->cap, (mark_t){key, keylen, partition, h, off, now_s});
    r->n++;
    return 0;
}

static int other_partition(const mark_t *m, const void *arg) {
    return m->partition != *(const int32_t *)arg;
}
static int recent(const mark_t *m, const void *arg) {
    return m->seen_s >= *(const uint64_t *)arg;
}

/* Removal rebuilds the table: it is rare (a rebalance, a minute's sweep) and keeps probing
 * simple (no tombstones). On out of memory the marks are kept, which only costs memory. */
void replay_drop_partition(replay_t *r, int32_t partition) {
    rebuild(r, r->cap, other_partition, &partition);
}

void replay_evict(replay_t *r, uint64_t idle_before_s) {
    rebuild(r, r->cap, recent, &idle_before_s);
}

size_t replay_count(const replay_t *r) {
    return r->n;
}
