#!/usr/bin/env bash
# Retention passes the position of a running `billing run` (frozen for a few seconds while ~14 MB
# arrive in one partition): Kafka can no longer serve its next offset. billing exits 1 with one
# line naming the partition, its offset and Kafka's range, instead of jumping ahead silently;
# the hits it had read before are billed exactly, nothing of the lost stretch is written.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
gen_stream "$TMP/a.tsv" "$TMP/a.json" --hits 4000 --seed 31 --src-tag a
produce "$TMP/a.tsv"
"$BIN/billing" run 2> "$TMP/run.log" &
pid=$!
track_pid $pid
all_a() { (($(usage_hits) == 4000)); }
wait_for 20 all_a || fail "billed $(usage_hits) of 4000 hits"
stored0=$(pg_psql -c "select next_offset from billing_offsets where partition = 0")

gen_stream "$TMP/big.tsv" "$TMP/big.json" --hits 60000 --seed 32 --src-tag big --replays 0 --bad 0
kill -STOP "$pid"
flood "$TMP/big.tsv" 0
kill -CONT "$pid"
set +e
wait "$pid"
rc=$?
set -e
assert_eq "$rc" 1 "billing run exit status once retention passed its position"
grep 'offset gap' "$TMP/run.log"
grep -q "offset gap.* partition=0 stored=$stored0 kafka_range=" "$TMP/run.log" ||
    fail "the gap line does not name partition 0 at $stored0"
assert_eq "$(pg_psql -c "select next_offset from billing_offsets where partition = 0")" "$stored0" \
    "stored offset of partition 0 (nothing written past the gap)"
assert_usage_equals "$TMP/a.json"
echo ok
