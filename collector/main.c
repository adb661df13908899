/* collector: follows edge access logs and publishes one hit record per request to Kafka.
 *
 *   tail (files, rotation, read positions) -> process (parse, host map, geo, encode)
 *     -> publish (librdkafka) -> delivery report -> tail_ack (position advances)
 *
 * main only reads options, opens the stages and wires them; deliver.c runs the loop (when
 * positions advance, backpressure, the drain on a stop), watermarks.c the edge watermarks. */
#include "cli.h"
#include "config.h"
#include "cstats.h"
#include "deliver.h"
#include "kafka.h"
#include "heartbeat.h"
#include "log.h"
#include "opsd.h"
#include "process.h"
#include "publish.h"
#include "sdnotify.h"
#include "tail.h"
#include "watermarks.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct opts {
    kopts_t kafka;
    const char *customers, *geoip, *format, *default_host, *edge, *state_dir, *reject_topic;
    const char *geo_country_key, *geo_region_key;
    const char *metrics_listen; /* --metrics-listen ADDR:PORT, or NULL */
    int once, metrics_interval_s;
    hit_tswin_t tswin;      /* --max-age, --max-ahead */
    int64_t wm_interval_ms; /* --watermark-interval */
    char edge_buf[256];
} opts_t;

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: collector [options] --customers FILE PATH...\n"
        "Follows edge access logs and publishes one JSON hit record per request to Kafka.\n\n"
        "PATH: a file, a quoted glob (followed as files appear and rotate), or - for stdin.\n\n"
        "Options:\n"
        "  -c, --customers FILE       host map: HOST CUSTOMER_ID per line (re-read on SIGHUP)\n"
        "  -g, --geoip FILE           MaxMind DB (GeoIP2/GeoLite2 City or Country)\n"
        "      --geo-country-key PATH dotted key of the country code (default country.iso_code)\n"
        "      --geo-region-key PATH  dotted key of the region (default subdivisions.0.iso_code)\n"
        "  -f, --format F             combined (default), vhost_combined, json, or an nginx\n"
        "                             log_format string\n"
        "      --default-host HOST    host for lines whose format has no host (required with\n"
        "                             such a format: combined, or a log_format without $host,\n"
        "                             $http_host or $server_name)\n"
        "  -e, --edge-id ID           this edge's name (default: the hostname)\n"
        "  -s, --state-dir DIR        where read positions are kept between runs\n"
        "      --once                 read every PATH to its end, wait for Kafka, exit\n"
        "      --reject-topic NAME    dead letters (default hits.rejected)\n"
        "      --max-age DURATION     refuse hits older than this (reason timestamp; default\n"
        "                             35d; forms 35d, 24h, 90m, 3600s, 500ms)\n"
        "      --max-ahead DURATION   refuse hits this far ahead of the clock (default 1d)\n"
        "      --watermark-interval MS  between watermarks to every partition (default 1000)\n"
        "      --metrics-interval N   seconds between metrics log lines (default 10, 0 = only\n"
        "                             at exit)\n"
        "      --metrics-listen ADDR:PORT  serve /metrics, /healthz, /readyz (PORT 0: "
        "any)\n" HB_HELP KOPTS_HELP CONFIG_HELP("collector") CLI_LOG_HELP CLI_HELP_HELP
        "\nSignals:\n"
        "  SIGHUP                     re-read the host map (a bad file keeps the old one)\n"
        "  SIGTERM, SIGINT            stop reading; wait up to %d s for Kafka to confirm what\n"
        "                             is queued, then exit 0; a second one stops waiting.\n"
        "                             Positions never pass an unconfirmed line: the next run\n"
        "                             sends it again\n"
        "\nExit status:\n"
        "  0                          stopped by a signal, or --once read everything and Kafka\n"
        "                             confirmed it\n"
        "  1                          a runtime failure (--once: records Kafka did not confirm)\n"
        "  2                          bad usage or configuration (an option, --config, -F, the\n"
        "                             host map, the GeoIP database)\n",
        DELIVER_DRAIN_MS / 1000);
}

static int bad(const char *msg) {
    fprintf(stderr, "collector: %s%s\n", config_where(), msg);
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
    OPT_WMINT,
    OPT_MLISTEN,
    OPT_HEALTH
};

/* A time window bound: a duration above 0 (a window of 0 would refuse every hit). */
static int window_bound(const char *opt, const char *arg, int64_t *out, char *err, size_t n) {
    if (cli_duration_ms(opt, arg, out, err, n) < 0) return -1;
    if (*out > 0) return 0;
    snprintf(err, n, "%s %s: expected a duration above 0, such as 35d, 24h, 90m or 3600s", opt,
             arg);
    return -1;
}

