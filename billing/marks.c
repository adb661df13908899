#include "marks.h"

#include "strhash.h"

#include <stdlib.h>
#include <string.h>

#define MARKS_INITIAL_SLOTS 1024

/* A removed entry's slot: probing goes on past it; an insert may reuse it. */
static mark_t tombstone;
#define TOMB (&tombstone)

struct marks {
    mark_t **slots;
    size_t nslots;
    size_t used;  /* slots holding an entry or a tombstone */
    size_t count; /* entries */
    mark_t *last; /* the entry of the previous lookup: a source's lines come in runs */
    uint64_t now; /* marks_tick() clock */
};

static uint64_t key_hash(const char *e, size_t en, const char *s, size_t sn, int32_t part) {
    uint64_t h = strhash(s, sn, strhash(e, en, strhash_mix((uint64_t)(uint32_t)part + 1)));
    return h ? h : 1;
}

marks_t *marks_new(void) {
    marks_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->slots = calloc(MARKS_INITIAL_SLOTS, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->nslots = MARKS_INITIAL_SLOTS;
    return m;
}

static void free_entry(mark_t *e) {
    free(e->edge);
    free(e->src);
    free(e);
}

void marks_free(marks_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i] && m->slots[i] != TOMB) free_entry(m->slots[i]);
    free(m->slots);
    free(m);
}

/* Re-places every entry into a table of nslots slots, dropping the tombstones. */
static int rehash(marks_t *m, size_t nslots) {
    mark_t **slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < m->nslots; i++) {
        mark_t *e = m->slots[i];
        if (!e || e == TOMB) continue;
        size_t j = e->hash & (nslots - 1);
        while (slots[j])
            j = (j + 1) & (nslots - 1);
        slots[j] = e;
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = nslots;
    m->used = m->count;
    return 0;
}

static int matches(const mark_t *e, uint64_t h, const char *edge, size_t en, const char *src,
                   size_t sn, int32_t part) {
    return e->hash == h && e->partition == part && e->edgelen == en && e->srclen == sn &&
           memcmp(e->src, src, sn) == 0 && memcmp(e->edge, edge, en) == 0;
}

static mark_t *new_entry(uint64_t h, const char *edge, size_t en, const char *src, size_t sn,
                         int32_t part) {
    mark_t *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->edge = malloc(en + 1);
    e->src = malloc(sn + 1);
    if (!e->edge || !e->src) {
        free_entry(e);
        return NULL;
    }
    memcpy(e->edge, edge, en);
    e->edge[en] = 0;
    memcpy(e->src, src, sn);
    e->src[sn] = 0;
    e->hash = h;
    e->edgelen = (uint32_t)en;
    e->srclen = (uint32_t)sn;
    e->partition = part;
    e->state = MARK_PENDING;
    e->max_off = e->stored = -1;
    return e;
}

mark_t *marks_get(marks_t *m, const char *edge, size_t en, const char *src, size_t sn,
                  int32_t part) {
    mark_t *e = m->last;
    if (e && e->partition == part && e->srclen == sn && e->edgelen == en &&
        memcmp(e->src, src, sn) == 0 && memcmp(e->edge, edge, en) == 0) {
        e->used = m->now;
        return e;
    }
    uint64_t h = key_hash(edge, en, src, sn, part);
    size_t i = h & (m->nslots - 1), free_slot = (size_t)-1;
    for (; (e = m->slots[i]) != NULL; i = (i + 1) & (m->nslots - 1)) {
        if (e == TOMB) {
            if (free_slot == (size_t)-1) free_slot = i;
        } else if (matches(e, h, edge, en, src, sn, part)) {
            e->used = m->now;
            return m->last = e;
        }
    }
    if (free_slot == (size_t)-1 && (m->used + 1) * 2 > m->nslots) {
        if (rehash(m, m->count * 2 + 2 > m->nslots ? m->nslots * 2 : m->nslots) < 0) return NULL;
        return marks_get(m, edge, en, src, sn, part);
    }
    e = new_entry(h, edge, en, src, sn, part);
    if (!e) return NULL;
    e->used = m->now;
    if (free_slot != (size_t)-1) {
        i = free_slot;
    } else {
        m->used++;
    }
    m->slots[i] = e;
    m->count++;
    return m->last = e;
}

void marks_loaded(mark_t *e, int64_t stored) {
    /* A mark only rises: should hits have been decided on meanwhile (they are not: PENDING
     * entries are never asked), the higher value stays. */
    if (stored > e->max_off) e->max_off = stored;
    e->stored = stored;
    e->state = MARK_READY;
}

size_t marks_count(const marks_t *m) {
    return m->count;
}

size_t marks_dirty(const marks_t *m, store_mark_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < m->nslots; i++) {
        const mark_t *e = m->slots[i];
        if (!e || e == TOMB || e->state != MARK_READY || e->max_off <= e->stored) continue;
        out[n++] = (store_mark_t){e->edge, e->src, e->partition, e->max_off};
    }
    return n;
}

void marks_settle(marks_t *m, int32_t part) {
    for (size_t i = 0; i < m->nslots; i++) {
        mark_t *e = m->slots[i];
        if (!e || e == TOMB || (part >= 0 && e->partition != part)) continue;
        if (e->state == MARK_READY) e->stored = e->max_off;
    }
}

/* Removes the entries for which drop() holds. */
static size_t remove_if(marks_t *m, int (*drop)(const mark_t *, const void *), const void *arg) {
    size_t n = 0;
    for (size_t i = 0; i < m->nslots; i++) {
        mark_t *e = m->slots[i];
        if (!e || e == TOMB || !drop(e, arg)) continue;
        free_entry(e);
        m->slots[i] = TOMB;
        m->count--;
        n++;
    }
    m->last = NULL;
    return n;
}

static int of_partition(const mark_t *e, const void *arg) {
    return e->partition == *(const int32_t *)arg;
}

void marks_drop_partition(marks_t *m, int32_t part) {
    remove_if(m, of_partition, &part);
}

uint64_t marks_tick(marks_t *m) {
    return ++m->now;
}

typedef struct idle_arg {
    uint64_t now, idle;
} idle_arg_t;

static int is_idle(const mark_t *e, const void *arg) {
    const idle_arg_t *a = arg;
    return e->state == MARK_READY && e->max_off <= e->stored && a->now - e->used > a->idle;
}

size_t marks_evict(marks_t *m, uint64_t idle) {
    idle_arg_t a = {m->now, idle};
    if (m->now <= idle) return 0;
    return remove_if(m, is_idle, &a);
}
