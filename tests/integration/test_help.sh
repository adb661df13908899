#!/usr/bin/env bash
# Every program's --help has one face: a usage line, a one-line description, the options, then
# a Signals section and an Exit status section naming 0, 1 and 2; --help exits 0 on stdout (as
# help2man reads it), and a bad option is exit 2 on stderr.
source "$(dirname "$0")/lib/lib.sh"

check_help() {
    local name=$1 out
    shift
    out=$("$@" --help) || fail "$name --help: exit status $?"
    [[ "$(head -n 1 <<< "$out")" == "usage: $name"* ]] || fail "$name --help: first line is not 'usage: $name ...'"
    local desc
    desc=$(sed -n '2,$p' <<< "$out" | grep -m 1 -v '^ ') # after the usage line(s)
    [[ -n "$desc" && "$desc" == *. ]] || fail "$name --help: no one-line description on line 2"
    for section in 'Signals:' 'Exit status:'; do
        grep -qx "$section" <<< "$out" || fail "$name --help: no '$section' section"
    done
    for code in 0 1 2; do
        sed -n '/^Exit status:$/,$p' <<< "$out" | grep -Eq "^  $code  " ||
            fail "$name --help: exit status $code not described"
    done
    grep -q -- 'LOG_LEVEL' <<< "$out" || fail "$name --help: no \$LOG_LEVEL"
    if [[ "$name" != billing ]]; then
        grep -q -- '--config FILE' <<< "$out" || fail "$name --help: no --config FILE"
    fi
    echo "ok: $name --help"
}

check_help collector "$BIN/collector"
check_help aggregator "$BIN/aggregator"
check_help billing "$BIN/billing"
for cmd in migrate run hosts invoice usage offsets status edges; do
    check_help "billing $cmd" "$BIN/billing" "$cmd"
done
check_help kafka-mock "$BIN/kafka-mock"
check_help loggen "$BIN/loggen"

for p in collector aggregator; do
    rc=0
    "$BIN/$p" --no-such-option > /dev/null 2> "$TMP/err" || rc=$?
    assert_eq "$rc" 2 "exit status of $p --no-such-option"
    grep -q -- "--no-such-option" "$TMP/err" || fail "$p does not name the bad option"
done
for cmd in migrate run hosts invoice usage offsets status edges; do
    rc=0
    "$BIN/billing" "$cmd" --no-such-option > /dev/null 2> "$TMP/err" || rc=$?
    assert_eq "$rc" 2 "exit status of billing $cmd --no-such-option"
done
# $LOG_LEVEL is read by every program: a bad value is bad usage.
for p in collector aggregator billing kafka-mock loggen; do
    rc=0
    LOG_LEVEL=loud "$BIN/$p" --version > /dev/null 2> "$TMP/err" || rc=$?
    assert_eq "$rc" 2 "exit status of $p with LOG_LEVEL=loud"
done
echo PASS
