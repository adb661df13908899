/* custview.h: what a customer's dashboard shows beside the geo window (window.h): HTTP status
 * classes, the cache hit ratio, the top hosts, the last 60 minutes by minute, and region names.
 *
 * Fed from the same stream as the window (feed.c calls cv_add_batch right after win_add_batch
 * with the window's verdict for every hit), so its sums agree with the window's to the hit:
 * over any read, the status classes, the cache classes and the host rows (with "other") each
 * sum to the window's `hits`, and the host rows' bytes to its `bytes`. Exact integer sums,
 * nothing sampled.
 *
 * Which hits go where (n = the current second by the wall clock, s = the hit's second, as in
 * window.h; M = floor(n / 60), m = floor(s / 60)):
 *     per second (status, cache, hosts)   exactly the hits the window kept (WIN_ADDED): the same
 *                                         late / future rule, the same ring of WIN_RING seconds
 *     per minute (hits, bytes)            hits the window kept, and hits it found late (WIN_LATE)
 *                                         whose minute is still in the hour: m >= M - 59; a
 *                                         minute ring of CV_MIN_RING (the hour and the one minute
 *                                         ahead that WIN_FUTURE_S can reach)
 * Lazy expiry as the window's: a slot is reused when its second (minute) has left the ring;
 * cv_expire frees customers with nothing left in the hour. The minutes an instance can show
 * begin with what it read back at start (WIN_SECONDS + FEED_SEEK_SLACK_S before it started):
 * cv_result_t.minutes_from_ms says from when the series is whole.
 *
 * Hosts: at most CV_HOSTS_MAX are tracked per customer, first come; a host met when the table
 * is full takes the place of one with no hit left in the window, else its hits are summed into
 * "other" (so totals stay exact; only which host they belong to is lost). A read shows the
 * CV_TOP_HOSTS busiest, the rest summed into other.
 *
 * Status classes: 2xx, 3xx, 4xx, 5xx, and other (1xx, 0, 600..999). Cache classes from the
 * record's optional `cache` key (hit.h hit_cache_class): hit (HIT, STALE, UPDATING,
 * REVALIDATED), miss (MISS, EXPIRED, BYPASS), unknown (absent, "-", or another word).
 *
 * Region names: the record's optional `region_name` is remembered per (country, region) for
 * all customers (the name depends on the place only), at most CV_NAMES_MAX of them; the last
 * name seen wins (a database update). An instance learns a name from the first record carrying
 * it: a region whose hits all came from older collectors has none. A name met when CV_NAMES_MAX
 * are held is not learned (cv_stats_t.names_refused counts such hits; the region shows no name).
 *
 * Memory per customer (x86-64, cv_stats): 5,056 B (the second ring 62 x 40 B, the "other" host
 * ring 62 x 12 B, the minute ring 61 x 24 B, the entry), plus 760 B and the name per tracked
 * host: 5.9 KB for a customer with one host, about 17.5 KB at CV_HOSTS_MAX. Region names: the two
 * strings and 40 B each.
 *
 * Threads: one writer (the consumer) and any number of readers (HTTP threads), under one
 * rwlock, like the window. */
#ifndef CUSTVIEW_H
#define CUSTVIEW_H

#include "hit.h"
#include "window.h"

#include <stddef.h>
#include <stdint.h>

#define CV_HOSTS_MAX 16   /* hosts tracked per customer */
#define CV_TOP_HOSTS 10   /* hosts a read lists; the rest are summed into other */
#define CV_MINUTES 60     /* minutes a read lists, ending with the current one */
#define CV_MIN_RING 61    /* minute slots: the hour and one minute ahead */
#define CV_NAMES_MAX 8192 /* (country, region) names remembered */
#define CV_CUSTOMER_MAX 64

typedef enum cv_status {
    CV_2XX,
    CV_3XX,
    CV_4XX,
    CV_5XX,
    CV_OTHER, /* 0..199 and 600..999 */
    CV_NSTATUS
} cv_status_t;

typedef struct cv_host {
    char *host; /* NUL-terminated, owned by the result; may hold NUL bytes before host_len */
    size_t host_len;
    uint64_t hits, bytes;
} cv_host_t;

typedef struct cv_minute {
    int64_t t_ms; /* start of the minute, ms since the epoch */
    uint64_t hits, bytes;
} cv_minute_t;

/* One customer's extras for a window of the last `seconds` seconds ending at the second of
 * now_ms (the range of win_read). */
typedef struct cv_result {
    uint64_t status[CV_NSTATUS]; /* hits by status class */
    uint64_t cache[3];           /* hits by hit_cache_t: [HIT_CACHE_UNKNOWN], [HIT], [MISS] */
    cv_host_t *hosts;            /* the busiest, by hits desc, then bytes desc, then host asc */
    size_t nhosts;               /* <= CV_TOP_HOSTS */
    uint64_t other_hits, other_bytes; /* every other host, tracked or folded */
    cv_minute_t minutes[CV_MINUTES];  /* oldest first; the last is the current minute */
    int64_t minutes_from_ms;          /* the first whole minute this instance read: minutes
                                         before it may lack hits it never read */
    char **region_names;              /* per region of the window passed to cv_read: its name,
                                         or NULL when none is known; nregion_names entries */
    size_t nregion_names;
} cv_result_t;

typedef struct cv cv_t;

/* An empty store; start_ms is the earliest event time this instance reads back (feed.h: the
 * start minus WIN_SECONDS + FEED_SEEK_SLACK_S), for minutes_from_ms. NULL when out of memory. Free
 * with cv_free. */
cv_t *cv_new(int64_t start_ms);
void cv_free(cv_t *v);

/* Adds n hits as of now_ms, results[i] being the window's verdict (win_add_result_t) for
 * hits[i]: see the rule above. Strings are copied. Under one write lock. */
void cv_add_batch(cv_t *v, const hit_t *hits, size_t n, int64_t now_ms, const int8_t *results);

/* Fills *out for customer over the last `seconds` (clamped to 1..WIN_SECONDS) seconds ending at
 * the second of now_ms, with the names of the regions of w (may be NULL: none). 0, or -1 when
 * out of memory (out is then empty). Always cv_result_free(out). */
int cv_read(cv_t *v, const char *customer, int seconds, int64_t now_ms, const win_result_t *w,
            cv_result_t *out);
void cv_result_free(cv_result_t *r);

/* The customers with a hit in the last hour at now_ms, sorted by id: writes up to cap ids
 * (each CV_CUSTOMER_MAX + 1 bytes, NUL-terminated) into ids and returns how many there are in
 * all (more than cap: the list was cut). */
size_t cv_customers(cv_t *v, int64_t now_ms, char (*ids)[CV_CUSTOMER_MAX + 1], size_t cap);

/* 1 if customer had a hit in the last hour at now_ms (is among cv_customers), else 0. */
int cv_active(cv_t *v, const char *customer, int64_t now_ms);

/* Frees customers with no hit left in the hour at now_ms; returns how many. The consumer calls
 * it about once a second (a pass over the customers, under the write lock). */
size_t cv_expire(cv_t *v, int64_t now_ms);

/* Size of the store, for tests and /metrics. */
typedef struct cv_stats {
    uint64_t customers;
    uint64_t hosts;         /* tracked host entries */
    uint64_t hosts_folded;  /* hits summed into other because the host table was full */
    uint64_t names;         /* region names remembered */
    uint64_t names_refused; /* hits naming a (country, region) not held: CV_NAMES_MAX were */
    uint64_t bytes;         /* memory held by the store's own allocations */
} cv_stats_t;
void cv_stats(cv_t *v, cv_stats_t *st);

#endif
