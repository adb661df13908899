#!/usr/bin/env bash
# run.sh: runs the integration tests, each in its own bash process under a time limit.
#
#   bash tests/integration/run.sh [tests/integration/test_NAME.sh ...]   (default: all of them)
#
# For each test: `== NAME` when it starts, then `PASS NAME (Ns)` or `FAIL NAME (Ns)` followed by
# the end of the test's output (all of it is kept in a log file) when it ends; with JOBS > 1 the
# lines of two tests interleave. The last line is always
# `integration: N passed, M failed`; the exit status is 1 if any test failed.
#
# Environment: TEST_TIMEOUT (seconds per test, default 300), JOBS (tests at a time, default 3),
# BIN (passed on to lib.sh),
# KEEP_LOGS=1 keeps the log directory even when every test passed.
#
# Each test runs under timeout(1), which puts it in a process group of its own and, on expiry,
# signals the whole group (lib.sh's trap then cleans up). A test that leaves a process behind
# fails: run.sh looks for survivors in the test's process group and for a PostgreSQL server
# still running from the test's scratch directories (pg_ctl starts the server in a session of its
# own, so the process group does not hold it), reports them and kills them.
set -uo pipefail
# Job control: without it bash starts background jobs with SIGINT and SIGQUIT ignored, and a test
# would inherit that.
set -m

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
SHOW_LINES=150 # of a failed test's output; the rest is in its log file

if (($#)); then
    tests=()
    for t in "$@"; do tests+=("$(realpath -m "$t")"); done
else
    tests=("$ROOT"/tests/integration/test_*.sh)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/integration.XXXXXX")
chmod 711 "$work" # lib.sh's PostgreSQL runs as user postgres and must reach its directory
passed=0
failed=0

# Ctrl-C reaches only our process group, not the tests' (timeout gave each its own): pass it on.
on_signal() {
    local p
    for p in "${slot_pid[@]}"; do [[ -n "$p" ]] && kill -TERM -- "-$p" 2> /dev/null; done
    wait
    echo "integration: interrupted, logs in $work" >&2
    exit 130
}
trap on_signal INT TERM

# Kills what a finished test left running; prints one line per survivor, returns 1 if any.
reap_leftovers() {
    local group=$1 scratch=$2 pids pid pidfile left=0
    pids=$(pgrep -g "$group" 2> /dev/null)
    for pid in $pids; do
        echo "left behind: $(ps -o pid=,args= -p "$pid" 2> /dev/null)"
        kill -KILL "$pid" 2> /dev/null
        left=1
    done
    while IFS= read -r pidfile; do
        pid=$(head -n 1 "$pidfile" 2> /dev/null)
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2> /dev/null; then
            echo "left behind: PostgreSQL $(dirname "$pidfile") (pid $pid)"
            kill -QUIT "$pid" 2> /dev/null # immediate shutdown; its children follow it
            left=1
        fi
    done < <(find "$scratch" -name postmaster.pid 2> /dev/null)
    return $left
}

# A test's end: reap what it left, print PASS/FAIL. Args: slot.
finish() {
    local k=$1 rc=0 name=${slot_name[$1]} group=${slot_pid[$1]}
    wait "$group"
    rc=$?
    local took=$((SECONDS - slot_start[k])) log=$work/${slot_name[$k]}.log leftovers
    leftovers=$(reap_leftovers "$group" "${slot_scratch[$k]}") || {
        echo "$leftovers" >> "$log"
        ((rc == 0)) && rc=1
    }
    slot_pid[$k]=""
    if ((rc == 0)); then
        echo "PASS $name (${took}s)"
        passed=$((passed + 1))
    else
        ((rc == 124)) && echo "timed out after ${TEST_TIMEOUT}s" >> "$log"
        echo "FAIL $name (${took}s)"
        echo "    --- last $SHOW_LINES lines of $log (exit status $rc)"
        tail -n "$SHOW_LINES" "$log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}

# JOBS tests at a time (default 3 on our 2-core build machines): most of a test's time is spent
# waiting on its servers, not computing (all 52 at JOBS=3: 5m26s wall, 4m13s of CPU in user and
# system, all passed). Every test has its own scratch folder, broker, database and ports, so two
# never meet; JOBS=1 runs them one by one.
JOBS=${JOBS:-3}
declare -a slot_pid slot_name slot_start slot_scratch
n=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    if [[ ! -f "$t" ]]; then
        echo "FAIL $name (0s)"
        echo "    no such test: $t"
        failed=$((failed + 1))
        continue
    fi
    # A free slot, waiting for a running test to end if there is none.
    while :; do
        free=-1
        for ((k = 0; k < JOBS; k++)); do
            if [[ -z "${slot_pid[$k]:-}" ]]; then
                free=$k
                break
            fi
            if ! kill -0 "${slot_pid[$k]}" 2> /dev/null; then
                finish "$k"
                free=$k
                break
            fi
        done
        ((free >= 0)) && break
        sleep 0.2
    done
    echo "== $name"
    # Short: PostgreSQL's socket lives under it, and a socket path must fit 107 bytes.
    n=$((n + 1))
    scratch=$work/$n
    mkdir -p "$scratch" && chmod 711 "$scratch"
    slot_name[$free]=$name
    slot_scratch[$free]=$scratch
    slot_start[$free]=$SECONDS
    TMPDIR=$scratch timeout -k 10 "$TEST_TIMEOUT" bash "$t" > "$work/$name.log" 2>&1 < /dev/null &
    slot_pid[$free]=$!
done
for ((k = 0; k < JOBS; k++)); do
    [[ -n "${slot_pid[$k]:-}" ]] && finish "$k"
done

if ((failed == 0)) && [[ "${KEEP_LOGS:-0}" != 1 ]]; then
    rm -rf "$work"
else
    echo "logs in $work"
fi
echo "integration: $passed passed, $failed failed"
((failed == 0))
