#!/usr/bin/env bash
# run.sh: runs Check unit test programs JOBS at a time (default 2: one per core), then prints each
# one's output whole, in the order given, so that the summary lines read as if run one by one.
#
#   bash tests/unit/run.sh PROGRAM...        exit 1 if any failed
#
# A suite's tests fork (Check's fork mode) and most of them compute, so two at a time halve the
# wall time on the 2-core build machines (the ASan run: 99 s one by one); their order does not
# matter: each has its own temporary files and ports.
set -uo pipefail
JOBS=${JOBS:-2}
logs=$(mktemp -d "${TMPDIR:-/tmp}/unit.XXXXXX")
trap 'rm -rf "$logs"' EXIT

run_one() { # index program
    "$2" > "$logs/$1.log" 2>&1
    echo $? > "$logs/$1.rc"
}

i=0
for t in "$@"; do
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n; done
    run_one "$i" "$t" &
    i=$((i + 1))
done
wait

fail=0
i=0
for t in "$@"; do
    echo "== $t"
    cat "$logs/$i.log"
    rc=$(cat "$logs/$i.rc" 2> /dev/null || echo 1)
    if [[ "$rc" != 0 ]]; then
        echo "FAIL $t (exit $rc)"
        fail=1
    fi
    i=$((i + 1))
done
exit $fail
