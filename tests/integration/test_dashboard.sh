#!/usr/bin/env bash
# The aggregator's HTTP side for real: hits with known totals go through kafka-mock into a running
# aggregator; the window API answers 200 with exactly those numbers and the contract's shape,
# with the extras (status classes, cache hit ratio, top hosts, the hour by minute, region names),
# and 401 / 403 / 400 / 404 / 405 with JSON errors; tokens are re-read on SIGHUP (a bad file keeps
# the old ones; at start it is exit 2 naming FILE:LINE); and the dashboard page, loaded in headless
# Chromium with the token in the URL fragment, shows those numbers, with times labelled with
# their zone (Chromium runs with TZ=Europe/Berlin: CET), and an operator gets the list of
# customers to pick from. Screenshots (desktop and
# phone width) and the rendered DOM go to build/test-output/dashboard/ ($TEST_OUTPUT to change).
source "$(dirname "$0")/lib/lib.sh"
command -v chromium > /dev/null || fail "no chromium: apt-get install chromium (Debian package)"
OUT=${TEST_OUTPUT:-$ROOT/build/test-output}/dashboard
mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT"/*.html

start_kafka_mock

# Tokens: random ones, so that nothing here works by accident with the demo's.
tok() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
T_ACME=$(tok) T_GLOBEX=$(tok) T_OP=$(tok) T_ACME2=$(tok)
cat > "$TMP/tokens" << EOF
# dashboard test tokens
acme $(sha "$T_ACME")
globex $(sha "$T_GLOBEX")
* $(sha "$T_OP")
EOF

# A bad tokens file stops the start: exit 2, one line naming FILE:LINE.
printf 'acme %s\nglobex not-a-hash\n' "$(sha x)" > "$TMP/bad-tokens"
set +e
"$BIN/aggregator" --listen 127.0.0.1:0 --tokens "$TMP/bad-tokens" \
    > /dev/null 2> "$TMP/bad-start.err"
rc=$?
set -e
assert_eq "$rc" 2 "exit status with a bad tokens file"
grep -q "$TMP/bad-tokens:2: " "$TMP/bad-start.err" || { cat "$TMP/bad-start.err"; fail "no FILE:LINE"; }

"$BIN/aggregator" --listen 127.0.0.1:0 --tokens "$TMP/tokens" 2> "$TMP/aggregator.log" &
AGG=$!
track_pid "$AGG"
wait_for 15 grep -q 'msg="aggregator started"' "$TMP/aggregator.log" ||
    { cat "$TMP/aggregator.log"; fail "aggregator did not start"; }
port=$(grep -o 'msg="aggregator started".* port=[0-9]*' "$TMP/aggregator.log" | grep -o '[0-9]*$')
URL=http://127.0.0.1:$port
wait_for 30 curl -fs -o /dev/null "$URL/readyz" || fail "/readyz never became 200"
echo "ok: aggregator ready on $URL"

