#!/usr/bin/env bash
# Bad input: each bad line goes to hits.rejected with its reason and the raw line, the next line
# goes on: among them absurd times (year 3000, 1970: reason timestamp, by the --max-age and
# --max-ahead window around the collector's clock) and bytes above 10^13 (reason bytes);
# bad options and files exit 2 naming the culprit (a format without a host needs --default-host).
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

fmt='$remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent "$http_referer" "$http_user_agent" $host'
printf 'a.example acme\n*.b.example beta\n' > "$TMP/hosts"
# Times relative to now: the collector refuses hits older than 35 days or more than 1 day ahead.
day=$(date -u -d '2 days ago' +%d/%b/%Y)
ts_of() { echo $(($(date -u -d "$1" +%s) * 1000)); }
{
  echo "10.0.0.1 - - [$day:10:00:00 +0000] \"GET / HTTP/1.1\" 200 100 \"-\" \"ua\" a.example"
  echo 'this is not a log line'
  echo '10.0.0.2 - - [31/Feb/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 100 "-" "ua" a.example'
  echo "10.0.0.3 - - [$day:10:00:00 +0000] \"GET / HTTP/1.1\" 200 100 \"-\" \"ua\" nobody.example"
  printf '10.0.0.4 - - [%s:10:00:00 +0000] "GET /%s HTTP/1.1" 200 1 "-" "ua" a.example\n' "$day" "$(head -c 70000 /dev/zero | tr '\0' x)"
  echo "10.0.0.5 - - [$day:10:00:00 -0700] \"GET / HTTP/1.1\" 404 - \"-\" \"ua\" X.B.Example:8080"
  # Absurd times (the year 3000, the epoch) and bytes: refused, the lines around them published.
  echo "10.0.0.6 - - [01/Jan/3000:00:00:00 +0000] \"GET / HTTP/1.1\" 200 100 \"-\" \"ua\" a.example"
  echo "10.0.0.7 - - [$day:10:00:01 +0000] \"GET / HTTP/1.1\" 200 7 \"-\" \"ua\" a.example"
  echo "10.0.0.8 - - [01/Jan/1970:00:00:00 +0000] \"GET / HTTP/1.1\" 200 100 \"-\" \"ua\" a.example"
  echo "10.0.0.9 - - [$day:10:00:02 +0000] \"GET / HTTP/1.1\" 200 10000000000000 \"-\" \"ua\" a.example"
  echo "10.0.0.10 - - [$day:10:00:03 +0000] \"GET / HTTP/1.1\" 200 10000000000001 \"-\" \"ua\" a.example"
  echo "10.0.0.11 - - [$day:10:00:04 +0000] \"GET / HTTP/1.1\" 200 11 \"-\" \"ua\" a.example"
} > "$TMP/access.log"

"$BIN/collector" --once -c "$TMP/hosts" -f "$fmt" -e e1 "$TMP/access.log" 2> "$TMP/c.log" \
    || { cat "$TMP/c.log"; fail "collector failed"; }
kcat_dump hits > "$TMP/hits"
kcat_dump hits.rejected > "$TMP/rej"
assert_eq "$(wc -l < "$TMP/hits")" 5 "hits"
# --once ends with one watermark per partition, after its lines.
assert_eq "$(kcat_wm_dump $'%p\t%s\n' | awk -F'\t' '$2 ~ /"edge":"e1"/ {print $1}' | sort -u | wc -l)" 16 \
    "partitions holding the last watermark of --once"
t0=$(ts_of "$(date -u -d '2 days ago' +%F) 10:00:00")
assert_eq "$(jq -sc 'sort_by(.off) | map([.customer, .host, .bytes, .status, .ts])' "$TMP/hits")" \
    "[[\"acme\",\"a.example\",100,200,$t0],[\"beta\",\"x.b.example\",0,404,$((t0 + 7 * 3600000))],[\"acme\",\"a.example\",7,200,$((t0 + 1000))],[\"acme\",\"a.example\",10000000000000,200,$((t0 + 2000))],[\"acme\",\"a.example\",11,200,$((t0 + 4000))]]" "hit fields"
