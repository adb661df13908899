#include "rejrec.h"

#include <string.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0 when s[0] does not start one. NUL is valid UTF-8 but not storable: 0 too. */
static size_t seq_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c == 0) return 0;
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

size_t rejrec_text(const char *in, size_t n, char *out, int *altered) {
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    *altered = 0;
    for (size_t i = 0; i < n;) {
        size_t len = seq_len(s + i, n - i);
        const char *src = len ? in + i : REPLACEMENT;
        size_t outlen = len ? len : sizeof REPLACEMENT - 1;
        if (o + outlen > REJREC_MAX) break;
        memcpy(out + o, src, outlen);
        o += outlen;
        if (!len) *altered = 1;
        i += len ? len : 1;
    }
    out[o] = 0;
    return o;
}
