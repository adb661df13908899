#!/usr/bin/env bash
# Edge watermarks (key "#wm", common/watermark.h) produced with kcat into every partition, for
# two edges, as the collector sends them, beside hits: the windows carry complete_to_ms,
# edges_behind and catching_up. When one edge's watermarks stop (as if it were stopped), it
# appears in edges_behind within 10 s with its last watermark, complete_to_ms stops advancing
# for the customers of every partition while the other edge keeps reporting, /metrics shows it
# (a valid Prometheus text), and the watermark messages are never counted as hits.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock
TOKEN=demo-operator-token
port=$((20000 + RANDOM % 20000))
NPART=16

"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" \
    --metrics-interval 5 2>> "$TMP/aggregator.log" &
track_pid $!
ready() { curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; }
window() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/customers/$1/window?seconds=${2:-60}"; }
metrics() { curl -fsS "http://127.0.0.1:$port/metrics"; }
metric() { metrics | awk -v m="$1" '$1 == m {print $2; f=1} END {if (!f) print 0}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_for 30 ready || { tail "$TMP/aggregator.log"; fail "aggregator not ready"; }

# One kcat per partition, fed through a pipe; a writer per edge puts a watermark of (now - 500
# ms) into every partition every 300 ms until $TMP/stop.EDGE exists, and keeps its last value in
# $TMP/last.EDGE. kcat 1.7 reads stdin in blocks of 1024 bytes and sends nothing before a block
# is full: each line is padded with spaces (JSON allows them) to exactly one block, or the
# watermarks would arrive seconds late, in bursts.
declare -a FD
for ((p = 0; p < NPART; p++)); do
    mkfifo "$TMP/wm.$p"
    kcat -P -b "$KAFKA_BROKERS" -t hits -p "$p" -K $'\t' -X linger.ms=5 < "$TMP/wm.$p" &
    track_pid $!
    exec {fd}> "$TMP/wm.$p"
    FD[p]=$fd
done
PAD=$(printf '%*s' 1024 '')
edge_writer() { # EDGE
    while [[ ! -e "$TMP/stop.$1" ]]; do
        local wm=$(($(now_ms) - 500)) p line
        line=$(printf '#wm\t{"v":1,"kind":"watermark","edge":"%s","wm_ms":%d}' "$1" "$wm")
        line="$line${PAD:0:$((1023 - ${#line}))}"
        for ((p = 0; p < NPART; p++)); do
            echo "$line" >&"${FD[p]}"
        done
        echo "$wm" > "$TMP/last.$1.tmp" && mv "$TMP/last.$1.tmp" "$TMP/last.$1"
        sleep 0.3
    done
}
edge_writer edge-a &
track_pid $!
edge_writer edge-b &
track_pid $!

python3 "$ROOT/tests/integration/lib/aggregator_hits.py" --hits 5000 --customers 10 --seed 3 \
    --spread-ms 3000 --truth "$TMP/truth.json" > "$TMP/stream.tsv"
kcat_produce hits < "$TMP/stream.tsv" || fail "kcat produce"
all_whole() {
    local c
    for c in $(jq -r '.customers | keys[]' "$TMP/truth.json"); do
        [[ "$(window "$c" | jq -c '[.hits, .bytes]')" == "$(jq -c --arg c "$c" '.customers[$c] | [.hits, .bytes]' "$TMP/truth.json")" ]] || return 1
    done
}
wait_for 20 all_whole || fail "windows differ from the truth with watermarks in the topic"
echo "ok: watermark messages beside the hits: every window equals the truth"
assert_eq "$(metric aggregator_hits_consumed_total)" 5000 "watermarks are not hits"
assert_ge "$(metric aggregator_watermarks_total)" $((2 * NPART)) "watermarks read"

# Both edges report: complete up to about half a second ago, nobody behind.
fresh() {
    local w
    w=$(window acme) &&
        jq -e --argjson now "$(now_ms)" '.edges_behind == [] and .catching_up == false and
            .complete_to_ms > $now - 3000 and .complete_to_ms <= .end_ms' <<< "$w" > /dev/null
}
wait_for 10 fresh || fail "complete_to_ms not recent with both edges reporting: $(window acme | jq -c '{complete_to_ms, end_ms, edges_behind, catching_up}')"
echo "ok: both edges report: $(window acme | jq -c '{complete_to_ms, end_ms, edges_behind, catching_up}')"
assert_eq "$(metric aggregator_edges)" 2 "edges known"
assert_eq "$(metric aggregator_edges_behind)" 0 "edges behind"

# edge-b stops.
touch "$TMP/stop.edge-b"
sleep 0.5
last_b=$(cat "$TMP/last.edge-b")
stopped=$(date +%s%N)
b_behind() {
    window "$1" | jq -e --argjson wm "$last_b" '.edges_behind == [{"edge": "edge-b", "watermark_ms": $wm}]' > /dev/null
}
wait_for 10 b_behind acme || fail "edge-b not behind within 10 s: $(window acme | jq -c '{complete_to_ms, edges_behind}')"
echo "ok: edge-b in edges_behind with its last watermark $((($(date +%s%N) - stopped) / 1000000)) ms after it stopped"
for c in globex cust03 cust07; do
    b_behind "$c" || fail "$c: edge-b not behind"
done
echo "ok: every customer's window (every partition) lists edge-b"
c1=$(window acme | jq .complete_to_ms)
a1=$(metric 'aggregator_edge_watermark_seconds{edge="edge-a"}' | tr -d .)
sleep 2
c2=$(window acme | jq .complete_to_ms)
a2=$(metric 'aggregator_edge_watermark_seconds{edge="edge-a"}' | tr -d .)
assert_eq "$c2" "$c1" "complete_to_ms of acme stopped advancing"
assert_eq "$c2" "$last_b" "complete_to_ms is edge-b's last watermark"
assert_ge "$((a2 - a1))" 1000 "edge-a keeps reporting (its watermark advanced, ms)"
assert_eq "$(metric 'aggregator_edge_watermark_seconds{edge="edge-b"}' | tr -d .)" "$last_b" "/metrics: edge-b's watermark (s, ms decimals)"
assert_eq "$(metric aggregator_edges_behind)" 1 "/metrics: edges behind"
assert_eq "$(metric aggregator_edges_stale)" 0 "/metrics: edges stale (edge-b has been silent < 5 min)"
# The hits stay exact and the provisional seconds are those after complete_to_ms.
all_whole || fail "windows differ from the truth while edge-b is behind"
echo "ok: windows still exact while edge-b is behind"
if command -v promtool > /dev/null; then
    metrics | promtool check metrics || fail "promtool check metrics"
    echo "ok: promtool accepts /metrics"
else # the text format's basic rules, checked by hand
    metrics > "$TMP/metrics.txt"
    bad=$(grep -v '^#' "$TMP/metrics.txt" | grep -Evc '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9]+(\.[0-9]+)?$' || true)
    assert_eq "$bad" 0 "/metrics sample lines well formed"
    dup=$(grep '^# TYPE' "$TMP/metrics.txt" | sort | uniq -d | wc -l)
    assert_eq "$dup" 0 "/metrics: one TYPE line per name"
fi
echo ok
