#!/bin/sh
# pgtmp.sh start DIR | stop DIR: a throwaway PostgreSQL 15 for test_store, with its data, log and
# unix socket in DIR (no TCP), database `test`, user postgres, trust authentication. As root the
# server runs as user postgres (initdb and postgres refuse root). fsync is off: these tests are
# about what billing sends, not about the disk.
set -eu
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=$1
dir=$2
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}
case $cmd in
start)
    [ -x "$PG_BIN/initdb" ] || { echo "pgtmp: no $PG_BIN/initdb (set PG_BIN)" >&2; exit 1; }
    chmod 711 "$dir"
    mkdir -p "$dir/data"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir" "$dir/data"; fi
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    printf "listen_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\n" "$dir" \
        >> "$dir/data/postgresql.conf"
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start > /dev/null ||
        { tail -20 "$dir/server.log" >&2; exit 1; }
    "$PG_BIN/psql" -X -q -h "$dir" -U postgres -d postgres -c 'CREATE DATABASE test'
    ;;
stop)
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop > /dev/null
    ;;
*)
    echo "usage: pgtmp.sh start|stop DIR" >&2
    exit 2
    ;;
esac
