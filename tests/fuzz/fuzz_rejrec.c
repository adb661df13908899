/* fuzz_rejrec: the text billing keeps of a rejected record (billing_rejects.record), from any
 * bytes. What must hold for every input, since PostgreSQL refuses the whole flush otherwise:
 *  - the text is at most REJREC_MAX bytes, holds no NUL, and is valid UTF-8 (jsonw's rule, the
 *    same as PostgreSQL's: shortest forms, no surrogates, at most U+10FFFF);
 *  - an input that is already valid UTF-8 without NUL is kept as it is when it fits, and as its
 *    longest prefix of whole characters within REJREC_MAX otherwise; "altered" is 0 for it;
 *  - "altered" is 1 exactly when some byte was replaced. */
#include "../../billing/rejrec.h"
#include "../../common/jsonw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the longest prefix of whole valid characters (no NUL) of s[0..n). */
static size_t valid_prefix(const unsigned char *s, size_t n, int *all) {
    size_t i = 0;
    while (i < n) {
        size_t k = s[i] ? jsonw_utf8_seq(s + i, n - i) : 0;
        if (!k) break;
        i += k;
    }
    *all = i == n;
    return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char out[REJREC_MAX + 1];
    int altered, all;
    size_t n = rejrec_text((const char *)data, size, out, &altered);
    if (n > REJREC_MAX || out[n] != 0 || memchr(out, 0, n)) abort();
    if (valid_prefix((const unsigned char *)out, n, &all) != n || !all) abort();
    size_t p = valid_prefix(data, size, &all);
    if (all) {
        if (altered) abort();
        if (size <= REJREC_MAX && (n != size || memcmp(out, data, size))) abort();
        if (size > REJREC_MAX && (n > REJREC_MAX || memcmp(out, data, n))) abort();
        /* the cut is the longest prefix of whole characters that fits */
        if (size > REJREC_MAX && n + jsonw_utf8_seq(data + n, size - n) <= REJREC_MAX) abort();
    } else if (p < REJREC_MAX && n > p && !altered) {
        abort(); /* something beyond the valid prefix was kept: it must have been replaced */
    }
    return 0;
}
