#!/usr/bin/env bash
# What a customer sees beside hits and bytes, end to end: an nginx log whose format carries
# $upstream_cache_status and $host, with several status codes, cache words and hosts, goes through
# the collector (with the test GeoIP database) -> kafka-mock -> the aggregator, and the window
# answers exactly: status classes, cache classes and hit ratio, top hosts (and "other" past the
# CV_HOSTS_MAX hosts tracked), the hour by minute, region names; the records carry the optional
# keys `cache` and `region_name` and never the client address; GET /v1/customers lists what a
# token may pick from.
source "$(dirname "$0")/lib/lib.sh"
[[ -n "${GEODB:-}" && -s "$GEODB" ]] || fail "GEODB (build/test-geo.mmdb) is needed: make build/test-geo.mmdb"
start_kafka_mock
TOKEN=demo-operator-token
cp "$ROOT/tools/demo-tokens" "$TMP/tokens"

cat > "$TMP/hosts" << 'EOF'
*.acme.example acme
www.globex.example globex
*.many.example umbrella
EOF
FORMAT='$remote_addr - [$msec] "$request" $status $bytes_sent "$http_user_agent" $host $upstream_cache_status'

# lines ADDR HOST STATUS BYTES CACHE COUNT: COUNT lines stamped 1-3 s ago.
now_s=$(date +%s)
lines() {
    local i
    for ((i = 0; i < $6; i++)); do
        printf '%s - [%d.%03d] "GET /x HTTP/1.1" %s %s "ua" %s %s\n' \
            "$1" $((now_s - 1 - i % 3)) $((i % 1000)) "$3" "$4" "$2" "$5"
    done
}
{
    lines 66.249.1.1 www.acme.example 200 1000 HIT 10  # US-CA California
    lines 66.249.1.2 www.acme.example 206 500 STALE 2
    lines 66.249.1.3 www.acme.example 304 0 REVALIDATED 3
    lines 82.1.1.1 img.acme.example 200 2000 MISS 5    # GB-ENG England
    lines 82.1.1.2 img.acme.example 404 100 - 4        # cache status unknown
    lines 178.1.1.1 api.acme.example 500 50 BYPASS 2   # NL, no subdivision
    lines 178.1.1.2 api.acme.example 502 50 EXPIRED 1
    lines 10.0.0.1 cdn.acme.example 200 10 updating 3  # unmapped: ZZ; the word in any case
    lines 66.249.9.9 www.globex.example 200 7 HIT 7
    for ((h = 1; h <= 20; h++)); do # 20 hosts, host N with N hits: more than a customer tracks
        lines 24.1.1.1 "h$(printf %02d $h).many.example" 200 1 HIT $h
    done
} > "$TMP/access.log"

"$BIN/aggregator" --listen 127.0.0.1:0 --tokens "$TMP/tokens" 2> "$TMP/aggregator.log" &
track_pid $!
wait_for 15 grep -q 'msg="aggregator started"' "$TMP/aggregator.log" || fail "aggregator did not start"
port=$(grep -o 'msg="aggregator started".* port=[0-9]*' "$TMP/aggregator.log" | grep -o '[0-9]*$')
URL=http://127.0.0.1:$port
wait_for 30 curl -fs -o /dev/null "$URL/readyz" || fail "/readyz never became 200"

"$BIN/collector" --once -c "$TMP/hosts" -g "$GEODB" -f "$FORMAT" -e edge-lv -s "$TMP/state" \
    "$TMP/access.log" 2> "$TMP/collector.log" || { cat "$TMP/collector.log"; fail "collector --once failed"; }
assert_eq "$(kcat_count hits.rejected)" 0 "rejected lines"

# ---- the records: optional keys, no address ------------------------------------------------------
kcat_dump hits | grep -v '"kind":"watermark"' > "$TMP/hits.json"
assert_eq "$(wc -l < "$TMP/hits.json")" $((30 + 7 + 210)) "hit records"
assert_eq "$(jq -r 'select(.customer == "acme") | .cache // "-"' "$TMP/hits.json" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" \
    "-=4 BYPASS=2 EXPIRED=1 HIT=10 MISS=5 REVALIDATED=3 STALE=2 UPDATING=3 " "cache words of acme's records"
