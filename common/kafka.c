#include "kafka.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kopts_init(kopts_t *o) {
    memset(o, 0, sizeof *o);
    const char *env = getenv("KAFKA_BROKERS");
    o->brokers = env && *env ? env : KOPTS_DEFAULT_BROKERS;
    o->topic = KOPTS_DEFAULT_TOPIC;
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
            snprintf(err, errlen, "-X %s: more than %d properties", arg, KOPTS_MAX_PROPS);
            return -1;
        }
        o->props[o->nprops++] = arg;
        return 1;
    default:
        return 0;
    }
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                   size_t errlen) {
    char kerr[256];
    if (rd_kafka_conf_set(conf, name, value, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "-X %s=%s: %s", name, value, kerr);
        return -1;
    }
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    char q[1024];
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    log_level_t l = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_msg(l, "librdkafka", "fac=%s detail=%s", fac, log_quote(buf, q, sizeof q));
}

rd_kafka_conf_t *kopts_conf(const kopts_t *o, const char *const *defaults, char *err,
                            size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kafka_conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) < 0) goto fail;
    for (const char *const *d = defaults; d && d[0]; d += 2)
        if (kafka_conf_set(conf, d[0], d[1], err, errlen) < 0) goto fail;
    for (int i = 0; i < o->nprops; i++) {
        char name[256];
        const char *eq = strchr(o->props[i], '=');
        size_t n = (size_t)(eq - o->props[i]);
        if (n >= sizeof name) {
            snprintf(err, errlen, "-X %s: property name too long", o->props[i]);
            goto fail;
        }
        memcpy(name, o->props[i], n);
        name[n] = 0;
        if (kafka_conf_set(conf, name, eq + 1, err, errlen) < 0) goto fail;
    }
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
