#!/usr/bin/env bash
# The topic made anew (kafka-mock restarted: offsets from 0 again) while PostgreSQL keeps the
# stored offsets: `billing run --once` exits 1 with one line naming the partition, the stored
# offset and Kafka's range, and writes nothing. `billing offsets` shows the gaps. After
# `billing offsets reset --all --to earliest --reason ...` the new hits are billed exactly once,
# and each reset is in billing_offset_resets.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/a.tsv" "$TMP/a.json" --hits 8000 --seed 61 --src-tag a
produce "$TMP/a.tsv"
run_once
assert_usage_equals "$TMP/a.json"

stop_kafka_mock
start_kafka_mock
# Fewer new records than before in every partition: each stored offset lies beyond the new end.
gen_stream "$TMP/b.tsv" "$TMP/b.json" --hits 2000 --seed 62 --src-tag b
produce "$TMP/b.tsv"

set +e
"$BIN/billing" run --once 2> "$TMP/gap.log"
rc=$?
set -e
assert_eq "$rc" 1 "billing run --once exit status on a topic made anew"
grep 'offset gap' "$TMP/gap.log" | head -1
assert_eq "$(grep -c 'level=error msg="offset gap' "$TMP/gap.log")" 1 "offset gap lines"
grep -q 'offset gap.* partition=[0-9]* stored=[0-9]* kafka_range=0\.\.[0-9]*' "$TMP/gap.log" ||
    fail "the gap line names no partition, stored offset and range"
assert_usage_equals "$TMP/a.json" # nothing of the new topic was written

"$BIN/billing" offsets > "$TMP/offsets.txt" || fail "billing offsets"
cat "$TMP/offsets.txt"
assert_ge "$(grep -c ' gap ' "$TMP/offsets.txt")" 1 "partitions shown in a gap"

set +e
"$BIN/billing" offsets reset --all --to earliest 2> "$TMP/noreason.err"
assert_eq "$?" 2 "a reset without --reason is bad usage"
set -e
"$BIN/billing" offsets reset --all --to earliest --reason "kafka-mock restarted: topic made anew" \
    > "$TMP/reset.txt" || fail "billing offsets reset"
head -3 "$TMP/reset.txt"
assert_eq "$(pg_psql -c "select count(*) from billing_offset_resets where reason like 'kafka-mock%'")" \
    16 "audit rows (one per partition)"
assert_eq "$(pg_psql -c "select count(*) from billing_offset_resets where new_offset <> 0 or db_user = ''")" \
    0 "audit rows with a wrong new offset or no user"
"$BIN/billing" offsets | grep -c ' gap ' > "$TMP/gaps" || true
assert_eq "$(cat "$TMP/gaps")" 0 "partitions in a gap after the reset"

run_once
assert_usage_equals "$TMP/a.json" "$TMP/b.json"
run_once # again: nothing more
assert_usage_equals "$TMP/a.json" "$TMP/b.json"
echo ok
