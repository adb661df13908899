#!/usr/bin/env bash
# Aggregator benchmark, against kafka-mock on this machine:
#  1. catch-up: a topic of HITS (default 1,000,000) hit records stamped now; an aggregator started
#     after them seeks to now - 65 s and reads them all back (consume + decode + window). Rate over
#     the catch-up (from assignment to caught up, the aggregator's own aggregator_catchup_ms) and
#     per CPU-second of the aggregator process (all its threads: librdkafka's fetch and lz4 too).
#     Also its memory: peak RSS during the catch-up (VmHWM) and after, the windows' own bytes and
#     MB per 100k keys; and that its windows hold every hit exactly (hits added = HITS). WIDE
#     (default 20,000) of the hits belong to one customer with 5,000 regions: the key cap
#     (--max-keys-per-customer, default 1,000) folds them, the bench prints what /metrics counted.
#  2. freshness, on a fresh broker (16 partitions) and aggregator: hits produced at RATE/s
#     (default 100,000) for SECONDS_FRESH (default 20) seconds, with a probe hit every 200 ms;
#     each probe is timed from its write into the producer (kcat) until the API shows it.
#     p50/p99. The producer, kcat and the broker share this machine's 2 cores with the aggregator.
#  3. restart-to-exact: right after 2 (the topic then holds its RATE x SECONDS_FRESH hits of the
#     last minute), the aggregator is killed with -9 and started again with its defaults: the time
#     from its start until /readyz says 200, and until the probe customer's window again holds
#     every probe (exact), and the hits it read back meanwhile. Every instance reads every
#     partition (no group), so no session timeout is waited for.
#  4. watermark cost: WM_EDGES (default 100) edges x 16 partitions x WM_ROUNDS (default 20)
#     watermark messages (key "#wm") produced at once; the aggregator's CPU to take them, per
#     message, and what that makes of the edges' one watermark per partition per second.
# Prints logfmt lines beginning with bench=aggregator_*. Figures only: nothing here fails on a
# timing (only on a wrong count).
source "$(dirname "$0")/../tests/integration/lib/lib.sh"
HITS=${HITS:-1000000}
WIDE=${WIDE:-20000}
RATE=${RATE:-100000}
DURATION=${SECONDS_FRESH:-20}
TOKEN=demo-operator-token

start_kafka_mock --partitions 32 # the mock keeps ~5 MB per partition: room for 1M hits
port=$((20000 + RANDOM % 20000))
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
rss_peak_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; } # the peak so far
metric() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2; f=1} END {if (!f) print 0}'; }

# ---- 1. catch-up over a 1M-hit topic -----------------------------------------------------------
cat > "$TMP/gen.py" << 'EOF'
import random, sys, time
n, wide = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(3)
custs = ["customer-%04d" % i for i in range(1000)]
weights = [1.0 / (i + 1) ** 0.6 for i in range(1000)]  # skewed, but no partition past the mock's ~5 MB
countries = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CN", "ZZ", "CA"]
now = int(time.time() * 1000)
out = sys.stdout
tmpl = ('%s\t{"v":1,"ts":%d,"customer":"%s","host":"cdn.example.com","bytes":%d,"status":200,'
        '"country":"%s","region":"R%d","edge":"edge-fra-01","src":"/var/log/nginx/access.log","off":%d}\n')
picks = rng.choices(custs, weights, k=n - wide)
total = 0
for i, c in enumerate(picks):
    b = rng.randint(0, 2000000)
    total += b
    out.write(tmpl % (c, now - rng.randint(0, 2000), c, b, countries[i % 10], rng.randint(0, 9), i))
for i in range(wide):  # one customer of many regions: past the key cap
    b = rng.randint(0, 2000000)
    total += b
    out.write(tmpl % ("customer-wide", now - rng.randint(0, 2000), "customer-wide", b, countries[i % 10], i % 5000, n + i))
sys.stderr.write("%d %d\n" % (n, total))
EOF
python3 "$TMP/gen.py" "$HITS" "$WIDE" > "$TMP/hits.tsv" 2> "$TMP/truth.txt"
kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -z lz4 -X linger.ms=200 -X batch.size=4000000 -X batch.num.messages=100000 < "$TMP/hits.tsv" || fail "kcat produce"
rm -f "$TMP/hits.tsv"
[ "$(kcat_count hits)" = "$HITS" ] || fail "the topic holds $(kcat_count hits) hits, not $HITS"

"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" --rate 100000 \
    --metrics-interval 0 2> "$TMP/agg.log" &
