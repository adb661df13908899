#!/usr/bin/env bash
# `make install` with PREFIX and DESTDIR puts the programs, schema, man pages, systemd units and
# deploy files where the README says; the installed programs run (billing migrate finds the
# installed schema from any folder); the units pass `systemd-analyze verify` and carry the keys
# an operator relies on; and every program, started as systemd starts a Type=notify unit, sends
# READY=1 to $NOTIFY_SOCKET.
source "$(dirname "$0")/lib/lib.sh"
programs=(collector aggregator billing)

# ---- the staged tree: PREFIX=/usr/local under DESTDIR --------------------------------------
dest=$TMP/dest
make -C "$ROOT" --no-print-directory -s install PREFIX=/usr/local DESTDIR="$dest" > "$TMP/make.log" 2>&1 ||
    fail "make install DESTDIR failed: $(tail -n 20 "$TMP/make.log")"
p=$dest/usr/local
for prog in "${programs[@]}"; do
    [[ -x "$p/bin/$prog" ]] || fail "$p/bin/$prog is not installed"
    assert_eq "$("$p/bin/$prog" --version)" "$("$BIN/$prog" --version)" "$prog --version from the installed tree"
    grep -q '^\.TH ' "$p/share/man/man1/$prog.1" || fail "no man page $prog.1"
    MANWIDTH=100 man -l "$p/share/man/man1/$prog.1" 2> /dev/null | grep -q -- '--help' ||
        fail "man page $prog.1 does not render the options"
    for section in Signals: 'Exit status:'; do # help2man reads them from --help (test_help.sh)
        MANWIDTH=100 man -l "$p/share/man/man1/$prog.1" 2> /dev/null | grep -q "^ *$section\$" ||
            fail "man page $prog.1 has no $section section"
    done
    unit=$p/lib/systemd/system/$prog.service
    [[ -f "$unit" ]] || fail "no unit $prog.service"
    grep -q "^ExecStart=/usr/local/bin/$prog\( \|$\)" "$unit" || fail "$prog.service does not start /usr/local/bin/$prog"
    [[ -f "$p/share/cdn/examples/$prog.conf" ]] || fail "no example $prog.conf"
done
[[ -f "$p/share/cdn/examples/collector.env" ]] || fail "no example collector.env (COLLECTOR_LOGS)"
# The example configurations are accepted as they are: every key is an option of its program
# (billing.conf: of some billing command, its [run] section of billing run).
for args in "collector" "aggregator" "billing run" "billing status" "billing offsets" "billing invoice"; do
    read -r -a a <<< "$args"
    # shellcheck disable=SC2086 # the command line is split on purpose
    out=$("$p/bin/${a[0]}" ${a[@]:1} --config "$p/share/cdn/examples/${a[0]}.conf" --version 2>&1) ||
        fail "$args refuses share/cdn/examples/${a[0]}.conf: $out"
done
echo "ok: the example configurations are accepted"
# No option passes through the environment any more: the config files hold them.
if grep -l '_OPTS\|EnvironmentFile' "$p"/lib/systemd/system/{aggregator,billing}.service; then
    fail "a unit above still takes options from the environment"
