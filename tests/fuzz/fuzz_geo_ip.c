/* fuzz_geo_ip: geo_parse_ip reads a client address from any log bytes. For any input it returns
 * 4, 6 or 0 exactly as inet_pton (the oracle) accepts the text as IPv4, as IPv6, or neither, to
 * the same 16 bytes; text longer than GEO_IP_TEXT_MAX or holding a NUL is never an address. */
#include "../../collector/geo.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *exact = malloc(size ? size : 1); /* exact size: ASan sees reads past the text */
    if (!exact) abort();
    if (size) memcpy(exact, data, size);
    uint8_t got[16], want[16] = {0};
    int fam = geo_parse_ip(exact, size, got);
    int expect = 0;
    if (size > 0 && size <= GEO_IP_TEXT_MAX && !memchr(data, 0, size)) {
        char buf[GEO_IP_TEXT_MAX + 1];
        memcpy(buf, data, size);
        buf[size] = 0;
        if (memchr(buf, ':', size))
            expect = inet_pton(AF_INET6, buf, want) == 1 ? 6 : 0;
        else
            expect = inet_pton(AF_INET, buf, want) == 1 ? 4 : 0;
    }
    if (fam != expect) abort();
    if (fam && memcmp(got, want, 16) != 0) abort();
    free(exact);
    return 0;
}
