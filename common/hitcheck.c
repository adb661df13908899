#include "hitcheck.h"

#include "custid.h"

#include <string.h>

static const char *const names[HITV_COUNT] = {"ok", "customer", "country", "bytes", "timestamp",
                                               "text"};

const char *hitv_name(int reason) {
    return reason >= 0 && reason < HITV_COUNT ? names[reason] : "unknown";
}

hit_tswin_t hit_tswin_default(void) {
    return (hit_tswin_t){HIT_TS_PAST_MS_DEFAULT, HIT_TS_AHEAD_MS_DEFAULT};
}

hit_tswin_t hit_tswin_consumer(hit_tswin_t producer) {
    return (hit_tswin_t){producer.past_ms + HIT_TS_CONSUMER_SLACK_MS,
                         producer.ahead_ms + HIT_TS_CONSUMER_SLACK_MS};
}

static int upper2(slice_t s) {
    return s.n == 2 && s.p[0] >= 'A' && s.p[0] <= 'Z' && s.p[1] >= 'A' && s.p[1] <= 'Z';
}

int hit_validate(const hit_t *h, int64_t ref_ms, const hit_tswin_t *w) {
    if (!custid_valid(h->customer.p, h->customer.n)) return HITV_CUSTOMER;
    if (!upper2(h->country)) return HITV_COUNTRY;
    if (h->bytes > HIT_BYTES_MAX) return HITV_BYTES;
    /* Subtractions are done on the reference side only: ref and the window are sane values,
     * ts_ms may be anything up to INT64_MAX. */
    if (ref_ms >= 0 && (h->ts_ms < ref_ms - w->past_ms || h->ts_ms > ref_ms + w->ahead_ms))
        return HITV_TIMESTAMP;
    if (h->src.n == 0 || (h->edge.n && memchr(h->edge.p, 0, h->edge.n)) ||
        memchr(h->src.p, 0, h->src.n))
        return HITV_TEXT;
    return HITV_OK;
}
