/* winjson.h: a customer's window as the JSON of CONTRACT.md, with the completeness keys.
 *
 *   {"customer", "seconds", "end_ms", "hits", "bytes", "countries": [...], "regions": [...],
 *    "series": [...], "complete_to_ms", "edges_behind": [{"edge", "watermark_ms"}, ...],
 *    "catching_up",
 *    and with a custview result (custview.h; NULL: none of these):
 *    "status": {"2xx", "3xx", "4xx", "5xx", "other"}, "cache": {"hit", "miss", "unknown",
 *    "hit_ratio"}, "hosts": [{"host", "hits", "bytes"}, ...], "hosts_other": {"hits", "bytes"},
 *    "minutes": [{"t_ms", "hits", "bytes"}, ...], "minutes_from_ms", and "name" in the entries
 *    of "regions" whose name is known}
 *
 * hit_ratio is hit / (hit + miss), hits whose cache status is unknown left out, with 4 decimals;
 * null when no hit of the window has a known one. Every count is exact (integers).
 *
 * Seconds of the series that start at or after complete_to_ms are provisional: hits may still
 * come for them (wmstate.h says what complete_to_ms is). */
#ifndef WINJSON_H
#define WINJSON_H

#include "custview.h"
#include "window.h"
#include "wmstate.h"

#include <stddef.h>

#define WINJSON_START (16u << 10) /* first buffer, doubled until the text fits */
#define WINJSON_MAX (64u << 20)   /* more would be a bug: ~60 series points, bounded keys */

/* The text (malloc'd, newline-terminated, its length in *len), or NULL when out of memory. */
char *winjson(const char *customer, const win_result_t *w, const wms_status_t *s,
              const cv_result_t *cv, size_t *len);

#endif
