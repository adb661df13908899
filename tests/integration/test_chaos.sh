#!/usr/bin/env bash
# Chaos: during a stream of 120,000 lines with rename rotation, kill -9 the collector, billing
# and the aggregator several times each at random moments, and restart PostgreSQL once. Then:
# usage_hourly equals the truth exactly, and the aggregator's window is whole again after its
# last restart.
source "$(dirname "$0")/lib/lib.sh"
N=${CHAOS_LINES:-120000}
start_kafka_mock
start_pg
"$BIN/billing" migrate > /dev/null 2>&1 || fail "migrate"
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null
"$BIN/billing" hosts > "$TMP/hosts"
port=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/logs"

declare -A pid
start_one() {
  case $1 in
    collector) "$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e chaos \
                   -s "$TMP/state" "$TMP/logs/access.log" 2>> "$TMP/collector.log" & ;;
    billing) "$BIN/billing" run 2>> "$TMP/billing.log" & ;;
    aggregator) "$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" \
                    2>> "$TMP/aggregator.log" & ;;
  esac
  pid[$1]=$!
  track_pid $!
}
kill9() { kill -9 "${pid[$1]}" 2> /dev/null || true; wait "${pid[$1]}" 2> /dev/null || true; echo "chaos: kill -9 $1"; }
for p in collector billing aggregator; do start_one $p; done

"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines "$N" --rate 10000 \
    --rotate-every 30000 --rotate-mode rename --truth "$TMP/truth.json" --seed 99 &
gen=$!
track_pid $gen
kills=(collector billing aggregator collector billing aggregator collector billing)
i=0
pg_restarted=0
while kill -0 $gen 2> /dev/null; do
  sleep "$(( RANDOM % 2 )).$(( RANDOM % 10 ))"
  if [ $i -lt ${#kills[@]} ]; then
    victim=${kills[$i]}
    kill9 "$victim"
    sleep 0.$(( RANDOM % 5 ))
    start_one "$victim"
    i=$((i + 1))
  fi
  if [ $pg_restarted = 0 ] && [ $i -ge 3 ]; then
    echo "chaos: restart PostgreSQL"; restart_pg; pg_restarted=1
  fi
done
wait $gen
assert_ge "$i" 6 "kills during the stream"
[ $pg_restarted = 1 ] || { echo "chaos: restart PostgreSQL"; restart_pg; }

# The collector delivers every line (some twice: billing drops the repeats).
wait_for 90 distinct_at_least "$N" || fail "collector delivered $(kcat_count hits) records, not all $N lines"
kill -TERM "${pid[collector]}"; wait "${pid[collector]}" || true

# Billing: stop the running one, then finish with --once. usage_hourly must equal the truth.
kill -TERM "${pid[billing]}"; wait "${pid[billing]}" || true
"$BIN/billing" run --once 2>> "$TMP/billing.log" || { tail "$TMP/billing.log"; fail "billing --once"; }
pg_psql -c "select customer_id, to_char(hour at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"'), country, hits, bytes
            from usage_hourly order by 1, 2, 3" > "$TMP/usage"
jq -r '.hourly | sort_by(.customer, .hour, .country) | .[] | "\(.customer)|\(.hour)|\(.country)|\(.hits)|\(.bytes)"' \
    "$TMP/truth.json" > "$TMP/usage.want"
diff "$TMP/usage.want" "$TMP/usage" > "$TMP/usage.diff" || { head -20 "$TMP/usage.diff"; fail "usage_hourly differs from the truth after chaos"; }
echo "ok: usage_hourly equals the truth after $i kills and a PostgreSQL restart"

# The aggregator, restarted once more now, is whole again within seconds: its windows hold every
# hit of the last minute exactly once (all of this stream, if it ended less than a minute ago).
kill9 aggregator
start_one aggregator
window_sum() {
  for c in $(jq -r '.customers[].customer' "$TMP/truth.json"); do
    curl -fsS -H "Authorization: Bearer demo-operator-token" \
        "http://127.0.0.1:$port/v1/customers/$c/window?seconds=60" | jq -c '[.hits, .bytes]'
  done | jq -sc 'reduce .[] as $x ([0, 0]; [.[0] + $x[0], .[1] + $x[1]])'
}
want=$(jq -c '[.hits, .bytes]' "$TMP/truth.json")
age=$(( $(date +%s) - $(stat -c %Y "$TMP/truth.json") ))
if [ "$age" -lt 40 ]; then
  export -f window_sum; export TMP port
  wait_for 20 bash -c "[ \"\$(window_sum)\" = '$want' ]" || fail "aggregator window after restart: $(window_sum), want $want"
  echo "ok: aggregator window whole again after restart: $want"
else
  echo "skip: the stream ended ${age}s ago, beyond what a 60 s window can hold whole"
fi
