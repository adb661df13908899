#!/usr/bin/env bash
# Completeness from the edge, end to end with the real programs and default options: two edges
# (loggen -> collector each) publish hits and watermarks; the aggregator's windows carry
# complete_to_ms close behind the clock and no edge behind. One collector is frozen (SIGSTOP):
# within 10 s it appears in edges_behind with its last watermark (window and /metrics), and
# complete_to_ms stops advancing, while the other edge's hits keep arriving. Thawed (SIGCONT), it
# leaves edges_behind and complete_to_ms moves on.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

"$BIN/loggen" --print-hosts > "$TMP/hosts"
# Port 0: any free port, read back from the start line (a fixed or random port may be another
# test's, and then every answer would come from the wrong aggregator).
"$BIN/aggregator" --listen 127.0.0.1:0 --tokens "$ROOT/tools/demo-tokens" 2> "$TMP/aggregator.log" &
track_pid $!
wait_for 10 grep -q 'msg="aggregator started"' "$TMP/aggregator.log" || fail "aggregator did not start"
port=$(sed -n 's/.*msg="aggregator started".* port=\([0-9]*\).*/\1/p' "$TMP/aggregator.log")

declare -A COLLECTOR
for e in a b; do
    mkdir -p "$TMP/$e"
    "$BIN/loggen" --networks "$NETWORKS" -o "$TMP/$e/access.log" --rate 200 --seed 7 2> /dev/null &
    track_pid $!
    "$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e "edge-$e" -s "$TMP/$e" \
        "$TMP/$e/access.log" 2> "$TMP/collector-$e.log" &
    COLLECTOR[$e]=$!
    track_pid $!
done

window() {
    curl -fsS -H "Authorization: Bearer demo-operator-token" \
        "http://127.0.0.1:$port/v1/customers/acme/window?seconds=60" 2> /dev/null
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# complete_to_ms is within $1 ms of the clock and no edge is behind
complete_within() {
    local w
    w=$(window) || return 1
    [ "$(jq -r '.catching_up' <<< "$w")" = false ] || return 1
    [ "$(jq -r '.edges_behind | length' <<< "$w")" = 0 ] || return 1
    (($(now_ms) - $(jq -r '.complete_to_ms // 0' <<< "$w") <= $1))
}
edge_b_behind() { window | jq -e '.edges_behind | map(.edge) == ["edge-b"]' > /dev/null; }

wait_for 30 complete_within 4000 || fail "windows never complete to within 4 s: $(window | jq -c '{complete_to_ms, edges_behind, catching_up, end_ms}')"
echo "ok: both edges report, complete_to_ms within 4 s of the clock"

kill -STOP "${COLLECTOR[b]}"
stopped=$(now_ms)
wait_for 10 edge_b_behind || fail "edge-b not in edges_behind 10 s after it stopped: $(window | jq -c .edges_behind); $(curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^aggregator_edge_watermark' | tr '\n' ' ') now $(now_ms)"
echo "ok: edge-b in edges_behind $(($(now_ms) - stopped)) ms after SIGSTOP"
w=$(window)
wm_b=$(jq -r '.edges_behind[0].watermark_ms' <<< "$w")
((wm_b <= stopped)) || fail "edge-b's last watermark $wm_b is after it stopped ($stopped)"
c1=$(jq -r '.complete_to_ms' <<< "$w")
((c1 <= wm_b)) || fail "complete_to_ms $c1 beyond edge-b's watermark $wm_b"
h1=$(jq -r '.hits' <<< "$w")
sleep 3
w=$(window)
assert_eq "$(jq -r '.complete_to_ms' <<< "$w")" "$c1" "complete_to_ms while edge-b is stopped"
assert_eq "$(jq -r '.edges_behind[0].watermark_ms' <<< "$w")" "$wm_b" "edge-b's last watermark"
(($(jq -r '.hits' <<< "$w") != h1)) || fail "edge-a's hits stopped arriving too"
curl -fsS "http://127.0.0.1:$port/metrics" | grep 'edge="edge-b"' > "$TMP/metrics.b" ||
    fail "/metrics says nothing of edge-b"
echo "ok: complete_to_ms held at $c1 while edge-a's hits keep arriving; /metrics: $(head -1 "$TMP/metrics.b")"

kill -CONT "${COLLECTOR[b]}"
wait_for 15 complete_within 4000 || fail "edge-b thawed but windows not complete again: $(window | jq -c '{complete_to_ms, edges_behind}')"
echo "ok: edge-b thawed, complete_to_ms back within 4 s of the clock"
