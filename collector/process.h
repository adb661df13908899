/* process.h: one log line in, one Kafka record out: the collector's per-line stage.
 *
 * A line becomes a hit (parse -> host map -> geo -> encode) or, if any step refuses it, a
 * dead-letter record naming the reason. Every line gives exactly one record, which is what makes
 * the collector's books balance: lines read = hits confirmed + lines rejected.
 *
 * Every hit passes hit_validate (common/hitcheck.h), the rule the aggregator and billing apply
 * too, before it is encoded: a hit they would refuse never leaves the edge, it becomes a dead
 * letter whose reason is hitv_name() of the check that failed. That check is the only one for
 * those reasons here: a time outside the window (ts against this edge's clock) is `timestamp`,
 * bytes above HIT_BYTES_MAX are `bytes`. A time field that cannot be read at all is also
 * `timestamp` (from the parser).
 *
 * Optional record keys (hit.h): `cache` is the line's $upstream_cache_status when it is one of
 * nginx's words (HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED, BYPASS, compared without
 * case and written upper case); "-" (no cache consulted), an empty field or any other text
 * leaves the key out (unknown). `region_name` is the geo database's name for a region given as
 * a code (geo_lookup_named). Neither can make a line a reject. */
#ifndef PROCESS_H
#define PROCESS_H

#include "format.h"
#include "geo.h"
#include "hit.h"
#include "hitcheck.h"
#include "hostmap.h"

#include <stdint.h>

/* Reasons a line is refused, in metric order. The names are the contract's `reason` words. */
typedef enum proc_reason {
    PROC_HIT = 0,      /* not a rejection: the line became a hit */
    PROC_PARSE,        /* the line does not match the format */
    PROC_TIMESTAMP,    /* the time field is not a valid time */
    PROC_UNKNOWN_HOST, /* no host, or a host the map does not know */
    PROC_TOO_LONG,     /* longer than LINE_MAX_BYTES */
    PROC_CUSTOMER,     /* hit_validate: not a valid customer id (cannot come from the map) */
    PROC_COUNTRY,      /* hit_validate: the country is not two letters A-Z */
    PROC_BYTES,        /* hit_validate: more than HIT_BYTES_MAX bytes */
    PROC_TEXT,         /* hit_validate: a NUL in edge or src */
    PROC_KINDS
} proc_reason_t;

typedef struct proc_cfg {
    format_t *fmt;            /* borrowed; format_parse needs it mutable (scratch) */
    const hostmap_t *map;     /* borrowed; swapped by the caller on SIGHUP between lines */
    geo_t *geo;               /* borrowed; NULL: every client is ZZ / "" */
    const char *default_host; /* for formats without a host; NULL: such lines are unknown_host */
    const char *edge;         /* this edge's id */
    hit_tswin_t tswin;        /* accepted event times around the clock (--max-age, --max-ahead) */
    int64_t (*now_ms)(void);  /* the clock ts is checked against; NULL: the wall clock (coarse) */
} proc_cfg_t;

/* The record made from one line: valid until the next proc_line call. */
typedef struct proc_out {
    proc_reason_t kind; /* PROC_HIT, or why the line was rejected */
    const char *key;    /* message key: the customer for a hit, the src for a rejection */
    size_t keylen;
    const char *val; /* the encoded JSON record */
    size_t n;
    int64_t ts_ms; /* a hit's event time (ms since epoch); 0 for a rejection */
} proc_out_t;

typedef struct proc {
    proc_cfg_t cfg;
    size_t edge_len;        /* strlen(cfg.edge), once: the edge is in every record */
    char host[HIT_STR_MAX]; /* normalized host of the current line */
    char region[HIT_STR_MAX];
    char region_name[HIT_STR_MAX];
    char cache[HIT_CACHE_MAX]; /* the line's cache word, upper case */
    char buf[REJECT_ENCODED_MAX > HIT_ENCODED_MAX ? REJECT_ENCODED_MAX : HIT_ENCODED_MAX];
} proc_t;

void proc_init(proc_t *p, const proc_cfg_t *cfg);

/* Turns the line [line, line+n) of source src at byte offset off into *out. too_long marks a
 * line that the reader cut at LINE_MAX_BYTES. Never fails: a line that cannot be a hit becomes a
 * rejection. */
void proc_line(proc_t *p, const char *src, size_t srclen, uint64_t off, const char *line, size_t n,
               int too_long, proc_out_t *out);

#endif