fi
for f in "$ROOT"/schema/*.sql; do
    cmp -s "$f" "$p/share/cdn/schema/$(basename "$f")" || fail "schema $(basename "$f") not installed as is"
done
assert_eq "$(find "$p/share/cdn/schema" -type f | wc -l)" "$(find "$ROOT/schema" -name '*.sql' | wc -l)" "schema files"
[[ -f "$p/share/cdn/grafana/cdn.json" && -f "$p/share/cdn/prometheus/alerts.yml" ]] || fail "deploy files missing"
if grep -rl '@bindir@' "$dest"; then fail "a unit above still says @bindir@"; fi
# Nothing outside PREFIX (no /etc: the operator copies the examples).
assert_eq "$(cd "$dest" && find . -mindepth 1 -maxdepth 2 | sort | tr '\n' ' ')" "./usr ./usr/local " "top of the staged tree"

# ---- the units: the keys an operator relies on (a lint that holds where systemd does not run) --
unit_has() { grep -qx -- "$2" "$p/lib/systemd/system/$1.service" || fail "$1.service lacks '$2'"; }
for prog in "${programs[@]}"; do
    for key in Type=notify Restart=on-failure DynamicUser=yes ProtectSystem=strict ProtectHome=yes \
        PrivateTmp=yes NoNewPrivileges=yes RestartPreventExitStatus=2 "WantedBy=multi-user.target"; do
        unit_has "$prog" "$key"
    done
done
# SIGHUP reloads the host map and the tokens; billing run reloads nothing, so it has no ExecReload.
# shellcheck disable=SC2016 # $MAINPID is for systemd
unit_has collector 'ExecReload=/bin/kill -HUP $MAINPID'
unit_has aggregator 'ExecReload=/bin/kill -HUP $MAINPID'
grep -q '^ExecReload' "$p/lib/systemd/system/billing.service" && fail "billing.service claims a reload"
# Options come from /etc/cdn/PROGRAM.conf; the collector's log paths (arguments) from its env file;
# billing's file, which holds the password, comes as a credential.
unit_has collector 'EnvironmentFile=-/etc/cdn/collector.env'
unit_has collector 'ExecStart=/usr/local/bin/collector --state-dir /var/lib/cdn-collector $COLLECTOR_LOGS'
unit_has aggregator 'ExecStart=/usr/local/bin/aggregator'
unit_has billing 'LoadCredential=billing.conf:/etc/cdn/billing.conf'
unit_has billing 'ExecStart=/usr/local/bin/billing run --config %d/billing.conf'
# The collector's positions live in its StateDirectory.
unit_has collector StateDirectory=cdn-collector
grep -q -- '--state-dir /var/lib/cdn-collector ' "$p/lib/systemd/system/collector.service" ||
    fail "collector.service does not keep positions in /var/lib/cdn-collector"

# ---- a real prefix: systemd-analyze verify, and billing migrate from elsewhere ---------------
prefix=$TMP/prefix
make -C "$ROOT" --no-print-directory -s install PREFIX="$prefix" > "$TMP/make2.log" 2>&1 ||
    fail "make install PREFIX failed: $(tail -n 20 "$TMP/make2.log")"
if command -v systemd-analyze > /dev/null; then
    # Empty output and status 0: unknown keys, bad values and missing programs are all printed.
    out=$(systemd-analyze verify --man=no "$prefix"/lib/systemd/system/{collector,aggregator,billing}.service 2>&1) ||
        fail "systemd-analyze verify: $out"
    [[ -z "$out" ]] || fail "systemd-analyze verify warned: $out"
    echo "ok: systemd-analyze verify"
else
    echo "systemd-analyze not installed: the units were checked by the key lint above only"
fi

start_pg
cd "$TMP" || exit 1 # no ./schema here, nor ../schema beside the program
"$prefix/bin/billing" migrate > "$TMP/migrate.log" 2>&1 || fail "installed billing migrate: $(cat "$TMP/migrate.log")"
assert_eq "$(pg_psql -c 'SELECT count(*) FROM schema_migrations')" "$(find "$ROOT/schema" -name '*.sql' | wc -l)" \
    "migrations applied from $prefix/share/cdn/schema"
"$p/bin/billing" migrate > "$TMP/migrate2.log" 2>&1 || fail "staged billing migrate: $(cat "$TMP/migrate2.log")"

# ---- Type=notify: each program sends READY=1 on $NOTIFY_SOCKET once started ------------------
# Receives one datagram on a socket of its own making, prints it (empty after 20 s).
notify_listen() {
    python3 - "$1" << 'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    print(s.recv(512).decode(), flush=True)
except socket.timeout:
    print("", flush=True)
PY
    track_pid $!
    wait_for 5 test -S "$1" || fail "notify socket $1 not made"
}
start_kafka_mock
: > "$TMP/access.log"
printf 'www.example.com acme\n' > "$TMP/hosts"
printf '*\t%s\n' "$(printf op | sha256sum | cut -d' ' -f1)" > "$TMP/tokens"
declare -A cmd=(
    [collector]="$prefix/bin/collector -c $TMP/hosts --default-host www.example.com -s $TMP/state $TMP/access.log"
    [aggregator]="$prefix/bin/aggregator --listen 127.0.0.1:0 --tokens $TMP/tokens"
    [billing]="$prefix/bin/billing run"
)
mkdir -p "$TMP/state"
for prog in "${programs[@]}"; do
    sock=$TMP/notify-$prog
    notify_listen "$sock" > "$TMP/notify-$prog.out"
    # shellcheck disable=SC2086 # the command line is split on purpose
    NOTIFY_SOCKET=$sock ${cmd[$prog]} > "$TMP/$prog.log" 2>&1 &
    pid=$!
    track_pid "$pid"
    wait_for 20 grep -q . "$TMP/notify-$prog.out" || pid_alive "$pid" ||
        fail "$prog ended before notifying: $(tail -n 5 "$TMP/$prog.log")"
    assert_eq "$(cat "$TMP/notify-$prog.out")" "READY=1" "$prog's notification"
    kill -TERM "$pid"
    wait "$pid" || fail "$prog did not stop cleanly on SIGTERM: $(tail -n 5 "$TMP/$prog.log")"
done
echo ok
