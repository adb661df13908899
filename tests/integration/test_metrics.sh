#!/usr/bin/env bash
# The operator's endpoints (--metrics-listen ADDR:PORT) of every service: the collector, the
# aggregator (on a second address beside its --listen) and billing run each serve /metrics that
# `promtool check metrics` accepts, with build_info and process_start_time_seconds, /healthz 200
# while they run and /readyz 200 once ready; billing's /readyz is 503 while its database does
# not answer (at start or later), the collector's while Kafka is away. One client that sends half
# a request and waits does not keep another from billing's /metrics (the hand-written server it
# replaced answered one connection at a time).
source "$(dirname "$0")/lib/lib.sh"
make -C "$ROOT" --no-print-directory -s promtool > "$TMP/make.log" 2>&1 ||
    fail "make promtool failed (it downloads Debian's prometheus package): $(tail -n 5 "$TMP/make.log")"
promtool=$ROOT/build/promtool/promtool
start_kafka_mock
start_pg
"$BIN/billing" migrate > "$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log"; fail "migrate"; }

# The port a program chose for PORT 0, from its start line (LOG's "metrics_port=N").
port_of() {
    local log=$1 p=""
    wait_for 20 grep -q 'metrics_port=[1-9]' "$log" || { tail -5 "$log"; fail "no metrics_port in $log"; }
    p=$(grep -o 'metrics_port=[0-9]*' "$log" | head -1)
    echo "${p#metrics_port=}"
}
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$1$2"; }
is_200() { [[ "$(code "$1" "$2")" == 200 ]]; }

# The checks every service passes; NAME is the program label of build_info.
check_service() {
    local name=$1 port=$2
    assert_eq "$(code "$port" /healthz)" 200 "$name GET /healthz"
    wait_for 60 is_200 "$port" /readyz ||
        fail "$name /readyz: $(curl -s "http://127.0.0.1:$port/readyz")"
    curl -fsS -m 5 "http://127.0.0.1:$port/metrics" > "$TMP/$name.metrics" || fail "$name GET /metrics"
    "$promtool" check metrics < "$TMP/$name.metrics" > "$TMP/$name.promtool" 2>&1 ||
        { cat "$TMP/$name.promtool"; fail "promtool check metrics refused $name's /metrics"; }
    grep -qx "build_info{version=\"0.2.0\",program=\"$name\"} 1" "$TMP/$name.metrics" ||
        fail "$name: no build_info: $(grep build_info "$TMP/$name.metrics")"
    local start
    start=$(awk '$1 == "process_start_time_seconds" {print $2}' "$TMP/$name.metrics")
    assert_ge "${start:-0}" $(($(date +%s) - 600)) "$name process_start_time_seconds"
    assert_ge "$(awk '$1 == "process_resident_memory_bytes" {print $2}' "$TMP/$name.metrics")" 1000000 \
        "$name process_resident_memory_bytes"
    assert_eq "$(code "$port" /nope)" 404 "$name GET /nope"
    echo "ok: $name on port $port: /healthz, /readyz 200, /metrics passes promtool ($(grep -c '^# TYPE' "$TMP/$name.metrics") metrics)"
}

# ---- billing run: 503 while the database does not answer, then ready ----
stop_pg
"$BIN/billing" run --flush-ms 200 --metrics-listen 127.0.0.1:0 "${KAFKA_FAST_GROUP[@]}" \
    2> "$TMP/billing.log" &
track_pid $!
bport=$(port_of "$TMP/billing.log")
assert_eq "$(code "$bport" /healthz)" 200 "billing /healthz with the database down"
sleep 1
assert_eq "$(code "$bport" /readyz)" 503 "billing /readyz with the database down"
echo "ok: billing /readyz is 503 while PostgreSQL is down: $(curl -s "http://127.0.0.1:$bport/readyz")"
start_pg
check_service billing "$bport"
grep -q '^billing_transaction_seconds_total ' "$TMP/billing.metrics" || fail "billing: no transaction seconds"

# ---- the aggregator: its API on --listen, the operator's endpoints on --metrics-listen ----
"$BIN/aggregator" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --tokens "$ROOT/tools/demo-tokens" \
    --metrics-interval 1 2> "$TMP/aggregator.log" &