agg=$!
track_pid $agg
ready() { curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; }
c0=$(cpu_ticks $agg)
wait_for 120 ready || { tail "$TMP/agg.log"; fail "aggregator did not catch up"; }
c1=$(cpu_ticks $agg)
added=$(metric aggregator_hits_added_total)
[ "$added" = "$HITS" ] || fail "hits added $added, want $HITS"
catchup_ms=$(metric aggregator_catchup_seconds | awk '{printf "%d", $1 * 1000}')
awk -v n="$HITS" -v ms="$catchup_ms" -v cpu=$((c1 - c0)) -v hz="$hz" -v rss="$(rss_mb $agg)" \
    -v peak="$(rss_peak_mb $agg)" -v folded="$(metric aggregator_window_hits_folded_total)" \
    -v atcap="$(metric aggregator_window_customers_at_key_cap)" \
    -v keys="$(metric aggregator_window_keys)" -v wmem="$(metric aggregator_window_memory_bytes)" 'BEGIN {
  printf "bench=aggregator_catchup hits=%d catchup_ms=%d hits_per_s=%.0f cpu_s=%.2f hits_per_cpu_s=%.0f target_per_core=1000000 window_keys=%d window_mb=%.1f window_mb_per_100k_keys=%.1f hits_folded=%d customers_at_key_cap=%d rss_peak_mb=%.1f rss_mb=%.1f\n",
    n, ms, n * 1000 / (ms > 0 ? ms : 1), cpu / hz, (cpu > 0 ? n * hz / cpu : 0), keys, wmem / 1e6, (keys > 0 ? wmem / 1e6 * 100000 / keys : 0), folded, atcap, peak, rss }'

# ---- 2. freshness at RATE hits/s -----------------------------------------------------------------
cat > "$TMP/fresh.py" << 'EOF'
import json, subprocess, sys, threading, time, urllib.request
brokers, port, rate, duration, token = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
kcat = subprocess.Popen(["kcat", "-P", "-b", brokers, "-t", "hits", "-K", "\t", "-z", "lz4",
                         "-X", "linger.ms=5"], stdin=subprocess.PIPE)
tmpl = ('customer-%04d\t{"v":1,"ts":%d,"customer":"customer-%04d","host":"cdn.example.com",'
        '"bytes":1234,"status":200,"country":"US","region":"CA","edge":"e","src":"fresh","off":%d}\n')
probe = ('probe\t{"v":1,"ts":%d,"customer":"probe","host":"probe.example","bytes":1,"status":200,'
         '"country":"US","region":"","edge":"e","src":"probe","off":%d}\n')
sent = []  # monotonic send time of probe k
lat = []
stop = False
url = "http://127.0.0.1:%s/v1/customers/probe/window?seconds=60" % port
req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})

def poll():
    seen = 0
    while not stop or seen < len(sent):
        try:
            hits = json.load(urllib.request.urlopen(req, timeout=2))["hits"]
        except Exception:
            hits = seen
        now = time.monotonic()
        while seen < min(hits, len(sent)):
            lat.append((now - sent[seen]) * 1000)
            seen += 1
        if stop and time.monotonic() > end + 5:
            break
        time.sleep(0.005)

end = time.monotonic() + duration
t = threading.Thread(target=poll)
t.start()
tick, i, k, next_probe, produced = 0.01, 0, 0, time.monotonic(), 0
start = time.monotonic()
while time.monotonic() < end:
    due = int((time.monotonic() - start) * rate)
    now_ms = int(time.time() * 1000)
    chunk = [tmpl % (j % 1000, now_ms, j % 1000, j) for j in range(produced, due)]
    produced = due
    if time.monotonic() >= next_probe:
        chunk.append(probe % (now_ms, k))
        k += 1
        next_probe += 0.2
        kcat.stdin.write("".join(chunk).encode())
        kcat.stdin.flush()
        sent.append(time.monotonic())
    else:
        kcat.stdin.write("".join(chunk).encode())
        kcat.stdin.flush()
    time.sleep(tick)
stop = True
kcat.stdin.close()
kcat.wait()
t.join()
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else -1
print("%d %d %d %.0f %.0f %.0f" % (produced, len(sent), len(lat), p(0.5), p(0.99), lat[-1] if lat else -1))
EOF
# A fresh broker and aggregator: the mock's cost per fetch grows with the messages it holds, and
# the 1M hits above would make the broker, not the aggregator, the slow part.
kill -TERM $agg
wait $agg 2> /dev/null || true
stop_kafka_mock
start_kafka_mock
"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" --rate 100000 \
    --metrics-interval 0 2>> "$TMP/agg.log" &
