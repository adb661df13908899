/* aggregator: live per-customer windows of the last minute of hits, for the dashboard.
 *
 *   feed (every partition of `hits`, from now - 65 s) -> window (1-second buckets)
 *                                                        -> wmstate (edge watermarks)
 *     -> api (HTTP: /v1/customers/{customer}/window, /metrics, /readyz, the page)
 *
 * main only reads options, wires the stages and runs the consumer's loop on this thread; the
 * HTTP server answers on its own threads. */
#include "astats.h"
#include "api.h"
#include "cli.h"
#include "config.h"
#include "clock.h"
#include "feed.h"
#include "kafka.h"
#include "heartbeat.h"
#include "log.h"
#include "opsd.h"
#include "sdnotify.h"
#include "window.h"
#include "xff.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define INSTANCE_MAX 255

/* The consumer, once created, for /readyz (asked on the HTTP threads). */
static _Atomic(feed_t *) consumer;

static int ready(void *ctx) {
    (void)ctx;
    feed_t *c = atomic_load(&consumer);
    return c && feed_ready(c);
}

/* /readyz on the operator's address: the same rule as the API's. */
static int ops_ready(void *ctx, char *why, size_t n) {
    if (ready(ctx)) return 1;
    snprintf(why, n, "catching up: reading the last minute of the hits topic");
    return 0;
}

typedef struct opts {
    kopts_t kafka;
    const char *group, *listen, *tokens, *instance;
    const char *metrics_listen; /* --metrics-listen: the operator's address, or NULL */
    int metrics_interval_s;
    unsigned rate_per_s;
    unsigned max_keys;  /* --max-keys-per-customer */
    xff_nets_t trusted; /* --trusted-proxy (default none) */
} opts_t;

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: aggregator [options] --tokens FILE\n"
        "Serves each customer's window of the last minute of hits over HTTP, with a dashboard.\n\n"
        "Options:\n"
        "  -T, --tokens FILE          CUSTOMER_ID SHA256_HEX per line; '*' an operator token\n"
        "                             (re-read on SIGHUP)\n"
        "  -l, --listen ADDR:PORT     HTTP address (default " DEFAULT_LISTEN "); [::]:PORT\n"
        "                             for every address, PORT 0 for any free port\n"
        "  -G, --group GROUP          the Kafka group.id the client names itself with\n"
        "                             (default " FEED_DEFAULT_GROUP "). No group is joined:\n"
        "                             every instance reads every partition, so any instance\n"
        "                             answers any customer and a restart is exact in seconds\n"
        "      --instance-id ID       this instance's name: Kafka client.id and the\n"
        "                             aggregator_info metric (default: the host name)\n"
        "      --rate N               requests per second per client address (default %d)\n"
        "      --trusted-proxy CIDR[,CIDR...]  peers that are proxies (default none): for\n"
        "                             them the client address is the last one of\n"
        "                             X-Forwarded-For not itself trusted; from anyone\n"
        "                             else the header is ignored\n"
        "      --metrics-listen ADDR:PORT  /metrics, /healthz, /readyz on a second address\n"
        "      --metrics-interval N   seconds between metrics log lines (default 10, 0 = only\n"
        "                             at exit)\n"
        "      --max-keys-per-customer N  (country, region) keys a customer's window holds\n"
        "                             (default %d, 1..%d); hits of further keys count in\n"
        "                             their country's row \"(other)\"\n" HB_HELP KOPTS_HELP
            CONFIG_HELP("aggregator") CLI_LOG_HELP CLI_HELP_HELP
        "\nWindows are by event time, in one-second buckets. Hits older than the window when\n"
        "read, or more than %d s ahead of the clock, are counted\n"
        "(aggregator_hits_late_total, aggregator_hits_future_total) and not kept. Every\n"
        "window says up to when it is complete (complete_to_ms, from the edges'\n"
        "watermarks), which edges are behind (edges_behind) and whether this instance is\n"
        "still reading the last minute back (catching_up; /readyz is 503 meanwhile).\n"
        "\nSignals:\n"
        "  SIGHUP                     re-read the tokens file (a bad file keeps the old set)\n"
        "  SIGTERM, SIGINT            stop serving and consuming, exit 0\n"
        "\nExit status:\n"
        "  0                          stopped by a signal\n"
        "  1                          a runtime failure (Kafka, out of memory)\n"
        "  2                          bad usage or configuration (an option, --config, -F,\n"
        "                             the tokens file, an address it cannot listen on)\n",
        API_RATE_DEFAULT, WIN_KEYS_PER_CUSTOMER_DEFAULT, WIN_KEYS_PER_CUSTOMER_MAX, WIN_FUTURE_S);
}

static int bad(const char *msg) {
    fprintf(stderr, "aggregator: %s%s\n", config_where(), msg);
    return 2;
}

enum { OPT_MINT = 256, OPT_RATE, OPT_INSTANCE, OPT_MLISTEN, OPT_HEALTH, OPT_MAXKEYS, OPT_TRUSTED };

#define SHORTOPTS KOPTS_SHORTOPTS "G:l:T:v:hV"

