#!/usr/bin/env bash
# billing usage: one customer's usage over dates equals usage_hourly summed in SQL, for every
# --by, with and without --group country|zone, in CSV, JSON and text; sums beyond 2^64 stay
# exact (never floating point), GB is bytes / 10^9 as an exact decimal; --to is inclusive and
# dates are UTC days whatever the server's time zone (Pacific/Chatham, +13:45, here); --group zone
# zones each hour by the plan in effect at that hour (customer_plans), not by customers.plan_id
# (the plan of now: `moved` changes plan mid-range). It runs
# as a login role that is only a member of billing_reader. Bad dates and ranges exit 2 naming
# the option. The usage rows are inserted into usage_hourly directly (hand-made, with the range's
# edges and sums past 2^64); the pipeline that fills usage_hourly is tested by test_billing_exact.
PG_TIMEZONE=Pacific/Chatham
source "$(dirname "$0")/lib/lib.sh"
start_pg
"$BIN/billing" migrate > "$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log"; fail "billing migrate"; }

# Plan std: US -> na, DE -> eu, '*' -> rest. Plan partial: US only (BR has no zone).
pg_psql << 'EOF'
INSERT INTO plans (id, currency, minimum_commit, price_per_10k_requests) VALUES
  ('std', 'USD', 0, 0), ('partial', 'USD', 0, 0);
INSERT INTO plan_zones (plan_id, country, zone) VALUES
  ('std', 'US', 'na'), ('std', 'DE', 'eu'), ('std', '*', 'rest'), ('partial', 'US', 'us, "north"');
INSERT INTO customers (id, name, plan_id) VALUES
  ('acme', 'Acme, Inc.', 'std'), ('bits', 'Bits Ltd', 'partial'), ('noplan', 'No Plan', NULL),
  ('moved', 'Moved Co', 'std');
-- moved: std since always, partial from 2026-10-15T00Z (customers.plan_id follows: partial)
INSERT INTO customer_plans (customer_id, plan_id, valid_from) VALUES
  ('moved', 'partial', '2026-10-15 00:00:00+00');
INSERT INTO usage_hourly (customer_id, hour, country, hits, bytes) VALUES
  -- outside 2026-10-01 .. 2026-10-31: the hour before and the hour after
  ('acme', '2026-09-30 23:00:00+00', 'US', 111, 111),
  ('acme', '2026-11-01 00:00:00+00', 'US', 222, 222),
  -- inside: the first and the last hour, and sums past 2^64 (18446744073709551616)
  ('acme', '2026-10-01 00:00:00+00', 'US', 9223372036854775807, 9223372036854775807),
  ('acme', '2026-10-01 01:00:00+00', 'US', 9223372036854775807, 9223372036854775807),
  ('acme', '2026-10-01 01:00:00+00', 'DE', 5, 1),
  ('acme', '2026-10-01 02:00:00+00', 'FR', 7, 1500000000),
  ('acme', '2026-10-15 12:00:00+00', 'BR', 3, 999999999),
  ('acme', '2026-10-15 13:00:00+00', 'DE', 4, 2000000000),
  ('acme', '2026-10-31 23:00:00+00', 'US', 1, 10),
  ('acme', '2026-10-31 23:00:00+00', 'JP', 2, 3000000000000),
  -- other customers in the range: never in acme's report
  ('bits', '2026-10-03 00:00:00+00', 'US', 10, 1000000000),
  ('bits', '2026-10-03 00:00:00+00', 'BR', 20, 2000000000),
  ('ghost', '2026-10-04 00:00:00+00', 'GB', 42, 4200),
  -- moved: US and DE under std (na, eu), then US and DE under partial (its zone, none)
  ('moved', '2026-10-01 00:00:00+00', 'US', 1, 100),
  ('moved', '2026-10-14 23:00:00+00', 'DE', 2, 200),
  ('moved', '2026-10-15 00:00:00+00', 'US', 4, 400),
  ('moved', '2026-10-20 00:00:00+00', 'DE', 8, 800);
CREATE ROLE support LOGIN IN ROLE billing_reader;
EOF
# Every run below logs in as `support`, a member of billing_reader only.
export DATABASE_URL="${DATABASE_URL/user=postgres/user=support}"
assert_eq "$(PGUSER=support pg_psql -c "select session_user")" support "login role"

usage() { "$BIN/billing" usage --customer "$1" --from 2026-10-01 --to 2026-10-31 "${@:2}"; }

