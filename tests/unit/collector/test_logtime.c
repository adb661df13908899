/* Log timestamps become exact UTC milliseconds whatever their offset, and anything that is not a
 * real instant is refused. timegm/gmtime_r (glibc, UTC only) serve as the independent oracle. */
#include "../../../collector/logtime.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* 17/May/2015:10:05:03 UTC, the first line of data/apache_logs (python3: calendar.timegm). */
#define T0_MS 1431857103000LL

static int64_t local_ms(const char *s) {
    int64_t ms = -42;
    ck_assert_msg(logtime_parse_local(s, strlen(s), &ms) == 0, "refused: %s", s);
    return ms;
}

static int local_refused(const char *s) {
    int64_t ms = -42;
    return logtime_parse_local(s, strlen(s), &ms) < 0 && ms == -42;
}

static int64_t iso_ms(const char *s) {
    int64_t ms = -42;
    ck_assert_msg(logtime_parse_iso8601(s, strlen(s), &ms) == 0, "refused: %s", s);
    return ms;
}

static int iso_refused(const char *s) {
    int64_t ms;
    return logtime_parse_iso8601(s, strlen(s), &ms) < 0;
}

static int64_t msec_ms(const char *s) {
    int64_t ms = -42;
    ck_assert_msg(logtime_parse_msec(s, strlen(s), &ms) == 0, "refused: %s", s);
    return ms;
}

static int msec_refused(const char *s) {
    int64_t ms;
    return logtime_parse_msec(s, strlen(s), &ms) < 0;
}

START_TEST(test_days_from_civil_agrees_with_timegm_on_every_day_1970_to_2400) {
    int64_t expect = 0;
    for (int y = 1970; y <= 2400; y++) {
        for (int m = 1; m <= 12; m++) {
            int dim = logtime_days_in_month(y, m);
            for (int d = 1; d <= dim; d++) {
                struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
                int64_t days = logtime_days_from_civil(y, m, d);
                ck_assert_int_eq(days, (int64_t)timegm(&tm) / 86400);
                ck_assert_int_eq(days, expect); /* consecutive dates are consecutive days */
                expect++;
            }
            /* the day after the month's last normalizes into the next month: dim is right */
            struct tm next = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = dim + 1};
            timegm(&next);
            ck_assert_int_eq(next.tm_mday, 1);
        }
    }
}
END_TEST

START_TEST(test_days_in_month_leap_rules) {
    ck_assert_int_eq(logtime_days_in_month(2015, 2), 28);
    ck_assert_int_eq(logtime_days_in_month(2016, 2), 29);
    ck_assert_int_eq(logtime_days_in_month(2000, 2), 29);
    ck_assert_int_eq(logtime_days_in_month(2100, 2), 28);
    ck_assert_int_eq(logtime_days_in_month(2015, 0), 0);
    ck_assert_int_eq(logtime_days_in_month(2015, 13), 0);
}
END_TEST

START_TEST(test_time_local_utc) {
    ck_assert_int_eq(local_ms("17/May/2015:10:05:03 +0000"), T0_MS);
    ck_assert_int_eq(local_ms("01/Jan/1970:00:00:00 +0000"), 0);
    ck_assert_int_eq(local_ms("25/Nov/2026:10:00:00 +0000"), 1795600800000LL);
    ck_assert_int_eq(local_ms("31/Dec/9999:23:59:59 +0000"), LOGTIME_MS_MAX - 999);
}
END_TEST

START_TEST(test_time_local_any_offset_is_converted_exactly) {
    /* the same wall clock reading, seen in zones east (+) and west (-) of UTC */
    ck_assert_int_eq(local_ms("17/May/2015:10:05:03 +0530"), T0_MS - (5 * 60 + 30) * 60000LL);
    ck_assert_int_eq(local_ms("17/May/2015:10:05:03 -0700"), T0_MS + 7 * 3600000LL);
    ck_assert_int_eq(local_ms("17/May/2015:10:05:03 +1400"), T0_MS - 14 * 3600000LL);
    ck_assert_int_eq(local_ms("17/May/2015:10:05:03 -1200"), T0_MS + 12 * 3600000LL);
    ck_assert_int_eq(local_ms("17/May/2015:10:05:03 +0545"), T0_MS - (5 * 60 + 45) * 60000LL);
    /* crossing a day, a month and a year boundary */
    ck_assert_int_eq(local_ms("01/Jan/2016:01:00:00 +0200"),
                     local_ms("31/Dec/2015:23:00:00 +0000"));
    ck_assert_int_eq(local_ms("28/Feb/2016:22:00:00 -0300"),
                     local_ms("29/Feb/2016:01:00:00 +0000"));
    ck_assert_int_eq(local_ms("01/Jan/1970:00:00:00 -0100"), 3600000);
}
END_TEST

