#!/usr/bin/env bash
# --config FILE and -F FILE as an operator uses them: the collector, the aggregator and billing
# take their settings from a `key = value` file, the command line wins over it, an unknown key
# or a bad value is exit 2 naming FILE:LINE; Kafka properties come from a -F file, applied before
# -X (which wins); no message shows a password from a connection string or a Kafka property.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null
"$BIN/billing" hosts > "$TMP/hosts"

# Runs CMD..., expects exit 2 and stderr matching the extended regex WANT, then not holding SECRET.
expect_2() {
    local want=$1 secret=$2 rc=0
    shift 2
    "$@" > /dev/null 2> "$TMP/err" || rc=$?
    assert_eq "$rc" 2 "exit status of ${*:1:3}"
    grep -Eq -- "$want" "$TMP/err" || { cat "$TMP/err"; fail "stderr does not say: $want"; }
    if [[ -n "$secret" ]] && grep -qF -- "$secret" "$TMP/err"; then
        cat "$TMP/err"
        fail "stderr shows the secret $secret"
    fi
    echo "ok: $(tail -n 1 "$TMP/err" | head -c 240)"
}

# ---- aggregator: listen and tokens from the file; --listen on the command line wins ----------
pf=$((20000 + RANDOM % 20000))
pc=$((pf + 1))
cat > "$TMP/agg.conf" << EOF
# the aggregator's settings
tokens = $ROOT/tools/demo-tokens
  listen = 127.0.0.1:$pf
metrics-interval = 1
EOF
ready() { curl -fsS "http://127.0.0.1:$1/readyz" > /dev/null 2>&1; }
answers() { curl -sS -o /dev/null "http://127.0.0.1:$1/readyz" 2> /dev/null; }

"$BIN/aggregator" --config "$TMP/agg.conf" 2> "$TMP/agg1.log" &
agg=$!
track_pid $agg
wait_for 30 ready "$pf" || { tail "$TMP/agg1.log"; fail "aggregator --config: not ready on the file's port $pf"; }
echo "ok: aggregator --config listens on the file's address 127.0.0.1:$pf"
kill -TERM $agg
wait $agg || fail "aggregator exit status after SIGTERM"

"$BIN/aggregator" --config "$TMP/agg.conf" --listen "127.0.0.1:$pc" 2> "$TMP/agg2.log" &
agg=$!
track_pid $agg
wait_for 30 ready "$pc" || { tail "$TMP/agg2.log"; fail "aggregator: --listen did not win over the file"; }
answers "$pf" && fail "aggregator still answers on the file's port $pf"
echo "ok: --listen on the command line wins over the file's listen ($pc)"
kill -TERM $agg
wait $agg || fail "aggregator exit status after SIGTERM"

printf 'tokens = %s\nlisen = 127.0.0.1:1\n' "$ROOT/tools/demo-tokens" > "$TMP/typo.conf"
expect_2 "typo.conf:2: unknown key 'lisen'" "" "$BIN/aggregator" --config "$TMP/typo.conf"
printf '# a port out of range\nlisten = 127.0.0.1:99999\n' > "$TMP/port.conf"
expect_2 "port.conf:2: --listen 127.0.0.1:99999: expected ADDR:PORT" "" \
    "$BIN/aggregator" --config "$TMP/port.conf" -T "$ROOT/tools/demo-tokens"
expect_2 "--config $TMP/none.conf: No such file" "" "$BIN/aggregator" --config "$TMP/none.conf"
# A port in use: one line naming the address and the reason (not libmicrohttpd's "port 0").
python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True)
time.sleep(60)' > "$TMP/busy.port" &
busy=$!
track_pid $busy
wait_for 10 test -s "$TMP/busy.port" || fail "no busy port"
bp=$(cat "$TMP/busy.port")
expect_2 "^aggregator: --listen 127.0.0.1:$bp: cannot listen: Address already in use$" "" \
    "$BIN/aggregator" -T "$ROOT/tools/demo-tokens" --listen "127.0.0.1:$bp"
assert_eq "$(wc -l < "$TMP/err")" 1 "lines on stderr for a port in use"
kill $busy
expect_2 "--listen 127.0.0.1:99999: expected ADDR:PORT" "" \
    "$BIN/aggregator" -T "$ROOT/tools/demo-tokens" --listen 127.0.0.1:99999
expect_2 "--metrics 1.2.3.4:abc: expected ADDR:PORT" "" "$BIN/billing" run --metrics 1.2.3.4:abc

# A default file is read without --config (CDN_ETC_DIR stands for /etc/cdn).
mkdir -p "$TMP/etc"
printf 'rate = many\n' > "$TMP/etc/aggregator.conf"
expect_2 "$TMP/etc/aggregator.conf:1: --rate many" "" \
    env CDN_ETC_DIR="$TMP/etc" "$BIN/aggregator" -T "$ROOT/tools/demo-tokens"

# ---- collector: -F properties, then -X (which wins); a flag from the file ---------------------
mkdir -p "$TMP/logs"
"$BIN/loggen" --networks "$NETWORKS" -o "$TMP/logs/access.log" --lines 500 --rate 0 \
    --truth "$TMP/truth.json" --seed 3
printf '# Kafka, as kcat -F reads it\n\nbootstrap.servers=127.0.0.1:1\nmessage.timeout.ms = 30000\n' \
    > "$TMP/kafka.props"
cat > "$TMP/collector.conf" << EOF
customers = $TMP/hosts
format = $LOGGEN_FORMAT
edge-id = cfg-edge
once = true
F = $TMP/kafka.props
EOF
chmod 600 "$TMP/kafka.props" "$TMP/collector.conf"
"$BIN/collector" --config "$TMP/collector.conf" -X "bootstrap.servers=$KAFKA_BROKERS" \
    "$TMP/logs/access.log" 2> "$TMP/collector.log" || { tail "$TMP/collector.log"; fail "collector --config"; }