track_pid $!
aport=$(port_of "$TMP/aggregator.log")
apiport=$(grep -o ' port=[0-9]*' "$TMP/aggregator.log" | head -1 | cut -d= -f2)
[[ "$aport" != "$apiport" ]] || fail "the aggregator's operator port is its API port"
check_service aggregator "$aport"
grep -q '^aggregator_edges_behind\|^aggregator_catchup_seconds' "$TMP/aggregator.metrics" ||
    fail "aggregator: the per-edge gauges are missing on the operator address"
# The log line's rss_bytes is the real value (it said 0 while /metrics had it).
wait_for 10 grep -q 'rss_bytes=[1-9]' "$TMP/aggregator.log" ||
    fail "aggregator log line: $(grep -o 'rss_bytes=[0-9]*' "$TMP/aggregator.log" | tail -1)"

# ---- the collector, following a file ----
"$BIN/billing" hosts > "$TMP/hosts" 2> /dev/null || true
echo "cdn.example.com acme" >> "$TMP/hosts"
mkdir -p "$TMP/logs" "$TMP/state"
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 200 --rate 0 --seed 7 > /dev/null
"$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e edge-m -s "$TMP/state" \
    --metrics-listen 127.0.0.1:0 "$TMP/logs/access.log" 2> "$TMP/collector.log" &
track_pid $!
cport=$(port_of "$TMP/collector.log")
check_service collector "$cport"
read_200() { curl -fsS "http://127.0.0.1:$cport/metrics" | grep -qx 'collector_lines_read_total 200'; }
wait_for 20 read_200 || fail "collector /metrics: $(curl -fsS "http://127.0.0.1:$cport/metrics" | grep lines_read)"
# Kafka away: within CSTATS_READY_STALE_MS (15 s) the collector is not ready, and ready again after.
kafka_down
not_ready() { [[ "$(code "$cport" /readyz)" == 503 ]]; }
wait_for 40 not_ready || fail "collector /readyz with Kafka away: $(code "$cport" /readyz)"
echo "ok: collector /readyz 503 with Kafka away: $(curl -s "http://127.0.0.1:$cport/readyz")"
assert_eq "$(code "$cport" /healthz)" 200 "collector /healthz with Kafka away"
kafka_up
wait_for 60 is_200 "$cport" /readyz || fail "collector /readyz after Kafka came back"
echo "ok: collector ready again after Kafka came back"

# ---- slow clients do not hold billing's /metrics ----
slow=()
for _ in 1 2 3 4; do
    exec {fd}<> "/dev/tcp/127.0.0.1/$bport"
    printf 'GET /metr' >&"$fd" # half a request line, then nothing
    slow+=("$fd")
done
t0=$(date +%s%N)
curl -fsS -m 3 "http://127.0.0.1:$bport/metrics" > "$TMP/billing.again" ||
    fail "billing /metrics did not answer beside ${#slow[@]} slow clients"
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q '^billing_ready 1$' "$TMP/billing.again" || fail "billing_ready: $(grep billing_ready "$TMP/billing.again")"
for fd in "${slow[@]}"; do exec {fd}>&-; done
echo "ok: billing /metrics answered in ${ms} ms beside ${#slow[@]} half-sent requests"
assert_eq "$(curl -s -o /dev/null -m 5 -w '%{http_code}' -X POST "http://127.0.0.1:$bport/metrics")" 405 \
    "billing POST /metrics"

# ---- billing's database goes away while it runs: not ready, then ready again ----
stop_pg
b_not_ready() { [[ "$(code "$bport" /readyz)" == 503 ]]; }
wait_for 20 b_not_ready || fail "billing /readyz with PostgreSQL stopped: $(code "$bport" /readyz)"
assert_eq "$(code "$bport" /healthz)" 200 "billing /healthz with PostgreSQL stopped"
start_pg
wait_for 60 is_200 "$bport" /readyz || fail "billing /readyz after PostgreSQL came back"
echo "ok: billing /readyz 503 while PostgreSQL was stopped, 200 again after"
echo ok
