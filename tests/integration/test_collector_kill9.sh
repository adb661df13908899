#!/usr/bin/env bash
# kill -9 mid-run, several times, then restart: every line is published at least once, and a
# line sent again carries the same (src, off) and the same record.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

mkdir -p "$TMP/logs"
"$BIN/loggen" --print-hosts > "$TMP/hosts"
run_collector() {
  "$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e e1 -s "$TMP/state" \
      "$TMP/logs/access.log" 2>> "$TMP/c.log" &
  cpid=$!
  track_pid $cpid
}
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 60000 --rate 15000 \
    --rotate-every 25000 --truth "$TMP/truth.json" --seed 11 &
gen=$!
track_pid $gen
run_collector
for i in 1 2 3 4; do
  sleep "0.$(( RANDOM % 9 + 1 ))"
  kill -9 "$cpid"; wait "$cpid" 2>/dev/null || true
  run_collector
done
wait "$gen"
wait_for 60 distinct_at_least 60000 || fail "only $(kcat_dump hits | jq -r '"\(.src) \(.off)"' | sort -u | wc -l) of 60000 lines arrived"
kcat_dump hits > "$TMP/hits"
assert_eq "$(jq -r '"\(.src) \(.off)"' "$TMP/hits" | sort -u | wc -l)" 60000 "distinct (src, off)"
# A replayed line is the same record: as many distinct records as distinct (src, off).
assert_eq "$(sort -u "$TMP/hits" | wc -l)" 60000 "distinct records"
assert_eq "$(sort -u "$TMP/hits" | jq -s 'map(.bytes) | add')" "$(jq .bytes "$TMP/truth.json")" "bytes of the distinct records"
echo "ok: $(wc -l < "$TMP/hits") records for 60000 lines"
