/* posstore.c: the state file of read positions: strict parser, atomic writer (see posstore.h). */
#include "posstore.h"

#include "hit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFIELDS 9

void posstore_init(posstore_t *ps) {
    memset(ps, 0, sizeof *ps);
}

void posstore_fini(posstore_t *ps) {
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->v[i].src);
        free(ps->v[i].path);
    }
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

int posstore_add(posstore_t *ps, const posstore_ent_t *e) {
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        posstore_ent_t *g = realloc(ps->v, cap * sizeof *g);
        if (!g) return -1;
        ps->v = g;
        ps->cap = cap;
    }
    posstore_ent_t c = *e;
    c.src = strdup(e->src);
    c.path = strdup(e->path);
    if (!c.src || !c.path) {
        free(c.src);
        free(c.path);
        return -1;
    }
    ps->v[ps->n++] = c;
    return 0;
}

static void fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...) {
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%zu: %s", name, line, why);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a %XX-escaped field into a new NUL-terminated string of at most max bytes. Raw bytes
 * the writer would have escaped, a bad escape, or an escaped NUL refuse the field. */
static char *unescape(const char *p, size_t n, size_t max, const char **why) {
    char *out = malloc(n + 1);
    size_t k = 0;
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c >= 0x7f) {
            *why = "unescaped control or non-ASCII byte";
            goto bad;
        }
        if (c == '%') {
            int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *why = "bad %XX escape";
                goto bad;
            }
            c = (unsigned char)(hi * 16 + lo);
            if (c == 0) {
                *why = "escaped NUL byte";
                goto bad;
            }
            i += 2;
        }
        out[k++] = (char)c;
    }
    if (k == 0 || k > max) {
        *why = k == 0 ? "empty string" : "string too long";
        goto bad;
    }
    out[k] = 0;
    return out;
bad:
    free(out);
    return NULL;
}

/* A decimal number of at most 20 digits that fits in uint64_t and is <= max. */
static int parse_u64(const char *p, size_t n, uint64_t max, uint64_t *out) {
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && p[0] == '0')) return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

/* Exactly 16 lower-case hex digits, as the writer puts them. */
static int parse_hex64(const char *p, size_t n, uint64_t *out) {
    uint64_t v = 0;
    if (n != 16) return -1;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(p[i]);
        if (h < 0 || (p[i] >= 'A' && p[i] <= 'F')) return -1;
        v = v << 4 | (uint64_t)h;
    }
    *out = v;
    return 0;
}

/* Parses one entry line (without its '\n') into e, strings malloc'd. Returns 0, or -1 with a
 * reason in *why. */
static int parse_line(const char *p, size_t n, posstore_ent_t *e, const char **why) {
    const char *f[NFIELDS];
    size_t fl[NFIELDS];
    size_t k = 0, start = 0;
    if (n == 0) {
        *why = "empty line";
        return -1;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != ' ') continue;
        if (k == NFIELDS || i == start) {
            *why = k == NFIELDS ? "more than 9 fields" : "empty field (fields take one space)";
            return -1;
        }
        f[k] = p + start;
        fl[k++] = i - start;
        start = i + 1;
    }
    if (k != NFIELDS) {
        *why = "expected 9 fields: pos|done SRC DEV INO FP GEN OFF CHK PATH";
        return -1;
    }
    memset(e, 0, sizeof *e);
    if (fl[0] == 3 && memcmp(f[0], "pos", 3) == 0)
        e->done = 0;
    else if (fl[0] == 4 && memcmp(f[0], "done", 4) == 0)
        e->done = 1;
    else {
        *why = "the first field is neither pos nor done";
        return -1;
    }
    uint64_t gen;
    if (parse_u64(f[2], fl[2], UINT64_MAX, &e->dev) < 0 ||
        parse_u64(f[3], fl[3], UINT64_MAX, &e->ino) < 0 ||
        parse_u64(f[5], fl[5], UINT32_MAX, &gen) < 0 ||
        parse_u64(f[6], fl[6], INT64_MAX, &e->off) < 0) {
        *why = "DEV, INO, GEN or OFF is not a decimal number in range";
        return -1;
    }
    e->gen = (uint32_t)gen;
    if (parse_hex64(f[4], fl[4], &e->fp) < 0 || parse_hex64(f[7], fl[7], &e->chk) < 0) {
        *why = "FP or CHK is not 16 lower-case hex digits";
        return -1;
    }
    if ((e->off == 0) != (e->chk == 0) && !e->done) {
        *why = "CHK must be 0 exactly when OFF is 0";
        return -1;
    }
    e->src = unescape(f[1], fl[1], HIT_STR_MAX, why);
    if (!e->src) return -1;
    e->path = unescape(f[8], fl[8], POSSTORE_PATH_MAX, why);
    if (!e->path || e->path[0] != '/') {
        if (e->path) *why = "PATH is not absolute";
        free(e->src);
        free(e->path);
        return -1;
    }
    return 0;
}

/* Two entries that cannot both be true: the same src read twice, or two open files with one
 * inode. */
