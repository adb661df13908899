#include "status.h"

#include "edges_db.h"
#include "jsonw.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "meter.h"
#include "offsets.h"
#include "owner.h"
#include "pricing.h"
#include "store.h"
#include "bcmd.h"
#include "bhelp.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_DEFAULT_TOPIC "hits"

#define STATUS_GAPS_MAX 64 /* offset gaps listed (more are counted) */

typedef struct sopts {
    kopts_t k;         /* Kafka, asked for its ranges (offset gaps); k.topic follows --topic */
    const char *group; /* the offsets' group (billing run -G) */
    const char *db, *role, *topic, *reason;
    int year, month, month_given, json;
    int64_t grace_ms;
} sopts_t;

static int bad(const char *cmd, const char *msg) {
    return bcmd_bad(cmd, msg);
}

/* The options every command here shares; -1 to go on, else the exit status. */
static int common_opt(const char *cmd, int c, sopts_t *o, char **argv) {
    switch (c) {
    case 'd':
        o->db = optarg;
        return -1;
    case 'r':
        o->role = optarg;
        return -1;
    case 't':
        if (!*optarg) return bad(cmd, "--topic: empty topic name");
        o->topic = optarg;
        return -1;
    default:
        return bcmd_opt(cmd, c, argv);
    }
}

/* The connection string checked, then a session. NULL (logged) on failure: *rc is the status. */
static PGconn *connect_db(const char *cmd, sopts_t *o, int *rc) {
    char err[1024], q[1100], app[64];
    o->db = store_conninfo(o->db);
    if (store_check_conninfo(o->db, err, sizeof err) < 0) {
        *rc = bad(cmd, err);
        return NULL;
    }
    snprintf(app, sizeof app, "billing %s", cmd);
    PGconn *c = store_connect(o->db, app, o->role, err, sizeof err);
    if (!c) {
        log_error("cannot connect", "err=%s", log_quote(err, q, sizeof q));
        *rc = owner_config_error(err) ? 2 : 1; /* no such database, role, password: 2 */
    }
    return c;
}

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *p, char *err,
                       size_t errlen) {
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    err[strcspn(err, "\n")] = 0;
    PQclear(r);
    return NULL;
}

/* ---- billing status ------------------------------------------------------------------------- */

static void status_usage(void) {
    printf(
        "usage: billing status [options]\n"
        "Shows per edge up to when its hits are billed, and the rejected records per reason.\n\n"
        "Options:\n"
        "  -m, --month YYYY-MM        the month (default: the previous month, UTC); rejects are\n"
        "                             counted in it only when it is given\n"
        "  -t, --topic NAME           the hit topic (default " STATUS_DEFAULT_TOPIC ")\n"
        "      --grace DURATION       a month is complete once billed past its end plus this\n"
        "                             (default " EDGES_GRACE_DEFAULT
        "; e.g. 30m, 2h, 1d)\n" BHELP_DB
        "      --role ROLE            SET ROLE to this after connecting, when the login role is a\n"
        "                             member (default " STORE_READER_ROLE
        "; '' keeps the login role)\n"
        "  -b, --brokers LIST         Kafka, asked for its ranges (offset gaps) (default\n"
        "                             $KAFKA_BROKERS, else " KOPTS_DEFAULT_BROKERS ")\n"
        "  -G, --group GROUP          the offsets' group (default " METER_DEFAULT_GROUP ")\n"
        "  -X PROP=VALUE, -F FILE     Kafka properties, as billing run takes them\n" BHELP_COMMON
        "\nPer edge: the time up to which its hits are billed (the smallest watermark over all\n"
        "partitions of the topic), how far behind, its hits in the month and whether the\n"
        "month is complete for it. Then the partitions in an offset gap (as billing offsets\n"
        "shows them: billing run stops on them), or why Kafka could not tell.\n" BHELP_ONESHOT);
}

enum { OPT_DB = 256, OPT_ROLE, OPT_GRACE, OPT_REASON };

