/* usage.h: `billing usage`: one customer's usage over a range of UTC dates, summed exactly from
 * usage_hourly, for finance and support (no invoice, nothing written).
 *
 * Rules (README, "billing usage"):
 *   - --from and --to are dates (YYYY-MM-DD, UTC), both inclusive: --from 2026-11-01
 *     --to 2026-11-30 is the whole of November, hours >= 2026-11-01T00Z and < 2026-12-01T00Z.
 *     Dates run from 2000-01-01 to 9999-12-30; --to before --from is refused (exit 2).
 *   - rows are per period (--by hour, day (default) or month, by the hits' own hour in UTC) and,
 *     with --group, per client country or per zone of the customer's plan (plan_zones of
 *     customers.plan_id; '*' is every country not listed). A country the plan has no zone for is
 *     shown with an empty zone; --group zone for a customer without a plan is refused (exit 1).
 *   - only periods with usage are listed; the total covers the whole range.
 *   - sums are PostgreSQL numeric sums printed as they are: exact whatever their size. GB is
 *     10^9 bytes, written as an exact decimal (1 byte = 0.000000001 GB), never rounded.
 *   - one REPEATABLE READ READ ONLY transaction: rows and total come from one snapshot. The
 *     default role is billing_reader (SET ROLE when the login role is a member).
 *
 * Formats: text (aligned columns, a total line), csv (header `period,country|zone,hits,bytes,gb`,
 * the group column only with --group; no total row), json ({"customer", "from", "to", "by",
 * "group", "rows": [...], "total": {...}}, numbers as strings so that no reader makes them
 * doubles). */
#ifndef USAGE_H
#define USAGE_H

#include <stddef.h>

/* Room for GB of any bytes sum PostgreSQL can print here (numeric sums of bigints: < 40 digits). */
#define USAGE_NUM_MAX 96

/* `billing usage [options]`: argv[0] is "usage". Returns the exit status: 0; 1 for a database
 * or output failure (or --group zone without a plan, or an unknown customer without usage);
 * 2 for bad usage (a message naming the option on stderr). */
int usage_main(int argc, char **argv);

/* bytes (a whole number as decimal text) as GB = bytes / 10^9, exactly: "1500000000" -> "1.5",
 * "1" -> "0.000000001", "0" -> "0". 0, or -1 when bytes is not digits or out does not fit. */
int usage_gb(const char *bytes, char *out, size_t cap);

/* "YYYY-MM-DD", a real calendar date from 2000-01-01 to 9999-12-30 -> seconds since the epoch
 * of its 00:00 UTC. 0, or -1. */
int usage_date_parse(const char *s, long long *epoch_s);

#endif
