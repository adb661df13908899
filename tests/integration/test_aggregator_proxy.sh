#!/usr/bin/env bash
# Three aggregators (default options) behind one address: HAProxy run unprivileged with the
# shipped deploy/haproxy/haproxy.cfg (only its addresses changed for loopback). Queries through
# the proxy return the exact window of every customer, and so does each instance. Then one
# instance is killed with -9 while hits keep coming: within 10 s every customer is exact again
# through the proxy and from each survivor, and no query through the proxy fails meanwhile
# (a refused connection is sent to another instance).
# Last, the client's address behind the proxy: the instances run with --trusted-proxy
# 127.0.0.1/32 (the proxy's address here, as docker-compose.yml trusts its network), HAProxy
# appends the address it got each request from (option forwardfor). Two users stand on
# 127.0.0.2 and 127.0.0.3 (curl --interface: loopback answers all of 127/8, no spoofing
# needed): one over its rate through the proxy gets the aggregator's 429 while the other,
# through the same proxy at the same time, gets every answer; an X-Forwarded-For the limited
# user writes itself changes nothing (HAProxy's line comes last, and 127.0.0.2 is not trusted).
# For that phase a second HAProxy sends to one instance only (round robin would split the user's
# requests over three buckets) and without the proxy's own 100/s rule, which would otherwise
# refuse first: the shipped configuration keeps both limits.
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
        --trusted-proxy 127.0.0.1/32 --tokens "$ROOT/tools/demo-tokens" 2>> "$TMP/$name.log" &
    PID[$name]=$!
    track_pid "${PID[$name]}"
done
PX=$((base + 30))

# The shipped configuration, with loopback addresses and no Docker resolver (NODENY=1: without
# the proxy's own per-address rule).
proxy_cfg() { # PORT SERVER:OPS...
python3 - "$ROOT/deploy/haproxy/haproxy.cfg" "$@" << 'EOF'
import os, re, sys
src, px, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
out, skip, k = [], False, 0
for line in open(src):
    s = line.strip()
    if os.environ.get("NODENY") and s.startswith("http-request deny "):
        continue
    if s.startswith("server ") and k == len(servers):
        continue
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
}
proxy_cfg "$PX" "${PORT[a]}:${OPS[a]}" "${PORT[b]}:${OPS[b]}" "${PORT[c]}:${OPS[c]}" > "$TMP/haproxy.cfg"
grep -q '^ *option forwardfor' "$TMP/haproxy.cfg" || fail "the shipped haproxy.cfg lacks option forwardfor"
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

# One user over its rate through the proxy, another through the same proxy not.
PX2=$((base + 31))
NODENY=1 proxy_cfg "$PX2" "${PORT[b]}:${OPS[b]}" > "$TMP/haproxy2.cfg"
haproxy -c -q -f "$TMP/haproxy2.cfg" || fail "haproxy refused the second configuration"
haproxy -db -f "$TMP/haproxy2.cfg" > "$TMP/haproxy2.log" 2>&1 &
track_pid $!
up2() { curl -fsS --interface 127.0.0.4 -o /dev/null "http://127.0.0.1:$PX2/readyz" 2> /dev/null; }
wait_for 10 up2 || { cat "$TMP/haproxy2.log"; fail "the second proxy does not answer"; }
burst() { # FROM N-CUSTOMERS [curl options] -> one status code a line, and the 429 bodies
    local from=$1 n=$2
    shift 2
    curl -s --no-progress-meter -Z --parallel-max 4 --interface "$from" -H "Authorization: Bearer $TOKEN" "$@" \
        -w '\n%{http_code}\n' "http://127.0.0.1:$PX2/v1/customers/c[1-$n]/window?seconds=[1-20]" |
        grep -xE '[0-9]{3}|.*too many requests from this address.*'
}
burst 127.0.0.2 30 > "$TMP/user1" # 600 requests: the bucket holds 200, refills 100 a second
burst 127.0.0.3 1 > "$TMP/user2"  # 20, right after
burst 127.0.0.2 10 -H 'X-Forwarded-For: 198.51.100.9' > "$TMP/user1.spoof" # 200 more
n429=$(grep -cx 429 "$TMP/user1") || true
((n429 > 0)) || fail "user 1 sent 600 requests through the proxy and was never limited ($(sort "$TMP/user1" | uniq -c | tr '\n' ' '))"
grep -q 'too many requests from this address' "$TMP/user1" || fail "user 1's 429 is not the aggregator's"
assert_eq "$(grep -cx 200 "$TMP/user2")" 20 "user 2's answers through the same proxy (200 of 20)"
s429=$(grep -cx 429 "$TMP/user1.spoof") || true
((s429 > 0)) || fail "user 1 escaped its limit by writing its own X-Forwarded-For"
by_xff() { curl -fsS "http://127.0.0.1:${OPS[b]}/metrics" | awk '/^aggregator_http_client_address_total\{source="forwarded_for"\}/ {print $2}'; }
xff=$(by_xff)
((xff >= 820)) || fail "b keyed ${xff:-no} requests by X-Forwarded-For, expected the 820 of this phase"
# Straight to b from an address it does not trust, the header is never read.
curl -fsS --interface 127.0.0.5 -o /dev/null -H "Authorization: Bearer $TOKEN" \
    -H 'X-Forwarded-For: 127.0.0.2' "http://127.0.0.1:${PORT[b]}/v1/customers/c1/window" ||
    fail "a direct request with X-Forwarded-For naming the limited user was refused"
assert_eq "$(by_xff)" "$xff" "requests keyed by X-Forwarded-For after one from an untrusted peer"
echo "ok: through one proxy, user 1 (127.0.0.2) got $n429 of 600 answers 429, user 2 (127.0.0.3) 20 of 20 answers 200; user 1 writing X-Forwarded-For itself: still $s429 of 200 429"
echo ok
