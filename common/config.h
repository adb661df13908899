/* config.h: --config FILE, the options of a program kept in a file.
 *
 * A configuration file holds `key = value` lines whose keys are the program's long option names
 * (`listen = 127.0.0.1:8080`, `db = postgresql://...`), or the letter of a short option that has
 * no long name (`X = security.protocol=SASL_SSL`, `F = /etc/cdn/kafka.properties`). It is read
 * with cfgfile.h: one setting a line, FILE:LINE in every message, and '#' starts a comment only
 * as the first non-blank character of a line, so that a value (a password) may hold '#'. The
 * value is the rest of the line after the first '=', blanks trimmed; it may be empty (`role =`).
 * An option that takes no value (`once`) is set with `once = true` or `once` alone, and left
 * unset with `once = false`.
 *
 * The file is turned into "--key=value" arguments placed BEFORE the real ones, so that getopt
 * sees the file first and the command line last: every single-valued option is "last one wins"
 * (the command line wins over the file), and repeatable options (-X, -F) add up, the file's
 * first.
 *
 * Which file: `--config FILE` (or --config=FILE) on the command line; an explicit file that cannot
 * be read is an error (exit 2). Without --config, DIR/NAME.conf is read when it exists, DIR being
 * $CDN_ETC_DIR, else /etc/cdn. An unknown key is an error naming FILE:LINE and the key.
 *
 * Errors while getopt reads a file's argument name the file's line: a program reads its options
 * with config_getopt (getopt_long that remembers which argument it took) and prefixes its
 * messages with config_where(). */
#ifndef CONFIG_H
#define CONFIG_H

#include <getopt.h>
#include <stddef.h>

#define CONFIG_DIR_DEFAULT "/etc/cdn"
#define CONFIG_DIR_ENV "CDN_ETC_DIR"
#define CONFIG_MAX_BYTES (1u << 20)

/* The --config help line, the same in every program. */
#define CONFIG_HELP(name)                                                                          \
    "      --config FILE          options as `key = value` lines (default\n"                       \
    "                             " CONFIG_DIR_DEFAULT "/" name ".conf if it exists); the\n"       \
    "                             command line wins\n"

/* Replaces *argc and *argv with the configuration file's arguments followed by the command line
 * without its --config. name: the default file's name without .conf, or "FILE/COMMAND" for a
 * file shared by commands (billing/run): then a line "[COMMAND]" starts the settings of that
 * command only (other commands skip them; its own are checked as strictly as any), and the
 * lines before any such line are for every command, a key that is in `also` but not an option
 * of this command being skipped; longopts, shortopts: the
 * program's getopt tables (keys are checked against them); also: NULL, or names of keys that are
 * accepted and skipped (billing's file is shared by its commands: a key of another command is
 * not an error). Returns 0, or -1 with err ("FILE:LINE: ..." or "--config FILE: reason"). The new
 * argv lives as long as the process. */
int config_load(const char *name, int *argc, char ***argv, const struct option *longopts,
                const char *shortopts, const char *const *also, char *err, size_t errlen);

/* The "[COMMAND]" sections a shared file may hold (a NULL-terminated list the caller keeps);
 * another name is an error ("FILE:LINE: section '[rnu]' names no command ..."). Not called:
 * any lower-case name is accepted. */
void config_sections(const char *const *names);

/* getopt_long, remembering which argument it returned, for config_where. */
int config_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* config_getopt with getopt_long's longindex. */
int config_getopt_li(int argc, char **argv, const char *shortopts, const struct option *longopts,
                     int *longindex);

/* The option named by a refused argument, for "unknown option" messages: arg up to its '='
 * ("--dbb=postgresql://u:pw@h" -> "--dbb=..."), so that a mistyped option never prints the
 * secret it carried. Returns a static buffer. */
const char *config_optname(const char *arg);

/* "FILE:LINE: " when the option getopt returned last came from a configuration file, else "".
 * Cleared when getopt is done, so that later messages name no line. */
const char *config_where(void);

#endif
