#!/usr/bin/env bash
# kill -9 of billing run, many times, at random instants while a stream arrives, then billing
# run --once: usage_hourly is still exact. Nothing lost (what was not committed is read again
# from the stored offsets), nothing counted twice (what was committed is behind them). And each
# restarted member, with default options, commits new usage within 10 s of its start: the dead
# member's partitions are free as soon as its PostgreSQL session ends (advisory locks), there is
# no Kafka session to wait out.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
KILLS=${KILLS:-6}
RESUME_MAX_MS=10000
billing_setup

gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 60000 --seed 21 --replays 30 --bad 2
# The stream arrives over ~25 s, paced, so that every restart has new hits to commit.
python3 - "$TMP/s.tsv" << 'EOF2' | kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -X compression.codec=lz4 -X linger.ms=20 &
import sys, time
lines = open(sys.argv[1]).read().splitlines(True)
for i in range(0, len(lines), 250):
    sys.stdout.writelines(lines[i:i + 250])
    sys.stdout.flush()
    time.sleep(0.1)
EOF2
producer=$!
track_pid $producer

grew() { (($(usage_hits) > $1)); }
worst=0
for ((i = 1; i <= KILLS; i++)); do
    before=$(usage_hits)
    t0=$(date +%s%3N)
    "$BIN/billing" run 2> "$TMP/run.$i.log" &
    pid=$!
    track_pid $pid
    wait_for 30 grew "$before" || { tail "$TMP/run.$i.log"; fail "run $i committed nothing in 30 s"; }
    ms=$(($(date +%s%3N) - t0))
    echo "run $i: first usage committed ${ms} ms after its start"
    ((ms <= RESUME_MAX_MS)) || { tail "$TMP/run.$i.log"; fail "run $i resumed after ${ms} ms (> ${RESUME_MAX_MS})"; }
    ((ms > worst)) && worst=$ms
    sleep "$(awk -v r=$RANDOM 'BEGIN {printf "%.2f", 0.2 + r / 32767 * 2.5}')"
    kill -9 "$pid"
    wait "$pid" 2> /dev/null || true
    echo "killed run $i: $(usage_hits) hits committed so far"
done
echo "slowest resume after a kill -9: ${worst} ms"
wait "$producer" || fail "producer failed"
assert_eq "$(kcat_count hits)" "$(jq .records "$TMP/t.json")" "records in Kafka"
committed=$(usage_hits)
assert_ge "$committed" 1 "hits committed before the last kill"
((committed < 60000)) || echo "note: every hit was committed before the last kill"

run_once --metrics-interval 0
assert_usage_equals "$TMP/t.json"
echo ok
