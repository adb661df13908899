/* bench_format: log-line parsing rate of format_parse, one core, no I/O.
 *
 *   bench_format [FILE [FORMAT [REPEAT]]]
 *
 * FILE (default $SHARED_DATA/apache_logs) is read into memory and split into lines once; then
 * every line is parsed REPEAT times over (default 100) with FORMAT (default combined). Prints one
 * logfmt line: format lines_per_s=... ns_per_line=... and the counts, so that a rate measured on
 * rejected lines cannot pass for the real one. */
#include "clock.h"
#include "../collector/format.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_REPEAT_DEFAULT 100

typedef struct lines {
    char *buf;   /* the whole file */
    size_t *off; /* start of each line in buf */
    size_t *len; /* its length, without "\n" */
    size_t count;
} lines_t;

static int read_lines(const char *path, lines_t *l) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    size_t cap = 1 << 20, n = 0, got;
    l->buf = malloc(cap);
    while (l->buf && (got = fread(l->buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n < cap) continue;
        char *bigger = realloc(l->buf, cap *= 2);
        if (!bigger) free(l->buf);
        l->buf = bigger;
    }
    fclose(fp);
    if (!l->buf) return -1;
    size_t nl = 0;
    for (size_t i = 0; i < n; i++)
        nl += l->buf[i] == '\n';
    l->off = malloc((nl + 1) * sizeof *l->off);
    l->len = malloc((nl + 1) * sizeof *l->len);
    if (!l->off || !l->len) return -1;
    l->count = 0;
    for (size_t start = 0; start < n;) {
        char *e = memchr(l->buf + start, '\n', n - start);
        size_t end = e ? (size_t)(e - l->buf) : n;
        l->off[l->count] = start;
        l->len[l->count++] = end - start;
        start = end + 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *data = getenv("SHARED_DATA");
    char def[4096];
    snprintf(def, sizeof def, "%s/apache_logs", data ? data : "../shared/data");
    const char *path = argc > 1 ? argv[1] : def;
    const char *spec = argc > 2 ? argv[2] : "combined";
    long repeat = argc > 3 ? strtol(argv[3], NULL, 10) : BENCH_REPEAT_DEFAULT;
    if (repeat < 1) repeat = 1;

    lines_t l = {0};
    if (read_lines(path, &l) < 0 || l.count == 0) {
        fprintf(stderr, "bench_format: cannot read lines from %s\n", path);
        return 1;
    }
    char err[256];
    format_t *f = format_new(spec, err, sizeof err);
    if (!f) {
        fprintf(stderr, "bench_format: %s\n", err);
        return 1;
    }
    uint64_t ok = 0, rejected = 0, bytes = 0;
    int64_t t0 = clock_mono_us();
    for (long r = 0; r < repeat; r++) {
        for (size_t i = 0; i < l.count; i++) {
            logrec_t rec;
            const char *why;
            if (format_parse(f, l.buf + l.off[i], l.len[i], &rec, &why) == 0) {
                ok++;
                bytes += rec.bytes + (uint64_t)rec.ts_ms + rec.remote_addr.n;
            } else {
                rejected++;
            }
        }
    }
    int64_t us = clock_mono_us() - t0;
    if (us < 1) us = 1;
    double total = (double)l.count * (double)repeat;
    printf("format lines_per_s=%.0f ns_per_line=%.1f lines=%zu repeat=%ld ok=%" PRIu64
           " rejected=%" PRIu64 " checksum=%" PRIu64 " spec=%s\n",
           total / ((double)us / 1e6), (double)us * 1000.0 / total, l.count, repeat, ok, rejected,
           bytes, argc > 2 ? "custom" : "combined");
    format_free(f);
    free(l.buf);
    free(l.off);
    free(l.len);
    return 0;
}
