#!/usr/bin/env bash
# /healthz of the collector and of the aggregator turns 503 when their main loop hangs on a real
# dependency: their log sink stops reading. journald that stalls, or a Docker log driver in its
# default "blocking" mode that cannot ship, leaves the service's stderr pipe full, and the next
# log line of the main loop blocks in write(2) (no test hook: the programs run as they are). The
# operator's endpoints keep answering (their threads do not log): /healthz says "stalled: ...",
# /metrics is 200; once the sink reads again, /healthz is 200 and the loop goes on (the collector
# reads every line written meanwhile). The sink is tests/integration/lib/log_sink.py, which
# shrinks the pipe to one page so that a few dozen lines fill it; SIGSTOP stops its reading.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock
sink=$ROOT/tests/integration/lib/log_sink.py

code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$1$2"; }
is() { [[ "$(code "$1" "$2")" == "$3" ]]; }
port_of() {
    local p
    wait_for 20 grep -q 'metrics_port=[1-9]' "$1" || { tail -5 "$1"; fail "no metrics_port in $1"; }
    p=$(grep -o 'metrics_port=[0-9]*' "$1" | head -1)
    echo "${p#metrics_port=}"
}
# NAME: a FIFO for the program's stderr and a sink copying it to $TMP/NAME.log; sets SINK_PID.
start_sink() {
    mkfifo "$TMP/$1.fifo"
    : > "$TMP/$1.log"
    python3 "$sink" "$TMP/$1.log" < "$TMP/$1.fifo" &
    SINK_PID=$!
    track_pid "$SINK_PID"
}
# NAME PORT: /healthz 503 with the reason while the sink is stopped, /metrics 200.
expect_stalled() {
    wait_for 20 is "$2" /healthz 503 || fail "$1 /healthz stayed $(code "$2" /healthz) with its log sink stopped"
    echo "ok: $1 /healthz 503 $(($(date +%s%3N) - t0)) ms after its sink stopped: $(curl -s "http://127.0.0.1:$2/healthz")"
    curl -s "http://127.0.0.1:$2/healthz" | grep -q '^stalled: main loop stalled for' ||
        fail "$1: the 503 gives no reason"
    assert_eq "$(code "$2" /metrics)" 200 "$1 /metrics while its main loop is stalled"
}

# ---- the collector: new files appear while the log sink is stuck ----
"$BIN/billing" hosts > "$TMP/hosts" 2> /dev/null || true
echo "cdn.example.com acme" >> "$TMP/hosts"
mkdir -p "$TMP/logs" "$TMP/state"
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 200 --rate 0 --seed 7 > /dev/null
start_sink collector
csink=$SINK_PID
"$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e edge-s -s "$TMP/state" \
    --metrics-listen 127.0.0.1:0 --health-stall 3s "$TMP/logs/*.log" 2> "$TMP/collector.fifo" &
track_pid $!
cport=$(port_of "$TMP/collector.log")
read_n() { curl -fsS "http://127.0.0.1:$cport/metrics" | grep -qx "collector_lines_read_total $1"; }
wait_for 20 read_n 200 || fail "collector read: $(curl -fsS "http://127.0.0.1:$cport/metrics" | grep lines_read)"
assert_eq "$(code "$cport" /healthz)" 200 "collector /healthz while its loop turns"

kill -STOP "$csink"
t0=$(date +%s%3N)
# 60 new files: each is logged ("file opened", ~200 bytes) by the main loop; a page fills.
for i in $(seq 1 60); do
    "$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/more$i.log" --lines 1 --rate 0 --seed "$i" > /dev/null 2>&1
done
expect_stalled collector "$cport"
kill -CONT "$csink"
wait_for 10 is "$cport" /healthz 200 || fail "collector /healthz stayed $(code "$cport" /healthz) after the sink read again"
echo "ok: collector /healthz 200 again $(($(date +%s%3N) - t0)) ms after its sink stopped"
wait_for 20 read_n 260 || fail "collector read after the stall: $(curl -fsS "http://127.0.0.1:$cport/metrics" | grep lines_read)"
echo "ok: the collector read all 260 lines after the stall"
opened_all() { (($(grep -c 'msg="file opened"' "$TMP/collector.log") == 61)); } # none lost
wait_for 10 opened_all ||
    fail "the collector logged $(grep -c 'msg="file opened"' "$TMP/collector.log") of 61 'file opened' lines"

# ---- the aggregator: SIGHUPs (tokens reloaded, one log line each) while the sink is stuck ----
start_sink aggregator
asink=$SINK_PID
"$BIN/aggregator" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --tokens "$ROOT/tools/demo-tokens" \
    --health-stall 3s 2> "$TMP/aggregator.fifo" &
apid=$!
track_pid $apid
aport=$(port_of "$TMP/aggregator.log")
kill -HUP $apid
wait_for 10 grep -q 'tokens reloaded' "$TMP/aggregator.log" || fail "no 'tokens reloaded' after SIGHUP"
assert_eq "$(code "$aport" /healthz)" 200 "aggregator /healthz while its loop turns"

kill -STOP "$asink"
t0=$(date +%s%3N)
stalled() { is "$aport" /healthz 503; }
# 60 bytes a line, one reload per loop turn (100 ms): a page is full after ~65 of them. SIGHUPs
# go on while the line waits: each interrupts the write, which must not end the wait.
hups=0
for _ in $(seq 1 150); do
    kill -HUP $apid
    hups=$((hups + 1))
    sleep 0.12
    ! stalled || break
done
# 503 while SIGHUPs still came: a signal did not end the blocked write (it did before log.c
# wrote the line again after EINTR: the loop went on, and stalled only once they stopped).
stalled || fail "aggregator /healthz not 503 after $hups SIGHUPs with its sink stopped"
echo "ok: aggregator stalled while SIGHUPs kept coming ($hups sent)"
expect_stalled aggregator "$aport"
kill -CONT "$asink"
wait_for 10 is "$aport" /healthz 200 || fail "aggregator /healthz stayed $(code "$aport" /healthz) after the sink read again"
echo "ok: aggregator /healthz 200 again $(($(date +%s%3N) - t0)) ms after its sink stopped"
# The SIGHUPs that came while a line was blocked lost none and cut none: log.c writes the line
# again after EINTR (it dropped it, and the loop went on while SIGHUPs came, before).
kill -TERM $apid
wait $apid || fail "aggregator exit status $? after SIGTERM"
wait "$asink"
assert_eq "$(grep -cv '^ts=[^ ]* level=[a-z]* msg=' "$TMP/aggregator.log")" 0 "aggregator log lines cut or merged"
echo ok
