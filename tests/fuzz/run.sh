#!/usr/bin/env bash
# run.sh: a short libFuzzer run of each target, JOBS at a time (default 2: one per core).
#
#   bash tests/fuzz/run.sh SECONDS WORKDIR build/fuzz/fuzz/fuzz_NAME ...
#
# Each target runs SECONDS from its corpus (tests/fuzz/corpus/NAME, if any) plus what it found
# before in WORKDIR/work-NAME; its output goes to WORKDIR/NAME.log and a crash to
# WORKDIR/NAME-crash-*. Prints `fuzz NAME: ok` or `fuzz NAME: FAILED` and the log's end per
# target; exits 1 if any failed.
set -uo pipefail
seconds=$1 workdir=$2
shift 2
JOBS=${JOBS:-2}

one() {
    local f=$1 n corpus
    n=$(basename "$f")
    corpus=tests/fuzz/corpus/$n
    mkdir -p "$workdir/work-$n"
    if "$f" -max_total_time="$seconds" -max_len=8192 -print_final_stats=0 \
        -artifact_prefix="$workdir/$n-" "$workdir/work-$n" $([ -d "$corpus" ] && echo "$corpus") \
        > "$workdir/$n.log" 2>&1; then
        echo "fuzz $n: ok ($(grep -c . "$workdir/$n.log") log lines)"
    else
        echo "fuzz $n: FAILED"
        tail -40 "$workdir/$n.log"
        return 1
    fi
}

fail=0
running=0
for f in "$@"; do
    if ((running >= JOBS)); then
        wait -n || fail=1
        running=$((running - 1))
    fi
    one "$f" &
    running=$((running + 1))
done
while ((running > 0)); do
    wait -n || fail=1
    running=$((running - 1))
done
exit $fail
