#!/usr/bin/env bash
# Two aggregators at once, with default options: each reads every partition of `hits` (no group
# splits them), so each answers every customer, and each answer equals the truth exactly. Then
# one is killed with -9 while the other keeps answering exactly, and its successor is exact
# again within 10 s of its start.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock
TOKEN=demo-operator-token
declare -A PORT PID

start_one() { # NAME
    PORT[$1]=$((20000 + RANDOM % 20000))
    "$BIN/aggregator" --listen "127.0.0.1:${PORT[$1]}" --tokens "$ROOT/tools/demo-tokens" \
        --metrics-interval 5 2>> "$TMP/$1.log" &
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
answers() { # NAME -> "CUSTOMER [hits,bytes]" lines, as the instance answers them (one curl)
    local c urls=()
    for c in $(truth | cut -d' ' -f1); do urls+=("http://127.0.0.1:${PORT[$1]}/v1/customers/$c/window"); done
    curl -fsS -H "Authorization: Bearer $TOKEN" "${urls[@]}" | jq -r '"\(.customer) \([.hits, .bytes] | tojson)"'
}
exact() { [[ "$(answers "$1" 2> /dev/null)" == "$(truth)" ]]; }
stream() { # N SEED
    python3 "$ROOT/tests/integration/lib/aggregator_hits.py" --hits "$1" --customers 30 --seed "$2" \
        --spread-ms 3000 --truth "$TMP/truth.$2.json" > "$TMP/stream.$2.tsv"
    kcat_produce hits < "$TMP/stream.$2.tsv" || fail "kcat produce"
}

start_one a
start_one b
wait_for 30 ready a || { tail "$TMP/a.log"; fail "a not ready"; }
wait_for 30 ready b || { tail "$TMP/b.log"; fail "b not ready"; }
assert_eq "$(metric a aggregator_partitions)" 16 "a reads every partition"
assert_eq "$(metric b aggregator_partitions)" 16 "b reads every partition"
t0=$SECONDS
stream 20000 1
wait_for 20 exact a || { answers a | diff - <(truth) | head; fail "a differs from the truth"; }
wait_for 5 exact b || { answers b | diff - <(truth) | head; fail "b differs from the truth"; }
echo "ok: both instances answer every customer ($(truth | wc -l)), each exactly"

kill -KILL "${PID[a]}"
wait "${PID[a]}" 2> /dev/null || true
stream 10000 2
start_one a
started=$(date +%s%N)
exact b || wait_for 10 exact b || fail "b stopped being exact while a was gone"
echo "ok: b exact while a restarts"
wait_for 10 exact a || { answers a | diff - <(truth) | head; tail "$TMP/a.log"; fail "a not exact within 10 s of its start"; }
echo "ok: a exact again $((($(date +%s%N) - started) / 1000000)) ms after its start (kill -9, hits produced meanwhile)"
assert_eq "$(metric a aggregator_hits_late_total)" 0 "no hit of the replayed minute is late"
exact b || fail "b after a came back"
assert_eq "$(grep -c 'partitions assigned\|partitions revoked' "$TMP/a.log" "$TMP/b.log" | awk -F: '{s += $2} END {print s}')" 0 \
    "no rebalance: no group was joined"
((SECONDS - t0 < 55)) || fail "the test ran too long for its hits to stay in the window"
echo ok
