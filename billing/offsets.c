/* offsets.c: `billing offsets` and `billing offsets reset` (see offsets.h). */
#include "offsets.h"

#include "meter.h"
#include "kassign.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "owner.h"
#include "store.h"
#include "bcmd.h"
#include "bhelp.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OFFSETS_TIMEOUT_MS 5000 /* Kafka metadata and watermark queries */
#define REASON_MAX 1000

enum { TO_NONE, TO_EARLIEST, TO_LATEST, TO_OFFSET };

typedef struct opts {
    kopts_t k;
    const char *group, *db, *role, *reason;
    int reset, all, to;
    long long partition, to_offset;
} opts_t;

/* One partition as both sides see it. */
typedef struct prow {
    int64_t stored; /* STORE_NO_OFFSET: none */
    int64_t lo, hi; /* Kafka's watermarks; -1 when Kafka did not answer */
    char owner[64]; /* application_name of the session holding its lock, "" none */
} prow_t;

static int bad(const char *msg) {
    return bcmd_bad("offsets", msg);
}

static void usage(void) {
    printf(
        "usage: billing offsets [options]\n"
        "       billing offsets reset (--partition N | --all) --to earliest|latest|OFFSET\n"
        "                             --reason TEXT [options]\n"
        "Shows billing's stored offsets beside Kafka's range per partition; `reset` moves them.\n\n"
        "Options:\n" KOPTS_HELP
        "  -G, --group GROUP          the offsets' group (default " METER_DEFAULT_GROUP ")\n"
        "      --partition N          reset: this partition\n"
        "      --all                  reset: every partition of the topic\n"
        "      --to WHERE             reset: earliest (Kafka's first offset), latest (its end),\n"
        "                             or an offset within Kafka's range\n"
        "      --reason TEXT          reset: why (kept in the audit table; required)\n" BHELP_DB
        "      --role ROLE            SET ROLE to this after connecting (default " STORE_READER_ROLE
        ",\n"
        "                             " STORE_WRITER_ROLE
        " for reset; '' keeps the login role)\n" BHELP_COMMON
        "\nPer partition: the stored offset, Kafka's range, the lag, the member owning it and\n"
        "its state (ok, or gap: billing run stops there until a reset), then the live\n"
        "members. `reset` moves stored offsets after a person decided; each reset is kept in\n"
        "billing_offset_resets. Replay marks stay as they are (they name log lines, not Kafka\n"
        "offsets): hits read again are not billed twice.\n" BHELP_ONESHOT);
}

static int parse_to(opts_t *o, const char *s) {
    char err[256];
    long v;
    if (!strcmp(s, "earliest")) return o->to = TO_EARLIEST, 0;
    if (!strcmp(s, "latest")) return o->to = TO_LATEST, 0;
    if (cli_long("--to", s, 0, LONG_MAX, &v, err, sizeof err) < 0) return -1;
    o->to_offset = v;
    o->to = TO_OFFSET;
    return 0;
}

