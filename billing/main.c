/* billing: byte totals in PostgreSQL, exactly once, and monthly invoices.
 *
 *   billing migrate   schema/NNN_name.sql -> PostgreSQL, each once, in order (migrate.c)
 *   billing run       Kafka `hits` -> meter -> rollup -> store: usage_hourly (meter.c)
 *   billing hosts     customer_hosts -> the collector's host map (hosts.c)
 *   billing invoice   usage_hourly + plans -> invoices (invoice.c)
 *   billing usage     usage_hourly -> one customer's exact sums over dates (usage.c)
 *   billing status    edges' watermarks, edge months, rejects -> how far billing is (status.c)
 *   billing edges     retire edges that will never report again (status.c)
 *
 * main only reads options, wires the stages and runs them. */
#include "bstats.h"
#include "cli.h"
#include "config.h"
#include "meter.h"
#include "meter_int.h" /* SHUTDOWN_FLUSH_MS, for --help */
#include "heartbeat.h"
#include "hosts.h"
#include "invoice.h"
#include "kafka.h"
#include "log.h"
#include "opsd.h"
#include "owner.h"
#include "migrate.h"
#include "offsets.h"
#include "sdnotify.h"
#include "status.h"
#include "usage.h"
#include "store.h"
#include "bcmd.h"
#include "bhelp.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int bad(const char *cmd, const char *msg) {
    return bcmd_bad(cmd, msg);
}

/* A whole number in [lo, hi] for option name, or -1 (reported). */
static long number(const char *cmd, const char *name, const char *s, long lo, long hi) {
    char msg[256];
    long v;
    if (cli_long(name, s, lo, hi, &v, msg, sizeof msg) == 0) return v;
    bad(cmd, msg);
    return -1;
}

static int check_db(const char *cmd, const char *conninfo) {
    char msg[600];
    return store_check_conninfo(conninfo, msg, sizeof msg) < 0 ? bad(cmd, msg) : 0;
}

static int set_level(const char *cmd, const char *arg) {
    char msg[256];
    return cli_log_level(arg, msg, sizeof msg) < 0 ? bad(cmd, msg) : 0;
}

/* ---- billing migrate ------------------------------------------------------------------------ */

static void on_migration(void *ctx, const migration_t *m, migrate_status_t st) {
    (void)ctx;
    if (st == MIGRATE_APPLIED) printf("applied %s\n", m->file);
    if (st == MIGRATE_CHANGED)
        log_warn("migration changed since it was applied: not applied again (add a new one)",
                 "file=%s", m->file);
}

static int cmd_migrate(int argc, char **argv) {
    static const struct option lo[] = {{"db", 1, 0, 'd'},        {"schema", 1, 0, 's'},
                                       {"log-level", 1, 0, 'v'}, {"help", 0, 0, 'h'},
                                       {"version", 0, 0, 'V'},   {0, 0, 0, 0}};
    static const char *const also[] = BHELP_KEYS;
    const char *db = NULL, *schema = NULL;
    char dir[PATH_MAX], err[1024], q[1100];
    int c;
    if (config_load("billing/migrate", &argc, &argv, lo, "v:hV", also, err, sizeof err) < 0)
        return bad("migrate", err);
    opterr = 0;
    while ((c = config_getopt(argc, argv, "v:hV", lo)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 's':
            schema = optarg;
            break;
        case 'v':
            if (set_level("migrate", optarg)) return 2;
            break;
        case 'h':
            printf("usage: billing migrate [options]\n"
                   "Applies the schema migrations (NNN_name.sql) not applied yet, in order.\n\n"
                   "Options:\n"
                   "      --schema DIR           the migrations (default $" MIGRATE_DIR_ENV
                   ", else ./schema,\n"
                   "                             else ../schema beside the program,\n"
                   "                             else " MIGRATE_SYSTEM_DIR
                   ")\n" BHELP_DB BHELP_COMMON
                   "\nEach migration runs in its own transaction; running it again does nothing.\n"
                   "Connect as the owner of the schema (it creates tables and the billing_writer\n"
                   "and billing_reader roles).\n" BHELP_ONESHOT);
            return 0;
        case 'V':
            cli_version("billing");
            return 0;
        default:
            return bcmd_opt("migrate", c, argv);
        }
    }
    if (optind < argc) return bad("migrate", "unexpected argument (see billing migrate --help)");
    db = store_conninfo(db);
    if (check_db("migrate", db)) return 2;
    if (migrate_find_dir(schema, dir, sizeof dir, err, sizeof err) < 0) return bad("migrate", err);
    PGconn *conn = store_connect(db, "billing migrate", NULL, err, sizeof err);
    if (!conn) {
        log_error("cannot connect", "err=%s", log_quote(err, q, sizeof q));
        return owner_config_error(err) ? 2 : 1; /* no such database, role, password: 2 */
    }
    int n = migrate_apply(conn, dir, on_migration, NULL, err, sizeof err);
    PQfinish(conn);
    if (n < 0) {
        log_error("migration failed: nothing of it was applied", "err=%s",
                  log_quote(err, q, sizeof q));
        return 1;
    }
    printf("%d migration(s) applied from %s\n", n, dir);
    return 0;
}

