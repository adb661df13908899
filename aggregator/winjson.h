/* winjson.h: a customer's window as the JSON of CONTRACT.md, with the completeness keys.
 *
 *   {"customer", "seconds", "end_ms", "hits", "bytes", "countries": [...], "regions": [...],
 *    "series": [...], "complete_to_ms", "edges_behind": [{"edge", "watermark_ms"}, ...],
 *    "catching_up"}
 *
 * Seconds of the series that start at or after complete_to_ms are provisional: hits may still
 * come for them (wmstate.h says what complete_to_ms is). */
#ifndef WINJSON_H
#define WINJSON_H

#include "window.h"
#include "wmstate.h"

#include <stddef.h>

#define WINJSON_START (16u << 10) /* first buffer, doubled until the text fits */
#define WINJSON_MAX (64u << 20)   /* more would be a bug: ~60 series points, bounded keys */

/* The text (malloc'd, newline-terminated, its length in *len), or NULL when out of memory. */
char *winjson(const char *customer, const win_result_t *w, const wms_status_t *s, size_t *len);

#endif
