/* log.h: one logfmt line per event on stderr, level first.
 *
 *   level=error msg="cannot open geo database" path=/x.mmdb err="No such file"
 *
 * Programs log; library functions never do (they fill an error buffer instead). The format
 * string carries the key=value pairs after msg; log_quote() makes a value safe to embed. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Lines below this level are dropped; set from -v / $LOG_LEVEL by the programs. */
extern log_level_t log_min_level;

/* Writes `ts=... level=L msg="MSG" <rest>` where rest is fmt formatted; one write(2) per line
 * so lines of several threads never interleave. */
void log_msg(log_level_t level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) log_msg(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)

/* Quotes s for a logfmt value ("...", with \" \\ and control bytes escaped) into buf and returns
 * buf; truncates to fit bufsize. */
const char *log_quote(const char *s, char *buf, size_t bufsize);

/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *s);

#endif
