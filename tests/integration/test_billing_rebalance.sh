#!/usr/bin/env bash
# Two billing run members of one group share the partitions. One is frozen (SIGSTOP) while it
# holds unwritten sums, longer than its owner session may stay idle (10 s: the server ends it and
# frees its partition locks): the other takes its partitions, starts from the stored offsets and
# writes. Thawed, the first still holds those sums and
# tries to write them: the offsets' compare-and-set refuses (their stored offsets moved), it
# drops them and goes on. At the end usage_hourly is exact: nothing written twice or lost.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 60000 --seed 44 --replays 20 --bad 1
python3 - "$TMP/s.tsv" << 'PY' | kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -X compression.codec=lz4 -X linger.ms=20 &
import sys, time
lines = open(sys.argv[1]).read().splitlines(True)
for i in range(0, len(lines), 500):
    sys.stdout.writelines(lines[i:i + 500])
    sys.stdout.flush()
    time.sleep(0.25)
PY
producer=$!
track_pid $producer

# A writes every 4 s: when frozen it very likely holds sums.
"$BIN/billing" run --flush-ms 4000 --metrics-interval 1 2> "$TMP/a.log" &
a=$!
track_pid $a
"$BIN/billing" run --flush-ms 200 --metrics-interval 1 2> "$TMP/b.log" &
b=$!
track_pid $b
# both hold partitions: their last metrics line says so (8 each once settled)
holds() { [[ "$(metric partitions "$1")" == "$2" ]]; }
both() { holds "$TMP/a.log" 8 && holds "$TMP/b.log" 8; }
t0=$(date +%s%3N)
wait_for 30 both || { tail -n 3 "$TMP/a.log" "$TMP/b.log"; fail "the members did not settle on 8 partitions each"; }
echo "two members settled on 8 partitions each within $(($(date +%s%3N) - t0)) ms (metrics lines come every 1 s)"
sleep 2
echo "freezing A at $(usage_hits) hits, holding $(metric pending "$TMP/a.log") (last logged)"
kill -STOP "$a"
# B takes A's partitions once the server ended A's idle session (10 s), and writes past A's
# offsets.
b_all() { holds "$TMP/b.log" 16; }
t0=$(date +%s%3N)
wait_for 30 b_all || fail "B did not take over A's partitions"
echo "B holds all 16 partitions $(($(date +%s%3N) - t0)) ms after A was frozen (idle_session_timeout 10 s)"
sleep 2
kill -CONT "$a"
echo "thawed A at $(usage_hits) hits"

wait "$producer" || fail "producer failed"
caught_up() { (($(usage_hits) == 60000)); }
wait_for 120 caught_up || fail "the group did not catch up: $(usage_hits) of 60000 hits"
kill -TERM "$a" "$b"
wait "$a" || fail "A exited with $?"
wait "$b" || fail "B exited with $?"
run_once
assert_usage_equals "$TMP/t.json"
conflicts=$(metric offset_conflicts "$TMP/a.log")
echo "A: offset_conflicts=$conflicts hits_dropped=$(metric dropped "$TMP/a.log")"
grep 'stored offsets moved' "$TMP/a.log" | head -3 || true
echo ok
