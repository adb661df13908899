#include "config.h"

#include "cfgfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where each argument of the new argv came from: the file's line, or 0 for the command line. */
static char *where_file;
static unsigned *where_line;
static int where_n, where_cur;

typedef struct build {
    char **v; /* the file's arguments */
    unsigned *line;
    int n, cap;
    const struct option *longopts;
    const char *shortopts;
    const char *const *also;
    const char *section; /* this command's section ("run" of "billing/run"), or NULL */
    char cur[64];        /* the section the lines are in ("" before any) */
    int skip;            /* in another command's section */
} build_t;

static int push(build_t *b, char *arg, unsigned line) {
    if (!arg) return -1;
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 16;
        char **v = realloc(b->v, (size_t)cap * sizeof *v);
        unsigned *l = v ? realloc(b->line, (size_t)cap * sizeof *l) : NULL;
        if (v) b->v = v;
        if (!l) {
            free(arg);
            return -1;
        }
        b->line = l;
        b->cap = cap;
    }
    b->v[b->n] = arg;
    b->line[b->n++] = line;
    return 0;
}

/* Every argv config_load made: they live as long as the process (the programs keep pointers
 * into them), reachable from here. */
typedef struct kept {
    char **v;
    struct kept *next;
} kept_t;
static kept_t *kept;

static char *joined(const char *a, const char *k, size_t kn, const char *eq, const char *v,
                    size_t vn) {
    size_t n = strlen(a) + kn + strlen(eq) + vn + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%.*s%s%.*s", a, (int)kn, k, eq, (int)vn, v);
    return s;
}

static size_t trim(const char *s, size_t n) {
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

static int is_also(const build_t *b, const char *k, size_t kn) {
    for (const char *const *a = b->also; a && *a; a++)
        if (strlen(*a) == kn && !memcmp(*a, k, kn)) return 1;
    return 0;
}

/* The section names a shared file may hold (config_sections); NULL: any command name. */
static const char *const *known_sections;

void config_sections(const char *const *names) {
    known_sections = names;
}

static int section_known(const char *name) {
    if (!known_sections) return 1;
    for (const char *const *s = known_sections; *s; s++)
        if (!strcmp(*s, name)) return 1;
    return 0;
}

/* "[command]": the lines up to the next one are that command's only. */
static int on_section(build_t *b, const cfg_line_t *l, char *err, size_t errlen) {
    const char *t = l->text.p + 1;
    size_t n = l->text.n - 2;
    if (!b->section)
        return cfg_fail(l, err, errlen, "section", l->text.p, l->text.n,
                        "is not allowed here (sections are for billing.conf)");
    if (!n || n >= sizeof b->cur || strspn(t, "abcdefghijklmnopqrstuvwxyz-") < n)
        return cfg_fail(l, err, errlen, "section", l->text.p, l->text.n,
                        "is not a command name in brackets");
    memcpy(b->cur, t, n);
    b->cur[n] = 0;
    /* A misspelt section ([rnu]) would make every command skip its lines without a word. */
    if (!section_known(b->cur))
        return cfg_fail(l, err, errlen, "section", l->text.p, l->text.n,
                        "names no command of this program");
    b->skip = strcmp(b->cur, b->section) != 0;
    return 0;
}

/* One "key = value" line into arguments. */
static int on_line(void *ctx, const cfg_line_t *l, char *err, size_t errlen) {
    build_t *b = ctx;
    const char *t = l->text.p, *eq = memchr(t, '=', l->text.n);
    if (!eq && t[0] == '[' && t[l->text.n - 1] == ']') return on_section(b, l, err, errlen);
    if (b->skip) return 0; /* another command's section */
    size_t kn = trim(t, eq ? (size_t)(eq - t) : l->text.n);
    const char *v = eq ? eq + 1 : "";
    size_t vn = eq ? l->text.n - (size_t)(v - t) : 0;
    while (vn && (*v == ' ' || *v == '\t'))
        v++, vn--;
    if (!kn) return cfg_fail(l, err, errlen, "line", t, l->text.n, "has no key (key = value)");
    const char *sc = kn == 1 && t[0] != ':' ? strchr(b->shortopts, t[0]) : NULL;
    if (sc && sc[1] == ':') { /* a short option without a long name: X, F */
        if (!vn) return cfg_fail(l, err, errlen, "key", t, kn, "needs a value");
        return push(b, joined("-", t, 1, "", v, vn), l->no) < 0
                   ? cfg_fail(l, err, errlen, "key", t, kn, "out of memory")
                   : 0;
    }
    const struct option *o = b->longopts;
    while (o->name && !(strlen(o->name) == kn && !memcmp(o->name, t, kn)))
        o++;
    if (kn == 6 && !memcmp(t, "config", 6))
        return cfg_fail(l, err, errlen, "key", t, kn, "is not allowed in a configuration file");
    if (!o->name || !strcmp(o->name, "help") || !strcmp(o->name, "version")) {
        if (!o->name && !b->cur[0] && is_also(b, t, kn)) return 0;
        return cfg_fail(l, err, errlen, "unknown key", t, kn,
                        "(keys are the long option names of --help)");
    }
    char *arg;
    if (o->has_arg == no_argument) {
        if (vn == 5 && !memcmp(v, "false", 5)) return 0;
        if (vn && !(vn == 4 && !memcmp(v, "true", 4)))
            return cfg_fail(l, err, errlen, "key", t, kn, "takes no value: true or false");
        arg = joined("--", t, kn, "", "", 0);
    } else {
        if (!eq) return cfg_fail(l, err, errlen, "key", t, kn, "needs a value: key = value");
        arg = joined("--", t, kn, "=", v, vn);
    }
    if (push(b, arg, l->no) < 0) return cfg_fail(l, err, errlen, "key", t, kn, "out of memory");
    return 0;
}

/* Whether argument a of the command line takes the next one as its value. */
static int takes_next(const char *a, const struct option *lo, const char *so) {
    if (a[0] != '-' || !a[1]) return 0;
    if (a[1] == '-') {
        if (strchr(a, '=')) return 0;
        for (; lo->name; lo++)
            if (!strcmp(lo->name, a + 2)) return lo->has_arg == required_argument;
        return 0;
    }
    for (const char *c = a + 1; *c; c++) {
        const char *s = strchr(so, *c);
        if (s && s[1] == ':') return c[1] == 0; /* "-X" VALUE; "-Xvalue" holds its own */
    }
    return 0;
}

/* The --config FILE of the command line (NULL: none), removed from argv; -1 if it lacks FILE. */
static int take_config(int *argc, char **argv, const struct option *lo, const char *so,
                       const char **file) {
    int n = 1;
    *file = NULL;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[n++] = argv[i++];
            break;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= *argc) return -1;
            *file = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            *file = argv[i] + 9;
        } else {
            argv[n++] = argv[i];
            if (takes_next(argv[i], lo, so) && i + 1 < *argc) argv[n++] = argv[++i];
        }
    }
    *argc = n;
    argv[n] = NULL;
    return 0;
}

