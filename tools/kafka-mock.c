/* kafka-mock: librdkafka's mock cluster as a broker process, for tests and the demo.
 *
 * The mock speaks the real Kafka protocol on ephemeral 127.0.0.1 ports and keeps messages in
 * memory only (about 5 MB of batches per partition; older batches are dropped). We create the
 * topics up front with P partitions because the mock also creates, on its own, any topic a
 * client asks metadata for or produces to (whatever allow.auto.create.topics says), and gives
 * those only 4 partitions: pass every topic a test relies on with --topic.
 *
 * The bootstrap list is the first line of stdout, and goes to --bootstrap-file by rename(2), so
 * a reader never sees half a line. SIGINT/SIGTERM stop the cluster (common/cli.h's handlers);
 * SIGHUP does nothing. For chaos tests, SIGUSR1
 * takes every broker down (connections dropped and refused, messages kept) and SIGUSR2 brings
 * them back on the same ports. */
#include "cli.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MOCK_MAX_BROKERS 32
#define MOCK_MAX_PARTITIONS 1024
#define MOCK_MAX_TOPICS 64
#define MOCK_TOPIC_NAME_MAX 249 /* Kafka's own limit */
#define MOCK_TICK_NS 100000000L /* how often the main loop looks at the signal flags */

typedef struct mock_opts {
    int brokers;                         /* --brokers, broker ids 1..N */
    int partitions;                      /* --partitions, of every topic created */
    int ntopics;                         /* 0 until parsed: then the defaults */
    const char *topics[MOCK_MAX_TOPICS]; /* --topic, borrowed from argv */
    const char *bootstrap_file;          /* --bootstrap-file, or NULL */
} mock_opts_t;

/* The chaos signals, indexed by signal number (SIGUSR1 and SIGUSR2 are below 32). */
static volatile sig_atomic_t got_signal[32];

static void on_chaos(int sig) {
    got_signal[sig] = 1;
}

static void usage(void) {
    printf("usage: kafka-mock [options]\n"
           "Runs librdkafka's in-memory mock Kafka cluster on 127.0.0.1, for tests and demos.\n\n"
           "Options:\n"
           "      --brokers N            brokers, 1-%d (default 1)\n"
           "      --partitions P         partitions of each topic, 1-%d (default 16)\n"
           "      --topic NAME           topic to create, repeatable, up to %d (default: hits\n"
           "                             and hits.rejected); names of 1-%d [a-zA-Z0-9._-]\n"
           "      --bootstrap-file FILE  also write the bootstrap list to FILE, "
           "atomically\n" CONFIG_HELP(
               "kafka-mock") "  -v, --log-level LEVEL      debug, info (default), warn, error; "
                             "else $LOG_LEVEL\n"
                             "  -h, --help                 this text\n"
                             "  -V, --version              the version\n"
                             "\nThe bootstrap list is the first line of stdout.\n"
                             "\nSignals:\n"
                             "  SIGUSR1                    take every broker down (messages kept)\n"
                             "  SIGUSR2                    bring them back up\n"
                             "  SIGTERM, SIGINT            stop the cluster (its messages are "
                             "lost), exit 0\n"
                             "\nExit status:\n"
                             "  0                          stopped by a signal\n"
                             "  1                          the cluster could not start\n"
                             "  2                          bad usage\n",
           MOCK_MAX_BROKERS, MOCK_MAX_PARTITIONS, MOCK_MAX_TOPICS, MOCK_TOPIC_NAME_MAX);
}

/* A whole decimal number in [lo, hi] (lo >= 0), or -1. */
static int parse_count(const char *s, long lo, long hi) {
    char err[256];
    long v;
    return cli_long("", s, lo, hi, &v, err, sizeof err) == 0 ? (int)v : -1;
}