START_TEST(test_time_local_every_month_name) {
    static const char *const names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int m = 0; m < 12; m++) {
        char s[64];
        snprintf(s, sizeof s, "01/%s/2020:00:00:00 +0000", names[m]);
        struct tm tm = {.tm_year = 120, .tm_mon = m, .tm_mday = 1};
        ck_assert_int_eq(local_ms(s), (int64_t)timegm(&tm) * 1000);
    }
}
END_TEST

START_TEST(test_time_local_refuses_what_is_not_an_instant) {
    static const char *const bad[] = {
        "31/Feb/2015:10:05:03 +0000", /* no such day */
        "29/Feb/2015:10:05:03 +0000", /* not a leap year */
        "29/Feb/2100:10:05:03 +0000", /* centuries are not leap years... */
        "00/May/2015:10:05:03 +0000",  "32/Jan/2015:10:05:03 +0000", "31/Apr/2015:10:05:03 +0000",
        "17/May/2015:25:05:03 +0000", /* hour 25 */
        "17/May/2015:24:00:00 +0000",  "17/May/2015:10:60:03 +0000", "17/May/2015:10:05:60 +0000",
        "17/Foo/2015:10:05:03 +0000", /* no such month */
        "17/may/2015:10:05:03 +0000", /* servers print %b in the C locale */
        "17/May/2015:10:05:03 +9999", /* no such offset */
        "17/May/2015:10:05:03 +1401",  "17/May/2015:10:05:03 -1500", "17/May/2015:10:05:03 +0060",
        "17/May/2015:10:05:03 0000",   "17/May/2015:10:05:03 *0000", "17/May/2015:10:05:03 +00a0",
        "17/May/2015:10:05:03  +0000", "17/May/2015 10:05:03 +0000", "17-May-2015:10:05:03 +0000",
        "17/May/2015:10:05:03 +000",   "7/May/2015:10:05:03 +0000",  "17/May/15:10:05:03 +0000",
        "17/May/2015:1:05:03 +00000",  "17/May/2015:10:05:03",       "",
        "1a/May/2015:10:05:03 +0000",  "17/May/20x5:10:05:03 +0000", "17/May/2015:10:05:0x +0000",
        "31/Dec/1969:23:59:59 +0000", /* before the epoch */
        "01/Jan/1970:00:00:00 +0100", /* also before the epoch, once in UTC */
        "31/Dec/9999:23:59:59 -0100", /* after year 9999 in UTC */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(local_refused(bad[i]), "accepted: '%s'", bad[i]);
    /* leap days that exist */
    ck_assert_int_eq(local_ms("29/Feb/2016:00:00:00 +0000"), 1456704000000LL);
    ck_assert_int_eq(local_ms("29/Feb/2000:00:00:00 +0000"), 951782400000LL);
}
END_TEST

START_TEST(test_time_local_round_trips_gmtime_at_random_instants) {
    /* A fixed-seed LCG: the same instants on every run. */
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t t = (int64_t)((x >> 16) % 253402300800ULL); /* 1970..9999 */
        int off = (int)((x >> 8) % (2 * LOGTIME_OFFSET_MAX_MIN + 1)) - LOGTIME_OFFSET_MAX_MIN;
        time_t local = (time_t)(t + off * 60);
        struct tm tm;
        if (local < 0 || !gmtime_r(&local, &tm) || tm.tm_year + 1900 > 9999) continue;
        char s[64];
        size_t n = strftime(s, sizeof s, "%d/%b/%Y:%H:%M:%S", &tm);
        int a = off < 0 ? -off : off;
        snprintf(s + n, sizeof s - n, " %c%02d%02d", off < 0 ? '-' : '+', a / 60, a % 60);
        ck_assert_int_eq(local_ms(s), t * 1000);
    }
}
END_TEST

