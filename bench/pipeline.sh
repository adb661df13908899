#!/usr/bin/env bash
# The whole pipeline on this machine at once: loggen -> collector -> kafka-mock -> aggregator and
# billing -> PostgreSQL. For each offered rate (RATES, lines/s) it runs STEP seconds and reports:
# whether the collector kept up with loggen, billing's lag at the end, dashboard freshness
# p50/p99 (a probe line appended to the log every 200 ms, timed until the aggregator's API shows
# it), CPU per stage and peak memory per process. Then the highest rate that held.
# CPU per stage (loggen, collector, kafka_mock, aggregator, billing, postgres: user + system from
# /proc/PID/stat; postgres is the postmaster and its children): cpu_s_X over the step,
# cores_X = CPU-seconds per second (of the 2 cores, how many the stage used) and
# cpu_s_per_1M_X = CPU-seconds per million lines delivered. The last is what to compare between
# runs on a shared machine: wall-clock figures move with the other load, CPU per line much less.
# cpu_s_probe is this script's own (the freshness probe loop); loadavg_1m says how busy the
# machine was: with more runnable processes than cores, freshness measures the others too.
# A probe is looked for in the window's one-second point of its own timestamp, not in the 60 s
# total: that total also loses the probes older than 60 s, and from about a minute into the run
# (the third rate) it could fall while a probe arrived, so the probe waited out its 5 s limit
# whatever the pipeline did (p99 5,036 ms at 100k lines/s, and as much at 1k lines/s).
source "$(dirname "$0")/../tests/integration/lib/lib.sh"
RATES=${RATES:-"25000 50000 100000 200000 300000"}
STEP=${STEP:-20}
# COLLECTOR_ARGS: more collector options (say -X linger.ms=20), to compare against the defaults.
read -r -a collector_args <<< "${COLLECTOR_ARGS:-}"

start_kafka_mock
start_pg
"$BIN/billing" migrate > /dev/null 2>&1 || fail "migrate"
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null
pg_psql -c "insert into customers (id, name) values ('probe', 'freshness probe') on conflict do nothing"
{ "$BIN/billing" hosts; echo "probe.example probe"; } > "$TMP/hosts"
port=$((20000 + RANDOM % 20000))
"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" 2> "$TMP/agg.log" &
agg=$!; track_pid $agg
"$BIN/billing" run 2> "$TMP/billing.log" &
bil=$!; track_pid $bil
mkdir -p "$TMP/logs"
log=$TMP/logs/access.log
: > "$log"
# The probe has a file of its own: appended into loggen's file it could land inside a line that
# loggen's buffered writer had only half written.
probe_log=$TMP/logs/probe.log
: > "$probe_log"
"$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e bench -s "$TMP/state" \
    --metrics-interval 1 "${collector_args[@]}" "$log" "$probe_log" 2> "$TMP/collector.log" &
