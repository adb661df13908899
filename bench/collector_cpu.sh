#!/usr/bin/env bash
# The collector's CPU per line, alone: LINES loggen lines (fixed --seed, the pipeline's format and
# host map, addresses from the test GeoIP networks) read with --once into kafka-mock. Prints
# cpu_s_per_1M_collector (user + system of the whole process, librdkafka's threads included, per
# million lines). With PERF=1 it also records a `perf record` profile (PERF_ARGS, default DWARF
# call graphs at 499 Hz; PERF_KEEP=DIR keeps the data) and prints its top PERF_TOP entries.
# COLLECTORS="A B" compares programs: each is run ROUNDS times (default 2), alternately, on the
# same input and a fresh broker each run. CPU-seconds move much less than wall time with the
# machine's other load, but still by about +-10% on a shared machine: compare medians.
source "$(dirname "$0")/../tests/integration/lib/lib.sh"
LINES=${LINES:-1000000}
ROUNDS=${ROUNDS:-2}
read -r -a collectors <<< "${COLLECTORS:-$BIN/collector}"

log=$TMP/access.log
"$BIN/loggen" -n "$LINES" -r 0 --seed 7 --networks "$NETWORKS" -o "$log" 2> "$TMP/loggen.log" \
    || fail "loggen"
"$BIN/loggen" --print-hosts | grep -v '^#' > "$TMP/hosts"

run_one() { # collector round
  local c=$1 r=$2 name
  name=$(basename "$c")
  start_kafka_mock
  rm -rf "$TMP/state"
  local wrap=()
  [ "${PERF:-0}" = 1 ] && wrap=(perf record ${PERF_ARGS:---call-graph dwarf,16384 -F 499} -o "$TMP/perf.$name.$r.data" --)
  /usr/bin/time -f '%U %S' -o "$TMP/time" "${wrap[@]}" "$c" --once -c "$TMP/hosts" -g "$GEODB" \
      -f "$LOGGEN_FORMAT" -e bench -s "$TMP/state" "$log" 2> "$TMP/collector.log" \
      || { tail -5 "$TMP/collector.log"; fail "collector $c failed"; }
  local got
  got=$(($(kcat_produced hits) + $(kcat_produced hits.rejected) - $(kcat_wm_dump '%o\n' | wc -l)))
  [ "$got" = "$LINES" ] || fail "$c: $got records for $LINES lines"
  stop_kafka_mock
  awk -v n="$name" -v r="$r" -v l="$LINES" '{ c = $1 + $2;
    printf "bench=collector_cpu collector=%s round=%d lines=%d cpu_s=%.2f cpu_s_per_1M_collector=%.3f\n",
      n, r, l, c, c * 1e6 / l }' "$TMP/time"
  if [ "${PERF:-0}" = 1 ]; then
    perf report -i "$TMP/perf.$name.$r.data" --no-children --percent-limit 1 --stdio \
        -g none 2> /dev/null | grep -E '^ +[0-9]' | head -${PERF_TOP:-25}
    if [ -n "${PERF_KEEP:-}" ]; then cp "$TMP/perf.$name.$r.data" "$PERF_KEEP/"; fi
  fi
}

for r in $(seq "$ROUNDS"); do
  for c in "${collectors[@]}"; do run_one "$c" "$r"; done
done
