#!/usr/bin/env bash
# billing run --once on a known stream: usage_hourly is exact. The stream crosses the boundary
# between last month and this one (hours by the hits' own time, in UTC: the server runs in
# Asia/Kolkata, +05:30, to show that its time zone does not matter), holds replays of earlier
# lines (dropped), bad records of every kind (counted, skipped) and hits of a customer missing
# from `customers` (billed all the same). Then the tail of the stream sent again plus a second
# stream: the replays are recognised from the marks stored by the first run.
PG_TIMEZONE=Asia/Kolkata
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null

gen_stream "$TMP/s1.tsv" "$TMP/t1.json" --hits 30000 --seed 7 --replays 25 --bad 3
produce "$TMP/s1.tsv"
assert_eq "$(kcat_count hits)" "$(jq .records "$TMP/t1.json")" "records in Kafka"

run_once --metrics-interval 0
assert_usage_equals "$TMP/t1.json"
log=$TMP/once.log
assert_eq "$(metric consumed "$log")" "$(jq .records "$TMP/t1.json")" "records consumed"
assert_eq "$(metric written "$log")" 30000 "hits written"
assert_eq "$(metric duplicates "$log")" "$(jq .duplicates "$TMP/t1.json")" "replays dropped"
rejected=$(grep 'final metrics' "$log" | tail -1 | grep -o 'rejected_[a-z]*=[0-9]*' | awk -F= '{s += $2} END {print s}')
assert_eq "$rejected" "$(jq '[.rejected[]] | add' "$TMP/t1.json")" "records rejected"
assert_eq "$(metric pending "$log")" 0 "hits left in memory"
assert_eq "$(metric dropped "$log")" 0 "hits dropped"

# the month boundary: rows on both sides, none in between
first=$(date -u +%Y-%m-01)
assert_ge "$(pg_psql -c "select count(*) from usage_hourly where hour = '$first 00:00:00+00'::timestamptz - interval '1 hour'")" 1 "rows of the last hour of last month"
assert_ge "$(pg_psql -c "select count(*) from usage_hourly where hour = '$first 00:00:00+00'")" 1 "rows of the first hour of this month"
assert_eq "$(pg_psql -c "select count(*) from usage_hourly where extract(epoch from hour)::bigint % 3600 <> 0")" 0 "rows off the hour"
# the customer missing from `customers` is billed, not dropped
assert_ge "$(pg_psql -c "select sum(hits) from usage_hourly where customer_id = 'ghost-not-in-customers'")" 1 "hits of an unknown customer"
# offsets stored for every partition that had messages, at the partition's end
assert_eq "$(pg_psql -c "select sum(next_offset) from billing_offsets where group_id = 'billing' and topic = 'hits'")" \
    "$(jq .records "$TMP/t1.json")" "stored offsets sum"

# Nothing new: a second run writes nothing.
: > "$log"
run_once
assert_usage_equals "$TMP/t1.json"
assert_eq "$(metric consumed "$log")" 0 "records consumed by a second run"

# The last 5000 records of the first stream again (as a collector restarting from old positions
# would send them), then a second stream.
tail -n 5000 "$TMP/s1.tsv" > "$TMP/again.tsv"
gen_stream "$TMP/s2.tsv" "$TMP/t2.json" --hits 10000 --seed 8 --replays 5 --bad 1 --src-tag .2 \
    --start "${first}T00:30:00Z" --span-s 7200
produce "$TMP/again.tsv"
produce "$TMP/s2.tsv"
: > "$log"
run_once
assert_usage_equals "$TMP/t1.json" "$TMP/t2.json"
assert_eq "$(metric written "$log")" 10000 "hits written by the third run"
echo ok
