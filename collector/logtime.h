/* logtime.h: the timestamps of access logs, as milliseconds since the Unix epoch, UTC.
 *
 * Log lines carry their time as text with its own UTC offset (nginx $time_local, Apache %t), as
 * ISO 8601 ($time_iso8601) or as epoch seconds ($msec). Billing puts every hit in a UTC hour, so
 * the conversion must be exact whatever the edge's time zone: it is pure arithmetic on the
 * proleptic Gregorian calendar, never timegm/mktime (which depend on TZ and allocate). Every
 * parser is strict: a field that is not a real instant (31/Feb, hour 25, month "Foo", offset
 * +9999) is refused, so that the collector can reject the line with reason "timestamp" instead
 * of billing it in a wrong hour.
 *
 * Accepted range: LOGTIME_YEAR_MIN-01-01T00:00:00Z up to the end of LOGTIME_YEAR_MAX; a time
 * before the epoch is refused (hit records carry no negative times). Seconds run 00..59 (nginx
 * and Apache print time(2), which never shows a leap second). */
#ifndef LOGTIME_H
#define LOGTIME_H

#include <stddef.h>
#include <stdint.h>

#define LOGTIME_YEAR_MIN 1970
#define LOGTIME_YEAR_MAX 9999
/* 9999-12-31T23:59:59.999Z: the last instant accepted, in ms since the epoch. */
#define LOGTIME_MS_MAX 253402300799999LL
/* Largest UTC offset accepted, in minutes: real zones span -12:00..+14:00. */
#define LOGTIME_OFFSET_MAX_MIN (14 * 60)
/* Length of a $time_local field: "17/May/2015:10:05:03 +0000". */
#define LOGTIME_LOCAL_LEN 26

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian; m 1..12, d 1..31, not
 * checked here: see logtime_days_in_month). Negative before the epoch. */
int64_t logtime_days_from_civil(int64_t y, int m, int d);

/* Days in month m (1..12) of year y, leap years included; 0 for a month out of range. */
int logtime_days_in_month(int64_t y, int m);

/* "dd/Mon/yyyy:HH:MM:SS +hhmm" (exactly LOGTIME_LOCAL_LEN bytes, English month abbreviations as
 * nginx and Apache print them, any offset within LOGTIME_OFFSET_MAX_MIN). 0 and *ms on success,
 * -1 if [p, p+n) is not such a time. */
int logtime_parse_local(const char *p, size_t n, int64_t *ms);

/* "YYYY-MM-DDTHH:MM:SS" with an optional fraction of 1..9 digits (cut to milliseconds, not
 * rounded), then "Z", "+HH:MM", "-HH:MM", "+HHMM" or "-HHMM". A time without a zone is refused:
 * its instant is unknown. 0 and *ms on success, -1 otherwise. */
int logtime_parse_iso8601(const char *p, size_t n, int64_t *ms);

/* Epoch seconds with an optional fraction of 1..9 digits ("1431857103.123", nginx $msec); digits
 * after the third fractional one are cut. 0 and *ms on success, -1 otherwise. */
int logtime_parse_msec(const char *p, size_t n, int64_t *ms);

#endif
