/* owner.c: partition ownership by advisory locks in PostgreSQL (see owner.h). */
#include "owner.h"

#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct owner {
    char *conninfo, *instance;
    int32_t ns_parts, ns_members; /* first keys of the partition and member-slot locks */
    PGconn *conn;                 /* the owner connection: its session holds the locks */
    int slot;                     /* member slot held, -1 none */
};

/* FNV-1a of prefix + group + "/" + topic, folded to 31 bits. */
int32_t owner_ns(owner_kind_t kind, const char *group, const char *topic) {
    uint32_t h = 2166136261u;
    const char *parts[] = {kind == OWNER_PARTS ? "parts:" : "members:", group, "/", topic};
    for (size_t i = 0; i < 4; i++)
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
            h = (h ^ *p) * 16777619u;
    return (int32_t)(h & 0x7fffffffu);
}

int owner_config_error(const char *msg) {
    /* The server's refusals, then libpq's checks of the connection string's values, which
     * PQconninfoParse does not make (it knows the keywords, not their values): a bad sslmode,
     * gssencmode, channel_binding or target_session_attrs ("invalid sslmode value: ..."), a
     * port that is not a number, more hostaddr than host values. Retrying cannot fix these. */
    static const char *const says[] = {"does not exist",
                                       "authentication failed",
                                       "no pg_hba.conf entry",
                                       "password is required",
                                       "permission denied for database",
                                       "invalid connection option",
                                       "value: \"",
                                       "for connection option",
                                       "invalid port number",
                                       "could not match",
                                       "when SSL support is not compiled in"};
    for (size_t i = 0; i < sizeof says / sizeof *says; i++)
        if (strstr(msg, says[i])) return 1;
    return 0;
}

owner_t *owner_new(const char *conninfo, const char *instance, const char *group,
                   const char *topic) {
    owner_t *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->conninfo = strdup(conninfo ? conninfo : "");
    o->instance = strdup(instance);
    o->ns_parts = owner_ns(OWNER_PARTS, group, topic);
    o->ns_members = owner_ns(OWNER_MEMBERS, group, topic);
    o->slot = -1;
    if (!o->conninfo || !o->instance) {
        owner_free(o);
        return NULL;
    }
    return o;
}

void owner_free(owner_t *o) {
    if (!o) return;
    owner_disconnect(o);
    free(o->conninfo);
    free(o->instance);
    free(o);
}

void owner_disconnect(owner_t *o) {
    PQfinish(o->conn);
    o->conn = NULL;
    o->slot = -1;
}

int owner_connected(const owner_t *o) {
    return o->conn != NULL;
}

/* The message of a failed result or connection, one line, into err; closes the connection. */
static int fail(owner_t *o, PGresult *res, const char *what, char *err, size_t errlen) {
    const char *m = res ? PQresultErrorMessage(res) : "";
    if (!m || !*m) m = o->conn ? PQerrorMessage(o->conn) : "out of memory";
    snprintf(err, errlen, "%s: %s", what, m);
    err[strcspn(err, "\n")] = 0;
    store_redact(err);
    PQclear(res);
    owner_disconnect(o);
    return -1;
}

/* One statement with int/text parameters; the result if it returned rows, else NULL (failed:
 * err set, connection closed). */
static PGresult *query(owner_t *o, const char *sql, int n, const char *const *vals,
                       const char *what, char *err, size_t errlen) {
    PGresult *res = PQexecParams(o->conn, sql, n, NULL, vals, NULL, NULL, 0);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) return res;
    fail(o, res, what, err, errlen);
    return NULL;
}

/* pg_try_advisory_lock / pg_advisory_unlock on (ns, key): 1 true, 0 false, -1 failed. */
static int lock_call(owner_t *o, const char *fn, int32_t ns, int32_t key, char *err,
                     size_t errlen) {
    char sql[96], a[16], b[16];
    snprintf(sql, sizeof sql, "SELECT %s($1::int4, $2::int4)", fn);
    snprintf(a, sizeof a, "%d", (int)ns);
    snprintf(b, sizeof b, "%d", (int)key);
    const char *p[2] = {a, b};
    PGresult *res = query(o, sql, 2, p, fn, err, errlen);
    if (!res) return -1;
    int yes = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return yes;
}

