/* redact.c: connection strings' secrets kept out of messages (store_redact, store.h), and the
 * one syntax check of a connection string (store_check_conninfo). */
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Replaces s[from..to) by "***". */
static void mask(char *s, size_t from, size_t to) {
    memmove(s + from + 3, s + to, strlen(s + to) + 1);
    memcpy(s + from, "***", 3);
}

/* The end of a password value starting at s + i: a quoted one ('...' with \' inside), or up to
 * a blank, '&', '"' or the end. */
static size_t value_end(const char *s, size_t i) {
    if (s[i] == '\'') {
        for (i++; s[i] && s[i] != '\''; i++)
            if (s[i] == '\\' && s[i + 1]) i++;
        return s[i] ? i + 1 : i;
    }
    while (s[i] && !strchr(" \t\n&\"", s[i]))
        i++;
    return i;
}

char *store_redact(char *s) {
    for (size_t i = 0; s[i]; i++) {
        if (strncasecmp(s + i, "password", 8) == 0) {
            size_t j = i + 8;
            while (s[j] == ' ' || s[j] == '\t')
                j++;
            if (s[j] != '=') continue;
            j++;
            while (s[j] == ' ' || s[j] == '\t')
                j++;
            size_t e = value_end(s, j);
            if (e > j && strncmp(s + j, "***", e - j)) mask(s, j, e);
            i = j;
        } else if (strncmp(s + i, "://", 3) == 0) { /* scheme://user:pass@host */
            size_t j = i + 3, colon = 0;
            for (; s[j] && !strchr("/?@ \t\n\"", s[j]); j++)
                if (s[j] == ':' && !colon) colon = j;
            if (s[j] == '@' && colon && strncmp(s + colon + 1, "***@", 4)) mask(s, colon + 1, j);
            i += 2;
        }
    }
    return s;
}

int store_check_conninfo(const char *conninfo, char *err, size_t errlen) {
    char *perr = NULL;
    PQconninfoOption *o = PQconninfoParse(conninfo, &perr);
    if (o) {
        PQconninfoFree(o);
        return 0;
    }
    snprintf(err, errlen, "--db: bad connection string: %s", perr ? perr : "out of memory");
    err[strcspn(err, "\n")] = 0;
    PQfreemem(perr);
    store_redact(err);
    return -1;
}
