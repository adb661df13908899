/* ratelimit.h: a token bucket per client address, for the aggregator's HTTP side.
 *
 * Each address may make `rate` requests per second on average and `burst` at once; one more is
 * refused with the time until it would be allowed (the HTTP side answers 429 with Retry-After).
 * The table has a fixed size (RL_SLOTS): memory stays bounded whatever the number of clients.
 * A bucket that has refilled completely is the same as no bucket, so such slots are reused
 * first; when none is, the least recently seen of the probed slots is reused, which at worst
 * gives that address a fresh bucket (more lenient, never a wrong refusal). Addresses hash with a
 * per-table random seed, so a client cannot aim its addresses at one chain. Thread-safe. */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Buckets kept (a power of two), and slots probed per address. */
#define RL_SLOTS 4096
#define RL_PROBES 8
/* Longest address key: an IPv6 address. */
#define RL_KEY_MAX 16

typedef struct rl rl_t;

/* A limiter of rate requests per second per address, burst at once (both >= 1). NULL if out of
 * memory. The caller owns it: rl_free. */
rl_t *rl_new(unsigned rate, unsigned burst);

/* One request from address key[0..n) (n <= RL_KEY_MAX; longer keys use their first RL_KEY_MAX
 * bytes) at now_ms (a monotonic clock). 0: allowed (one token taken); else the milliseconds
 * until a token will be there (>= 1). */
int64_t rl_take(rl_t *r, const void *key, size_t n, int64_t now_ms);

/* Frees the limiter; NULL is fine. */
void rl_free(rl_t *r);

#endif
