#include "cfgfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits one line (without its '\n' and its comment) into l's fields. */
static void split(cfg_line_t *l, const char *s, size_t n, size_t max_fields) {
    l->nfields = 0;
    for (size_t i = 0; i < n && l->nfields <= max_fields;) {
        while (i < n && is_space(s[i]))
            i++;
        if (i == n) break;
        size_t start = i;
        while (i < n && !is_space(s[i]))
            i++;
        l->f[l->nfields++] = (slice_t){s + start, i - start};
    }
}

int cfg_parse(const char *text, size_t len, const char *name, size_t max_fields, cfg_fn fn,
              void *ctx, char *err, size_t errlen) {
    return cfg_parse_flags(text, len, name, max_fields, 0, fn, ctx, err, errlen);
}

int cfg_parse_flags(const char *text, size_t len, const char *name, size_t max_fields,
                    unsigned flags, cfg_fn fn, void *ctx, char *err, size_t errlen) {
    if (max_fields > CFG_FIELDS_MAX) max_fields = CFG_FIELDS_MAX;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    cfg_line_t l = {.name = name};
    for (size_t off = 0; off < len;) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - off;
        const char *s = text + off;
        l.no++;
        off = end + 1;
        if (memchr(s, 0, n)) {
            snprintf(err, errlen, "%s:%u: has a NUL byte (is this a text file?)", name, l.no);
            return -1;
        }
        size_t lead = 0;
        while (lead < n && is_space(s[lead]))
            lead++;
        const char *hash = (flags & CFG_HASH_FIRST) ? (lead < n && s[lead] == '#' ? s + lead : NULL)
                                                    : memchr(s, '#', n);
        if (hash) n = (size_t)(hash - s);
        split(&l, s, n, max_fields);
        size_t tn = n;
        while (tn > lead && is_space(s[tn - 1]))
            tn--;
        l.text = (slice_t){s + lead, tn > lead ? tn - lead : 0};
        if (l.nfields && fn(ctx, &l, err, errlen) < 0) return -1;
    }
    return 0;
}

char *cfg_read(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen) {
    char *buf = NULL;
    size_t n = 0, cap = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            /* One byte past the limit is enough to tell that a file is over it. */
            if (cap > max_bytes) {
                snprintf(err, errlen, "%s: larger than %zu bytes: not a configuration file", path,
                         max_bytes);
                goto fail;
            }
            size_t want = cap ? 2 * cap : 65536;
            if (want > max_bytes + 1) want = max_bytes + 1;
            char *bigger = realloc(buf, want);
            if (!bigger) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = bigger;
            cap = want;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
        goto fail;
    }
    if (n > max_bytes) {
        snprintf(err, errlen, "%s: larger than %zu bytes: not a configuration file", path,
                 max_bytes);
        goto fail;
    }
    fclose(f);
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

int cfg_fail(const cfg_line_t *l, char *err, size_t errlen, const char *what, const char *tok,
             size_t n, const char *why) {
    char show[CFG_SHOW_MAX + 4];
    size_t k = n > CFG_SHOW_MAX ? CFG_SHOW_MAX : n;
    for (size_t i = 0; i < k; i++)
        show[i] = (tok[i] >= 0x20 && tok[i] < 0x7f) ? tok[i] : '?';
    strcpy(show + k, n > CFG_SHOW_MAX ? "..." : "");
    snprintf(err, errlen, "%s:%u: %s '%s' %s", l->name, l->no, what, show, why);
    return -1;
}
