/* collector: follows edge access logs and publishes one hit record per request to Kafka.
 *
 *   tail (files, rotation, read positions) -> process (parse, host map, geo, encode)
 *     -> publish (librdkafka) -> delivery report -> tail_ack (position advances)
 *
 * main only reads options, wires the stages and runs the loop. */
#include "kafka.h"
#include "log.h"
#include "clock.h"
#include "metrics.h"
#include "process.h"
#include "publish.h"
#include "sdnotify.h"
#include "tail.h"
#include "watermarks.h"
#include "cstats.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COLLECTOR_VERSION "collector 0.1.0"
/* How long SIGTERM waits for Kafka to confirm what is queued before saving and exiting; what
 * is still unconfirmed then is sent again by the next run (positions never pass it). */
#define SHUTDOWN_FLUSH_MS 30000
#define SAVE_INTERVAL_MS 1000
#define POLL_EVERY_MS 10 /* longest gap between two services of the delivery reports */
/* How long the last watermark (--once, or a stop) waits for Kafka; it is not a line: the exit
 * status does not depend on it. */
#define FINAL_WM_FLUSH_MS 5000

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}
static void on_hup(int sig) {
    (void)sig;
    reload_flag = 1;
}

typedef struct opts {
    kopts_t kafka;
    const char *customers, *geoip, *format, *default_host, *edge, *state_dir, *reject_topic;
    const char *geo_country_key, *geo_region_key;
    int once, metrics_interval_s;
    hit_tswin_t tswin;      /* --max-age, --max-ahead */
    int64_t wm_interval_ms; /* --watermark-interval */
    char edge_buf[256];
} opts_t;

static void usage(FILE *f) {
    fprintf(f,
            "usage: collector [options] PATH...\n"
            "Follows access logs (files, quoted globs, or - for stdin) and publishes one JSON hit\n"
            "record per request to Kafka.\n\n"
            "  -c, --customers FILE       host map: HOST CUSTOMER_ID per line (re-read on SIGHUP)\n"
            "  -g, --geoip FILE           MaxMind DB (GeoIP2/GeoLite2 City or Country)\n"
            "      --geo-country-key PATH dotted key of the country code (default country.iso_code)\n"
            "      --geo-region-key PATH  dotted key of the region (default subdivisions.0.iso_code)\n"
            "  -f, --format F             combined (default), vhost_combined, json, or an nginx\n"
            "                             log_format string\n"
            "      --default-host HOST    host for lines whose format has no host\n"
            "  -e, --edge-id ID           this edge's name (default: the hostname)\n"
            "  -s, --state-dir DIR        where read positions are kept between runs\n"
            "      --once                 read every PATH to its end, wait for Kafka, exit\n"
            "      --reject-topic NAME    dead letters (default hits.rejected)\n"
            "      --max-age DURATION     refuse hits older than this (reason timestamp; default\n"
            "                             35d; forms 35d, 24h, 90m, 3600s)\n"
            "      --max-ahead DURATION   refuse hits this far ahead of the clock (default 1d)\n"
            "      --watermark-interval MS  between watermarks to every partition (default 1000)\n"
            "      --metrics-interval N   seconds between metrics log lines (default 10, 0 = only "
            "at exit)\n"
            "  -v, --log-level LEVEL      debug, info (default), warn, error\n"
            "  -h, --help                 this text\n"
            "  -V, --version              the version\n" KOPTS_HELP);
}

static int bad(const char *msg) {
    fprintf(stderr, "collector: %s\n", msg);
    return 2;
}

enum {
    OPT_ONCE = 256,
    OPT_REJECT,
    OPT_DEFHOST,
    OPT_GEOC,
    OPT_GEOR,
    OPT_MINT,
    OPT_MAXAGE,
    OPT_MAXAHEAD,
    OPT_WMINT
};

/* "35d", "24h", "90m", "3600s" (or bare seconds) into ms; -1 if not such a duration of at most
 * 100 years. */
