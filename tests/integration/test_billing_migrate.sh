#!/usr/bin/env bash
# billing migrate: applied in order, each once, each in a transaction, recorded; a second run
# does nothing. The schema refuses bad data (negative amounts, unknown currencies, bad country
# codes, dangling references, changes to final invoices) and accepts usage of an unknown customer.
# The roles: billing_reader reads only, billing_writer writes usage but not customers. billing
# hosts prints the host map. Usage errors exit 2 with one line naming the fault.
source "$(dirname "$0")/lib/lib.sh"
start_pg

# ---- command line ----------------------------------------------------------------------------
"$BIN/billing" --version | grep -q '^billing ' || fail "billing --version"
"$BIN/billing" --help | grep -q 'migrate' || fail "billing --help"
for cmd in migrate run hosts status edges invoice; do
    "$BIN/billing" "$cmd" --help | grep -q -- '--db CONNINFO' || fail "billing $cmd --help"
done
bad_usage() { # expected-word args...: exit 2, one line on stderr naming the word, no stdout
    local word=$1 rc=0
    shift
    "$BIN/billing" "$@" > "$TMP/bad.out" 2> "$TMP/bad.err" || rc=$?
    assert_eq "$rc" 2 "exit status of billing $*"
    assert_eq "$(wc -l < "$TMP/bad.err")" 1 "stderr lines of billing $*"
    grep -qF -- "$word" "$TMP/bad.err" || fail "stderr of billing $* does not name $word: $(cat "$TMP/bad.err")"
    assert_eq "$(wc -c < "$TMP/bad.out")" 0 "stdout of billing $*"
}
bad_usage bogus bogus
bad_usage --bogus run --bogus
bad_usage --flush-ms run --flush-ms 0
bad_usage --flush-rows run --flush-rows x
bad_usage --metrics run --metrics nowhere
bad_usage --metrics-interval run --metrics-interval -1
bad_usage --db run --db 'host=x port'
bad_usage --group run -G ''
bad_usage -X run -X novalue
bad_usage --schema migrate --schema /nonexistent
bad_usage --bogus hosts --bogus
bad_usage --month status --month 2026-13
bad_usage --grace status --grace soon
bad_usage --format status --format xml
bad_usage bogus edges bogus
bad_usage EDGE edges retire
bad_usage --reason edges unretire e1 --reason x
bad_usage --grace invoice --month 2026-11 --grace 1
bad_usage --force-incomplete invoice --month 2026-11 --force-incomplete --reason x
bad_usage --reason invoice --month 2026-11 --finalize --force-incomplete
rc=0
"$BIN/billing" > /dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status of billing without a command"

# ---- migrations twice ------------------------------------------------------------------------
nfiles=$(ls "$ROOT"/schema/[0-9]*_*.sql | wc -l)
"$BIN/billing" migrate > "$TMP/m1.out" 2> "$TMP/m1.err" || { cat "$TMP/m1.err"; fail "first migrate"; }
assert_eq "$(grep -c '^applied ' "$TMP/m1.out")" "$nfiles" "migrations applied by the first run"
assert_eq "$(pg_psql -c 'select count(*) from schema_migrations')" "$nfiles" "rows in schema_migrations"
# (pg_dump's \\restrict lines carry a random key per dump)
"$PG_BIN/pg_dump" --schema-only | grep -Ev '^\\(un)?restrict ' > "$TMP/schema1.sql"
"$BIN/billing" migrate > "$TMP/m2.out" 2> "$TMP/m2.err" || { cat "$TMP/m2.err"; fail "second migrate"; }
assert_eq "$(grep -c '^applied ' "$TMP/m2.out" || true)" 0 "migrations applied by the second run"
grep -q '^0 migration(s) applied' "$TMP/m2.out" || fail "second run: $(cat "$TMP/m2.out")"
assert_eq "$(pg_psql -c 'select count(*) from schema_migrations')" "$nfiles" "rows in schema_migrations after two runs"
"$PG_BIN/pg_dump" --schema-only | grep -Ev '^\\(un)?restrict ' > "$TMP/schema2.sql"
diff "$TMP/schema1.sql" "$TMP/schema2.sql" > "$TMP/schema.diff" || { head -20 "$TMP/schema.diff"; fail "the second migrate changed the schema"; }
echo "ok: the second run changed nothing"