static int status_parse(int argc, char **argv, sopts_t *o) {
    static const struct option lo[] = {
        {"month", 1, 0, 'm'},       {"format", 1, 0, 'f'}, {"topic", 1, 0, 't'},
        {"grace", 1, 0, OPT_GRACE}, {"db", 1, 0, 'd'},     {"role", 1, 0, 'r'},
        {"log-level", 1, 0, 'v'},   {"help", 0, 0, 'h'},   {"version", 0, 0, 'V'},
        {"brokers", 1, 0, 'b'},     {"group", 1, 0, 'G'},  {0, 0, 0, 0}};
    static const char *const also[] = BHELP_KEYS;
    static const char shortopts[] = "m:t:f:v:hVb:X:F:G:";
    char msg[600];
    int c, rc;
    if (config_load("billing/status", &argc, &argv, lo, shortopts, also, msg, sizeof msg) < 0)
        return bad("status", msg);
    opterr = 0;
    optind = 1;
    while ((c = config_getopt(argc, argv, shortopts, lo)) != -1) {
        if (c > 0 && strchr("bXFt", c) && kopts_parse(&o->k, c, optarg, msg, sizeof msg) < 0)
            return bad("status", msg);
        if (c == 'b' || c == 'X' || c == 'F') continue;
        if (c == 'G') {
            if (!*optarg) return bad("status", "--group: empty group name");
            o->group = optarg;
        } else if (c == 'f') {
            if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
                snprintf(msg, sizeof msg, "--format %.100s: expected text or json", optarg);
                return bad("status", msg);
            }
            o->json = !strcmp(optarg, "json");
        } else if (c == 'm') {
            if (pricing_month_parse(optarg, &o->year, &o->month) < 0) {
                snprintf(msg, sizeof msg, "--month %.100s: expected YYYY-MM, e.g. 2026-11", optarg);
                return bad("status", msg);
            }
            o->month_given = 1;
        } else if (c == OPT_GRACE) {
            if (edges_duration_parse(optarg, &o->grace_ms) < 0) {
                snprintf(msg, sizeof msg,
                         "--grace %.100s: expected a duration such as 30m, 1h or 2d", optarg);
                return bad("status", msg);
            }
        } else if (c == 'h') {
            status_usage();
            return 0;
        } else if ((rc = common_opt("status", c, o, argv)) >= 0) {
            return rc;
        }
    }
    if (optind < argc) return bad("status", "unexpected argument (see billing status --help)");
    if (!o->month_given) { /* the previous month, UTC */
        time_t now = time(NULL);
        struct tm t;
        gmtime_r(&now, &t);
        o->year = t.tm_mon == 0 ? t.tm_year + 1900 - 1 : t.tm_year + 1900;
        o->month = t.tm_mon == 0 ? 12 : t.tm_mon;
    }
    return -1;
}

static void print_edges(const edgesdb_t *d, const char *month) {
    char t[40], b[32];
    int w = 4;
    for (size_t i = 0; i < d->n; i++)
        if ((int)strlen(d->edges[i].edge) > w) w = (int)strlen(d->edges[i].edge);
    printf("%-*s  %-24s  %-8s  %14s  %s\n", w, "EDGE", "BILLED TO", "BEHIND", "HITS IN MONTH",
           month);
    for (size_t i = 0; i < d->n; i++) {
        const edgesdb_edge_t *e = &d->edges[i];
        printf("%-*s  %-24s  %-8s  %14s  %s", w, e->edge,
               edges_time_format(e->billed_to_ms, t, sizeof t),
               e->billed_to_ms >= 0
                   ? edges_duration_format(d->now_ms - e->billed_to_ms, b, sizeof b)
                   : "-",
               e->month_hits ? e->month_hits : "0", edges_state_name(e->state));
        if (e->retired_at)
            printf(" since %s by %s: %s", e->retired_at, e->retired_by,
                   *e->retired_why ? e->retired_why : "(no reason given)");
        else if (e->billed_to_ms < 0 && d->partitions > 0)
            printf(" (no watermark yet in %" PRId32 " of %" PRId32 " partitions)",
                   d->partitions - e->partitions_seen, d->partitions);
        putchar('\n');
    }
    if (!d->n) printf("(no edge has reported yet)\n");
}

