#!/usr/bin/env bash
# PostgreSQL restarted (clean shutdown) and crashed (immediate stop, recovery on start) while
# billing run consumes a stream and writes every 50 ms: billing pauses, retries with backoff,
# resumes, and usage_hourly is exact. Each outage is logged once, not once per retry.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 60000 --seed 33 --replays 20 --bad 1
python3 - "$TMP/s.tsv" << 'PY' | kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -X compression.codec=lz4 -X linger.ms=20 &
import sys, time
lines = open(sys.argv[1]).read().splitlines(True)
for i in range(0, len(lines), 500):
    sys.stdout.writelines(lines[i:i + 500])
    sys.stdout.flush()
    time.sleep(0.2)
PY
producer=$!
track_pid $producer

"$BIN/billing" run --flush-ms 50 --metrics-interval 1 2> "$TMP/run.log" &
billing=$!
track_pid $billing
wait_for 10 grep -q 'partitions taken' "$TMP/run.log" || fail "billing got no partitions"
wait_for 60 bash -c "(( \$(PGCONNECT_TIMEOUT=2 $PG_BIN/psql -X -qAt -c 'select coalesce(sum(hits),0) from usage_hourly') > 5000 ))" ||
    fail "billing wrote nothing"

restart_pg
echo "restarted PostgreSQL at $(usage_hits) hits"
sleep 3
crash_pg
sleep 2
start_pg
echo "crashed and started PostgreSQL at $(usage_hits) hits"

wait "$producer" || fail "producer failed"
caught_up() { (($(usage_hits) == 60000)); }
wait_for 90 caught_up || fail "billing did not catch up: $(usage_hits) of 60000 hits"
pid_alive "$billing" || fail "billing run exited"
kill -TERM "$billing"
wait "$billing" || fail "billing run exited with $? after SIGTERM"
run_once
assert_usage_equals "$TMP/t.json"

down=$(grep -c 'database unavailable' "$TMP/run.log" || true)
up=$(grep -c 'database available again' "$TMP/run.log" || true)
assert_ge "$down" 1 "outages logged"
((down <= 2)) || fail "$down outage lines for 2 outages: logged in a loop"
assert_eq "$up" "$down" "recoveries logged"
echo "db_errors=$(metric db_errors "$TMP/run.log") commit_unknown=$(metric commit_unknown "$TMP/run.log")"
echo ok
