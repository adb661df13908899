#!/usr/bin/env bash
# Collector benchmark: 1,000,000 real lines (data/apache_logs x 100) with --once into kafka-mock,
# and beside it, in the same run, syslog-ng doing the same job (parse, geoip2, kafka-c with lz4)
# on the same file and broker. Prints lines/s, CPU-seconds (user+sys) and peak memory of each.
source "$(dirname "$0")/../tests/integration/lib/lib.sh"
REPEAT=${REPEAT:-100}

start_kafka_mock
big=$TMP/apache_x$REPEAT.log
for _ in $(seq "$REPEAT"); do cat "$SHARED_DATA/apache_logs"; done > "$big"
lines=$(wc -l < "$big")
printf 'www.example.org acme\n' > "$TMP/hosts"

# cpu_of TIMEFILE -> "user+sys wall maxrss_kb"
cpu_of() {
  awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {m=$2}
              /Elapsed \(wall clock\)/ {n=split($2, a, ":"); w = (n == 3) ? a[1]*3600 + a[2]*60 + a[3] : a[1]*60 + a[2]}
              END {printf "%.2f %.2f %d\n", u + s, w, m}' "$1"
}
report() { # name lines timefile
  read -r cpu wall rss < <(cpu_of "$3")
  awk -v n="$1" -v l="$2" -v c="$cpu" -v w="$wall" -v r="$rss" 'BEGIN {
    printf "bench=%s lines=%d wall_s=%.2f lines_per_s=%.0f cpu_s=%.2f cpu_s_per_1M_lines=%.2f peak_rss_mb=%.1f\n",
      n, l, w, (w > 0 ? l / w : 0), c, c * 1e6 / l, r / 1024 }'
}

# --max-age: the log is from 2015, older than the default time window (35 days).
/usr/bin/time -v -o "$TMP/collector.time" "$BIN/collector" --once -c "$TMP/hosts" -g "$GEODB" \
    --default-host www.example.org --max-age 36500d -e bench -s "$TMP/state" "$big" 2> "$TMP/collector.log" \
    || { tail -5 "$TMP/collector.log"; fail "collector failed"; }
# The topic also holds the last watermark of --once, one per partition: not records of lines.
got=$(($(kcat_produced hits) - $(kcat_wm_dump '%o\n' | wc -l)))
[ "$got" = "$lines" ] || fail "collector: $got records in the topic for $lines lines"
report collector "$lines" "$TMP/collector.time"
read -r our_cpu _ < <(cpu_of "$TMP/collector.time")

if command -v syslog-ng > /dev/null; then
  mkdir -p "$TMP/sng"
  sed -e "s|BOOTSTRAP|$KAFKA_BROKERS|" -e "s|LOGFILE|$big|" -e "s|GEOIP_DB|$GEODB|" \
      "$SHARED_DATA/../bench/syslog-ng.conf" > "$TMP/sng/run.conf"
  /usr/bin/time -v -o "$TMP/sng.time" syslog-ng -F -f "$TMP/sng/run.conf" -R "$TMP/sng/persist" \
      -p "$TMP/sng/pid" -c "$TMP/sng/ctl" > "$TMP/sng/out.log" 2>&1 &
  sng=$!
  track_pid $sng
  # syslog-ng follows the file for ever: stop it once the topic holds every line.
  deadline=$(( $(date +%s) + 300 ))
  while [ "$(kcat_produced sng)" -lt "$lines" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
  kill -TERM "$(cat "$TMP/sng/pid" 2> /dev/null || echo $sng)" 2> /dev/null || true
  wait $sng 2> /dev/null || true
  report syslog-ng "$(kcat_produced sng)" "$TMP/sng.time"
  read -r sng_cpu _ < <(cpu_of "$TMP/sng.time")
  awk -v a="$our_cpu" -v b="$sng_cpu" 'BEGIN { printf "bench=collector_vs_syslog-ng cpu_ratio=%.3f target=0.100 %s\n", a / b, (a / b <= 0.1 ? "met=yes" : "met=no") }'
else
  echo "bench=syslog-ng skipped=yes reason=\"syslog-ng not installed (make deps installs it)\""
fi
