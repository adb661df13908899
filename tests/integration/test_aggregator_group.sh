#!/usr/bin/env bash
# Two aggregators in one consumer group share the partitions of `hits` and, between them, hold
# every hit exactly once: for each customer exactly one instance has a window, and the sum of
# their windows equals the truth. Through the rebalances: a second instance joining (the first
# keeps the partitions it is given back and frees the others; the second reads their last minute
# again), hits arriving while both run, and the second leaving (the first takes all partitions
# again: the kept ones go on where they were, never counting a hit twice).
source "$(dirname "$0")/lib.sh"
start_kafka_mock
TOKEN=demo-operator-token
declare -A PORT PID

start_one() { # NAME
    PORT[$1]=$((20000 + RANDOM % 20000))
    "$BIN/aggregator" --listen "127.0.0.1:${PORT[$1]}" --tokens "$ROOT/tools/demo-tokens" \
        --metrics-interval 5 "${KAFKA_FAST_GROUP[@]}" 2>> "$TMP/$1.log" &
    PID[$1]=$!
    track_pid "${PID[$1]}"
}
ready() { curl -fsS "http://127.0.0.1:${PORT[$1]}/readyz" > /dev/null 2>&1; }
metric() { # NAME METRIC
    curl -fsS "http://127.0.0.1:${PORT[$1]}/metrics" | awk -v m="$2" '$1 == m {print $2; f=1} END {if (!f) print 0}'
}
window() { # NAME CUSTOMER -> [hits, bytes]
    curl -fsS -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:${PORT[$1]}/v1/customers/$2/window?seconds=60" | jq -c '[.hits, .bytes]'
}
# The truth of all streams so far, per customer: "CUSTOMER [hits,bytes]" lines.
truth() {
    jq -s -r '[.[].customers | to_entries[]] | group_by(.key)[] |
              "\(.[0].key) \([([.[].value.hits] | add), ([.[].value.bytes] | add)] | tojson)"' \
        "$TMP"/truth.*.json | sort
}
# Every customer: the instances' windows summed; with both up, exactly one holds it.
held_by() { # NAMES... -> "CUSTOMER [hits,bytes]" lines
    local c n w holders sum
    for c in $(truth | cut -d' ' -f1); do
        holders=0
        sum='[0,0]'
        for n in "$@"; do
            w=$(window "$n" "$c") || return 1
            [[ "$w" != "[0,0]" ]] && holders=$((holders + 1))
            sum=$(jq -c --argjson a "$sum" --argjson b "$w" -n '[$a[0] + $b[0], $a[1] + $b[1]]')
        done
        ((holders == 1)) || { echo "$c held by $holders instances" >&2; return 1; }
        echo "$c $sum"
    done
}
whole() { [[ "$(held_by "$@" 2> /dev/null)" == "$(truth)" ]]; }
stream() { # N SEED
    python3 "$ROOT/tests/integration/aggregator_hits.py" --hits "$1" --customers 30 --seed "$2" \
        --spread-ms 3000 --truth "$TMP/truth.$2.json" > "$TMP/stream.$2.tsv"
    kcat_produce hits < "$TMP/stream.$2.tsv" || fail "kcat produce"
}
partitions_split() {
    local a b
    a=$(metric a aggregator_partitions) && b=$(metric b aggregator_partitions) &&
        ((a > 0 && b > 0 && a + b == 16)) && ready a && ready b
}

start_one a
wait_for 30 ready a || { tail "$TMP/a.log"; fail "a not ready"; }
stream 20000 1
t0=$SECONDS
wait_for 20 whole a || fail "a alone: $(held_by a | head -3) want $(truth | head -3)"
echo "ok: one instance holds the truth"

start_one b
wait_for 40 partitions_split || { tail "$TMP/a.log" "$TMP/b.log"; fail "the partitions were not shared"; }
echo "ok: partitions shared: a=$(metric a aggregator_partitions) b=$(metric b aggregator_partitions)"
wait_for 20 whole a b || { held_by a b | diff - <(truth) | head; fail "a + b after b joined"; }
echo "ok: after b joined, every customer is held by exactly one instance and a + b = the truth"
assert_ge "$(grep -c 'partitions assigned.*kept=[1-9]' "$TMP/a.log")" 1 "a kept partitions given back"

stream 10000 2
wait_for 20 whole a b || { held_by a b | diff - <(truth) | head; fail "a + b with both consuming"; }
echo "ok: hits arriving while both run: a + b = the truth"

kill -TERM "${PID[b]}"
wait "${PID[b]}" 2> /dev/null || true
wait_for 40 whole a || { held_by a | diff - <(truth) | head; tail "$TMP/a.log"; fail "a alone after b left"; }
echo "ok: b left, a holds the truth again ($(truth | wc -l) customers), nothing counted twice"
assert_eq "$(metric a aggregator_partitions)" 16 "a owns every partition"
assert_ge "$(metric a aggregator_rebalances_total)" 3 "rebalances seen by a"
((SECONDS - t0 < 55)) || fail "the test ran too long for its hits to stay in the window"
echo ok
