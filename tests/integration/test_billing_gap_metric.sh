#!/usr/bin/env bash
# An offset gap is visible to Prometheus, not only as a restart: `billing run --metrics-listen`
# that stops on a gap (the topic made anew) keeps serving /metrics with
# billing_offset_gap{partition="N"} 1 and billing_offset_gap_partitions, /readyz 503 naming the
# gap, then exits 1 (at once on SIGTERM, else after METER_GAP_LINGER_MS); `promtool check
# metrics` accepts the page. Without --metrics-listen it exits 1 at once, as before. `billing
# status` lists the partitions in a gap (text and JSON) beside how far each edge is billed.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/a.tsv" "$TMP/a.json" --hits 3000 --seed 81 --src-tag a
produce "$TMP/a.tsv"
run_once
stop_kafka_mock
start_kafka_mock
gen_stream "$TMP/b.tsv" "$TMP/b.json" --hits 300 --seed 82 --src-tag b
produce "$TMP/b.tsv"

"$BIN/billing" run --metrics-listen 127.0.0.1:0 2> "$TMP/run.log" &
pid=$!
track_pid $pid
wait_for 20 grep -q 'metrics_port=[1-9]' "$TMP/run.log" || fail "no metrics_port in the log"
port=$(grep -o 'metrics_port=[0-9]*' "$TMP/run.log" | head -1)
port=${port#metrics_port=}
gap_shown() { curl -fsS -m 5 "http://127.0.0.1:$port/metrics" > "$TMP/m.txt" && grep -q '^billing_offset_gap{partition="[0-9]*"} 1$' "$TMP/m.txt"; }
wait_for 20 gap_shown || { tail -5 "$TMP/run.log"; fail "/metrics shows no billing_offset_gap"; }
grep '^billing_offset_gap' "$TMP/m.txt"
p=$(grep -o 'offset gap.* partition=[0-9]*' "$TMP/run.log" | head -1)
p=${p##*partition=}
grep -qx "billing_offset_gap{partition=\"$p\"} 1" "$TMP/m.txt" || fail "the metric does not name partition $p of the log line"
assert_eq "$(grep '^billing_offset_gap_partitions ' "$TMP/m.txt" | cut -d' ' -f2)" 1 "billing_offset_gap_partitions"
assert_eq "$(grep '^billing_ready ' "$TMP/m.txt" | cut -d' ' -f2)" 0 "billing_ready"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" 503 "/readyz during the gap"
curl -s "http://127.0.0.1:$port/readyz" | grep -q 'offset gap' || fail "/readyz does not name the gap"
sleep 2
pid_alive "$pid" || fail "billing run exited before a scrape could see the gap"
if [[ -x "$ROOT/build/promtool/promtool" ]]; then
    "$ROOT/build/promtool/promtool" check metrics < "$TMP/m.txt" || fail "promtool check metrics"
    echo "ok: promtool check metrics"
fi
t0=$(date +%s%3N)
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
assert_eq "$rc" 1 "exit status after the gap (SIGTERM during the wait: $(($(date +%s%3N) - t0)) ms)"
assert_usage_equals "$TMP/a.json" # nothing written past the gap

"$BIN/billing" status > "$TMP/status.txt" || fail "billing status"
sed -n '/^offset gaps/,$p' "$TMP/status.txt" | head -4
grep -q "^offset gaps, group billing: [0-9]* partition(s); billing run stops" "$TMP/status.txt" ||
    fail "billing status does not say there are offset gaps"
grep -q "^  partition $p: stored [0-9]*, Kafka holds 0\.\.[0-9]*$" "$TMP/status.txt" ||
    fail "billing status does not list partition $p in a gap"
"$BIN/billing" status --format json > "$TMP/status.json" || fail "billing status --format json"
assert_eq "$(jq "[.offset_gaps[] | select(.partition == $p and .kafka_low == 0)] | length" "$TMP/status.json")" 1 \
    "partition $p among the JSON offset_gaps"

set +e
timeout 20 "$BIN/billing" run 2> "$TMP/plain.log"
rc=$?
set -e
assert_eq "$rc" 1 "exit status after the gap without --metrics-listen (at once)"
echo ok
