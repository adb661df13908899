/* tokens.c: see tokens.h. Parsing (one pass, line by line, into a growing array), then the
 * checks, which walk every entry whatever they find. */
#include "tokens.h"

#include "cfgfile.h"
#include "custid.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKENS_ENTRIES_MIN 8

typedef struct tk_entry {
    unsigned char hash[TOKENS_HASH_BYTES];  /* SHA-256 of the token */
    char customer[TOKENS_CUSTOMER_MAX + 1]; /* NUL-terminated; "*" for an operator */
    size_t customer_len;
    unsigned is_op; /* 1: an operator token, it reads every customer */
} tk_entry_t;

struct tokens {
    tk_entry_t *e;
    size_t n, cap;
};

/* ---- parsing --------------------------------------------------------------------------------- */

typedef struct parser {
    tokens_t *t;
    const char *name; /* file name for messages */
    unsigned line;
    char *err;
    size_t errlen;
} parser_t;

static int fail(parser_t *p, const char *what, const char *tok, size_t n, const char *why) {
    cfg_line_t at = {.name = p->name, .no = p->line};
    return cfg_fail(&at, p->err, p->errlen, what, tok, n, why);
}

/* The one rule of every stage (custid.h), so that a tokens file never names a customer that
 * the host map or the database would refuse. */
int tokens_customer_ok(const char *s, size_t n) {
    return custid_valid(s, n);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int add_entry(parser_t *p, const char *cust, size_t cn, const char *hex, size_t hn) {
    int op = cn == 1 && cust[0] == '*';
    if (!op && cn > TOKENS_CUSTOMER_MAX)
        return fail(p, "customer id", cust, cn, "is longer than 64 bytes");
    if (!op && !tokens_customer_ok(cust, cn))
        return fail(p, "customer id", cust, cn,
                    "may hold only letters, digits, '.', '_', '-' (or be '*' for an operator)");
    unsigned char h[TOKENS_HASH_BYTES];
    int bad = hn != TOKENS_HEX_LEN;
    for (size_t i = 0; !bad && i < TOKENS_HASH_BYTES; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        bad = hi < 0 || lo < 0;
        if (!bad) h[i] = (unsigned char)(hi << 4 | lo);
    }
    if (bad)
        return fail(p, "hash", hex, hn,
                    "is not 64 hex digits: write the SHA-256 of the token, as printed by "
                    "`printf %s TOKEN | sha256sum`");
    tokens_t *t = p->t;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : TOKENS_ENTRIES_MIN;
        tk_entry_t *e = realloc(t->e, cap * sizeof *e);
        if (!e) {
            snprintf(p->err, p->errlen, "%s:%u: out of memory", p->name, p->line);
            return -1;
        }
        t->e = e;
        t->cap = cap;
    }
    tk_entry_t *e = &t->e[t->n++];
    memcpy(e->hash, h, sizeof h);
    memcpy(e->customer, cust, cn);
    e->customer[cn] = 0;
    e->customer_len = cn;
    e->is_op = (unsigned)op;
    return 0;
}

/* One line of the file, split by cfgfile. */
static int on_line(void *ctx, const cfg_line_t *l, char *err, size_t errlen) {
    parser_t *p = ctx;
    (void)err, (void)errlen; /* p holds the same buffer */
    p->line = l->no;
    if (l->nfields == 1)
        return fail(p, "entry", l->f[0].p, l->f[0].n,
                    "has one field: expected CUSTOMER_ID SHA256_HEX (or * SHA256_HEX)");
    if (l->nfields == 3)
        return fail(p, "field", l->f[2].p, l->f[2].n,
                    "is one too many: expected CUSTOMER_ID SHA256_HEX (or * SHA256_HEX)");
    return add_entry(p, l->f[0].p, l->f[0].n, l->f[1].p, l->f[1].n);
}

tokens_t *tokens_parse(const char *text, size_t len, const char *name, char *err, size_t errlen) {
    tokens_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    parser_t p = {t, name, 0, err, errlen};
    if (cfg_parse(text, len, name, 2, on_line, &p, err, errlen) < 0) {
        tokens_free(t);
        return NULL;
    }
    return t;
}

tokens_t *tokens_load(const char *path, char *err, size_t errlen) {
    size_t n = 0;
    char *buf = cfg_read(path, TOKENS_FILE_MAX, &n, err, errlen);
    if (!buf) return NULL;
    tokens_t *t = tokens_parse(buf, n, path, err, errlen);
    free(buf);
    return t;
}

