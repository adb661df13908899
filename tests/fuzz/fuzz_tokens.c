/* fuzz_tokens: the tokens file parser on arbitrary text, and tokens made from the input.
 *
 * Besides "no crash, no leak, no overflow" (ASan+UBSan), it checks what must hold for any input:
 *  - a refused text gets a message naming the file and a line ("fuzz.tokens:N: ...") with N
 *    at most the number of lines;
 *  - an accepted text has no more entries than lines, and checks of pieces of the text as
 *    tokens give one of the three verdicts, consistent with tokens_whose;
 *  - a file written from the input's own pieces (each piece a token, hashed, for customer cI,
 *    and the last one an operator token) is accepted, and every verdict equals a naive oracle
 *    that compares the tokens themselves: allowed iff some line with this exact token names
 *    the customer or '*', forbidden iff some line has this token, unknown otherwise. */
#include "../../aggregator/tokens.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIECES_MAX 6

static void check_verdict(const tokens_t *t, const char *tok, size_t n, const char *cust) {
    tokens_verdict_t v = tokens_check(t, tok, n, cust);
    if (v != TOKENS_UNKNOWN && v != TOKENS_FORBIDDEN && v != TOKENS_ALLOWED) abort();
    const char *cs[8];
    int op = -1;
    size_t k = tokens_whose(t, tok, n, &op, cs, 8);
    if (op != 0 && op != 1) abort();
    if ((v == TOKENS_UNKNOWN) != (k == 0 && !op)) abort();
    for (size_t i = 0; i < k; i++)
        if (!tokens_customer_ok(cs[i], strlen(cs[i]))) abort();
}

static void parse_as_file(const uint8_t *data, size_t size) {
    char err[256] = "";
    tokens_t *t = tokens_parse((const char *)data, size, "fuzz.tokens", err, sizeof err);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (!t) {
        unsigned line = 0;
        if (sscanf(err, "fuzz.tokens:%u: ", &line) != 1 || line == 0 || line > lines) abort();
        return;
    }
    if (tokens_size(t) > lines) abort();
    /* The text's own words as tokens, for a customer and for "". */
    for (size_t i = 0, start = 0; i <= size && i < 4096; i++) {
        if (i < size && data[i] != ' ' && data[i] != '\n') continue;
        if (i > start) {
            check_verdict(t, (const char *)data + start, i - start, "acme");
            check_verdict(t, (const char *)data + start, i - start, "");
        }
        start = i + 1;
    }
    tokens_free(t);
}

static void oracle(const uint8_t *data, size_t size) {
    const char *p[PIECES_MAX];
    size_t pn[PIECES_MAX], np = 0, start = 0;
    for (size_t i = 0; i <= size && np < PIECES_MAX; i++) {
        if (i < size && data[i] != '\n') continue;
        if (i > start && i - start <= TOKENS_TOKEN_MAX) {
            p[np] = (const char *)data + start;
            pn[np++] = i - start;
        }
        start = i + 1;
    }
    if (np == 0) return;
    char file[PIECES_MAX * 96], hex[TOKENS_HEX_LEN + 1], err[256];
    size_t o = 0;
    for (size_t i = 0; i < np; i++) {
        if (tokens_hash_hex(p[i], pn[i], hex) < 0) abort();
        int op = np > 1 && i == np - 1;
        /* Upper case now and then: the file may use either. */
        if (i % 2)
            for (char *h = hex; *h; h++)
                if (*h >= 'a') *h = (char)(*h - 32);
        if (op)
            o += (size_t)snprintf(file + o, sizeof file - o, "* %s # op\n", hex);
        else
            o += (size_t)snprintf(file + o, sizeof file - o, "c%zu\t%s\n", i, hex);
    }
    tokens_t *t = tokens_parse(file, o, "oracle", err, sizeof err);
    if (!t) abort();
    for (size_t i = 0; i < np; i++) {
        for (size_t c = 0; c <= np; c++) {
            char cust[16];
            snprintf(cust, sizeof cust, "c%zu", c);
            int known = 0, allowed = 0;
            for (size_t k = 0; k < np; k++) {
                if (pn[k] != pn[i] || memcmp(p[k], p[i], pn[i]) != 0) continue;
                known = 1;
                allowed |= (np > 1 && k == np - 1) || k == c;
            }
            tokens_verdict_t want = allowed ? TOKENS_ALLOWED
                                    : known ? TOKENS_FORBIDDEN
                                            : TOKENS_UNKNOWN;
            if (tokens_check(t, p[i], pn[i], cust) != want) abort();
        }
    }
    tokens_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse_as_file(data, size);
    oracle(data, size);
    return 0;
}
