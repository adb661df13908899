/* hit.h: the hit record codec, the one format every stage shares.
 *
 * A hit is one served request, as the collector publishes it to the `hits` topic and the
 * aggregator and billing read it back (CONTRACT.md, "Hit record"). Encoding is a hand-written
 * appender and decoding a hand-written scanner because both sit on the hot path of every stage
 * (jansson costs ~3 us per record; these cost well under 0.3 us). jansson stays the oracle: the
 * unit tests and fuzz targets check that every record we write parses with jansson to the same
 * values, and that hit_decode accepts exactly what a jansson-based decoder accepts.
 *
 * The same file encodes the dead-letter record of `hits.rejected`. */
#ifndef HIT_H
#define HIT_H

#include <stddef.h>
#include <stdint.h>

#define HIT_VERSION 1
/* Longest string field a record may carry (customer, host, edge, src, region), in bytes
 * after unescaping. Anything longer is rejected by the decoder with reason "range". */
#define HIT_STR_MAX 1024
/* Longest optional `cache` value: the nginx words are at most 11 bytes ("REVALIDATED"). */
#define HIT_CACHE_MAX 16
/* Upper bound of one encoded hit record: 7 strings of HIT_STR_MAX bytes and the cache word, each
 * byte escaped to at most 6 output bytes, plus keys and numbers. */
#define HIT_ENCODED_MAX (7 * 6 * HIT_STR_MAX + 6 * HIT_CACHE_MAX + 512)
/* The dead-letter record keeps at most this much of the raw line (CONTRACT.md: 4 KiB). */
#define REJECT_LINE_MAX 4096
#define REJECT_ENCODED_MAX (6 * REJECT_LINE_MAX + 3 * 6 * HIT_STR_MAX + 256)

/* A borrowed byte string: not NUL-terminated, may hold any bytes. */
typedef struct slice {
    const char *p;
    size_t n;
} slice_t;

typedef struct hit {
    int64_t ts_ms;    /* when the request was served, ms since the Unix epoch, UTC */
    slice_t customer; /* customer id from the host map, non-empty */
    slice_t host;     /* request host, lower case, no port */
    uint64_t bytes;   /* bytes sent to the client */
    int status;       /* HTTP status, 0..999 */
    slice_t country;  /* ISO 3166-1 alpha-2, "ZZ" when unknown; exactly 2 bytes */
    slice_t region;   /* subdivision code after the dash, or its name, "" when unknown */
    slice_t edge;     /* edge id */
    slice_t src;      /* log source: one per log file, stable across restarts, non-empty */
    uint64_t off;     /* byte offset of the line in its source */
    /* Optional keys (README "Hit record: optional keys"): absent in records of older collectors,
     * and ignored by older readers. n == 0 means absent; the encoder then writes no key. */
    slice_t cache;       /* nginx $upstream_cache_status word: HIT, MISS, EXPIRED, STALE,
                          * UPDATING, REVALIDATED, BYPASS; at most HIT_CACHE_MAX bytes */
    slice_t region_name; /* the region's name where the database has one beside its code
                          * ("California" for region "CA"); never the client address */
} hit_t;

/* What a `cache` value says about the request (hit_cache_class): served from the edge's cache,
 * fetched from the origin, or not known (absent, "-", or a word not listed). */
typedef enum hit_cache {
    HIT_CACHE_UNKNOWN = 0,
    HIT_CACHE_HIT = 1,  /* HIT, STALE, UPDATING, REVALIDATED: the bytes came from the cache */
    HIT_CACHE_MISS = 2, /* MISS, EXPIRED, BYPASS: the bytes came from the origin */
} hit_cache_t;

/* Why a record was refused: stable names, used as metric labels. */
typedef enum hit_err {
    HIT_OK = 0,
    HIT_ERR_SYNTAX = -1,  /* not one well-formed JSON object (or invalid UTF-8) */
    HIT_ERR_MISSING = -2, /* a required key is absent */
    HIT_ERR_TYPE = -3,    /* a key holds the wrong JSON type (e.g. "bytes": "12", or 1.5) */
    HIT_ERR_RANGE = -4,   /* a value out of range: negative bytes, status > 999, long string... */
    HIT_ERR_VERSION = -5, /* "v" is not HIT_VERSION */
} hit_err_t;
#define HIT_ERR_COUNT 6 /* number of hit_err_t values, HIT_OK included */

