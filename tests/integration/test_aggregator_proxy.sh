#!/usr/bin/env bash
# Three aggregators (default options) behind one address: HAProxy run unprivileged with the
# shipped deploy/haproxy/haproxy.cfg (only its addresses changed for loopback). Queries through
# the proxy return the exact window of every customer, and so does each instance. Then one
# instance is killed with -9 while hits keep coming: within 10 s every customer is exact again
# through the proxy and from each survivor, and no query through the proxy fails meanwhile
# (a refused connection is sent to another instance).
source "$(dirname "$0")/lib/lib.sh"
command -v haproxy > /dev/null || fail "haproxy is not installed (make deps installs it)"
start_kafka_mock
TOKEN=demo-operator-token
declare -A PORT OPS PID
base=$((20000 + RANDOM % 20000))
n=0
for name in a b c; do
    PORT[$name]=$((base + n))
    OPS[$name]=$((base + n + 10))
    n=$((n + 1))
    "$BIN/aggregator" --listen "127.0.0.1:${PORT[$name]}" --metrics-listen "127.0.0.1:${OPS[$name]}" \
        --tokens "$ROOT/tools/demo-tokens" 2>> "$TMP/$name.log" &
    PID[$name]=$!
    track_pid "${PID[$name]}"
done
PX=$((base + 30))

# The shipped configuration, with loopback addresses and no Docker resolver.
python3 - "$ROOT/deploy/haproxy/haproxy.cfg" "$PX" "${PORT[a]}:${OPS[a]}" "${PORT[b]}:${OPS[b]}" \
    "${PORT[c]}:${OPS[c]}" > "$TMP/haproxy.cfg" << 'EOF'
import re, sys
src, px, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
out, skip, k = [], False, 0
for line in open(src):
    s = line.strip()
    if s.startswith("resolvers "):
        skip = True
        continue
    if skip:
        if s == "":
            skip = False
        continue
    if s.startswith("bind "):
        line = "    bind 127.0.0.1:%s\n" % px
    if s.startswith("default-server "):
        line = re.sub(r" port \d+| resolvers \S+| init-addr \S+", "", line)
    if s.startswith("server "):
        p, o = servers[k].split(":")
        line = "    server agg%d 127.0.0.1:%s port %s\n" % (k + 1, p, o)
        k += 1
    out.append(line)
sys.stdout.write("".join(out))
EOF
haproxy -c -q -f "$TMP/haproxy.cfg" || fail "haproxy refused the configuration"
haproxy -db -f "$TMP/haproxy.cfg" > "$TMP/haproxy.log" 2>&1 &
track_pid $!

ready() { curl -fsS "http://127.0.0.1:${OPS[$1]}/readyz" > /dev/null 2>&1; }
truth() {
    jq -s -r '[.[].customers | to_entries[]] | group_by(.key)[] |
              "\(.[0].key) \([([.[].value.hits] | add), ([.[].value.bytes] | add)] | tojson)"' \
        "$TMP"/truth.*.json | sort
}
answers() { # PORT -> "CUSTOMER [hits,bytes]" lines (one curl, one kept-alive connection)
    local c urls=()
    for c in $(truth | cut -d' ' -f1); do urls+=("http://127.0.0.1:$1/v1/customers/$c/window"); done
    curl -fsS -H "Authorization: Bearer $TOKEN" "${urls[@]}" | jq -r '"\(.customer) \([.hits, .bytes] | tojson)"'
}
exact() { [[ "$(answers "$1" 2> /dev/null)" == "$(truth)" ]]; }
# Through the proxy (round robin: each instance answers a share of the 32 queries). Checked at
# most twice a second: the proxy allows 100 requests a second per client address.
exact_proxy() { sleep 0.4 && exact "$PX"; }
stream() { # N SEED
    python3 "$ROOT/tests/integration/lib/aggregator_hits.py" --hits "$1" --customers 30 --seed "$2" \
        --spread-ms 3000 --truth "$TMP/truth.$2.json" > "$TMP/stream.$2.tsv"
    kcat_produce hits < "$TMP/stream.$2.tsv" || fail "kcat produce"
}

for name in a b c; do wait_for 30 ready $name || { tail "$TMP/$name.log"; fail "$name not ready"; }; done
t0=$SECONDS
stream 15000 1
wait_for 20 exact_proxy || { answers "$PX" | diff - <(truth) | head; tail "$TMP/haproxy.log"; fail "not exact through the proxy"; }
for name in a b c; do exact "${PORT[$name]}" || fail "$name not exact"; done
echo "ok: through the proxy and from each instance, every customer ($(truth | wc -l)) exact"

kill -KILL "${PID[a]}"
wait "${PID[a]}" 2> /dev/null || true
killed=$(date +%s%N)
stream 5000 2
# Queries through the proxy right after the kill, while the health check has not noticed yet.
bad=0
for i in $(seq 1 30); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$PX/v1/customers/c$i/window")
    [[ $code == 200 ]] || bad=$((bad + 1))
    sleep 0.02
done
assert_eq "$bad" 0 "queries through the proxy that failed right after kill -9"
all_exact() { exact_proxy && exact "${PORT[b]}" && exact "${PORT[c]}"; }
wait_for 10 all_exact || { answers "$PX" | diff - <(truth) | head; tail "$TMP/haproxy.log"; fail "not exact within 10 s of kill -9"; }
wait_for 10 grep -q 'agg1 is DOWN' "$TMP/haproxy.log" || { cat "$TMP/haproxy.log"; fail "the health check did not take a out"; }
echo "ok: every customer exact through the proxy and from b and c $((($(date +%s%N) - killed) / 1000000)) ms after kill -9 of a (hits produced meanwhile)"
((SECONDS - t0 < 50)) || fail "the test ran too long for its hits to stay in the window"
echo ok
