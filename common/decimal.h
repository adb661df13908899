/* decimal.h: unsigned 64-bit integers written in decimal, for the JSON writers on hot paths
 * (jsonw.c, hit.c's record encoder): two digits per division, the width known before writing so
 * that digits go straight into place. Header-only (static inline) so that each caller's loop
 * inlines it; tested through jsonw's and hit_encode's tests (against jansson). */
#ifndef DECIMAL_H
#define DECIMAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Pairs of decimal digits "00".."99". */
static const char dec_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";

static const uint64_t dec_pow10[20] = {1u,
                                       10u,
                                       100u,
                                       1000u,
                                       10000u,
                                       100000u,
                                       1000000u,
                                       10000000u,
                                       100000000u,
                                       1000000000u,
                                       10000000000u,
                                       100000000000u,
                                       1000000000000u,
                                       10000000000000u,
                                       100000000000000u,
                                       1000000000000000u,
                                       10000000000000000u,
                                       100000000000000000u,
                                       1000000000000000000u,
                                       10000000000000000000u};

/* Number of decimal digits of v: 1233 / 4096 is just above log10(2), so t is floor(log10(v)) or
 * one less, and one comparison settles which. */
static inline size_t dec_width(uint64_t v) {
    unsigned bits = 64 - (unsigned)__builtin_clzll(v | 1);
    unsigned t = (bits * 1233) >> 12;
    return t + (v >= dec_pow10[t]) + (v == 0);
}

/* Writes the decimal digits of v ending just before end (dec_width(v) bytes). */
static inline void dec_digits(char *end, uint64_t v) {
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, dec_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, dec_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
}

#endif