# HTTP status of GET PATH [TOKEN] [curl args...]; the body is left in $TMP/body.
get() {
    local path=$1 token=${2:-}
    shift 2 || shift $#
    local args=(-s -o "$TMP/body" -w '%{http_code}' "$@")
    [[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
    curl "${args[@]}" "$URL$path"
}

# ---- hits with known totals, stamped now --------------------------------------------------------
now=$(date +%s%3N)
off=0
emit() { # CUSTOMER COUNTRY REGION_JSON BYTES COUNT [STATUS HOST EXTRA_KEYS]
    local i
    for ((i = 0; i < $5; i++)); do
        off=$((off + 1))
        printf '%s\t{"v":1,"ts":%d,"customer":"%s","host":"%s","bytes":%d,"status":%d,"country":"%s","region":%s,"edge":"e1","src":"test-dashboard","off":%d%s}\n' \
            "$1" $((now - (i % 3) * 1000)) "$1" "${7:-www.$1.example}" "$4" "${6:-200}" "$2" "$3" "$off" "${8:-}"
    done
}
{
    emit acme US '"CA"' 1000 12 200 www.acme.example ',"cache":"HIT","region_name":"California"'
    emit acme US '"NY"' 500 8 304 img.acme.example ',"cache":"MISS","region_name":"New York"'
    emit acme DE '"BE"' 200 6 404 www.acme.example ',"cache":"EXPIRED"'
    emit acme ZZ '""' 100 4 503 api.acme.example
    emit acme CA '"Qu\u00e9bec \"x\""' 50 2 200 www.acme.example ',"cache":"STALE"'
    emit globex FR '"IDF"' 300 5
    # initech: 1,005 regions of the US, one hit each: past the key cap (1,000 by default), the
    # last 5 are summed into the US (other) row
    for ((r = 1; r <= 1005; r++)); do emit initech US "\"R$r\"" 100 1; done
} > "$TMP/hits.tsv"
kcat_produce hits < "$TMP/hits.tsv"
wait_for 20 bash -c "[ \"\$(curl -s -H 'Authorization: Bearer $T_ACME' '$URL/v1/customers/acme/window' | jq -c '[.hits, .bytes]')\" = '[32,17700]' ]" ||
    fail "window of acme: $(get /v1/customers/acme/window "$T_ACME"; cat "$TMP/body")"
echo "ok: the window holds the 32 hits of acme"

# ---- 200: exactly the contract's shape and numbers ----------------------------------------------
assert_eq "$(get '/v1/customers/acme/window?seconds=60' "$T_ACME")" 200 "acme reads acme"
assert_eq "$(jq -c 'keys' "$TMP/body")" '["bytes","cache","catching_up","complete_to_ms","countries","customer","edges_behind","end_ms","hits","hosts","hosts_other","minutes","minutes_from_ms","regions","seconds","series","status"]' "window keys: the contract's and custview's"
# No edge has sent a watermark yet and everything is read: complete up to the current second.
assert_eq "$(jq -c '[.complete_to_ms == .end_ms, .edges_behind, .catching_up]' "$TMP/body")" '[true,[],false]' "completeness without watermarks"
assert_eq "$(jq -c '[.customer, .seconds, .hits, .bytes]' "$TMP/body")" '["acme",60,32,17700]' "window totals"
assert_eq "$(jq -c '.countries' "$TMP/body")" \
    '[{"country":"US","hits":20,"bytes":16000},{"country":"DE","hits":6,"bytes":1200},{"country":"ZZ","hits":4,"bytes":400},{"country":"CA","hits":2,"bytes":100}]' \
    "countries, most hits first"
assert_eq "$(jq -c '.regions' "$TMP/body")" \
    '[{"country":"US","region":"CA","name":"California","hits":12,"bytes":12000},{"country":"US","region":"NY","name":"New York","hits":8,"bytes":4000},{"country":"DE","region":"BE","hits":6,"bytes":1200},{"country":"ZZ","region":"","hits":4,"bytes":400},{"country":"CA","region":"Québec \"x\"","hits":2,"bytes":100}]' \
    "regions, most hits first, strings escaped, names where the records had them"
assert_eq "$(jq -c '[.status, .cache]' "$TMP/body")" \
    '[{"2xx":14,"3xx":8,"4xx":6,"5xx":4,"other":0},{"hit":14,"miss":14,"unknown":4,"hit_ratio":0.5}]' "status and cache classes"
assert_eq "$(jq -c '[.hosts, .hosts_other]' "$TMP/body")" \
    '[[{"host":"www.acme.example","hits":20,"bytes":13300},{"host":"img.acme.example","hits":8,"bytes":4000},{"host":"api.acme.example","hits":4,"bytes":400}],{"hits":0,"bytes":0}]' "top hosts"
assert_eq "$(jq -c '[(.minutes | length), ([.minutes[].hits] | add)]' "$TMP/body")" '[60,32]' "the hour by minute"
assert_eq "$(jq -c '[(.series | length), ([.series[].hits] | add), ([.series[].bytes] | add)]' "$TMP/body")" \
    '[60,32,17700]' "series: 60 seconds summing to the totals"
assert_eq "$(jq '[.series[1:][].t_ms] == [.series[:-1][].t_ms + 1000] and .series[-1].t_ms == .end_ms and .end_ms % 1000 == 0' "$TMP/body")" \
    true "series: one entry per second, oldest first, ending at end_ms"
assert_eq "$(jq '.end_ms - now * 1000 | fabs < 3000' "$TMP/body")" true "end_ms is the current second"
cache=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $T_ACME" "$URL/v1/customers/acme/window" | tr -d '\r' | grep -i '^cache-control:')
assert_eq "$cache" "Cache-Control: no-store" "API answers are not cached"
assert_eq "$(get '/v1/customers/globex/window' "$T_OP")" 200 "the operator reads globex"
assert_eq "$(jq -c '[.customer, .hits, .bytes, .regions[0].region]' "$TMP/body")" '["globex",5,1500,"IDF"]' "globex's window"
assert_eq "$(get '/v1/customers/hooli/window?seconds=5' "$T_OP")" 200 "a customer without traffic"
assert_eq "$(jq -c '[.hits, .bytes, .countries, (.series | length)]' "$TMP/body")" '[0,0,[],5]' "an empty window"

# ---- errors: status and a JSON {"error": "..."} body --------------------------------------------
error_is() { # CODE NEEDLE WHAT (after get)
    assert_eq "$code" "$1" "$3"
    jq -e --arg n "$2" 'keys == ["error"] and (.error | type == "string" and contains($n))' "$TMP/body" > /dev/null ||
        fail "$3: body $(cat "$TMP/body") lacks \"$2\""
}
code=$(get /v1/customers/acme/window) && error_is 401 "no bearer token" "no token: 401"
code=$(get /v1/customers/acme/window "$(tok)") && error_is 401 "not valid" "unknown token: 401"
code=$(get /v1/customers/acme/window "$T_GLOBEX") && error_is 403 "may not read customer acme" "another customer's token: 403"
for n in 0 61 -1 1e1 abc '' 99999999999999999999 '5&seconds=5'; do
    code=$(get "/v1/customers/acme/window?seconds=$n" "$T_ACME")
    error_is 400 seconds "seconds=$n: 400"
done
code=$(get /v1/customers/acme/windows "$T_ACME") && error_is 404 "not found" "unknown path: 404"
code=$(get /v1/customers/acme/window "$T_ACME" -X POST -d x) && error_is 405 "only GET" "POST: 405"
assert_eq "$(get /healthz)" 200 "/healthz"
assert_eq "$(get /metrics)" 200 "/metrics"
grep -q '^aggregator_window_queries_total [1-9]' "$TMP/body" || fail "no window queries counted"
grep -q '^aggregator_http_requests_total{code="403"} 1$' "$TMP/body" || fail "403 not counted"
grep -q '^# TYPE aggregator_http_requests_total counter$' "$TMP/body" || fail "no TYPE line"

# ---- the dashboard in headless Chromium ---------------------------------------------------------
chrome() { # OUTPUT_FILE URL [chromium args]: --dump-dom when OUTPUT_FILE ends in .html
    local TZ=Europe/Berlin # times on the page carry their zone: CET in December, CEST in summer
    export TZ
    local out=$1 url=$2 profile
    shift 2
    profile=$(mktemp -d "$TMP/chromium.XXXXXX")
    local args=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile"
        --virtual-time-budget=6000 "$@")
    if [[ "$out" == *.html ]]; then
        timeout 90 chromium "${args[@]}" --dump-dom "$url" > "$out" 2>> "$TMP/chromium.log"
    else
        timeout 90 chromium "${args[@]}" --screenshot="$out" "$url" > /dev/null 2>> "$TMP/chromium.log"
    fi || { tail -20 "$TMP/chromium.log"; fail "chromium failed on $url"; }
}
page="$URL/#customer=acme&token=$T_ACME"
chrome "$OUT/dashboard.html" "$page" --window-size=1280,1000
dom=$OUT/dashboard.html
grep -q 'id="total-hits" data-value="32">32<' "$dom" || fail "the page does not show 32 hits (see $dom)"
grep -q 'id="total-bytes" data-value="17700">17.7 kB<' "$dom" || fail "the page does not show 17.7 kB (see $dom)"
grep -q 'id="status" class="status" data-state="live">live<' "$dom" || fail "the page is not live (see $dom)"
grep -q '<td>US United States</td><td class="num">20</td><td class="num">62.5 %</td>' "$dom" ||
    fail "no US row in the countries table (see $dom)"
grep -q '<td>CA-Québec "x"</td><td class="num">2</td>' "$dom" || fail "no Québec row in the regions table (see $dom)"
grep -q 'id="signin" class="panel signin" aria-labelledby="signin-title" hidden' "$dom" ||
    fail "the sign-in form is still shown (see $dom)"
echo "ok: the dashboard shows acme's 32 hits, 17.7 kB, the countries and the regions"
grep -q '<td>US-CA California</td><td class="num">12</td>' "$dom" || fail "no region name on the page (see $dom)"
grep -q 'id="cache-ratio" data-value="0.5">50.0 %<' "$dom" || fail "no cache hit ratio of 50.0 % (see $dom)"
grep -q '<li data-class="4xx" data-value="6">' "$dom" || fail "no 4xx class of 6 hits (see $dom)"
grep -q '<td>www.acme.example</td><td class="num">20</td><td class="num">62.5 %</td>' "$dom" || fail "no top host row (see $dom)"
grep -q 'id="chart-minutes"[^>]*data-total="32"' "$dom" || fail "the minutes chart does not hold the 32 hits (see $dom)"
grep -E -q 'id="end-time">[0-9]{2}:[0-9]{2}:[0-9]{2} (CET|CEST)<' "$dom" || fail "the window's end time has no zone (see $dom)"
grep -E -q '<option value="local">local \((CET|CEST)\)</option>' "$dom" || fail "the zone picker does not name the local zone (see $dom)"
echo "ok: status classes, cache 50.0 %, top hosts, the hour by minute, region names, times in CET"

# The key cap's (other) row: named for what it is, muted.
wait_for 20 bash -c "[ \"\$(curl -s -H 'Authorization: Bearer $T_OP' '$URL/v1/customers/initech/window' | jq -c '.regions[0]')\" = '{\"country\":\"US\",\"region\":\"(other)\",\"other\":true,\"hits\":5,\"bytes\":500}' ]" ||
    fail "initech's (other) row: $(get /v1/customers/initech/window "$T_OP"; jq -c '.regions[0]' "$TMP/body")"
chrome "$OUT/dashboard-other.html" "$URL/#customer=initech&token=$T_OP" --window-size=1280,1000
grep -q '<tr class="muted"><td>Other regions of United States</td><td class="num">5</td>' "$OUT/dashboard-other.html" ||
    fail "no muted 'Other regions of United States' row (see $OUT/dashboard-other.html)"
echo "ok: the (other) row of the key cap shows as 'Other regions of United States', muted"

# An operator signs in without a customer: the page lists the customers to pick from.
chrome "$OUT/dashboard-operator.html" "$URL/#token=$T_OP" --window-size=1280,1000
grep -q '<option value="acme">acme ●</option><option value="globex">globex ●</option>' "$OUT/dashboard-operator.html" ||
    fail "no customer list for the operator (see $OUT/dashboard-operator.html)"
chrome "$OUT/dashboard-operator-phone.png" "$URL/#token=$T_OP" --window-size=390,900
echo "ok: the operator picks from acme and globex"

chrome "$OUT/dashboard-desktop.png" "$page" --window-size=1280,1700
chrome "$OUT/dashboard-phone.png" "$page" --window-size=390,2300
for f in dashboard-desktop dashboard-phone; do
    [[ "$(head -c 4 "$OUT/$f.png" | tail -c 3)" == PNG ]] || fail "$f.png is not a PNG"
    assert_ge "$(stat -c %s "$OUT/$f.png")" 20000 "$f.png bytes"
done

# Error states: another customer's token, and a token that is not valid.
chrome "$OUT/dashboard-403.html" "$URL/#customer=acme&token=$T_GLOBEX" --window-size=1280,1000
grep -q 'may not read customer "acme"' "$OUT/dashboard-403.html" || fail "no 403 message on the page"
chrome "$OUT/dashboard-401.html" "$URL/#customer=acme&token=nope" --window-size=1280,1000
grep -q 'role="alert"[^>]*>This token is not accepted' "$OUT/dashboard-401.html" ||
    fail "no 401 message on the page"
echo "ok: the page explains 403 and 401"

# ---- provisional seconds and late edges ----------------------------------------------------------
# Edge e1 (the edge of every hit above) says it has delivered up to 1.5 s before the hits' "now":
# the seconds from then on are provisional (the hits of now and now - 1 s are drawn as hatched
# bars, never as a dip), and e1, by now more than 5 s behind the clock, is named on the page.
WM=$((now - 1500))
for ((p = 0; p < 16; p++)); do
    printf '#wm\t{"v":1,"kind":"watermark","edge":"e1","wm_ms":%d}\n' "$WM" |
        kcat -P -b "$KAFKA_BROKERS" -t hits -p "$p" -K $'\t' || fail "kcat watermark"
done
behind() { [[ "$(get /v1/customers/acme/window "$T_ACME")" == 200 ]] && jq -e --argjson wm "$WM" '.edges_behind == [{"edge":"e1","watermark_ms":$wm}] and .complete_to_ms == $wm' "$TMP/body" > /dev/null; }
wait_for 10 behind || fail "e1 not behind: $(cat "$TMP/body" | jq -c '{complete_to_ms, edges_behind}')"
echo "ok: e1 behind, acme complete to its watermark"
chrome "$OUT/dashboard-provisional.html" "$page" --window-size=1280,1000
dom=$OUT/dashboard-provisional.html
grep -q 'id="completeness" class="notice banner" role="status" data-state="behind">Late data from 1 edge: e1 (delivered up to ' "$dom" ||
    fail "no banner naming e1 (see $dom)"
grep -E -q 'Seconds after [0-9:]+ (CET|CEST) are provisional.</p>' "$dom" || fail "the banner does not say which seconds are provisional (see $dom)"
prov=$(grep -o 'id="chart-hits"[^>]*data-provisional="[0-9]*"' "$dom" | grep -o '[0-9]*"$' | tr -d '"')
assert_ge "${prov:-0}" 2 "provisional seconds drawn in the hits chart"
grep -q 'id="total-hits" data-value="32">32<' "$dom" || fail "the totals changed (see $dom)"
chrome "$OUT/dashboard-provisional-desktop.png" "$page" --window-size=1280,1000
chrome "$OUT/dashboard-provisional-phone.png" "$page" --window-size=390,1700
echo "ok: the page names the late edge and draws $prov provisional seconds (screenshots dashboard-provisional-*.png)"

# ---- catching up ----------------------------------------------------------------------------------
# A second aggregator started while Kafka refuses connections cannot read anything: it answers,
# but every window says catching_up (and /readyz 503), and the page says so instead of showing
# an empty minute as if there were no traffic.
kafka_down
"$BIN/aggregator" --listen 127.0.0.1:0 --tokens "$TMP/tokens" 2> "$TMP/aggregator2.log" &
track_pid $!
wait_for 15 grep -q 'msg="aggregator started"' "$TMP/aggregator2.log" || fail "second aggregator did not start"
port2=$(grep -o 'msg="aggregator started".* port=[0-9]*' "$TMP/aggregator2.log" | grep -o '[0-9]*$')
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port2/readyz")" 503 "/readyz while nothing is read"
assert_eq "$(curl -s -H "Authorization: Bearer $T_ACME" "http://127.0.0.1:$port2/v1/customers/acme/window" | jq -c '[.catching_up, .hits]')" \
    '[true,0]' "a window while nothing is read says catching_up"
chrome "$OUT/dashboard-catching-up.html" "http://127.0.0.1:$port2/#customer=acme&token=$T_ACME" --window-size=1280,1000
grep -q 'id="completeness" class="notice banner" role="status" data-state="catching-up">Catching up: ' "$OUT/dashboard-catching-up.html" ||
    fail "no catching-up banner (see $OUT/dashboard-catching-up.html)"
grep -q 'id="status" class="status" data-state="wait">catching up<' "$OUT/dashboard-catching-up.html" ||
    fail "the status pill does not say catching up (see $OUT/dashboard-catching-up.html)"
chrome "$OUT/dashboard-catching-up-desktop.png" "http://127.0.0.1:$port2/#customer=acme&token=$T_ACME" --window-size=1280,1000
kafka_up
echo "ok: the page says the instance is catching up (dashboard-catching-up-desktop.png)"

# ---- SIGHUP: new tokens take over; a bad file keeps the old ones ---------------------------------
printf 'acme %s\n' "$(sha "$T_ACME2")" > "$TMP/tokens"
kill -HUP "$AGG"
wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $T_ACME2' '$URL/v1/customers/acme/window')\" = 200 ]" ||
    fail "the new token does not work after SIGHUP"
assert_eq "$(get /v1/customers/acme/window "$T_ACME")" 401 "the old token after SIGHUP"
printf 'acme %s\n# then\nacme nothex\n' "$(sha "$T_ACME")" > "$TMP/tokens"
kill -HUP "$AGG"
wait_for 10 grep -q "$TMP/tokens:3: " "$TMP/aggregator.log" || fail "no FILE:LINE logged for a bad reload"
assert_eq "$(get /v1/customers/acme/window "$T_ACME2")" 200 "the previous tokens stay after a bad reload"
assert_eq "$(get /v1/customers/acme/window "$T_ACME")" 401 "nothing of the bad file is used"
echo "ok: screenshots and DOM in $OUT"
