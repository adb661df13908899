/* usage.c: `billing usage`, see usage.h.
 *
 *   options -> connect (SET ROLE billing_reader) -> REPEATABLE READ READ ONLY -> the customer
 *   (exists? plan?) -> one grouped query with the total as its last grouping set -> print.
 *
 * Every sum is made by PostgreSQL over numeric and printed from its text: C never holds a sum
 * as a number, so nothing can wrap or round. */
#include "usage.h"

#include "bcmd.h"
#include "bhelp.h"
#include "cli.h"
#include "config.h"
#include "custid.h"
#include "jsonw.h"
#include "log.h"
#include "owner.h"
#include "store.h"

#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE_ERR_MAX 1024
#define USAGE_YEAR_MIN 2000 /* the first date accepted: 2000-01-01 */

typedef enum { BY_HOUR, BY_DAY, BY_MONTH } by_t;
typedef enum { GROUP_NONE, GROUP_COUNTRY, GROUP_ZONE } group_t;
typedef enum { FMT_TEXT, FMT_CSV, FMT_JSON } fmt_t;

static const char *const BY_NAME[] = {"hour", "day", "month"};
/* to_char formats of the period, by the hits' own hour in UTC: fixed width, so they sort. */
static const char *const BY_FMT[] = {"YYYY-MM-DD\"T\"HH24\":00Z\"", "YYYY-MM-DD", "YYYY-MM"};
static const char *const GROUP_NAME[] = {"", "country", "zone"};

typedef struct opts {
    const char *customer, *from, *to, *db, *role;
    long long from_s, to_s; /* 00:00 UTC of --from, of the day after --to */
    by_t by;
    group_t group;
    fmt_t format;
} opts_t;

static int bad(const char *msg) {
    return bcmd_bad("usage", msg);
}

static void help(void) {
    printf(
        "usage: billing usage --customer ID --from DATE --to DATE [options]\n"
        "Prints one customer's usage over a range of dates, summed exactly from usage_hourly.\n\n"
        "Options:\n"
        "  -c, --customer ID          the customer (required)\n"
        "      --from YYYY-MM-DD      the first day, UTC (required)\n"
        "      --to YYYY-MM-DD        the last day, UTC, INCLUSIVE: --from 2026-11-01 --to\n"
        "                             2026-11-30 is all of November (required)\n"
        "      --by PERIOD            hour, day (default) or month: one row per period with\n"
        "                             usage, by the hits' own hour in UTC\n"
        "      --group KEY            country (client country) or zone (the zones of the\n"
        "                             customer's plan, '*' for every other country)\n"
        "  -f, --format FORMAT        text (default), csv or json\n" BHELP_DB
        "      --role ROLE            SET ROLE to this after connecting, when the login role is\n"
        "                             a member (default " STORE_READER_ROLE
        "; '' keeps the login role)\n" BHELP_COMMON
        "\nHits, bytes and GB (10^9 bytes, exact decimals). Reads only; nothing is "
        "written.\n" BHELP_ONESHOT);
}

static int pick(const char *arg, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (*names[i] && !strcmp(arg, names[i])) return i;
    return -1;
}

int usage_date_parse(const char *s, long long *epoch_s) {
    int y, m, d, n = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
        s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    /* timegm normalizes 2026-02-30 to March: a real date comes back unchanged */
    if (tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d) return -1;
    if (y < USAGE_YEAR_MIN || (y == 9999 && m == 12 && d == 31)) return -1;
    *epoch_s = (long long)t;
    return 0;
}