int owner_connect(owner_t *o, int member, int *config, char *err, size_t errlen) {
    /* A network that drops the server silently must not leave this member believing it owns
     * partitions for the kernel's TCP timeouts (minutes): keepalives and an unacknowledged-send
     * limit fail the owner connection within ~11 s (the server drops the idle session after
     * OWNER_IDLE_TIMEOUT on its side). A server that does not answer the connection at all
     * (packets dropped) is given up after connect_timeout, not the kernel's ~2 min of SYN
     * retries, so that the loop turns (heartbeat.h: /healthz). Before dbname: the connection
     * string may override them. */
    const char *keys[] = {"keepalives_idle",           "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout",          "connect_timeout",     "dbname",
                          "fallback_application_name", "client_encoding",     NULL};
    const char *vals[] = {"5", "2", "3", "10000", "10", o->conninfo, o->instance, "UTF8", NULL};
    *config = 0;
    owner_disconnect(o);
    o->conn = PQconnectdbParams(keys, vals, 1);
    if (!o->conn || PQstatus(o->conn) != CONNECTION_OK) {
        fail(o, NULL, "cannot connect to PostgreSQL", err, errlen);
        *config = owner_config_error(err);
        return -1;
    }
    /* The instance names this member in pg_stat_activity (`billing offsets` shows it), even
     * when the connection string sets another application_name. */
    const char *p[1] = {o->instance};
    PGresult *res = query(o, "SELECT set_config('application_name', $1, false)", 1, p,
                          "naming the session", err, errlen);
    if (!res) return -1;
    PQclear(res);
    /* A member that hangs (SIGSTOP, a stalled loop) must not keep its partitions for ever: the
     * server ends a session idle this long, and its locks with it. A live member looks every
     * OWN_LOOK_MS (billing/meter_int.h), far more often. PostgreSQL 14 and later; older servers
     * ignore it here (a hung member then holds its partitions until it is killed). */
    PQclear(PQexec(o->conn,
                   "SELECT set_config('idle_session_timeout', '" OWNER_IDLE_TIMEOUT "', false)"));
    for (int s = 0; member && s < OWNER_SLOTS_MAX; s++) {
        int got = lock_call(o, "pg_try_advisory_lock", o->ns_members, s, err, errlen);
        if (got < 0) return -1;
        if (got) {
            o->slot = s;
            return 0;
        }
    }
    if (member) {
        snprintf(err, errlen, "every member slot (%d) is taken", OWNER_SLOTS_MAX);
        owner_disconnect(o);
        return -1;
    }
    return 0;
}

int owner_look(owner_t *o, int32_t nparts, uint8_t *other, int *members, int *rank, char *err,
               size_t errlen) {
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", (int)o->ns_parts);
    snprintf(b, sizeof b, "%d", (int)o->ns_members);
    const char *p[2] = {a, b};
    if (!o->conn) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    PGresult *res = query(o,
                          "SELECT l.classid::int8, l.objid::int8, l.pid = pg_backend_pid()"
                          " FROM pg_locks l"
                          " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
                          " AND l.database = (SELECT oid FROM pg_database"
                          "                   WHERE datname = current_database())"
                          " AND l.classid IN ($1::int8::oid, $2::int8::oid)",
                          2, p, "reading pg_locks", err, errlen);
    if (!res) return -1;
    memset(other, 0, (size_t)nparts);
    *members = 0;
    *rank = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        long long ns = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        long long key = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        int mine = strcmp(PQgetvalue(res, r, 2), "t") == 0;
        if (ns == o->ns_members) {
            (*members)++;
            if (o->slot >= 0 && key < o->slot) (*rank)++;
        } else if (!mine && key >= 0 && key < nparts) {
            other[key] = 1;
        }
    }
    PQclear(res);
    return 0;
}

int owner_take(owner_t *o, int32_t part, char *err, size_t errlen) {
    if (!o->conn) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    return lock_call(o, "pg_try_advisory_lock", o->ns_parts, part, err, errlen);
}

int owner_release(owner_t *o, int32_t part, char *err, size_t errlen) {
    if (!o->conn) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    return lock_call(o, "pg_advisory_unlock", o->ns_parts, part, err, errlen) < 0 ? -1 : 0;
}
