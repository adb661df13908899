/* loggen: writes realistic CDN edge access logs, live or as a fixed batch with known totals.
 *
 * Several demo customers with their hosts, client IPs drawn from the test geo database's
 * networks with a skewed (Zipf) mix of countries and regions, object sizes from small images to
 * video segments, statuses and cache results. Lines are written at --rate per second to --out,
 * which is rotated every --rotate-every lines by rename (access.log -> access.log.1, a new
 * access.log) or by copytruncate, as logrotate would. With --lines N it writes exactly N lines
 * and, with --truth FILE, the totals a correct pipeline must arrive at, computed here
 * independently of the collector. */
#include "cli.h"
#include "config.h"
#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loggen_model.h"

typedef struct opts {
    const char *out, *truth, *networks, *rotate_mode;
    double rate;           /* lines per second; 0 = as fast as possible */
    uint64_t lines;        /* 0 = until --duration or a signal */
    int64_t duration_ms;   /* 0 = no limit */
    uint64_t rotate_every; /* lines between rotations; 0 = never */
    double bad_ratio;      /* share of lines for unknown hosts (rejected by the collector) */
    uint64_t seed;
    int print_hosts;
} opts_t;

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: loggen [options]\n"
        "Writes synthetic CDN access-log lines, for tests, benchmarks and demos.\n\n"
        "Options:\n"
        "  -o, --out FILE             log file (default access.log; - for stdout)\n"
        "  -r, --rate N               lines per second (default 1000; 0 = as fast as possible)\n"
        "  -n, --lines N              write exactly N lines, then exit\n"
        "  -d, --duration D           stop after D (seconds, or 500ms, 90s, 15m, 2h)\n"
        "      --rotate-every N       rotate the file every N lines\n"
        "      --rotate-mode M        rename, copytruncate, or both (alternating; default\n"
        "                             rename)\n"
        "      --truth FILE           write the totals of what was written as JSON\n"
        "      --networks FILE        client networks (default tests/data/geo-networks.tsv)\n"
        "      --bad-ratio F          share of lines for hosts no customer owns (default 0)\n"
        "      --seed N               random seed (default: time)\n"
        "      --print-hosts          print the host map of the demo customers and "
        "exit\n" CONFIG_HELP(
            "loggen") "  -v, --log-level LEVEL      debug, info (default), warn, error; else "
                      "$LOG_LEVEL\n"
                      "  -h, --help                 this text\n"
                      "  -V, --version              the version\n"
                      "\nThe lines are in the nginx log_format\n  %s\n"
                      "\nSignals:\n"
                      "  SIGTERM, SIGINT            stop writing (--truth is written), exit 0\n"
                      "\nExit status:\n"
                      "  0                          done, or stopped by a signal\n"
                      "  1                          a runtime failure (cannot write)\n"
                      "  2                          bad usage\n",
        LOGGEN_FORMAT);
}

static int bad(const char *msg) {
    fprintf(stderr, "loggen: %s%s\n", config_where(), msg);
    return 2;
}

