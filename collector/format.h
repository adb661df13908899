/* format.h: one access-log line in, the fields billing needs out.
 *
 * The collector reads the logs that the edge's web server writes, in whichever format the
 * operator chose (-f, CONTRACT.md): the presets `combined` and `vhost_combined`, `json` (one
 * object per line, keys named like nginx variables), or an nginx `log_format` string. A format is
 * compiled once by format_new into a list of fields, each ended by the literal text that follows
 * it; format_parse then only scans each line with memchr, checks the literals and converts the
 * few fields that matter. It allocates nothing for text formats, so parsing costs well under a
 * tenth of a microsecond per line.
 *
 * Rules of the text formats (presets and log_format strings):
 *  - A variable is `$name` or `${name}`, name made of [A-Za-z0-9_]; any name is allowed, and one
 *    that does not matter to billing is matched and skipped. Two variables need text between
 *    them: without it no reader can tell where the first one ends.
 *  - A variable ends where the literal text after it first occurs (all of that text, not just
 *    its first byte: a $remote_user "two words" before " [" is one field). A variable at the
 *    end of the format takes the rest of the line.
 *  - A variable between double quotes (`"$http_user_agent"`) ends at the first quote that is not
 *    escaped by a backslash: nginx writes '"' as \x22, Apache as \", and both forms are read.
 *  - Only for the last field of a format, when it is quoted and nothing but the closing quote
 *    follows it: a line cut off inside that field (no closing quote) is accepted, the field
 *    running to the end of the line. Every field billing needs comes before it; one of the
 *    10,000 real lines of data/apache_logs ends this way.
 *  - One trailing "\r" is removed before matching (CRLF logs).
 *  - Fields that matter, and which variable wins when a format holds several:
 *      client address  $remote_addr (required, non-empty)
 *      host            $host, else $http_host, else $server_name (optional: without one,
 *                      logrec_t.host is empty and the collector uses --default-host); a host
 *                      of "-" (nginx's empty $http_host) counts as no host
 *      time            $msec, else $time_iso8601, else $time_local (required; see logtime.h)
 *      status          $status (required): exactly 3 digits, 100..999
 *      bytes           $bytes_sent, else $body_bytes_sent (required): decimal, fits uint64;
 *                      "-" (Apache's %b for an empty body) is 0
 *      cache status    $upstream_cache_status (optional): taken as logged, any text; the
 *                      collector keeps only nginx's words (process.h)
 *    When a variable occurs twice, its first occurrence is the one read.
 *  - combined is '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 *    "$http_referer" "$http_user_agent"' (its size field taken as the bytes sent, CONTRACT.md).
 *    vhost_combined is Apache's '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"':
 *    the host before the first ':' (its port dropped), %O (bytes sent, headers included) as bytes.
 *
 * json: a JSON object with the keys remote_addr, host (or http_host, server_name), msec or
 * time_iso8601 or time_local, status, bytes_sent or body_bytes_sent, and optionally
 * upstream_cache_status (a string; another type counts as absent). status and bytes may be JSON
 * integers (up to 2^63-1: jansson's int) or strings of digits (nginx's escape=json writes every
 * variable as a string); msec may be a number (rounded to the millisecond) or a string. Unknown
 * keys are ignored; a duplicate key makes the line ambiguous and refused. The JSON path uses
 * jansson: it is not the hot path. */
#ifndef FORMAT_H
#define FORMAT_H

#include "hit.h"

#include <stddef.h>
#include <stdint.h>

/* Longest format string accepted, and most variables in one: bounds for the compiled list. */
#define FORMAT_SPEC_MAX 4096
#define FORMAT_MAX_FIELDS 64

/* The fields of one line. Slices point into the line passed to format_parse, or, for json, into
 * the format's own scratch buffer: valid until the next format_parse on the same format_t. */
typedef struct logrec {
    slice_t remote_addr; /* client address as logged, non-empty */
    slice_t host;        /* request host as logged (may hold a port); empty if none */
    int64_t ts_ms;       /* when the request was served, ms since the Unix epoch, UTC */
    int status;          /* HTTP status, 100..999 */
    uint64_t bytes;      /* bytes sent to the client */
    slice_t cache;       /* $upstream_cache_status as logged ("HIT", "-", ...); empty if none */
} logrec_t;

typedef struct format format_t;

/* Compiles spec: "combined", "vhost_combined", "json", or an nginx log_format string. Returns
 * NULL with a message in err, starting "--format:", when spec is not a usable format (e.g. it has
 * no $remote_addr, no time variable, no $status, no bytes variable, or two variables with no
 * text between them). Free with format_free. */
format_t *format_new(const char *spec, char *err, size_t errlen);

void format_free(format_t *f);

/* Whether lines of this format can carry a host ($host, $http_host, $server_name, the
 * vhost_combined preset, or json): without one the collector needs --default-host. */
int format_has_host(const format_t *f);

/* Parses line [line, line+len), without its "\n". 0 on success with *out filled; -1 on failure
 * with *reason set to a static word of the contract: "parse" (the line does not match the format,
 * or a required field is malformed) or "timestamp" (the line matches but its time is not a valid
 * instant). f is not const: it holds the json scratch buffer and a one-entry cache of the last
 * time field parsed (consecutive lines usually share their second). */
int format_parse(format_t *f, const char *line, size_t len, logrec_t *out, const char **reason);

#endif
