# lib.sh: what every integration test needs, sourced first by each tests/integration/test_*.sh.
#
# A test gets a fresh scratch directory, an embedded Kafka (bin/kafka-mock), a throwaway
# PostgreSQL 15 cluster, and a cleanup that runs however the test ends (success, a failed
# assertion, `set -e`, SIGINT/SIGTERM from run.sh's timeout): every process the test started is
# killed, PostgreSQL is stopped and the scratch directory removed. Nothing is left behind.
#
# Variables (all may be set before sourcing unless noted):
#   ROOT          the repository root (computed); tests run with it as working directory
#   BIN           the programs under test (default $ROOT/bin), made absolute
#   TMP           this test's scratch directory (computed: a fresh mktemp -d under $TMPDIR);
#                 removed at exit unless KEEP_TMP=1
#   GEODB         the test GeoIP2-City database (default $ROOT/build/test-geo.mmdb)
#   TEST_DATA     the data tests read ($ROOT/tests/data); SHARED_DATA: benchmarks only
#   NETWORKS      loggen's client networks (default $TEST_DATA/geo-networks.tsv)
#   LOGGEN_FORMAT the nginx log_format loggen writes (must equal tools/loggen_model.h; the
#                 harness test checks it against `loggen --help`)
#   KAFKA_FAST_GROUP  -X options for consumer-group members in tests: with the mock, a member
#                 joining a group that had members waits session.timeout.ms (45 s by default)
#                 for the rebalance; with these it is about 5 s
#   PG_BIN        PostgreSQL server programs (default /usr/lib/postgresql/15/bin)
#   PG_TIMEZONE   the server's TimeZone (default UTC); a test may set another to prove that
#                 results do not depend on it
#
# Set by the functions: KAFKA_BROKERS, KAFKA_MOCK_PID (start_kafka_mock); DATABASE_URL, PGHOST,
# PGPORT, PGDATABASE, PGUSER, PGDATA (start_pg).
#
# Functions:
#   start_kafka_mock [kafka-mock args]  start the broker, export KAFKA_BROKERS; its log is
#                                       $TMP/kafka-mock.N.log (N counts the calls from 1)
#   stop_kafka_mock                     stop it (its messages are gone: they live in memory)
#   kafka_down / kafka_up               every broker refuses connections / accepts again, with
#                                       messages kept (kafka-mock's SIGUSR1 / SIGUSR2)
#   start_pg                            create (first call) and start PostgreSQL, database `cdn`
#   stop_pg / restart_pg                clean shutdown (-m fast) / and start again
#   crash_pg                            stop -m immediate: no checkpoint, recovery on next start
#   pg_psql [psql args]                 psql -X -v ON_ERROR_STOP=1 -qAt on the test database
#   track_pid PID...                    kill these (and their children) at exit
#   pid_alive PID                       true while PID runs (a zombie counts as ended)
#   fail MSG                            print "FAIL: MSG" and exit 1
#   assert_eq ACTUAL EXPECTED MSG       fail unless equal (as strings)
#   assert_ge ACTUAL MIN MSG            fail unless the integer ACTUAL >= MIN
#   wait_for TIMEOUT_S CMD...           run CMD every 0.1 s until it succeeds; 1 on timeout
#   Watermarks: the collector also writes edge watermark messages (key "#wm", common/watermark.h)
#   into `hits`, one per partition a second. kcat_count, kcat_dump, topic_at_least, hits_at_least
#   and distinct_at_least count and show HITS ONLY: they leave out every message keyed "#wm", so
#   "messages in hits" means hit records. kcat_wm_dump shows the watermarks alone;
#   kcat_produced (a benchmark's count by offsets) includes them.
#   kcat_count TOPIC                    messages stored in TOPIC, without "#wm" ones: for `hits`
#                                       the messages are read (keys only), for other topics the
#                                       sum of high - low watermarks; note that asking about a
#                                       topic makes the mock create it (with 4 partitions) if it
#                                       does not exist
#   kcat_dump TOPIC [FORMAT]            every message of TOPIC but "#wm" ones, kcat -f FORMAT
#                                       (default '%s\n'; '%k\t%s\n' adds the key; one line per
#                                       message); each partition in order, partitions interleaved
#   kcat_wm_dump [FORMAT]               the watermark messages of `hits` only (default
#                                       '%p\t%o\t%s\n': partition, offset, value)
#   kcat_produced TOPIC                 messages ever produced to TOPIC (sum of high watermarks,
#                                       watermark messages included)
#   kcat_produce TOPIC                  stdin lines `KEY<TAB>VALUE` (or just VALUE) to TOPIC
#   topic_at_least TOPIC N, hits_at_least N, distinct_at_least N
#                                       for wait_for: TOPIC holds >= N messages; `hits` does;
#                                       `hits` holds >= N distinct (src, off) pairs
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BIN=$(realpath -m "${BIN:-$ROOT/bin}")
GEODB=$(realpath -m "${GEODB:-$ROOT/build/test-geo.mmdb}")
SHARED_DATA=$(realpath -m "${SHARED_DATA:-$ROOT/../shared/data}")
TEST_DATA=$(realpath -m "${TEST_DATA:-$ROOT/tests/data}")
NETWORKS=${NETWORKS:-$TEST_DATA/geo-networks.tsv}
# shellcheck disable=SC2016,SC2089 # the nginx variables are meant literally
LOGGEN_FORMAT='$remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent "$http_referer" "$http_user_agent" $host $upstream_cache_status'
# shellcheck disable=SC2034 # for the tests that source us
KAFKA_FAST_GROUP=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_TIMEZONE=${PG_TIMEZONE:-UTC}
# shellcheck disable=SC2090
export ROOT BIN GEODB SHARED_DATA TEST_DATA NETWORKS LOGGEN_FORMAT
cd "$ROOT"