/* Kafka's rule: 1-249 of [a-zA-Z0-9._-], and not "." or "..". */
static int topic_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > MOCK_TOPIC_NAME_MAX || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Returns 0 to run, 1 when --help/--version is done, 2 for bad usage (reported in one line). */
static int parse_args(int argc, char **argv, mock_opts_t *o) {
    static const struct option longopts[] = {
        {"brokers", 1, 0, 'b'},   {"partitions", 1, 0, 'p'},
        {"topic", 1, 0, 't'},     {"bootstrap-file", 1, 0, 'f'},
        {"log-level", 1, 0, 'v'}, {"help", 0, 0, 'h'},
        {"version", 0, 0, 'V'},   {0, 0, 0, 0}};
    *o = (mock_opts_t){.brokers = 1, .partitions = 16};
    opterr = 0; /* we name the option at fault ourselves */
    int c, li = 0;
    char err[256];
    if (cli_log_level(NULL, err, sizeof err) < 0) { /* -v overrides it */
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 2;
    }
    if (config_load("kafka-mock", &argc, &argv, longopts, ":v:hV", NULL, err, sizeof err) < 0) {
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 2;
    }
    while ((c = config_getopt_li(argc, argv, ":v:hV", longopts, &li)) != -1) {
        if (c == 'v' && cli_log_level(optarg, err, sizeof err) < 0) {
            fprintf(stderr, "kafka-mock: %s\n", err);
            return 2;
        }
        if (c == 'b' && (o->brokers = parse_count(optarg, 1, MOCK_MAX_BROKERS)) < 0) goto bad;
        if (c == 'p' && (o->partitions = parse_count(optarg, 1, MOCK_MAX_PARTITIONS)) < 0) goto bad;
        if (c == 't' && (!topic_name_ok(optarg) || o->ntopics == MOCK_MAX_TOPICS)) goto bad;
        if (c == 't') o->topics[o->ntopics++] = optarg;
        if (c == 'f' && !*optarg) goto bad;
        if (c == 'f') o->bootstrap_file = optarg;
        if (c == 'h') usage();
        if (c == 'V') cli_version("kafka-mock");
        if (c == 'h' || c == 'V') return 1;
        if (c == '?' || c == ':') {
            fprintf(stderr, "kafka-mock: %s option %s (see --help)\n",
                    c == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kafka-mock: unexpected argument %s (see --help)\n", argv[optind]);
        return 2;
    }
    if (o->ntopics == 0) {
        o->topics[o->ntopics++] = "hits";
        o->topics[o->ntopics++] = "hits.rejected";
    }
    return 0;
bad:
    fprintf(stderr, "kafka-mock: %sbad value for --%s: '%s' (see --help)\n", config_where(),
            longopts[li].name, optarg);
    return 2;
}

/* Writes line to path through a temporary file and rename(2): a reader polling for the file
 * sees nothing or all of it. */
static int write_atomically(const char *path, const char *line, char *err, size_t errlen) {
    char tmp[4096];
    FILE *f = NULL;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    int ok = (f = fopen(tmp, "w")) != NULL;
    ok = ok && fprintf(f, "%s\n", line) > 0;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) == 0) return 0;
    snprintf(err, errlen, "%s", strerror(errno));
    unlink(tmp);
    return -1;
}

/* Sleeps until SIGINT/SIGTERM, acting on the chaos signals between naps. */
static void run_until_stopped(rd_kafka_mock_cluster_t *mc) {
    const struct timespec tick = {0, MOCK_TICK_NS};
    while (!cli_stop) {
        nanosleep(&tick, NULL);
        if (got_signal[SIGUSR1]) {
            got_signal[SIGUSR1] = 0;
            rd_kafka_mock_broker_set_down(mc, -1);
            log_warn("brokers down", "signal=%s", "SIGUSR1");
        }
        if (got_signal[SIGUSR2]) {
            got_signal[SIGUSR2] = 0;
            rd_kafka_mock_broker_set_up(mc, -1);
            log_info("brokers up", "signal=%s", "SIGUSR2");
        }
    }
}

/* librdkafka's own log lines, as logfmt lines of log.h (syslog levels: 0-3 error, 4 warning).
 * CONFWARN only says that the hosting handle has no bootstrap.servers, which is on purpose. */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    char q[1024];
    (void)rk;
    log_level_t l = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : LOG_INFO;
    if (level >= 7 || !strcmp(fac, "CONFWARN")) l = LOG_DEBUG;
    log_msg(l, "librdkafka", "fac=%s detail=%s", fac, log_quote(buf, q, sizeof q));
}

/* A handle that hosts the cluster (the cluster's threads are its threads), with the topics
 * created; NULL with err on failure. The handle has no bootstrap.servers, so it never connects
 * to the brokers itself (with test.mock.num.brokers it would, and log every refused connection
 * while the brokers are down). */
static rd_kafka_t *mock_start(const mock_opts_t *o, rd_kafka_mock_cluster_t **mcp, char *err,
                              size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!rk) return NULL; /* conf was freed by rd_kafka_new */
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, o->brokers);
    if (!mc) {
        snprintf(err, errlen, "rd_kafka_mock_cluster_new failed with %d brokers", o->brokers);
        goto fail;
    }
    for (int i = 0; i < o->ntopics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, o->topics[i], o->partitions, 1);
        if (e) {
            snprintf(err, errlen, "topic %s: %s", o->topics[i], rd_kafka_err2str(e));
            goto fail;
        }
    }
    *mcp = mc;
    return rk;
fail:
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return NULL;
}

int main(int argc, char **argv) {
    mock_opts_t o;
    char err[512], q[512], q2[512];
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : 2;

    cli_signals_install(); /* no SA_RESTART, here too: nanosleep wakes early */
    struct sigaction sa = {.sa_handler = on_chaos};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    rd_kafka_mock_cluster_t *mc = NULL;
    rd_kafka_t *rk = mock_start(&o, &mc, err, sizeof err);
    if (!rk) {
        log_error("cannot start the mock cluster", "err=%s", log_quote(err, q, sizeof q));
        return 1;
    }
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    rc = 1;
    if (o.bootstrap_file && write_atomically(o.bootstrap_file, boot, err, sizeof err) < 0) {
        log_error("cannot write bootstrap file", "path=%s err=%s",
                  log_quote(o.bootstrap_file, q, sizeof q), log_quote(err, q2, sizeof q2));
        goto out;
    }
    printf("%s\n", boot);
    fflush(stdout);
    log_info("mock cluster up", "bootstrap=%s brokers=%d partitions=%d topics=%d", boot, o.brokers,
             o.partitions, o.ntopics);
    run_until_stopped(mc);
    log_info("mock cluster stopping", "bootstrap=%s", boot);
    rc = 0;
out:
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
