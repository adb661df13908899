/* custid.h: the one definition of a valid customer id.
 *
 * A customer id travels through every stage: the collector's host map, the hit record's
 * `customer` and the Kafka message key, the aggregator's tokens file and URL path, and
 * PostgreSQL's `customers.id` (a CHECK in schema/ holds the same rule). Where one
 * stage accepted an id another refused (`billing hosts` printing `acme+eu`, which the host map
 * then refused on reload), a customer's traffic was rejected. So there is one rule, here:
 * 1..CUSTID_MAX bytes of [A-Za-z0-9._-]. It keeps ids safe in URLs, file formats with `#`
 * comments and white-space separated fields, and log lines, and it can never start with '#',
 * which marks Kafka keys that are not customers (watermark.h). */
#ifndef CUSTID_H
#define CUSTID_H

#include <stddef.h>

#define CUSTID_MAX 64
/* The same rule as a POSIX regular expression, for SQL CHECKs and documentation. */
#define CUSTID_REGEX "^[A-Za-z0-9._-]{1,64}$"
/* What the rule says, for error messages. */
#define CUSTID_RULE "1 to 64 of the characters A-Z a-z 0-9 . _ -"

/* 1 if s[0..n) is a valid customer id, else 0. */
static inline int custid_valid(const char *s, size_t n) {
    if (n == 0 || n > CUSTID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

#endif
