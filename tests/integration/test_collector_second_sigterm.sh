#!/usr/bin/env bash
# SIGTERM with Kafka away: the first signal stops reading and waits (up to 30 s) for Kafka to
# confirm what is queued; a second SIGTERM hurries: the collector exits at once, its positions
# saved where Kafka's confirmations stopped, and the next run sends every unconfirmed line.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

mkdir -p "$TMP/logs"
"$BIN/loggen" --print-hosts > "$TMP/hosts"
log="$TMP/logs/access.log"
run_collector() {
  "$BIN/collector" -c "$TMP/hosts" -f "$LOGGEN_FORMAT" -e e1 -s "$TMP/state" "$log" \
      2>> "$TMP/c.log" &
  cpid=$!
  track_pid $cpid
}
run_collector
"$BIN/loggen" --networks "$NETWORKS" -o "$log" --lines 2000 --rate 0 --seed 3 2> /dev/null
confirmed=$(stat -c %s "$log")
wait_for 30 hits_at_least 2000 || fail "before the outage: $(kcat_count hits) of 2000"
saved_at() { awk -v want="$1" '$1 == "pos" && $7 == want { found = 1 } END { exit !found }' \
    "$TMP/state/positions" 2> /dev/null; }
wait_for 10 saved_at "$confirmed" || fail "positions never reached $confirmed: $(cat "$TMP/state/positions")"

kafka_down
"$BIN/loggen" --networks "$NETWORKS" -o "$log" --lines 3000 --rate 0 --seed 4 2> /dev/null
sleep 1 # read and queued, unconfirmed
kill -TERM $cpid
sleep 2
pid_alive $cpid || { tail "$TMP/c.log"; fail "the first SIGTERM did not wait for Kafka"; }
t0=$(date +%s%N)
kill -TERM $cpid
rc=0
wait $cpid || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "$rc" 0 "exit status after the second SIGTERM"
((ms < 3000)) || fail "the second SIGTERM took $ms ms to end the collector"
grep -q 'second stop signal' "$TMP/c.log" || { tail "$TMP/c.log"; fail "the hurry is not in the log"; }
saved_at "$confirmed" || fail "positions not saved at the last confirmed line ($confirmed): $(cat "$TMP/state/positions")"

# The next run sends what the hurried one left unconfirmed: every line arrives.
kafka_up
run_collector
wait_for 60 distinct_at_least 5000 || { tail "$TMP/c.log"; fail "after the restart: $(kcat_count hits) of 5000"; }
kill -TERM $cpid; wait $cpid || fail "collector exit status"
echo "ok: second SIGTERM ended the collector in $ms ms, positions at $confirmed"
