#!/usr/bin/env bash
# deploy/: the Prometheus alert rules load (`promtool check rules`), fire on the situations they
# are named for and stay quiet on a healthy pipeline (`promtool test rules` with
# deploy/prometheus/alerts_test.yml), the example Prometheus configuration is valid, and the
# Grafana dashboard is JSON whose queries name only metrics the programs' sources define.
# promtool comes from `make promtool` (Debian's prometheus package, unpacked under build/).
source "$(dirname "$0")/lib/lib.sh"
make -C "$ROOT" --no-print-directory -s promtool > "$TMP/make.log" 2>&1 ||
    fail "make promtool failed (it downloads Debian's prometheus package): $(tail -n 5 "$TMP/make.log")"
promtool=$ROOT/build/promtool/promtool
prom=$ROOT/deploy/prometheus
"$promtool" check rules "$prom/alerts.yml" || fail "promtool check rules refused alerts.yml"
(cd "$prom" && "$promtool" check config prometheus.yml) || fail "promtool check config refused prometheus.yml"
(cd "$prom" && "$promtool" test rules alerts_test.yml) || fail "promtool test rules: an alert misbehaves"
echo "ok: alert rules load and pass their tests"

# Metric names the programs define: every aggregator_/billing_/collector_/process_ word in their
# sources (the names are string literals, some inside # HELP text).
metric_words() { grep -ohE '\b(aggregator|billing|collector|process)_[a-z0-9_]+' "$@" | sort -u; }
metric_words "$ROOT"/aggregator/*.c "$ROOT"/billing/*.c "$ROOT"/collector/*.c "$ROOT"/common/*.c > "$TMP/defined"
assert_ge "$(wc -l < "$TMP/defined")" 50 "metric names found in the sources"

dash=$ROOT/deploy/grafana/cdn.json
jq -e . "$dash" > /dev/null || fail "cdn.json is not JSON"
assert_eq "$(jq -r '.uid | length > 0' "$dash")" true "dashboard uid"
# Every panel but rows has a query; every query names metrics that exist.
assert_eq "$(jq '[.panels[] | select(.type != "row") | select((.targets // []) | length == 0)] | length' "$dash")" 0 \
    "panels without a query"
jq -r '.panels[] | .targets[]?.expr' "$dash" > "$TMP/exprs"
assert_ge "$(wc -l < "$TMP/exprs")" 20 "dashboard queries"
python3 -c 'import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]: print(r["expr"])' "$prom/alerts.yml" > "$TMP/alert-exprs" || fail "cannot read alerts.yml"
for f in exprs alert-exprs; do
    metric_words "$TMP/$f" > "$TMP/$f.used"
    unknown=$(comm -23 "$TMP/$f.used" "$TMP/defined")
    [[ -z "$unknown" ]] || fail "$f name metrics no program defines: $unknown"
done
# The signals the rules and the dashboard are for are all there.
for m in billing_lag_messages billing_offset_gap billing_hits_rejected_total aggregator_edges_behind collector_lines_rejected_total; do
    grep -qx "$m" "$TMP/exprs.used" || fail "the dashboard does not show $m"
    grep -qx "$m" "$TMP/alert-exprs.used" || fail "no alert on $m"
done
echo ok
