#!/usr/bin/env bash
# No record is only counted: poison records produced with kcat into `hits` among valid ones each
# become exactly one billing_rejects row with the decoder's or hit_validate's reason, and the
# valid records around them are billed exactly. Watermark messages are neither hits nor rejects.
# A replay of the whole topic (stored offsets moved back) adds no reject and no usage twice.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null

gen_stream "$TMP/good.tsv" "$TMP/truth.json" --hits 3000 --seed 11 --replays 0 --bad 0

# The poison: "reason<TAB>key<TAB>value" lines, the value as bytes (a few are not UTF-8).
python3 - "$TMP/poison.tsv" << 'EOF2'
import json, sys, time
now = int(time.time() * 1000)
good = {"v": 1, "ts": now - 60000, "customer": "acme", "host": "cdn.acme.example", "bytes": 100,
        "status": 200, "country": "US", "region": "", "edge": "e-poison", "src": "poison-src", "off": 1}
def rec(**kw):
    return json.dumps(dict(good, **kw), separators=(",", ":")).encode()
rows = [
    ("version", b"acme", rec(v=2, off=2)),
    ("range", b"acme", rec(status=1000, off=3)),
    ("country", b"acme", rec(country="us", off=4)),
    ("range", b"acme", rec(host="h" * 1100 + ".example", off=5)),
    ("bytes", b"acme", rec(bytes=10**13 + 1, off=6)),
    ("timestamp", b"acme", rec(ts=32503680000000, off=7)),          # year 3000
    ("timestamp", b"acme", rec(ts=86400000, off=8)),                # 1970-01-02
    ("syntax", b"acme", b"this is not json"),
    ("syntax", b"acme", b'{"v":1,"host":"\xff\xfe bad utf-8"}'),
    ("customer", b"acme+eu", rec(customer="acme+eu", off=9)),
    ("range", b"acme", rec(host="x" * 5000, off=10)),             # longer than 4 KiB
    ("watermark", b"#wm", b'{"v":1,"kind":"watermark","edge":"e1","wm_ms":-5}'),
    ("watermark", b"#wm", b"garbage"),
]
with open(sys.argv[1], "wb") as f:
    for reason, key, value in rows:
        f.write(reason.encode() + b"\t" + key + b"\t" + value + b"\n")
EOF2
npoison=$(wc -l < "$TMP/poison.tsv")

# Valid watermarks of one edge, and the poison, spread through the good stream.
python3 - "$TMP/good.tsv" "$TMP/poison.tsv" "$TMP/all.tsv" << 'EOF2'
import json, random, sys, time
good = open(sys.argv[1], "rb").read().splitlines()
poison = [l.split(b"\t", 1)[1] for l in open(sys.argv[2], "rb").read().splitlines()]
now = int(time.time() * 1000)
wms = [b"#wm\t" + json.dumps({"v": 1, "kind": "watermark", "edge": "edge0", "wm_ms": now - 1000 * i}).encode()
       for i in range(20)]
rng = random.Random(5)
out = list(good)
for extra in poison + wms:
    out.insert(rng.randrange(len(out) + 1), extra)
open(sys.argv[3], "wb").write(b"\n".join(out) + b"\n")
EOF2
produce "$TMP/all.tsv"

run_once --metrics-interval 0
log=$TMP/once.log
assert_usage_equals "$TMP/truth.json"
assert_eq "$(pg_psql -c 'select count(*) from billing_rejects')" "$npoison" "billing_rejects rows"
for reason in $(cut -f1 "$TMP/poison.tsv" | sort -u); do
    want=$(cut -f1 "$TMP/poison.tsv" | grep -cx "$reason")
    assert_eq "$(pg_psql -c "select count(*) from billing_rejects where reason = '$reason'")" "$want" "rejects of reason $reason"
    assert_eq "$(metric "rejected_$reason" "$log")" "$want" "metric rejected_$reason"
    # every reason is logged (up to 10 lines a minute each), not only its first record
    assert_eq "$(grep 'record rejected' "$log" | grep -c "reason=$reason ")" "$want" "log lines of reason $reason"
done
# the record is kept: as it was, cut at 4 KiB on a character boundary, bad bytes replaced
assert_eq "$(pg_psql -c "select record from billing_rejects where record like 'this is not%'")" "this is not json" "record of a syntax reject"
assert_eq "$(pg_psql -c "select record_altered from billing_rejects where record like '%bad utf-8%'")" "t" "bad UTF-8 replaced, and said"
assert_eq "$(pg_psql -c "select position(E'\uFFFD' in record) > 0 from billing_rejects where record like '%bad utf-8%'")" "t" "U+FFFD in its place"
assert_eq "$(pg_psql -c "select octet_length(record) <= 4096 and record_bytes > 5000 from billing_rejects where record like '%xxxxxxxx%'")" "t" "a long record cut to 4 KiB"
assert_eq "$(pg_psql -c "select count(*) from billing_rejects where kafka_ts is null or kafka_offset < 0")" 0 "rejects with their Kafka position and time"
assert_eq "$(pg_psql -c "select count(*) from billing_rejects where reason = 'timestamp' and record like '%32503680000000%'")" 1 "the year-3000 record is a reject"
assert_eq "$(pg_psql -c "select count(*) from usage_hourly where hour < '2000-01-01' or hour > '2100-01-01'")" 0 "no usage in 1970 or 3000"
# the valid watermarks: neither hits nor rejects, kept per partition
assert_eq "$(metric watermarks "$log")" 20 "watermark messages consumed"
assert_eq "$(pg_psql -c "select count(*) from billing_rejects where record like '%edge0%'")" 0 "rejects among valid watermarks"
assert_ge "$(pg_psql -c "select count(*) from billing_edge_watermarks where edge = 'edge0'")" 1 "watermark rows of edge0"
assert_eq "$(metric consumed "$log")" $(($(jq .records "$TMP/truth.json") + npoison)) "records consumed (watermarks apart)"

# Every stored offset moved back to 0: the whole topic is read again. The replay marks drop the
# hits, the unique Kafka position the rejects: nothing is kept twice.
pg_psql -c "update billing_offsets set next_offset = 0" > /dev/null
: > "$log"
run_once --metrics-interval 0
assert_usage_equals "$TMP/truth.json"
assert_eq "$(pg_psql -c 'select count(*) from billing_rejects')" "$npoison" "billing_rejects rows after a replay"

# A flood of one reason: 10 lines a minute are logged, the rest counted in one line; all kept.
for i in $(seq 25); do printf 'acme\tflood %d\n' "$i"; done > "$TMP/flood.tsv"
produce "$TMP/flood.tsv"
: > "$log"
run_once --metrics-interval 0
assert_eq "$(grep 'record rejected' "$log" | grep -c 'reason=syntax ')" 10 "syntax rejects logged one by one"
grep -q 'records rejected and not logged in the last minute.*reason=syntax count=15' "$log" || fail "the other 15 are not counted in the log"
assert_eq "$(pg_psql -c "select count(*) from billing_rejects where record like 'flood %'")" 25 "flood rejects kept"
echo ok
