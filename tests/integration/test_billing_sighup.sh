#!/usr/bin/env bash
# SIGHUP does not stop `billing run` (collector and aggregator reload on it; billing has nothing
# to reload and says so), and it goes on billing.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
"$BIN/billing" run 2> "$TMP/run.log" &
pid=$!
track_pid $pid
taken() { grep -q 'partitions taken' "$TMP/run.log"; }
wait_for 10 taken || fail "billing run took no partitions"
kill -HUP "$pid"
kill -HUP "$pid"
said() { grep -q 'SIGHUP: nothing to reload' "$TMP/run.log"; }
wait_for 5 said || fail "SIGHUP was not logged"
pid_alive "$pid" || fail "billing run stopped on SIGHUP"
gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 400 --seed 5
produce "$TMP/s.tsv"
all_billed() { (($(usage_hits) == 400)); }
wait_for 20 all_billed || fail "billed $(usage_hits) of 400 hits after SIGHUP"
assert_usage_equals "$TMP/t.json"
kill -TERM "$pid"
wait "$pid" || fail "billing run exited with $? on SIGTERM"
echo ok