static int parse_opts(opts_t *o, int argc, char **argv) {
    static const struct option longopts[] = {KOPTS_LONGOPTS,
                                             {"group", 1, 0, 'G'},
                                             {"listen", 1, 0, 'l'},
                                             {"tokens", 1, 0, 'T'},
                                             {"rate", 1, 0, OPT_RATE},
                                             {"metrics-interval", 1, 0, OPT_MINT},
                                             {"log-level", 1, 0, 'v'},
                                             {"help", 0, 0, 'h'},
                                             {"version", 0, 0, 'V'},
                                             {"instance-id", 1, 0, OPT_INSTANCE},
                                             {"metrics-listen", 1, 0, OPT_MLISTEN},
                                             {"health-stall", 1, 0, OPT_HEALTH},
                                             {"max-keys-per-customer", 1, 0, OPT_MAXKEYS},
                                             {"trusted-proxy", 1, 0, OPT_TRUSTED},
                                             {0, 0, 0, 0}};
    char err[512], msg[600], host[256];
    unsigned port;
    long v;
    memset(o, 0, sizeof *o);
    kopts_init(&o->kafka);
    o->group = FEED_DEFAULT_GROUP;
    o->listen = DEFAULT_LISTEN;
    o->metrics_interval_s = 10;
    o->max_keys = WIN_KEYS_PER_CUSTOMER_DEFAULT;
    if (cli_log_level(NULL, err, sizeof err) < 0) return bad(err); /* -v overrides it */
    if (config_load("aggregator", &argc, &argv, longopts, SHORTOPTS, NULL, err, sizeof err) < 0)
        return bad(err);
    opterr = 0;
    int c;
    while ((c = config_getopt(argc, argv, SHORTOPTS, longopts)) != -1) {
        int k = kopts_parse(&o->kafka, c, optarg, err, sizeof err);
        if (k < 0) return bad(err);
        if (k > 0) continue;
        switch (c) {
        case 'G':
            if (!*optarg) return bad("--group: empty group name");
            o->group = optarg;
            break;
        case OPT_INSTANCE:
            if (!*optarg || strlen(optarg) > INSTANCE_MAX)
                return bad("--instance-id: expected 1 to 255 characters");
            o->instance = optarg;
            break;
        case 'l':
            if (cli_addr("--listen", optarg, 1, host, sizeof host, &port, err, sizeof err) < 0)
                return bad(err);
            o->listen = optarg;
            break;
        case 'T':
            o->tokens = optarg;
            break;
        case OPT_MLISTEN:
            if (cli_addr("--metrics-listen", optarg, 1, host, sizeof host, &port, err, sizeof err) <
                0)
                return bad(err);
            o->metrics_listen = optarg;
            break;
        case OPT_RATE:
            if (cli_long("--rate", optarg, 0, 1000000, &v, err, sizeof err) < 0) return bad(err);
            o->rate_per_s = (unsigned)v;
            break;
        case OPT_TRUSTED:
            if (xff_parse_nets(optarg, &o->trusted, err, sizeof err) < 0) return bad(err);
            break;
        case OPT_HEALTH:
            if (hb_option(optarg, err, sizeof err) < 0) return bad(err);
            break;
        case OPT_MAXKEYS:
            if (cli_long("--max-keys-per-customer", optarg, 1, WIN_KEYS_PER_CUSTOMER_MAX, &v, err,
                         sizeof err) < 0)
                return bad(err);
            o->max_keys = (unsigned)v;
            break;
        case OPT_MINT:
            if (cli_long("--metrics-interval", optarg, 0, 86400, &v, err, sizeof err) < 0)
                return bad(err);
            o->metrics_interval_s = (int)v;
            break;
        case 'v':
            if (cli_log_level(optarg, err, sizeof err) < 0) return bad(err);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            cli_version("aggregator");
            exit(0);
        default:
            snprintf(msg, sizeof msg, "unknown or incomplete option '%s' (see --help)",
                     config_optname(argv[optind - 1]));
            return bad(msg);
        }
    }
    if (optind < argc) {
        snprintf(msg, sizeof msg, "unexpected argument '%s' (see --help)", argv[optind]);
        return bad(msg);
    }
    if (!o->tokens) return bad("--tokens FILE is required (who may read which windows)");
    return 0;
}

/* Runs on the consumer's thread between batches: SIGHUP re-reads the tokens. */
static void on_tick(void *ctx) {
    api_t *api = ctx;
    char err[1024], q[1100];
    hb_beat(); /* /healthz: the consumer's loop turns (every poll, <= its POLL_MS) */
    if (!cli_reload) return;
    cli_reload = 0;
    if (api_reload_tokens(api, err, sizeof err) < 0)
        log_error("tokens not reloaded: the previous set stays", "err=%s",
                  log_quote(err, q, sizeof q));
    else
        log_info("tokens reloaded", "%s", "");
}

