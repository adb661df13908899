#!/usr/bin/env bash
# Billing chaos: 1,000,000 log lines go through the collector into Kafka while `billing run`
# members are started and killed with -9 again and again (two at a time at moments, some killed
# before they ever took a partition), then one `billing run --once` finishes: usage_hourly equals
# loggen's truth exactly. Every member runs with default options.
source "$(dirname "$0")/lib/lib.sh"
N=${CHAOS_LINES:-1000000}
ROUNDS=${CHAOS_ROUNDS:-14}
start_kafka_mock
start_pg
"$BIN/billing" migrate > /dev/null 2>&1 || fail "migrate"
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null
"$BIN/billing" hosts > "$TMP/hosts"

# The lines arrive paced (50,000/s, ~20 s), as from edges: billing keeps within the mock's
# retention (~5 MB per partition; the 5 demo customers fill only 5 partitions) except for the
# lag the kills cause. Offered all at once, retention would drop hits billing had not read:
# billing then stops on the gap (exit 1), as it must.
("$BIN/loggen" --networks "$NETWORKS" -o - --lines "$N" --rate 50000 --truth "$TMP/truth.json" \
    --seed 123 2> "$TMP/loggen.log" |
    "$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e chaos -s "$TMP/state" \
        --once - 2> "$TMP/collector.log") &
collector=$!
track_pid $collector

members=()
start_member() {
    "$BIN/billing" run --metrics-interval 0 2>> "$TMP/billing.log" &
    members+=($!)
    track_pid $!
}
kill_members() {
    for p in "${members[@]}"; do kill -9 "$p" 2> /dev/null || true; wait "$p" 2> /dev/null || true; done
    members=()
}
early=0
for ((r = 1; r <= ROUNDS || $(pid_alive $collector && echo 1 || echo 0); r++)); do
    start_member
    ((r % 3 == 0)) && start_member # two members sharing the partitions
    if ((r % 4 == 1)); then
        sleep 0.02 # killed before it took any partition
        early=$((early + 1))
    else
        sleep "$(awk -v x=$RANDOM 'BEGIN {printf "%.2f", 0.3 + x / 32767 * 1.2}')"
    fi
    kill_members
    echo "chaos round $r: killed; $(pg_psql -c 'select coalesce(sum(hits), 0) from usage_hourly') hits billed so far"
done
wait "$collector" || { tail "$TMP/collector.log"; fail "collector --once"; }
ROUNDS=$((r - 1))
echo "chaos: $ROUNDS rounds, $early members killed within 20 ms of their start"

t0=$(date +%s%3N)
"$BIN/billing" run --once 2>> "$TMP/billing.log" || { tail "$TMP/billing.log"; fail "billing --once"; }
echo "final billing run --once took $(($(date +%s%3N) - t0)) ms"
pg_psql -c "select customer_id, to_char(hour at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"'), country, hits, bytes
            from usage_hourly order by 1, 2, 3" > "$TMP/usage"
jq -r '.hourly | sort_by(.customer, .hour, .country) | .[] | "\(.customer)|\(.hour)|\(.country)|\(.hits)|\(.bytes)"' \
    "$TMP/truth.json" > "$TMP/usage.want"
diff "$TMP/usage.want" "$TMP/usage" > "$TMP/usage.diff" || {
    head -20 "$TMP/usage.diff"
    fail "usage_hourly differs from the truth after billing chaos"
}
echo "ok: usage_hourly equals the truth ($(jq .hits "$TMP/truth.json") hits) after $ROUNDS rounds of kill -9"
echo ok