static const char *clash(const posstore_t *ps, const posstore_ent_t *e) {
    if (e->done) return NULL;
    for (size_t i = 0; i < ps->n; i++) {
        const posstore_ent_t *o = &ps->v[i];
        if (o->done) continue;
        if (strcmp(o->src, e->src) == 0) return "duplicate src";
        if (o->dev == e->dev && o->ino == e->ino) return "duplicate DEV INO";
    }
    return NULL;
}

int posstore_parse(posstore_t *ps, const char *name, const char *buf, size_t len, char *err,
                   size_t errlen) {
    size_t hl = strlen(POSSTORE_HEADER), lineno = 1, first = ps->n;
    if (len < hl + 1 || memcmp(buf, POSSTORE_HEADER, hl) != 0 || buf[hl] != '\n') {
        fail(err, errlen, name, 1, "not a positions file (expected the header \"%s\")",
             POSSTORE_HEADER);
        return -1;
    }
    for (size_t off = hl + 1; off < len; off++) {
        lineno++;
        const char *nl = memchr(buf + off, '\n', len - off);
        if (!nl) {
            fail(err, errlen, name, lineno, "last line not terminated (file cut short?)");
            goto bad;
        }
        size_t n = (size_t)(nl - (buf + off));
        posstore_ent_t e;
        const char *why = NULL, *c;
        if (parse_line(buf + off, n, &e, &why) < 0) {
            fail(err, errlen, name, lineno, "%s", why);
            goto bad;
        }
        if ((c = clash(ps, &e)) != NULL || posstore_add(ps, &e) < 0) {
            fail(err, errlen, name, lineno, "%s", c ? c : "out of memory");
            free(e.src);
            free(e.path);
            goto bad;
        }
        free(e.src);
        free(e.path);
        off += n;
    }
    return 0;
bad:
    while (ps->n > first) { /* leave ps as it was */
        ps->n--;
        free(ps->v[ps->n].src);
        free(ps->v[ps->n].path);
    }
    return -1;
}

int posstore_load(posstore_t *ps, const char *dir, char *err, size_t errlen) {
    char path[POSSTORE_PATH_MAX + 64];
    char *buf = NULL;
    int rc = -1, fd;
    snprintf(path, sizeof path, "%s/%s", dir, POSSTORE_FILE);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0; /* first run */
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > POSSTORE_FILE_MAX) {
        snprintf(err, errlen, "%s: %s", path,
                 st.st_size > POSSTORE_FILE_MAX ? "larger than 64 MiB" : strerror(errno));
        goto out;
    }
    size_t len = 0, cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (;;) { /* read to EOF: the size may not be exact for every filesystem */
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len == cap) {
            snprintf(err, errlen, "%s: changed while being read", path);
            goto out;
        }
    }
    rc = posstore_parse(ps, path, buf, len, err, errlen);
out:
    free(buf);
    close(fd);
    return rc;
}

static size_t escape(char *out, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '%' || c >= 0x7f) {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        } else {
            out[k++] = (char)c;
        }
    }
    return k;
}

long posstore_format(const posstore_ent_t *v, size_t n, char **out) {
    size_t cap = strlen(POSSTORE_HEADER) + 2, k;
    for (size_t i = 0; i < n; i++) /* escaping triples a byte at most; numbers take <= 120 */
        cap += 3 * (strlen(v[i].src) + strlen(v[i].path)) + 128;
    char *b = malloc(cap);
    if (!b) return -1;
    k = (size_t)sprintf(b, "%s\n", POSSTORE_HEADER);
    for (size_t i = 0; i < n; i++) {
        const posstore_ent_t *e = &v[i];
        k += (size_t)sprintf(b + k, "%s ", e->done ? "done" : "pos");
        k += escape(b + k, e->src);
        k += (size_t)sprintf(
            b + k,
            " %" PRIu64 " %" PRIu64 " %016" PRIx64 " %" PRIu32 " %" PRIu64 " %016" PRIx64 " ",
            e->dev, e->ino, e->fp, e->gen, e->done ? 0 : e->off, e->done ? 0 : e->chk);
        k += escape(b + k, e->path);
        b[k++] = '\n';
    }
    b[k] = 0; /* the header's budget has room for it */
    *out = b;
    return (long)k;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int posstore_save(const char *dir, const posstore_ent_t *v, size_t n, char *err, size_t errlen) {
    char tmp[POSSTORE_PATH_MAX + 64], dst[POSSTORE_PATH_MAX + 64];
    char *text = NULL;
    int rc = -1, fd = -1, dfd = -1;
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, POSSTORE_FILE);
    snprintf(dst, sizeof dst, "%s/%s", dir, POSSTORE_FILE);
    long len = posstore_format(v, n, &text);
    if (len < 0) {
        snprintf(err, errlen, "%s: out of memory", dst);
        goto out;
    }
    /* The new state is complete and on disk before it replaces the old one: a crash at any
     * point leaves one whole file, and the rename is made durable by syncing the directory. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, text, (size_t)len) < 0 || fsync(fd) < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, dst) < 0) {
        snprintf(err, errlen, "rename %s to %s: %s", tmp, dst, strerror(errno));
        goto out;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        snprintf(err, errlen, "%s: fsync of the directory: %s", dir, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) close(fd);
    if (dfd >= 0) close(dfd);
    free(text);
    return rc;
}