/* A fraction or rate (the only options that are not whole numbers): a decimal in [lo, hi]. */
static int parse_real(const char *opt, const char *s, double lo, double hi, double *out, char *err,
                      size_t errlen) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        snprintf(err, errlen, "%s %s: expected a number from %g to %g", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* The options with a value to check: 0, or -1 with the complaint in err. */
static int parse_value(opts_t *o, int c, const char *arg, char *err, size_t n) {
    long v = 0;
    int rc;
    switch (c) {
    case 'r':
        return parse_real("--rate", arg, 0, 1e8, &o->rate, err, n);
    case 'B':
        return parse_real("--bad-ratio", arg, 0, 1, &o->bad_ratio, err, n);
    case 'd':
        return cli_duration_ms("--duration", arg, &o->duration_ms, err, n);
    case 'v':
        return cli_log_level(arg, err, n);
    case 'n':
        rc = cli_long("--lines", arg, 1, 1000000000000L, &v, err, n);
        o->lines = (uint64_t)v;
        return rc;
    case 'R':
        rc = cli_long("--rotate-every", arg, 1, 1000000000000L, &v, err, n);
        o->rotate_every = (uint64_t)v;
        return rc;
    case 'S':
        rc = cli_long("--seed", arg, 0, LONG_MAX, &v, err, n);
        o->seed = (uint64_t)v;
        return rc;
    default:
        if (strcmp(arg, "rename") && strcmp(arg, "copytruncate") && strcmp(arg, "both")) {
            snprintf(err, n, "--rotate-mode %s: expected rename, copytruncate or both", arg);
            return -1;
        }
        o->rotate_mode = arg;
        return 0;
    }
}

static int parse_opts(opts_t *o, int argc, char **argv) {
    static const struct option lo[] = {
        {"out", 1, 0, 'o'},      {"rate", 1, 0, 'r'},         {"lines", 1, 0, 'n'},
        {"duration", 1, 0, 'd'}, {"rotate-every", 1, 0, 'R'}, {"rotate-mode", 1, 0, 'M'},
        {"truth", 1, 0, 'T'},    {"networks", 1, 0, 'N'},     {"bad-ratio", 1, 0, 'B'},
        {"seed", 1, 0, 'S'},     {"print-hosts", 0, 0, 'P'},  {"log-level", 1, 0, 'v'},
        {"help", 0, 0, 'h'},     {"version", 0, 0, 'V'},      {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->out = "access.log";
    o->rate = 1000;
    o->rotate_mode = "rename";
    o->networks = "tests/data/geo-networks.tsv";
    o->seed = (uint64_t)clock_wall_ms() ^ ((uint64_t)getpid() << 32);
    opterr = 0;
    int c;
    char err[512];
    if (cli_log_level(NULL, err, sizeof err) < 0) return bad(err); /* -v overrides it */
    if (config_load("loggen", &argc, &argv, lo, "o:r:n:d:v:hV", NULL, err, sizeof err) < 0)
        return bad(err);
    while ((c = config_getopt(argc, argv, "o:r:n:d:v:hV", lo)) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'T':
            o->truth = optarg;
            break;
        case 'N':
            o->networks = optarg;
            break;
        case 'P':
            o->print_hosts = 1;
            break;
        case 'r':
        case 'n':
        case 'd':
        case 'R':
        case 'M':
        case 'B':
        case 'S':
        case 'v':
            if (parse_value(o, c, optarg, err, sizeof err) < 0) return bad(err);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            cli_version("loggen");
            exit(0);
        default:
            fprintf(stderr, "loggen: unknown or incomplete option '%s' (see --help)\n",
                    config_optname(argv[optind - 1]));
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loggen: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (strcmp(o->out, "-") == 0 && o->rotate_every) {
        fprintf(stderr, "loggen: --rotate-every needs a file, not stdout\n");
        return 2;
    }
    return 0;
}

/* Rotation as logrotate does it. rename: the writer's file moves to .1 (older .1 to .2, ...
 * keeping 3) and writing goes on in a new file. copytruncate: the content is copied to .1 and the
 * file truncated in place. */
static FILE *rotate(FILE *f, const char *path, int copytruncate) {
    char a[4096], b[4096];
    fflush(f);
    for (int i = 3; i >= 1; i--) {
        snprintf(a, sizeof a, "%s.%d", path, i);
        snprintf(b, sizeof b, "%s.%d", path, i + 1);
        rename(a, b);
    }
    snprintf(a, sizeof a, "%s.1", path);
    if (!copytruncate) {
        fclose(f);
        rename(path, a);
        return fopen(path, "a");
    }
    FILE *in = fopen(path, "r"), *out = fopen(a, "w");
    char buf[1 << 16];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
    if (ftruncate(fileno(f), 0) != 0) perror("loggen: ftruncate");
    return f; /* opened with "a": the next write lands at the new end, offset 0 */
}

int main(int argc, char **argv) {
    opts_t o;
    int rc = parse_opts(&o, argc, argv);
    if (rc) return rc;
    if (o.print_hosts) {
        model_print_hosts(stdout);
        return 0;
    }
    model_t *m = model_new(o.networks, o.seed, o.bad_ratio);
    if (!m) {
        fprintf(stderr, "loggen: cannot read networks from %s: %s\n", o.networks, strerror(errno));
        return 2;
    }
    cli_signals_install();
    FILE *f = strcmp(o.out, "-") == 0 ? stdout : fopen(o.out, "a");
    if (!f) {
        fprintf(stderr, "loggen: cannot open %s: %s\n", o.out, strerror(errno));
        model_free(m);
        return 2;
    }
    /* Whole milliseconds of lines in one write (the pacing below flushes every millisecond):
     * at 200k lines/s the 4 KB default made 10k writes a second. */
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    int64_t start = clock_mono_ms();
    uint64_t written = 0, rotations = 0;
    char line[2048];
    while (!cli_stop && (!o.lines || written < o.lines)) {
        int64_t elapsed_ms = clock_mono_ms() - start;
        double elapsed = (double)elapsed_ms / 1000.0;
        if (o.duration_ms && elapsed_ms >= o.duration_ms) break;
        if (o.rate > 0) {
            /* Pace in small steps: write what is due, then sleep a millisecond. */
            uint64_t due = (uint64_t)(elapsed * o.rate) + 1;
            if (written >= due) {
                fflush(f);
                usleep(1000);
                continue;
            }
        }
        size_t n = model_line(m, clock_wall_ms(), line, sizeof line);
        fwrite(line, 1, n, f);
        written++;
        if (o.rotate_every && written % o.rotate_every == 0) {
            int ct = strcmp(o.rotate_mode, "copytruncate") == 0 ||
                     (strcmp(o.rotate_mode, "both") == 0 && rotations % 2 == 1);
            f = rotate(f, o.out, ct);
            rotations++;
            if (!f) {
                fprintf(stderr, "loggen: cannot reopen %s: %s\n", o.out, strerror(errno));
                model_free(m);
                return 1;
            }
        }
    }
    fflush(f);
    if (f != stdout) fclose(f);
    if (o.truth && model_write_truth(m, o.truth) < 0) {
        fprintf(stderr, "loggen: cannot write %s: %s\n", o.truth, strerror(errno));
        model_free(m);
        return 1;
    }
    log_info("loggen done", "lines=%" PRIu64 " rotations=%" PRIu64, written, rotations);
    model_free(m);
    return 0;
}