assert_eq "$(jq -r 'select(.customer == "acme") | "\(.country)-\(.region)=\(.region_name // "")"' "$TMP/hits.json" | sort -u | tr '\n' ' ')" \
    "GB-ENG=England NL-= US-CA=California ZZ-= " "regions and their names in the records"
if grep -q -E '66\.249\.|82\.1\.1|178\.1\.1|24\.1\.1\.1' "$TMP/hits.json"; then fail "a client address left the edge"; fi
echo "ok: the records carry cache and region_name, never the address"

# ---- acme's window, exactly ---------------------------------------------------------------------
window() { curl -fsS -H "Authorization: Bearer ${2:-$TOKEN}" "$URL/v1/customers/$1/window?seconds=60"; }
wait_for 20 bash -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$URL/v1/customers/umbrella/window' | jq .hits)\" = 210 ]" ||
    fail "umbrella's 210 hits never arrived: $(window umbrella | jq -c '{hits}')"
w=$(window acme)
assert_eq "$(jq -c '[.hits, .bytes]' <<< "$w")" '[30,21580]' "acme's totals"
assert_eq "$(jq -c '.status' <<< "$w")" '{"2xx":20,"3xx":3,"4xx":4,"5xx":3,"other":0}' "status classes"
assert_eq "$(jq -c '.cache' <<< "$w")" '{"hit":18,"miss":8,"unknown":4,"hit_ratio":0.6923}' "cache classes and hit ratio (18 / 26)"
assert_eq "$(jq -c '.hosts' <<< "$w")" \
    '[{"host":"www.acme.example","hits":15,"bytes":11000},{"host":"img.acme.example","hits":9,"bytes":10400},{"host":"api.acme.example","hits":3,"bytes":150},{"host":"cdn.acme.example","hits":3,"bytes":30}]' \
    "top hosts, most hits first"
assert_eq "$(jq -c '.hosts_other' <<< "$w")" '{"hits":0,"bytes":0}' "no other hosts"
assert_eq "$(jq -c '[.regions[] | [.country, .region, .name]]' <<< "$w")" \
    '[["US","CA","California"],["GB","ENG","England"],["NL","",null],["ZZ","",null]]' "regions with their names"
assert_eq "$(jq -c '[(.minutes | length), ([.minutes[].hits] | add), ([.minutes[].bytes] | add)]' <<< "$w")" \
    '[60,30,21580]' "the hour by minute holds the 30 hits"
assert_eq "$(jq '[.minutes[1:][].t_ms] == [.minutes[:-1][].t_ms + 60000] and .minutes[-1].t_ms == (.end_ms / 60000 | floor) * 60000' <<< "$w")" \
    true "one entry a minute, oldest first, ending with the current minute"
assert_eq "$(jq '.minutes_from_ms <= .end_ms and .minutes_from_ms % 60000 == 0' <<< "$w")" true "minutes_from_ms"
assert_eq "$(jq -c '[.customer, .seconds, (.series | length), .catching_up]' <<< "$w")" '["acme",60,60,false]' "the contract's keys as before"
echo "ok: acme: status classes, cache 69.23 %, 4 hosts, region names, 60 minutes, exact"

# ---- more hosts than tracked: the first 16 are, the rest are summed into other ------------------
w=$(window umbrella)
assert_eq "$(jq -c '[.hosts[] | [.host, .hits]]' <<< "$w")" \
    '[["h16.many.example",16],["h15.many.example",15],["h14.many.example",14],["h13.many.example",13],["h12.many.example",12],["h11.many.example",11],["h10.many.example",10],["h09.many.example",9],["h08.many.example",8],["h07.many.example",7]]' \
    "the 10 busiest of the 16 tracked hosts"
assert_eq "$(jq -c '[.hosts_other.hits, ([.hosts[].hits] | add) + .hosts_other.hits, .hits]' <<< "$w")" \
    '[95,210,210]' "other: h01-h06 (21) and the untracked h17-h20 (74); totals exact"
echo "ok: umbrella: 20 hosts, 10 shown, other 95, total 210"

# ---- the view on /metrics (updated once a second) ---------------------------------------------
view_metrics() {
    curl -fsS "$URL/metrics" | awk '/^aggregator_view_/ {sub(/^aggregator_view_/, ""); printf "%s=%s ", $1, $2}'
}
want='customers=3 hosts=21 hits_folded_total=74 memory_bytes=M region_names=3 region_names_refused_total=0 '
got() { view_metrics | sed -E 's/memory_bytes=[1-9][0-9]{4,}/memory_bytes=M/'; }
for _ in 1 2 3 4 5 6 7 8 9 10; do [[ "$(got)" == "$want" ]] && break; sleep 0.5; done
assert_eq "$(got)" "$want" "the view's gauges: 3 customers, 4 + 1 + 16 hosts, umbrella's h17-h20 folded, 3 region names"

# ---- GET /v1/customers ------------------------------------------------------------------------
assert_eq "$(curl -fsS -H "Authorization: Bearer $TOKEN" "$URL/v1/customers" | jq -c .)" \
    '{"operator":true,"customers":[{"customer":"acme","active":true},{"customer":"globex","active":true},{"customer":"hooli","active":false},{"customer":"initech","active":false},{"customer":"umbrella","active":true}],"truncated":false}' \
    "the operator's list: the tokens file's customers and the active ones"
assert_eq "$(curl -fsS -H "Authorization: Bearer demo-globex-token" "$URL/v1/customers" | jq -c .)" \
    '{"operator":false,"customers":[{"customer":"globex","active":true}],"truncated":false}' "a customer token's list"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/customers")" 401 "no token: 401"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$URL/v1/customers")" 401 "unknown token: 401"
echo "ok: /v1/customers"
