/* fuzz_httpd_head: common/httpd.c's check that a request head holds no byte libmicrohttpd hid,
 * on arbitrary input parsed here the way MHD 0.9.75 parses a head in place (line ends at CR LF
 * or a bare LF, both turned into NULs; a line whose first byte is NUL ends the head; each header's
 * colon found with strchr and turned into a NUL; spaces and tabs after it skipped; the value's
 * length by strlen).
 *
 * Besides "no crash, no overflow" (ASan+UBSan), it checks what must hold for any input:
 *  - a head without any NUL byte and without a folded line is exact (1): nothing is refused
 *    that MHD read whole;
 *  - a head where a header's value is cut by a NUL byte followed, on the same line, by anything
 *    but NULs and CRs is not exact (0): a value MHD cut short of visible bytes is never passed
 *    on. (A value followed by NULs alone hides nothing visible; on the last line three zero
 *    bytes can also be a LF plus a CR LF, so such a line may pass.) */
#include "../../common/httpd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The end of the line starting at i (index of its LF), or n when there is none. */
static size_t line_end(const char *b, size_t i, size_t n) {
    const char *lf = memchr(b + i, '\n', n - i);
    return lf ? (size_t)(lf - b) : n;
}

/* Turns the line end at lf into NULs (the CR before it too); the line's length. */
static size_t cut(char *b, size_t start, size_t lf) {
    size_t len = lf - start;
    if (len && b[lf - 1] == '\r') {
        b[lf - 1] = 0;
        len--;
    }
    b[lf] = 0;
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *b = malloc(size + 1);
    httpd_hdr_t h[HTTPD_HEADERS_MAX];
    int cut_value[HTTPD_HEADERS_MAX]; /* 1: a NUL, then a visible byte, before the line end */
    size_t n = 0;
    int folded = 0;
    if (!b) return 0;
    memcpy(b, data, size);
    b[size] = 0;
    size_t lf = line_end(b, 0, size), i;
    if (lf == size || lf == 0 || b[0] == '\r') goto out; /* no request line */
    cut(b, 0, lf);
    for (i = lf + 1; i < size;) {
        lf = line_end(b, i, size);
        if (lf == size) goto out; /* the head never ends: MHD waits */
        size_t len = cut(b, i, lf);
        if (len == 0 || b[i] == 0) break;            /* the empty line: the head ends */
        if (b[i] == ' ' || b[i] == '\t') folded = 1; /* MHD would join it into new memory */
        char *colon = strchr(b + i, ':');
        if (!colon || n == HTTPD_HEADERS_MAX) goto out; /* MHD answers 400 itself */
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        h[n] = (httpd_hdr_t){b + i, v, (size_t)(colon - (b + i)), strlen(v)};
        const uint8_t *nul = memchr(data + (v - b), 0, lf - (size_t)(v - b));
        cut_value[n] = 0;
        for (const uint8_t *p = nul; p && p < data + lf; p++)
            cut_value[n] |= *p != 0 && *p != '\r';
        n++;
        i = lf + 1;
    }
    if (i >= size) goto out;
    size_t block = lf + 1;
    int nul_anywhere = memchr(data, 0, block) != NULL, any_cut = 0;
    for (size_t k = 0; k < n; k++)
        any_cut |= cut_value[k];
    int exact = httpd_block_exact(b, block, h, n);
    if (!nul_anywhere && !folded && exact != 1) abort();
    if (any_cut && exact != 0) abort();
out:
    free(b);
    return 0;
}
