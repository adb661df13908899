#!/usr/bin/env bash
# Retention passed a stored offset (the mock keeps ~5 MB per partition and drops the oldest
# batches): `billing run --once` exits 1 with one line naming the partition, its stored offset
# and Kafka's range, and writes nothing. After `billing offsets reset --partition P --to
# earliest --reason ...`, every hit still in Kafka is billed exactly once.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/a.tsv" "$TMP/a.json" --hits 4000 --seed 71 --src-tag a
produce "$TMP/a.tsv"
run_once
assert_usage_equals "$TMP/a.json"
stored0=$(pg_psql -c "select next_offset from billing_offsets where partition = 0")
assert_ge "$stored0" 1 "stored offset of partition 0"

# ~14 MB of new valid hits, uncompressed, into partition 0: the mock drops its oldest batches.
gen_stream "$TMP/big.tsv" "$TMP/big.json" --hits 60000 --seed 72 --src-tag big --replays 0 --bad 0
flood "$TMP/big.tsv" 0
read -r lo hi < <(kafka_range 0)
echo "partition 0: stored $stored0, kafka holds $lo..$hi"
assert_ge "$lo" $((stored0 + 1)) "kafka's first offset of partition 0 (retention passed the stored offset)"

set +e
"$BIN/billing" run --once 2> "$TMP/gap.log"
rc=$?
set -e
assert_eq "$rc" 1 "billing run --once exit status after retention passed a stored offset"
grep 'offset gap' "$TMP/gap.log"
grep -q "offset gap.* partition=0 stored=$stored0 kafka_range=$lo\\.\\.$hi" "$TMP/gap.log" ||
    fail "the gap line does not name partition 0, stored=$stored0 and $lo..$hi"
assert_usage_equals "$TMP/a.json" # nothing written

"$BIN/billing" offsets reset --partition 0 --to earliest --reason "retention passed it: hits lost" ||
    fail "billing offsets reset"
assert_eq "$(pg_psql -c "select old_offset || '->' || new_offset from billing_offset_resets")" \
    "$stored0->$lo" "the audit row"
run_once
# What is billed: the first stream, and the big stream's hits still in Kafka (offsets lo..hi-1
# of partition 0, all valid and distinct).
want=$(($(jq .hits "$TMP/a.json") + hi - lo))
assert_eq "$(usage_hits)" "$want" "hits billed (first stream + what Kafka still holds)"
run_once
assert_eq "$(usage_hits)" "$want" "hits billed after one more run"
echo ok
