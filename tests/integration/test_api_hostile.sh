#!/usr/bin/env bash
# The aggregator's API and its operator address under hostile load, with default options
# (loopback only, bounded in count and time). While 512 idle and 256 slow-header sockets from 12
# addresses are held against the API (more than the 512 it keeps: each one the server closes
# for room is opened again, up to 500 a second), and 32 idle + 16 slow against --metrics-listen
# (fewer than it keeps: none is closed for room), a normal client's window queries and
# /metrics are each answered within 1 s, on a kept-alive connection and on new ones; on the
# operator address a slow socket that sends a byte every second is still closed at the head
# deadline (10 s), not kept alive by its bytes; MHD's messages about thousands of closed
# sockets make a handful of log lines. Before the flood: keep-alive (two requests, one
# connection), a token followed by "\0junk" or by a space and junk is refused, a clean one
# accepted, a garbage request line (binary without a line end too) gets a 400 within about 1 s.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock
TOKEN=demo-operator-token
PORT=$((20000 + RANDOM % 20000))
OPS=$((PORT + 1))
"$BIN/aggregator" --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$OPS" \
    --tokens "$ROOT/tools/demo-tokens" 2> "$TMP/agg.log" &
track_pid $!
wait_for 30 curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" || { tail "$TMP/agg.log"; fail "not ready"; }
WIN=/v1/customers/acme/window

# Keep-alive: curl reuses the connection only when the answer allows it.
for p in "$PORT$WIN" "$OPS/metrics"; do
    v=$(curl -sv -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$p" "http://127.0.0.1:$p" 2>&1 > /dev/null)
    grep -q 'Re-using existing connection' <<< "$v" || { echo "$v" | grep '^[<*]'; fail "no keep-alive on $p"; }
    grep -qi '^< Connection: close' <<< "$v" && fail "an answer on $p says Connection: close"
done
echo "ok: two requests on one connection (API and operator address)"

# Raw requests (curl cannot send a NUL in a header): the status line of the answer.
raw() {
    python3 - "$PORT" "$1" << 'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
print(s.recv(200).split(b"\r\n")[0].decode())
EOF
}
head="GET $WIN HTTP/1.1\\r\\nHost: x\\r\\n"
assert_eq "$(raw "${head}Authorization: Bearer $TOKEN\\x00junk\\r\\n\\r\\n")" "HTTP/1.1 400 Bad Request" "token then NUL junk"
assert_eq "$(raw "${head}Authorization: Bearer $TOKEN junk\\r\\n\\r\\n")" "HTTP/1.1 401 Unauthorized" "token then junk"
assert_eq "$(raw "${head}X-A: b\\x00c\\r\\nAuthorization: Bearer $TOKEN\\r\\n\\r\\n")" "HTTP/1.1 400 Bad Request" "a NUL in another header"
assert_eq "$(raw "${head}Authorization: Bearer\\r\\n $TOKEN\\r\\n\\r\\n")" "HTTP/1.1 400 Bad Request" "a folded header"
assert_eq "$(raw "${head}Authorization: Bearer $TOKEN\\r\\n\\r\\n")" "HTTP/1.1 200 OK" "the clean token"
assert_eq "$(raw "GET $WIN HTTP/1.1\\nHost: x\\nAuthorization: Bearer $TOKEN\\n\\n")" "HTTP/1.1 200 OK" "bare LF line ends"
echo "ok: token parsing is exact (NUL junk 400, trailing junk 401, folded 400, clean 200)"
t=$(date +%s%N)
assert_eq "$(raw '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03')" "HTTP/1.1 400 Bad Request" "binary garbage (a TLS hello)"
ms=$((($(date +%s%N) - t) / 1000000))
((ms < 2500)) || fail "the garbage request line was answered after $ms ms"
assert_eq "$(raw 'hello world\r\n\r\n')" "HTTP/1.1 400 Bad Request" "a garbage request line"
echo "ok: garbage request lines answered 400 (binary after $ms ms)"

lines_before=$(grep -c 'msg="http server\|msg="operator http server' "$TMP/agg.log" || true)
flood() { # PORT PATH ARGS...
    python3 "$ROOT/tests/integration/lib/http_flood.py" --port "$1" --path "$2" --token "$TOKEN" --hold 15 "${@:3}"
}
flood "$PORT" "$WIN" > "$TMP/api.json" &
fa=$!
flood "$OPS" /metrics --idle 32 --slow 16 --idle-addrs 127.0.3.1,127.0.3.2 \
    --slow-addrs 127.0.4.1 > "$TMP/ops.json" &
fo=$!
track_pid $fa $fo
wait $fa || { cat "$TMP/api.json"; fail "the API's normal client was not answered in time"; }
wait $fo || { cat "$TMP/ops.json"; fail "the operator address's normal client was not answered in time"; }
cat "$TMP/api.json" "$TMP/ops.json"
for f in api ops; do
    j=$TMP/$f.json
    jq -e '.flood_open_at_start >= 48 and .queries >= 40 and .failures == []' "$j" > /dev/null ||
        fail "$f: flood not held or queries failed"
    life=$(jq .slow_life_max_s "$j")
    [[ $f == api ]] || jq -e '.slow_life_max_s >= 9 and .slow_life_max_s <= 13' "$j" > /dev/null ||
        fail "$f: the longest slow socket lived ${life} s, not the 10 s head deadline"
    echo "ok: $f: every normal query answered within 1 s (max $(jq .latency_max_s "$j") s of $(jq .queries "$j")), slow sockets cut at ${life} s, $(jq .reopened "$j") sockets reopened"
done
lines=$(($(grep -c 'msg="http server\|msg="operator http server' "$TMP/agg.log") - lines_before))
closed=$(curl -fsS "http://127.0.0.1:$OPS/metrics" | awk '$1 ~ /^http_connections_closed_total/ {s += $2} END {print s}')
head_cut=$(curl -fsS "http://127.0.0.1:$OPS/metrics" | awk '$1 == "http_connections_closed_total{reason=\"head_timeout\"}" {print $2}')
((head_cut >= 16)) || fail "only $head_cut connections closed at the head deadline"
echo "log lines of the HTTP servers during the flood: $lines; connections closed by the servers: $closed"
((closed > 1000)) || fail "the flood closed only $closed connections: it did not press"
((lines <= 24)) || fail "$lines log lines for the flood: not rate-limited"
grep -q 'msg="http server messages not logged"' "$TMP/agg.log" || fail "no count of the lines not logged"
curl -fsS -H "Authorization: Bearer $TOKEN" -o /dev/null "http://127.0.0.1:$PORT$WIN" || fail "API after the flood"
echo ok
