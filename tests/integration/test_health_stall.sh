#!/usr/bin/env bash
# /healthz tells a hung main loop from a live one: billing run's flush blocked on a lock another
# session holds on usage_hourly (a real dependency, no test hook) turns /healthz 503
# "stalled: ..." once the loop has not turned for --health-stall, while /metrics still answers;
# released, /healthz is 200 again and every hit is billed. A database that is down is waited for
# on purpose: /healthz stays 200 then (the loop turns), /readyz is the one that says 503.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
gen_stream "$TMP/a.tsv" "$TMP/a.json" --hits 200 --seed 71 --src-tag a
gen_stream "$TMP/b.tsv" "$TMP/b.json" --hits 200 --seed 72 --src-tag b

"$BIN/billing" run --metrics-listen 127.0.0.1:0 --health-stall 3s 2> "$TMP/run.log" &
track_pid $!
wait_for 20 grep -q 'metrics_port=[1-9]' "$TMP/run.log" || fail "no metrics_port in the log"
port=$(grep -o 'metrics_port=[0-9]*' "$TMP/run.log" | head -1)
port=${port#metrics_port=}
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$port$1"; }
is() { [[ "$(code "$1")" == "$2" ]]; }

want_a=$(_truth_usage "$TMP/a.json" | awk -F'|' '{h += $4} END {print h}')
want_ab=$(_truth_usage "$TMP/a.json" "$TMP/b.json" | awk -F'|' '{h += $4} END {print h}')
produce "$TMP/a.tsv"
first_billed() { (($(usage_hits) == want_a)); }
wait_for 30 first_billed || fail "billed $(usage_hits) of $want_a hits before the lock"
assert_eq "$(code /healthz)" 200 "/healthz while the loop turns"

# Another session takes the table; the next flush waits for it.
pg_psql -c "BEGIN; LOCK TABLE usage_hourly IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(9); COMMIT;" \
    > /dev/null &
locker=$!
track_pid $locker
sleep 0.5
t0=$(date +%s%3N)
produce "$TMP/b.tsv"
wait_for 15 is /healthz 503 || fail "/healthz stayed $(code /healthz) with the flush blocked"
echo "ok: /healthz 503 after $(($(date +%s%3N) - t0)) ms of a blocked flush: $(curl -s "http://127.0.0.1:$port/healthz")"
curl -s "http://127.0.0.1:$port/healthz" | grep -q '^stalled: main loop stalled for' || fail "the 503 gives no reason"
assert_eq "$(code /metrics)" 200 "/metrics while the loop is stalled"

wait "$locker" || fail "the locking session failed"
wait_for 10 is /healthz 200 || fail "/healthz stayed $(code /healthz) after the lock was released"
echo "ok: /healthz 200 again $(($(date +%s%3N) - t0)) ms after the flush blocked"
all_billed() { (($(usage_hits) == want_ab)); }
wait_for 30 all_billed || fail "billed $(usage_hits) of $want_ab hits after the lock"
assert_usage_equals "$TMP/a.json" "$TMP/b.json"

# The database away: the loop waits for it on purpose and keeps turning.
stop_pg
wait_for 15 is /readyz 503 || fail "/readyz stayed $(code /readyz) with PostgreSQL down"
sleep 4
assert_eq "$(code /healthz)" 200 "/healthz 4 s into a database outage (--health-stall 3s)"
start_pg
wait_for 20 is /readyz 200 || fail "/readyz stayed $(code /readyz) after PostgreSQL came back"
echo ok
