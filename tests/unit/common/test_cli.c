/* The command-line base every program shares: numbers, durations and ADDR:PORT with one message
 * style, the log level from the option or $LOG_LEVEL, and the stop counter that a second signal
 * raises to "hurry". */
#include "../../../common/cli.h"
#include "../../../common/log.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_long_in_range_and_every_malformed_form_refused) {
    char err[256];
    long v = 0;
    ck_assert_int_eq(cli_long("--n", "42", 1, 100, &v, err, sizeof err), 0);
    ck_assert_int_eq(v, 42);
    const char *bad[] = {"", "0", "101", "4x", " 4", "99999999999999999999999", "-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(cli_long("--n", bad[i], 1, 100, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "--n -1: expected a whole number from 1 to 100");
}
END_TEST

START_TEST(test_durations_with_every_unit) {
    char err[256];
    int64_t ms = 0;
    struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"500ms", 500},  {"90", 90000},     {"90s", 90000},
              {"15m", 900000}, {"24h", 86400000}, {"35d", 35LL * 86400000},
              {"0s", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_int_eq(cli_duration_ms("--max-age", ok[i].s, &ms, err, sizeof err), 0);
        ck_assert_int_eq(ms, ok[i].ms);
    }
    const char *bad[] = {"", "d", "-1d", "1.5h", "1w", "10 s", "999999999999d", "s10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cli_duration_ms("--max-age", bad[i], &ms, err, sizeof err) == -1, "%s",
                      bad[i]);
    ck_assert_ptr_nonnull(strstr(err, "--max-age s10: expected a duration"));
}
END_TEST

START_TEST(test_addr_ipv4_names_bracketed_ipv6_and_every_address) {
    char err[256], host[64];
    unsigned port = 0;
    ck_assert_int_eq(
        cli_addr("--listen", "127.0.0.1:8080", 0, host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 8080);
    ck_assert_int_eq(cli_addr("--listen", "[::1]:9", 0, host, sizeof host, &port, err, sizeof err),
                     0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(
        cli_addr("--listen", "localhost:0", 1, host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_uint_eq(port, 0);
    ck_assert_int_eq(cli_addr("--listen", ":8080", 0, host, sizeof host, &port, err, sizeof err),
                     0);
    ck_assert_str_eq(host, ""); /* every address */
    const char *bad[] = {"8080", "[]:80", "a:", "a:65536", "a:0", "::1:80", "[::1]", "a:8x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cli_addr("--listen", bad[i], 0, host, sizeof host, &port, err, sizeof err) ==
                          -1,
                      "%s", bad[i]);
    ck_assert_ptr_nonnull(strstr(err, "--listen a:8x: expected ADDR:PORT with a port from 1"));
}
END_TEST

START_TEST(test_log_level_from_the_option_else_the_environment) {
    char err[256];
    setenv("LOG_LEVEL", "warn", 1);
    ck_assert_int_eq(cli_log_level(NULL, err, sizeof err), 0);
    ck_assert_int_eq(log_min_level, LOG_WARN);
    ck_assert_int_eq(cli_log_level("debug", err, sizeof err), 0);
    ck_assert_int_eq(log_min_level, LOG_DEBUG);
    setenv("LOG_LEVEL", "loud", 1);
    ck_assert_int_eq(cli_log_level(NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "$LOG_LEVEL loud: expected debug, info, warn or error");
    ck_assert_int_eq(cli_log_level("loud", err, sizeof err), -1);
    ck_assert_str_eq(err, "--log-level loud: expected debug, info, warn or error");
    unsetenv("LOG_LEVEL");
}
END_TEST

START_TEST(test_a_second_stop_signal_hurries_and_sighup_only_reloads) {
    cli_signals_install();
    cli_stop = cli_reload = 0;
    raise(SIGHUP);
    ck_assert_int_eq(cli_reload, 1);
    ck_assert_int_eq(cli_stop, 0);
    raise(SIGTERM);
    ck_assert_int_eq(cli_stop, 1);
    raise(SIGINT);
    ck_assert_int_eq(cli_stop, 2);
    raise(SIGTERM);
    ck_assert_int_eq(cli_stop, 2);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_test(tc, test_long_in_range_and_every_malformed_form_refused);
    tcase_add_test(tc, test_durations_with_every_unit);
    tcase_add_test(tc, test_addr_ipv4_names_bracketed_ipv6_and_every_address);
    tcase_add_test(tc, test_log_level_from_the_option_else_the_environment);
    tcase_add_test(tc, test_a_second_stop_signal_hurries_and_sighup_only_reloads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