assert_eq "$(jq -sc 'sort_by(.off) | map(.reason)' "$TMP/rej")" \
    '["parse","timestamp","unknown_host","too_long","timestamp","timestamp","bytes"]' "reasons"
assert_eq "$(jq -sr 'sort_by(.off) | .[0].line' "$TMP/rej")" 'this is not a log line' "raw line kept"
assert_eq "$(jq -sr 'map(select(.reason == "timestamp") | .line | .[0:9]) | join(",")' "$TMP/rej")" \
    '10.0.0.2 ,10.0.0.6 ,10.0.0.8 ' "timestamp rejects: the bad date, the year 3000, 1970"
assert_eq "$(jq -sr 'map(.line | length) | max' "$TMP/rej")" 4096 "raw line cut at 4 KiB"
grep -q 'lines_read=12 hits_confirmed=5 rejected=7 .*balanced=yes' "$TMP/c.log" || { cat "$TMP/c.log"; fail "books"; }
grep -q 'rejected_timestamp=3 .*rejected_bytes=1 ' "$TMP/c.log" || { cat "$TMP/c.log"; fail "reject metrics"; }

# A narrower window: --max-age 1d refuses the lines of two days ago as well.
"$BIN/collector" --once -c "$TMP/hosts" -f "$fmt" -e e2 --max-age 1d --max-ahead 1h \
    "$TMP/access.log" 2> "$TMP/c2.log" || { cat "$TMP/c2.log"; fail "collector --max-age 1d failed"; }
assert_eq "$(kcat_dump hits | jq -s 'map(select(.edge == "e2")) | length')" 0 "hits of e2 with --max-age 1d"
assert_eq "$(kcat_dump hits.rejected | jq -s 'map(select(.edge == "e2" and .reason == "timestamp")) | length')" 8 \
    "timestamp rejects of e2"

# Bad usage: exit 2 with one line naming the culprit.
expect_exit() { local want=$1 pat=$2; shift 2
  set +e; "$@" > /dev/null 2> "$TMP/err"; local rc=$?; set -e
  assert_eq "$rc" "$want" "exit status of: $*"
  grep -q -- "$pat" "$TMP/err" || { cat "$TMP/err"; fail "stderr of '$*' does not name $pat"; }
}
expect_exit 2 '--bogus' "$BIN/collector" --bogus -c "$TMP/hosts" x
expect_exit 2 'nonexistent.map' "$BIN/collector" --once -c "$TMP/nonexistent.map" "$TMP/access.log"
printf 'good.example acme\nbad line with three\n' > "$TMP/bad.map"
expect_exit 2 'bad.map:2' "$BIN/collector" --once -c "$TMP/bad.map" "$TMP/access.log"
expect_exit 2 'missing.log' "$BIN/collector" --once -c "$TMP/hosts" -f "$fmt" "$TMP/missing.log"
# combined (the default format) has no host: without --default-host no line could be a hit.
expect_exit 2 '--default-host' "$BIN/collector" --once -c "$TMP/hosts" "$TMP/access.log"
expect_exit 2 'geo' "$BIN/collector" --once -c "$TMP/hosts" -g "$TMP/hosts" "$TMP/access.log"
expect_exit 2 'format' "$BIN/collector" --once -c "$TMP/hosts" -f '$foo $bar' "$TMP/access.log"
expect_exit 2 '--max-age' "$BIN/collector" --once -c "$TMP/hosts" --max-age 35x "$TMP/access.log"
expect_exit 2 '--max-age' "$BIN/collector" --once -c "$TMP/hosts" --max-age -1d "$TMP/access.log"
expect_exit 2 '--max-ahead' "$BIN/collector" --once -c "$TMP/hosts" --max-ahead '' "$TMP/access.log"
expect_exit 2 '--watermark-interval' "$BIN/collector" --once -c "$TMP/hosts" --watermark-interval 0 "$TMP/access.log"
echo ok
