# billing_lib.sh: what the billing integration tests share; sourced after lib.sh.
#
#   billing_setup                    kafka-mock + PostgreSQL + `billing migrate`
#   gen_stream OUT TRUTH ARGS...     tests/integration/lib/billing_hits.py ARGS > OUT, truth to TRUTH
#   produce FILE                     FILE's `KEY<TAB>VALUE` lines to topic hits (lz4, as the
#                                    collector sends them)
#   flood FILE PARTITION             FILE's lines to one partition, uncompressed: past ~5 MB the
#                                    mock drops the oldest batches (a small retention)
#   kafka_range PARTITION            "LOW HIGH" of a partition of hits (from billing offsets)
#   usage_now                        usage_hourly as "customer|hour|country|hits|bytes" lines
#   assert_usage_equals TRUTH...     usage_hourly = the sum of the truths' usage, row by row
#   usage_hits                       sum(hits) of usage_hourly
#   metric NAME LOG                  the last value of NAME in LOG's metrics lines
#   run_once [ARGS]                  billing run --once (default options); its log
#                                    is appended to $TMP/once.log

billing_setup() {
    start_kafka_mock
    start_pg
    "$BIN/billing" migrate > "$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log"; fail "billing migrate"; }
}

gen_stream() {
    local out=$1 truth=$2
    shift 2
    python3 "$ROOT/tests/integration/lib/billing_hits.py" --truth "$truth" "$@" > "$out" ||
        fail "billing_hits.py $*"
}

produce() {
    kcat -P -b "$KAFKA_BROKERS" -t hits -K $'\t' -X compression.codec=lz4 -X linger.ms=20 < "$1" ||
        fail "kcat produce $1"
}

flood() {
    kcat -P -b "$KAFKA_BROKERS" -t hits -p "$2" -K $'\t' -X compression.codec=none < "$1" ||
        fail "kcat flood $1"
}

kafka_range() {
    "$BIN/billing" offsets | awk -v p="$1" '$1 == p {print $3, $4}'
}

usage_now() {
    pg_psql -c "select customer_id, to_char(hour at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"'),
                       country, hits, bytes
                from usage_hourly order by customer_id collate \"C\", hour, country"
}

# The truths' usage rows summed per key, sorted as usage_now sorts them.
_truth_usage() {
    python3 - "$@" << 'EOF'
import json, sys
acc = {}
for f in sys.argv[1:]:
    for row in json.load(open(f))["usage"]:
        c, h, co, hits, b = row.rsplit("|", 4)
        k = (c, h, co)
        x = acc.get(k, (0, 0))
        acc[k] = (x[0] + int(hits), x[1] + int(b))
for k in sorted(acc, key=lambda k: (k[0].encode(), k[1], k[2])):
    print("%s|%s|%s|%d|%d" % (k[0], k[1], k[2], acc[k][0], acc[k][1]))
EOF
}

assert_usage_equals() {
    _truth_usage "$@" > "$TMP/usage.want"
    usage_now > "$TMP/usage.got"
    if ! diff "$TMP/usage.want" "$TMP/usage.got" > "$TMP/usage.diff"; then
        head -20 "$TMP/usage.diff"
        echo "want: $(awk -F'|' '{h += $4; b += $5} END {print h " hits, " b " bytes"}' "$TMP/usage.want")"
        echo "got:  $(awk -F'|' '{h += $4; b += $5} END {print h " hits, " b " bytes"}' "$TMP/usage.got")"
        fail "usage_hourly differs from the truth"
    fi
    echo "ok: usage_hourly equals the truth ($(wc -l < "$TMP/usage.got") rows," \
        "$(awk -F'|' '{h += $4} END {print h}' "$TMP/usage.got") hits)"
}

usage_hits() {
    pg_psql -c "select coalesce(sum(hits), 0) from usage_hourly"
}

metric() {
    grep -o "[ ]$1=[0-9-]*" "$2" | tail -n 1 | cut -d= -f2
}

run_once() {
    "$BIN/billing" run --once "$@" 2>> "$TMP/once.log" ||
        { tail -20 "$TMP/once.log"; fail "billing run --once $*"; }
}
