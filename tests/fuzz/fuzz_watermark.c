/* fuzz_watermark: wm_decode on arbitrary bytes (a watermark arrives from Kafka: any producer
 * may write any value under the "#wm" key).
 *
 * Besides "no crash, no leak, no overflow" (ASan+UBSan), it checks what must hold for any input:
 *  - a refused value gets a reason;
 *  - an accepted one has a NUL-terminated edge of 1..HIT_STR_MAX bytes without NUL, a
 *    wm_ms >= 0, and jansson agrees it is an object with "v" 1 and "kind" "watermark";
 *  - encoding it again and decoding that gives the same edge and wm_ms, and encoding those
 *    gives the same bytes (the encoder's form is canonical). */
#include "watermark.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wm_t w, again;
    char err[256] = "";
    if (wm_decode(&w, (const char *)data, size, err, sizeof err) < 0) {
        if (!err[0]) abort();
        return 0;
    }
    size_t n = strnlen(w.edge, sizeof w.edge);
    if (n == 0 || n > HIT_STR_MAX || w.wm_ms < 0) abort();
    json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!o || json_integer_value(json_object_get(o, "v")) != 1 ||
        strcmp(json_string_value(json_object_get(o, "kind")), "watermark") != 0)
        abort();
    json_decref(o);
    static char buf[WM_ENCODED_MAX], buf2[WM_ENCODED_MAX];
    int len = wm_encode(w.edge, n, w.wm_ms, buf, sizeof buf);
    if (len <= 0) abort();
    if (wm_decode(&again, buf, (size_t)len, err, sizeof err) < 0) abort();
    if (strcmp(again.edge, w.edge) != 0 || again.wm_ms != w.wm_ms) abort();
    int len2 = wm_encode(again.edge, strlen(again.edge), again.wm_ms, buf2, sizeof buf2);
    if (len2 != len || memcmp(buf, buf2, (size_t)len) != 0) abort();
    return 0;
}