int usage_gb(const char *bytes, char *out, size_t cap) {
    size_t n = strlen(bytes), z = 0;
    if (!n) return -1;
    for (size_t i = 0; i < n; i++)
        if (bytes[i] < '0' || bytes[i] > '9') return -1;
    while (z + 1 < n && bytes[z] == '0') /* leading zeros, keeping one digit */
        z++;
    bytes += z;
    n -= z;
    char buf[USAGE_NUM_MAX + 16];
    if (n + 12 > sizeof buf) return -1;
    /* integer part: the digits above 10^9; fraction: the last 9, zero-padded, zeros dropped */
    size_t ip = n > 9 ? n - 9 : 0, k = 0;
    if (ip)
        memcpy(buf, bytes, ip), k = ip;
    else
        buf[k++] = '0';
    buf[k++] = '.';
    for (size_t i = 0; i < 9; i++)
        buf[k++] = 9 - i > n ? '0' : bytes[n - (9 - i)];
    while (buf[k - 1] == '0')
        k--;
    if (buf[k - 1] == '.') k--;
    buf[k] = 0;
    if (k + 1 > cap) return -1;
    memcpy(out, buf, k + 1);
    return 0;
}

/* The dates, as one range. -1 to go on, else 2. */
static int validate_range(opts_t *o) {
    char msg[300];
    if (!o->customer) return bad("--customer ID is required");
    if (!o->from) return bad("--from YYYY-MM-DD is required");
    if (!o->to) return bad("--to YYYY-MM-DD is required");
    const char *names[2] = {"--from", "--to"}, *vals[2] = {o->from, o->to};
    long long *out[2] = {&o->from_s, &o->to_s};
    for (int i = 0; i < 2; i++)
        if (usage_date_parse(vals[i], out[i]) < 0) {
            snprintf(msg, sizeof msg,
                     "%s %.100s: expected a date YYYY-MM-DD from 2000-01-01 to 9999-12-30, "
                     "e.g. 2026-11-30",
                     names[i], vals[i]);
            return bad(msg);
        }
    if (o->to_s < o->from_s) {
        snprintf(msg, sizeof msg, "--to %.20s is before --from %.20s (--to is inclusive)", o->to,
                 o->from);
        return bad(msg);
    }
    o->to_s += 86400; /* --to is inclusive: up to the start of the next day */
    return -1;
}

/* The options together: the range, then the connection string. -1 to go on, else 2. */
static int validate(opts_t *o) {
    char msg[600];
    int rc = validate_range(o);
    if (rc >= 0) return rc;
    o->db = store_conninfo(o->db);
    if (store_check_conninfo(o->db, msg, sizeof msg) < 0) return bad(msg);
    return -1;
}

/* Returns -1 to go on, else the exit status (0 for --help / --version, 2 for bad usage). */
static int parse(int argc, char **argv, opts_t *o) {
    enum { OPT_FROM = 256, OPT_TO, OPT_BY, OPT_GROUP, OPT_DB, OPT_ROLE };
    static const struct option lo[] = {
        {"customer", 1, 0, 'c'}, {"from", 1, 0, OPT_FROM},   {"to", 1, 0, OPT_TO},
        {"by", 1, 0, OPT_BY},    {"group", 1, 0, OPT_GROUP}, {"format", 1, 0, 'f'},
        {"db", 1, 0, OPT_DB},    {"role", 1, 0, OPT_ROLE},   {"log-level", 1, 0, 'v'},
        {"help", 0, 0, 'h'},     {"version", 0, 0, 'V'},     {0, 0, 0, 0}};
    static const char *const FMT_NAME[] = {"text", "csv", "json"};
    static const char *const also[] = BHELP_KEYS;
    char msg[600];
    int c, i;
    if (config_load("billing/usage", &argc, &argv, lo, "c:f:v:hV", also, msg, sizeof msg) < 0)
        return bad(msg);
    opterr = 0;
    optind = 1;
    while ((c = config_getopt(argc, argv, "c:f:v:hV", lo)) != -1) {
        switch (c) {
        case 'c':
            if (!custid_valid(optarg, strlen(optarg))) {
                snprintf(msg, sizeof msg,
                         "--customer %.100s: not a customer id (1 to 64 of A-Z a-z 0-9 . _ -)",
                         optarg);
                return bad(msg);
            }
            o->customer = optarg;
            break;
        case OPT_FROM:
            o->from = optarg;
            break;
        case OPT_TO:
            o->to = optarg;
            break;
        case OPT_BY:
            if ((i = pick(optarg, BY_NAME, 3)) < 0) {
                snprintf(msg, sizeof msg, "--by %.100s: expected hour, day or month", optarg);
                return bad(msg);
            }
            o->by = (by_t)i;
            break;
        case OPT_GROUP:
            if ((i = pick(optarg, GROUP_NAME, 3)) < 0) {
                snprintf(msg, sizeof msg, "--group %.100s: expected country or zone", optarg);
                return bad(msg);
            }
            o->group = (group_t)i;
            break;
        case 'f':
            if ((i = pick(optarg, FMT_NAME, 3)) < 0) {
                snprintf(msg, sizeof msg, "--format %.100s: expected text, csv or json", optarg);
                return bad(msg);
            }
            o->format = (fmt_t)i;
            break;
        case OPT_DB:
            o->db = optarg;
            break;
        case OPT_ROLE:
            o->role = optarg;
            break;
        case 'h':
            help();
            return 0;
        default: {
            int rc = bcmd_opt("usage", c, argv);
            if (rc >= 0) return rc;
            break;
        }
        }
    }
    if (bcmd_rest("usage", argc, argv) >= 0) return 2;
    return validate(o);
}