static const char SQL_REJECTS[] =
    "SELECT reason, count(*) FROM billing_rejects WHERE topic = $1"
    " AND ($2::timestamptz IS NULL OR coalesce(kafka_ts, rejected_at) >= $2::timestamptz)"
    " AND ($3::timestamptz IS NULL OR coalesce(kafka_ts, rejected_at) < $3::timestamptz)"
    " GROUP BY reason ORDER BY reason COLLATE \"C\"";

static PGresult *read_rejects(PGconn *c, const sopts_t *o, char *err, size_t errlen) {
    char start[40], end[40];
    int ny = o->month == 12 ? o->year + 1 : o->year, nm = o->month == 12 ? 1 : o->month + 1;
    snprintf(start, sizeof start, "%04d-%02d-01 00:00:00+00", o->year, o->month);
    snprintf(end, sizeof end, "%04d-%02d-01 00:00:00+00", ny, nm);
    const char *p[3] = {o->topic, o->month_given ? start : NULL, o->month_given ? end : NULL};
    return query(c, SQL_REJECTS, 3, p, err, errlen);
}

/* The partitions in an offset gap, as `billing offsets` sees them (offsets_gaps); n -1: Kafka
 * could not tell, why says so. */
typedef struct sgaps {
    offsets_gap_t g[STATUS_GAPS_MAX];
    int n;
    char why[512];
} sgaps_t;

static void print_gaps(const sgaps_t *g, const sopts_t *o) {
    if (g->n <= 0) {
        printf("\noffset gaps, group %s: %s%s%s\n", o->group,
               g->n < 0 ? "unknown (Kafka: " : "none", g->n < 0 ? g->why : "", g->n < 0 ? ")" : "");
        return;
    }
    printf("\noffset gaps, group %s: %d partition(s); billing run stops on them until "
           "`billing offsets reset` (see billing offsets):\n",
           o->group, g->n);
    for (int i = 0; i < g->n && i < STATUS_GAPS_MAX; i++) {
        char st[24] = "none";
        if (g->g[i].stored >= 0) snprintf(st, sizeof st, "%" PRId64, g->g[i].stored);
        printf("  partition %" PRId32 ": stored %s, Kafka holds %" PRId64 "..%" PRId64 "\n",
               g->g[i].partition, st, g->g[i].lo, g->g[i].hi);
    }
}

static void print_text(const edgesdb_t *d, const sopts_t *o, const char *month, const char *why,
                       const PGresult *rej, const sgaps_t *gaps) {
    char t[40], g[32], n[16];
    snprintf(n, sizeof n, "%" PRId32, d->partitions);
    printf("billing status at %s: topic %s, %s partitions; month %s, grace %s\n\n",
           edges_time_format(d->now_ms, t, sizeof t), o->topic, d->partitions ? n : "unknown",
           month, edges_duration_format(o->grace_ms, g, sizeof g));
    print_edges(d, month);
    if (why)
        printf("\nmonth %s: incomplete: %s\n", month, why);
    else
        printf("\nmonth %s: complete (every edge billed past %s, or retired)\n", month,
               edges_time_format(d->end_ms + d->grace_ms, t, sizeof t));
    if (o->month_given)
        printf("\nrejects in %s (by Kafka timestamp), topic %s:\n", month, o->topic);
    else
        printf("\nrejects, all months, topic %s:\n", o->topic);
    for (int i = 0; i < PQntuples(rej); i++)
        printf("  %-12s %s\n", PQgetvalue(rej, i, 0), PQgetvalue(rej, i, 1));
    if (!PQntuples(rej)) printf("  (none)\n");
    print_gaps(gaps, o);
}