START_TEST(test_iso8601_zones_and_fractions) {
    ck_assert_int_eq(iso_ms("2015-05-17T10:05:03+00:00"), T0_MS);
    ck_assert_int_eq(iso_ms("2015-05-17T10:05:03Z"), T0_MS);
    ck_assert_int_eq(iso_ms("2015-05-17T15:35:03+05:30"), T0_MS);
    ck_assert_int_eq(iso_ms("2015-05-17T03:05:03-0700"), T0_MS);
    ck_assert_int_eq(iso_ms("2015-05-17T10:05:03.1Z"), T0_MS + 100);
    ck_assert_int_eq(iso_ms("2015-05-17T10:05:03.123+00:00"), T0_MS + 123);
    ck_assert_int_eq(iso_ms("2015-05-17T10:05:03.123999999Z"), T0_MS + 123); /* cut, not rounded */
    ck_assert_int_eq(iso_ms("2015-05-17T10:05:03.05Z"), T0_MS + 50);
}
END_TEST

START_TEST(test_iso8601_refuses_what_is_not_an_instant) {
    static const char *const bad[] = {
        "2015-05-17T10:05:03", /* no zone: the instant is unknown */
        "2015-05-17T10:05:03.123",
        "2015-05-17 10:05:03Z",
        "2015-05-17T10:05:03.Z",
        "2015-05-17T10:05:03.1234567890Z",
        "2015-05-17T10:05:03ZZ",
        "2015-05-17T10:05:03+00:00x",
        "2015-05-17T10:05:03+0:00",
        "2015-05-17T10:05:03+00",
        "2015-05-17T10:05:03 +00:00",
        "2015-02-29T10:05:03Z",
        "2015-13-01T10:05:03Z",
        "2015-00-01T10:05:03Z",
        "2015-05-17T25:05:03Z",
        "2015-05-17T10:05:03+15:00",
        "2015-05-17T10:05:03+99:99",
        "15-05-17T10:05:03Z",
        "2015/05/17T10:05:03Z",
        "2015-05-17t10:05:03Z",
        "",
        "Z",
        "1969-12-31T23:59:59Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(iso_refused(bad[i]), "accepted: '%s'", bad[i]);
}
END_TEST

START_TEST(test_msec_values) {
    ck_assert_int_eq(msec_ms("1431857103.123"), T0_MS + 123);
    ck_assert_int_eq(msec_ms("1431857103"), T0_MS);
    ck_assert_int_eq(msec_ms("1431857103.1239"), T0_MS + 123);
    ck_assert_int_eq(msec_ms("0.5"), 500);
    ck_assert_int_eq(msec_ms("253402300799.999"), LOGTIME_MS_MAX);
    static const char *const bad[] = {"",
                                      "1431857103.",
                                      ".5",
                                      "-1",
                                      "1e9",
                                      "1431857103,123",
                                      " 1431857103",
                                      "253402300800",
                                      "1431857103.12a",
                                      "9999999999999",
                                      "1431857103.1234567890"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(msec_refused(bad[i]), "accepted: '%s'", bad[i]);
}
END_TEST

START_TEST(test_parsers_read_only_the_given_length) {
    /* fields are slices of a line: bytes after n are not part of them */
    const char *s = "17/May/2015:10:05:03 +0000]";
    int64_t ms;
    ck_assert_int_eq(logtime_parse_local(s, LOGTIME_LOCAL_LEN, &ms), 0);
    ck_assert_int_eq(ms, T0_MS);
    ck_assert_int_eq(logtime_parse_msec("12345", 2, &ms), 0);
    ck_assert_int_eq(ms, 12000);
    ck_assert_int_eq(logtime_parse_iso8601("2015-05-17T10:05:03Z+", 20, &ms), 0);
    ck_assert_int_eq(ms, T0_MS);
}
END_TEST

int main(void) {
    Suite *s = suite_create("logtime");
    TCase *tc = tcase_create("logtime");
    tcase_add_test(tc, test_days_from_civil_agrees_with_timegm_on_every_day_1970_to_2400);
    tcase_add_test(tc, test_days_in_month_leap_rules);
    tcase_add_test(tc, test_time_local_utc);
    tcase_add_test(tc, test_time_local_any_offset_is_converted_exactly);
    tcase_add_test(tc, test_time_local_every_month_name);
    tcase_add_test(tc, test_time_local_refuses_what_is_not_an_instant);
    tcase_add_test(tc, test_time_local_round_trips_gmtime_at_random_instants);
    tcase_add_test(tc, test_iso8601_zones_and_fractions);
    tcase_add_test(tc, test_iso8601_refuses_what_is_not_an_instant);
    tcase_add_test(tc, test_msec_values);
    tcase_add_test(tc, test_parsers_read_only_the_given_length);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
