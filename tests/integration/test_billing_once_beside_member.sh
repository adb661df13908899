#!/usr/bin/env bash
# `billing run --once` beside a live member: it leaves the member's partitions to it and exits 0
# at once (no waiting for a group); once the member is killed with -9, the next --once takes
# every partition at once, and usage is exact.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 6000 --seed 17
"$BIN/billing" run 2> "$TMP/member.log" &
member=$!
track_pid $member
taken() { grep -q 'partitions taken.*count=16' "$TMP/member.log"; }
wait_for 10 taken || fail "the member took no partitions"

t0=$(date +%s%3N)
"$BIN/billing" run --once 2> "$TMP/once1.log" || fail "--once beside a member exited with $?"
ms=$(($(date +%s%3N) - t0))
echo "--once beside a live member of all 16 partitions: exit 0 after $ms ms"
((ms < 5000)) || fail "--once took $ms ms"
grep -q 'leaves the partitions live members hold to them.*count=16' "$TMP/once1.log" ||
    fail "--once did not say it left the member's partitions"
assert_eq "$(grep -c 'partitions taken' "$TMP/once1.log" || true)" 0 "partitions --once took"

kill -STOP "$member" # it holds its partitions, and reads nothing more
produce "$TMP/s.tsv"
kill -9 "$member"
wait "$member" 2> /dev/null || true
t0=$(date +%s%3N)
run_once
echo "--once after the member's kill -9: $(($(date +%s%3N) - t0)) ms"
grep -q 'partitions taken.*count=16' "$TMP/once.log" || fail "--once did not take every partition"
assert_usage_equals "$TMP/t.json"
echo ok
