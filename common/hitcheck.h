/* hitcheck.h: whether a decoded hit may be counted and billed: one rule for every stage.
 *
 * hit_decode (hit.h) says whether a record is well formed; this says whether its values make a
 * billable hit. The collector applies it before publishing (a line that fails is a dead letter
 * with the reason's name), and the aggregator and billing apply the very same function to what
 * they read, so the live window and the bill never disagree on which hits count (the aggregator
 * once counted a country "us" that billing refused).
 *
 * Timestamps are checked against a reference time: the collector uses its own clock, consumers
 * use the Kafka message timestamp (the producer's clock when it sent the record) widened by
 * HIT_TS_CONSUMER_SLACK_MS, so that a backlog read days later is not refused for its age and a
 * record the collector accepted is never refused downstream. */
#ifndef HITCHECK_H
#define HITCHECK_H

#include "hit.h"

#include <stdint.h>

/* One request never carries more than 10^13 bytes (10 TB). The bound keeps every sum exact:
 * usage rows are numeric, and an in-memory sum of up to 2^20 such hits stays below 2^64. */
#define HIT_BYTES_MAX 10000000000000ULL

/* Default window of accepted event times around the reference time. */
#define HIT_TS_PAST_MS_DEFAULT (35LL * 86400 * 1000) /* older than 35 days: refused */
#define HIT_TS_AHEAD_MS_DEFAULT (1LL * 86400 * 1000) /* more than 1 day ahead: refused */
/* Consumers widen the window by this on both sides (clock differences, time in the producer's
 * queue). */
#define HIT_TS_CONSUMER_SLACK_MS (3600LL * 1000)

typedef struct hit_tswin {
    int64_t past_ms;  /* a hit older than ref - past_ms is refused */
    int64_t ahead_ms; /* a hit newer than ref + ahead_ms is refused */
} hit_tswin_t;

/* Why a well-formed record is not a billable hit: stable names, used as metric labels, dead-letter
 * reasons and billing_rejects.reason. */
typedef enum hitv {
    HITV_OK = 0,
    HITV_CUSTOMER,  /* not a valid customer id (custid.h) */
    HITV_COUNTRY,   /* not two letters A-Z */
    HITV_BYTES,     /* more than HIT_BYTES_MAX */
    HITV_TIMESTAMP, /* outside the window around the reference time */
    HITV_TEXT,      /* a NUL byte in edge or src (PostgreSQL text cannot hold it), or empty src */
    HITV_COUNT
} hitv_t;

/* "ok", "customer", "country", "bytes", "timestamp", "text". */
const char *hitv_name(int reason);

/* The default window (35 days back, 1 day ahead). */
hit_tswin_t hit_tswin_default(void);

/* The window a consumer applies to records produced under `producer` (w widened by
 * HIT_TS_CONSUMER_SLACK_MS on both sides). */
hit_tswin_t hit_tswin_consumer(hit_tswin_t producer);

/* Checks h in the order of hitv_t; ref_ms is the reference time (see above), or < 0 to skip the
 * timestamp check. Returns HITV_OK or the first reason that applies. */
int hit_validate(const hit_t *h, int64_t ref_ms, const hit_tswin_t *w);

#endif