static int parse(int argc, char **argv, opts_t *o) {
    static const struct option lo[] = {
        KOPTS_LONGOPTS,      {"group", 1, 0, 'G'},     {"db", 1, 0, 'd'},
        {"role", 1, 0, 'r'}, {"partition", 1, 0, 'p'}, {"all", 0, 0, 'a'},
        {"to", 1, 0, 'T'},   {"reason", 1, 0, 'R'},    {"log-level", 1, 0, 'v'},
        {"help", 0, 0, 'h'}, {"version", 0, 0, 'V'},   {0, 0, 0, 0}};
    char err[512];
    long v;
    int c;
    if (argc > 1 && !strcmp(argv[1], "reset")) {
        o->reset = 1;
        argv++;
        argc--;
    }
    static const char *const also[] = BHELP_KEYS;
    if (config_load("billing/offsets", &argc, &argv, lo, KOPTS_SHORTOPTS "G:v:hV", also, err,
                    sizeof err) < 0)
        return bad(err);
    opterr = 0;
    o->partition = -1;
    while ((c = config_getopt(argc, argv, KOPTS_SHORTOPTS "G:v:hV", lo)) != -1) {
        int r = kopts_parse(&o->k, c, optarg, err, sizeof err);
        if (r < 0) return bad(err);
        if (r > 0) continue;
        switch (c) {
        case 'G':
            o->group = optarg;
            break;
        case 'd':
            o->db = optarg;
            break;
        case 'r':
            o->role = optarg;
            break;
        case 'a':
            o->all = 1;
            break;
        case 'R':
            o->reason = optarg;
            break;
        case 'p':
            if (cli_long("--partition", optarg, 0, INT32_MAX, &v, err, sizeof err) < 0)
                return bad(err);
            o->partition = v;
            break;
        case 'T':
            if (parse_to(o, optarg) < 0)
                return bad("--to: expected earliest, latest or an offset >= 0");
            break;
        case 'h':
            usage();
            return 0;
        default: {
            int rc = bcmd_opt("offsets", c, argv);
            if (rc >= 0) return rc;
            break;
        }
        }
    }
    if (bcmd_rest("offsets", argc, argv) >= 0) return 2;
    if (!o->reset && (o->all || o->partition >= 0 || o->to || o->reason))
        return bad("--partition, --all, --to and --reason belong to `billing offsets reset`");
    if (o->reset) {
        if (o->all == (o->partition >= 0)) return bad("reset: give --partition N or --all");
        if (!o->to) return bad("reset: --to earliest|latest|OFFSET is required");
        if (!o->reason || !*o->reason || strlen(o->reason) > REASON_MAX)
            return bad("reset: --reason TEXT is required (1 to 1000 characters)");
        if (!o->role) o->role = STORE_WRITER_ROLE;
    }
    if (!o->role) o->role = STORE_READER_ROLE;
    o->db = store_conninfo(o->db);
    if (store_check_conninfo(o->db, err, sizeof err) < 0) return bad(err);
    return -1;
}

/* ---- what each side knows ---------------------------------------------------------------------
 */

/* Kafka's partitions and their watermarks. The count, or -1 (err). */
static int kafka_side(const opts_t *o, prow_t **rows, char *err, size_t errlen) {
    kassign_t *k = kassign_new(&o->k, o->group, NULL, err, errlen);
    int n = -1;
    if (!k) return -1;
    n = kassign_partitions(k, OFFSETS_TIMEOUT_MS, err, errlen);
    if (n == 0) snprintf(err, errlen, "topic %s does not exist", o->k.topic);
    if (n <= 0 || !(*rows = calloc((size_t)n, sizeof **rows))) {
        n = -1;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        prow_t *r = &(*rows)[i];
        r->stored = STORE_NO_OFFSET;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            kassign_handle(k), o->k.topic, i, &r->lo, &r->hi, OFFSETS_TIMEOUT_MS);
        if (e) {
            snprintf(err, errlen, "partition %d: cannot read Kafka's range: %s", i,
                     rd_kafka_err2str(e));
            free(*rows);
            *rows = NULL;
            n = -1;
            goto out;
        }
    }
out:
    kassign_free(k);
    return n;
}

static PGresult *q(PGconn *c, const char *sql, int n, const char *const *v, ExecStatusType want,
                   char *err, size_t errlen) {
    PGresult *res = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
    if (res && PQresultStatus(res) == want) return res;
    snprintf(err, errlen, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c));
    err[strcspn(err, "\n")] = 0;
    PQclear(res);
    return NULL;
}

/* Stored offsets and owners into rows[0..n). */
static int db_side(PGconn *c, const opts_t *o, prow_t *rows, int n, char *err, size_t errlen) {
    char ns[16];
    snprintf(ns, sizeof ns, "%d", (int)owner_ns(OWNER_PARTS, o->group, o->k.topic));
    const char *p[2] = {o->group, o->k.topic};
    PGresult *res = q(c,
                      "SELECT partition, next_offset FROM billing_offsets"
                      " WHERE group_id = $1 AND topic = $2",
                      2, p, PGRES_TUPLES_OK, err, errlen);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        long part = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (part >= 0 && part < n) rows[part].stored = strtoll(PQgetvalue(res, r, 1), NULL, 10);
    }
    PQclear(res);
    const char *p2[1] = {ns};
    res = q(c,
            "SELECT l.objid::int8, coalesce(a.application_name, '')"
            " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid = $1::int8::oid",
            1, p2, PGRES_TUPLES_OK, err, errlen);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        long part = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (part >= 0 && part < n)
            snprintf(rows[part].owner, sizeof rows[part].owner, "%s", PQgetvalue(res, r, 1));
    }
    PQclear(res);
    return 0;
}

static int is_gap(const prow_t *r) {
    return r->stored >= 0 ? r->stored < r->lo || r->stored > r->hi : r->lo > 0;
}