static int64_t duration_ms(const char *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0 || !isdigit((unsigned char)s[0])) return -1;
    int64_t unit = 1000;
    if (*end == 'd') unit = 86400000;
    else if (*end == 'h') unit = 3600000;
    else if (*end == 'm') unit = 60000;
    if (*end && *end != 's' && unit == 1000) return -1;
    if (*end && end[1]) return -1;
    if (v > 100LL * 366 * 86400000 / unit) return -1; /* 100 years: replaying any old log */
    return v * unit;
}

/* Sets the option's value from a duration, or writes the one-line complaint into msg. */
static int opt_duration(const char *name, const char *arg, int64_t *out, char *msg, size_t n) {
    int64_t v = duration_ms(arg);
    if (v <= 0) {
        snprintf(msg, n, "%s %s: expected a duration such as 35d, 24h, 90m or 3600s", name, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* The options that take a number, a duration or a level: 0, or -1 with the complaint in msg. */
static int parse_value(opts_t *o, int c, const char *arg, char *msg, size_t n) {
    char *end;
    long v = strtol(arg, &end, 10);
    int num = *arg && !*end;
    switch (c) {
    case OPT_MINT:
        if (!num || v < 0 || v > 86400) {
            snprintf(msg, n, "--metrics-interval %s: expected seconds 0..86400", arg);
            return -1;
        }
        o->metrics_interval_s = (int)v;
        return 0;
    case OPT_WMINT:
        if (!num || v < 10 || v > 3600000) {
            snprintf(msg, n, "--watermark-interval %s: expected ms 10..3600000", arg);
            return -1;
        }
        o->wm_interval_ms = v;
        return 0;
    case OPT_MAXAGE: return opt_duration("--max-age", arg, &o->tswin.past_ms, msg, n);
    case OPT_MAXAHEAD: return opt_duration("--max-ahead", arg, &o->tswin.ahead_ms, msg, n);
    default: {
        int l = log_level_parse(arg);
        if (l < 0) {
            snprintf(msg, n, "--log-level %s: expected debug, info, warn or error", arg);
            return -1;
        }
        log_min_level = (log_level_t)l;
        return 0;
    }
    }
}

static int parse_opts(opts_t *o, int argc, char **argv, int *first_path) {
    static const struct option longopts[] = {
        KOPTS_LONGOPTS,
        {"customers", 1, 0, 'c'},
        {"geoip", 1, 0, 'g'},
        {"format", 1, 0, 'f'},
        {"default-host", 1, 0, OPT_DEFHOST},
        {"edge-id", 1, 0, 'e'},
        {"state-dir", 1, 0, 's'},
        {"once", 0, 0, OPT_ONCE},
        {"reject-topic", 1, 0, OPT_REJECT},
        {"geo-country-key", 1, 0, OPT_GEOC},
        {"geo-region-key", 1, 0, OPT_GEOR},
        {"metrics-interval", 1, 0, OPT_MINT},
        {"max-age", 1, 0, OPT_MAXAGE},
        {"max-ahead", 1, 0, OPT_MAXAHEAD},
        {"watermark-interval", 1, 0, OPT_WMINT},
        {"log-level", 1, 0, 'v'},
        {"help", 0, 0, 'h'},
        {"version", 0, 0, 'V'},
        {0, 0, 0, 0}};
    char err[512], msg[600];
    memset(o, 0, sizeof *o);
    kopts_init(&o->kafka);
    o->format = "combined";
    o->reject_topic = "hits.rejected";
    o->metrics_interval_s = 10;
    o->tswin = hit_tswin_default();
    o->wm_interval_ms = WM_INTERVAL_MS;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, KOPTS_SHORTOPTS "c:g:f:e:s:v:hV", longopts, NULL)) != -1) {
        int k = kopts_parse(&o->kafka, c, optarg, err, sizeof err);
        if (k < 0) return bad(err);
        if (k > 0) continue;
        switch (c) {
        case 'c': o->customers = optarg; break;
        case 'g': o->geoip = optarg; break;
        case 'f': o->format = optarg; break;
        case 'e': o->edge = optarg; break;
        case 's': o->state_dir = optarg; break;
        case OPT_DEFHOST: o->default_host = optarg; break;
        case OPT_ONCE: o->once = 1; break;
        case OPT_REJECT: o->reject_topic = optarg; break;
        case OPT_GEOC: o->geo_country_key = optarg; break;
        case OPT_GEOR: o->geo_region_key = optarg; break;
        case OPT_MINT:
        case OPT_MAXAGE:
        case OPT_MAXAHEAD:
        case OPT_WMINT:
        case 'v':
            if (parse_value(o, c, optarg, msg, sizeof msg) < 0) return bad(msg);
            break;
        case 'h': usage(stdout); exit(0);
        case 'V': puts(COLLECTOR_VERSION); exit(0);
        default:
            snprintf(msg, sizeof msg, "unknown or incomplete option '%s' (see --help)",
                     argv[optind - 1]);
            return bad(msg);
        }
    }
    if (optind >= argc) return bad("no PATH given (a file, a quoted glob, or - for stdin)");
    if (!o->customers) return bad("--customers FILE is required (the host map)");
    if (!o->edge) {
        if (gethostname(o->edge_buf, sizeof o->edge_buf - 1) != 0 || !o->edge_buf[0])
            strcpy(o->edge_buf, "edge");
        o->edge = o->edge_buf;
    }
    if (strlen(o->edge) > HIT_STR_MAX) return bad("--edge-id: longer than 1024 bytes");
    *first_path = optind;
    return 0;
}

