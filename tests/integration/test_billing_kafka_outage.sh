#!/usr/bin/env bash
# Kafka goes away (every broker refuses connections, messages kept) while billing run consumes a
# stream, then comes back: billing waits, resumes, and usage_hourly is exact. The
# metrics are served on /metrics in Prometheus text format all along.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/s1.tsv" "$TMP/t1.json" --hits 20000 --seed 55 --replays 10 --bad 1
gen_stream "$TMP/s2.tsv" "$TMP/t2.json" --hits 20000 --seed 56 --replays 10 --bad 1 --src-tag .2
produce "$TMP/s1.tsv"
port=$((20000 + RANDOM % 20000))
"$BIN/billing" run --flush-ms 200 --metrics-interval 1 \
    --metrics "127.0.0.1:$port" 2> "$TMP/run.log" &
billing=$!
track_pid $billing
at_least() { (($(usage_hits) >= $1)); }
wait_for 60 at_least 20000 || fail "billing did not bill the first stream: $(usage_hits) hits"

# /metrics: what the log line says, in Prometheus text
curl -fsS "http://127.0.0.1:$port/metrics" > "$TMP/metrics" || fail "GET /metrics"
grep -qx 'billing_hits_written_total 20000' "$TMP/metrics" || fail "written in /metrics: $(grep written "$TMP/metrics")"
grep -q '^# TYPE billing_hits_rejected_total counter$' "$TMP/metrics" || fail "no TYPE line for rejected"
assert_eq "$(grep '^billing_hits_rejected_total{reason="[a-z]*"} [0-9]*$' "$TMP/metrics" | awk '{s += $2} END {print s}')" \
    "$(jq '[.rejected[]] | add' "$TMP/t1.json")" "rejected in /metrics"
lag_zero() { curl -fsS "http://127.0.0.1:$port/metrics" | grep -qx 'billing_lag_messages 0'; }
wait_for 10 lag_zero || fail "lag in /metrics: $(curl -fsS "http://127.0.0.1:$port/metrics" | grep '^billing_lag')"
if command -v promtool > /dev/null; then
    promtool check metrics < "$TMP/metrics" || fail "promtool check metrics"
fi
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" 200 "GET /healthz"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" 404 "GET /nope"

kafka_down
sleep 8
kafka_up
echo "kafka back at $(usage_hits) hits"
produce "$TMP/s2.tsv"
wait_for 90 at_least 40000 || { tail -5 "$TMP/run.log"; fail "billing did not resume: $(usage_hits) of 40000 hits"; }
pid_alive "$billing" || fail "billing run exited"
kill -TERM "$billing"
wait "$billing" || fail "billing run exited with $? after SIGTERM"
run_once
assert_usage_equals "$TMP/t1.json" "$TMP/t2.json"
# librdkafka reports a broker outage in its own log (repeats suppressed), not to the program
echo "log lines during the outage: $(grep -c 'msg="librdkafka"' "$TMP/run.log" || true) from librdkafka," \
    "$(grep -c 'kafka unavailable' "$TMP/run.log" || true) from billing"
echo ok