int offsets_gaps(PGconn *c, const kopts_t *k, const char *group, offsets_gap_t *out, int cap,
                 char *err, size_t errlen) {
    opts_t o = {.k = *k, .group = group};
    prow_t *rows = NULL;
    int n = kafka_side(&o, &rows, err, errlen), gaps = -1;
    if (n < 0) return -1;
    if (db_side(c, &o, rows, n, err, errlen) == 0) {
        gaps = 0;
        for (int i = 0; i < n; i++) {
            if (!is_gap(&rows[i])) continue;
            if (gaps < cap)
                out[gaps] = (offsets_gap_t){i, rows[i].stored >= 0 ? rows[i].stored : -1,
                                            rows[i].lo, rows[i].hi};
            gaps++;
        }
    }
    free(rows);
    return gaps;
}

/* ---- billing offsets --------------------------------------------------------------------------
 */

static int print_members(PGconn *c, const opts_t *o, char *err, size_t errlen) {
    char ns[16];
    snprintf(ns, sizeof ns, "%d", (int)owner_ns(OWNER_MEMBERS, o->group, o->k.topic));
    const char *p[1] = {ns};
    PGresult *res =
        q(c,
          "SELECT l.objid::int8, coalesce(a.application_name, ''), l.pid,"
          " coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', "
          "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
          " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
          " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
          " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
          " AND l.classid = $1::int8::oid ORDER BY 1",
          1, p, PGRES_TUPLES_OK, err, errlen);
    if (!res) return -1;
    printf("\nmembers: %d live\n%-6s %-40s %-8s %s\n", PQntuples(res), "slot", "instance", "pid",
           "since");
    /* "since" needs the right to see the session's details (same role, pg_read_all_stats) */
    for (int r = 0; r < PQntuples(res); r++)
        printf("%-6s %-40s %-8s %s\n", PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
               PQgetvalue(res, r, 2), *PQgetvalue(res, r, 3) ? PQgetvalue(res, r, 3) : "-");
    PQclear(res);
    return 0;
}

static int show(PGconn *c, const opts_t *o, prow_t *rows, int n, char *err, size_t errlen) {
    int gaps = 0;
    printf("group %s, topic %s: %d partitions\n", o->group, o->k.topic, n);
    printf("%-9s %12s %12s %12s %10s  %-6s %s\n", "partition", "stored", "kafka_low", "kafka_high",
           "lag", "state", "owner");
    for (int i = 0; i < n; i++) {
        const prow_t *r = &rows[i];
        char st[24] = "-", lag[24] = "-";
        if (r->stored >= 0) snprintf(st, sizeof st, "%" PRId64, r->stored);
        if (!is_gap(r))
            snprintf(lag, sizeof lag, "%" PRId64, r->hi - (r->stored >= 0 ? r->stored : r->lo));
        gaps += is_gap(r);
        printf("%-9d %12s %12" PRId64 " %12" PRId64 " %10s  %-6s %s\n", i, st, r->lo, r->hi, lag,
               is_gap(r) ? "gap" : "ok", r->owner[0] ? r->owner : "-");
    }
    if (gaps)
        printf("%d partition(s) in a gap: billing run stops on them; after deciding, "
               "billing offsets reset --partition N --to earliest|latest|OFFSET --reason TEXT\n",
               gaps);
    return print_members(c, o, err, errlen);
}

/* ---- billing offsets reset --------------------------------------------------------------------
 */

/* One partition's reset inside the open transaction. 0, 1 (bad --to: err), -1 (refused or
 * failed: err). */
