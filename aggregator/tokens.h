/* tokens.h: who may read which customer's windows, the aggregator's `--tokens FILE` (CONTRACT.md).
 *
 * The file holds no tokens, only their SHA-256: a stolen copy of it opens nothing. A request's
 * bearer token is hashed and compared with EVERY entry in constant time (CRYPTO_memcmp, no early
 * exit), so neither the time taken nor the position of a match says anything about the hashes.
 * The set is read once and then only read; a reload (SIGHUP) builds a new set and swaps it in.
 *
 * File format, one entry per line:
 *     CUSTOMER_ID SHA256_HEX   fields separated by spaces or tabs; the hex in upper or lower case
 *     * SHA256_HEX             an operator token: it may read every customer
 *     # comment                '#' starts a comment, on its own line or after the fields
 * Blank lines are fine, and so is a file without entries (then every request is refused).
 * CUSTOMER_ID is 1..TOKENS_CUSTOMER_MAX bytes of [A-Za-z0-9._-]. The same hash may appear on
 * several lines: that token then reads each customer named. A bad line is an error naming
 * "FILE:LINE: problem" (the aggregator exits 2 with it at start, keeps the old set on reload). */
#ifndef TOKENS_H
#define TOKENS_H

#include <stddef.h>

/* Longest customer id, as in the host map. */
#define TOKENS_CUSTOMER_MAX 64
/* Longest bearer token we hash; a longer one is refused unhashed (no work for an attacker). */
#define TOKENS_TOKEN_MAX 512
/* Largest tokens file read. */
#define TOKENS_FILE_MAX (16u << 20)
/* Bytes of a SHA-256 digest, and of its hex form. */
#define TOKENS_HASH_BYTES 32
#define TOKENS_HEX_LEN 64

typedef struct tokens tokens_t;

/* What tokens_check says about a token and a customer. */
typedef enum tokens_verdict {
    TOKENS_UNKNOWN = 0,   /* no entry has this token's hash: 401 */
    TOKENS_FORBIDDEN = 1, /* a known token, but not for this customer: 403 */
    TOKENS_ALLOWED = 2,   /* an operator token, or one listed for this customer */
} tokens_verdict_t;

/* Reads and parses the file at path. NULL with "FILE:LINE: problem" (or "FILE: reason" when the
 * file cannot be read) in err. The caller owns the result: tokens_free. */
tokens_t *tokens_load(const char *path, char *err, size_t errlen);

/* The same from text[0..len) (any bytes); name stands for the file name in messages. */
tokens_t *tokens_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);

/* Whether token[0..n) (any bytes) may read customer (NUL-terminated; may be "" when the request
 * names none, which only an operator token is allowed). Hashes the token and compares the hash
 * with every entry whatever the outcome. */
tokens_verdict_t tokens_check(const tokens_t *t, const char *token, size_t n, const char *customer);

/* The customers token[0..n) is listed for: sets *is_operator (1 for an operator token), writes
 * the distinct customer ids, at most cap of them (pointers into t: valid until tokens_free), in
 * file order, and returns how many it wrote. An unknown token gives 0 and *is_operator 0. Every
 * entry's hash is compared, as in tokens_check. */
size_t tokens_whose(const tokens_t *t, const char *token, size_t n, int *is_operator,
                    const char **customers, size_t cap);

/* The distinct customer ids the file names (operator lines left out), sorted: writes at most
 * cap pointers (into t: valid until tokens_free) and returns how many there are in all.
 * What an operator picks from (GET /v1/customers). */
size_t tokens_customers(const tokens_t *t, const char **customers, size_t cap);

/* Number of entries. */
size_t tokens_size(const tokens_t *t);

/* 1 if s[0..n) is a valid customer id (1..TOKENS_CUSTOMER_MAX of [A-Za-z0-9._-]), else 0. */
int tokens_customer_ok(const char *s, size_t n);

/* Writes the lower-case hex SHA-256 of token[0..n) and a NUL into hex (TOKENS_HEX_LEN + 1 bytes);
 * 0, or -1 if libcrypto fails. What an operator runs to make a file line, in C. */
int tokens_hash_hex(const char *token, size_t n, char hex[TOKENS_HEX_LEN + 1]);

/* Frees the set; NULL is fine. */
void tokens_free(tokens_t *t);

#endif