/* Everything the loop and the delivery callback share. */
typedef struct app {
    opts_t o;
    tail_t *tail;
    publisher_t *pub;
    hostmap_t *map;
    geo_t *geo;
    format_t *fmt;
    proc_t proc;
    cstats_t stats;
    wmk_t wm;
    int need_rewind; /* a record failed in follow mode: resend from the confirmed positions */
    uint64_t failed; /* --once: records Kafka refused for good */
} app_t;

static void on_delivery(void *ctx, uint64_t token, int is_reject, rd_kafka_resp_err_t err) {
    app_t *a = ctx;
    (void)is_reject;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        tail_ack(a->tail, token);
        return;
    }
    metric_add(&cstats_delivery_errors, 1);
    if (a->o.once) {
        a->failed++;
        return;
    }
    if (!a->need_rewind)
        log_warn("delivery failed: resending from the last confirmed positions", "err=%s",
                 rd_kafka_err2name(err));
    a->need_rewind = 1;
}

static void on_tail_event(void *ctx, const char *event, const char *path, const char *src,
                          uint64_t off) {
    char qp[1024], qs[1024];
    (void)ctx;
    log_info(event, "path=%s src=%s off=%llu", log_quote(path, qp, sizeof qp),
             log_quote(src, qs, sizeof qs), (unsigned long long)off);
}

static void on_settled(void *ctx, const char *src, size_t srclen, int tag) {
    app_t *a = ctx;
    cstats_settled(&a->stats, src, srclen, (proc_reason_t)tag);
}

static int reload_map(app_t *a) {
    char err[512], q[600];
    hostmap_t *m = hostmap_load(a->o.customers, err, sizeof err);
    if (!m) {
        log_error("host map reload failed: keeping the previous map", "err=%s",
                  log_quote(err, q, sizeof q));
        return -1;
    }
    hostmap_free(a->map);
    a->map = m;
    a->proc.cfg.map = m;
    log_info("host map reloaded", "hosts=%zu", hostmap_size(m));
    return 0;
}

/* Sends one line's record; waits (polling deliveries) while the local queue is full, which is
 * what stops reading when Kafka is slow or away. Returns 0, or -1 on a fatal producer state. */
