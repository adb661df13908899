#include "hosts.h"

#include <errno.h>
#include <string.h>

int hosts_write(PGconn *c, FILE *out, size_t *n, char *err, size_t errlen) {
    int rc = -1;
    *n = 0;
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
    for (int i = 0; i < PQntuples(res); i++)
        fprintf(out, "%s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "writing the host map: %s", strerror(errno));
        goto out;
    }
    *n = (size_t)PQntuples(res);
    rc = 0;
out:
    PQclear(res);
    return rc;
}
