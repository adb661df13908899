/* fuzz_hit_decode: hit_decode agrees with the jansson oracle on every input. Both decode the raw
 * bytes; they must return the same code (accept/reject and the error class) and, when they
 * accept, the same field values. hit_decode must also keep its slices inside the input or the
 * scratch buffer and write an error message whenever it refuses. */
#include "../../common/hit.h"
#include "../support/hit_jansson.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mismatch(const char *what, const uint8_t *data, size_t size, int a, int b,
                     const char *ea, const char *eb) {
    fprintf(stderr,
            "fuzz_hit_decode: %s: hit_decode=%d (%s) oracle=%d (%s) input=%zu bytes '%.*s'\n", what,
            a, ea, b, eb, size, (int)(size > 400 ? 400 : size), (const char *)data);
    abort();
}

static int inside(slice_t s, const char *a, size_t an, const char *b, size_t bn) {
    if (s.n == 0) return 1;
    return (s.p >= a && s.p + s.n <= a + an) || (s.p >= b && s.p + s.n <= b + bn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* exact-size copies so that ASan sees any read or write past them */
    char *buf = malloc(size ? size : 1);
    char *s1 = malloc(size ? size : 1), *s2 = malloc(size ? size : 1);
    if (!buf || !s1 || !s2) goto out;
    if (size) memcpy(buf, data, size);
    hit_t a, b;
    char ea[256] = "", eb[256] = "";
    int ra = hit_decode(&a, buf, size, s1, size, ea, sizeof ea);
    int rb = hit_decode_jansson(&b, buf, size, s2, size, eb, sizeof eb);
    if (ra != rb) mismatch("return codes differ", data, size, ra, rb, ea, eb);
    if (ra != HIT_OK && ea[0] == 0) mismatch("no error message", data, size, ra, rb, ea, eb);
    if (ra == HIT_OK) {
        if (!hit_equal(&a, &b)) mismatch("values differ", data, size, ra, rb, ea, eb);
        slice_t all[6] = {a.customer, a.host, a.country, a.region, a.edge, a.src};
        for (int i = 0; i < 6; i++)
            if (!inside(all[i], buf, size, s1, size))
                mismatch("slice outside input and scratch", data, size, ra, rb, ea, eb);
    }
out:
    free(buf);
    free(s1);
    free(s2);
    return 0;
}
