#!/usr/bin/env bash
# billing benchmark: HITS hit records (default 1,000,000; lz4, 16 partitions) in kafka-mock, then
# `billing run --once` into a fresh PostgreSQL. Prints hits/s (wall), transactions/s, the
# CPU-seconds of billing (user+sys, every thread: decode, librdkafka's fetch and decompression,
# libpq) and hits per CPU-second, and PostgreSQL's CPU-seconds beside. Target: >= 1,000,000
# hits/s per core of billing. Checks that usage_hourly holds every hit before reporting.
# Knobs: HITS; BILLING_ARGS (more options for billing run, e.g. "-X queued.min.messages=100000");
# METRICS_INTERVAL (log a metrics line every N s); PERF (a command prefix, e.g.
# "perf record -g -o /tmp/billing.perf --").
source "$(dirname "$0")/../tests/integration/lib/lib.sh"
source "$(dirname "$0")/../tests/integration/lib/billing_lib.sh"
HITS=${HITS:-1000000}

billing_setup
# Records: 200 customers (spread evenly: the mock keeps only ~5 MB per partition), 30 countries,
# 20 sources of 4 edges, over the last 24 hours.
python3 - "$HITS" > "$TMP/hits.tsv" << 'PY'
import random, sys, time
n = int(sys.argv[1]); rng = random.Random(1)
custs = ["customer-%03d" % i for i in range(200)]
countries = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "AU", "NL", "ES", "IT", "SE", "PL",
             "MX", "KR", "SG", "ZA", "AR", "TR", "ID", "TH", "VN", "NG", "EG", "CH", "AT", "BE", "DK", "ZZ"]
srcs = [("edge-%d" % (i % 4), "/var/log/nginx/access.log:%d:%d" % (i, 1764000000 + i)) for i in range(20)]
off = [0] * len(srcs)
# the last 24 hours: billing refuses hits far from the Kafka timestamp (hit_validate)
t0 = int(time.time() * 1000) - 86400000
out = sys.stdout
for i in range(n):
    s = i % len(srcs); e, src = srcs[s]
    c = custs[rng.randrange(200)]
    b = rng.randrange(200, 2000000)
    out.write('%s\t{"v":1,"ts":%d,"customer":"%s","host":"cdn.%s.example","bytes":%d,"status":200,'
              '"country":"%s","region":"CA","edge":"%s","src":"%s","off":%d}\n'
              % (c, t0 + i * 86400000 // n, c, c, b, rng.choice(countries), e, src, off[s]))
    off[s] += 180
PY
produce "$TMP/hits.tsv"
stored=$(kcat_count hits)
[[ "$stored" == "$HITS" ]] || fail "the mock kept $stored of $HITS records"

pg_pid=$(head -n 1 "$PGDATA/postmaster.pid")
pg_cpu() { # CPU ticks of the server and its children (backends)
    local t=0 p
    for p in $pg_pid $(pgrep -P "$pg_pid"); do
        t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2> /dev/null || echo 0)))
    done
    echo "$t"
}
pg0=$(pg_cpu)
mock0=$(awk '{print $14 + $15}' /proc/$KAFKA_MOCK_PID/stat)
${PERF:-} /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" "$BIN/billing" run --once ${BILLING_ARGS:-} \
    --metrics-interval ${METRICS_INTERVAL:-0} 2> "$TMP/billing.log" || { tail "$TMP/billing.log"; fail "billing run --once"; }
pg1=$(pg_cpu)
mock1=$(awk '{print $14 + $15}' /proc/$KAFKA_MOCK_PID/stat)
[[ "$(usage_hits)" == "$HITS" ]] || fail "usage_hourly holds $(usage_hits) of $HITS hits"
read -r wall user sys rss < "$TMP/time"
grep -E "final metrics|msg=.metrics." "$TMP/billing.log" | cut -c1-160 | sed "s/^/  /"
# Time from taking the partitions (start-up is not billing's work; it takes ~0.1 s).
t_assign=$(grep -m1 'partitions taken' "$TMP/billing.log" | sed 's/^ts=\([^ ]*\).*/\1/')
t_end=$(grep 'final metrics' "$TMP/billing.log" | sed 's/^ts=\([^ ]*\).*/\1/')
work=$(python3 -c "import datetime as d,sys; f=lambda s: d.datetime.fromisoformat(s.replace('Z','+00:00')); print('%.3f' % (f(sys.argv[2]) - f(sys.argv[1])).total_seconds())" "$t_assign" "$t_end")
tx=$(metric transactions "$TMP/billing.log")
awk -v n="$HITS" -v w="$wall" -v work="$work" -v u="$user" -v s="$sys" -v tx="$tx" -v r="$rss" \
    -v pg="$(( pg1 - pg0 ))" -v mock="$(( mock1 - mock0 ))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    cpu = u + s
    printf "bench=billing hits=%d wall_s=%.2f consume_s=%.2f hits_per_s=%.0f transactions=%d transactions_per_s=%.1f cpu_s=%.2f hits_per_cpu_s=%.0f target_hits_per_cpu_s=1000000 met=%s peak_rss_mb=%.1f cpu_s_postgres=%.2f cpu_s_kafka_mock=%.2f\n",
      n, w, work, n / work, tx, tx / work, cpu, n / cpu, (n / cpu >= 1000000 ? "yes" : "no"), r / 1024, pg / hz, mock / hz }'