assert_eq "$(kcat_count hits)" "$(jq .hits "$TMP/truth.json")" "hits the collector sent with --config, -F and -X"
grep -q 'collector started.*edge=cfg-edge.*once=1' "$TMP/collector.log" || fail "edge-id or once not taken from the file"

# -F is applied after -b (and our defaults): its bootstrap.servers takes the hits to Kafka.
printf 'bootstrap.servers = %s\n' "$KAFKA_BROKERS" > "$TMP/good.props"
"$BIN/collector" --once -c "$TMP/hosts" -f "$LOGGEN_FORMAT" -b 127.0.0.1:1 -F "$TMP/good.props" \
    "$TMP/logs/access.log" 2> "$TMP/collector2.log" || { tail "$TMP/collector2.log"; fail "collector -F"; }
assert_eq "$(kcat_count hits)" "$(($(jq .hits "$TMP/truth.json") * 2))" "hits after a second run whose brokers came from -F"
printf 'linger.ms=5\n# a comment\nno.such.property=1\n' > "$TMP/bad.props"
expect_2 "-F $TMP/bad.props:3: no.such.property=1: No such configuration property" "" \
    "$BIN/collector" --config "$TMP/collector.conf" -F "$TMP/bad.props" "$TMP/logs/access.log"
printf 'sasl.username=bob\nsasl.password = hunter2#x\nthis line has no equals sign\n' > "$TMP/sasl.props"
expect_2 "-F $TMP/sasl.props:3: expected PROP=VALUE" "hunter2" \
    "$BIN/collector" -c "$TMP/hosts" -F "$TMP/sasl.props" "$TMP/logs/access.log"
expect_2 "-X sasl.password.typo=\(hidden\): No such configuration property" "hunter3" \
    "$BIN/collector" -c "$TMP/hosts" -f "$LOGGEN_FORMAT" --once -X sasl.password.typo=hunter3 \
    "$TMP/logs/access.log"
printf 'customers = x\n\nedge = e1\n' > "$TMP/edge.conf"
expect_2 "edge.conf:3: unknown key 'edge'" "" \
    "$BIN/collector" --config "$TMP/edge.conf" "$TMP/logs/access.log"
sed 's/^once = true/once = yes/' "$TMP/collector.conf" > "$TMP/yes.conf"
expect_2 "yes.conf:4: key 'once' takes no value: true or false" "" \
    "$BIN/collector" --config "$TMP/yes.conf" "$TMP/logs/access.log"

# ---- billing: db from the file beats $DATABASE_URL; --db on the command line beats the file --
cat > "$TMP/billing.conf" << EOF
db = host=$PGHOST port=5432 dbname=cdn user=postgres
flush-ms = 200
[run]
X = session.timeout.ms=6000
group = billing
[usage]
group = country
EOF
DATABASE_URL="dbname=no_such_db" "$BIN/billing" run --once --config "$TMP/billing.conf" \
    2> "$TMP/billing.log" || { tail "$TMP/billing.log"; fail "billing run --once --config"; }
assert_eq "$(usage_hits)" "$(($(jq .hits "$TMP/truth.json") * 2))" "hits billed with the database of the file"
"$BIN/billing" status --config "$TMP/billing.conf" --month "$(date -u +%Y-%m)" > "$TMP/status.txt" ||
    fail "billing status --config (the file's run-only keys are skipped)"
grep -q cfg-edge "$TMP/status.txt" || fail "billing status does not list the edge"
echo "ok: billing status reads the same file (flush-ms skipped)"
rc=0
"$BIN/billing" run --once --config "$TMP/billing.conf" --db "dbname=no_such_db" 2> "$TMP/err" || rc=$?
assert_eq "$rc" 2 "billing run --db on the command line over the file's db (no such database)"
grep -q 'no_such_db' "$TMP/err" || fail "the error does not name the database"
printf '[status]\nnosuch = 1\n' >> "$TMP/billing.conf"
expect_2 "billing.conf:9: unknown key 'nosuch'" "" "$BIN/billing" status --config "$TMP/billing.conf"
"$BIN/billing" usage --config "$TMP/billing.conf" -c acme --from 2000-01-01 --to 2099-12-30 \
    > "$TMP/usage.txt" || fail "billing usage with another command's section in the file"
echo "ok: [status] is read by billing status only; [usage] group = country, [run] group = billing"
printf 'db = x\ndbname = y\n' > "$TMP/b2.conf"
expect_2 "b2.conf:2: unknown key 'dbname'" "" "$BIN/billing" run --config "$TMP/b2.conf" --once

# ---- no password in any message ------------------------------------------------------------
for cmd in run migrate hosts status edges; do
    expect_2 "bad connection string.*bob:\*\*\*@" "s3cretpw" \
        env DATABASE_URL='postgresql://bob:s3cretpw@[bad/cdn' "$BIN/billing" $cmd
done
expect_2 "bad connection string" "pw-in-conninfo" \
    "$BIN/billing" invoice --month 2026-01 --db "host=x password=pw-in-conninfo nosuchkey=1"
printf "db = password='pw-in-file' host='unterminated\n" > "$TMP/b3.conf"
expect_2 "bad connection string" "pw-in-file" "$BIN/billing" offsets --config "$TMP/b3.conf"
expect_2 "unknown or incomplete option '--dbb=...'" "pw-typo" \
    "$BIN/billing" run --dbb=postgresql://bob:pw-typo@db/cdn
echo "PASS"
