/* geo.h: client IP address -> (country, region), from a MaxMind DB file, at the edge.
 *
 * The hit record carries the client's country and first-level subdivision, never its address
 * (CONTRACT.md), so the collector looks every client up in a .mmdb file opened with
 * libmaxminddb in MMAP mode. Lookups are on the hot path (one per log line): the address text is
 * parsed with inet_pton (no getaddrinfo), the record's values are read with MMDB_aget_value over
 * paths split once at open (MMDB_get_value would re-split them on every call), and a small
 * direct-mapped cache of recent addresses sits in front, because real traffic repeats its
 * clients (data/apache_logs: 10,000 lines from ~1.7k addresses). Behind it a second one keyed by
 * the data record an address leads to keeps that record's values: addresses that are all new
 * still share networks and cities, and reading the values was most of a lookup.
 *
 * Which values are read (geo_keys_t), as dotted paths. A path is a list of components joined by
 * '.': each names a key of a map, or, where the value is an array, an index into it ("0" is the
 * first element, "-1" the last, as libmaxminddb reads them). Map keys that hold a '.' cannot be
 * named. At most GEO_PATH_PARTS components, GEO_PATH_MAX bytes. Examples:
 *     country.iso_code               GeoIP2 / GeoLite2 / DB-IP City and Country
 *     subdivisions.0.iso_code        their first subdivision's code ("CA" for US-CA)
 *     subdivisions.0.names.en        its English name
 *     country_code, state1           the flat npm @ip-location-db/...-mmdb files
 *
 * What comes out:
 *  - country: exactly two upper-case ASCII letters from the country path, else "ZZ".
 *  - region: the value at the region path, with a "CC-" prefix removed where the database stores
 *    a whole ISO 3166-2 code ("US-CA" -> "CA": two upper-case letters, '-', 1-3 letters or
 *    digits; names such as "Baden-Wuerttemberg" are never cut); if that is absent or empty, the
 *    value at the region-name path; else "". A path absent from a record
 *    (MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR, e.g. no subdivision) means "no value", not a
 *    failure. The region is "" whenever the country is ZZ.
 *
 * A geo_t is not thread-safe (the cache): one per thread. */
#ifndef GEO_H
#define GEO_H

#include <stddef.h>
#include <stdint.h>

/* Longest address text looked up: an IPv6 address with an embedded IPv4 one is 45 bytes. Longer
 * text (from any log field) is refused without being parsed. */
#define GEO_IP_TEXT_MAX 45
/* Limits of one dotted path. */
#define GEO_PATH_MAX 128
#define GEO_PATH_PARTS 8
/* Direct-mapped cache: this many slots (a power of two), ~64 bytes each. */
#define GEO_CACHE_SLOTS 4096
/* Direct-mapped cache of data records' values: this many slots (a power of two), 32 bytes each. */
#define GEO_RECORD_SLOTS 1024
/* Direct-mapped cache of search results by IPv4 /24 (a power of two, 16 bytes each): a lookup
 * whose network is a /24 or wider answers every address of its /24, new addresses included. */
#define GEO_NET_SLOTS 4096
/* Regions longer than this are not cached (looked up each time); real codes and names fit. */
#define GEO_CACHE_REGION_MAX 43
/* Region names longer than this are not cached either. */
#define GEO_CACHE_NAME_MAX 47
/* Data records examined at open to tell a database's schema, or to check a given country path. */
#define GEO_PROBE_RECORDS 64

/* The paths to read. NULL (or a NULL geo_keys_t) means the default for the database's schema;
 * "" means "do not read" (e.g. region_name "" turns off the fall-back to the name). Defaults:
 *   database_type naming GeoIP2/GeoLite2/DBIP with City (or Enterprise):
 *       country.iso_code, subdivisions.0.iso_code, subdivisions.0.names.en
 *   ... with Country: country.iso_code, no region
 *   any other type: the first records are examined; those having country.iso_code get the
 *       City defaults above, those having country_code the flat ones: country_code, state1, none
 * The strings are copied: the caller keeps ownership. */
typedef struct geo_keys {
    const char *country;     /* path to the ISO 3166-1 alpha-2 code */
    const char *region;      /* path to the subdivision code (or whatever names the region) */
    const char *region_name; /* path read when the region path gives nothing */
} geo_keys_t;

/* Counters since geo_open, for metrics. */
typedef struct geo_stats {
    uint64_t lookups;    /* geo_lookup calls */
    uint64_t cache_hits; /* answered from the cache */
    uint64_t net_hits;   /* not in the cache, but the search skipped: its /24 was known */
    uint64_t not_found;  /* valid addresses without a country (unmapped, or no country value) */
    uint64_t bad_ip;     /* text that is not an IPv4 or IPv6 address */
} geo_stats_t;

typedef struct geo geo_t;

/* Opens the database at path. NULL with a message in err (naming the path, or the key at fault)
 * if the file cannot be opened as a MaxMind DB, a path is malformed, no default schema fits, or
 * the country path gives a country code (two upper-case letters) in none of the first
 * GEO_PROBE_RECORDS records: a typo there would silently turn every hit into ZZ. */
geo_t *geo_open(const char *path, const geo_keys_t *keys, char *err, size_t errlen);

/* Looks up the address text ip[0..n) (any bytes). Always writes country (3 bytes: two letters
 * and a NUL) and region (NUL-terminated, cut at a UTF-8 character boundary to fit regioncap;
 * nothing written if regioncap is 0). Returns 0 when a country was found, 1 when the address is
 * valid but the database gives no country (then "ZZ", ""), -1 when the text is not an address
 * (also "ZZ", ""). */
int geo_lookup(geo_t *g, const char *ip, size_t n, char country[3], char *region, size_t regioncap);

/* As geo_lookup, and also writes into name (NUL-terminated, cut like region; nothing written if
 * namecap is 0) the value at the region-name path when the region came from the region path
 * (a code such as "CA" -> "California"), else "": a region that is already the name, or none,
 * has no separate name. The name is for display only (the record's optional region_name). */
int geo_lookup_named(geo_t *g, const char *ip, size_t n, char country[3], char *region,
                     size_t regioncap, char *name, size_t namecap);

/* The address text ip[0..n) into addr (16 bytes; IPv4 in the first 4, the rest zero): 4 or 6,
 * or 0 when it is not an address. Accepts exactly what glibc's inet_pton does, without calling
 * it (the lookup's own parsers: no NUL-terminated copy); exposed for its tests. */
int geo_parse_ip(const char *ip, size_t n, uint8_t addr[16]);

/* The database's metadata type, e.g. "GeoIP2-City"; valid until geo_close. */
const char *geo_database_type(const geo_t *g);

/* The paths in use after defaults were applied ("" for none); valid until geo_close. */
geo_keys_t geo_keys_in_use(const geo_t *g);

void geo_stats(const geo_t *g, geo_stats_t *st);

/* Closes the database; NULL is fine. */
void geo_close(geo_t *g);

#endif
