/* kafka.h: the Kafka options every service shares (-b, -t, -X, -F) and client set-up.
 *
 * As in kcat, any librdkafka property can be passed with -X PROP=VALUE, or from a file with
 * -F FILE (one PROP=VALUE a line, '#' at the start of a line a comment, blank lines skipped);
 * those are applied last, over our defaults, so an operator can always override what we chose:
 * first every -F file's properties (in the order given), then every -X (so -X wins). A -F file
 * keeps SASL/TLS secrets off the command line (ps, shell history): chmod 600 it.
 *
 * No message names the value of a secret property (a name holding "password", "secret", "key",
 * "jaas" or "oauthbearer.config": sasl.password, ssl.key.password, ...): it says "(hidden)".
 * librdkafka's own log and error events are routed to log.h as logfmt lines. */
#ifndef KAFKA_H
#define KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#define KOPTS_MAX_PROPS 64 /* -X arguments */
#define KOPTS_FILE_MAX_BYTES (1u << 20)
#define KOPTS_DEFAULT_BROKERS "localhost:9092"
#define KOPTS_DEFAULT_TOPIC "hits"

typedef struct kopts {
    const char *brokers; /* -b, else $KAFKA_BROKERS, else KOPTS_DEFAULT_BROKERS */
    const char *topic;   /* -t, else KOPTS_DEFAULT_TOPIC */
    int nprops;
    const char *props[KOPTS_MAX_PROPS]; /* -X arguments, "PROP=VALUE", borrowed from argv */
    int nfprops;   /* -F files' properties, owned (they live as long as the process) */
    char **fprops; /* "PROP=VALUE" */
    char **fwhere; /* "FILE:LINE" of each */
} kopts_t;

/* For getopt_long tables and --help text. */
#define KOPTS_SHORTOPTS "b:t:X:F:"
#define KOPTS_LONGOPTS                                                                             \
    {"brokers", 1, 0, 'b'}, {                                                                      \
        "topic", 1, 0, 't'                                                                         \
    }
#define KOPTS_HELP                                                                                 \
    "  -b, --brokers LIST         Kafka bootstrap servers (default $KAFKA_BROKERS, else\n"         \
    "                             " KOPTS_DEFAULT_BROKERS ")\n"                                    \
    "  -t, --topic NAME           hit topic (default " KOPTS_DEFAULT_TOPIC ")\n"                   \
    "  -X PROP=VALUE              any librdkafka property, repeatable; wins over -F\n"             \
    "  -F FILE                    librdkafka properties, PROP=VALUE a line (as kcat -F),\n"        \
    "                             repeatable: SASL/TLS secrets off the command line\n"

void kopts_init(kopts_t *o);

/* Frees what -F files added (fprops). The programs keep their options for the life of the
 * process and need not call it; a short-lived kopts_t (a test) does. */
void kopts_fini(kopts_t *o);

/* Takes one getopt result: returns 1 if opt was -b, -t, -X or -F and was stored, 0 if opt is not
 * a Kafka option, -1 if its value is bad (err names it, never a secret value). Borrows arg. -F
 * reads its file at once and checks each property with librdkafka: a line that is not
 * PROP=VALUE, or a property librdkafka refuses, is an error naming FILE:LINE. */
int kopts_parse(kopts_t *o, int opt, const char *arg, char *err, size_t errlen);

/* A new configuration: bootstrap.servers, then defaults (NULL-terminated name/value pairs, may be
 * NULL), then every -X property, with logging routed to log.h. Returns NULL with err naming the
 * property that librdkafka refused. The caller owns the result (rd_kafka_conf_destroy, or hand it
 * to rd_kafka_new). */
rd_kafka_conf_t *kopts_conf(const kopts_t *o, const char *const *defaults, char *err,
                            size_t errlen);

/* A consumer's configuration: group.id = group, auto commit and offset store off (the programs
 * own their offsets), then defaults, then every -X property (kopts_conf), so that -X can always
 * override. Shared by kconsumer.h's group member and kassign.h's self-assigned reader. NULL with
 * err as kopts_conf. */
rd_kafka_conf_t *kopts_consumer_conf(const kopts_t *o, const char *group,
                                     const char *const *defaults, char *err, size_t errlen);

/* Sets one property, with librdkafka's error text in err ("-X NAME=VALUE: why", the value
 * "(hidden)" for a secret property). */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                   size_t errlen);

/* Whether property name holds a secret (see above): its value is never printed. */
int kafka_prop_secret(const char *name);

#endif