_lib_pids=()      # processes to kill at exit (track_pid)
_lib_mock_pids=() # kafka-mock processes: killed after the rest, which may flush to them
_lib_pg_dir=""    # the PostgreSQL cluster's directory, once start_pg has created it
_lib_mock_serial=0
# Only the shell that sourced us cleans up. (Bash resets traps in subshells; this guard keeps it
# so should a subshell ever run the handler, e.g. under `set -E` habits or a future bash.)
_lib_owner=$BASHPID

TMP=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX")
# The programs read /etc/cdn/PROGRAM.conf when it exists: a test never reads the machine's.
export CDN_ETC_DIR=$TMP/no-config-dir

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

assert_eq() {
    [[ "$1" == "$2" ]] || fail "$3: got '$1', expected '$2'"
    echo "ok: $3 = $1"
}

assert_ge() {
    [[ "$1" =~ ^-?[0-9]+$ ]] || fail "$3: got '$1', not a number"
    (($1 >= $2)) || fail "$3: got $1, expected at least $2"
    echo "ok: $3 = $1 >= $2"
}

# Polls: returns 0 as soon as CMD succeeds, 1 once TIMEOUT_S seconds have passed.
wait_for() {
    local timeout=$1 deadline
    shift
    deadline=$(($(date +%s%N) / 1000000 + timeout * 1000))
    until "$@"; do
        (($(date +%s%N) / 1000000 < deadline)) || return 1
        sleep 0.1
    done
}

track_pid() {
    _lib_pids+=("$@")
}

# ---- Kafka -----------------------------------------------------------------------------------

# Starts $BIN/kafka-mock with ARGS and waits (up to 10 s) for its bootstrap file.
start_kafka_mock() {
    [[ -x "$BIN/kafka-mock" ]] || fail "no $BIN/kafka-mock: build it first (make)"
    local n=$((++_lib_mock_serial))
    local boot=$TMP/kafka-mock.$n.bootstrap log=$TMP/kafka-mock.$n.log
    "$BIN/kafka-mock" --bootstrap-file "$boot" "$@" > "$TMP/kafka-mock.$n.out" 2> "$log" &
    KAFKA_MOCK_PID=$!
    _lib_mock_pids+=("$KAFKA_MOCK_PID")
    local deadline=$((SECONDS + 10))
    until [[ -s "$boot" ]]; do
        if ! pid_alive "$KAFKA_MOCK_PID" || ((SECONDS > deadline)); then
            cat "$log" >&2
            fail "kafka-mock $* did not start"
        fi
        sleep 0.05
    done
    KAFKA_BROKERS=$(head -n 1 "$boot")
    export KAFKA_BROKERS KAFKA_MOCK_PID
}

stop_kafka_mock() {
    kill -TERM "$KAFKA_MOCK_PID" 2> /dev/null || true
    wait "$KAFKA_MOCK_PID" 2> /dev/null || true
}

