/* The metrics printers: a value kept in a finer unit is shown in base units with its exact
 * decimals (promtool refuses _microseconds), HELP and TYPE come once per name with the first
 * non-empty help, the process metrics are on every page and not twice, and rss_bytes in the log
 * line is the real value. */
#include "../../../common/metrics.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static metric_t us = METRIC_COUNTER_SCALED("tx_us", "t_seconds_total", NULL, "time", 1000000);
static metric_t ms_neg = METRIC_GAUGE_SCALED("off_ms", "t_offset_seconds", NULL, "offset", 1000);
static metric_t r1 = METRIC_COUNTER("r_a", "t_rejected_total", "reason=\"a\"", "");
static metric_t r2 = METRIC_COUNTER("r_b", "t_rejected_total", "reason=\"b\"", "Rejected");

START_TEST(test_scaled_values_print_exact_base_units) {
    metric_t *const ms[] = {&us, &ms_neg};
    char buf[512];
    metric_set(&us, 1250003);
    metric_set(&ms_neg, -1500);
    ck_assert_uint_gt(metrics_prometheus(ms, 2, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "\nt_seconds_total 1.250003\n"));
    ck_assert_ptr_nonnull(strstr(buf, "\nt_offset_seconds -1.500\n"));
    metrics_logfmt(ms, 2, buf, sizeof buf);
    ck_assert_str_eq(buf, "tx_us=1250003 off_ms=-1500");
}
END_TEST

START_TEST(test_help_and_type_once_per_name_with_the_first_help_given) {
    metric_t *const ms[] = {&r1, &r2};
    char buf[512];
    ck_assert_uint_gt(metrics_prometheus(ms, 2, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "# HELP t_rejected_total Rejected\n# TYPE t_rejected_total counter\n"
                          "t_rejected_total{reason=\"a\"} 0\nt_rejected_total{reason=\"b\"} 0\n");
}
END_TEST

START_TEST(test_page_has_process_metrics_once) {
    metric_t *const a[] = {&r1, &metrics_rss};
    metric_t *const b[] = {&r1, &r2};
    size_t len = 0;
    metrics_process_init("tester");
    char *p = metrics_page(a, 2, b, 2, NULL, NULL, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(strlen(p), len);
    ck_assert_ptr_nonnull(strstr(p, "\nbuild_info{version=\"0.2.0\",program=\"tester\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(p, "\nprocess_start_time_seconds 1"));
    const char *rss = strstr(p, "# TYPE process_resident_memory_bytes gauge\n");
    ck_assert_ptr_nonnull(rss);
    ck_assert_ptr_null(strstr(rss + 1, "# TYPE process_resident_memory_bytes"));
    ck_assert_ptr_null(
        strstr(strstr(p, "t_rejected_total{reason=\"a\"}") + 1, "t_rejected_total{reason=\"a\"}"));
    free(p);
}
END_TEST

START_TEST(test_rss_in_the_log_line_is_read_at_print) {
    metric_t *const ms[] = {&metrics_rss};
    char buf[128];
    metrics_logfmt(ms, 1, buf, sizeof buf);
    ck_assert_int_eq(strncmp(buf, "rss_bytes=", 10), 0);
    ck_assert_int_gt(atoll(buf + 10), 100000);
}
END_TEST

int main(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, test_scaled_values_print_exact_base_units);
    tcase_add_test(tc, test_help_and_type_once_per_name_with_the_first_help_given);
    tcase_add_test(tc, test_page_has_process_metrics_once);
    tcase_add_test(tc, test_rss_in_the_log_line_is_read_at_print);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
