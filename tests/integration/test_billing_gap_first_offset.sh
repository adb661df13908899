#!/usr/bin/env bash
# A first start (no stored offsets) on a topic whose first offset is above 0 (retention already
# removed hits nobody billed): `billing run --once` exits 1 naming the partition, writes
# nothing; after `billing offsets reset --partition P --to earliest --reason ...` the hits
# still in Kafka are billed exactly once. Partitions that start at 0 need no reset.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

gen_stream "$TMP/big.tsv" "$TMP/big.json" --hits 60000 --seed 81 --src-tag big --replays 0 --bad 0
flood "$TMP/big.tsv" 3
read -r lo hi < <(kafka_range 3)
echo "partition 3: kafka holds $lo..$hi, nothing stored"
assert_ge "$lo" 1 "kafka's first offset of partition 3"

set +e
"$BIN/billing" run --once 2> "$TMP/gap.log"
rc=$?
set -e
assert_eq "$rc" 1 "billing run --once exit status on a first offset above 0"
grep 'offset gap' "$TMP/gap.log"
grep -q "offset gap.* partition=3 stored=none kafka_range=$lo\\.\\.$hi" "$TMP/gap.log" ||
    fail "the gap line does not name partition 3, stored=none and $lo..$hi"
assert_eq "$(usage_hits)" 0 "hits billed before the reset"

"$BIN/billing" offsets reset --partition 3 --to earliest --reason "first start: older hits gone" ||
    fail "billing offsets reset"
run_once
assert_eq "$(usage_hits)" "$((hi - lo))" "hits billed (what Kafka still holds)"
run_once
assert_eq "$(usage_hits)" "$((hi - lo))" "hits billed after one more run"
echo ok