# The same sums computed independently: "period,key,hits,bytes", where key is the country, the
# zone of the plan in effect at the hour (the country's row, else '*''s; '' when neither) or
# nothing.
want() { # CUSTOMER BY(to_char format) GROUP(none|country|zone)
    local key
    case $3 in
    none) key="NULL::text" ;;
    country) key="u.country" ;;
    zone) key="coalesce(exact.zone, star.zone, '')" ;;
    esac
    pg_psql -F, -c "
      SELECT to_char(u.hour AT TIME ZONE 'UTC', '$2') AS p, $key AS k, sum(u.hits), sum(u.bytes)
      FROM usage_hourly u
      LEFT JOIN LATERAL (SELECT p.plan_id FROM customer_plans p WHERE p.customer_id = u.customer_id
                         AND p.valid_from <= u.hour ORDER BY p.valid_from DESC LIMIT 1) c ON true
      LEFT JOIN plan_zones exact ON exact.plan_id = c.plan_id AND exact.country = u.country
      LEFT JOIN plan_zones star ON star.plan_id = c.plan_id AND star.country = '*'
      WHERE u.customer_id = '$1'
        AND u.hour >= '2026-10-01 00:00:00+00' AND u.hour < '2026-11-01 00:00:00+00'
      GROUP BY 1, 2 ORDER BY 1, 2 -- the cluster is --locale=C: byte order" | if [[ $3 == none ]]; then sed 's/,,/,/'; else cat; fi
}
# GB of every row of a CSV: bytes / 10^9 in Python's exact Decimal, then the CSV without it.
check_gb() {
    python3 - "$1" << 'EOF' || fail "GB column of $1 is not bytes / 10^9 exactly"
import csv, sys
from decimal import Decimal
rows = list(csv.reader(open(sys.argv[1])))
for r in rows[1:]:
    gb = Decimal(int(r[-2])) / Decimal(10**9)
    want = format(gb.normalize(), "f") if gb else "0"
    assert r[-1] == want, (r, want)
EOF
}

declare -A FMT=([hour]='YYYY-MM-DD"T"HH24":00Z"' [day]='YYYY-MM-DD' [month]='YYYY-MM')
n=0
for cust in moved acme bits; do
    for by in hour day month; do
        for group in none country zone; do
            args=(--by "$by" --format csv)
            [[ $group == none ]] || args+=(--group "$group")
            usage "$cust" "${args[@]}" > "$TMP/got.csv" 2> "$TMP/err" || { cat "$TMP/err"; fail "usage $cust ${args[*]}"; }
            check_gb "$TMP/got.csv"
            # python's csv undoes the RFC 4180 quoting of the zone 'us, "north"'
            python3 -c '
import csv, sys
for r in list(csv.reader(open(sys.argv[1])))[1:]:
    print(",".join(r[:-1]))' "$TMP/got.csv" > "$TMP/got.rows"
            want "$cust" "${FMT[$by]}" "$group" > "$TMP/want.rows"
            diff -u "$TMP/want.rows" "$TMP/got.rows" || fail "usage $cust ${args[*]} differs from SQL"
            n=$((n + 1))
        done
    done
done
echo "ok: CSV equals usage_hourly summed in SQL for $n customer x --by x --group combinations, GB exact"
head -1 "$TMP/got.csv" | grep -qx 'period,zone,hits,bytes,gb' || fail "CSV header"
usage acme --by month --format csv | head -1 | grep -qx 'period,hits,bytes,gb' || fail "CSV header without --group"
grep -q '^2026-10,"us, ""north""",10,1000000000,1$' "$TMP/got.csv" || { cat "$TMP/got.csv"; fail "zone quoted in CSV"; }
grep -q '^2026-10,,20,2000000000,2$' "$TMP/got.csv" || { cat "$TMP/got.csv"; fail "country without a zone"; }
assert_eq "$(usage moved --by month --group zone --format csv | tr '\n' ' ')" \
    'period,zone,hits,bytes,gb 2026-10,,8,800,0.0000008 2026-10,eu,2,200,0.0000002 2026-10,na,1,100,0.0000001 2026-10,"us, ""north""",4,400,0.0000004 ' \
    "moved's zones: std's before its plan change, partial's after (customers.plan_id is partial)"

# ---- JSON: rows and total --------------------------------------------------------------------
for group in country zone; do
    usage acme --by day --group "$group" --format json > "$TMP/got.json" || fail "usage --format json"
    jq -r --arg g "$group" '.rows[] | "\(.period),\(.[$g] // ""),\(.hits),\(.bytes)"' "$TMP/got.json" > "$TMP/got.rows"
    want acme YYYY-MM-DD "$group" > "$TMP/want.rows"
    diff -u "$TMP/want.rows" "$TMP/got.rows" || fail "JSON rows (--group $group) differ from SQL"
