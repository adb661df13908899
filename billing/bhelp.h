/* bhelp.h: the --help lines every `billing` command shares, written once so that the commands'
 * help texts cannot drift apart (they had: some lacked --version or $LOG_LEVEL). */
#ifndef BHELP_H
#define BHELP_H

#define BHELP_DB                                                                                   \
    "      --db CONNINFO        libpq connection string or URI (default $DATABASE_URL, else\n"     \
    "                           libpq's PG* environment variables)\n"
#define BHELP_COMMON                                                                               \
    "  -v, --log-level LEVEL    debug, info (default), warn, error; else $LOG_LEVEL\n"             \
    "  -h, --help               this text\n"                                                       \
    "  -V, --version            the version\n"

#endif