/* ---- billing hosts -------------------------------------------------------------------------- */

static void host_skipped(void *ctx, const char *host, const char *why) {
    char q[600];
    (void)ctx;
    log_warn("host left out of the map: the collector would refuse it (and the whole map)",
             "host=%s why=\"%s\"", log_quote(host, q, sizeof q), why);
}

static int cmd_hosts(int argc, char **argv) {
    static const struct option lo[] = {{"db", 1, 0, 'd'},        {"role", 1, 0, 'r'},
                                       {"log-level", 1, 0, 'v'}, {"help", 0, 0, 'h'},
                                       {"version", 0, 0, 'V'},   {0, 0, 0, 0}};
    static const char *const also[] = BHELP_KEYS;
    const char *db = NULL, *role = STORE_READER_ROLE;
    char err[1024], q[1100];
    int c;
    if (config_load("billing/hosts", &argc, &argv, lo, "v:hV", also, err, sizeof err) < 0)
        return bad("hosts", err);
    opterr = 0;
    while ((c = config_getopt(argc, argv, "v:hV", lo)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'v':
            if (set_level("hosts", optarg)) return 2;
            break;
        case 'h':
            printf(
                "usage: billing hosts [options]\n"
                "Prints the collector's host map (collector --customers) from customer_hosts.\n\n"
                "Options:\n" BHELP_DB
                "      --role ROLE            SET ROLE to this after connecting, when the login\n"
                "                             role is a member (default " STORE_READER_ROLE ";\n"
                "                             '' keeps the login role)\n" BHELP_COMMON
                    BHELP_ONESHOT);
            return 0;
        case 'V':
            cli_version("billing");
            return 0;
        default:
            return bcmd_opt("hosts", c, argv);
        }
    }
    if (optind < argc) return bad("hosts", "unexpected argument (see billing hosts --help)");
    db = store_conninfo(db);
    if (check_db("hosts", db)) return 2;
    PGconn *conn = store_connect(db, "billing hosts", role, err, sizeof err);
    if (!conn) {
        log_error("cannot connect", "err=%s", log_quote(err, q, sizeof q));
        return owner_config_error(err) ? 2 : 1;
    }
    size_t n, skipped;
    int rc = hosts_write(conn, stdout, &n, &skipped, host_skipped, NULL, err, sizeof err);
    PQfinish(conn);
    if (rc < 0) {
        log_error("billing hosts failed", "err=%s", log_quote(err, q, sizeof q));
        return 1;
    }
    return 0;
}

/* ---- billing run ---------------------------------------------------------------------------- */

