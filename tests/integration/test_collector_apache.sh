#!/usr/bin/env bash
# A log older than the window (35 days) is refused line by line as `timestamp`; replayed with
# --max-age, every line of the real Apache log is accounted for: 10,000 lines in, 10,000 hits out (the one
# line with a user agent cut off is accepted), bytes to the byte, and the collector's books
# balance per source. Then a second run with the state dir publishes nothing new.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

log=$TEST_DATA/apache_logs
printf 'www.example.org acme\n' > "$TMP/hosts"
# The log is from May 2015: with the default window (35 days back) every line is refused as
# `timestamp`, none is published. Replaying an old log is what --max-age is for.
"$BIN/collector" --once -c "$TMP/hosts" --default-host www.example.org -e edge-old "$log" \
    2> "$TMP/collector0.log" || { cat "$TMP/collector0.log"; fail "collector --once (default window) failed"; }
assert_eq "$(kcat_count hits)" 0 "hits of a 2015 log with the default window"
assert_eq "$(kcat_dump hits.rejected | jq -r .reason | sort | uniq -c | awk '{print $2 "=" $1}')" \
    "timestamp=$(wc -l < "$log")" "rejects of a 2015 log with the default window"
rejected_before=$(kcat_count hits.rejected)
"$BIN/collector" --once -c "$TMP/hosts" -g "$GEODB" --default-host www.example.org --max-age 36500d \
    -e edge-test -s "$TMP/state" "$log" 2> "$TMP/collector.log" || { cat "$TMP/collector.log"; fail "collector --once failed"; }

lines=$(wc -l < "$log")
want_bytes=$(awk '{ b = $10; if (b == "-") b = 0; s += b } END { printf "%.0f", s }' "$log")
kcat_dump hits > "$TMP/hits"
assert_eq "$(wc -l < "$TMP/hits")" "$lines" "hit records"
assert_eq "$(jq -s 'map(.bytes) | add' "$TMP/hits")" "$want_bytes" "bytes of all hits"
assert_eq "$(jq -s 'map(.customer) | unique | join(",")' -r "$TMP/hits")" "acme" "customers"
assert_eq "$(jq -s 'map(.off) | unique | length' "$TMP/hits")" "$lines" "distinct offsets"
# off is the byte offset of the line: the first line at 0, the second after it.
second=$(head -1 "$log" | wc -c)
assert_eq "$(jq -s 'map(.off) | sort | .[1]' "$TMP/hits")" "$second" "offset of line 2"
# The first line, exactly: 83.149.9.216 [17/May/2015:10:05:03 +0000] 200 203023.
jq -c 'select(.off == 0) | [.v, .ts, .customer, .host, .bytes, .status, .edge]' "$TMP/hits" > "$TMP/first"
assert_eq "$(cat "$TMP/first")" '[1,1431857103000,"acme","www.example.org",203023,200,"edge-test"]' "first record"
assert_eq "$(kcat_count hits.rejected)" "$rejected_before" "rejected lines (none more)"
grep -q 'msg="source totals".*lines_read=10000 hits_confirmed=10000 rejected=0 .*balanced=yes' "$TMP/collector.log" \
    || { cat "$TMP/collector.log"; fail "books of the source do not balance"; }
grep -q 'lines_read=10000 hits_published=10000 hits_confirmed=10000' "$TMP/collector.log" || fail "final metrics"

# Run again: every line is confirmed already, so nothing is published twice.
"$BIN/collector" --once -c "$TMP/hosts" --default-host www.example.org -e edge-test --max-age 36500d \
    -s "$TMP/state" "$log" 2> "$TMP/collector2.log" || fail "second run failed"
assert_eq "$(kcat_count hits)" "$lines" "hit records after a second run"
echo "ok: $lines lines, $want_bytes bytes"