static int reset_one(PGconn *c, const opts_t *o, int part, const prow_t *r, char *err,
                     size_t errlen) {
    int64_t to = o->to == TO_EARLIEST ? r->lo : o->to == TO_LATEST ? r->hi : o->to_offset;
    if (to < r->lo || to > r->hi) {
        snprintf(err, errlen,
                 "partition %d: --to %" PRId64 " is outside Kafka's range %" PRId64 "..%" PRId64,
                 part, to, r->lo, r->hi);
        return 1;
    }
    char ns[16], ps[16], tos[24], los[24], his[24], who[300], host[200];
    snprintf(ns, sizeof ns, "%d", (int)owner_ns(OWNER_PARTS, o->group, o->k.topic));
    snprintf(ps, sizeof ps, "%d", part);
    snprintf(tos, sizeof tos, "%" PRId64, to);
    snprintf(los, sizeof los, "%" PRId64, r->lo);
    snprintf(his, sizeof his, "%" PRId64, r->hi);
    if (gethostname(host, sizeof host) < 0) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = 0;
    snprintf(who, sizeof who, "%.60s@%.200s", getenv("USER") ? getenv("USER") : "?", host);
    const char *lk[2] = {ns, ps};
    PGresult *res = q(c, "SELECT pg_try_advisory_xact_lock($1::int4, $2::int4)", 2, lk,
                      PGRES_TUPLES_OK, err, errlen);
    if (!res) return -1;
    int got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!got) {
        snprintf(err, errlen,
                 "partition %d is owned by the live member %s: stop it first "
                 "(or reset only the partitions nobody holds)",
                 part, r->owner[0] ? r->owner : "?");
        return -1; /* not bad usage: the state refuses it (exit 1) */
    }
    const char *p[8] = {o->group, o->k.topic, ps, tos, los, his, o->reason, who};
    res = q(c,
            "WITH old AS (SELECT next_offset FROM billing_offsets"
            "             WHERE group_id = $1 AND topic = $2 AND partition = $3::int FOR UPDATE),"
            " up AS (INSERT INTO billing_offsets (group_id, topic, partition, next_offset)"
            "        VALUES ($1, $2, $3::int, $4::int8) ON CONFLICT (group_id, topic, partition)"
            "        DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now())"
            " INSERT INTO billing_offset_resets (group_id, topic, kafka_partition, old_offset,"
            "   new_offset, kafka_low, kafka_high, reason, client)"
            " SELECT $1, $2, $3::int, (SELECT next_offset FROM old), $4::int8, $5::int8, $6::int8,"
            "   $7, $8 RETURNING coalesce(old_offset::text, 'none')",
            8, p, PGRES_TUPLES_OK, err, errlen);
    if (!res) return -1;
    printf("partition %d: %s -> %" PRId64 " (kafka %" PRId64 "..%" PRId64 ")\n", part,
           PQgetvalue(res, 0, 0), to, r->lo, r->hi);
    PQclear(res);
    return 0;
}

static int reset(PGconn *c, const opts_t *o, prow_t *rows, int n, char *err, size_t errlen) {
    int rc = -1;
    if (!o->all && o->partition >= n) {
        snprintf(err, errlen, "--partition %lld: the topic has partitions 0..%d", o->partition,
                 n - 1);
        return 1;
    }
    PGresult *res = q(c, "BEGIN", 0, NULL, PGRES_COMMAND_OK, err, errlen);
    if (!res) return -1;
    PQclear(res);
    for (int i = 0; i < n; i++) {
        if (!o->all && i != o->partition) continue;
        if ((rc = reset_one(c, o, i, &rows[i], err, errlen)) != 0) goto out;
    }
    res = q(c, "COMMIT", 0, NULL, PGRES_COMMAND_OK, err, errlen);
    rc = res ? 0 : -1;
    PQclear(res);
    if (rc == 0)
        log_info("offsets reset", "group=%s topic=%s partitions=%s reason_chars=%zu", o->group,
                 o->k.topic, o->all ? "all" : "one", strlen(o->reason));
out:
    if (rc) PQclear(PQexec(c, "ROLLBACK"));
    return rc;
}

int offsets_main(int argc, char **argv) {
    opts_t o = {.group = METER_DEFAULT_GROUP};
    char err[1024], qq[1100];
    prow_t *rows = NULL;
    PGconn *c = NULL;
    kopts_init(&o.k);
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    rc = 1;
    int n = kafka_side(&o, &rows, err, sizeof err);
    if (n < 0) goto out;
    c = store_connect(o.db, o.reset ? "billing offsets reset" : "billing offsets", o.role, err,
                      sizeof err);
    if (!c) {
        if (owner_config_error(err)) rc = 2;
        goto out;
    }
    if (db_side(c, &o, rows, n, err, sizeof err) < 0) goto out;
    if (!o.reset) {
        rc = show(c, &o, rows, n, err, sizeof err) < 0 ? 1 : 0;
    } else {
        int r = reset(c, &o, rows, n, err, sizeof err);
        rc = r == 0 ? 0 : r == 1 ? 2 : 1;
    }
out:
    if (rc && err[0]) {
        if (rc == 2)
            fprintf(stderr, "billing offsets: %s\n", err);
        else
            log_error("billing offsets failed: nothing was changed", "err=%s",
                      log_quote(err, qq, sizeof qq));
    }
    PQfinish(c);
    free(rows);
    return rc;
}
