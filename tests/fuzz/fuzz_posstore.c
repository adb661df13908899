/* fuzz_posstore: the state file parser on arbitrary bytes (the file is outside input: a disk
 * error, an operator's edit, another program's file at that path).
 *
 * Besides "no crash, no leak, no overflow" (ASan+UBSan), it checks what must hold for any input:
 *  - a refused text gets a message naming the file and a line ("fuzz:N: ..."), and leaves the
 *    store as it was;
 *  - an accepted text holds only entries the writer could have written: non-empty strings within
 *    their bounds, an absolute path, CHK 0 exactly when OFF is 0 for a position;
 *  - writing the entries back and parsing that gives the same entries, and writing those gives
 *    the same bytes (the format is canonical). */
#include "../../collector/posstore.h"
#include "hit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void same(const posstore_ent_t *a, const posstore_ent_t *b) {
    if (strcmp(a->src, b->src) || strcmp(a->path, b->path) || a->dev != b->dev ||
        a->ino != b->ino || a->fp != b->fp || a->gen != b->gen || a->done != b->done)
        abort();
    if (!a->done && (a->off != b->off || a->chk != b->chk)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    posstore_t ps, again;
    char err[512] = "";
    posstore_init(&ps);
    posstore_init(&again);
    if (posstore_parse(&ps, "fuzz", (const char *)data, size, err, sizeof err) < 0) {
        if (strncmp(err, "fuzz:", 5) != 0 || err[5] < '1' || err[5] > '9') abort();
        if (ps.n != 0) abort();
        posstore_fini(&ps);
        return 0;
    }
    for (size_t i = 0; i < ps.n; i++) {
        const posstore_ent_t *e = &ps.v[i];
        size_t sl = strlen(e->src), pl = strlen(e->path);
        if (sl == 0 || sl > HIT_STR_MAX || pl == 0 || pl > POSSTORE_PATH_MAX || e->path[0] != '/')
            abort();
        if (!e->done && (e->off == 0) != (e->chk == 0)) abort();
    }
    char *text = NULL, *text2 = NULL;
    long n = posstore_format(ps.v, ps.n, &text);
    if (n < 0) abort();
    if (posstore_parse(&again, "fuzz", text, (size_t)n, err, sizeof err) < 0) abort();
    if (again.n != ps.n) abort();
    for (size_t i = 0; i < ps.n; i++)
        same(&ps.v[i], &again.v[i]);
    long n2 = posstore_format(again.v, again.n, &text2);
    if (n2 != n || memcmp(text, text2, (size_t)n) != 0) abort();
    free(text);
    free(text2);
    posstore_fini(&ps);
    posstore_fini(&again);
    return 0;
}
