#!/usr/bin/env bash
# Following: rename rotation (several, while lines are being written) and copytruncate lose
# no line and double none; every file gets its own src.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

mkdir -p "$TMP/logs"
"$BIN/loggen" --print-hosts > "$TMP/hosts"
"$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e e1 -s "$TMP/state" \
    --metrics-interval 1 "$TMP/logs/access.log" 2> "$TMP/c.log" &
track_pid $!
cpid=$!

# 1. rename rotation every 4,000 lines while writing 20,000 lines at 8,000/s
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 20000 --rate 8000 \
    --rotate-every 4000 --rotate-mode rename --truth "$TMP/truth1.json" --seed 7
wait_for 60 hits_at_least 20000 || { tail -20 "$TMP/c.log"; fail "collector did not catch up: $(kcat_count hits) of 20000"; }

# 2. copytruncate: once every line is confirmed, copy and truncate in place, then write more
wait_for 10 grep -q 'hits_confirmed=20000' "$TMP/c.log"
cp "$TMP/logs/access.log" "$TMP/logs/access.log.copy"
truncate -s 0 "$TMP/logs/access.log"
sleep 1
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 3000 --rate 0 \
    --truth "$TMP/truth2.json" --seed 8
wait_for 60 hits_at_least 23000 || fail "after copytruncate: $(kcat_count hits) of 23000"
sleep 2 # anything extra (a doubled line) would arrive now

kcat_dump hits > "$TMP/hits"
assert_eq "$(wc -l < "$TMP/hits")" 23000 "hits (none lost, none doubled)"
assert_eq "$(jq -r '"\(.src) \(.off)"' "$TMP/hits" | sort -u | wc -l)" 23000 "distinct (src, off)"
want=$(( $(jq .bytes "$TMP/truth1.json") + $(jq .bytes "$TMP/truth2.json") ))
assert_eq "$(jq -s 'map(.bytes) | add' "$TMP/hits")" "$want" "bytes"
# 5 files of 4,000 lines by rename (the 6th, created by the last rotation, stays empty) + the truncated one's new content.
assert_eq "$(jq -r .src "$TMP/hits" | sort -u | wc -l)" 6 "sources: 5 by rename + 1 after copytruncate"
kill -TERM "$cpid"; wait "$cpid" || fail "collector exit status on SIGTERM"
echo ok
