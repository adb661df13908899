/* winjson.c: see winjson.h. Written with jsonw into a buffer that doubles until it fits. */
#include "winjson.h"

#include "jsonw.h"

#include <stdlib.h>
#include <string.h>

static void put_countries(jsonw_t *j, const win_result_t *w) {
    JSONW_LIT(j, ",\"countries\":[");
    for (size_t i = 0; i < w->ncountries; i++) {
        const win_country_t *k = &w->countries[i];
        if (i) JSONW_LIT(j, ",");
        JSONW_LIT(j, "{\"country\":");
        jsonw_str(j, k->country, strlen(k->country));
        JSONW_LIT(j, ",\"hits\":");
        jsonw_u64(j, k->hits);
        JSONW_LIT(j, ",\"bytes\":");
        jsonw_u64(j, k->bytes);
        JSONW_LIT(j, "}");
    }
    JSONW_LIT(j, "]");
}

static void put_regions(jsonw_t *j, const win_result_t *w) {
    JSONW_LIT(j, ",\"regions\":[");
    for (size_t i = 0; i < w->nregions; i++) {
        const win_region_t *k = &w->regions[i];
        if (i) JSONW_LIT(j, ",");
        JSONW_LIT(j, "{\"country\":");
        jsonw_str(j, k->country, strlen(k->country));
        JSONW_LIT(j, ",\"region\":");
        jsonw_str(j, k->region, k->region_len);
        if (k->other) JSONW_LIT(j, ",\"other\":true"); /* not a region: window.h's key cap */
        JSONW_LIT(j, ",\"hits\":");
        jsonw_u64(j, k->hits);
        JSONW_LIT(j, ",\"bytes\":");
        jsonw_u64(j, k->bytes);
        JSONW_LIT(j, "}");
    }
    JSONW_LIT(j, "]");
}

static void put_series(jsonw_t *j, const win_result_t *w) {
    JSONW_LIT(j, ",\"series\":[");
    for (int i = 0; i < w->seconds && i < WIN_SECONDS; i++) {
        if (i) JSONW_LIT(j, ",");
        JSONW_LIT(j, "{\"t_ms\":");
        jsonw_i64(j, w->series[i].t_ms);
        JSONW_LIT(j, ",\"hits\":");
        jsonw_u64(j, w->series[i].hits);
        JSONW_LIT(j, ",\"bytes\":");
        jsonw_u64(j, w->series[i].bytes);
        JSONW_LIT(j, "}");
    }
    JSONW_LIT(j, "]");
}

static void put_completeness(jsonw_t *j, const wms_status_t *s) {
    JSONW_LIT(j, ",\"complete_to_ms\":");
    jsonw_i64(j, s->complete_to_ms);
    JSONW_LIT(j, ",\"edges_behind\":[");
    for (size_t i = 0; i < s->nbehind; i++) {
        if (i) JSONW_LIT(j, ",");
        JSONW_LIT(j, "{\"edge\":");
        jsonw_str(j, s->behind[i].edge, strlen(s->behind[i].edge));
        JSONW_LIT(j, ",\"watermark_ms\":");
        jsonw_i64(j, s->behind[i].watermark_ms);
        JSONW_LIT(j, "}");
    }
    JSONW_LIT(j, "],\"catching_up\":");
    if (s->catching_up)
        JSONW_LIT(j, "true");
    else
        JSONW_LIT(j, "false");
}

char *winjson(const char *customer, const win_result_t *w, const wms_status_t *s, size_t *len) {
    for (size_t cap = WINJSON_START; cap <= WINJSON_MAX; cap *= 2) {
        char *buf = malloc(cap);
        if (!buf) return NULL;
        jsonw_t j;
        jsonw_init(&j, buf, cap);
        JSONW_LIT(&j, "{\"customer\":");
        jsonw_str(&j, customer, strlen(customer));
        JSONW_LIT(&j, ",\"seconds\":");
        jsonw_i64(&j, w->seconds);
        JSONW_LIT(&j, ",\"end_ms\":");
        jsonw_i64(&j, w->end_ms);
        JSONW_LIT(&j, ",\"hits\":");
        jsonw_u64(&j, w->hits);
        JSONW_LIT(&j, ",\"bytes\":");
        jsonw_u64(&j, w->bytes);
        put_countries(&j, w);
        put_regions(&j, w);
        put_series(&j, w);
        put_completeness(&j, s);
        JSONW_LIT(&j, "}\n");
        int n = jsonw_len(&j);
        if (n >= 0) {
            *len = (size_t)n;
            return buf;
        }
        free(buf);
    }
    return NULL;
}
