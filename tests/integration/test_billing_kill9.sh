#!/usr/bin/env bash
# kill -9 of billing run, many times, at random instants while a stream arrives (and while it
# writes: one flush every 100 ms), then billing run --once: usage_hourly is still exact. Nothing
# lost (what was not committed is read again from the stored offsets), nothing counted twice
# (what was committed is behind them).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/billing_lib.sh"
KILLS=${KILLS:-6}
billing_setup

gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 80000 --seed 21 --replays 30 --bad 2
# The stream arrives over ~70 s, paced: a new member takes ~11 s to get the partitions of a
# killed one (the mock waits out its session), so that is how long six kills take.
python3 - "$TMP/s.tsv" << 'EOF' | kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -X compression.codec=lz4 -X linger.ms=20 &
import sys, time
lines = open(sys.argv[1]).read().splitlines(True)
for i in range(0, len(lines), 400):
    sys.stdout.writelines(lines[i:i + 400])
    sys.stdout.flush()
    time.sleep(0.38)
EOF
producer=$!
track_pid $producer

started() { grep -q 'partitions assigned' "$TMP/run.$1.log"; }
for ((i = 1; i <= KILLS; i++)); do
    "$BIN/billing" run "${KAFKA_FAST_GROUP[@]}" --flush-ms 100 --metrics-interval 0 \
        2> "$TMP/run.$i.log" &
    pid=$!
    track_pid $pid
    wait_for 60 started "$i" || { tail "$TMP/run.$i.log"; fail "run $i got no partitions"; }
    sleep "$(awk -v r=$RANDOM 'BEGIN {printf "%.2f", 0.2 + r / 32767 * 2.5}')"
    kill -9 "$pid"
    wait "$pid" 2> /dev/null || true
    echo "killed run $i: $(usage_hits) hits committed so far"
done
wait "$producer" || fail "producer failed"
assert_eq "$(kcat_count hits)" "$(jq .records "$TMP/t.json")" "records in Kafka"
committed=$(usage_hits)
assert_ge "$committed" 1 "hits committed before the last kill"
((committed < 80000)) || echo "note: every hit was committed before the last kill"

run_once --metrics-interval 0
assert_usage_equals "$TMP/t.json"
echo ok