kafka_down() {
    kill -USR1 "$KAFKA_MOCK_PID"
}

kafka_up() {
    kill -USR2 "$KAFKA_MOCK_PID"
}

# The sum over TOPIC's partitions of one kind of watermark: -1 the end (high), -2 the start.
# (kcat -Q answers both from the mock; a single call cannot ask both for one partition.)
_kcat_watermarks() {
    local topic=$1 which=$2 n i args=()
    n=$(kcat -L -b "$KAFKA_BROKERS" -t "$topic" -J |
        jq --arg t "$topic" '.topics[] | select(.topic == $t) | .partitions | length')
    [[ "$n" =~ ^[0-9]+$ ]] || return 1
    for ((i = 0; i < n; i++)); do args+=(-t "$topic:$i:$which"); done
    kcat -Q -b "$KAFKA_BROKERS" -J "${args[@]}" |
        jq --arg t "$topic" '[.[$t] | to_entries[] | .value | objects | .offset] | add // 0'
}

# Messages ever produced to TOPIC (sum of high watermarks): unlike kcat_count, not reduced by
# the mock's ~5 MB-per-partition retention. For benchmarks that produce more than it keeps.
kcat_produced() {
    _kcat_watermarks "$1" -1
}

# Messages TOPIC holds now: the mock drops a partition's oldest batches beyond ~5 MB, and the
# low watermark moves with them, so this counts what a reader from the beginning would get.
# Watermark messages (key "#wm") are not counted.
kcat_count() {
    local hi lo keys
    if [[ "$1" == hits ]]; then # watermarks are among the hits: read the keys, leave them out
        keys=$(kcat -C -b "$KAFKA_BROKERS" -t hits -o beginning -e -q -f '%k\n') || return 1
        printf '%s' "$keys" | grep -cvx '#wm' || true
        return 0
    fi
    hi=$(_kcat_watermarks "$1" -1) && lo=$(_kcat_watermarks "$1" -2) || return 1
    echo $((hi - lo))
}

# Each message as KEY<US>FORMATTED (US = \x1f, in no key or JSON value), watermarks dropped, the
# key cut off again.
kcat_dump() {
    kcat -C -b "$KAFKA_BROKERS" -t "$1" -o beginning -e -q -f $'%k\x1f'"${2:-%s\n}" |
        { grep -av $'^#wm\x1f' || true; } | cut -d $'\x1f' -f 2-
}

kcat_wm_dump() {
    kcat -C -b "$KAFKA_BROKERS" -t hits -o beginning -e -q -f $'%k\x1f'"${1:-%p\t%o\t%s\n}" |
        { grep -a $'^#wm\x1f' || true; } | cut -d $'\x1f' -f 2-
}

kcat_produce() {
    kcat -P -b "$KAFKA_BROKERS" -t "$1" -K $'\t'
}

topic_at_least() {
    local n
    n=$(kcat_count "$1") && ((n >= $2))
}

hits_at_least() {
    topic_at_least hits "$1"
}

distinct_at_least() {
    local n
    n=$(kcat_dump hits | jq -r '"\(.src) \(.off)"' | sort -u | wc -l) && ((n >= $1))
}

# ---- PostgreSQL ------------------------------------------------------------------------------

# Runs a server program as the cluster's owner: `postgres` when we are root (initdb and postgres
# refuse to run as root), else ourselves. From the cluster's directory, which the owner can enter.
_pg_as_owner() {
    if ((EUID == 0)); then
        (cd "$_lib_pg_dir" && runuser -u postgres -- "$@")
    else
        (cd "$_lib_pg_dir" && "$@")
    fi
}

