#!/usr/bin/env bash
# Bad input: each bad line goes to hits.rejected with its reason and the raw line, the next line
# goes on; bad options and files exit 2 naming the culprit.
source "$(dirname "$0")/lib.sh"
start_kafka_mock

fmt='$remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent "$http_referer" "$http_user_agent" $host'
printf 'a.example acme\n*.b.example beta\n' > "$TMP/hosts"
{
  echo '10.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 100 "-" "ua" a.example'
  echo 'this is not a log line'
  echo '10.0.0.2 - - [31/Feb/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 100 "-" "ua" a.example'
  echo '10.0.0.3 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 100 "-" "ua" nobody.example'
  printf '10.0.0.4 - - [25/Nov/2026:10:00:00 +0000] "GET /%s HTTP/1.1" 200 1 "-" "ua" a.example\n' "$(head -c 70000 /dev/zero | tr '\0' x)"
  echo '10.0.0.5 - - [25/Nov/2026:10:00:00 -0700] "GET / HTTP/1.1" 404 - "-" "ua" X.B.Example:8080'
} > "$TMP/access.log"

"$BIN/collector" --once -c "$TMP/hosts" -f "$fmt" -e e1 "$TMP/access.log" 2> "$TMP/c.log" \
    || { cat "$TMP/c.log"; fail "collector failed"; }
kcat_dump hits > "$TMP/hits"
kcat_dump hits.rejected > "$TMP/rej"
assert_eq "$(wc -l < "$TMP/hits")" 2 "hits"
assert_eq "$(jq -sc 'sort_by(.off) | map([.customer, .host, .bytes, .status, .ts])' "$TMP/hits")" \
    '[["acme","a.example",100,200,1795600800000],["beta","x.b.example",0,404,1795626000000]]' "hit fields"
assert_eq "$(jq -sc 'sort_by(.off) | map(.reason)' "$TMP/rej")" '["parse","timestamp","unknown_host","too_long"]' "reasons"
assert_eq "$(jq -sr 'sort_by(.off) | .[0].line' "$TMP/rej")" 'this is not a log line' "raw line kept"
assert_eq "$(jq -sr 'map(.line | length) | max' "$TMP/rej")" 4096 "raw line cut at 4 KiB"
grep -q 'lines_read=6 hits_confirmed=2 rejected=4 .*balanced=yes' "$TMP/c.log" || { cat "$TMP/c.log"; fail "books"; }

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
expect_exit 2 'missing.log' "$BIN/collector" --once -c "$TMP/hosts" "$TMP/missing.log"
expect_exit 2 'geo' "$BIN/collector" --once -c "$TMP/hosts" -g "$TMP/hosts" "$TMP/access.log"
expect_exit 2 'format' "$BIN/collector" --once -c "$TMP/hosts" -f '$foo $bar' "$TMP/access.log"
echo ok