/* The instance name (--instance-id, else the host name) and aggregator_info's label. */
static void set_instance(opts_t *o) {
    static char host[INSTANCE_MAX + 1], info[INSTANCE_MAX * 2 + 16];
    if (!o->instance) {
        if (gethostname(host, sizeof host) < 0 || !host[0])
            snprintf(host, sizeof host, "aggregator");
        host[sizeof host - 1] = 0;
        o->instance = host;
    }
    size_t k = (size_t)snprintf(info, sizeof info, "instance=\""); /* escaped as Prometheus wants */
    for (const char *p = o->instance; *p && k + 4 < sizeof info; p++) {
        if (*p == '\\' || *p == '"') info[k++] = '\\';
        info[k++] = *p == '\n' ? ' ' : *p;
    }
    snprintf(info + k, sizeof info - k, "\"");
    astats_info.labels = info;
    metric_set(&astats_info, 1);
}

/* /metrics: wmstate's per-edge gauges after the program's metrics. */
static size_t edge_metrics(void *ctx, char *buf, size_t cap) {
    return wms_metrics(ctx, clock_wall_ms(), metric_get(&astats_catchup_ms), buf, cap, NULL);
}

static int status(void *ctx, const char *customer, int64_t now_ms, int64_t from_ms, int64_t end_ms,
                  wms_status_t *out) {
    feed_t *c = atomic_load(&consumer);
    if (c) return feed_status(c, customer, now_ms, from_ms, end_ms, out);
    return wms_status(ctx, -1, now_ms, from_ms, end_ms, out); /* nothing read: catching up */
}

/* The operator's address (--metrics-listen): the same /metrics as the API's, and /readyz. */
static opsd_t *start_ops(const char *listen, wms_t *wms, char *err, size_t errlen) {
    opsd_opts_t so = {.listen = listen,
                      .metrics = astats_all,
                      .nmetrics = astats_count,
                      .more = api_metrics,
                      .nmore = api_nmetrics,
                      .extra = edge_metrics,
                      .extra_ctx = wms,
                      .ready = ops_ready,
                      .alive = hb_alive};
    return opsd_start(&so, err, errlen);
}

int main(int argc, char **argv) {
    opts_t o;
    char err[1024], q[1100];
    int rc = parse_opts(&o, argc, argv);
    if (rc) return rc;
    set_instance(&o);
    metrics_process_init("aggregator");
    cli_signals_install();

    win_t *win = win_new();
    wms_t *wms = wms_new();
    /* the per-minute view starts with what the feed reads back (feed.h) */
    cv_t *cv = cv_new(clock_wall_ms() - (WIN_SECONDS + FEED_SEEK_SLACK_S) * 1000LL);
    feed_t *cons = NULL;
    api_t *api = NULL;
    opsd_t *ops = NULL;
    if (!win || !wms || !cv) {
        log_error("out of memory", "%s", "");
        return 1;
    }
    win_set_key_cap(win, o.max_keys);
    /* The server first: a bad tokens file or address is refused before any Kafka client
     * connects. /readyz answers 503 until the consumer exists and has caught up. */
    api_opts_t ao = {.listen = o.listen,
                     .tokens_path = o.tokens,
                     .win = win,
                     .cv = cv,
                     .metrics = astats_all,
                     .nmetrics = astats_count,
                     .ready = ready,
                     .ready_ctx = NULL,
                     .rate_per_s = o.rate_per_s,
                     .trusted = &o.trusted,
                     .status = status,
                     .status_ctx = wms,
                     .extra_metrics = edge_metrics,
                     .extra_ctx = wms};
    api = api_start(&ao, err, sizeof err);
    if (!api) {
        fprintf(stderr, "aggregator: %s\n", err);
        rc = 2;
        goto out;
    }
    if (o.metrics_listen && !(ops = start_ops(o.metrics_listen, wms, err, sizeof err))) {
        fprintf(stderr, "aggregator: %s\n", err);
        rc = 2;
        goto out;
    }
    feed_opts_t co = {.kafka = &o.kafka,
                      .group = o.group,
                      .instance = o.instance,
                      .win = win,
                      .cv = cv,
                      .wms = wms,
                      .metrics_interval_s = o.metrics_interval_s,
                      .log_metrics = api_metrics,
                      .nlog_metrics = api_nmetrics,
                      .stop = &cli_stop};
    cons = feed_new(&co, err, sizeof err);
    if (!cons) {
        fprintf(stderr, "aggregator: %s\n", err);
        rc = 2;
        goto out;
    }
    atomic_store(&consumer, cons);
    log_info("aggregator started",
             "version=\"aggregator %s\" listen=%s port=%u metrics_port=%u instance=%s group=%s "
             "topic=%s brokers=%s",
             CDN_VERSION, log_quote(o.listen, q, sizeof q), api_port(api), ops ? opsd_port(ops) : 0,
             o.instance, o.group, o.kafka.topic, o.kafka.brokers);
    sdnotify_ready(); /* systemd Type=notify: serving HTTP (/readyz says when caught up) */
    rc = feed_run(cons, on_tick, api);
    hb_stop();
    log_info("aggregator stopping", "rc=%d", rc);
out:
    opsd_stop(ops);
    api_stop(api); /* no request reads the windows (or asks ready) after this */
    feed_free(cons);
    win_free(win);
    cv_free(cv);
    wms_free(wms);
    return rc;
}