# ---- a failing migration leaves nothing behind ------------------------------------------------
pg_psql -d postgres -c 'create database other'
mkdir -p "$TMP/schema"
cp "$ROOT"/schema/*.sql "$TMP/schema/"
cat > "$TMP/schema/900_broken.sql" << 'EOF'
CREATE TABLE half_done (x int);

SELECT no_such_function();
EOF
rc=0
"$BIN/billing" migrate --schema "$TMP/schema" --db "${DATABASE_URL/dbname=cdn/dbname=other}" \
    > /dev/null 2> "$TMP/broken.err" || rc=$?
assert_eq "$rc" 1 "exit status of a failing migration"
grep -q '900_broken.sql:3' "$TMP/broken.err" || fail "the error does not name file and line: $(cat "$TMP/broken.err")"
assert_eq "$(pg_psql -d other -c "select count(*) from pg_tables where tablename = 'half_done'")" 0 "tables left by the failed migration"
assert_eq "$(pg_psql -d other -c 'select max(version) from schema_migrations')" "$(ls "$ROOT"/schema/[0-9]*_*.sql | tail -1 | xargs basename | sed 's/_.*//; s/^0*//')" "last version recorded"
printf 'CREATE TABLE t (x int);\nCOMMIT;\n' > "$TMP/schema/900_broken.sql"
rc=0
"$BIN/billing" migrate --schema "$TMP/schema" --db "${DATABASE_URL/dbname=cdn/dbname=other}" \
    > /dev/null 2> "$TMP/commit.err" || rc=$?
assert_eq "$rc" 1 "exit status of a migration with COMMIT"
grep -q 'BEGIN/COMMIT' "$TMP/commit.err" || fail "COMMIT in a migration: $(cat "$TMP/commit.err")"
mv "$TMP/schema/900_broken.sql" "$TMP/schema/9_bad_name.sql"
rc=0
"$BIN/billing" migrate --schema "$TMP/schema" --db "${DATABASE_URL/dbname=cdn/dbname=other}" \
    > /dev/null 2> "$TMP/name.err" || rc=$?
assert_eq "$rc" 1 "exit status with a misnamed migration"
grep -q '9_bad_name.sql' "$TMP/name.err" || fail "misnamed migration: $(cat "$TMP/name.err")"

# ---- 006 refuses existing customer ids that break the rule, naming them ----------------------
pg_psql -d postgres -c 'create database olddb' > /dev/null
mkdir -p "$TMP/schema-old"
for f in "$ROOT"/schema/00[1-5]_*.sql; do cp "$f" "$TMP/schema-old/"; done
olddb=${DATABASE_URL/dbname=cdn/dbname=olddb}
"$BIN/billing" migrate --schema "$TMP/schema-old" --db "$olddb" > /dev/null 2>&1 || fail "migrate up to 005"
pg_psql -d olddb -c "insert into customers values ('acme+eu', 'x', null), ('ok-id', 'y', null)" > /dev/null
rc=0
"$BIN/billing" migrate --db "$olddb" > /dev/null 2> "$TMP/custid.err" || rc=$?
assert_eq "$rc" 1 "exit status of 006 over a bad customer id"
grep -q "'acme+eu'" "$TMP/custid.err" && grep -q 'customer-id rule' "$TMP/custid.err" ||
    fail "the error does not name the id and the rule: $(cat "$TMP/custid.err")"
assert_eq "$(pg_psql -d olddb -c "select count(*) from schema_migrations where version = 6")" 0 "006 recorded"
pg_psql -d olddb -c "update customers set id = 'acme-eu' where id = 'acme+eu'" > /dev/null
"$BIN/billing" migrate --db "$olddb" > /dev/null 2> "$TMP/custid.err" || fail "006 after the rename: $(cat "$TMP/custid.err")"