static int send_line(app_t *a, const tail_line_t *l) {
    proc_out_t out;
    char err[512];
    proc_line(&a->proc, l->src, l->src_len, l->off, l->p, l->n, l->too_long, &out);
    if (!l->reread) {
        cstats_read_src(&a->stats, l->src, l->src_len);
        if (out.kind == PROC_HIT && wmk_is_late(&a->wm, out.ts_ms))
            metric_add(&cstats_late_lines, 1);
    }
    tail_tag(a->tail, l->token, (int)out.kind);
    for (;;) {
        int r = pub_send(a->pub, out.kind != PROC_HIT, out.key, out.keylen, out.val, out.n,
                         l->token);
        if (r == PUB_QUEUED) {
            cstats_sent(&a->stats, out.kind);
            return 0;
        }
        if (r == PUB_FATAL) return -1;
        metric_add(&cstats_backpressure_waits, 1);
        if (pub_poll(a->pub, 100, err, sizeof err) < 0) return -1;
        if (stop_flag) return 0; /* never sent: the line stays unconfirmed, the next run sends it */
    }
}

static int restart_producer(app_t *a, const char *why) {
    char err[512], q[600];
    log_error("producer failed: recreating it and resending from the last confirmed positions",
              "err=%s", log_quote(why, q, sizeof q));
    metric_add(&cstats_producer_restarts, 1);
    if (pub_restart(a->pub, err, sizeof err) < 0) {
        log_error("cannot recreate producer", "err=%s", log_quote(err, q, sizeof q));
        return -1;
    }
    tail_rewind_all(a->tail);
    return 0;
}

static void save_positions(app_t *a) {
    char err[512], q[600];
    if (tail_save(a->tail, err, sizeof err) < 0)
        log_error("cannot save read positions", "err=%s", log_quote(err, q, sizeof q));
}

static int run(app_t *a) {
    char err[512];
    int64_t next_save = clock_mono_ms() + SAVE_INTERVAL_MS;
    int64_t next_metrics = clock_mono_ms() + (int64_t)a->o.metrics_interval_s * 1000;
    int64_t next_wm = 0;
    unsigned since_poll = 0;
    int64_t next_poll = 0;
    int rc = 0;
    while (!stop_flag) {
        if (reload_flag) {
            reload_flag = 0;
            reload_map(a);
        }
        if (a->need_rewind) {
            a->need_rewind = 0;
            tail_rewind_all(a->tail);
        }
        tail_line_t l;
        int r = tail_next(a->tail, &l, 50);
        if (r < 0) {
            log_error("reading logs failed", "err=\"%s\"", tail_error(a->tail));
            rc = 1;
            break;
        }
        int fatal = 0;
        if (r == 1) fatal = send_line(a, &l) < 0;
        /* Delivery reports advance positions and watermarks: serve them every 1024 lines at
         * speed, and at least every POLL_EVERY_MS when lines trickle in (one every few ms would
         * otherwise hold them back for 1024 lines: seconds at a few hundred lines/s). */
        int64_t now = clock_mono_ms();
        if (!fatal && (r != 1 || ++since_poll >= 1024 || now >= next_poll)) {
            since_poll = 0;
            next_poll = now + POLL_EVERY_MS;
            fatal = pub_poll(a->pub, r == 1 ? 0 : 10, err, sizeof err) < 0;
        }
        if (fatal && restart_producer(a, err) < 0) {
            rc = 1;
            break;
        }
        now = clock_mono_ms();
        if (!a->o.once && now >= next_wm) {
            wmk_step(&a->wm, a->tail, a->pub, a->o.edge, now);
            next_wm = now + WMK_STEP_MS;
        }
        if (now >= next_save) {
            save_positions(a);
            cstats_update_lag(&a->stats, a->tail);
            next_save = now + SAVE_INTERVAL_MS;
        }
        if (a->o.metrics_interval_s && now >= next_metrics) {
            cstats_log(&a->stats, "metrics");
            next_metrics = now + (int64_t)a->o.metrics_interval_s * 1000;
        }
        if (r == TAIL_DONE) break;
    }
    return rc;
}

