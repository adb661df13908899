/* bhelp.h: the --help lines every `billing` command shares, written once so that the commands'
 * help texts cannot drift apart (they had: some lacked --version or $LOG_LEVEL). */
#ifndef BHELP_H
#define BHELP_H

#define BHELP_DB                                                                                   \
    "      --db CONNINFO          libpq connection string or URI (default $DATABASE_URL, else\n"   \
    "                             libpq's PG* environment variables)\n"
/* Every key of any billing command: billing.conf is shared by the commands, and a key that only
 * some of them have is skipped by the others (config.h's `also`). */
#define BHELP_KEYS                                                                                 \
    {                                                                                              \
        "db", "role", "log-level", "brokers", "topic", "group", "X", "F", "once", "flush-ms",      \
            "flush-rows", "metrics", "metrics-interval", "instance-id", "schema", "month",         \
            "customer", "format", "finalize", "strict", "grace", "force-incomplete", "reason",     \
            "partition", "all", "to", "metrics-listen", "preview", "from", "by", "health-stall",   \
            NULL                                                                                   \
    }

/* The help text of a command that reads billing.conf, and the sections every command ends with. */
#define BHELP_CONFIG                                                                               \
    "      --config FILE          options as `key = value` lines, shared by every command\n"       \
    "                             (default /etc/cdn/billing.conf if it exists); the command\n"     \
    "                             line wins; a key of another command is skipped\n"
/* The sections that end every command's help: signals and exit status. */
#define BHELP_EXIT_2                                                                               \
    "  2                          bad usage or configuration (an option, --config, -F, a\n"        \
    "                             malformed --db, a database or role that does not exist, a\n"     \
    "                             refused login)\n"
#define BHELP_ONESHOT                                                                              \
    "\nSignals:\n"                                                                                 \
    "  SIGTERM, SIGINT            end the command at once; PostgreSQL rolls back its open\n"       \
    "                             transaction\n"                                                   \
    "\nExit status:\n"                                                                             \
    "  0                          done\n"                                                          \
    "  1                          a runtime failure (the database, Kafka)\n" BHELP_EXIT_2
#define BHELP_COMMON                                                                               \
    "  -v, --log-level LEVEL      debug, info (default), warn, error; else $LOG_LEVEL\n"           \
    "  -h, --help                 this text\n"                                                     \
    "  -V, --version              the version\n" BHELP_CONFIG

#endif