# ---- constraints -------------------------------------------------------------------------------
pg_psql -f "$ROOT/tools/demo-customers.sql" > /dev/null
refused() { # SQL: must fail
    if pg_psql -c "$1" > /dev/null 2> "$TMP/refused.err"; then fail "accepted: $1"; fi
    echo "ok: refused: $1 ($(head -1 "$TMP/refused.err" | cut -c1-90))"
}
accepted() {
    pg_psql -c "$1" > /dev/null || fail "refused: $1"
    echo "ok: accepted: $1"
}
refused "insert into plans (id, currency) values ('p-xxx', 'XXX')"
refused "insert into plans (id, currency, minimum_commit) values ('p-neg', 'USD', -1)"
refused "insert into plans (id, currency, price_per_10k_requests) values ('p-neg', 'USD', -0.01)"
refused "insert into plan_tiers values ('standard-usd', 'na', -1, 0.1)"
refused "insert into plan_tiers values ('standard-usd', 'na', 20000, -0.1)"
refused "insert into plan_tiers values ('no-such-plan', 'na', 0, 0.1)"
refused "insert into plan_zones values ('standard-usd', 'usa', 'na')"
refused "insert into plan_zones values ('standard-usd', 'us', 'na')"
accepted "insert into plan_zones values ('standard-usd', 'MX', 'na')"
refused "insert into customers values ('has space', 'x', null)"
# the one customer-id rule (common/custid.h): 1..64 of A-Z a-z 0-9 . _ -
refused "insert into customers values ('acme+eu', 'x', null)"
refused "insert into customers values ('Müller', 'x', null)"
refused "insert into customers values ('$(printf 'a%.0s' {1..65})', 'x', null)"
refused "insert into customers values ('', 'x', null)"
accepted "insert into customers values ('$(printf 'a%.0s' {1..64})', 'x', null)"
accepted "insert into customers values ('Odd.Cust_1-x', 'x', null)"
# usage holds any sum: numeric, whole numbers
accepted "insert into usage_hourly values ('big', '2026-11-01 00:00Z', 'US', 1, 99999999999999999999999999)"
refused "insert into usage_hourly values ('frac', '2026-11-01 00:00Z', 'US', 1, 1.5)"
refused "insert into customers values ('c1', 'x', 'no-such-plan')"
refused "insert into customer_hosts values ('CDN.Example', 'acme')"
refused "insert into customer_hosts values ('cdn.example', 'no-such-customer')"
refused "insert into usage_hourly values ('acme', '2026-11-01 00:00Z', 'US', -1, 0)"
refused "insert into usage_hourly values ('acme', '2026-11-01 00:00Z', 'US', 1, -1)"
refused "insert into usage_hourly values ('acme', '2026-11-01 00:00Z', 'us', 1, 1)"
refused "insert into usage_hourly values ('acme', '2026-11-01 00:30Z', 'US', 1, 1)"
refused "insert into usage_hourly values ('acme', '2026-11-01 00:00Z', 'US', null, 1)"
accepted "insert into usage_hourly values ('not-a-customer', '2026-11-01 00:00Z', 'ZZ', 1, 1)"
# an hour of UTC whatever the session's time zone (+05:30 has no whole hours)
accepted "set time zone 'Asia/Kolkata'; insert into usage_hourly values ('acme', '2026-11-01 05:30+05:30', 'US', 1, 1)"
# only the contract's columns named: the added ones have defaults
accepted "insert into plans (id, currency) values ('p-min', 'JPY')"