/* The metric label of a decode result: "ok", "syntax", "missing", "type", "range", "version". */
const char *hit_err_name(int err);

/* The class of a cache word (exact upper-case nginx words; anything else is unknown). */
hit_cache_t hit_cache_class(const char *p, size_t n);

/* Appends the JSON record of h to buf (no NUL added) and returns its length, or -1 if it would
 * not fit in cap bytes or if bytes or off exceeds INT64_MAX (readers hold JSON integers as int64,
 * as jansson does: such a record could not be read back). HIT_ENCODED_MAX always fits when every
 * string is at most HIT_STR_MAX bytes. String fields are escaped whatever bytes they hold:
 * control characters as \u00XX, '"' and '\\' escaped, valid UTF-8 passed through, and each byte
 * that is not part of a valid UTF-8 sequence replaced by U+FFFD, as is a NUL byte (jansson
 * refuses \u0000), so the output is always JSON that jansson reads (and a string that was not
 * valid UTF-8, or held NUL, reads back changed). Keys are written in the contract's order, the
 * optional ones (cache, region_name) last and only when non-empty.
 * Values are not checked: hit_check says whether a reader will accept them. */
int hit_encode(const hit_t *h, char *buf, size_t cap);

/* Parses one record from buf[0..len). On success fills *h and returns 0 (on failure *h is left
 * unspecified). String slices point into buf where the JSON string holds no escapes, else into
 * scratch (which needs at most len bytes; pass scratch_cap >= len). Unknown keys are allowed with
 * any value and ignored; duplicate keys, trailing bytes other than whitespace, a missing key, a
 * wrong type or an out-of-range value are refused with a negative hit_err_t and a reason in err
 * that names the key. Agrees with jansson on every input: what json_loadb(JSON_REJECT_DUPLICATES)
 * refuses is HIT_ERR_SYNTAX (integers beyond int64, reals that overflow a double, invalid UTF-8,
 * \u0000, lone surrogates, nesting deeper than 2048, a top level that is not an object; and
 * jansson's quirks, see jsonr.h).
 * When a record has several faults the first class in this order is reported: syntax (the
 * whole text is parsed first), missing, type, version, range; within a class, the first key in
 * contract order, the optional keys after `off` (absent ones are {NULL, 0}; present ones must be
 * strings). A scratch_cap too small for the unescaped strings gives HIT_ERR_SYNTAX. */
int hit_decode(hit_t *h, const char *buf, size_t len, char *scratch, size_t scratch_cap, char *err,
               size_t errlen);

/* The range checks hit_decode applies to a parsed record, in contract key order: ts >= 0,
 * customer 1..HIT_STR_MAX bytes, host <= HIT_STR_MAX, bytes <= INT64_MAX, status 0..999, country
 * exactly 2 bytes, region and edge <= HIT_STR_MAX, src 1..HIT_STR_MAX, off <= INT64_MAX, cache
 * <= HIT_CACHE_MAX, region_name <= HIT_STR_MAX.
 * Returns HIT_OK, or HIT_ERR_RANGE with the key named in err. */
int hit_check(const hit_t *h, char *err, size_t errlen);

/* A line the collector refused, for the `hits.rejected` topic. */
typedef struct reject {
    slice_t edge;
    slice_t src;
    uint64_t off;
    const char *reason; /* short word: parse, unknown_host, too_long, timestamp, ... */
    slice_t line;       /* the raw line; only its first REJECT_LINE_MAX bytes are kept */
} reject_t;

/* Appends the JSON dead-letter record {"v","edge","src","off","reason","line"} to buf; returns its
 * length or -1 if it does not fit or off exceeds INT64_MAX (REJECT_ENCODED_MAX always fits when
 * edge, src and reason are at most HIT_STR_MAX bytes). Escaping as hit_encode; a NULL reason is
 * written as "". A line longer than REJECT_LINE_MAX is cut to REJECT_LINE_MAX bytes, or a few
 * bytes fewer so that the cut does not split a valid UTF-8 sequence. */
int reject_encode(const reject_t *r, char *buf, size_t cap);

#endif