/* ---- the database --------------------------------------------------------------------------- */

static PGresult *exec(PGconn *c, const char *sql, int n, const char *const *p, ExecStatusType want,
                      const char *what, char *err, size_t errlen) {
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (r && PQresultStatus(r) == want) return r;
    snprintf(err, errlen, "%s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    err[strcspn(err, "\n")] = 0;
    PQclear(r);
    return NULL;
}

/* The group key of a usage row u: the zone is that of the plan in effect at the row's hour
 * (r.plan_id: customer_plans, as invoices price it; customers.plan_id is only the plan of now, and
 * a change later in the range would zone earlier hours by it) for the country, else that plan's
 * '*', else NULL (the plan cannot price that country, or the hour is before the first plan). */
static const char *const KEY_SQL[] = {
    "NULL::text", "u.country::text",
    "coalesce((SELECT z.zone FROM plan_zones z WHERE z.plan_id = r.plan_id AND z.country = "
    "u.country), (SELECT z.zone FROM plan_zones z WHERE z.plan_id = r.plan_id AND z.country = "
    "'*'))"};

/* Rows per (period, key), then the total (grouping() = 1) last; sums never NULL. r: the
 * customer's plans as ranges of hours [valid_from, next valid_from), a few rows. */
static const char SQL_REPORT[] =
    "WITH r AS (SELECT plan_id, valid_from, lead(valid_from) OVER (ORDER BY valid_from) AS valid_to"
    "           FROM customer_plans WHERE customer_id = $1)"
    " SELECT period, k, coalesce(sum(hits), 0)::text, coalesce(sum(bytes), 0)::text,"
    " grouping(period)"
    " FROM (SELECT to_char(u.hour AT TIME ZONE 'UTC', $4) AS period, %s AS k, u.hits, u.bytes"
    "       FROM usage_hourly u LEFT JOIN r ON u.hour >= r.valid_from"
    "       AND (r.valid_to IS NULL OR u.hour < r.valid_to)"
    "       WHERE u.customer_id = $1 AND u.hour >= to_timestamp($2::bigint)"
    "       AND u.hour < to_timestamp($3::bigint)) x"
    " GROUP BY GROUPING SETS ((period, k), ())"
    " ORDER BY grouping(period), period, k COLLATE \"C\" NULLS FIRST";

typedef struct report {
    PGresult *cust; /* name, whether it ever had a plan; no row when unknown */
    PGresult *rows; /* period, key, hits, bytes, is-total */
} report_t;

static int load(PGconn *c, const opts_t *o, report_t *r, char *err, size_t errlen) {
    char from[32], to[32], sql[sizeof SQL_REPORT + 512];
    const char *one[1] = {o->customer};
    PGresult *x = exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                       PGRES_COMMAND_OK, "BEGIN", err, errlen);
    if (!x) return -1;
    PQclear(x);
    r->cust = exec(c,
                   "SELECT name, (SELECT plan_id FROM customer_plans p WHERE p.customer_id = $1"
                   " LIMIT 1) FROM customers WHERE id = $1",
                   1, one, PGRES_TUPLES_OK, "reading customers", err, errlen);
    if (!r->cust) return -1;
    if (o->group == GROUP_ZONE && (!PQntuples(r->cust) || PQgetisnull(r->cust, 0, 1))) {
        snprintf(err, errlen, "--group zone: customer %s %s", o->customer,
                 PQntuples(r->cust) ? "has no plan, so no zones" : "is not in customers");
        return -1;
    }
    snprintf(from, sizeof from, "%lld", o->from_s);
    snprintf(to, sizeof to, "%lld", o->to_s);
    snprintf(sql, sizeof sql, SQL_REPORT, KEY_SQL[o->group]);
    const char *p[4] = {o->customer, from, to, BY_FMT[o->by]};
    r->rows = exec(c, sql, 4, p, PGRES_TUPLES_OK, "reading usage_hourly", err, errlen);
    if (!r->rows) return -1;
    if (!PQntuples(r->cust) && PQntuples(r->rows) < 2) {
        snprintf(err, errlen, "no customer %s, and no usage of it from %s to %s", o->customer,
                 o->from, o->to);
        return -1;
    }
    x = exec(c, "COMMIT", 0, NULL, PGRES_COMMAND_OK, "COMMIT", err, errlen);
    PQclear(x);
    return x ? 0 : -1;
}

