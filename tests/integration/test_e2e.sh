#!/usr/bin/env bash
# End to end: loggen writes N lines with known totals -> collector -> kafka-mock -> aggregator
# and billing. The windows equal the truth for the last minute, usage_hourly equals the truth,
# and an invoice equals the amount computed here, independently, from the truth and the plan.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock
start_pg
N=${E2E_LINES:-20000}

"$BIN/billing" migrate > "$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log"; fail "migrate"; }
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null
"$BIN/billing" hosts > "$TMP/hosts"
grep -q '^\*\.video\.acme\.example acme$' "$TMP/hosts" || { cat "$TMP/hosts"; fail "billing hosts"; }

port=$((20000 + RANDOM % 20000))
"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" \
    2> "$TMP/aggregator.log" &
track_pid $!

mkdir -p "$TMP/logs"
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines "$N" --rate 0 \
    --bad-ratio 0.01 --truth "$TMP/truth.json" --seed 5
"$BIN/collector" --once -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e e2e \
    "$TMP/logs/access.log" 2> "$TMP/collector.log" || { tail "$TMP/collector.log"; fail "collector"; }
hits=$(jq .hits "$TMP/truth.json")
assert_eq "$(kcat_count hits)" "$hits" "hits in Kafka"
assert_eq "$(kcat_count hits.rejected)" "$(jq .rejected "$TMP/truth.json")" "rejected lines"

"$BIN/billing" run --once "${KAFKA_FAST_GROUP[@]}" 2> "$TMP/billing.log" || { tail "$TMP/billing.log"; fail "billing run --once"; }

# usage_hourly = the truth, row by row
pg_psql -c "select customer_id, to_char(hour at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"'), country, hits, bytes
            from usage_hourly order by 1, 2, 3" > "$TMP/usage"
jq -r '.hourly | sort_by(.customer, .hour, .country) | .[] | "\(.customer)|\(.hour)|\(.country)|\(.hits)|\(.bytes)"' \
    "$TMP/truth.json" > "$TMP/usage.want"
diff "$TMP/usage.want" "$TMP/usage" > "$TMP/usage.diff" || { head "$TMP/usage.diff"; fail "usage_hourly differs from the truth"; }
echo "ok: usage_hourly equals the truth ($(wc -l < "$TMP/usage") rows)"

# the windows = the truth (every line was written in the last minute)
window() { curl -fsS -H "Authorization: Bearer demo-operator-token" "http://127.0.0.1:$port/v1/customers/$1/window?seconds=60"; }
for c in $(jq -r '.customers[].customer' "$TMP/truth.json"); do
  want=$(jq -c --arg c "$c" '.customers[] | select(.customer == $c) | [.hits, .bytes]' "$TMP/truth.json")
  wait_for 30 bash -c "[ \"\$(curl -fsS -H 'Authorization: Bearer demo-operator-token' 'http://127.0.0.1:$port/v1/customers/$c/window?seconds=60' | jq -c '[.hits, .bytes]')\" = '$want' ]" \
      || fail "window of $c: $(window "$c" | jq -c '[.hits, .bytes]'), want $want"
  got=$(window "$c" | jq -c '[.regions[] | [.country, .region, .hits, .bytes]] | sort')
  exp=$(jq -c --arg c "$c" '[.geo[] | select(.customer == $c) | [.country, .region, .hits, .bytes]] | sort' "$TMP/truth.json")
  assert_eq "$got" "$exp" "regions of $c"
done

# invoices = the amounts computed independently (python's decimal, from the truth and the plan):
# initech pays JPY with no minimum (0 decimals), acme USD with a 50.00 minimum commit.
month=$(date -u +%Y-%m)
check_invoice() { # customer plan minimum per10k decimals
  "$BIN/billing" invoice --month "$month" --customer "$1" --format csv > "$TMP/$1.csv" || fail "invoice of $1"
  got=$(awk -F, '$5 == "TOTAL" {print $9}' "$TMP/$1.csv")
  pg_psql -c "select coalesce(json_agg(z), '[]') from plan_zones z where plan_id = '$2'" > "$TMP/zones.json"
  pg_psql -c "select coalesce(json_agg(t), '[]') from plan_tiers t where plan_id = '$2'" > "$TMP/tiers.json"
  want=$(python3 "$ROOT/tests/integration/lib/invoice_oracle.py" "$TMP/truth.json" "$1" "$month" \
      "$TMP/zones.json" "$TMP/tiers.json" "$3" "$4" "$5")
  assert_eq "$got" "$want" "$1's invoice total"
}
check_invoice initech startup-jpy 0 1 0
check_invoice acme standard-usd 50.00 0.0075 2
echo ok
