#include "watermark.h"

#include "jsonw.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int wm_encode(const char *edge, size_t n, int64_t wm_ms, char *buf, size_t cap) {
    jsonw_t w;
    jsonw_init(&w, buf, cap);
    JSONW_LIT(&w, "{\"v\":1,\"kind\":\"watermark\",\"edge\":");
    jsonw_str(&w, edge, n);
    JSONW_LIT(&w, ",\"wm_ms\":");
    jsonw_i64(&w, wm_ms);
    JSONW_LIT(&w, "}");
    return jsonw_len(&w);
}

int wm_decode(wm_t *w, const char *buf, size_t len, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!root) {
        snprintf(err, errlen, "not JSON: %s", je.text);
        return -1;
    }
    json_t *v = json_object_get(root, "v"), *kind = json_object_get(root, "kind");
    json_t *edge = json_object_get(root, "edge"), *ts = json_object_get(root, "wm_ms");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        snprintf(err, errlen, "\"v\" is not 1");
        goto out;
    }
    if (!json_is_string(kind) || strcmp(json_string_value(kind), "watermark") != 0) {
        snprintf(err, errlen, "\"kind\" is not \"watermark\"");
        goto out;
    }
    size_t n = json_is_string(edge) ? json_string_length(edge) : 0;
    if (n == 0 || n > HIT_STR_MAX || memchr(json_string_value(edge), 0, n)) {
        snprintf(err, errlen, "\"edge\" is not a string of 1..%d bytes without NUL", HIT_STR_MAX);
        goto out;
    }
    if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
        snprintf(err, errlen, "\"wm_ms\" is not an integer >= 0");
        goto out;
    }
    memcpy(w->edge, json_string_value(edge), n);
    w->edge[n] = 0;
    w->wm_ms = json_integer_value(ts);
    rc = 0;
out:
    json_decref(root);
    return rc;
}
