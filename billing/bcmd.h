/* bcmd.h: the option handling every `billing` command shares, written once (each command's
 * getopt loop had its own copy of -v, -V and the unknown-option message).
 *
 * A command's loop handles its own options and -h (its own help), and hands every other
 * result of config_getopt to bcmd_opt. The convention is the commands': -1 to go on, else the
 * exit status. */
#ifndef BCMD_H
#define BCMD_H

/* "billing CMD: [FILE:LINE: ]MSG" on stderr (FILE:LINE when the option came from a --config
 * file); returns 2. cmd NULL: "billing: MSG". */
int bcmd_bad(const char *cmd, const char *msg);

/* -v LEVEL (-1, or 2 for a bad level), -V (prints the version: 0), anything else an unknown or
 * incomplete option (2, named without the value it may carry). */
int bcmd_opt(const char *cmd, int c, char **argv);

/* After the loop: an argument left over is an error (2), else -1. */
int bcmd_rest(const char *cmd, int argc, char **argv);

#endif