/* ---- printing ------------------------------------------------------------------------------- */

typedef struct row {
    const char *period, *key; /* key NULL: no zone (or no --group) */
    const char *hits, *bytes;
    char gb[USAGE_NUM_MAX];
} row_t;

static void print_json(FILE *out, const opts_t *o, const row_t *v, size_t n, const row_t *t) {
    fputs("{\n  \"customer\": ", out);
    jsonw_fputs(out, o->customer);
    fprintf(out,
            ",\n  \"from\": \"%s\",\n  \"to\": \"%s\",\n  \"by\": \"%s\",\n  \"group\": ", o->from,
            o->to, BY_NAME[o->by]);
    jsonw_fputs(out, o->group ? GROUP_NAME[o->group] : NULL);
    fputs(",\n  \"rows\": [", out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s\n    {\"period\": \"%s\"", i ? "," : "", v[i].period);
        if (o->group) {
            fprintf(out, ", \"%s\": ", GROUP_NAME[o->group]);
            jsonw_fputs(out, v[i].key);
        }
        fprintf(out, ", \"hits\": \"%s\", \"bytes\": \"%s\", \"gb\": \"%s\"}", v[i].hits,
                v[i].bytes, v[i].gb);
    }
    fprintf(out, "%s],\n  \"total\": {\"hits\": \"%s\", \"bytes\": \"%s\", \"gb\": \"%s\"}\n}\n",
            n ? "\n  " : "", t->hits, t->bytes, t->gb);
}

static void print_csv(FILE *out, const opts_t *o, const row_t *v, size_t n) {
    fprintf(out, "period%s%s,hits,bytes,gb\n", o->group ? "," : "", GROUP_NAME[o->group]);
    for (size_t i = 0; i < n; i++) {
        fputs(v[i].period, out);
        if (o->group) {
            fputc(',', out);
            /* a zone name is free text: quoted as RFC 4180 says when it must be */
            const char *k = v[i].key ? v[i].key : "";
            if (strpbrk(k, ",\"\r\n")) {
                fputc('"', out);
                for (; *k; k++)
                    fputs(*k == '"' ? "\"\"" : (char[2]){*k, 0}, out);
                fputc('"', out);
            } else {
                fputs(k, out);
            }
        }
        fprintf(out, ",%s,%s,%s\n", v[i].hits, v[i].bytes, v[i].gb);
    }
}

