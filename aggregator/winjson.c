/* winjson.c: see winjson.h. Written with jsonw into a buffer that doubles until it fits. */
#include "winjson.h"

#include "jsonw.h"

#include <stdio.h>
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

static void put_regions(jsonw_t *j, const win_result_t *w, const cv_result_t *cv) {
    JSONW_LIT(j, ",\"regions\":[");
    for (size_t i = 0; i < w->nregions; i++) {
        const win_region_t *k = &w->regions[i];
        if (i) JSONW_LIT(j, ",");
        JSONW_LIT(j, "{\"country\":");
        jsonw_str(j, k->country, strlen(k->country));
        JSONW_LIT(j, ",\"region\":");
        jsonw_str(j, k->region, k->region_len);
        const char *name = cv && i < cv->nregion_names ? cv->region_names[i] : NULL;
        if (name) {
            JSONW_LIT(j, ",\"name\":");
            jsonw_str(j, name, strlen(name));
        }
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

static void put_count(jsonw_t *j, const char *key, uint64_t v) {
    jsonw_lit(j, key, strlen(key));
    jsonw_u64(j, v);
}

/* The extras of custview.h, after the contract's keys. */
static void put_extras(jsonw_t *j, const cv_result_t *cv) {
    static const char *const st[CV_NSTATUS] = {
        "\"2xx\":", ",\"3xx\":", ",\"4xx\":", ",\"5xx\":", ",\"other\":"};
    JSONW_LIT(j, ",\"status\":{");
    for (int k = 0; k < CV_NSTATUS; k++)
        put_count(j, st[k], cv->status[k]);
    put_count(j, "},\"cache\":{\"hit\":", cv->cache[HIT_CACHE_HIT]);
    put_count(j, ",\"miss\":", cv->cache[HIT_CACHE_MISS]);
    put_count(j, ",\"unknown\":", cv->cache[HIT_CACHE_UNKNOWN]);
    JSONW_LIT(j, ",\"hit_ratio\":");
    uint64_t known = cv->cache[HIT_CACHE_HIT] + cv->cache[HIT_CACHE_MISS];
    if (known) {
        /* 4 decimals, rounded half up, in integers: 10^4 * hit / known */
        uint64_t r = (uint64_t)(((unsigned __int128)cv->cache[HIT_CACHE_HIT] * 20000 + known) /
                                (2 * (unsigned __int128)known));
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%llu.%04llu", (unsigned long long)(r / 10000),
                         (unsigned long long)(r % 10000));
        jsonw_lit(j, buf, (size_t)n);
    } else {
        JSONW_LIT(j, "null");
    }
    JSONW_LIT(j, "},\"hosts\":[");
    for (size_t i = 0; i < cv->nhosts; i++) {
        if (i) JSONW_LIT(j, ",");
        JSONW_LIT(j, "{\"host\":");
        jsonw_str(j, cv->hosts[i].host, cv->hosts[i].host_len);
        put_count(j, ",\"hits\":", cv->hosts[i].hits);
        put_count(j, ",\"bytes\":", cv->hosts[i].bytes);
        JSONW_LIT(j, "}");
    }
    put_count(j, "],\"hosts_other\":{\"hits\":", cv->other_hits);
    put_count(j, ",\"bytes\":", cv->other_bytes);
    JSONW_LIT(j, "},\"minutes\":[");
    for (int i = 0; i < CV_MINUTES; i++) {
        if (i) JSONW_LIT(j, ",");
        JSONW_LIT(j, "{\"t_ms\":");
        jsonw_i64(j, cv->minutes[i].t_ms);
        put_count(j, ",\"hits\":", cv->minutes[i].hits);
        put_count(j, ",\"bytes\":", cv->minutes[i].bytes);
        JSONW_LIT(j, "}");
    }
    JSONW_LIT(j, "],\"minutes_from_ms\":");
    jsonw_i64(j, cv->minutes_from_ms);
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

char *winjson(const char *customer, const win_result_t *w, const wms_status_t *s,
              const cv_result_t *cv, size_t *len) {
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
        put_regions(&j, w, cv);
        put_series(&j, w);
        put_completeness(&j, s);
        if (cv) put_extras(&j, cv);
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
