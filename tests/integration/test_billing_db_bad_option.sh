#!/usr/bin/env bash
# A connection string whose keyword or value libpq refuses is a configuration error, not an
# outage: `billing run` (and --once, and billing offsets) exits 2 at once with one line naming
# the problem, never retries, and never prints the password that stood beside it.
source "$(dirname "$0")/lib/lib.sh"
source "$(dirname "$0")/lib/billing_lib.sh"
billing_setup

# expect_exit_2 WHAT PATTERN ARGS...: billing ARGS exits 2 within 10 s, its stderr matches
# PATTERN and does not hold the password.
expect_exit_2() {
    local what=$1 pattern=$2 rc t0
    shift 2
    t0=$(date +%s%3N)
    set +e
    timeout 10 "$BIN/billing" "$@" 2> "$TMP/err.log"
    rc=$?
    set -e
    cat "$TMP/err.log"
    assert_eq "$rc" 2 "$what: exit status (after $(($(date +%s%3N) - t0)) ms)"
    grep -q -- "$pattern" "$TMP/err.log" || fail "$what: the error does not say '$pattern'"
    if grep -q 's3cretPW' "$TMP/err.log"; then fail "$what: the password was printed"; fi
    assert_eq "$(grep -c 'partitions taken' "$TMP/err.log" || true)" 0 "$what: partitions taken"
}

expect_exit_2 "run, sslmode=bogus" 'invalid sslmode value' run --db "password=s3cretPW sslmode=bogus"
expect_exit_2 "run --once, sslmode=bogus" 'invalid sslmode value' run --once --db "password=s3cretPW sslmode=bogus"
expect_exit_2 "run, port=abc" 'for connection option' run --db "password=s3cretPW port=abc"
expect_exit_2 "run, URI ?sslmode=bogus" 'invalid sslmode value' run --db "postgresql://billing:s3cretPW@/cdn?sslmode=bogus"
expect_exit_2 "run, unknown keyword" 'invalid connection option' run --db "password=s3cretPW bogus=1"
expect_exit_2 "offsets, sslmode=bogus" 'invalid sslmode value' offsets --db "password=s3cretPW sslmode=bogus"
expect_exit_2 "status, gssencmode=x" 'invalid gssencmode value' status --db "password=s3cretPW gssencmode=x"
echo ok