/* Waits for Kafka to confirm every queued record (bounded on a stop signal), then saves. */
static void drain(app_t *a) {
    char err[512];
    int64_t deadline = clock_mono_ms() + SHUTDOWN_FLUSH_MS;
    while (pub_outstanding(a->pub) > 0) {
        if (pub_poll(a->pub, 100, err, sizeof err) < 0) {
            if (restart_producer(a, err) < 0 || a->o.once) break;
            /* Resend what was purged: the loop is not running any more, so push it here. */
            tail_line_t l;
            int r;
            while ((r = tail_next(a->tail, &l, 0)) == 1 && send_line(a, &l) == 0) {}
        }
        if (!a->o.once && stop_flag > 1) break;
        if (!a->o.once && clock_mono_ms() > deadline) {
            log_warn("stopping with records unconfirmed: the next run sends them again",
                     "outstanding=%d", pub_outstanding(a->pub));
            break;
        }
    }
    save_positions(a);
    /* The last watermark: only if every line read is confirmed (wmk_final checks). */
    if (!a->failed && stop_flag < 2) {
        int64_t wm = wmk_final(&a->wm, a->tail, a->pub, a->o.edge, FINAL_WM_FLUSH_MS);
        if (wm >= 0) log_info("last watermark sent", "wm_ms=%lld", (long long)wm);
    }
}

static int open_stages(app_t *a, char **paths, int npaths) {
    char err[1024];
    a->map = hostmap_load(a->o.customers, err, sizeof err);
    if (!a->map) return bad(err);
    if (hostmap_size(a->map) == 0)
        log_warn("the host map is empty: every line will be rejected as unknown_host", "path=%s",
                 a->o.customers);
    if (a->o.geoip) {
        geo_keys_t keys = {a->o.geo_country_key, a->o.geo_region_key, NULL};
        int custom = a->o.geo_country_key || a->o.geo_region_key;
        a->geo = geo_open(a->o.geoip, custom ? &keys : NULL, err, sizeof err);
        if (!a->geo) return bad(err);
    } else {
        log_warn("no --geoip database: every hit gets country ZZ", "%s", "");
    }
    a->fmt = format_new(a->o.format, err, sizeof err);
    if (!a->fmt) return bad(err);
    proc_cfg_t pc = {a->fmt, a->map, a->geo, a->o.default_host, a->o.edge, a->o.tswin, NULL};
    proc_init(&a->proc, &pc);
    tail_opts_t to = {.paths = (const char *const *)paths,
                      .npaths = npaths,
                      .state_dir = a->o.state_dir,
                      .once = a->o.once,
                      .on_event = on_tail_event,
                      .on_settled = on_settled,
                      .event_ctx = a};
    a->tail = tail_new(&to, err, sizeof err);
    if (!a->tail) return bad(err);
    if (!a->o.state_dir && !a->o.once)
        log_warn("no --state-dir: read positions are not kept, a restart reads files again",
                 "%s", "");
    pub_opts_t po = {&a->o.kafka, a->o.reject_topic, a->o.once, on_delivery, a};
    a->pub = pub_new(&po, err, sizeof err);
    if (!a->pub) return bad(err);
    return 0;
}

static void close_stages(app_t *a) {
    pub_free(a->pub);
    tail_free(a->tail);
    format_free(a->fmt);
    geo_close(a->geo);
    hostmap_free(a->map);
}

int main(int argc, char **argv) {
    static app_t a;
    int first = 0;
    int rc = parse_opts(&a.o, argc, argv, &first);
    if (rc) return rc;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    cstats_init(&a.stats);
    wmk_init(&a.wm, a.o.wm_interval_ms);
    rc = open_stages(&a, argv + first, argc - first);
    if (rc == 0) {
        log_info("collector started", "edge=%s brokers=%s topic=%s once=%d paths=%d", a.o.edge,
                 a.o.kafka.brokers, a.o.kafka.topic, a.o.once, argc - first);
        sdnotify_ready(); /* systemd Type=notify: reading and publishing */
        rc = run(&a);
        drain(&a);
        cstats_update_lag(&a.stats, a.tail);
        cstats_log(&a.stats, "final metrics");
        cstats_log_sources(&a.stats);
        if (a.o.once && (a.failed || pub_outstanding(a.pub))) {
            log_error("some records could not be delivered: their lines stay unconfirmed",
                      "failed=%llu", (unsigned long long)a.failed);
            rc = 1;
        }
    }
    close_stages(&a);
    wmk_fini(&a.wm);
    cstats_fini(&a.stats);
    return rc;
}