/* The cells of text row i: 0 the titles, 1..n the rows, n + 1 the total. */
static void text_cells(const opts_t *o, const row_t *v, size_t n, const row_t *t, size_t i,
                       const char *c[5]) {
    const row_t *r = i == 0 ? NULL : i <= n ? &v[i - 1] : t;
    if (!r) {
        const char *title[5] = {"Period", o->group == GROUP_ZONE ? "Zone" : "Country", "Hits",
                                "Bytes", "GB"};
        memcpy(c, title, sizeof title);
        return;
    }
    c[0] = i <= n ? r->period : "Total";
    c[1] = i > n ? "" : r->key ? r->key : "(no zone)";
    c[2] = r->hits, c[3] = r->bytes, c[4] = r->gb;
}

static void print_text(FILE *out, const opts_t *o, const char *name, const row_t *v, size_t n,
                       const row_t *t) {
    int w[5] = {0}; /* widths: period, key, hits, bytes, GB */
    const char *c[5];
    for (size_t i = 0; i <= n + 1; i++) {
        text_cells(o, v, n, t, i, c);
        for (int k = 0; k < 5; k++)
            if ((int)strlen(c[k]) > w[k]) w[k] = (int)strlen(c[k]);
    }
    fprintf(out, "Usage     %s (%s)\n", name ? name : "(not in customers)", o->customer);
    fprintf(out, "Period    %s to %s inclusive, UTC, by %s%s%s\n\n", o->from, o->to, BY_NAME[o->by],
            o->group ? ", per " : "", GROUP_NAME[o->group]);
    for (size_t i = 0; i <= n + 1; i++) {
        text_cells(o, v, n, t, i, c);
        fprintf(out, "%-*s  ", w[0], c[0]);
        if (o->group) fprintf(out, "%-*s  ", w[1], c[1]);
        fprintf(out, "%*s  %*s  %*s\n", w[2], c[2], w[3], c[3], w[4], c[4]);
    }
}

static int print(const opts_t *o, const report_t *r, char *err, size_t errlen) {
    int nr = PQntuples(r->rows), rc = -1;
    row_t *v = calloc((size_t)nr + 1, sizeof *v);
    size_t n = 0;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < nr; i++) {
        row_t *x = &v[n++];
        x->period = PQgetvalue(r->rows, i, 0);
        x->key = PQgetisnull(r->rows, i, 1) ? NULL : PQgetvalue(r->rows, i, 1);
        x->hits = PQgetvalue(r->rows, i, 2);
        x->bytes = PQgetvalue(r->rows, i, 3);
        if (usage_gb(x->bytes, x->gb, sizeof x->gb) < 0) {
            snprintf(err, errlen, "a bytes sum PostgreSQL printed as %.100s", x->bytes);
            goto out;
        }
    }
    /* the query puts the total last (grouping set ()), and there is always one */
    const row_t *t = &v[--n];
    const char *name = PQntuples(r->cust) ? PQgetvalue(r->cust, 0, 0) : NULL;
    if (o->format == FMT_JSON)
        print_json(stdout, o, v, n, t);
    else if (o->format == FMT_CSV)
        print_csv(stdout, o, v, n);
    else
        print_text(stdout, o, name, v, n, t);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        snprintf(err, errlen, "writing the report failed");
        goto out;
    }
    rc = 0;
out:
    free(v);
    return rc;
}

int usage_main(int argc, char **argv) {
    opts_t o = {.role = STORE_READER_ROLE, .by = BY_DAY};
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    report_t r = {0};
    char err[USAGE_ERR_MAX], q[USAGE_ERR_MAX + 100];
    err[0] = 0;
    rc = 1;
    PGconn *conn = store_connect(o.db, "billing usage", o.role, err, sizeof err);
    if (!conn && owner_config_error(err)) rc = 2; /* no such database, role, password */
    if (!conn || load(conn, &o, &r, err, sizeof err) < 0 || print(&o, &r, err, sizeof err) < 0)
        goto out;
    rc = 0;
out:
    if (rc)
        log_error("billing usage failed", "customer=%s err=%s", o.customer,
                  log_quote(err, q, sizeof q));
    PQclear(r.cust);
    PQclear(r.rows);
    PQfinish(conn);
    return rc;
}
