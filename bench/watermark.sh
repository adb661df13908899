#!/usr/bin/env bash
# Watermark overhead: EDGES (default 100) real collector processes, idle (each with its own
# --edge-id, state directory and empty log file), against kafka-mock with PARTITIONS (default 16)
# partitions of `hits`, and one aggregator reading that topic. After WARMUP seconds (default 5)
# it measures WM_SECONDS (default 20) seconds:
#   - the watermark messages (key "#wm", common/watermark.h) that landed in the topic with a
#     timestamp inside the measured seconds, per second, beside the design's EDGES x PARTITIONS
#     (one per edge and partition a second), their value bytes per second, the edges and the
#     partitions seen, and any other message (idle collectors send none);
#   - CPU-seconds per second (user + system, every thread) of all collectors together, of
#     kafka-mock and of the aggregator, and their peak resident memory (VmHWM).
# Idle collectors cost something without watermarks too (their poll loops): the CPU figures are
# totals, and a run on a collector without watermarks gives the baseline to subtract. Such a
# collector lands no "#wm" message: the line then says watermarks=absent and gives no message
# figures, only that baseline.
# Prints one logfmt line beginning with bench=watermark. Figures only: nothing fails on them.
source "$(dirname "$0")/../tests/integration/lib.sh"
EDGES=${EDGES:-100}
PARTITIONS=${PARTITIONS:-16}
WARMUP=${WARMUP:-5}
DURATION=${WM_SECONDS:-20}

start_kafka_mock --partitions "$PARTITIONS"
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2> /dev/null || echo 0; }
sum_ticks() { local p t=0; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }

printf 'www.example.org acme\n' > "$TMP/hosts"
port=$((20000 + RANDOM % 20000))
"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" \
    --metrics-interval 0 2> "$TMP/agg.log" &
agg=$!
track_pid $agg

cols=()
for ((i = 0; i < EDGES; i++)); do
  d=$TMP/edge-$i
  mkdir -p "$d/state"
  : > "$d/access.log"
  "$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -e "bench-edge-$i" -s "$d/state" \
      --metrics-interval 0 "$d/access.log" 2> "$d/collector.log" &
  cols+=($!)
done
track_pid "${cols[@]}"
sleep "$WARMUP"
alive=0
for p in "${cols[@]}"; do pid_alive "$p" && alive=$((alive + 1)); done

c0=$(sum_ticks "${cols[@]}"); m0=$(cpu_ticks "$KAFKA_MOCK_PID"); a0=$(cpu_ticks $agg)
t0=$(($(date +%s%N) / 1000000))
sleep "$DURATION"
c1=$(sum_ticks "${cols[@]}"); m1=$(cpu_ticks "$KAFKA_MOCK_PID"); a1=$(cpu_ticks $agg)
t1=$(($(date +%s%N) / 1000000))
col_hwm=$(for p in "${cols[@]}"; do hwm_kb "$p"; done | awk '{s += $1; if ($1 > m) m = $1} END {printf "%.1f %.1f", m / 1024, s / 1024}')

# Every message of the topic: key, partition, timestamp, value length, value (kcat -f).
kcat -C -b "$KAFKA_BROKERS" -t hits -o beginning -e -q -f '%k\t%p\t%T\t%S\t%s\n' > "$TMP/dump.tsv"
read -r wm wm_bytes other edges_seen parts_seen < <(awk -F'\t' -v t0="$t0" -v t1="$t1" '
  $3 >= t0 && $3 < t1 {
    if ($1 == "#wm") {
      wm++; bytes += $4; parts[$2] = 1
      if (match($5, /"edge":"[^"]*"/)) edges[substr($5, RSTART + 8, RLENGTH - 9)] = 1
    } else other++
  }
  END { ne = 0; for (e in edges) ne++; np = 0; for (p in parts) np++
        printf "%d %d %d %d %d\n", wm, bytes, other, ne, np }' "$TMP/dump.tsv")

awk -v e="$EDGES" -v p="$PARTITIONS" -v alive="$alive" -v s="$(( t1 - t0 ))" -v hz="$hz" \
    -v wm="$wm" -v wmb="$wm_bytes" -v other="$other" -v es="$edges_seen" -v ps="$parts_seen" \
    -v c=$((c1 - c0)) -v m=$((m1 - m0)) -v a=$((a1 - a0)) -v colhwm="$col_hwm" \
    -v mm="$(hwm_kb "$KAFKA_MOCK_PID")" -v am="$(hwm_kb $agg)" 'BEGIN {
  s /= 1000
  split(colhwm, ch, " ")
  printf "bench=watermark edges=%d partitions=%d collectors_alive=%d seconds=%.1f ", e, p, alive, s
  if (wm > 0)
    printf "watermarks=present wm_msgs_per_s=%.0f expected_per_s=%d wm_bytes_per_s=%.0f edges_seen=%d partitions_seen=%d other_msgs=%d ",
      wm / s, e * p, wmb / s, es, ps, other
  else
    printf "watermarks=absent other_msgs=%d ", other
  printf "cpu_s_per_s_collectors=%.3f cpu_s_per_s_kafka_mock=%.3f cpu_s_per_s_aggregator=%.3f peak_mb_collector_max=%.1f peak_mb_collectors_sum=%.0f peak_mb_kafka_mock=%.1f peak_mb_aggregator=%.1f\n",
    c / hz / s, m / hz / s, a / hz / s, ch[1], ch[2], mm / 1024, am / 1024 }'
