/* cli.h: what every program's command line and process life share.
 *
 * Each main.c only wires its stages; the pieces every program needs in the same way live here,
 * once, so that they cannot drift apart (they had: a second SIGTERM that never hurried the
 * collector's drain, ADDR:PORT rules that differed on port 0, $LOG_LEVEL read by some programs
 * only):
 *   - signals: SIGINT/SIGTERM count into cli_stop (1: finish what is in hand and exit; 2: a
 *     second signal, hurry: stop waiting for deliveries or flushes that may never come), SIGHUP
 *     sets cli_reload (the program re-reads what it can, or logs that there is nothing), and
 *     SIGPIPE is ignored (a closed socket is an error return, not a death). Handlers only set
 *     flags; the main loops act on them.
 *   - the log level: -v/--log-level LEVEL, else $LOG_LEVEL, else info; a program calls
 *     cli_log_level(NULL) before its options and cli_log_level(optarg) for -v, so a bad value of
 *     either is bad usage;
 *   - numbers, durations and ADDR:PORT values, with one error message style:
 *     "--OPTION VALUE: expected ...", for exit status 2;
 *   - the version line, "PROGRAM VERSION". */
#ifndef CLI_H
#define CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define CDN_VERSION "0.2.0"

/* The -v/--log-level help line, the same in every program. */
#define CLI_LOG_HELP                                                                               \
    "  -v, --log-level LEVEL      debug, info (default), warn, error; else $LOG_LEVEL\n"

/* The -h and -V help lines, the same in every program. */
#define CLI_HELP_HELP                                                                              \
    "  -h, --help                 this text\n"                                                     \
    "  -V, --version              the version\n"

extern volatile sig_atomic_t cli_stop;   /* SIGINT/SIGTERM received: 0, 1, or 2 (hurry) */
extern volatile sig_atomic_t cli_reload; /* SIGHUP received; the program clears it */

/* Installs the handlers above. */
void cli_signals_install(void);

/* Prints "PROGRAM VERSION\n" on stdout. */
void cli_version(const char *program);

/* Sets log_min_level from arg (NULL: from $LOG_LEVEL, if set). 0, or -1 with err naming the
 * option or the variable. */
int cli_log_level(const char *arg, char *err, size_t errlen);

/* A whole decimal number in [lo, hi] for option opt. 0, or -1 with err. */
int cli_long(const char *opt, const char *arg, long lo, long hi, long *out, char *err,
             size_t errlen);

/* A duration: a whole number with a unit, ms, s, m, h or d ("500ms", "90s", "35d"); a bare
 * number is seconds. Into milliseconds, at most 100 years. 0, or -1 with err. */
int cli_duration_ms(const char *opt, const char *arg, int64_t *out_ms, char *err, size_t errlen);

/* ADDR:PORT: a host name or IPv4 address, an IPv6 address in brackets ([::1]:8080), or nothing
 * (":8080": every address), and a port 1..65535, or 0 ("any free port") when allow_any_port.
 * host gets the address without brackets ("" for every address), port the decimal port. 0, or
 * -1 with err. */
int cli_addr(const char *opt, const char *arg, int allow_any_port, char *host, size_t hostcap,
             unsigned *port, char *err, size_t errlen);

#endif
