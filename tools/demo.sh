#!/usr/bin/env bash
# make demo: the whole pipeline on the embedded broker, on this machine.
#
#   loggen -> access.log (rotated) -> collector -> kafka-mock -> aggregator (dashboard)
#                                                             -> billing run -> PostgreSQL
#
# Everything lives under run/demo-*/ (ignored by git) and is stopped on exit, Ctrl-C or failure.
# --duration N: run N seconds, print the invoices, stop, exit 0.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DURATION=0
RATE=${RATE:-2000}
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:?--duration needs seconds}; shift 2 ;;
    --rate) RATE=${2:?--rate needs lines per second}; shift 2 ;;
    *) echo "demo: unknown option '$1'" >&2; exit 2 ;;
  esac
done
case "$DURATION$RATE" in *[!0-9]*) echo "demo: DURATION and RATE must be whole numbers" >&2; exit 2 ;; esac

mkdir -p run
export TMPDIR="$ROOT/run"   # the harness makes its scratch dir here: the project's ignored folder
export KEEP_TMP=1        # keep the demo's logs and state for a look afterwards
# The test harness starts and stops kafka-mock and PostgreSQL; the demo uses the same code.
# shellcheck source=../tests/integration/lib/lib.sh
source "$ROOT/tests/integration/lib/lib.sh"
RUN=$TMP
say() { printf '\033[1m%s\033[0m\n' "$*"; }

say "== starting kafka-mock and PostgreSQL under $RUN"
start_kafka_mock
start_pg
"$BIN/billing" migrate > "$RUN/migrate.log" 2>&1 || { cat "$RUN/migrate.log"; exit 1; }
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null
"$BIN/billing" hosts > "$RUN/hosts.map"

port=8080
while (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 1)); done
say "== starting aggregator on 127.0.0.1:$port, billing, loggen ($RATE lines/s) and the collector"
"$BIN/aggregator" --listen "127.0.0.1:$port" --tokens "$ROOT/tools/demo-tokens" 2> "$RUN/aggregator.log" &
track_pid $!
"$BIN/billing" run 2> "$RUN/billing.log" &
billing_pid=$!
track_pid $billing_pid
mkdir -p "$RUN/logs"
"$BIN/loggen" --networks "$NETWORKS" -o "$RUN/logs/access.log" --rate "$RATE" \
    --rotate-every 50000 --rotate-mode rename 2> "$RUN/loggen.log" &
loggen_pid=$!
track_pid $loggen_pid
"$BIN/collector" -c "$RUN/hosts.map" -g "$GEODB" -f "$LOGGEN_FORMAT" -e demo-edge \
    -s "$RUN/collector-state" "$RUN/logs/access.log" 2> "$RUN/collector.log" &
collector_pid=$!
track_pid $collector_pid

url="http://127.0.0.1:$port/#customer=acme&token=demo-acme-token"
say "== dashboard: $url"
echo "   (other customers: globex umbrella initech hooli, token demo-<customer>-token;"
echo "    operator token demo-operator-token reads every customer)"

stopping=0
trap 'stopping=1' INT TERM
window_line() { # customer -> "hits/s bytes/s top countries"
  curl -fsS -H "Authorization: Bearer demo-operator-token" \
      "http://127.0.0.1:$port/v1/customers/$1/window?seconds=10" 2> /dev/null |
    jq -r --arg c "$1" '"\($c|.[0:9]|(. + "         ")[0:9]) \(.hits/10|floor|tostring|(" " * (7 - length)) + .) hits/s \(.bytes/10/1e6*8|floor|tostring|(" " * (6 - length)) + .) Mbit/s  top: \([.countries[:4][] | "\(.country) \(.hits)"] | join(", "))"' \
    || echo "$1: (no window yet)"
}
start=$(date +%s)
while [ "$stopping" = 0 ]; do
  sleep 5 || true
  [ "$stopping" = 0 ] || break
  for p in $collector_pid $billing_pid $loggen_pid; do
    kill -0 "$p" 2> /dev/null || { echo "demo: a process died; see $RUN/*.log" >&2; exit 1; }
  done
  say "-- last 10 s, $(date -u +%H:%M:%S) UTC"
  for c in acme globex umbrella initech hooli; do window_line "$c"; done
  if [ "$DURATION" -gt 0 ] && [ $(( $(date +%s) - start )) -ge "$DURATION" ]; then break; fi
done
trap - INT TERM

say "== stopping the traffic; waiting for billing to catch up"
kill -TERM "$loggen_pid" 2> /dev/null || true
wait "$loggen_pid" 2> /dev/null || true
kill -TERM "$collector_pid" 2> /dev/null || true
wait "$collector_pid" 2> /dev/null || true
grep 'msg="source totals"' "$RUN/collector.log" | sed 's/^/   /' || true
kill -TERM "$billing_pid" 2> /dev/null || true
wait "$billing_pid" 2> /dev/null || true
"$BIN/billing" run --once 2>> "$RUN/billing.log"

month=$(date -u +%Y-%m)
say "== invoices for $month"
"$BIN/billing" invoice --month "$month" --format text
say "== done; logs and state are in $RUN"
