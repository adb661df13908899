#!/usr/bin/env bash
# Restart under traffic: an aggregator is killed with -9 while hits flow, and a new one is started
# with default options. Within 10 s of its start its windows equal the truth exactly; while it
# reads the last minute back it says so (every window "catching_up": true, /readyz 503), and no
# window that says "catching_up": false holds less than the hits Kafka had before the kill.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock
TOKEN=demo-operator-token
port=$((20000 + RANDOM % 20000))

start_aggregator() {
    "$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" \
        --metrics-interval 5 2>> "$TMP/aggregator.log" &
    AGG=$!
    track_pid "$AGG"
}
ready() { curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; }
window() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/customers/$1/window?seconds=60"; }
# The truth of the streams whose truth files are listed on stdin: "CUSTOMER [hits,bytes]" lines.
truth_of() {
    xargs jq -s -r '[.[].customers | to_entries[]] | group_by(.key)[] |
              "\(.[0].key) \([([.[].value.hits] | add), ([.[].value.bytes] | add)] | tojson)"' | sort
}
truth() { ls "$TMP"/truth.*.json | truth_of; }
answers() { # "CUSTOMER [hits,bytes]" lines, as the aggregator answers them (one curl)
    local c urls=()
    for c in $(truth | cut -d' ' -f1); do urls+=("http://127.0.0.1:$port/v1/customers/$c/window"); done
    curl -fsS -H "Authorization: Bearer $TOKEN" "${urls[@]}" | jq -r '"\(.customer) \([.hits, .bytes] | tojson)"'
}
exact() { [[ "$(answers 2> /dev/null)" == "$(truth)" ]]; }
stream() { # N SEED SPREAD_MS: produce, then mark the stream as in Kafka
    python3 "$ROOT/tests/integration/lib/aggregator_hits.py" --hits "$1" --customers 20 --seed "$2" \
        --spread-ms "$3" --truth "$TMP/truth.$2.json" > "$TMP/stream.$2.tsv"
    kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -z lz4 < "$TMP/stream.$2.tsv" && touch "$TMP/done.$2"
}

start_aggregator
wait_for 30 ready || { tail "$TMP/aggregator.log"; fail "aggregator not ready"; }
t0=$SECONDS
stream 150000 1 20000 || fail "produce"
# Traffic: a stream of 2,000 hits every ~0.3 s until told to stop.
(
    i=100
    while [[ ! -e "$TMP/stop-traffic" ]]; do
        stream 2000 $((i++)) 500
        sleep 0.3
    done
) &
traffic=$!
track_pid "$traffic"
sleep 2
kill -KILL "$AGG"
wait "$AGG" 2> /dev/null || true
# What Kafka surely held at the kill: every stream marked done by then.
ls "$TMP"/done.* | sed 's/done\./truth./; s/$/.json/' | truth_of > "$TMP/before"
grep '^acme ' "$TMP/before" > /dev/null || fail "no acme hits before the kill"
before_acme=$(awk '$1 == "acme" {print $2}' "$TMP/before" | jq '.[0]')

start_aggregator
started=$(date +%s%N)
(sleep 1 && touch "$TMP/stop-traffic") & # traffic goes on for the first second of the new one
# Samples while it starts: the window of acme, then /readyz, as fast as curl goes, for 2 s.
: > "$TMP/samples"
end=$((started + 2000000000))
while (($(date +%s%N) < end)); do # raw, parsed afterwards: as many samples as curl allows
    w=$(curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/customers/acme/window" 2> /dev/null) || continue
    r=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")
    printf '%s\t%s\n' "$r" "$w" >> "$TMP/samples.raw"
done
wait "$traffic" 2> /dev/null || true
wait_for 10 exact || { answers | diff - <(truth) | head; tail "$TMP/aggregator.log"; fail "not exact within 10 s of the start"; }
ms=$((($(date +%s%N) - started) / 1000000))
((ms <= 10000)) || fail "exact only $ms ms after the start"
echo "ok: exact $ms ms after the start (traffic stopped 1 s after it; $(truth | wc -l) customers)"
# Then what it said while starting (parsed now: jq per sample is slow).
while IFS=$'\t' read -r r w; do
    jq -c --arg r "$r" '[.catching_up, .hits, ($r | tonumber)]' <<< "$w" >> "$TMP/samples" 2> /dev/null || true
done < "$TMP/samples.raw"
echo "samples: $(wc -l < "$TMP/samples"), catching up in $(grep -c '^\[true' "$TMP/samples")"
assert_ge "$(wc -l < "$TMP/samples")" 3 "windows sampled while starting"
# No silent partial window: a window that says it is not catching up holds at least what Kafka
# held before the kill, and /readyz agrees with it.
bad=$(jq -c --argjson b "$before_acme" 'select(.[0] == false and (.[1] < $b or .[2] != 200))' "$TMP/samples" | head -3)
assert_eq "$bad" "" "windows not catching up are whole (acme >= $before_acme hits) and /readyz says 200"
# (/readyz is asked after the window: a window catching up may be followed by a 200, never the
# other way round.)
bad=$(jq -c 'select(.[0] == false and .[2] == 503)' "$TMP/samples" | head -3)
assert_eq "$bad" "" "no window claims completeness while /readyz says 503"

grep -o 'caught up: windows complete.*' "$TMP/aggregator.log" | tail -1
((SECONDS - t0 < 50)) || fail "the test ran too long for its hits to stay in the window"
echo ok