static void run_usage(void) {
    printf(
        "usage: billing run [options]\n"
        "Consumes hit records from Kafka into usage_hourly, exactly once.\n\n"
        "Options:\n" KOPTS_HELP
        "  -G, --group GROUP          names the stored offsets and the members sharing the\n"
        "                             partitions (locks in PostgreSQL, not a Kafka group)\n"
        "                             (default " METER_DEFAULT_GROUP ")\n"
        "      --once                 take every partition no live member holds, consume each up\n"
        "                             to its end as it was when taken, write, exit\n"
        "      --instance-id ID       this member's name in PostgreSQL (application_name;\n"
        "                             billing offsets shows it) (default HOST:PID)\n" BHELP_DB
        "      --role ROLE            SET ROLE to this after connecting, when the login role is\n"
        "                             a member (default " STORE_WRITER_ROLE
        "; '' keeps the login role)\n"
        "      --flush-ms N           write at least every N ms (default %d)\n"
        "      --flush-rows N         write as soon as N rows are held (default %d)\n"
        "      --metrics-listen ADDR:PORT  serve /metrics, /healthz, /readyz (PORT 0: any);\n"
        "      --metrics ADDR:PORT    is another name for it\n"
        "      --metrics-interval N   seconds between metrics log lines (default 10, 0 = only\n"
        "                             at exit)\n" HB_HELP BHELP_COMMON
        "\nSums per customer, UTC hour and country are written with the Kafka offsets in one\n"
        "transaction: a restart, a crash or a second member never bills a hit twice.\n"
        "\nSignals:\n"
        "  SIGTERM, SIGINT            stop consuming, write what is held (retrying up to %d s),\n"
        "                             exit 0; a second one stops retrying (what is not\n"
        "                             written is consumed again by the next run)\n"
        "  SIGHUP                     logged; there is nothing to re-read\n"
        "\nExit status:\n"
        "  0                          stopped by a signal; --once: everything taken written\n"
        "  1                          a runtime failure (Kafka, a database error that retrying\n"
        "                             cannot fix; --once: not everything written)\n" BHELP_EXIT_2,
        METER_DEFAULT_FLUSH_MS, METER_DEFAULT_FLUSH_ROWS, SHUTDOWN_FLUSH_MS / 1000);
}

enum {
    OPT_ONCE = 256,
    OPT_DB,
    OPT_ROLE,
    OPT_FLUSH_MS,
    OPT_FLUSH_ROWS,
    OPT_METRICS,
    OPT_METRICS_OLD, /* --metrics, the first name of --metrics-listen */
    OPT_MINT,
    OPT_INSTANCE,
    OPT_HEALTH
};