col=$!; track_pid $col
sleep 3

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }
# The postmaster, its ended children (cutime, cstime) and its live ones (backends, walwriter...).
pg_ticks() {
  local pm t
  pm=$(head -n 1 "$PGDATA/postmaster.pid" 2> /dev/null) || { echo 0; return; }
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat" 2> /dev/null || echo 0)
  for c in $(pgrep -P "$pm"); do t=$((t + $(cpu_ticks "$c"))); done
  echo "$t"
}
# loggen_ticks FILE: loggen's user + system ticks as /usr/bin/time wrote them (it has exited).
loggen_ticks() { awk -v hz="$hz" '{printf "%.0f", ($1 + $2) * hz}' "$1" 2> /dev/null || echo 0; }
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2> /dev/null || echo 0; }
# The probe loop polls every 10 ms while a probe is awaited, and forks nothing then: the request
# goes through bash's /dev/tcp, the clock is EPOCHREALTIME, the nap a read with a timeout. curl,
# jq, date and sleep there (~50 ms of CPU a poll, jq most of it) took most of a core from the
# stages measured.
exec {nap_fd}<> <(:)
nap() { read -rt "$1" -u "$nap_fd" || true; }
now_ms() { local t=${EPOCHREALTIME//[.,]/}; NOW_MS=$((10#$t / 1000)); }
# probe_hits SECOND: sets HITS to the probe's hits in that second (epoch seconds) of the window,
# 0 if none. The point is matched as winjson.c writes it; jq reads only an answer whose point
# the match does not find.
probe_hits() {
  local fd body t=$(($1 * 1000))
  HITS=0
  { exec {fd}<> "/dev/tcp/127.0.0.1/$port"; } 2> /dev/null || return 0
  printf 'GET /v1/customers/probe/window?seconds=60 HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-operator-token\r\n\r\n' >&"$fd"
  IFS= read -r -d '' body <&"$fd" || true
  exec {fd}>&-
  if [[ $body =~ \{\"t_ms\":$t,\"hits\":([0-9]+)[,}] ]]; then HITS=${BASH_REMATCH[1]}
  elif [[ $body == *"\"t_ms\":$t"[,}]* ]]; then
    HITS=$(jq -r --argjson t "$t" '[.series[]? | select(.t_ms == $t) | .hits] | add // 0' <<< "${body#*$'\r\n\r\n'}")
  fi
}
# Watermark messages the collector sent (its metrics line each second; 0 for a collector without
# watermarks): the topic's offsets count them too, and they are not lines. The figure is up to a
# second old, so delivered may be off by one second of watermarks (one per partition).
wm_sent() { grep -o 'watermarks_sent=[0-9]*' "$TMP/collector.log" | tail -1 | cut -d= -f2 | grep . || echo 0; }
hz=$(getconf CLK_TCK)
best=0
for rate in $RATES; do
  c0=$(cpu_ticks $col); a0=$(cpu_ticks $agg); b0=$(cpu_ticks $bil); m0=$(cpu_ticks "$KAFKA_MOCK_PID")
  p0=$(pg_ticks); w0=$(date +%s%N); h0=$(cpu_ticks $$)
  before=$(kcat_produced hits); wm_before=$(wm_sent)
  /usr/bin/time -f '%U %S' -o "$TMP/loggen.time" \
      "$BIN/loggen" --networks "$NETWORKS" -o "$log" --rate "$rate" --duration "$STEP" 2> "$TMP/loggen.log" &
  gen=$!; track_pid $gen
  lat=()
  timeouts=0
  end=$((SECONDS + STEP))
  while [ $SECONDS -lt $end ]; do
    sec=$EPOCHSECONDS
    probe_hits "$sec"; n0=$HITS
    stamp=$(date -u -d "@$sec" '+%d/%b/%Y:%H:%M:%S +0000')
    now_ms; t0=$NOW_MS
    printf '198.51.100.7 - - [%s] "GET /probe HTTP/1.1" 200 1 "-" "probe" probe.example HIT\n' \
        "$stamp" >> "$probe_log"
    while probe_hits "$sec"; now_ms; [ "$HITS" -le "$n0" ] && [ $((NOW_MS - t0)) -le 5000 ]; do nap 0.01; done
    lat+=($((NOW_MS - t0)))
    if [ "${lat[-1]}" -gt 5000 ]; then timeouts=$((timeouts + 1)); fi
    nap 0.2
  done
  wait $gen
  written=$(grep -o 'lines=[0-9]*' "$TMP/loggen.log" | tail -1 | cut -d= -f2)
  sleep 2
  delivered=$(( $(kcat_produced hits) - before - ($(wm_sent) - wm_before) ))
  # the collector kept up if, 2 s after loggen stopped, everything written is in Kafka
  kept=$([ "$delivered" -ge "$written" ] && echo yes || echo no)
  lag=$(grep -o 'lag=[0-9]*' "$TMP/billing.log" | tail -1 | cut -d= -f2)
  # p99 of ~50 probes is their slowest but one at most: p90 says whether it was one spike
  read -r p50 p90 p99 < <(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.5)+1], a[int(NR*0.9)+ (NR*0.9 > int(NR*0.9))], a[int(NR*0.99)+ (NR*0.99 > int(NR*0.99))]}')
  c1=$(cpu_ticks $col); a1=$(cpu_ticks $agg); b1=$(cpu_ticks $bil); m1=$(cpu_ticks "$KAFKA_MOCK_PID")
  p1=$(pg_ticks); w1=$(date +%s%N); h1=$(cpu_ticks $$)
  # The stages' CPU over the step (loggen's whole run), then what the step's wall time gives it.
  awk -v r="$rate" -v w="$written" -v d="$delivered" -v s="$STEP" -v k="$kept" -v p50="$p50" -v p90="$p90" -v p99="$p99" \
      -v np="${#lat[@]}" -v nto="$timeouts" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
      -v lag="${lag:-unknown}" -v hz="$hz" -v g="$(loggen_ticks "$TMP/loggen.time")" \
      -v c=$((c1 - c0)) -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v m=$((m1 - m0)) -v pg=$((p1 - p0)) -v probe=$((h1 - h0)) -v wall=$(((w1 - w0) / 1000000)) \
      -v cm="$(hwm_mb $col)" -v am="$(hwm_mb $agg)" -v bm="$(hwm_mb $bil)" -v mm="$(hwm_mb "$KAFKA_MOCK_PID")" 'BEGIN {
    split("loggen collector kafka_mock aggregator billing postgres", name, " ")
    t[1] = g; t[2] = c; t[3] = m; t[4] = a; t[5] = b; t[6] = pg
    wall /= 1000 # the step and the 2 s after it: every stage but loggen was measured over both
    for (i = 1; i <= 6; i++) {
      cpu = t[i] / hz; total += cpu
      cs = cs sprintf(" cpu_s_%s=%.1f", name[i], cpu)
      co = co sprintf(" cores_%s=%.2f", name[i], cpu / (i == 1 ? s : wall))
      pm = pm sprintf(" cpu_s_per_1M_%s=%.2f", name[i], d > 0 ? cpu * 1e6 / d : 0)
    }
    printf "bench=pipeline offered_lines_per_s=%d written=%d delivered=%d hits_per_s=%.0f collector_kept_up=%s billing_lag=%s freshness_probes=%d freshness_over_5s=%d freshness_p50_ms=%d freshness_p90_ms=%d freshness_p99_ms=%d%s%s%s cpu_s_per_1M_total=%.2f cpu_s_probe=%.1f loadavg_1m=%s peak_mb_collector=%d peak_mb_aggregator=%d peak_mb_billing=%d peak_mb_kafka_mock=%d\n",
      r, w, d, d / s, k, lag, np, nto, p50, p90, p99, cs, co, pm, (d > 0 ? total * 1e6 / d : 0), probe / hz, load, cm, am, bm, mm }'
  if [ "$kept" = yes ] && [ "${p99:-99999}" -lt 1000 ]; then best=$((written / STEP)); else break; fi
done
echo "bench=pipeline_max sustained_hits_per_s=$best target=300000"
