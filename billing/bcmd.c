#include "bcmd.h"

#include "cli.h"
#include "config.h"

#include <getopt.h>
#include <stdio.h>

int bcmd_bad(const char *cmd, const char *msg) {
    fprintf(stderr, "billing%s%s: %s%s\n", cmd ? " " : "", cmd ? cmd : "", config_where(), msg);
    return 2;
}

int bcmd_opt(const char *cmd, int c, char **argv) {
    char msg[600];
    switch (c) {
    case 'v':
        return cli_log_level(optarg, msg, sizeof msg) < 0 ? bcmd_bad(cmd, msg) : -1;
    case 'V':
        cli_version("billing");
        return 0;
    default:
        snprintf(msg, sizeof msg, "unknown or incomplete option '%.200s' (see billing %s --help)",
                 config_optname(argv[optind - 1]), cmd);
        return bcmd_bad(cmd, msg);
    }
}

int bcmd_rest(const char *cmd, int argc, char **argv) {
    (void)argv;
    if (optind >= argc) return -1;
    char msg[200];
    snprintf(msg, sizeof msg, "unexpected argument (see billing %s --help)", cmd);
    return bcmd_bad(cmd, msg);
}
