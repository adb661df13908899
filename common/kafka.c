#include "kafka.h"

#include "cfgfile.h"
#include "log.h"

#include <ctype.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kopts_init(kopts_t *o) {
    memset(o, 0, sizeof *o);
    const char *env = getenv("KAFKA_BROKERS");
    o->brokers = env && *env ? env : KOPTS_DEFAULT_BROKERS;
    o->topic = KOPTS_DEFAULT_TOPIC;
}

int kafka_prop_secret(const char *name) {
    static const char *const words[] = {"password", "secret", "key", "jaas", "oauthbearer.config"};
    char low[256];
    size_t n = 0;
    for (; name[n] && n + 1 < sizeof low; n++)
        low[n] = (char)tolower((unsigned char)name[n]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i])) return 1;
    return 0;
}

/* Sets one property; src names where it came from ("-X", "-F FILE:LINE:") in err. */
static int conf_set(rd_kafka_conf_t *conf, const char *src, const char *name, const char *value,
                    char *err, size_t errlen) {
    char kerr[256];
    if (rd_kafka_conf_set(conf, name, value, kerr, sizeof kerr) == RD_KAFKA_CONF_OK) return 0;
    int secret = kafka_prop_secret(name);
    if (secret && *value && strstr(kerr, value)) snprintf(kerr, sizeof kerr, "value refused");
    snprintf(err, errlen, "%s %s=%s: %s", src, name, secret ? "(hidden)" : value, kerr);
    return -1;
}

typedef struct fread_ctx {
    kopts_t *o;
    rd_kafka_conf_t *check; /* a scratch configuration: librdkafka checks each property */
} fread_ctx_t;

static int keep(kopts_t *o, char *prop, char *where) {
    char **p = realloc(o->fprops, (size_t)(o->nfprops + 1) * sizeof *p);
    if (p) o->fprops = p;
    char **w = p ? realloc(o->fwhere, (size_t)(o->nfprops + 1) * sizeof *w) : NULL;
    if (w) o->fwhere = w;
    if (!p || !w || !prop || !where) {
        free(prop);
        free(where);
        return -1;
    }
    o->fprops[o->nfprops] = prop;
    o->fwhere[o->nfprops++] = where;
    return 0;
}

/* One line of a -F file: PROP=VALUE, blanks around either trimmed. The line is never quoted
 * in a message: it may hold a secret. */
static int on_prop(void *ctx, const cfg_line_t *l, char *err, size_t errlen) {
    fread_ctx_t *c = ctx;
    const char *t = l->text.p, *eq = memchr(t, '=', l->text.n);
    size_t kn = eq ? (size_t)(eq - t) : 0;
    while (kn && (t[kn - 1] == ' ' || t[kn - 1] == '\t'))
        kn--;
    if (!eq || !kn || kn > 200) {
        snprintf(err, errlen, "-F %s:%u: expected PROP=VALUE", l->name, l->no);
        return -1;
    }
    const char *v = eq + 1, *end = t + l->text.n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    char name[256], where[600], *prop = malloc(kn + 2 + (size_t)(end - v));
    memcpy(name, t, kn);
    name[kn] = 0;
    if (prop) sprintf(prop, "%s=%.*s", name, (int)(end - v), v);
    char *at = malloc(strlen(l->name) + 16);
    if (at) sprintf(at, "%s:%u", l->name, l->no);
    snprintf(where, sizeof where, "-F %.500s:%u:", l->name, l->no);
    if (prop && conf_set(c->check, where, name, prop + kn + 1, err, errlen) < 0) {
        free(prop);
        free(at);
        return -1;
    }
    if (keep(c->o, prop, at) < 0) {
        snprintf(err, errlen, "-F %s: out of memory", l->name);
        return -1;
    }
    return 0;
}

/* -F FILE: every property of the file, checked, into o->fprops. */
static int read_file(kopts_t *o, const char *path, char *err, size_t errlen) {
    char rerr[512];
    size_t len;
    char *text = cfg_read(path, KOPTS_FILE_MAX_BYTES, &len, rerr, sizeof rerr);
    if (!text) {
        snprintf(err, errlen, "-F %s", rerr);
        return -1;
    }
    fread_ctx_t c = {o, rd_kafka_conf_new()};
    int rc =
        cfg_parse_flags(text, len, path, CFG_FIELDS_MAX, CFG_HASH_FIRST, on_prop, &c, err, errlen);
    rd_kafka_conf_destroy(c.check);
    free(text);
    return rc;
}

