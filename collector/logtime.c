#include "logtime.h"

#include <string.h>

#define MS_PER_DAY 86400000LL

/* Howard Hinnant's days_from_civil: exact for every proleptic Gregorian date, no tables, no
 * time zone. Years are shifted to start in March so that the leap day is the year's last. */
int64_t logtime_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* 0..399 */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0..146096 */
    return era * 146097 + doe - 719468;
}

int logtime_days_in_month(int64_t y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12) return 0;
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) return 29;
    return days[m - 1];
}

/* The value of n decimal digits at p, or -1 if any byte is not a digit. n <= 9: no overflow. */
static int digits(const char *p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = (unsigned char)p[i] - '0';
        if (c > 9) return -1;
        v = v * 10 + (int)c;
    }
    return v;
}

/* Month 1..12 from its English abbreviation as strftime's %b prints it in the C locale, or 0. */
static int month_of(const char *p) {
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(p, names + 3 * i, 3) == 0) return i + 1;
    return 0;
}

/* The instant of a civil date and time at UTC offset off_min, after checking every part. */
static int civil_to_ms(int y, int mo, int d, int h, int mi, int s, int frac_ms, int off_min,
                       int64_t *ms) {
    if (y < LOGTIME_YEAR_MIN || y > LOGTIME_YEAR_MAX) return -1;
    if (d < 1 || d > logtime_days_in_month(y, mo)) return -1; /* also refuses mo out of range */
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return -1;
    if (off_min < -LOGTIME_OFFSET_MAX_MIN || off_min > LOGTIME_OFFSET_MAX_MIN) return -1;
    int64_t days = logtime_days_from_civil(y, mo, d);
    int64_t t = days * MS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + s) * 1000 + frac_ms;
    /* Local time = UTC + offset, so UTC = local - offset. */
    t -= (int64_t)off_min * 60000;
    if (t < 0 || t > LOGTIME_MS_MAX) return -1;
    *ms = t;
    return 0;
}

/* A UTC offset "+hhmm" (colon 0) or "+hh:mm" (colon 1) in exactly n bytes; -1 if malformed. */
static int parse_offset(const char *p, size_t n, int colon, int *off_min) {
    if (n != (size_t)(5 + colon) || (p[0] != '+' && p[0] != '-')) return -1;
    if (colon && p[3] != ':') return -1;
    int hh = digits(p + 1, 2), mm = digits(p + 3 + colon, 2);
    if (hh < 0 || mm < 0 || mm > 59) return -1;
    *off_min = (p[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return 0;
}

int logtime_parse_local(const char *p, size_t n, int64_t *ms) {
    /* 0         1         2
     * 01234567890123456789012345
     * 17/May/2015:10:05:03 +0000 */
    if (n != LOGTIME_LOCAL_LEN) return -1;
    if (p[2] != '/' || p[6] != '/' || p[11] != ':' || p[14] != ':' || p[17] != ':' || p[20] != ' ')
        return -1;
    int off;
    if (parse_offset(p + 21, 5, 0, &off) < 0) return -1;
    int d = digits(p, 2), mo = month_of(p + 3), y = digits(p + 7, 4);
    int h = digits(p + 12, 2), mi = digits(p + 15, 2), s = digits(p + 18, 2);
    return civil_to_ms(y, mo, d, h, mi, s, 0, off, ms);
}

/* Milliseconds of a fraction's digits [p, p+n), 1 <= n <= 9, digits after the third cut; -1 if
 * a byte is not a digit or n is out of range. */
static int frac_ms(const char *p, size_t n) {
    if (n < 1 || n > 9 || digits(p, (int)n) < 0) return -1;
    int v = 0;
    for (size_t i = 0; i < 3; i++)
        v = v * 10 + (i < n ? p[i] - '0' : 0);
    return v;
}

int logtime_parse_iso8601(const char *p, size_t n, int64_t *ms) {
    /* 0         1
     * 0123456789012345678
     * 2015-05-17T10:05:03 */
    if (n < 20) return -1;
    if (p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':') return -1;
    int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
    int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
    size_t i = 19;
    int fms = 0;
    if (p[i] == '.') {
        size_t start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        fms = frac_ms(p + start, i - start);
        if (fms < 0) return -1;
    }
    int off = 0;
    if (i < n && p[i] == 'Z') {
        if (i + 1 != n) return -1;
    } else if (parse_offset(p + i, n - i, n - i == 6, &off) < 0) {
        return -1;
    }
    /* digits() gave -1 for a bad field: civil_to_ms refuses every negative part. */
    return civil_to_ms(y, mo, d, h, mi, s, fms, off, ms);
}

int logtime_parse_msec(const char *p, size_t n, int64_t *ms) {
    size_t i = 0;
    int64_t sec = 0;
    /* 12 digits hold any second up to LOGTIME_MS_MAX / 1000 and cannot overflow int64. */
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (i == 12) return -1;
        sec = sec * 10 + (p[i] - '0');
        i++;
    }
    if (i == 0) return -1;
    int fms = 0;
    if (i < n) {
        if (p[i] != '.') return -1;
        fms = frac_ms(p + i + 1, n - i - 1);
        if (fms < 0) return -1;
    }
    int64_t t = sec * 1000 + fms;
    if (t > LOGTIME_MS_MAX) return -1;
    *ms = t;
    return 0;
}