/* ---- checks ---------------------------------------------------------------------------------- */

/* SHA-256 of token[0..n) into h; 0, or -1 if libcrypto fails. */
static int digest(const char *token, size_t n, unsigned char h[TOKENS_HASH_BYTES]) {
    unsigned int len = 0;
    if (EVP_Digest(token, n, h, &len, EVP_sha256(), NULL) != 1 || len != TOKENS_HASH_BYTES)
        return -1;
    return 0;
}

int tokens_hash_hex(const char *token, size_t n, char hex[TOKENS_HEX_LEN + 1]) {
    static const char digits[] = "0123456789abcdef";
    unsigned char h[TOKENS_HASH_BYTES];
    if (digest(token, n, h) < 0) return -1;
    for (size_t i = 0; i < TOKENS_HASH_BYTES; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 15];
    }
    hex[TOKENS_HEX_LEN] = 0;
    return 0;
}

/* 1 if e's hash equals h, else 0, in time independent of where (or whether) they differ. */
static unsigned same_hash(const tk_entry_t *e, const unsigned char h[TOKENS_HASH_BYTES]) {
    /* CRYPTO_memcmp gives 0 or a non-zero int (no ordering); turn it into 1 / 0 without a
     * branch: the top bit of (u | -u) is set exactly when u != 0. */
    unsigned u = (unsigned)CRYPTO_memcmp(e->hash, h, TOKENS_HASH_BYTES);
    return ((u | (0u - u)) >> (sizeof u * 8 - 1)) ^ 1u;
}

/* Whether customer is among list[0..n). */
static int listed(const char **list, size_t n, const char *customer) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], customer) == 0) return 1;
    return 0;
}

tokens_verdict_t tokens_check(const tokens_t *t, const char *token, size_t n,
                              const char *customer) {
    unsigned char h[TOKENS_HASH_BYTES];
    if (!t || n == 0 || n > TOKENS_TOKEN_MAX || digest(token, n, h) < 0) return TOKENS_UNKNOWN;
    size_t cl = strlen(customer);
    unsigned known = 0, allowed = 0;
    /* Every entry is compared: the customer test below is public (it is the request's path),
     * the hash comparison is the secret part and never stops early. */
    for (size_t i = 0; i < t->n; i++) {
        const tk_entry_t *e = &t->e[i];
        unsigned eq = same_hash(e, h);
        unsigned grants =
            e->is_op | (unsigned)(e->customer_len == cl && memcmp(e->customer, customer, cl) == 0);
        known |= eq;
        allowed |= eq & grants;
    }
    return allowed ? TOKENS_ALLOWED : known ? TOKENS_FORBIDDEN : TOKENS_UNKNOWN;
}

size_t tokens_whose(const tokens_t *t, const char *token, size_t n, int *is_operator,
                    const char **customers, size_t cap) {
    unsigned char h[TOKENS_HASH_BYTES];
    *is_operator = 0;
    if (!t || n == 0 || n > TOKENS_TOKEN_MAX || digest(token, n, h) < 0) return 0;
    size_t found = 0;
    unsigned op = 0;
    for (size_t i = 0; i < t->n; i++) {
        const tk_entry_t *e = &t->e[i];
        unsigned eq = same_hash(e, h);
        op |= eq & e->is_op;
        /* Branching on a match is fine here: which customers a known token reads is what the
         * caller asked for; the comparison itself stays constant time. */
        if (!eq || e->is_op || found == cap || listed(customers, found, e->customer)) continue;
        customers[found++] = e->customer;
    }
    *is_operator = (int)op;
    return found;
}

static int by_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t tokens_customers(const tokens_t *t, const char **customers, size_t cap) {
    if (!t || t->n == 0) return 0;
    const char **all = malloc(t->n * sizeof *all);
    if (!all) return 0;
    size_t n = 0, total = 0;
    for (size_t i = 0; i < t->n; i++)
        if (!t->e[i].is_op) all[n++] = t->e[i].customer;
    qsort(all, n, sizeof *all, by_str);
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(all[i], all[i - 1]) == 0) continue;
        if (total < cap) customers[total] = all[i];
        total++;
    }
    free(all);
    return total;
}

size_t tokens_size(const tokens_t *t) {
    return t ? t->n : 0;
}

void tokens_free(tokens_t *t) {
    if (!t) return;
    free(t->e);
    free(t);
}
