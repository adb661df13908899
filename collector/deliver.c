#include "deliver.h"

#include "clock.h"
#include "heartbeat.h"
#include "log.h"
#include "metrics.h"

void deliver_ack(void *ctx, uint64_t token, int is_reject, rd_kafka_resp_err_t err) {
    deliver_t *d = ctx;
    (void)is_reject;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        d->confirmed = 1; /* cstats_kafka_ok is set once per poll, not once per record */
        tail_ack(d->tail, token);
        return;
    }
    metric_add(&cstats_delivery_errors, 1);
    if (d->once) {
        d->failed++;
        return;
    }
    if (!d->need_rewind)
        log_warn("delivery failed: resending from the last confirmed positions", "err=%s",
                 rd_kafka_err2name(err));
    d->need_rewind = 1;
}

/* pub_poll, noting whether Kafka confirmed anything (a line, or a watermark: one left the
 * outstanding count without counting as failed) for the collector's readiness (cstats.h). */
static int poll_confirmations(deliver_t *d, int timeout_ms, char *err, size_t errlen) {
    int out0 = pub_wm_outstanding(d->pub);
    uint64_t failed0 = pub_wm_failed(d->pub);
    int rc = pub_poll(d->pub, timeout_ms, err, errlen);
    int64_t wm_ok =
        (int64_t)(out0 - pub_wm_outstanding(d->pub)) - (int64_t)(pub_wm_failed(d->pub) - failed0);
    if (d->confirmed || wm_ok > 0) metric_set(&cstats_kafka_ok, clock_wall_ms());
    d->confirmed = 0;
    return rc;
}

/* Sends one line's record; waits (polling deliveries) while the local queue is full, which is
 * what stops reading when Kafka is slow or away. Returns 0, or -1 on a fatal producer state. */
static int send_line(deliver_t *d, const tail_line_t *l) {
    proc_out_t out;
    char err[512];
    proc_line(d->proc, l->src, l->src_len, l->off, l->p, l->n, l->too_long, &out);
    if (!l->reread) {
        cstats_read_src(d->stats, l->src, l->src_len);
        if (out.kind == PROC_HIT && wmk_is_late(d->wm, out.ts_ms))
            metric_add(&cstats_late_lines, 1);
    }
    tail_tag(d->tail, l->token, (int)out.kind);
    for (;;) {
        int r =
            pub_send(d->pub, out.kind != PROC_HIT, out.key, out.keylen, out.val, out.n, l->token);
        if (r == PUB_QUEUED) {
            cstats_sent(d->stats, out.kind);
            return 0;
        }
        if (r == PUB_FATAL) return -1;
        metric_add(&cstats_backpressure_waits, 1);
        hb_beat(); /* waiting for Kafka on purpose (/readyz says it is away), not stalled */
        if (poll_confirmations(d, 100, err, sizeof err) < 0) return -1;
        if (*d->stop) return 0; /* never sent: the line stays unconfirmed, the next run sends it */
    }
}

static int restart_producer(deliver_t *d, const char *why) {
    char err[512], q[600];
    log_error("producer failed: recreating it and resending from the last confirmed positions",
              "err=%s", log_quote(why, q, sizeof q));
    metric_add(&cstats_producer_restarts, 1);
    if (pub_restart(d->pub, err, sizeof err) < 0) {
        log_error("cannot recreate producer", "err=%s", log_quote(err, q, sizeof q));
        return -1;
    }
    tail_rewind_all(d->tail);
    return 0;
}

static void save_positions(deliver_t *d) {
    char err[512], q[600];
    if (tail_save(d->tail, err, sizeof err) < 0)
        log_error("cannot save read positions", "err=%s", log_quote(err, q, sizeof q));
}

/* What runs between lines: a reload asked for by SIGHUP, a rewind asked for by a failed
 * delivery. */
static void between_lines(deliver_t *d) {
    if (*d->reload) {
        *d->reload = 0;
        if (d->on_reload) d->on_reload(d->ctx);
    }
    if (d->need_rewind) {
        d->need_rewind = 0;
        tail_rewind_all(d->tail);
    }
}