/* ---- --format json ---- */

static void jkey(const char *k, int first) {
    printf("%s\"%s\": ", first ? "" : ", ", k);
}

static void jms(int64_t ms) {
    if (ms < 0)
        fputs("null", stdout);
    else
        printf("%" PRId64, ms);
}

static void json_edge(const edgesdb_t *d, const edgesdb_edge_t *e) {
    char t[40];
    jkey("edge", 1);
    jsonw_fputs(stdout, e->edge);
    jkey("billed_to", 0);
    jsonw_fputs(stdout,
                e->billed_to_ms >= 0 ? edges_time_format(e->billed_to_ms, t, sizeof t) : NULL);
    jkey("billed_to_ms", 0);
    jms(e->billed_to_ms);
    jkey("behind_ms", 0);
    jms(e->billed_to_ms >= 0 ? d->now_ms - e->billed_to_ms : -1);
    jkey("partitions_seen", 0);
    printf("%" PRId32, e->partitions_seen);
    jkey("month_hits", 0);
    jsonw_fputs(stdout, e->month_hits ? e->month_hits : "0");
    jkey("state", 0);
    jsonw_fputs(stdout, edges_state_name(e->state));
    jkey("retired_at", 0);
    jsonw_fputs(stdout, e->retired_at);
    jkey("retired_by", 0);
    jsonw_fputs(stdout, e->retired_by);
    jkey("retired_reason", 0);
    jsonw_fputs(stdout, e->retired_why);
}

/* "offset_gaps": [{partition, stored, kafka_low, kafka_high}] or null when Kafka could not tell
 * ("offset_gaps_unknown": why). */
static void json_gaps(const sgaps_t *g, const sopts_t *o) {
    jkey("offsets_group", 0);
    jsonw_fputs(stdout, o->group);
    jkey("offset_gaps", 0);
    if (g->n < 0) {
        fputs("null", stdout);
    } else {
        putchar('[');
        for (int i = 0; i < g->n && i < STATUS_GAPS_MAX; i++) {
            fputs(i ? ", {" : "{", stdout);
            jkey("partition", 1);
            printf("%" PRId32, g->g[i].partition);
            jkey("stored", 0);
            jms(g->g[i].stored);
            jkey("kafka_low", 0);
            printf("%" PRId64, g->g[i].lo);
            jkey("kafka_high", 0);
            printf("%" PRId64 "}", g->g[i].hi);
        }
        putchar(']');
    }
    jkey("offset_gaps_unknown", 0);
    jsonw_fputs(stdout, g->n < 0 ? g->why : NULL);
}

static void print_json(const edgesdb_t *d, const sopts_t *o, const char *month, const char *why,
                       const PGresult *rej, const sgaps_t *gaps) {
    char t[40];
    putchar('{');
    jkey("at", 1);
    jsonw_fputs(stdout, edges_time_format(d->now_ms, t, sizeof t));
    jkey("topic", 0);
    jsonw_fputs(stdout, o->topic);
    jkey("partitions", 0);
    printf("%" PRId32, d->partitions);
    jkey("month", 0);
    jsonw_fputs(stdout, month);
    jkey("grace_ms", 0);
    printf("%" PRId64, o->grace_ms);
    jkey("complete", 0);
    fputs(why ? "false" : "true", stdout);
    jkey("incomplete", 0);
    jsonw_fputs(stdout, why);
    jkey("edges", 0);
    putchar('[');
    for (size_t i = 0; i < d->n; i++) {
        fputs(i ? ",\n  {" : "\n  {", stdout);
        json_edge(d, &d->edges[i]);
        putchar('}');
    }
    fputs("]", stdout);
    jkey("rejects_month", 0);
    jsonw_fputs(stdout, o->month_given ? month : NULL);
    jkey("rejects", 0);
    putchar('{');
    for (int i = 0; i < PQntuples(rej); i++) {
        jkey(PQgetvalue(rej, i, 0), i == 0);
        fputs(PQgetvalue(rej, i, 1), stdout);
    }
    putchar('}');
    json_gaps(gaps, o);
    fputs("}\n", stdout);
}

