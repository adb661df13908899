/* strhash.h: the one string hash of the in-memory tables (billing's rollup and marks, the
 * aggregator's windows, resend marks and rate limiter).
 *
 * These tables are looked up once per hit, so the hash reads eight bytes at a time and mixes
 * with multiplications (the approach of wyhash/xxh3, much reduced): a few ns for the short
 * strings of a hit, with no allocation. Not for untrusted-key flooding resistance: keys come
 * from our own collectors, and tables grow rather than degrade; a table whose keys come from
 * outside (the rate limiter's client addresses) passes a random seed. */
#ifndef STRHASH_H
#define STRHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t strhash_mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Hash of p[0..n), continuing from seed (so keys of several parts chain their hashes). */
static inline uint64_t strhash(const void *p, size_t n, uint64_t seed) {
    const unsigned char *s = p;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9fb21c651e98df25ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x9fb21c651e98df25ULL;
    return strhash_mix(h);
}

#endif
