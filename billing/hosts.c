#include "hosts.h"

#include "custid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static int name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* The same rules as collector/hostmap.c's name_problem and literal_problem, on the stored
 * (lower-case) host. */
const char *hosts_problem(const char *host) {
    size_t n = strlen(host);
    if (n > 1 && host[n - 1] == '.' && host[0] != '[') n--; /* "example.com." is example.com */
    if (host[0] == '[') {
        char buf[INET6_ADDRSTRLEN + 2];
        struct in6_addr a;
        if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof buf)
            return "not a bracketed IPv6 address";
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = 0;
        return inet_pton(AF_INET6, buf, &a) == 1 ? NULL : "not a bracketed IPv6 address";
    }
    if (n >= 2 && host[0] == '*' && host[1] == '.') host += 2, n -= 2;
    if (n == 0) return "empty";
    if (n > HOSTS_HOST_MAX) return "longer than 253 bytes";
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (host[i] == '*') return "a wildcard other than a leading '*.'";
        if (host[i] == ':') return "has a port or is an IPv6 address without brackets";
        if (!name_char(host[i])) return "a character that cannot be in a host name";
        if (host[i] != '.') {
            if (++label > 63) return "a label longer than 63 bytes";
            continue;
        }
        if (label == 0) return "an empty label";
        label = 0;
    }
    return label == 0 ? "an empty label" : NULL;
}

int hosts_write(PGconn *c, FILE *out, size_t *n, size_t *skipped,
                void (*warn)(void *ctx, const char *host, const char *why), void *ctx, char *err,
                size_t errlen) {
    int rc = -1;
    *n = *skipped = 0;
    /* COLLATE "C": the same order whatever the database's locale. */
    PGresult *res = PQexecParams(c,
                                 "SELECT host, customer_id FROM customer_hosts"
                                 " ORDER BY host COLLATE \"C\"",
                                 0, NULL, NULL, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading customer_hosts: %s",
                 res ? PQresultErrorMessage(res) : PQerrorMessage(c));
        err[strcspn(err, "\n")] = 0;
        goto out;
    }
    fprintf(out, "# host map from customer_hosts (billing hosts): HOST CUSTOMER_ID\n");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *host = PQgetvalue(res, i, 0), *cust = PQgetvalue(res, i, 1);
        const char *why = hosts_problem(host);
        /* customers.id's CHECK makes this impossible since schema/006: kept as a belt */
        if (!why && !custid_valid(cust, strlen(cust))) why = "its customer id breaks the rule";
        if (why) {
            if (warn) warn(ctx, host, why);
            (*skipped)++;
            continue;
        }
        fprintf(out, "%s %s\n", host, cust);
        (*n)++;
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "writing the host map: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}