int status_main(int argc, char **argv) {
    static sopts_t o; /* static: kopts_t is large */
    static sgaps_t gaps;
    o = (sopts_t){.group = METER_DEFAULT_GROUP,
                  .role = STORE_READER_ROLE,
                  .topic = STATUS_DEFAULT_TOPIC,
                  .grace_ms = EDGES_GRACE_DEFAULT_MS};
    kopts_init(&o.k);
    int rc = status_parse(argc, argv, &o), oom;
    if (rc >= 0) return rc;
    edgesdb_t d = {0};
    PGresult *rej = NULL;
    char err[1024] = "", q[1100], month[16], *why = NULL;
    PGconn *c = connect_db("status", &o, &rc);
    if (!c) return rc;
    rc = 1;
    snprintf(month, sizeof month, "%04d-%02d", o.year, o.month);
    if (edgesdb_load(c, o.topic, o.year, o.month, o.grace_ms, &d, err, sizeof err) < 0 ||
        !(rej = read_rejects(c, &o, err, sizeof err)))
        goto out;
    why = edgesdb_incomplete(&d, &oom);
    if (oom) goto out;
    o.k.topic = o.topic; /* --topic names both sides */
    gaps.n = offsets_gaps(c, &o.k, o.group, gaps.g, STATUS_GAPS_MAX, gaps.why, sizeof gaps.why);
    if (o.json)
        print_json(&d, &o, month, why, rej, &gaps);
    else
        print_text(&d, &o, month, why, rej, &gaps);
    rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
out:
    if (rc && err[0]) log_error("billing status failed", "err=%s", log_quote(err, q, sizeof q));
    PQclear(rej);
    free(why);
    edgesdb_free(&d);
    PQfinish(c);
    return rc;
}

/* ---- billing edges -------------------------------------------------------------------------- */

static void edges_usage(void) {
    printf(
        "usage: billing edges [list] [options]\n"
        "       billing edges retire EDGE [--reason TEXT] [options]\n"
        "       billing edges unretire EDGE [options]\n"
        "Lists, retires or unretires edges that will never report again.\n\n"
        "Options:\n"
        "      --reason TEXT          why (kept with the edge)\n" BHELP_DB
        "      --role ROLE            SET ROLE to this after connecting, when the login role is a\n"
        "                             member (default " STORE_WRITER_ROLE
        "; '' keeps the login role)\n" BHELP_COMMON
        "\nAn edge that will never report again (decommissioned) would hold every month open:\n"
        "retire it, and `billing invoice --finalize` no longer waits for it. `list` shows the\n"
        "retired edges with when, by whom and why.\n" BHELP_ONESHOT);
}

static const char SQL_LIST[] =
    "SELECT edge, to_char(retired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " retired_by, reason FROM billing_edges_retired ORDER BY edge COLLATE \"C\"";
static const char SQL_KNOWN[] =
    "SELECT EXISTS (SELECT 1 FROM billing_edge_watermarks WHERE edge = $1)"
    " OR EXISTS (SELECT 1 FROM billing_edge_months WHERE edge = $1)";
static const char SQL_RETIRE[] =
    "INSERT INTO billing_edges_retired (edge, reason) VALUES ($1, $2)"
    " ON CONFLICT (edge) DO NOTHING RETURNING"
    " to_char(retired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
static const char SQL_UNRETIRE[] = "DELETE FROM billing_edges_retired WHERE edge = $1";