void kopts_fini(kopts_t *o) {
    for (int i = 0; i < o->nfprops; i++) {
        free(o->fprops[i]);
        free(o->fwhere[i]);
    }
    free(o->fprops);
    free(o->fwhere);
    o->fprops = o->fwhere = NULL;
    o->nfprops = 0;
}

int kopts_parse(kopts_t *o, int opt, const char *arg, char *err, size_t errlen) {
    switch (opt) {
    case 'b':
        if (!*arg) {
            snprintf(err, errlen, "--brokers: empty broker list");
            return -1;
        }
        o->brokers = arg;
        return 1;
    case 't':
        if (!*arg) {
            snprintf(err, errlen, "--topic: empty topic name");
            return -1;
        }
        o->topic = arg;
        return 1;
    case 'X':
        if (!strchr(arg, '=') || arg[0] == '=') {
            snprintf(err, errlen, "-X %s: expected PROP=VALUE", arg);
            return -1;
        }
        if (o->nprops == KOPTS_MAX_PROPS) {
            snprintf(err, errlen, "-X: more than %d properties (use -F FILE)", KOPTS_MAX_PROPS);
            return -1;
        }
        o->props[o->nprops++] = arg;
        return 1;
    case 'F':
        return read_file(o, arg, err, errlen) < 0 ? -1 : 1;
    default:
        return 0;
    }
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                   size_t errlen) {
    return conf_set(conf, "-X", name, value, err, errlen);
}

/* "PROP=VALUE" into conf; src names its origin in err. */
static int set_prop(rd_kafka_conf_t *conf, const char *src, const char *prop, char *err,
                    size_t errlen) {
    char name[256];
    const char *eq = strchr(prop, '=');
    size_t n = (size_t)(eq - prop);
    if (n >= sizeof name) {
        snprintf(err, errlen, "%s %.60s...: property name too long", src, prop);
        return -1;
    }
    memcpy(name, prop, n);
    name[n] = 0;
    return conf_set(conf, src, name, eq + 1, err, errlen);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    char q[1024];
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    log_level_t l = level <= 3   ? LOG_ERROR
                    : level == 4 ? LOG_WARN
                    : level <= 6 ? LOG_INFO
                                 : LOG_DEBUG;
    log_msg(l, "librdkafka", "fac=%s detail=%s", fac, log_quote(buf, q, sizeof q));
}

rd_kafka_conf_t *kopts_conf(const kopts_t *o, const char *const *defaults, char *err,
                            size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kafka_conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) < 0) goto fail;
    for (const char *const *d = defaults; d && d[0]; d += 2)
        if (kafka_conf_set(conf, d[0], d[1], err, errlen) < 0) goto fail;
    for (int i = 0; i < o->nfprops; i++) { /* -F first: -X wins */
        char src[600];
        snprintf(src, sizeof src, "-F %s:", o->fwhere[i]);
        if (set_prop(conf, src, o->fprops[i], err, errlen) < 0) goto fail;
    }
    for (int i = 0; i < o->nprops; i++)
        if (set_prop(conf, "-X", o->props[i], err, errlen) < 0) goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_conf_t *kopts_consumer_conf(const kopts_t *o, const char *group,
                                     const char *const *defaults, char *err, size_t errlen) {
    const char *own[] = {
        "group.id", group, "enable.auto.commit", "false", "enable.auto.offset.store", "false"};
    size_t nown = sizeof own / sizeof own[0], nd = 0;
    while (defaults && defaults[nd])
        nd += 2;
    const char **all = calloc(nown + nd + 1, sizeof *all);
    if (!all) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(all, own, sizeof own);
    if (nd) memcpy(all + nown, defaults, nd * sizeof *all);
    rd_kafka_conf_t *conf = kopts_conf(o, all, err, errlen);
    free(all);
    return conf;
}