int config_load(const char *name, int *argc, char ***argv, const struct option *longopts,
                const char *shortopts, const char *const *also, char *err, size_t errlen) {
    const char *file, *slash = strchr(name, '/');
    char def[4096], base[64];
    int rc = -1;
    snprintf(base, sizeof base, "%.*s", (int)(slash ? (size_t)(slash - name) : strlen(name)), name);
    if (take_config(argc, *argv, longopts, shortopts, &file) < 0) {
        snprintf(err, errlen, "--config: expected FILE");
        return -1;
    }
    if (!file) {
        const char *dir = getenv(CONFIG_DIR_ENV);
        snprintf(def, sizeof def, "%s/%s.conf", dir && *dir ? dir : CONFIG_DIR_DEFAULT, base);
        if (access(def, F_OK) != 0) return 0;
        file = def;
    }
    size_t len;
    char rerr[600];
    char *text = cfg_read(file, CONFIG_MAX_BYTES, &len, rerr, sizeof rerr);
    if (!text) {
        snprintf(err, errlen, "--config %s", rerr);
        return -1;
    }
    build_t b = {.longopts = longopts,
                 .shortopts = shortopts,
                 .also = also,
                 .section = slash ? slash + 1 : NULL};
    if (cfg_parse_flags(text, len, file, CFG_FIELDS_MAX, CFG_HASH_FIRST, on_line, &b, err, errlen) <
        0)
        goto out;
    int n = *argc + b.n;
    char **v = calloc((size_t)n + 1, sizeof *v);
    unsigned *lines = calloc((size_t)n + 1, sizeof *lines);
    char *fname = strdup(file);
    kept_t *k = malloc(sizeof *k);
    if (!v || !lines || !fname || !k) {
        snprintf(err, errlen, "--config %s: out of memory", file);
        free(v);
        free(lines);
        free(fname);
        free(k);
        goto out;
    }
    /* The new argv is the program's for the life of the process: kept on a list, reachable. */
    *k = (kept_t){v, kept};
    kept = k;
    free(where_file);
    free(where_line);
    where_file = fname;
    v[0] = (*argv)[0];
    for (int i = 0; i < b.n; i++) {
        v[1 + i] = b.v[i];
        lines[1 + i] = b.line[i];
    }
    for (int i = 1; i < *argc; i++)
        v[b.n + i] = (*argv)[i];
    b.n = 0; /* the strings now belong to v, for the life of the process */
    where_line = lines;
    where_n = n;
    *argc = n;
    *argv = v;
    rc = 0;
out:
    for (int i = 0; i < b.n; i++)
        free(b.v[i]);
    free(b.v);
    free(b.line);
    free(text);
    return rc;
}

int config_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts) {
    return config_getopt_li(argc, argv, shortopts, longopts, NULL);
}

int config_getopt_li(int argc, char **argv, const char *shortopts, const struct option *longopts,
                     int *longindex) {
    int c = getopt_long(argc, argv, shortopts, longopts, longindex);
    where_cur = c == -1 ? 0 : optind - 1;
    return c;
}

const char *config_where(void) {
    static char buf[4200];
    if (where_cur <= 0 || where_cur >= where_n || !where_line || !where_line[where_cur]) return "";
    snprintf(buf, sizeof buf, "%s:%u: ", where_file, where_line[where_cur]);
    return buf;
}

const char *config_optname(const char *arg) {
    static char buf[128];
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n > 100) n = 100;
    snprintf(buf, sizeof buf, "%.*s%s", (int)n, arg, eq || strlen(arg) > n ? "=..." : "");
    return buf;
}