static int edges_list(PGconn *c, char *err, size_t errlen) {
    PGresult *r = query(c, SQL_LIST, 0, NULL, err, errlen);
    if (!r) return -1;
    printf("%-24s  %-20s  %-16s  %s\n", "EDGE", "RETIRED AT", "BY", "REASON");
    for (int i = 0; i < PQntuples(r); i++)
        printf("%-24s  %-20s  %-16s  %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
    PQclear(r);
    return 0;
}

/* 0 done, 1 refused (said on stderr), -1 database failure (err). */
static int edges_retire(PGconn *c, const char *edge, const char *reason, char *err, size_t errlen) {
    const char *p1[1] = {edge}, *p2[2] = {edge, reason ? reason : ""};
    PGresult *r = query(c, SQL_KNOWN, 1, p1, err, errlen);
    if (!r) return -1;
    int known = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!known) {
        fprintf(stderr,
                "billing edges retire: edge '%s' has never reported (no watermark, no usage): "
                "not retired (a typo?)\n",
                edge);
        return 1;
    }
    if (!(r = query(c, SQL_RETIRE, 2, p2, err, errlen))) return -1;
    if (PQntuples(r) == 1)
        printf("retired %s at %s\n", edge, PQgetvalue(r, 0, 0));
    else
        printf("%s was retired already (see billing edges list)\n", edge);
    PQclear(r);
    return 0;
}

int edges_main(int argc, char **argv) {
    static const struct option lo[] = {{"reason", 1, 0, OPT_REASON},
                                       {"db", 1, 0, 'd'},
                                       {"role", 1, 0, 'r'},
                                       {"log-level", 1, 0, 'v'},
                                       {"help", 0, 0, 'h'},
                                       {"version", 0, 0, 'V'},
                                       {0, 0, 0, 0}};
    static const char *const also[] = BHELP_KEYS;
    sopts_t o = {.role = STORE_WRITER_ROLE, .topic = STATUS_DEFAULT_TOPIC};
    char err[1024] = "", q[1100];
    int c, rc;
    if (config_load("billing/edges", &argc, &argv, lo, "v:hV", also, err, sizeof err) < 0)
        return bad("edges", err);
    opterr = 0;
    optind = 1;
    while ((c = config_getopt(argc, argv, "v:hV", lo)) != -1) {
        if (c == OPT_REASON) {
            o.reason = optarg;
        } else if (c == 'h') {
            edges_usage();
            return 0;
        } else if ((rc = common_opt("edges", c, &o, argv)) >= 0) {
            return rc;
        }
    }
    const char *sub = optind < argc ? argv[optind] : "list", *edge = NULL;
    int nargs = argc - optind - (optind < argc);
    if (!strcmp(sub, "retire") || !strcmp(sub, "unretire")) {
        if (nargs != 1 || !*argv[optind + 1])
            return bad("edges", "expected one EDGE (see billing edges --help)");
        edge = argv[optind + 1];
    } else if (strcmp(sub, "list") || nargs > 0) {
        snprintf(q, sizeof q, "unknown subcommand '%.200s' (expected list, retire or unretire)",
                 sub);
        return bad("edges", q);
    }
    if (o.reason && strcmp(sub, "retire")) return bad("edges", "--reason goes with retire");
    PGconn *conn = connect_db("edges", &o, &rc);
    if (!conn) return rc;
    if (!strcmp(sub, "list")) {
        rc = edges_list(conn, err, sizeof err) < 0 ? 1 : 0;
    } else if (!strcmp(sub, "retire")) {
        rc = edges_retire(conn, edge, o.reason, err, sizeof err) != 0;
    } else {
        const char *p[1] = {edge};
        PGresult *r = query(conn, SQL_UNRETIRE, 1, p, err, sizeof err);
        rc = r ? 0 : 1;
        if (r)
            printf(strcmp(PQcmdTuples(r), "0") ? "%s is no longer retired\n"
                                               : "%s was not retired\n",
                   edge);
        PQclear(r);
    }
    if (rc && err[0]) log_error("billing edges failed", "err=%s", log_quote(err, q, sizeof q));
    PQfinish(conn);
    return rc;
}
