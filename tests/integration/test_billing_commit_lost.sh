#!/usr/bin/env bash
# A COMMIT whose connection drops: billing cannot know whether it landed, and must not guess.
# A proxy between billing and PostgreSQL (pg_commit_proxy.py) loses the answer of one COMMIT
# (it landed) and the COMMIT itself of another (it did not). billing reconnects, reads the
# stored offsets, and decides per partition: landed -> its sums are dropped from memory (written
# already); not landed -> written again. usage_hourly ends exact: never twice, never lost.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/s.tsv" "$TMP/t.json" --hits 40000 --seed 66 --replays 10 --bad 1
python3 - "$TMP/s.tsv" << 'PY' | kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -X compression.codec=lz4 -X linger.ms=20 &
import sys, time
lines = open(sys.argv[1]).read().splitlines(True)
for i in range(0, len(lines), 1000):
    sys.stdout.writelines(lines[i:i + 1000])
    sys.stdout.flush()
    time.sleep(0.25)
PY
producer=$!
track_pid $producer

mkdir -p "$TMP/proxy"
python3 "$ROOT/tests/integration/lib/pg_commit_proxy.py" "$TMP/proxy" "$PGHOST/.s.PGSQL.5432" \
    "4:reply,9:request" > "$TMP/proxy.log" 2>&1 &
track_pid $!
wait_for 10 test -S "$TMP/proxy/.s.PGSQL.5432" || fail "the proxy did not start"

"$BIN/billing" run --flush-ms 300 --metrics-interval 1 \
    --db "host=$TMP/proxy port=5432 dbname=cdn user=postgres" 2> "$TMP/run.log" &
billing=$!
track_pid $billing
wait "$producer" || fail "producer failed"
caught_up() { (($(usage_hits) == 40000)); }
wait_for 90 caught_up || { tail "$TMP/run.log"; fail "billing did not catch up: $(usage_hits) of 40000 hits"; }
kill -TERM "$billing"
wait "$billing" || fail "billing run exited with $? after SIGTERM"

cat "$TMP/proxy.log"
assert_eq "$(grep -c '^lost ' "$TMP/proxy.log")" 2 "COMMITs lost by the proxy"
assert_eq "$(metric commit_unknown "$TMP/run.log")" 2 "COMMITs billing saw as unknown"
grep 'COMMIT outcome resolved' "$TMP/run.log" | sed 's/^.*msg=/  /'
grep -q 'COMMIT outcome resolved.* landed=[1-9][0-9]* not_landed=0 ' "$TMP/run.log" ||
    fail "the COMMIT whose answer was lost was not found landed"
grep -q 'COMMIT outcome resolved.* landed=0 not_landed=[1-9][0-9]* ' "$TMP/run.log" ||
    fail "the COMMIT that was lost was not found missing"
run_once
assert_usage_equals "$TMP/t.json"
echo ok