agg=$!
track_pid $agg
wait_for 60 ready || { tail "$TMP/agg.log"; fail "aggregator not ready on the fresh broker"; }
c0=$(cpu_ticks $agg)
read -r produced probes seen p50 p99 pmax < <(python3 "$TMP/fresh.py" "$KAFKA_BROKERS" "$port" "$RATE" "$DURATION" "$TOKEN")
c1=$(cpu_ticks $agg)
[ "$seen" = "$probes" ] || fail "only $seen of $probes probes became visible"
awk -v r="$RATE" -v p="$produced" -v d="$DURATION" -v n="$probes" -v p50="$p50" -v p99="$p99" -v pmax="$pmax" \
    -v cpu=$((c1 - c0)) -v hz="$hz" -v rss="$(rss_mb $agg)" 'BEGIN {
  printf "bench=aggregator_freshness offered_hits_per_s=%d produced=%d hits_per_s=%.0f probes=%d freshness_p50_ms=%d freshness_p99_ms=%d freshness_max_ms=%d target_p99_ms=1000 cpu_s=%.1f cpu_share=%.2f rss_mb=%.1f\n",
    r, p, p / d, n, p50, p99, pmax, cpu / hz, cpu / hz / d, rss }'

# ---- 3. restart-to-exact after kill -9 -----------------------------------------------------------
probe_hits() {
    curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/customers/probe/window?seconds=60" | jq .hits
}
before=$(probe_hits)
[ "$before" = "$probes" ] || fail "the probe window holds $before, not $probes, before the kill"
kill -KILL $agg
wait $agg 2> /dev/null || true
"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" --rate 100000 \
    --metrics-interval 0 2>> "$TMP/agg.log" &
agg=$!
track_pid $agg
t0=$(date +%s%N)
wait_for 120 ready || { tail "$TMP/agg.log"; fail "aggregator not ready after the restart"; }
t_ready=$((($(date +%s%N) - t0) / 1000000))
cpu_restart=$(cpu_ticks $agg)
probe_exact() { [ "$(probe_hits 2> /dev/null)" = "$probes" ]; }
wait_for 60 probe_exact || fail "the probe window holds $(probe_hits), not $probes, after the restart"
t_exact=$((($(date +%s%N) - t0) / 1000000))
echo "bench=aggregator_restart design=every_partition restart_to_ready_ms=$t_ready restart_to_exact_ms=$t_exact cpu_s_to_ready=$(awk -v c="$cpu_restart" -v hz="$hz" 'BEGIN {printf "%.2f", c / hz}') catchup_ms=$(metric aggregator_catchup_seconds | awk '{printf "%d", $1 * 1000}') hits_read_back=$(metric aggregator_messages_total) target_ms=10000"

# ---- 4. the cost of watermarks ---------------------------------------------------------------------
WM_EDGES=${WM_EDGES:-100}
WM_ROUNDS=${WM_ROUNDS:-20}
wm0=$(metric aggregator_watermarks_total)
nparts=$(metric aggregator_partitions)
for ((p = 0; p < nparts; p++)); do
    python3 -c '
import sys, time
edges, rounds = int(sys.argv[1]), int(sys.argv[2])
now = int(time.time() * 1000)
for r in range(rounds):
    for e in range(edges):
        print("#wm\t{\"v\":1,\"kind\":\"watermark\",\"edge\":\"edge-%03d\",\"wm_ms\":%d}" % (e, now - (rounds - r) * 1000))
' "$WM_EDGES" "$WM_ROUNDS" > "$TMP/wm.$p.tsv"
done
c0=$(cpu_ticks $agg)
t0=$(date +%s%N)
for ((p = 0; p < nparts; p++)); do
    kcat -P -b "$KAFKA_BROKERS" -t hits -p "$p" -K $'\t' -z lz4 < "$TMP/wm.$p.tsv" || fail "kcat watermarks"
done
want=$((wm0 + WM_EDGES * WM_ROUNDS * nparts))
wm_read() { [ "$(metric aggregator_watermarks_total)" -ge "$want" ]; }
wait_for 60 wm_read || fail "watermarks read: $(metric aggregator_watermarks_total), want $want"
c1=$(cpu_ticks $agg)
awk -v n=$((WM_EDGES * WM_ROUNDS * nparts)) -v e="$WM_EDGES" -v p="$nparts" -v cpu=$((c1 - c0)) -v hz="$hz" \
    -v edges="$(metric aggregator_edges)" 'BEGIN {
  us = cpu / hz * 1e6 / n
  printf "bench=aggregator_watermarks messages=%d cpu_s=%.2f us_per_watermark=%.1f edges=%d partitions=%d per_s_at_1_per_partition=%d cpu_share_at_1_per_partition=%.4f\n",
    n, cpu / hz, us, edges, p, e * p, e * p * us / 1e6 }'