# ---- invoices: a final invoice never changes ----------------------------------------------------
accepted "insert into invoices (number, customer_id, month, currency) values ('INV-1', 'acme', '2026-10-01', 'USD')"
id=$(pg_psql -c "select id from invoices where number = 'INV-1'")
accepted "insert into invoice_lines values ($id, 1, 'data', 1.5, 'GB', 0.085, 0.13, 'na')"
refused "insert into invoice_lines values ($id, 2, 'data', 1, 'GB', 0.085, -0.01, 'na')"
refused "insert into invoices (number, customer_id, month, currency) values ('INV-2', 'acme', '2026-10-15', 'USD')"
refused "insert into invoices (number, customer_id, month, currency) values ('INV-3', 'acme', '2026-10-01', 'USD')"
refused "update invoices set status = 'final' where id = $id"
accepted "update invoices set status = 'final', finalized_at = now() where id = $id"
refused "update invoices set total = 1 where id = $id"
refused "delete from invoices where id = $id"
refused "update invoice_lines set amount = 0 where invoice_id = $id"
refused "delete from invoice_lines where invoice_id = $id"
refused "insert into invoice_lines values ($id, 2, 'x', 1, 'GB', 1, 1, null)"
refused "truncate invoice_lines"
accepted "insert into invoices (number, customer_id, month, currency) values ('INV-4', 'acme', '2026-11-01', 'USD')"
accepted "delete from invoices where number = 'INV-4'"

# ---- roles ------------------------------------------------------------------------------------
as_role() { pg_psql -c "set role $1; $2"; }
as_role billing_reader "select count(*) from usage_hourly" > /dev/null || fail "billing_reader cannot read usage"
if as_role billing_reader "insert into usage_hourly values ('x', '2026-11-01 00:00Z', 'ZZ', 1, 1)" 2> /dev/null; then
    fail "billing_reader may write usage"
fi
as_role billing_writer "insert into usage_hourly values ('w', '2026-11-01 00:00Z', 'ZZ', 1, 1)" ||
    fail "billing_writer cannot write usage"
if as_role billing_writer "insert into customers values ('w', 'w', null)" 2> /dev/null; then
    fail "billing_writer may write customers"
fi
if as_role billing_writer "update plans set minimum_commit = 0" 2> /dev/null; then
    fail "billing_writer may change plans"
fi
echo "ok: roles"

# ---- billing hosts ---------------------------------------------------------------------------
"$BIN/billing" hosts > "$TMP/hosts" || fail "billing hosts"
assert_eq "$(grep -vc '^#' "$TMP/hosts")" "$(pg_psql -c 'select count(*) from customer_hosts')" "hosts printed"
grep -qx '\*.video.acme.example acme' "$TMP/hosts" || fail "wildcard host missing: $(cat "$TMP/hosts")"
grep -qx 'assets.initech.example initech' "$TMP/hosts" || fail "host missing"
assert_eq "$(grep -v '^#' "$TMP/hosts" | awk 'NF != 2' | wc -l)" 0 "lines that are not HOST CUSTOMER"
grep -v '^#' "$TMP/hosts" | LC_ALL=C sort -c || fail "hosts not sorted"
# hosts the collector's host map would refuse (and with them the whole map) are left out, named
pg_psql -c "insert into customer_hosts values ('a..b.example', 'acme'), ('bad!host.example', 'acme'),
            ('cdn.acme.example:8080', 'acme'), ('$(printf 'x%.0s' {1..64}).example', 'acme')" > /dev/null
"$BIN/billing" hosts > "$TMP/hosts" 2> "$TMP/hosts.err" || fail "billing hosts"
assert_eq "$(grep -vc '^#' "$TMP/hosts")" $(($(pg_psql -c 'select count(*) from customer_hosts') - 4)) "hosts printed beside 4 bad ones"
assert_eq "$(grep -c 'host left out of the map' "$TMP/hosts.err")" 4 "warnings naming the bad hosts"
grep -qF 'host="bad!host.example"' "$TMP/hosts.err" || fail "the warning names the host: $(cat "$TMP/hosts.err")"
pg_psql -c "delete from customer_hosts where customer_id = 'acme' and host not like '%acme.example'" > /dev/null
rc=0
"$BIN/billing" hosts --db "host=$TMP/nowhere dbname=x" > /dev/null 2> "$TMP/hosts.err" || rc=$?
assert_eq "$rc" 1 "exit status of billing hosts without a database"
echo ok
