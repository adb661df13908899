#!/usr/bin/env bash
# Watermark overhead: EDGES (default 100) real collector processes, idle (each with its own
# --edge-id, state directory and empty log file), against kafka-mock with PARTITIONS (default 16)
# partitions of `hits`, and one aggregator reading that topic. After WARMUP seconds (default 5)
# it measures WM_SECONDS (default 20) seconds:
#   - the messages that landed in `hits` in those seconds (end offsets before and after, every
#     partition) per second; of the last SAMPLE of each partition, the share that are
#     watermarks (key "#wm", common/watermark.h; idle collectors send nothing else), so the
#     watermark messages per second beside the design's EDGES x PARTITIONS (one per edge and
#     partition a second), their value size and bytes per second, the edges and partitions seen;
#   - CPU-seconds per second (user + system, every thread) of all collectors together, of
#     kafka-mock and of the aggregator, and their peak resident memory (VmHWM).
# Idle collectors cost something without watermarks too (their poll loops): the CPU figures are
# totals, and a run on a collector without watermarks gives the baseline to subtract. Such a
# collector lands no "#wm" message: the line then says watermarks=absent and gives no watermark
# figures, only that baseline.
# Prints one logfmt line beginning with bench=watermark. Figures only: nothing fails on them.
source "$(dirname "$0")/../tests/integration/lib/lib.sh"
EDGES=${EDGES:-100}
PARTITIONS=${PARTITIONS:-16}
WARMUP=${WARMUP:-5}
DURATION=${WM_SECONDS:-20}
SAMPLE=${SAMPLE:-200}

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
  "$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e "bench-edge-$i" -s "$d/state" \
      --metrics-interval 0 "$d/access.log" 2> "$d/collector.log" &
  cols+=($!)
done
track_pid "${cols[@]}"
sleep "$WARMUP"
alive=0
for p in "${cols[@]}"; do pid_alive "$p" && alive=$((alive + 1)); done

# End offset of every partition of `hits`, one a line (kcat -Q; the mock answers it).
ends() {
  local args=() i
  for ((i = 0; i < PARTITIONS; i++)); do args+=(-t "hits:$i:-1"); done
  kcat -Q -b "$KAFKA_BROKERS" -J "${args[@]}" |
    jq -r '.hits | to_entries[] | select(.value | type == "object") | "\(.key) \(.value.offset)"' | sort -n
}
o0=$(ends)
c0=$(sum_ticks "${cols[@]}"); m0=$(cpu_ticks "$KAFKA_MOCK_PID"); a0=$(cpu_ticks $agg)
t0=$(($(date +%s%N) / 1000000))
sleep "$DURATION"
c1=$(sum_ticks "${cols[@]}"); m1=$(cpu_ticks "$KAFKA_MOCK_PID"); a1=$(cpu_ticks $agg)
t1=$(($(date +%s%N) / 1000000))
o1=$(ends)
col_hwm=$(for p in "${cols[@]}"; do hwm_kb "$p"; done | awk '{s += $1; if ($1 > m) m = $1} END {printf "%.1f %.1f", m / 1024, s / 1024}')
mock_hwm=$(hwm_kb "$KAFKA_MOCK_PID"); agg_hwm=$(hwm_kb $agg)

# What landed between the two ends: the offsets count every message; the last SAMPLE (default
# 200, two seconds of 100 edges) of each partition are read, once the collectors have stopped,
# to tell watermarks from anything else and to see which edges sent them. (Reading all of them
# takes minutes on the mock: each watermark is a batch of its own, and the mock hands out one
# batch per partition per fetch, found by a walk through the partition's batches.)
for p in "${cols[@]}"; do kill -TERM "$p" 2> /dev/null; done
for p in "${cols[@]}"; do wait "$p" 2> /dev/null; done
total=0
: > "$TMP/sample.tsv"
while read -r part lo _ hi; do
  total=$((total + hi - lo))
  n=$((hi - lo < SAMPLE ? hi - lo : SAMPLE))
  [ "$n" -gt 0 ] || continue
  kcat -C -b "$KAFKA_BROKERS" -t hits -p "$part" -o $((hi - n)) -c "$n" -e -q \
      -f '%k\t%p\t%S\t%s\n' >> "$TMP/sample.tsv"
done < <(paste -d ' ' <(echo "$o0") <(echo "$o1"))
read -r sampled wm_share wm_size edges_seen parts_seen < <(awk -F'\t' '
  { n++ }
  $1 == "#wm" {
    wm++; bytes += $3; parts[$2] = 1
    if (match($4, /"edge":"[^"]*"/)) edges[substr($4, RSTART + 8, RLENGTH - 9)] = 1
  }
  END { ne = 0; for (e in edges) ne++; np = 0; for (p in parts) np++
        printf "%d %.6f %.1f %d %d\n", n, (n ? wm / n : 0), (wm ? bytes / wm : 0), ne, np }' "$TMP/sample.tsv")

awk -v e="$EDGES" -v p="$PARTITIONS" -v alive="$alive" -v s="$(( t1 - t0 ))" -v hz="$hz" \
    -v total="$total" -v sampled="$sampled" -v share="$wm_share" -v size="$wm_size" \
    -v es="$edges_seen" -v ps="$parts_seen" -v c=$((c1 - c0)) -v m=$((m1 - m0)) -v a=$((a1 - a0)) \
    -v colhwm="$col_hwm" -v mm="$mock_hwm" -v am="$agg_hwm" 'BEGIN {
  s /= 1000
  split(colhwm, ch, " ")
  printf "bench=watermark edges=%d partitions=%d collectors_alive=%d seconds=%.1f msgs_per_s=%.0f sampled=%d ",
    e, p, alive, s, total / s, sampled
  if (share > 0)
    printf "watermarks=present wm_share=%.3f wm_msgs_per_s=%.0f expected_per_s=%d wm_value_bytes=%.0f wm_value_bytes_per_s=%.0f edges_seen=%d partitions_seen=%d ",
      share, total * share / s, e * p, size, total * share * size / s, es, ps
  else
    printf "watermarks=absent "
  printf "cpu_s_per_s_collectors=%.3f cpu_s_per_s_kafka_mock=%.3f cpu_s_per_s_aggregator=%.3f peak_mb_collector_max=%.1f peak_mb_collectors_sum=%.0f peak_mb_kafka_mock=%.1f peak_mb_aggregator=%.1f\n",
    c / hz / s, m / hz / s, a / hz / s, ch[1], ch[2], mm / 1024, am / 1024 }'