_pg_init() {
    _lib_pg_dir=$TMP/pg
    mkdir -p "$_lib_pg_dir"
    # The socket path must fit sockaddr_un (107 bytes).
    ((${#_lib_pg_dir} + 16 < 107)) || fail "start_pg: socket path under $_lib_pg_dir too long"
    if ((EUID == 0)); then
        id postgres > /dev/null 2>&1 || fail "start_pg: no user postgres (apt-get install postgresql)"
        chmod 711 "$TMP" # postgres must get through to its directory, and only that
        chown postgres: "$_lib_pg_dir"
        runuser -u postgres -- test -w "$_lib_pg_dir" ||
            fail "start_pg: user postgres cannot reach $_lib_pg_dir (a parent directory is closed)"
    fi
    [[ -x "$PG_BIN/initdb" ]] || fail "start_pg: no $PG_BIN/initdb (set PG_BIN)"
    # --no-sync: initdb's own files need not survive a power cut; the server fsyncs (fsync = on).
    _pg_as_owner "$PG_BIN/initdb" -D "$_lib_pg_dir/data" -U postgres -A trust -E UTF8 \
        --locale=C --no-sync > "$_lib_pg_dir/initdb.log" 2>&1 ||
        { cat "$_lib_pg_dir/initdb.log" >&2; fail "start_pg: initdb failed"; }
    cat >> "$_lib_pg_dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$_lib_pg_dir'
port = 5432
fsync = on
timezone = '$PG_TIMEZONE'
log_timezone = 'UTC'
EOF
}

# Creates the cluster on the first call; later calls start it again (after stop_pg, crash_pg).
start_pg() {
    local fresh=0
    if [[ -z "$_lib_pg_dir" ]]; then
        _pg_init
        fresh=1
    fi
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$_lib_pg_dir/data" -l "$_lib_pg_dir/server.log" -w -t 60 \
        start > /dev/null || { tail -20 "$_lib_pg_dir/server.log" >&2; fail "start_pg: pg_ctl start failed"; }
    export PGHOST=$_lib_pg_dir PGPORT=5432 PGUSER=postgres PGDATABASE=cdn PGDATA=$_lib_pg_dir/data
    export DATABASE_URL="host=$_lib_pg_dir port=5432 dbname=cdn user=postgres"
    if ((fresh)); then
        "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE cdn' ||
            fail "start_pg: cannot create database cdn"
    fi
}

stop_pg() {
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$_lib_pg_dir/data" -m fast -w -t 60 stop > /dev/null
}

restart_pg() {
    stop_pg
    start_pg
}

crash_pg() {
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$_lib_pg_dir/data" -m immediate -w -t 60 stop > /dev/null
}

pg_psql() {
    "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -qAt "$@"
}

# ---- cleanup ---------------------------------------------------------------------------------

# PID and all its descendants, children first found by walking /proc through pgrep -P.
_lib_tree() {
    local p
    echo "$1"
    for p in $(pgrep -P "$1" 2> /dev/null); do _lib_tree "$p"; done
}

# True while PID runs (a zombie has finished: only its parent's wait is missing).
pid_alive() {
    local state
    state=$(grep -s '^State:' "/proc/$1/status") && [[ "$state" != *Z* ]]
}

# Sends SIGTERM to PIDS (so that programs flush and close), waits up to 5 s, then SIGKILLs
# whatever lingers, and reaps our children among them.
_lib_stop() {
    local pid deadline=$((SECONDS + 5))
    for pid in "$@"; do kill -TERM "$pid" 2> /dev/null; done
    for pid in "$@"; do
        while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
        pid_alive "$pid" && kill -KILL "$pid" 2> /dev/null
        wait "$pid" 2> /dev/null
    done
}

_lib_cleanup() {
    local rc=$? pid pids=()
    [[ $BASHPID == "$_lib_owner" ]] || return "$rc"
    trap - EXIT INT TERM
    set +e
    # First the tracked processes and every descendant of this shell (untracked background jobs
    # too), then the brokers they may still be writing to, then PostgreSQL.
    for pid in "${_lib_pids[@]}" $(pgrep -P $$); do
        [[ " ${_lib_mock_pids[*]} " == *" $pid "* ]] && continue
        mapfile -t -O "${#pids[@]}" pids < <(_lib_tree "$pid")
    done
    _lib_stop "${pids[@]}"
    _lib_stop "${_lib_mock_pids[@]}"
    wait 2> /dev/null
    if [[ -n "$_lib_pg_dir" && -f "$_lib_pg_dir/data/postmaster.pid" ]]; then
        pid=$(head -n 1 "$_lib_pg_dir/data/postmaster.pid")
        _pg_as_owner "$PG_BIN/pg_ctl" -D "$_lib_pg_dir/data" -m immediate -w -t 10 stop > /dev/null 2>&1
        pid_alive "$pid" && kill -KILL "$pid" 2> /dev/null
    fi
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then
        echo "kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}

trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