/* The options that take a number or a duration: 0, or -1 with the complaint in err. */
static int parse_value(opts_t *o, int c, const char *arg, char *err, size_t n) {
    long v;
    switch (c) {
    case OPT_MINT:
        if (cli_long("--metrics-interval", arg, 0, 86400, &v, err, n) < 0) return -1;
        o->metrics_interval_s = (int)v;
        return 0;
    case OPT_WMINT:
        if (cli_long("--watermark-interval", arg, 10, 3600000, &v, err, n) < 0) return -1;
        o->wm_interval_ms = v;
        return 0;
    case OPT_MAXAGE:
        return window_bound("--max-age", arg, &o->tswin.past_ms, err, n);
    default:
        return window_bound("--max-ahead", arg, &o->tswin.ahead_ms, err, n);
    }
}

#define SHORTOPTS KOPTS_SHORTOPTS "c:g:f:e:s:v:hV"

static int parse_opts(opts_t *o, int *pargc, char ***pargv, int *first_path) {
    static const struct option longopts[] = {KOPTS_LONGOPTS,
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
                                             {"metrics-listen", 1, 0, OPT_MLISTEN},
                                             {"health-stall", 1, 0, OPT_HEALTH},
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
    if (cli_log_level(NULL, err, sizeof err) < 0) return bad(err); /* -v overrides it */
    if (config_load("collector", pargc, pargv, longopts, SHORTOPTS, NULL, err, sizeof err) < 0)
        return bad(err);
    int argc = *pargc, c;
    char **argv = *pargv;
    opterr = 0;
    while ((c = config_getopt(argc, argv, SHORTOPTS, longopts)) != -1) {
        int k = kopts_parse(&o->kafka, c, optarg, err, sizeof err);
        if (k < 0) return bad(err);
        if (k > 0) continue;
        switch (c) {
        case 'c':
            o->customers = optarg;
            break;
        case 'g':
            o->geoip = optarg;
            break;
        case 'f':
            o->format = optarg;
            break;
        case 'e':
            o->edge = optarg;
            break;
        case 's':
            o->state_dir = optarg;
            break;
        case 'v':
            if (cli_log_level(optarg, err, sizeof err) < 0) return bad(err);
            break;
        case OPT_DEFHOST:
            o->default_host = optarg;
            break;
        case OPT_ONCE:
            o->once = 1;
            break;
        case OPT_REJECT:
            o->reject_topic = optarg;
            break;
        case OPT_GEOC:
            o->geo_country_key = optarg;
            break;
        case OPT_GEOR:
            o->geo_region_key = optarg;
            break;
        case OPT_MLISTEN: {
            char host[256];
            unsigned port;
            if (cli_addr("--metrics-listen", optarg, 1, host, sizeof host, &port, err, sizeof err) <
                0)
                return bad(err);
            o->metrics_listen = optarg;
            break;
        }
        case OPT_HEALTH:
            if (hb_option(optarg, err, sizeof err) < 0) return bad(err);
            break;
        case OPT_MINT:
        case OPT_MAXAGE:
        case OPT_MAXAHEAD:
        case OPT_WMINT:
            if (parse_value(o, c, optarg, err, sizeof err) < 0) return bad(err);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            cli_version("collector");
            exit(0);
        default:
            snprintf(msg, sizeof msg, "unknown or incomplete option '%s' (see --help)",
                     config_optname(argv[optind - 1]));
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

/* Everything main wires together. */
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
    deliver_t dl;
} app_t;

static void on_tail_event(void *ctx, const char *event, const char *path, const char *src,
                          uint64_t off) {
    char qp[1024], qs[1024];
    (void)ctx;
    log_info(event, "path=%s src=%s off=%llu", log_quote(path, qp, sizeof qp),
             log_quote(src, qs, sizeof qs), (unsigned long long)off);
}

static void on_tail_warn(void *ctx, const char *event, const char *path, const char *why) {
    char qp[1024], qw[256];
    (void)ctx;
    log_warn(event, "path=%s err=%s", log_quote(path, qp, sizeof qp),
             log_quote(why, qw, sizeof qw));
}

static void on_settled(void *ctx, const char *src, size_t srclen, int tag) {
    app_t *a = ctx;
    cstats_settled(&a->stats, src, srclen, (proc_reason_t)tag);
}

/* SIGHUP, between two lines: the host map is read again; a bad file keeps the old map. */
static void reload_map(void *ctx) {
    app_t *a = ctx;
    char err[512], q[600];
    hostmap_t *m = hostmap_load(a->o.customers, err, sizeof err);
    if (!m) {
        log_error("host map reload failed: keeping the previous map", "err=%s",
                  log_quote(err, q, sizeof q));
        return;
    }
    hostmap_free(a->map);
    a->map = m;
    a->proc.cfg.map = m;
    log_info("host map reloaded", "hosts=%zu", hostmap_size(m));
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
    /* Without a host a line has no customer: every one would be rejected as unknown_host. */
    if (!format_has_host(a->fmt) && !a->o.default_host)
        return bad("--default-host HOST is required: lines of this --format carry no host "
                   "($host, $http_host or $server_name)");
    proc_cfg_t pc = {a->fmt, a->map, a->geo, a->o.default_host, a->o.edge, a->o.tswin, NULL};
    proc_init(&a->proc, &pc);
    tail_opts_t to = {.paths = (const char *const *)paths,
                      .npaths = npaths,
                      .state_dir = a->o.state_dir,
                      .once = a->o.once,
                      .on_event = on_tail_event,
                      .on_settled = on_settled,
                      .on_warn = on_tail_warn,
                      .event_ctx = a};
    a->tail = tail_new(&to, err, sizeof err);
    if (!a->tail) return bad(err);
    if (!a->o.state_dir && !a->o.once)
        log_warn("no --state-dir: read positions are not kept, a restart reads files again", "%s",
                 "");
    pub_opts_t po = {&a->o.kafka, a->o.reject_topic, a->o.once, deliver_ack, &a->dl};
    a->pub = pub_new(&po, err, sizeof err);
    if (!a->pub) return bad(err);
    a->dl = (deliver_t){.tail = a->tail,
                        .pub = a->pub,
                        .proc = &a->proc,
                        .stats = &a->stats,
                        .wm = &a->wm,
                        .edge = a->o.edge,
                        .once = a->o.once,
                        .metrics_interval_s = a->o.metrics_interval_s,
                        .stop = &cli_stop,
                        .reload = &cli_reload,
                        .on_reload = reload_map,
                        .ctx = a};
    return 0;
}

static void close_stages(app_t *a) {
    pub_free(a->pub);
    tail_free(a->tail);
    format_free(a->fmt);
    geo_close(a->geo);
    hostmap_free(a->map);
}

/* /readyz: the files are open (the server starts after them) and Kafka confirms (cstats.h). */
static int ready(void *ctx, char *why, size_t n) {
    (void)ctx;
    return cstats_ready(why, n);
}

/* The operator's endpoints (--metrics-listen): 0, or 2 for a bad or busy address. */
static int start_http(const opts_t *o, opsd_t **out) {
    char err[1024];
    size_t n;
    metric_t *const *ms = cstats_all(&n);
    opsd_opts_t so = {.listen = o->metrics_listen,
                      .metrics = ms,
                      .nmetrics = n,
                      .ready = ready,
                      .alive = hb_alive};
    *out = opsd_start(&so, err, sizeof err);
    return *out ? 0 : bad(err);
}

int main(int argc, char **argv) {
    static app_t a;
    int first = 0;
    int rc = parse_opts(&a.o, &argc, &argv, &first);
    if (rc) return rc;
    cli_signals_install();
    cstats_init(&a.stats);
    wmk_init(&a.wm, a.o.wm_interval_ms);
    metrics_process_init("collector");
    rc = open_stages(&a, argv + first, argc - first);
    opsd_t *http = NULL;
    if (rc == 0 && a.o.metrics_listen) rc = start_http(&a.o, &http);
    if (rc == 0) {
        log_info("collector started",
                 "edge=%s brokers=%s topic=%s once=%d paths=%d metrics_port=%u", a.o.edge,
                 a.o.kafka.brokers, a.o.kafka.topic, a.o.once, argc - first,
                 http ? opsd_port(http) : 0);
        sdnotify_ready(); /* systemd Type=notify: reading and publishing */
        rc = deliver_run(&a.dl);
        hb_stop(); /* the drain below may wait for Kafka on purpose */
        deliver_drain(&a.dl);
        cstats_update_lag(&a.stats, a.tail);
        cstats_log(&a.stats, "final metrics");
        cstats_log_sources(&a.stats);
        if (a.o.once && (a.dl.failed || pub_outstanding(a.pub))) {
            log_error("some records could not be delivered: their lines stay unconfirmed",
                      "failed=%llu", (unsigned long long)a.dl.failed);
            rc = 1;
        }
    }
    opsd_stop(http);
    close_stages(&a);
    wmk_fini(&a.wm);
    cstats_fini(&a.stats);
    return rc;
}