static int parse_run(int argc, char **argv, meter_opts_t *o, kopts_t *k, const char **metrics) {
    static const struct option lo[] = {KOPTS_LONGOPTS,
                                       {"group", 1, 0, 'G'},
                                       {"once", 0, 0, OPT_ONCE},
                                       {"db", 1, 0, OPT_DB},
                                       {"role", 1, 0, OPT_ROLE},
                                       {"flush-ms", 1, 0, OPT_FLUSH_MS},
                                       {"flush-rows", 1, 0, OPT_FLUSH_ROWS},
                                       {"metrics", 1, 0, OPT_METRICS_OLD},
                                       {"metrics-listen", 1, 0, OPT_METRICS},
                                       {"metrics-interval", 1, 0, OPT_MINT},
                                       {"instance-id", 1, 0, OPT_INSTANCE},
                                       {"health-stall", 1, 0, OPT_HEALTH},
                                       {"log-level", 1, 0, 'v'},
                                       {"help", 0, 0, 'h'},
                                       {"version", 0, 0, 'V'},
                                       {0, 0, 0, 0}};
    static const char *const also[] = BHELP_KEYS;
    char err[512], host[256];
    unsigned port;
    long v;
    int c;
    if (config_load("billing/run", &argc, &argv, lo, KOPTS_SHORTOPTS "G:v:hV", also, err,
                    sizeof err) < 0)
        return bad("run", err);
    opterr = 0;
    while ((c = config_getopt(argc, argv, KOPTS_SHORTOPTS "G:v:hV", lo)) != -1) {
        int r = kopts_parse(k, c, optarg, err, sizeof err);
        if (r < 0) return bad("run", err);
        if (r > 0) continue;
        switch (c) {
        case 'G':
            if (!*optarg) return bad("run", "--group: empty group name");
            o->group = optarg;
            break;
        case OPT_ONCE:
            o->once = 1;
            break;
        case OPT_DB:
            o->conninfo = optarg;
            break;
        case OPT_ROLE:
            o->role = optarg;
            break;
        case OPT_INSTANCE:
            if (!*optarg || strlen(optarg) > 63)
                return bad("run", "--instance-id: 1 to 63 characters");
            o->instance = optarg;
            break;
        case OPT_FLUSH_MS:
            if ((v = number("run", "--flush-ms", optarg, 1, 3600000)) < 0) return 2;
            o->flush_ms = (int)v;
            break;
        case OPT_FLUSH_ROWS:
            if ((v = number("run", "--flush-rows", optarg, 1, 100000000)) < 0) return 2;
            o->flush_rows = (size_t)v;
            break;
        case OPT_METRICS:
        case OPT_METRICS_OLD:
            if (cli_addr(c == OPT_METRICS ? "--metrics-listen" : "--metrics", optarg, 1, host,
                         sizeof host, &port, err, sizeof err) < 0)
                return bad("run", err);
            *metrics = optarg;
            break;
        case OPT_MINT:
            if ((v = number("run", "--metrics-interval", optarg, 0, 86400)) < 0) return 2;
            o->metrics_interval_s = (int)v;
            break;
        case OPT_HEALTH:
            if (hb_option(optarg, err, sizeof err) < 0) return bad("run", err);
            break;
        case 'v':
            if (set_level("run", optarg)) return 2;
            break;
        case 'h':
            run_usage();
            exit(0);
        case 'V':
            cli_version("billing");
            exit(0);
        default:
            return bcmd_opt("run", c, argv);
        }
    }
    if (optind < argc) return bad("run", "unexpected argument (see billing run --help)");
    o->conninfo = store_conninfo(o->conninfo);
    return check_db("run", o->conninfo);
}

/* /readyz: billing_ready, set by the meter's looks (bstats.h). */
static int run_ready(void *ctx, char *why, size_t n) {
    (void)ctx;
    if (metric_get(&bstats_ready)) return 1;
    if (metric_get(&bstats_offset_gaps) > 0) {
        snprintf(why, n, "offset gap (billing_offset_gap): billing run stops; see billing offsets");
        return 0;
    }
    snprintf(why, n,
             "the database does not answer, the topic's partitions are not known yet "
             "(Kafka), or this member does not hold its share of them yet");
    return 0;
}

/* After an offset gap: /metrics shows billing_offset_gap for METER_GAP_LINGER_MS (meter.h), or
 * until SIGTERM, holding nothing (the consumer and the owner session are closed). */
static void gap_linger(void) {
    log_warn("offset gap: /metrics shows it (billing_offset_gap) for a while, then billing run "
             "exits 1; SIGTERM exits at once",
             "linger_s=%d", METER_GAP_LINGER_MS / 1000);
    for (int waited = 0; waited < METER_GAP_LINGER_MS && !cli_stop; waited += 100) {
        struct timespec t = {0, 100 * 1000000L};
        nanosleep(&t, NULL);
    }
}

