#!/usr/bin/env bash
# The harness every other integration test stands on: kafka-mock serves its topics, keeps keyed
# messages and their partitions, shares partitions between consumer-group members and survives
# a broker outage; the throwaway PostgreSQL keeps committed rows across a restart and a crash;
# and lib.sh's cleanup leaves no process and no file behind, however a test ends.
source "$(dirname "$0")/lib/lib.sh"

# ---- kafka-mock: command line -----------------------------------------------------------------
# One version line for every program, from common/cli.h (CDN_VERSION).
ver=$(sed -n 's/^#define CDN_VERSION "\(.*\)"$/\1/p' "$ROOT/common/cli.h")
[[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "no CDN_VERSION in common/cli.h"
for p in kafka-mock loggen collector aggregator billing; do
    assert_eq "$("$BIN/$p" --version)" "$p $ver" "$p --version"
done
"$BIN/kafka-mock" --help | grep -q -- '--bootstrap-file FILE' || fail "kafka-mock --help"
for bad in --bogus "--brokers 0" "--partitions x" "--topic a/b" extra; do
    rc=0
    # shellcheck disable=SC2086 # split on purpose: one option and its value
    "$BIN/kafka-mock" $bad > "$TMP/bad.out" 2> "$TMP/bad.err" || rc=$?
    assert_eq "$rc" 2 "exit status of kafka-mock $bad"
    assert_eq "$(wc -l < "$TMP/bad.err")" 1 "lines on stderr for $bad"
    grep -qF -- "${bad%% *}" "$TMP/bad.err" || fail "stderr does not name ${bad%% *}: $(cat "$TMP/bad.err")"
    assert_eq "$(wc -c < "$TMP/bad.out")" 0 "stdout for $bad"
done

# ---- kafka-mock: topics, as asked ------------------------------------------------------------
topics() { # "name:partitions" of every topic, sorted
    kcat -L -b "$KAFKA_BROKERS" -J | jq -r '[.topics[] | "\(.topic):\(.partitions | length)"] | sort | join(" ")'
}
start_kafka_mock --brokers 3 --partitions 3 --topic small --topic other.one
assert_eq "$(head -n 1 "$TMP/kafka-mock.1.out")" "$KAFKA_BROKERS" "first stdout line is the bootstrap list"
assert_eq "$(tr , '\n' <<< "$KAFKA_BROKERS" | grep -c '^127\.0\.0\.1:[0-9]*$')" 3 "brokers in the bootstrap list"
assert_eq "$(topics)" "other.one:3 small:3" "topics of a custom mock"
# Past ~5 MB per partition the mock drops the oldest batches; kcat_count must agree with what a
# reader from the beginning gets (the low watermark moves).
seq 1 150000 | awk '{ printf "k%d\t%0200d\n", $1, $1 }' | kcat_produce small
assert_eq "$(kcat_count small)" "$(kcat_dump small | wc -l)" "count = messages readable"
echo "note: the mock kept $(kcat_count small) of 150000 200-byte messages in 3 partitions"
mock1=$KAFKA_MOCK_PID
stop_kafka_mock
pid_alive "$mock1" && fail "stop_kafka_mock left kafka-mock running"

start_kafka_mock
assert_eq "$(topics)" "hits.rejected:16 hits:16" "default topics"

# ---- keyed messages in, the same out --------------------------------------------------------
seq 1 1000 | awk '{ printf "cust%d\t{\"i\":%d,\"customer\":\"cust%d\"}\n", $1 % 37, $1, $1 % 37 }' > "$TMP/sent"
kcat_produce hits < "$TMP/sent"
assert_eq "$(kcat_count hits)" 1000 "messages in hits"
kcat_dump hits '%k\t%s\n' | sort > "$TMP/got"
sort "$TMP/sent" | cmp -s - "$TMP/got" || fail "messages read back differ from those sent"
echo "ok: keys and values read back"
# Every key lives in one partition (what per-customer ordering relies on), and 37 keys spread.
kcat_dump hits '%k %p\n' | sort -u > "$TMP/key-partitions"
assert_eq "$(cut -d' ' -f1 "$TMP/key-partitions" | uniq -d | wc -l)" 0 "keys seen in two partitions"
assert_eq "$(wc -l < "$TMP/key-partitions")" 37 "distinct keys"
assert_ge "$(cut -d' ' -f2 "$TMP/key-partitions" | sort -u | wc -l)" 8 "partitions used by 37 keys"
assert_eq "$(kcat_count hits.rejected)" 0 "messages in hits.rejected"

# ---- a consumer group of two kcat members shares the partitions ------------------------------
member() { # member N: consume hits.rejected in group `harness` until killed
    kcat -u -b "$KAFKA_BROKERS" -G harness "${KAFKA_FAST_GROUP[@]}" -X auto.offset.reset=earliest \
        -f '%p\t%k\t%s\n' hits.rejected > "$TMP/member$1.out" 2> "$TMP/member$1.err" &
    track_pid $!
    members+=($!)
}
members=()
last_assignment() { # the partitions of a member's last rebalance, if it was an assignment
    grep 'rebalanced' "$TMP/member$1.err" | tail -n 1 | grep -o 'assigned: .*' | grep -o '\[[0-9]*\]' | sort
}
settled() { # both members hold partitions, none twice, all 16 held
    local a b
    a=$(last_assignment 1) b=$(last_assignment 2)
    [[ -n "$a" && -n "$b" ]] && [[ $(printf '%s\n%s\n' "$a" "$b" | sort -u | wc -l) == 16 ]] &&
        [[ $(printf '%s\n%s\n' "$a" "$b" | wc -l) == 16 ]]
}
member 1
member 2
wait_for 60 settled || { cat "$TMP"/member*.err; fail "the group did not settle on two members"; }
seq 1 1000 | awk '{ printf "k%d\tv%d\n", $1, $1 }' > "$TMP/sent-group"
kcat_produce hits.rejected < "$TMP/sent-group"
consumed() { (($(cat "$TMP/member1.out" "$TMP/member2.out" | wc -l) >= 1000)); }
wait_for 30 consumed || fail "the group consumed $(cat "$TMP"/member*.out | wc -l) of 1000"
sleep 1 # anything delivered twice would show now
assert_eq "$(cat "$TMP/member1.out" "$TMP/member2.out" | wc -l)" 1000 "messages consumed by the group"
cut -f2- "$TMP/member1.out" "$TMP/member2.out" | sort | cmp -s - <(sort "$TMP/sent-group") ||
    fail "the group's messages differ from those sent"
assert_ge "$(wc -l < "$TMP/member1.out")" 1 "messages of member 1"
assert_ge "$(wc -l < "$TMP/member2.out")" 1 "messages of member 2"
assert_eq "$(comm -12 <(cut -f1 "$TMP/member1.out" | sort -u) <(cut -f1 "$TMP/member2.out" | sort -u) | wc -l)" \
    0 "partitions read by both members"
kill -TERM "${members[@]}"
wait "${members[@]}" 2> /dev/null || true

# ---- broker outage: connections refused, messages kept ---------------------------------------
kafka_down
# shellcheck disable=SC2016 # expanded by the inner shell
wait_for 5 bash -c '! kcat -L -b "$KAFKA_BROKERS" -m 1 > /dev/null 2>&1' || fail "brokers still answer after kafka_down"
echo "ok: brokers refuse connections"
kafka_up
wait_for 10 kcat -L -b "$KAFKA_BROKERS" -m 1 > /dev/null 2>&1 || fail "brokers do not answer after kafka_up"
assert_eq "$(kcat_count hits)" 1000 "messages in hits after the outage"

# ---- helpers ---------------------------------------------------------------------------------
wait_for 1 false && fail "wait_for reported success for a command that always fails"
wait_for 5 test -e "$TMP/later" & waiter=$!
touch "$TMP/later"
wait "$waiter" || fail "wait_for missed a condition that became true"
(assert_eq a b "on purpose" > /dev/null 2> "$TMP/assert.err") && fail "assert_eq passed on a != b"
assert_eq "$(cat "$TMP/assert.err")" "FAIL: on purpose: got 'a', expected 'b'" "assert_eq's message"
(assert_ge 2 3 x > /dev/null 2>&1) && fail "assert_ge passed on 2 >= 3"
hits_at_least 1000 || fail "hits_at_least 1000"
hits_at_least 1001 && fail "hits_at_least 1001"
# Watermark messages (key "#wm") in `hits` are not hits: the helpers leave them out.
for p in 0 1 2; do
    printf '{"v":1,"kind":"watermark","edge":"h","wm_ms":%d}\n' "$p" |
        kcat -P -b "$KAFKA_BROKERS" -t hits -p "$p" -k '#wm' || fail "produce a watermark"
done
assert_eq "$(kcat_wm_dump '%p\n' | sort | tr '\n' ' ')" "0 1 2 " "partitions of the watermarks (kcat_wm_dump)"
assert_eq "$(kcat_count hits)" 1000 "messages in hits, watermarks left out (kcat_count)"
assert_eq "$(kcat_dump hits '%k\t%s\n' | sort | cmp -s - "$TMP/got" && echo same)" same \
    "kcat_dump hits, watermarks left out"
hits_at_least 1001 && fail "hits_at_least counted watermarks"
[[ -x "$BIN/loggen" ]] || fail "no $BIN/loggen: build it (make)"
"$BIN/loggen" --help | grep -qF -- "$LOGGEN_FORMAT" || fail "LOGGEN_FORMAT differs from loggen's format"
echo "ok: LOGGEN_FORMAT is loggen's"

# ---- PostgreSQL ------------------------------------------------------------------------------
start_pg
assert_eq "$(pg_psql -c 'SELECT current_database()')" cdn "database"
assert_eq "$("$PG_BIN/psql" -XqAt "$DATABASE_URL" -c 'SELECT current_user')" postgres "user via DATABASE_URL"
assert_eq "$(pg_psql -c 'SHOW fsync')" on "fsync"
assert_eq "$(pg_psql -c 'SHOW listen_addresses')" "" "listen_addresses (no TCP)"
assert_eq "$(pg_psql -c 'SHOW TimeZone')" UTC "server time zone"
pg_psql -c 'CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)'
pg_psql -c "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 100) i"
restart_pg
assert_eq "$(pg_psql -c 'SELECT count(*), sum(id) FROM t')" "100|5050" "rows after a restart"
pg_psql -c "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(101, 150) i"
crash_pg
pg_psql -c 'SELECT 1' > /dev/null 2>&1 && fail "PostgreSQL answers after crash_pg"
start_pg
assert_eq "$(pg_psql -c 'SELECT count(*) FROM t')" 150 "committed rows after a crash"
if pg_psql -c 'SELECT * FROM no_such_table' > /dev/null 2>&1; then fail "pg_psql ignored an error"; fi

# ---- cleanup: nothing survives a test, however it ends ---------------------------------------
# Each child sources lib.sh, starts kafka-mock, PostgreSQL, a tracked and an untracked sleep,
# writes down their pids, and ends as MODE says.
chmod 711 "$TMP"
mkdir -m 711 "$TMP/children"
cat > "$TMP/child.sh" <<'EOF'
source "$ROOT/tests/integration/lib/lib.sh"
start_kafka_mock
start_pg
sleep 1000 &
track_pid $!
tracked=$!
sleep 1001 &
untracked=$!
echo "$KAFKA_MOCK_PID $(head -n 1 "$PGDATA/postmaster.pid") $tracked $untracked $TMP" > "$STATE"
case $MODE in
exit) exit 1 ;;
errexit) false ;;
fail) fail "on purpose" ;;
sleep) sleep 1000 ;;
wait_for) wait_for 1000 false ;;
esac
exit 0
EOF
for mode in exit errexit fail sleep wait_for; do
    state=$TMP/children/$mode.state
    rm -f "$state"
    # A session of its own, as under run.sh's timeout: the signal can go to the whole group.
    MODE=$mode STATE=$state TMPDIR=$TMP/children setsid bash "$TMP/child.sh" > "$TMP/child.$mode.log" 2>&1 &
    child=$!
    track_pid "$child"
    wait_for 30 test -s "$state" || { cat "$TMP/child.$mode.log"; fail "child ($mode) did not start"; }
    read -r mock pg tracked untracked child_tmp < "$state"
    case $mode in
    sleep) kill -TERM -- "-$child" ;; # as timeout(1) does: the shell and its foreground sleep
    wait_for) kill -TERM "$child" ;;  # the shell alone
    esac
    rc=0
    wait "$child" || rc=$?
    case $mode in
    sleep | wait_for) assert_eq "$rc" 143 "exit status of a child stopped by SIGTERM ($mode)" ;;
    *) assert_eq "$rc" 1 "exit status of a failing child ($mode)" ;;
    esac
    for pid in "$mock" "$pg" "$tracked" "$untracked"; do
        ! pid_alive "$pid" || { ps -o pid,args -p "$pid"; cat "$TMP/child.$mode.log"; fail "pid $pid survived a child ($mode)"; }
    done
    ! pgrep -f -- "$child_tmp" > /dev/null || fail "a process of $child_tmp survived ($mode)"
    [[ ! -e "$child_tmp" ]] || fail "$child_tmp survived ($mode)"
    echo "ok: child ($mode) left no process and no file"
done

# KEEP_TMP=1 keeps the scratch directory, and still stops everything.
rm -f "$TMP/children/keep.state"
MODE=exit STATE=$TMP/children/keep.state KEEP_TMP=1 TMPDIR=$TMP/children bash "$TMP/child.sh" > "$TMP/child.keep.log" 2>&1 || true
read -r mock pg tracked untracked child_tmp < "$TMP/children/keep.state"
[[ -d "$child_tmp" ]] || fail "KEEP_TMP=1 did not keep $child_tmp"
for pid in "$mock" "$pg" "$tracked" "$untracked"; do
    ! pid_alive "$pid" || fail "pid $pid survived with KEEP_TMP=1"
done
echo "ok: KEEP_TMP=1 kept $child_tmp and stopped everything"
