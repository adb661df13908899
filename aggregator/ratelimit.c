/* ratelimit.c: see ratelimit.h. Tokens are counted in thousandths, so that a rate of r per
 * second refills exactly r thousandths per millisecond: integer arithmetic, no drift. */
#include "ratelimit.h"

#include "strhash.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MILLI 1000 /* thousandths of a token per token */

typedef struct rl_bucket {
    unsigned char key[RL_KEY_MAX];
    uint8_t keylen; /* 0: an empty slot */
    int64_t milli;  /* thousandths of tokens left at last_ms */
    int64_t last_ms;
} rl_bucket_t;

struct rl {
    pthread_mutex_t mu;
    uint64_t seed;
    int64_t rate;   /* tokens per second = thousandths per millisecond */
    int64_t cap;    /* burst * MILLI */
    rl_bucket_t *b; /* RL_SLOTS of them */
};

rl_t *rl_new(unsigned rate, unsigned burst) {
    rl_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->b = calloc(RL_SLOTS, sizeof *r->b);
    if (!r->b) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->rate = rate ? rate : 1;
    r->cap = (int64_t)(burst ? burst : 1) * MILLI;
    if (getrandom(&r->seed, sizeof r->seed, GRND_NONBLOCK) != (ssize_t)sizeof r->seed)
        r->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)r;
    return r;
}

static uint64_t hash(uint64_t seed, const unsigned char *k, size_t n) {
    return strhash(k, n, seed);
}

/* Thousandths in b at now: what it had plus the refill since, at most the burst. */
static int64_t level(const rl_t *r, const rl_bucket_t *b, int64_t now_ms) {
    int64_t dt = now_ms - b->last_ms;
    if (dt <= 0) return b->milli;
    if (dt >= (r->cap - b->milli) / r->rate + 1) return r->cap; /* also keeps dt*rate small */
    int64_t v = b->milli + dt * r->rate;
    return v < r->cap ? v : r->cap;
}

/* How good a slot is to reuse, lower is better: empty, then refilled (the same as absent), then
 * the least recently seen. */
static int64_t reuse_rank(const rl_t *r, const rl_bucket_t *b, int64_t now_ms) {
    if (b->keylen == 0) return INT64_MIN;
    if (level(r, b, now_ms) == r->cap) return INT64_MIN + 1;
    return b->last_ms > INT64_MIN + 1 ? b->last_ms : INT64_MIN + 2;
}

/* The bucket of key: its slot, else the best slot to reuse among the probes, made full. */
static rl_bucket_t *find(rl_t *r, const unsigned char *k, size_t n, int64_t now_ms) {
    size_t i = (size_t)hash(r->seed, k, n) & (RL_SLOTS - 1);
    rl_bucket_t *reuse = NULL;
    int64_t best = INT64_MAX;
    for (int p = 0; p < RL_PROBES; p++, i = (i + 1) & (RL_SLOTS - 1)) {
        rl_bucket_t *b = &r->b[i];
        if (b->keylen == n && memcmp(b->key, k, n) == 0) return b;
        int64_t rank = reuse_rank(r, b, now_ms);
        if (rank < best) {
            best = rank;
            reuse = b;
        }
    }
    memcpy(reuse->key, k, n);
    reuse->keylen = (uint8_t)n;
    reuse->milli = r->cap;
    reuse->last_ms = now_ms;
    return reuse;
}

int64_t rl_take(rl_t *r, const void *key, size_t n, int64_t now_ms) {
    unsigned char k[RL_KEY_MAX] = {0};
    if (n > RL_KEY_MAX) n = RL_KEY_MAX;
    if (n)
        memcpy(k, key, n);
    else
        n = 1; /* no address: one shared bucket, keyed by a zero byte */
    int64_t wait = 0;
    pthread_mutex_lock(&r->mu);
    rl_bucket_t *b = find(r, k, n, now_ms);
    int64_t v = level(r, b, now_ms);
    if (now_ms > b->last_ms) b->last_ms = now_ms;
    if (v >= MILLI) {
        b->milli = v - MILLI;
    } else {
        b->milli = v;
        wait = (MILLI - v + r->rate - 1) / r->rate; /* ceil: a token is whole by then */
        if (wait < 1) wait = 1;
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}

void rl_free(rl_t *r) {
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r->b);
    free(r);
}