static int cmd_run(int argc, char **argv) {
    static kopts_t k;
    meter_opts_t o = {&k,
                      METER_DEFAULT_GROUP,
                      NULL,
                      STORE_WRITER_ROLE,
                      0,
                      METER_DEFAULT_FLUSH_MS,
                      METER_DEFAULT_FLUSH_ROWS,
                      10,
                      &cli_stop,
                      NULL,
                      NULL};
    const char *metrics = NULL;
    char err[1024], host[200], instance[64];
    kopts_init(&k);
    int rc = parse_run(argc, argv, &o, &k, &metrics);
    if (rc) return rc;
    if (!o.instance) { /* the host name names the machine; the pid tells two members on it apart */
        if (gethostname(host, sizeof host) < 0) snprintf(host, sizeof host, "billing");
        host[sizeof host - 1] = 0;
        snprintf(instance, sizeof instance, "%.50s:%ld", host, (long)getpid());
        o.instance = instance;
    }
    o.hup = &cli_reload; /* SIGHUP: logged by the loop, nothing to reload */
    cli_signals_install();

    size_t nm;
    metric_t *const *ms = bstats_all(&nm);
    metrics_process_init("billing");
    opsd_opts_t so = {.listen = metrics,
                      .metrics = ms,
                      .nmetrics = nm,
                      .extra = bstats_gap_metrics,
                      .ready = run_ready,
                      .alive = hb_alive};
    opsd_t *http = NULL;
    if (metrics && !(http = opsd_start(&so, err, sizeof err))) return bad("run", err);
    meter_t *c = meter_new(&o, err, sizeof err);
    if (!c) {
        opsd_stop(http);
        return bad("run", err);
    }
    log_info("billing run started",
             "brokers=%s topic=%s group=%s instance=%s once=%d flush_ms=%d metrics_port=%u",
             k.brokers, k.topic, o.group, o.instance, o.once, o.flush_ms,
             http ? opsd_port(http) : 0);
    sdnotify_ready(); /* systemd Type=notify: started (the database may still be down) */
    rc = meter_run(c);
    meter_free(c);
    if (rc == 1 && http && !o.once && metric_get(&bstats_offset_gaps) > 0) gap_linger();
    opsd_stop(http);
    if (rc == 1) log_error("billing run failed", "once=%d", o.once);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: billing [--help | --version] COMMAND [options]\n"
            "Byte totals of a CDN's hits in PostgreSQL, exactly once, and monthly invoices.\n\n"
            "Commands:\n"
            "  migrate   apply the schema migrations (schema/NNN_name.sql) not applied yet\n"
            "  run       consume hits from Kafka into usage_hourly, exactly once\n"
            "  hosts     print the collector's host map from customer_hosts\n"
            "  invoice   compute a month's invoices\n"
            "  usage     one customer's usage over a range of dates, exact sums\n"
            "  offsets   stored offsets beside Kafka's range; `offsets reset` moves them\n"
            "  status    per edge: up to when its hits are billed; rejects per reason\n"
            "  edges     list, retire or unretire edges that will never report again\n\n"
            "`billing COMMAND --help` lists the options of each; every command reads\n"
            "/etc/cdn/billing.conf when it exists (or --config FILE), and $LOG_LEVEL.\n"
            "\nSignals:\n"
            "  SIGTERM, SIGINT            billing run: write what is held, then exit; the other\n"
            "                             commands end at once (PostgreSQL rolls back)\n"
            "  SIGHUP                     billing run: logged; nothing to re-read\n"
            "\nExit status:\n"
            "  0                          done\n"
            "  1                          a runtime failure (the database, Kafka)\n" BHELP_EXIT_2);
}

int main(int argc, char **argv) {
    char err[256];
    if (cli_log_level(NULL, err, sizeof err) < 0) return bad(NULL, err); /* -v overrides it */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        cli_version("billing");
        return 0;
    }
    /* Each command parses argv[1..]: its name stands where getopt expects the program's. */
    static const struct {
        const char *name;
        int (*main)(int argc, char **argv);
    } commands[] = {{"migrate", cmd_migrate},  {"run", cmd_run},          {"hosts", cmd_hosts},
                    {"invoice", invoice_main}, {"offsets", offsets_main}, {"status", status_main},
                    {"edges", edges_main},     {"usage", usage_main}};
    static const char *const sections[] = {"migrate", "run",    "hosts", "invoice", "usage",
                                           "offsets", "status", "edges", NULL};
    config_sections(sections); /* billing.conf's [COMMAND] names one of them */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].main(argc - 1, argv + 1);
    char msg[300];
    snprintf(msg, sizeof msg,
             "unknown command '%.200s' (expected migrate, run, hosts, invoice, usage, offsets, "
             "status or edges)",
             cmd);
    return bad(NULL, msg);
}
