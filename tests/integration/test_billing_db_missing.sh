#!/usr/bin/env bash
# A member whose database does not exist is misconfigured: `billing run` (and --once) exits 2
# at once with one error line naming the database, and holds no partition meanwhile: a second,
# healthy member bills every hit.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 400 --seed 91
produce "$TMP/s.tsv"

"$BIN/billing" run --db "dbname=no_such_db" 2> "$TMP/bad.log" &
bad=$!
track_pid $bad
"$BIN/billing" run --metrics-interval 1 2> "$TMP/good.log" &
good=$!
track_pid $good

t0=$(date +%s%3N)
set +e
wait "$bad"
rc=$?
set -e
echo "the misconfigured member exited with $rc after $(($(date +%s%3N) - t0)) ms"
assert_eq "$rc" 2 "exit status of billing run against a missing database"
grep 'level=error' "$TMP/bad.log"
assert_eq "$(grep -c 'level=error' "$TMP/bad.log")" 1 "error lines"
grep -q 'level=error.*no_such_db.*does not exist' "$TMP/bad.log" || fail "the error line does not name the database"
assert_eq "$(grep -c 'partitions taken' "$TMP/bad.log" || true)" 0 "partitions the misconfigured member took"

all_billed() { (($(usage_hits) == 400)); }
wait_for 30 all_billed || fail "the healthy member billed $(usage_hits) of 400 hits"
assert_usage_equals "$TMP/t.json"
assert_eq "$(metric partitions "$TMP/good.log")" 16 "partitions the healthy member holds"
kill -TERM "$good"
wait "$good" || fail "the healthy member exited with $?"

set +e
"$BIN/billing" run --once --db "dbname=no_such_db" 2> "$TMP/bad-once.log"
rc=$?
set -e
assert_eq "$rc" 2 "exit status of billing run --once against a missing database"
grep -q 'level=error.*no_such_db.*does not exist' "$TMP/bad-once.log" || fail "--once: the error line does not name the database"
echo ok
