#!/usr/bin/env bash
# One usage row near the bigint limit once made every `billing run` exit 1 ("bigint out of
# range") and stopped billing for every customer. Now: a row at 2^63 - 1 bytes, then more hits
# into the same key: billing goes on and the sum is exact (numeric). And a row PostgreSQL refuses
# for any other reason (here a constraint added by hand refusing one customer) is held back in
# billing_usage_held with its error, while every other customer is billed and the offsets move on.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null

gen_stream "$TMP/s.tsv" "$TMP/truth.json" --hits 5000 --seed 21 --replays 0 --bad 0
# the first acme row of the truth: the key that already holds 2^63 - 1 bytes
key=$(jq -r '[.usage[] | select(startswith("acme|"))][0]' "$TMP/truth.json")
IFS='|' read -r kc kh kco khits kbytes <<< "$key"
big=9223372036854775807
pg_psql -c "insert into usage_hourly values ('$kc', '$kh', '$kco', 1, $big)" > /dev/null
pg_psql -c "alter table usage_hourly add constraint test_refuses_umbrella check (customer_id <> 'umbrella')" > /dev/null
produce "$TMP/s.tsv"

run_once --metrics-interval 0
log=$TMP/once.log
want=$(python3 -c "print($big + $kbytes)")
assert_eq "$(pg_psql -c "select bytes from usage_hourly where customer_id = '$kc' and hour = '$kh' and country = '$kco'")" "$want" "bytes of the row past 2^63 (exact)"
assert_eq "$(pg_psql -c "select hits from usage_hourly where customer_id = '$kc' and hour = '$kh' and country = '$kco'")" $((khits + 1)) "hits of that row"
assert_eq "$(pg_psql -c "select count(*) from usage_hourly where customer_id = 'umbrella'")" 0 "umbrella rows in usage_hourly (refused)"
umbrella=$(jq '[.usage[] | select(startswith("umbrella|")) | split("|")[3] | tonumber] | add' "$TMP/truth.json")
assert_eq "$(pg_psql -c "select sum(hits) from billing_usage_held where customer_id = 'umbrella'")" "$umbrella" "umbrella hits held back"
assert_eq "$(pg_psql -c "select count(*) from billing_usage_held where error like '%test_refuses_umbrella%'")" \
    "$(pg_psql -c "select count(*) from billing_usage_held")" "held rows carry the error"
assert_ge "$(metric usage_rows_held "$log")" 1 "metric usage_rows_held"
grep -q 'kept in billing_usage_held' "$log" || fail "no log line for the held rows"
assert_eq "$(pg_psql -c "select sum(next_offset) from billing_offsets")" "$(jq .records "$TMP/truth.json")" "offsets moved past everything"

# Once the cause is fixed, finance adds the held rows: usage is then the truth exactly.
pg_psql -c "alter table usage_hourly drop constraint test_refuses_umbrella" > /dev/null
pg_psql -c "insert into usage_hourly (customer_id, hour, country, hits, bytes)
            select customer_id, hour, country, sum(hits), sum(bytes) from billing_usage_held
            group by 1, 2, 3
            on conflict (customer_id, hour, country) do update
            set hits = usage_hourly.hits + excluded.hits, bytes = usage_hourly.bytes + excluded.bytes" > /dev/null
pg_psql -c "update usage_hourly set hits = hits - 1, bytes = bytes - $big
            where customer_id = '$kc' and hour = '$kh' and country = '$kco'" > /dev/null
assert_usage_equals "$TMP/truth.json"

# More hits into the huge row again, and billing goes on (a second stream, new sources).
pg_psql -c "update usage_hourly set bytes = bytes + $big where customer_id = '$kc' and hour = '$kh' and country = '$kco'" > /dev/null
gen_stream "$TMP/s2.tsv" "$TMP/truth2.json" --hits 2000 --seed 22 --replays 0 --bad 0 --src-tag .2
produce "$TMP/s2.tsv"
run_once --metrics-interval 0
assert_eq "$(pg_psql -c "select sum(hits) from usage_hourly")" 7000 "hits after the second stream"
echo ok
