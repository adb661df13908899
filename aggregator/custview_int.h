/* custview_int.h: the private layout of custview, shared by custview.c (writes, expiry) and
 * custview_read.c (reads). */
#ifndef CUSTVIEW_INT_H
#define CUSTVIEW_INT_H

#include "custview.h"

#include <pthread.h>

/* One second of a customer: the stamp says which second the slot holds now (-1: none). */
typedef struct cv_sec {
    int64_t sec;
    uint32_t status[CV_NSTATUS];
    uint32_t cache[3];
} cv_sec_t;

typedef struct cv_min {
    int64_t min; /* which minute the slot holds (-1: none) */
    uint64_t hits, bytes;
} cv_min_t;

/* A tracked host: its slots are valid for the second the customer's slot of the same index
 * holds (reset with it). */
typedef struct cv_hostent {
    char *name;
    size_t len;
    uint32_t hits[WIN_RING];
    uint64_t bytes[WIN_RING];
} cv_hostent_t;

typedef struct cv_cust {
    struct cv_cust *next; /* hash chain */
    uint64_t idhash;      /* strhash of id, compared before the id */
    char id[CV_CUSTOMER_MAX + 1];
    size_t idlen;
    cv_sec_t secs[WIN_RING];
    uint32_t other_hits[WIN_RING]; /* hits of hosts that found the table full */
    uint64_t other_bytes[WIN_RING];
    cv_hostent_t *hosts[CV_HOSTS_MAX];
    uint64_t hhash[CV_HOSTS_MAX]; /* strhash of each tracked host's name: the scan for a host
                                     touches no host entry but the one that matches */
    size_t nhosts;
    int64_t idle_scan_s; /* the second a full host table was last searched for an idle entry */
    cv_min_t mins[CV_MIN_RING];
} cv_cust_t;

/* A remembered region name, keyed by "CC" + region. */
typedef struct cv_name {
    struct cv_name *next;
    char *key; /* country (2 bytes) then the region */
    size_t klen;
    char *name;
    size_t nlen;
} cv_name_t;

struct cv {
    pthread_rwlock_t lock;
    int64_t start_ms;
    cv_cust_t **tab; /* customers, chained */
    size_t ntab, ncust;
    cv_name_t **ntabs; /* names, chained; CV_NAMES_MAX / 2 buckets, fixed */
    size_t nnames;
    uint64_t nhosts, folded;
    uint64_t names_refused; /* names met when CV_NAMES_MAX were held (for /metrics) */
};

#define CV_NAME_BUCKETS (CV_NAMES_MAX / 2)

/* floor division for times (they are >= 0 once validated, but a ring must never index < 0) */
static inline int64_t cv_floordiv(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static inline size_t cv_slot(int64_t t, int64_t ring) {
    int64_t r = t % ring;
    return (size_t)(r < 0 ? r + ring : r);
}

/* The customer entry of id[0..n), or NULL. Callers hold the lock. */
cv_cust_t *cv_find(const cv_t *v, const char *id, size_t n);

/* The name of (country, region), or NULL. Callers hold the lock. */
const cv_name_t *cv_name_find(const cv_t *v, const char *country, const char *region, size_t rn);

#endif