done
total=$(pg_psql -c "select sum(hits) || ' ' || sum(bytes) from usage_hourly where customer_id = 'acme'
                    and hour >= '2026-10-01 00:00:00+00' and hour < '2026-11-01 00:00:00+00'")
assert_eq "$(jq -r '"\(.total.hits) \(.total.bytes)"' "$TMP/got.json")" "$total" "JSON total"
assert_eq "$total" "18446744073709551636 18446747078209551624" "the total is past 2^64, exact"
assert_eq "$(jq -r '.total.gb' "$TMP/got.json")" "18446747078.209551624" "total GB"
assert_eq "$(jq -r '[.customer, .from, .to, .by, .group] | join(" ")' "$TMP/got.json")" \
    "acme 2026-10-01 2026-10-31 day zone" "JSON heading"
assert_eq "$(jq -r '.rows[0].hits | type' "$TMP/got.json")" string "numbers are JSON strings"
echo "ok: JSON rows and total equal SQL's sums (past 2^64, exact)"

# ---- text ------------------------------------------------------------------------------------
usage acme --by month --group zone > "$TMP/got.txt" || fail "usage text"
grep -q '^Usage     Acme, Inc. (acme)$' "$TMP/got.txt" || { cat "$TMP/got.txt"; fail "text heading"; }
grep -q '^Period    2026-10-01 to 2026-10-31 inclusive, UTC, by month, per zone$' "$TMP/got.txt" ||
    { cat "$TMP/got.txt"; fail "text period"; }
grep -Eq '^Total +18446744073709551636 +18446747078209551624 +18446747078.209551624$' "$TMP/got.txt" ||
    { cat "$TMP/got.txt"; fail "text total"; }
grep -Eq '^2026-10 +eu +9 +2000000001 +2.000000001$' "$TMP/got.txt" || { cat "$TMP/got.txt"; fail "text eu row"; }
echo "ok: text report"

# ---- one day, --to inclusive; a range without usage ------------------------------------------
assert_eq "$("$BIN/billing" usage -c acme --from 2026-10-31 --to 2026-10-31 --format json | jq -r .total.hits)" 3 \
    "--from = --to: that one day, inclusive"
assert_eq "$("$BIN/billing" usage -c acme --from 2026-11-01 --to 2026-11-01 --format json | jq -r .total.hits)" 222 \
    "the day after"
assert_eq "$("$BIN/billing" usage -c noplan --from 2026-10-01 --to 2026-10-31 --format json | jq -c '[.rows, .total.hits]')" \
    '[[],"0"]' "a customer without usage: no rows, total 0"
usage ghost --group country --format csv | grep -qx '2026-10-04,GB,42,4200,0.0000042' ||
    fail "usage of a customer missing from customers is shown"

# ---- refusals --------------------------------------------------------------------------------
set +e
usage noplan --group zone > /dev/null 2> "$TMP/noplan"
assert_eq "$?" 1 "exit status of --group zone without a plan"
usage nosuch > /dev/null 2> "$TMP/nosuch"
assert_eq "$?" 1 "exit status for a customer that does not exist and has no usage"
set -e
grep -q 'has no plan' "$TMP/noplan" || { cat "$TMP/noplan"; fail "--group zone without a plan: message"; }
grep -q 'no customer nosuch' "$TMP/nosuch" || { cat "$TMP/nosuch"; fail "no such customer: message"; }
bad() { # WANT-IN-MESSAGE ARGS...
    local want=$1 rc
    shift
    set +e
    "$BIN/billing" usage "$@" > /dev/null 2> "$TMP/bad"
    rc=$?
    set -e
    assert_eq "$rc" 2 "exit status of $*"
    assert_eq "$(wc -l < "$TMP/bad")" 1 "one line for $*"
    grep -q -- "$want" "$TMP/bad" || { cat "$TMP/bad"; fail "the error for $* does not name $want"; }
}
bad '--from 2026-02-30' -c acme --from 2026-02-30 --to 2026-03-01
bad '--to 2026-13-01' -c acme --from 2026-01-01 --to 2026-13-01
bad '--from 1999-12-31' -c acme --from 1999-12-31 --to 2026-01-01
bad '--to 2026-1-5' -c acme --from 2026-01-01 --to 2026-1-5
bad '--to 2026-09-30 is before --from 2026-10-01' -c acme --from 2026-10-01 --to 2026-09-30
bad '--from YYYY-MM-DD is required' -c acme --to 2026-10-01
bad '--by week' -c acme --from 2026-10-01 --to 2026-10-01 --by week
bad '--group city' -c acme --from 2026-10-01 --to 2026-10-01 --group city
bad '--format xml' -c acme --from 2026-10-01 --to 2026-10-01 --format xml
bad '--customer a b' -c 'a b' --from 2026-10-01 --to 2026-10-01
"$BIN/billing" usage --help | grep -q 'INCLUSIVE' || fail "--help says --to is inclusive"
echo ok
