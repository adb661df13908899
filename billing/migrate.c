#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* pg_advisory_xact_lock key of `billing migrate`: "billing" in ASCII. */
#define MIGRATE_LOCK_KEY "27700462113877607"

static const char SQL_TABLE[] = "CREATE TABLE IF NOT EXISTS " MIGRATE_TABLE " ("
                                " version integer PRIMARY KEY CHECK (version >= 0),"
                                " file text NOT NULL,"
                                " checksum text NOT NULL,"
                                " applied_at timestamptz NOT NULL DEFAULT now())";

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int migrate_find_dir(const char *opt, char *out, size_t cap, char *err, size_t errlen) {
    if (opt) {
        if (!is_dir(opt)) {
            snprintf(err, errlen, "--schema %s: not a directory", opt);
            return -1;
        }
        snprintf(out, cap, "%s", opt);
        return 0;
    }
    const char *env = getenv(MIGRATE_DIR_ENV);
    if (env && *env) {
        if (!is_dir(env)) {
            snprintf(err, errlen, "$" MIGRATE_DIR_ENV "=%s: not a directory", env);
            return -1;
        }
        snprintf(out, cap, "%s", env);
        return 0;
    }
    char exe[PATH_MAX], beside[PATH_MAX + 16] = "", installed[PATH_MAX + 24] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        const char *bindir = dirname(exe);
        snprintf(beside, sizeof beside, "%s/../schema", bindir);
        /* `make install`: PREFIX/bin/billing and PREFIX/share/cdn/schema, whatever PREFIX */
        snprintf(installed, sizeof installed, "%s/../share/cdn/schema", bindir);
    }
    const char *tries[] = {"schema", beside, installed, MIGRATE_SYSTEM_DIR};
    for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
        if (*tries[i] && is_dir(tries[i])) {
            snprintf(out, cap, "%s", tries[i]);
            return 0;
        }
    }
    snprintf(err, errlen,
             "no schema directory: tried ./schema, %s, %s and " MIGRATE_SYSTEM_DIR
             " (use --schema DIR or $" MIGRATE_DIR_ENV ")",
             *beside ? beside : "(no executable path)", installed);
    return -1;
}

/* NNN_name.sql: returns the version, or -1. */
static int parse_name(const char *n) {
    size_t digits = strspn(n, "0123456789"), len = strlen(n);
    if (digits < 3 || digits > 9 || n[digits] != '_' || len < digits + 6 ||
        strcmp(n + len - 4, ".sql") != 0)
        return -1;
    size_t body = len - 4 - digits - 1;
    const char *name = n + digits + 1;
    if (body == 0 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_") != body)
        return -1;
    return atoi(n);
}

static int by_version(const void *a, const void *b) {
    const migration_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

int migrate_list(const char *dir, migration_t **out, size_t *n, char *err, size_t errlen) {
    int rc = -1;
    size_t cap = 0;
    migration_t *v = NULL;
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".sql") != 0) continue;
        int version = parse_name(e->d_name);
        if (version < 0 || len > MIGRATE_NAME_MAX) {
            snprintf(err, errlen, "%s/%s: a migration must be named NNN_name.sql", dir, e->d_name);
            goto out;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            migration_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            v = nv;
        }
        v[*n].version = version;
        v[*n].checksum = 0;
        snprintf(v[*n].file, sizeof v[*n].file, "%s", e->d_name);
        (*n)++;
    }
    qsort(v, *n, sizeof *v, by_version);
    for (size_t i = 1; i < *n; i++)
        if (v[i].version == v[i - 1].version) {
            snprintf(err, errlen, "%s: %s and %s have the same version", dir, v[i - 1].file,
                     v[i].file);
            goto out;
        }
    *out = v;
    v = NULL;
    rc = 0;
out:
    if (rc) *n = 0;
    free(v);
    closedir(d);
    return rc;
}

static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *b = malloc(MIGRATE_FILE_MAX + 1);
    size_t n = b ? fread(b, 1, MIGRATE_FILE_MAX + 1, f) : 0;
    int bad = !b || ferror(f) || n > MIGRATE_FILE_MAX || memchr(b, 0, n);
    if (bad) {
        snprintf(err, errlen, "%s: %s", path,
                 !b                     ? "out of memory"
                 : ferror(f)            ? strerror(errno)
                 : n > MIGRATE_FILE_MAX ? "larger than 16 MiB"
                                        : "holds a NUL byte");
        free(b);
        fclose(f);
        return -1;
    }
    fclose(f);
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

static uint64_t fnv1a64(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    return h;
}

