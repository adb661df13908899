#!/usr/bin/env bash
# Kafka unreachable for a while: the collector pauses (bounded memory), says so in its log,
# keeps retrying, and once the broker is back every line arrives: nothing lost.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

mkdir -p "$TMP/logs"
"$BIN/loggen" --print-hosts > "$TMP/hosts"
"$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e e1 -s "$TMP/state" \
    "$TMP/logs/access.log" 2> "$TMP/c.log" &
cpid=$!
track_pid $cpid
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 5000 --rate 0 --seed 1 \
    --truth "$TMP/t1.json"
wait_for 30 hits_at_least 5000 || fail "before the outage: $(kcat_count hits) of 5000"

kafka_down
# 30,000 lines written while no broker answers.
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 30000 --rate 10000 --seed 2 \
    --truth "$TMP/t2.json"
sleep 3
kill -0 $cpid || fail "collector died during the outage"
grep -q 'brokers are down' "$TMP/c.log" || { tail "$TMP/c.log"; fail "the outage is not in the log"; }
rss=$(awk '/VmRSS/ {print $2}' /proc/$cpid/status)
assert_ge 400000 "$rss" "collector RSS in kB stays bounded during the outage (<= 400 MB)"
kafka_up
wait_for 120 hits_at_least 35000 || { tail "$TMP/c.log"; fail "after the outage: $(kcat_count hits) of 35000"; }
kcat_dump hits > "$TMP/hits"
assert_eq "$(jq -r '"\(.src) \(.off)"' "$TMP/hits" | sort -u | wc -l)" 35000 "distinct lines delivered"
want=$(( $(jq .bytes "$TMP/t1.json") + $(jq .bytes "$TMP/t2.json") ))
assert_eq "$(sort -u "$TMP/hits" | jq -s 'map(.bytes) | add')" "$want" "bytes"
kill -TERM $cpid; wait $cpid || fail "collector exit status"
grep -q 'balanced=yes' "$TMP/c.log" || fail "books"
echo ok
