#!/usr/bin/env bash
# The aggregator's windows through its HTTP API: known hits stamped now -> kafka-mock ->
# aggregator. Each customer's window equals the truth exactly (totals, countries, regions, the
# series), late and future hits and bad records are counted and kept out, and after a restart
# (SIGTERM, then kill -9) the same windows are whole again within seconds, with no state store.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock
TOKEN=demo-operator-token

port=$((20000 + RANDOM % 20000))
cp "$ROOT/tools/demo-tokens" "$TMP/tokens"
start_aggregator() {
    "$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$TMP/tokens" \
        --metrics-interval 1 2>> "$TMP/aggregator.log" &
    AGG=$!
    track_pid "$AGG"
}
ready() { curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; }
window() {
    curl -fsS -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$port/v1/customers/$1/window?seconds=${2:-60}"
}
metric() { # the value of one sample line of /metrics, 0 if absent
    curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2; f=1} END {if (!f) print 0}'
}
want_of() { jq -c --arg c "$1" '.customers[$c] | [.hits, .bytes]' "$TMP/truth.json"; }
totals_are() { [[ "$(window "$1" | jq -c '[.hits, .bytes]')" == "$2" ]]; }
all_whole() {
    local c
    for c in $(jq -r '.customers | keys[]' "$TMP/truth.json"); do
        totals_are "$c" "$(want_of "$c")" || return 1
    done
}

start_aggregator
wait_for 30 ready || { tail "$TMP/aggregator.log"; fail "aggregator not ready (empty topic)"; }
echo "ok: ready on an empty topic"

python3 "$ROOT/tests/integration/lib/aggregator_hits.py" --hits 20000 --customers 10 --seed 7 \
    --spread-ms 4000 --late 3 --future 2 --bad --truth "$TMP/truth.json" > "$TMP/stream.tsv"
kcat_produce hits < "$TMP/stream.tsv" || fail "kcat produce"
produced_at=$SECONDS

wait_for 20 all_whole || { tail "$TMP/aggregator.log"; fail "windows differ from the truth"; }
echo "ok: every customer's window equals the truth"

# acme in detail: countries, regions (order too), series
w=$(window acme)
assert_eq "$(jq -c '[.countries[] | [.country, .hits, .bytes]] | sort' <<< "$w")" \
    "$(jq -c '.customers.acme.countries' "$TMP/truth.json")" "acme's countries"
assert_eq "$(jq -c '[.regions[] | [.country, .region, .hits, .bytes]] | sort' <<< "$w")" \
    "$(jq -c '.customers.acme.regions' "$TMP/truth.json")" "acme's regions"
assert_eq "$(jq -c '[.regions[] | [.hits, .bytes]] | . == (sort | reverse)' <<< "$w")" true \
    "regions by hits, most first"
assert_eq "$(jq -c '[.countries[] | [.hits, .bytes]] | . == (sort | reverse)' <<< "$w")" true \
    "countries by hits, most first"
assert_eq "$(jq -c '[(.series | length), ([.series[].hits] | add), ([.series[].bytes] | add)]' <<< "$w")" \
    "$(jq -c '.customers.acme | [60, .hits, .bytes]' "$TMP/truth.json")" \
    "acme's series: 60 seconds summing to the totals"
assert_eq "$(jq -c '[.series[1:] as $b | .series[:-1] as $a | range(0; $a | length) | $b[.].t_ms - $a[.].t_ms] | unique' <<< "$w")" \
    "[1000]" "series: one entry per second, oldest first"
assert_eq "$(jq '.end_ms == .series[-1].t_ms' <<< "$w")" true "end_ms is the last second"
assert_eq "$(window nobody | jq -c '[.hits, .bytes, (.series | length), (.regions | length)]')" \
    "[0,0,60,0]" "a customer with no hits: an empty window"
# a short window holds at most what the long one holds
short=$(window acme 1 | jq '.hits')
assert_ge "$(jq '.customers.acme.hits' "$TMP/truth.json")" "$short" "1-second window <= 60-second window"

assert_eq "$(metric aggregator_hits_late_total)" 3 "late hits counted"
assert_eq "$(metric aggregator_hits_future_total)" 2 "future hits counted"
for r in syntax missing type version; do
    assert_eq "$(metric "aggregator_records_rejected_total{reason=\"$r\"}")" 1 "rejected: $r"
done
for r in bytes country; do # well formed, refused by the rule billing applies too (hitcheck.h)
    assert_eq "$(metric "aggregator_hits_invalid_total{reason=\"$r\"}")" 1 "invalid: $r"
done
assert_eq "$(metric aggregator_hits_added_total)" "$(jq .hits "$TMP/truth.json")" "hits added"
assert_eq "$(metric aggregator_ready)" 1 "ready"
assert_ge "$(metric aggregator_window_keys)" 10 "window keys"

# SIGHUP re-reads the tokens: a token added to the file works, without a restart.
code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
    "http://127.0.0.1:$port/v1/customers/acme/window"; }
assert_eq "$(code new-acme-token)" 401 "an unknown token"
echo "acme $(printf %s new-acme-token | sha256sum | cut -d' ' -f1)" >> "$TMP/tokens"
kill -HUP "$AGG"
new_token_works() { [[ "$(code new-acme-token)" == 200 ]]; }
wait_for 5 new_token_works || fail "SIGHUP did not reload the tokens"
echo "ok: SIGHUP reloaded the tokens"

# Restart: a clean stop, then a kill -9; each time the windows are whole again within seconds.
for how in TERM KILL; do
    kill -"$how" "$AGG"
    wait "$AGG" 2> /dev/null || true
    t0=$SECONDS
    start_aggregator
    wait_for 30 all_whole || { tail -5 "$TMP/aggregator.log"; fail "windows not whole after a restart (SIG$how)"; }
    echo "ok: windows whole again $((SECONDS - t0)) s after a restart (SIG$how)"
    assert_eq "$(metric aggregator_hits_late_total)" 0 "no hit of the replayed minute is late"
done
((SECONDS - produced_at < 55)) || fail "the test ran too long for its hits to stay in the window"
echo ok
