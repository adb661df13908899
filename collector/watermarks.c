/* watermarks.c: choosing and sending the edge watermark (watermarks.h). */
#include "watermarks.h"

#include "cstats.h"
#include "log.h"

#include <string.h>

void wmk_init(wmk_t *w, int64_t interval_ms) {
    memset(w, 0, sizeof *w);
    w->interval_ms = interval_ms > 0 ? interval_ms : WM_INTERVAL_MS;
    w->pending = w->ready = w->published = -1;
}

void wmk_fini(wmk_t *w) {
    tail_marks_fini(&w->marks);
}

int wmk_offer(wmk_t *w, int64_t t_ms) {
    if (t_ms < 0) return 0;
    t_ms -= t_ms % WMK_GRAIN_MS;
    /* W never goes back: a T not after the ready one (the wall clock stepped back) waits. */
    if (w->pending >= 0 || t_ms <= w->ready) return 0;
    w->pending = t_ms;
    return 1;
}

void wmk_confirmed(wmk_t *w) {
    if (w->pending < 0) return;
    if (w->pending > w->ready) w->ready = w->pending;
    w->pending = -1;
}

int64_t wmk_due(wmk_t *w, int64_t now_ms) {
    if (w->ready < 0) return -1;
    /* A W that moved goes out at once (but not twice in half an interval): consumers then see
     * the edge at most about a second behind, not two. */
    int early = w->ready > w->published && now_ms >= w->last_send + w->interval_ms / 2;
    if (now_ms < w->next_send && !early) return -1;
    w->last_send = now_ms;
    w->next_send = now_ms + w->interval_ms;
    w->published = w->ready;
    return w->ready;
}

/* Produces W to every partition; a partition whose send is refused (queue full) is skipped:
 * the next interval sends again. */
static int send_all(wmk_t *w, publisher_t *p, const char *edge, int64_t wm, int64_t now_ms) {
    char val[WM_ENCODED_MAX];
    int n = wm_encode(edge, strlen(edge), wm, val, sizeof val);
    int parts = pub_partitions(p, now_ms), sent = 0;
    if (n < 0) return 0; /* cannot be: edge is at most HIT_STR_MAX bytes (checked at start) */
    /* A whole round still unconfirmed (Kafka away or slow): another would only queue up stale
     * ones; at most two rounds wait in the producer's queue, however long Kafka is away. */
    if (pub_wm_outstanding(p) >= parts && parts > 0) return 0;
    for (int32_t i = 0; i < parts; i++)
        if (pub_send_wm(p, i, val, (size_t)n) == PUB_QUEUED) sent++;
    w->sent += (uint64_t)sent;
    metric_add(&cstats_wm_sent, sent);
    metric_set(&cstats_wm_failed, (int64_t)pub_wm_failed(p));
    return sent;
}

void wmk_step(wmk_t *w, tail_t *t, publisher_t *p, const char *edge, int64_t now_ms) {
    if (w->pending >= 0 && tail_marks_passed(t, &w->marks)) wmk_confirmed(w);
    if (wmk_offer(w, tail_caught_up_ms(t))) {
        if (tail_marks_take(t, &w->marks) < 0) {
            w->pending = -1; /* out of memory: try again at the next step */
        } else if (tail_marks_passed(t, &w->marks)) {
            wmk_confirmed(w); /* nothing in flight: an idle edge advances at once */
        }
    }
    int64_t wm = wmk_due(w, now_ms);
    if (wm < 0) return;
    metric_set(&cstats_wm_ms, wm); /* what the edge tells now, even if Kafka cannot take it */
    send_all(w, p, edge, wm, now_ms);
}

int64_t wmk_final(wmk_t *w, tail_t *t, publisher_t *p, const char *edge, int timeout_ms) {
    int64_t wm = tail_caught_up_ms(t);
    if (wm < 0 || pub_outstanding(p) > 0) return -1;
    wm -= wm % WMK_GRAIN_MS;
    if (tail_marks_take(t, &w->marks) < 0 || !tail_marks_passed(t, &w->marks)) return -1;
    if (wm < w->ready) wm = w->ready; /* never back, even if the wall clock stepped */
    w->ready = w->published = wm;
    metric_set(&cstats_wm_ms, wm);
    /* The last round of the loop may still be waiting: let it settle, or send_all skips. */
    pub_flush(p, timeout_ms);
    /* now 0: the cached partition count, or metadata fetched now if never had (--once). */
    if (send_all(w, p, edge, wm, 0) == 0) return -1;
    pub_flush(p, timeout_ms);
    if (pub_wm_outstanding(p) > 0) {
        log_warn("last watermark not confirmed in time", "wm_ms=%lld outstanding=%d", (long long)wm,
                 pub_wm_outstanding(p));
        return -1;
    }
    return wm;
}
