#!/usr/bin/env bash
# Completeness in billing, from watermarks produced with kcat into every partition of `hits`:
#   - `billing status` shows per edge the time up to which its hits are billed (the smallest
#     watermark over all partitions), how far behind, whether last month is complete for it;
#     an edge whose watermark is missing from some partition has no billed-to time;
#   - `billing invoice --finalize` of last month is refused (exit 1) naming the edges not billed
#     past the month's end plus the grace (1 h by default; --grace changes it), accepted once
#     they are billed past it or retired (`billing edges retire`); drafts print, marked;
#   - this month (not ended plus the grace) is never complete: --finalize refused, and since a
#     month that has not ended is never finalized, --force-incomplete --reason TEXT is refused
#     too (test_billing_invoice forces an ended, incomplete month).
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null

first_s=$(date -u -d "$(date -u +%Y-%m-01) 00:00:00Z" +%s)
now_s=$(date -u +%s)
if ((now_s - first_s < 3 * 3600)); then
    echo "skip: within 3 hours of the month's start, last month cannot be complete yet"
    exit 0
fi
last=$(date -u -d "@$((first_s - 86400))" +%Y-%m)
this=$(date -u +%Y-%m)
end_ms=$((first_s * 1000))
now_ms=$((now_s * 1000))
nparts=$(kcat -L -b "$KAFKA_BROKERS" -t hits -J | jq '.topics[] | select(.topic == "hits") | .partitions | length')
assert_eq "$nparts" 16 "partitions of hits"

# Hits of three edges in the last hours of last month (acme, so one partition holds them).
python3 - "$end_ms" > "$TMP/hits.tsv" << 'EOF2'
import json, sys
end = int(sys.argv[1])
for i in range(300):
    edge = "edge-%s" % "abc"[i % 3]
    print("acme\t" + json.dumps({"v": 1, "ts": end - 3 * 3600 * 1000 + i * 1000, "customer": "acme",
          "host": "cdn.acme.example", "bytes": 1000 + i, "status": 200, "country": "US",
          "region": "", "edge": edge, "src": edge + "/access.log", "off": i * 100}))
EOF2
produce "$TMP/hits.tsv"
# watermarks, after the hits: into partitions [from, to) of hits
watermark() { # EDGE WM_MS FROM TO
    local p
    for ((p = $3; p < $4; p++)); do
        printf '#wm\t{"v":1,"kind":"watermark","edge":"%s","wm_ms":%s}\n' "$1" "$2" |
            kcat -P -b "$KAFKA_BROKERS" -t hits -p "$p" -K $'\t' || fail "kcat watermark"
    done
}
watermark edge-a "$now_ms" 0 16                  # billed up to now
watermark edge-b $((end_ms + 30 * 60 * 1000)) 0 16 # 30 min past the month's end: within the grace
watermark edge-c "$now_ms" 0 8                     # half the partitions never carried it
run_once

status() { "$BIN/billing" status "$@" > "$TMP/status.out" 2> "$TMP/status.err" || { cat "$TMP/status.err"; fail "billing status $*"; }; }
edge_line() { grep "^$1 " "$TMP/status.out"; }
status --month "$last"
cat "$TMP/status.out"
edge_line edge-a | grep -q "$(date -u -d "@$now_s" +%Y-%m-%dT%H:%M:%S).000Z .* complete" || fail "edge-a: billed to now, complete"
edge_line edge-a | grep -q ' 100 ' || fail "edge-a: 100 hits in the month"
edge_line edge-b | grep -q "$(date -u -d "@$((first_s + 1800))" +%Y-%m-%dT%H:%M:%S).000Z .* incomplete" || fail "edge-b: billed to end + 30 min, incomplete"
edge_line edge-c | grep -q '^edge-c  *-  .* incomplete (no watermark yet in 8 of 16 partitions)' || fail "edge-c: no billed-to time"
grep -q "^month $last: incomplete: edge-b billed to .*, edge-c without a watermark in 8 of 16 partitions" "$TMP/status.out" || fail "the month's verdict names edge-b and edge-c"
grep -q '^rejects in' "$TMP/status.out" || fail "status shows the rejects"
"$BIN/billing" status --month "$last" --format json > "$TMP/status.json" || fail "status --format json"
assert_eq "$(jq -r '[.complete, .partitions, (.edges | map(.edge + ":" + .state) | join(","))] | join(" ")' "$TMP/status.json")" \
    "false 16 edge-a:complete,edge-b:incomplete,edge-c:incomplete" "status as JSON"