/* The loop's clock, read once a line: the coarse monotonic clock (the kernel's last tick, 1-4 ms
 * behind the precise one, read without the TSC at a fraction of the cost). The loop's timers are
 * 10 ms and longer; a tick late is within their slack. */
static int64_t loop_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int deliver_run(deliver_t *d) {
    char err[512];
    int64_t next_save = clock_mono_ms() + DELIVER_SAVE_MS;
    int64_t next_metrics = clock_mono_ms() + (int64_t)d->metrics_interval_s * 1000;
    int64_t next_wm = 0, next_poll = 0;
    unsigned since_poll = 0;
    int rc = 0;
    hb_beat();
    while (!*d->stop) {
        between_lines(d);
        tail_line_t l;
        int r = tail_next(d->tail, &l, 50);
        if (r < 0) {
            log_error("reading logs failed", "err=\"%s\"", tail_error(d->tail));
            rc = 1;
            break;
        }
        int fatal = 0;
        if (r == 1) fatal = send_line(d, &l) < 0;
        /* Delivery reports advance positions and watermarks: serve them every
         * DELIVER_POLL_LINES lines at speed, and at least every DELIVER_POLL_MS when lines
         * trickle in (one every few ms would otherwise hold them back for 1024 lines: seconds
         * at a few hundred lines/s). */
        int64_t now = loop_ms();
        if (!fatal && (r != 1 || ++since_poll >= DELIVER_POLL_LINES || now >= next_poll)) {
            since_poll = 0;
            next_poll = now + DELIVER_POLL_MS;
            fatal = poll_confirmations(d, r == 1 ? 0 : 10, err, sizeof err) < 0;
            now = loop_ms(); /* the poll may have waited */
            /* /healthz: the loop turns. Here, not once a line: at least every DELIVER_POLL_MS
             * while lines come, every turn when none do (tail_next waits <= 50 ms); a clock read
             * a line less. */
            hb_beat();
        }
        if (fatal && restart_producer(d, err) < 0) {
            rc = 1;
            break;
        }
        if (!d->once && now >= next_wm) {
            wmk_step(d->wm, d->tail, d->pub, d->edge, now);
            next_wm = now + WMK_STEP_MS;
        }
        if (now >= next_save) {
            save_positions(d);
            cstats_update_lag(d->stats, d->tail);
            next_save = now + DELIVER_SAVE_MS;
        }
        if (d->metrics_interval_s && now >= next_metrics) {
            cstats_log(d->stats, "metrics");
            next_metrics = now + (int64_t)d->metrics_interval_s * 1000;
        }
        if (r == TAIL_DONE) break;
    }
    return rc;
}

/* Sends again what a producer restart purged: the loop is not running any more, so the drain
 * pushes it itself. */
static void resend_rewound(deliver_t *d) {
    tail_line_t l;
    while (tail_next(d->tail, &l, 0) == 1 && send_line(d, &l) == 0) {
    }
}

void deliver_drain(deliver_t *d) {
    char err[512];
    int64_t deadline = clock_mono_ms() + DELIVER_DRAIN_MS;
    while (pub_outstanding(d->pub) > 0) {
        if (*d->stop > 1) {
            log_warn("second stop signal: not waiting for Kafka, the next run sends the "
                     "unconfirmed records again",
                     "outstanding=%d", pub_outstanding(d->pub));
            break;
        }
        if (pub_poll(d->pub, 100, err, sizeof err) < 0) {
            if (restart_producer(d, err) < 0 || d->once) break;
            resend_rewound(d);
        }
        if (!d->once && clock_mono_ms() > deadline) {
            log_warn("stopping with records unconfirmed: the next run sends them again",
                     "outstanding=%d", pub_outstanding(d->pub));
            break;
        }
    }
    save_positions(d);
    /* The last watermark: only if every line read is confirmed (wmk_final checks). */
    if (!d->failed && *d->stop < 2) {
        int64_t wm = wmk_final(d->wm, d->tail, d->pub, d->edge, DELIVER_FINAL_WM_MS);
        if (wm >= 0) log_info("last watermark sent", "wm_ms=%lld", (long long)wm);
    }
}
