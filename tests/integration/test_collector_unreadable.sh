#!/usr/bin/env bash
# A file of the glob that the collector's user cannot read (a rotated file with other
# permissions) does not stop it: it starts, publishes the other files, logs the unreadable one
# once (level=warn, its path, the reason), counts it in its metrics line, tries it at every scan,
# and publishes its lines once it can read it, exactly once. Root reads any file: the collector
# runs as nobody here, as a packaged collector runs as its own user. Real configuration errors
# (no PATH, a bad option) still exit 2.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

# setpriv execs: the collector keeps the pid that $! names (a shell function would not). Not
# root: the test's own user cannot read a file of mode 000 either.
as_nobody=()
if [[ $(id -u) == 0 ]]; then as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups --); fi

chmod 755 "$TMP" # nobody reaches the logs and its state directory, nothing else
mkdir -p "$TMP/logs" "$TMP/state"
if [[ $(id -u) == 0 ]]; then chown nobody "$TMP/state"; fi
"$BIN/loggen" --print-hosts > "$TMP/hosts"
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/a.log" --lines 300 --rate 0 --seed 1 \
    --truth "$TMP/truth_a.json"
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/b.log" --lines 200 --rate 0 --seed 2 \
    --truth "$TMP/truth_b.json"
chmod 644 "$TMP/hosts" "$TMP/logs/a.log"
chmod 000 "$TMP/logs/b.log"
"${as_nobody[@]}" test -r "$TMP/logs/b.log" && fail "nobody can read b.log: the test proves nothing"

"${as_nobody[@]}" "$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e e1 -s "$TMP/state" \
    --metrics-interval 1 "$TMP/logs/*.log" 2> "$TMP/c.log" &
cpid=$!
track_pid $cpid

wait_for 30 hits_at_least 300 || { tail -20 "$TMP/c.log"; fail "a.log not published: $(kcat_count hits) of 300"; }
# Some seconds of scans (every 250 ms) while b.log stays unreadable, and two metrics lines.
sleep 3
pid_alive $cpid || { cat "$TMP/c.log"; fail "the collector ended"; }
assert_eq "$(kcat_count hits)" 300 "hits while b.log is unreadable (a.log's)"
assert_eq "$(grep -c 'msg="cannot open file"' "$TMP/c.log")" 1 "warnings about b.log (once)"
grep 'msg="cannot open file"' "$TMP/c.log" | grep -q "level=warn .*path=\"$TMP/logs/b.log\" err=\"Permission denied\"" \
    || { grep 'cannot open' "$TMP/c.log"; fail "the warning names neither level, path nor reason"; }
last_metrics() { grep 'msg="metrics"' "$TMP/c.log" | tail -1; }
last_metrics | grep -q ' files_unreadable=1 ' || { last_metrics; fail "metrics line: files_unreadable is not 1"; }
last_metrics | grep -q ' file_open_failures=1\b' || { last_metrics; fail "metrics line: file_open_failures is not 1"; }

# Readable now: its lines come too, each once.
chmod 644 "$TMP/logs/b.log"
wait_for 30 hits_at_least 500 || { tail -20 "$TMP/c.log"; fail "b.log not published: $(kcat_count hits) of 500"; }
sleep 2 # a doubled line would arrive now
kcat_dump hits > "$TMP/hits"
assert_eq "$(wc -l < "$TMP/hits")" 500 "hits (300 of a.log, 200 of b.log)"
assert_eq "$(jq -r '"\(.src) \(.off)"' "$TMP/hits" | sort -u | wc -l)" 500 "distinct (src, off)"
assert_eq "$(jq -s 'map(.bytes) | add' "$TMP/hits")" \
    "$(($(jq .bytes "$TMP/truth_a.json") + $(jq .bytes "$TMP/truth_b.json")))" "bytes"
assert_eq "$(grep -c 'msg="cannot open file"' "$TMP/c.log")" 1 "warnings about b.log (still once)"
wait_for 5 sh -c "grep 'msg=\"metrics\"' '$TMP/c.log' | tail -1 | grep -q ' files_unreadable=0 '" \
    || { last_metrics; fail "metrics line: files_unreadable is not back to 0"; }
last_metrics | grep -q ' file_open_failures=1\b' || { last_metrics; fail "metrics line: file_open_failures is not 1"; }
kill -TERM $cpid
wait $cpid || fail "collector exit status on SIGTERM"

# Configuration errors still refuse the start.
set +e
"${as_nobody[@]}" "$BIN/collector" -c "$TMP/hosts" -f "$LOGGEN_FORMAT" -s "$TMP/state" 2> "$TMP/err"; rc=$?
set -e
assert_eq "$rc" 2 "exit status without PATH"
set +e
"${as_nobody[@]}" "$BIN/collector" --bogus -c "$TMP/hosts" "$TMP/logs/*.log" 2> "$TMP/err"; rc=$?
set -e
assert_eq "$rc" 2 "exit status with a bad option"
echo ok