/* The line of the character at 1-based position pos (PostgreSQL counts characters). */
static int line_of(const char *sql, long pos) {
    int line = 1;
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)sql; *p && chars < pos; p++) {
        if ((*p & 0xC0) != 0x80) chars++; /* UTF-8: count the first byte of each character */
        if (*p == '\n' && chars < pos) line++;
    }
    return line;
}

/* Runs one parameterized statement: 0 (its result in *keep if asked), or -1 with err. */
static int run(PGconn *c, const char *sql, int n, const char *const *p, const char *what,
               PGresult **keep, char *err, size_t errlen) {
    PGresult *res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (keep)
            *keep = res;
        else
            PQclear(res);
        return 0;
    }
    snprintf(err, errlen, "%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(c));
    err[strcspn(err, "\n")] = 0;
    PQclear(res);
    return -1;
}

/* The file's own statements: several per string, so the simple query protocol (PQexec). */
static int run_file(PGconn *c, const char *path, const char *sql, char *err, size_t errlen) {
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    if (!ok) {
        const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
        const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c);
        int n = (int)strcspn(msg, "\n");
        if (pos)
            snprintf(err, errlen, "%s:%d: %.*s", path, line_of(sql, atol(pos)), n, msg);
        else
            snprintf(err, errlen, "%s: %.*s", path, n, msg);
    } else if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
        snprintf(err, errlen, "%s: ends the transaction (no BEGIN/COMMIT in a migration)", path);
        ok = 0;
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* One migration, in one transaction: 1 applied, 0 applied before, -1 failed. */
static int apply_one(PGconn *c, const char *dir, migration_t *m, migrate_status_t *st, char *err,
                     size_t errlen) {
    char path[PATH_MAX + MIGRATE_NAME_MAX + 2], ver[16], sum[24];
    char *sql = NULL;
    size_t len;
    PGresult *res = NULL;
    int rc = -1;
    snprintf(path, sizeof path, "%s/%s", dir, m->file);
    if (read_file(path, &sql, &len, err, errlen) < 0) return -1;
    m->checksum = fnv1a64(sql, len);
    snprintf(ver, sizeof ver, "%d", m->version);
    snprintf(sum, sizeof sum, "%016" PRIx64, m->checksum);
    const char *lockp[1] = {MIGRATE_LOCK_KEY};
    const char *verp[1] = {ver};
    const char *rowp[3] = {ver, m->file, sum};
    if (run(c, "BEGIN", 0, NULL, "BEGIN", NULL, err, errlen) < 0) goto out;
    if (run(c, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lockp, "lock", NULL, err, errlen) <
            0 ||
        run(c, SQL_TABLE, 0, NULL, MIGRATE_TABLE, NULL, err, errlen) < 0 ||
        run(c, "SELECT checksum FROM " MIGRATE_TABLE " WHERE version = $1::integer", 1, verp,
            MIGRATE_TABLE, &res, err, errlen) < 0)
        goto rollback;
    if (PQntuples(res) == 1) {
        *st = strcmp(PQgetvalue(res, 0, 0), sum) ? MIGRATE_CHANGED : MIGRATE_SKIPPED;
        rc = run(c, "COMMIT", 0, NULL, "COMMIT", NULL, err, errlen) < 0 ? -1 : 0;
        goto out;
    }
    if (run_file(c, path, sql, err, errlen) < 0) goto rollback;
    if (run(c,
            "INSERT INTO " MIGRATE_TABLE " (version, file, checksum)"
            " VALUES ($1::integer, $2, $3)",
            3, rowp, MIGRATE_TABLE, NULL, err, errlen) < 0)
        goto rollback;
    if (run(c, "COMMIT", 0, NULL, "COMMIT", NULL, err, errlen) < 0) goto out;
    *st = MIGRATE_APPLIED;
    rc = 1;
    goto out;
rollback:
    PQclear(PQexec(c, "ROLLBACK"));
out:
    PQclear(res);
    free(sql);
    return rc;
}

int migrate_apply(PGconn *c, const char *dir,
                  void (*cb)(void *ctx, const migration_t *m, migrate_status_t st), void *ctx,
                  char *err, size_t errlen) {
    migration_t *v;
    size_t n;
    int applied = 0;
    if (migrate_list(dir, &v, &n, err, errlen) < 0) return -1;
    if (n == 0) {
        snprintf(err, errlen, "%s: no NNN_name.sql migrations", dir);
        free(v);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        migrate_status_t st;
        int r = apply_one(c, dir, &v[i], &st, err, errlen);
        if (r < 0) {
            applied = -1;
            break;
        }
        applied += r;
        if (cb) cb(ctx, &v[i], st);
    }
    free(v);
    return applied;
}