assert_eq "$(jq '.edges[0].billed_to_ms' "$TMP/status.json")" "$now_ms" "edge-a's billed_to_ms"
# the grace decides for edge-b
status --month "$last" --grace 20m
edge_line edge-b | grep -q ' complete$' || fail "edge-b complete with a 20 min grace"

# ---- finalize: refused, naming the edges ---------------------------------------------------
rc=0
"$BIN/billing" invoice --month "$last" --finalize > "$TMP/fin.out" 2> "$TMP/fin.err" || rc=$?
assert_eq "$rc" 1 "exit status of --finalize of an incomplete month"
grep -q 'edge-b' "$TMP/fin.err" && grep -q 'edge-c' "$TMP/fin.err" || { cat "$TMP/fin.err"; fail "the refusal names edge-b and edge-c"; }
grep -q 'edge-a' "$TMP/fin.err" && fail "the refusal names edge-a, which is complete"
assert_eq "$(pg_psql -c "select count(*) from invoices")" 0 "invoices written by a refused --finalize"
# a draft prints, marked
"$BIN/billing" invoice --month "$last" > "$TMP/draft.out" 2> "$TMP/draft.err" || { cat "$TMP/draft.err"; fail "draft"; }
grep -q '^Status    draft, month not complete yet: edge-b' "$TMP/draft.out" || { head -5 "$TMP/draft.out"; fail "the draft is marked incomplete"; }
"$BIN/billing" invoice --month "$last" --format json | jq -e '.invoices[0].incomplete | test("edge-c")' > /dev/null || fail "json: incomplete"

# edge-c's other partitions, edge-b retired: complete
watermark edge-c "$now_ms" 8 16
run_once
rc=0
"$BIN/billing" edges retire edge-nosuch > /dev/null 2> "$TMP/retire.err" || rc=$?
assert_eq "$rc" 1 "retiring an edge never seen"
"$BIN/billing" edges retire edge-b --reason "decommissioned in test" > "$TMP/retire.out" || fail "billing edges retire"
grep -q '^retired edge-b at ' "$TMP/retire.out" || fail "retire says so"
"$BIN/billing" edges | grep -q '^edge-b .*decommissioned in test' || fail "billing edges lists edge-b"
status --month "$last"
edge_line edge-b | grep -q ' retired since .*: decommissioned in test' || fail "edge-b shown retired"
edge_line edge-c | grep -q ' complete$' || fail "edge-c complete"
grep -q "^month $last: complete" "$TMP/status.out" || fail "last month complete"
"$BIN/billing" invoice --month "$last" --finalize > "$TMP/fin.out" 2> "$TMP/fin.err" || { cat "$TMP/fin.err"; fail "--finalize of a complete month"; }
grep -q '^Status    final since' "$TMP/fin.out" || fail "final"
assert_eq "$(pg_psql -c "select count(*) from invoices where status = 'final' and incomplete_reason is null")" \
    "$(pg_psql -c "select count(*) from invoices")" "final invoices, none marked incomplete"

# ---- this month: never complete before its end plus the grace ------------------------------
rc=0
"$BIN/billing" invoice --month "$this" --finalize > /dev/null 2> "$TMP/fin2.err" || rc=$?
assert_eq "$rc" 1 "exit status of --finalize of this month"
grep -q 'has not ended plus the grace' "$TMP/fin2.err" || { cat "$TMP/fin2.err"; fail "the refusal says why"; }
rc=0
"$BIN/billing" invoice --month "$this" --finalize --force-incomplete > /dev/null 2> "$TMP/bad.err" || rc=$?
assert_eq "$rc" 2 "--force-incomplete without --reason"
rc=0
"$BIN/billing" invoice --month "$this" --finalize --force-incomplete --reason "customer leaves mid-month" \
    > /dev/null 2> "$TMP/forced.err" || rc=$?
assert_eq "$rc" 1 "exit status of --finalize --force-incomplete of this month"
grep -q "month $this has not ended" "$TMP/forced.err" || { cat "$TMP/forced.err"; fail "the refusal says the month has not ended"; }
assert_eq "$(pg_psql -c "select count(*) from invoices where month = '$this-01' and status = 'final'")" 0 \
    "final invoices of this month"
echo ok
