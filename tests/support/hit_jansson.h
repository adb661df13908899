/* hit_jansson.h: the jansson-based oracle for the hit codec, for tests and fuzz targets only.
 *
 * hit_decode_jansson decodes a record the slow, obviously-right way (json_loadb with
 * JSON_REJECT_DUPLICATES, then the same key, type, version and range rules as hit_decode, written
 * again from the contract), so that differential tests can require hit_decode to agree with it on
 * every input: same return code, same field values. hit_utf8_sanitize is an independent model of
 * the encoder's string rule (invalid UTF-8 bytes and NUL become U+FFFD). */
#ifndef HIT_JANSSON_H
#define HIT_JANSSON_H

#include "hit.h"

#include <stddef.h>

/* As hit_decode, but every string is copied into scratch (at most len bytes are needed). */
int hit_decode_jansson(hit_t *h, const char *buf, size_t len, char *scratch, size_t scratch_cap,
                       char *err, size_t errlen);

/* Writes in[0..n) to out with each byte that is not part of a valid UTF-8 sequence, and each NUL
 * byte, replaced by EF BF BD; out needs 3 * n bytes. Returns the length written. */
size_t hit_utf8_sanitize(const char *in, size_t n, char *out);

/* Length (1..4) of the valid UTF-8 sequence at p[0..n), or 0 if none starts there (NUL
 * included). Written from RFC 3629 by code point, apart from common/jsonw.c's byte ranges. */
size_t hit_utf8_valid_len(const char *p, size_t n);

/* A realistic hit and its encoded text, as hit_encode writes it. */
#define HIT_SAMPLE_JSON                                                                            \
    "{\"v\":1,\"ts\":1764021841123,\"customer\":\"acme\",\"host\":\"www.acme.example\","           \
    "\"bytes\":51234,\"status\":200,\"country\":\"US\",\"region\":\"CA\",\"edge\":\"edge-fra-"     \
    "01\","                                                                                        \
    "\"src\":\"3f9a1c2e:/var/log/nginx/access.log\",\"off\":1048576}"
hit_t hit_sample(void);

/* Decodes text[0..n) with hit_decode and with the oracle (each with its own scratch, kept until
 * the next call). Returns the code both gave, with hit_decode's values in *out (if given) and
 * its message in err; or HIT_DECODERS_DISAGREE with the difference described in why. */
#define HIT_DECODERS_DISAGREE 1
int hit_decode_both(const char *text, size_t n, hit_t *out, char *err, size_t errlen, char *why,
                    size_t whylen);

/* 1 if the two hits hold the same values (strings compared byte for byte). */
int hit_equal(const hit_t *a, const hit_t *b);

#endif
