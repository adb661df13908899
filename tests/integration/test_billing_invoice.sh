#!/usr/bin/env bash
# billing invoice on hand-made plans and usage: exact CSV (every amount worked out below by hand),
# text and JSON, the month in UTC by the hits' own hour (the server runs in America/New_York to
# show its time zone does not matter; rows just outside the month are left out), customers
# unknown to `customers` and without a plan reported, drafts recomputed after usage changes, a
# stale draft deleted when its usage can no longer be priced, and a finalized invoice printed
# the same after its usage changed (which is logged: it is billed on the next draft). --preview as a role only in billing_reader
# prints what a draft run stores and writes nothing. --month outside 2000-01 .. the current month
# exits 2, and the current month is never finalized. Bad --month values exit 2.
PG_TIMEZONE=America/New_York
source "$(dirname "$0")/lib/lib.sh"
start_pg
"$BIN/billing" migrate > "$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log"; fail "billing migrate"; }

# Plans. std (USD): zones US -> na, DE -> eu, every other -> rest; na graduated at 10 GB.
# yen (JPY, no decimals). broken (EUR): a zone for US only, no '*'.
pg_psql << 'EOF'
INSERT INTO plans (id, currency, minimum_commit, price_per_10k_requests) VALUES
  ('std', 'USD', 5.00, 0.0075), ('yen', 'JPY', 0, 1), ('broken', 'EUR', 0, 0);
INSERT INTO plan_zones (plan_id, country, zone) VALUES
  ('std', 'US', 'na'), ('std', 'DE', 'eu'), ('std', '*', 'rest'),
  ('yen', '*', 'world'), ('broken', 'US', 'us');
INSERT INTO plan_tiers (plan_id, zone, from_gb, price_per_gb) VALUES
  ('std', 'na', 0, 0.085), ('std', 'na', 10, 0.060), ('std', 'eu', 0, 0.125),
  ('std', 'rest', 0, 0.135), ('yen', 'world', 0, 12), ('broken', 'us', 0, 1);
INSERT INTO customers (id, name, plan_id) VALUES
  ('acme', 'Acme, Inc.', 'std'), ('initech', 'Initech KK', 'yen'),
  ('brokenco', 'Broken Co', 'broken'), ('quiet', 'Quiet Ltd', 'std'),
  ('freeloader', 'Free Loader', NULL);
INSERT INTO usage_hourly (customer_id, hour, country, hits, bytes) VALUES
  -- acme in 2026-10 (UTC)
  ('acme', '2026-10-01 00:00:00+00', 'US', 10000, 6000000000),
  ('acme', '2026-10-31 23:00:00+00', 'US', 5000, 4000000001),
  ('acme', '2026-10-15 12:00:00+00', 'DE', 20000, 1000000000),
  ('acme', '2026-11-01 00:00:00+01', 'DE', 10000, 0),           -- = 2026-10-31T23Z: inside
  ('acme', '2026-10-20 00:00:00+00', 'BR', 5000, 1000000000),
  -- acme just outside 2026-10
  ('acme', '2026-09-30 23:00:00+00', 'US', 999999, 999000000000),
  ('acme', '2026-11-01 00:00:00+00', 'US', 7777, 777000000000),
  ('acme', '2026-10-01 00:00:00+01', 'DE', 12345, 12345000000000), -- = 2026-09-30T23Z: outside
  -- the others
  ('initech', '2026-10-10 10:00:00+00', 'JP', 25000, 2500000000),
  ('brokenco', '2026-10-05 05:00:00+00', 'US', 0, 1000000000),
  ('freeloader', '2026-10-05 05:00:00+00', 'FR', 1, 1),
  ('ghost', '2026-10-07 07:00:00+00', 'GB', 42, 4200);
EOF

invoice() { "$BIN/billing" invoice --month 2026-10 "$@"; }

# ---- CSV, exactly ------------------------------------------------------------------------------
# acme, zones in name order:
#   eu    DE 1 GB (the +01 row has 0 bytes)            x 0.125 = 0.125        -> 0.12 (half-even)
#   na    US 6 GB + 4 GB + 1 byte: 10 GB               x 0.085 = 0.85
#              and 0.000000001 GB over 10 GB           x 0.06  = 0.00000000006 -> 0.00
#   rest  BR 1 GB                                      x 0.135 = 0.135        -> 0.14 (half-even)
#   requests 10000 + 5000 + 20000 + 10000 + 5000 = 50000 hits = 5 x 0.0075 = 0.0375 -> 0.04
#   subtotal 1.15 < minimum 5.00: top-up 3.85, total 5.00
# brokenco: US 1 GB x 1 = 1.00 EUR, no hits: no requests line.
# initech:  2.5 GB x 12 = 30 JPY; 25000 hits = 2.5 x 1 = 2.5 -> 2 (half-even); total 32.
# quiet: no usage, minimum 5.00. freeloader: no plan. ghost: not a customer.
cat > "$TMP/want.csv" << 'EOF'
invoice,customer,month,line,description,quantity,unit,unit_price,amount,currency,status
INV-202610-acme,acme,2026-10,1,"Data transfer, zone eu",1,GB,0.125,0.12,USD,draft
INV-202610-acme,acme,2026-10,2,"Data transfer, zone na, 0-10 GB",10,GB,0.085,0.85,USD,draft
INV-202610-acme,acme,2026-10,3,"Data transfer, zone na, over 10 GB",0.000000001,GB,0.06,0.00,USD,draft
INV-202610-acme,acme,2026-10,4,"Data transfer, zone rest",1,GB,0.135,0.14,USD,draft
INV-202610-acme,acme,2026-10,5,Requests,5,10k requests,0.0075,0.04,USD,draft
INV-202610-acme,acme,2026-10,6,Minimum commit top-up (minimum 5.00 USD),1,,3.85,3.85,USD,draft
INV-202610-acme,acme,2026-10,,TOTAL,,,,5.00,USD,draft
INV-202610-brokenco,brokenco,2026-10,1,"Data transfer, zone us",1,GB,1,1.00,EUR,draft
INV-202610-brokenco,brokenco,2026-10,,TOTAL,,,,1.00,EUR,draft
INV-202610-initech,initech,2026-10,1,"Data transfer, zone world",2.5,GB,12,30,JPY,draft
INV-202610-initech,initech,2026-10,2,Requests,2.5,10k requests,1,2,JPY,draft
INV-202610-initech,initech,2026-10,,TOTAL,,,,32,JPY,draft
INV-202610-quiet,quiet,2026-10,1,Minimum commit top-up (minimum 5.00 USD),1,,5.00,5.00,USD,draft
INV-202610-quiet,quiet,2026-10,,TOTAL,,,,5.00,USD,draft
EOF
invoice --format csv > "$TMP/got.csv" 2> "$TMP/err1" || { cat "$TMP/err1"; fail "invoice --format csv"; }
diff -u "$TMP/want.csv" "$TMP/got.csv" || fail "CSV differs from the hand-computed invoices"
echo "ok: CSV equals the hand-computed invoices"

# ---- attention ---------------------------------------------------------------------------------
grep -q 'kind=unknown_customer customer="ghost".*42 hits and 4200 bytes' "$TMP/err1" ||
    { cat "$TMP/err1"; fail "unknown customer ghost not reported"; }
grep -q 'kind=no_plan customer="freeloader"' "$TMP/err1" ||
    { cat "$TMP/err1"; fail "customer without a plan not reported"; }
echo "ok: unknown customer and customer without a plan reported on stderr, exit 0"
set +e
invoice --format csv --strict > "$TMP/strict.csv" 2> /dev/null
rc=$?
set -e
assert_eq "$rc" 1 "exit status with --strict and attention"
cmp -s "$TMP/strict.csv" "$TMP/want.csv" || fail "--strict changed the output"
invoice --format csv --strict --customer acme > /dev/null 2>&1 || fail "--strict without attention"
echo "ok: --strict without attention exits 0"

# ---- text and JSON -----------------------------------------------------------------------------
invoice > "$TMP/got.txt" 2> /dev/null || fail "invoice --format text"
grep -q '^Customer  Acme, Inc. (acme)$' "$TMP/got.txt" || { cat "$TMP/got.txt"; fail "text: customer"; }
grep -q '^Period    2026-10-01 to 2026-10-31, UTC$' "$TMP/got.txt" || fail "text: period"
grep -Eq '^ +Total USD +5\.00$' "$TMP/got.txt" || { cat "$TMP/got.txt"; fail "text: acme's total"; }
grep -Eq '^ +Total JPY +32$' "$TMP/got.txt" || { cat "$TMP/got.txt"; fail "text: initech's total"; }
echo "ok: text shows customers, period and totals"

invoice --format json > "$TMP/got.json" 2> /dev/null || fail "invoice --format json"
jq -e . "$TMP/got.json" > /dev/null || fail "JSON does not parse"
assert_eq "$(jq -r '[.invoices[].invoice] | join(" ")' "$TMP/got.json")" \
    "INV-202610-acme INV-202610-brokenco INV-202610-initech INV-202610-quiet" "JSON invoices"
assert_eq "$(jq -r '.invoices[0] | "\(.total) \(.currency) \(.status) \(.lines | length)"' "$TMP/got.json")" \
    "5.00 USD draft 6" "JSON acme"
assert_eq "$(jq -r '.invoices[0].lines[2].quantity' "$TMP/got.json")" "0.000000001" "JSON exact GB"
assert_eq "$(jq -r '[.attention[] | "\(.kind):\(.customer)"] | sort | join(" ")' "$TMP/got.json")" \
    "no_plan:freeloader unknown_customer:ghost" "JSON attention"

# ---- drafts are recomputed ---------------------------------------------------------------------
# acme +40 GB in DE: eu 41 GB x 0.125 = 5.125 -> 5.12; subtotal 1.15 - 0.12 + 5.12 = 6.15 > 5.00
pg_psql -c "INSERT INTO usage_hourly VALUES ('acme', '2026-10-16 00:00:00+00', 'DE', 0, 40000000000)"
invoice --format csv --customer acme > "$TMP/acme2.csv" 2> /dev/null || fail "invoice after usage change"
assert_eq "$(awk -F, '$5 == "TOTAL" {print $9}' "$TMP/acme2.csv")" "6.15" "acme's recomputed total"
grep -q '^INV-202610-acme,acme,2026-10,1,"Data transfer, zone eu",41,GB,0.125,5.12,USD,draft$' "$TMP/acme2.csv" ||
    { cat "$TMP/acme2.csv"; fail "recomputed eu line"; }
grep -q Minimum "$TMP/acme2.csv" && fail "minimum line kept after the minimum was reached"
assert_eq "$(pg_psql -c "SELECT count(*), max(total) FROM invoices WHERE customer_id = 'acme'")" "1|6.15" \
    "one stored acme invoice, recomputed"
assert_eq "$(pg_psql -c "SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
                          WHERE i.customer_id = 'acme'")" 5 "acme's stored lines replaced"

# a draft that can no longer be priced is reported and deleted, not printed stale
pg_psql -c "INSERT INTO usage_hourly VALUES ('brokenco', '2026-10-06 00:00:00+00', 'FR', 1, 1)"
invoice --format csv > "$TMP/got3.csv" 2> "$TMP/err3" || fail "invoice with an unpriceable draft"
grep -q 'kind=cannot_price customer="brokenco".*no zone for country FR' "$TMP/err3" ||
    { cat "$TMP/err3"; fail "cannot_price not reported"; }
grep -q brokenco "$TMP/got3.csv" && fail "stale brokenco draft printed"
assert_eq "$(pg_psql -c "SELECT count(*) FROM invoices WHERE customer_id = 'brokenco'")" 0 "stale draft deleted"

# ---- finalization ------------------------------------------------------------------------------
# Only a complete month is finalized: edge fra has usage in 2026-10 and is billed (watermarks in
# both partitions of hits) up to 1 ms short of the month's end plus the 1 h grace: refused, named.
pg_psql << 'EOF'
INSERT INTO billing_topics VALUES ('hits', 2);
INSERT INTO billing_edge_months VALUES ('fra', '2026-10-01', 5);
INSERT INTO billing_edge_watermarks (topic, edge, kafka_partition, wm_ms) VALUES
  ('hits', 'fra', 0, 1793494799999), ('hits', 'fra', 1, 1793500000000); -- 2026-11-01T00:59:59.999Z
EOF
rc=0
invoice --finalize --customer acme > /dev/null 2> "$TMP/refused" || rc=$?
assert_eq "$rc" 1 "exit status of --finalize with edge fra billed to 00:59:59.999"
grep -q 'not complete: fra billed to 2026-11-01T00:59:59.999Z' "$TMP/refused" || { cat "$TMP/refused"; fail "the refusal names fra"; }
assert_eq "$(pg_psql -c "SELECT count(*) FROM invoices WHERE status = 'final'")" 0 "invoices finalized by a refused run"
# an ended month that is not complete can be finalized on purpose, the reason kept and printed
invoice --finalize --customer quiet --force-incomplete --reason "fra decommissioned" > "$TMP/forced.txt" 2> /dev/null ||
    fail "--finalize --force-incomplete of an ended, incomplete month"
grep -q '^Status    final since .*, finalized incomplete: fra decommissioned$' "$TMP/forced.txt" || { head -4 "$TMP/forced.txt"; fail "the reason is printed"; }
grep -q '^Incomplete fra billed to 2026-11-01T00:59:59.999Z' "$TMP/forced.txt" || { head -4 "$TMP/forced.txt"; fail "what was incomplete is printed"; }
assert_eq "$(pg_psql -c "SELECT status, incomplete_reason FROM invoices WHERE customer_id = 'quiet'")" \
    "final|fra decommissioned" "quiet finalized incomplete, with the reason"
# a shorter grace, or fra billed exactly to the month's end plus the grace: complete
invoice --customer acme --grace 59m --format json 2> /dev/null | jq -e '.invoices[0].incomplete == null' > /dev/null ||
    fail "the draft is complete with a 59 min grace"
pg_psql -c "UPDATE billing_edge_watermarks SET wm_ms = 1793494800000 WHERE kafka_partition = 0" > /dev/null
invoice --finalize --customer acme --format csv > "$TMP/final.csv" 2> /dev/null || fail "--finalize"
diff "$TMP/acme2.csv" <(sed 's/,final$/,draft/' "$TMP/final.csv") || fail "finalizing changed amounts"
assert_eq "$(awk -F, 'NR > 1 {print $NF}' "$TMP/final.csv" | sort -u)" final "status column of the final invoice"
assert_eq "$(pg_psql -c "SELECT status, finalized_at IS NOT NULL FROM invoices WHERE customer_id = 'acme'")" \
    "final|t" "acme's invoice final"
assert_eq "$(pg_psql -c "SELECT status FROM invoices WHERE customer_id = 'initech'")" "draft" \
    "--customer finalized only acme"
invoice --customer acme > "$TMP/final.txt" 2> /dev/null || fail "text of the final invoice"
grep -q '^Status    final since 20[0-9-]*T[0-9:]*Z$' "$TMP/final.txt" || { cat "$TMP/final.txt"; fail "final status"; }
invoice --customer acme --format json > "$TMP/final.json" 2> /dev/null || fail "json of the final invoice"

# late usage for the finalized month, and a customer renamed: acme prints the same, reported
pg_psql -c "INSERT INTO usage_hourly VALUES ('acme', '2026-10-31 22:00:00+00', 'US', 100, 50000000000)"
pg_psql -c "UPDATE customers SET name = 'Acme Renamed' WHERE id = 'acme'"
invoice --customer acme --format csv > "$TMP/after.csv" 2> "$TMP/err4" || fail "invoice after finalization"
cmp -s "$TMP/after.csv" "$TMP/final.csv" || { diff "$TMP/final.csv" "$TMP/after.csv"; fail "final invoice changed"; }
# (billed on acme's next draft as adjustments: test_billing_finance.sh; logged, no attention)
grep -q 'late usage after finalization: billed as adjustment lines on the customer.s next draft" customer="acme" month=2026-10 invoice=INV-202610-acme hits=50100 bytes=102000000001' "$TMP/err4" ||
    { cat "$TMP/err4"; fail "usage after finalization not logged"; }
grep -q 'kind=usage_after_final' "$TMP/err4" && fail "billable late usage reported as needing attention"
invoice --customer acme > "$TMP/after.txt" 2> /dev/null || fail "text after finalization"
cmp -s "$TMP/after.txt" "$TMP/final.txt" || { diff "$TMP/final.txt" "$TMP/after.txt"; fail "final text changed"; }
invoice --customer acme --format json > "$TMP/after.json" 2> /dev/null || fail "json after finalization"
assert_eq "$(jq -c '.invoices' "$TMP/after.json")" "$(jq -c '.invoices' "$TMP/final.json")" "final JSON invoices"
assert_eq "$(jq -r '.attention | length' "$TMP/after.json")" "0" "JSON attention after finalization (late usage is billed next month)"
invoice --finalize --customer acme --format csv > "$TMP/again.csv" 2> /dev/null || fail "second --finalize"
cmp -s "$TMP/again.csv" "$TMP/final.csv" || fail "finalizing again changed the invoice"
echo "ok: the final invoice prints the same after late usage and a rename"
# the drafts still follow usage: initech +1 GB = 3.5 x 12 = 42, + 2 = 44
pg_psql -c "INSERT INTO usage_hourly VALUES ('initech', '2026-10-11 00:00:00+00', 'JP', 0, 1000000000)"
assert_eq "$(invoice --customer initech --format csv 2> /dev/null | awk -F, '$5 == "TOTAL" {print $9}')" 44 \
    "initech's draft recomputed"
if pg_psql -c "UPDATE invoices SET total = 0 WHERE customer_id = 'acme'" 2> /dev/null; then
    fail "a final invoice was changed by UPDATE"
fi

# ---- --preview, as a login role that is only in billing_reader -----------------------------------
# Usage changes after the last draft run (initech +2 GB), so a preview must compute, not reprint.
# It prints what the next draft run stores (CSV and JSON but for the status), the
# final invoice as it is, and writes nothing: the invoice tables' rows are the same after it.
pg_psql -c "CREATE ROLE finance LOGIN IN ROLE billing_reader"
pg_psql -c "INSERT INTO usage_hourly VALUES ('initech', '2026-10-12 00:00:00+00', 'JP', 0, 2000000000)"
as_reader() { DATABASE_URL="${DATABASE_URL/user=postgres/user=finance}" "$BIN/billing" invoice --month 2026-10 "$@"; }
tables() {
    pg_psql -c "SELECT (SELECT count(*) || ' ' || md5(string_agg(i::text, '|' ORDER BY id)) FROM invoices i)
                || ' / ' || (SELECT count(*) || ' ' || md5(string_agg(l::text, '|' ORDER BY invoice_id, line_no))
                FROM invoice_lines l)"
}
before=$(tables)
set +e
as_reader --format csv > /dev/null 2> "$TMP/reader.err"
rc=$?
set -e
assert_eq "$rc" 1 "a draft run as billing_reader fails (it writes drafts)"
as_reader --preview --format csv > "$TMP/preview.csv" 2> "$TMP/preview.err" ||
    { cat "$TMP/preview.err"; fail "--preview as billing_reader"; }
as_reader --preview --format json > "$TMP/preview.json" 2> /dev/null || fail "--preview --format json"
as_reader --preview > "$TMP/preview.txt" 2> /dev/null || fail "--preview --format text"
assert_eq "$(tables)" "$before" "invoices and invoice_lines (count, md5 of every row) after --preview"
grep -q 'late usage after finalization.*customer="acme"' "$TMP/preview.err" || { cat "$TMP/preview.err"; fail "--preview logs late usage"; }
# initech: 5.5 GB x 12 = 66, + 2 = 68 in the preview; its stored draft still says 44
assert_eq "$(awk -F, '$2 == "initech" && $5 == "TOTAL" {print $9}' "$TMP/preview.csv")" 68 "initech's previewed total"
assert_eq "$(pg_psql -c "SELECT total FROM invoices WHERE customer_id = 'initech'")" 44 "initech's stored draft untouched"
invoice --format csv > "$TMP/draft.csv" 2> /dev/null || fail "the draft run after the preview"
# byte for byte but for the status column (last): a previewed row says preview, the stored draft
# says draft; the final invoice says final in both
diff -u "$TMP/draft.csv" <(sed 's/,preview$/,draft/' "$TMP/preview.csv") || fail "--preview CSV differs from the draft run's"
assert_eq "$(awk -F, '$5 == "TOTAL" {print $2 ":" $NF}' "$TMP/preview.csv" | tr '\n' ' ')" \
    "acme:final initech:preview quiet:final " "statuses in the preview's CSV"
invoice --format json > "$TMP/draft.json" 2> /dev/null || fail "the draft run's JSON"
assert_eq "$(jq -c '[.invoices[] | del(.status)]' "$TMP/preview.json")" "$(jq -c '[.invoices[] | del(.status)]' "$TMP/draft.json")" \
    "--preview JSON = the draft run's, status aside"
assert_eq "$(jq -r '[.invoices[] | "\(.customer):\(.status)"] | join(" ")' "$TMP/preview.json")" \
    "acme:final initech:preview quiet:final" "statuses in the preview"
grep -q '^Status    preview' "$TMP/preview.txt" || fail "text says preview"
grep -Eq '^ +Total JPY +68$' "$TMP/preview.txt" || { cat "$TMP/preview.txt"; fail "text: initech's previewed total"; }
set +e
"$BIN/billing" invoice --month 2026-10 --preview --finalize > /dev/null 2> "$TMP/pf"
assert_eq "$?" 2 "exit status of --preview --finalize"
set -e
echo "ok: --preview as billing_reader prints the draft run's invoices and writes nothing"

# ---- months with bounds ------------------------------------------------------------------------
this=$(date -u +%Y-%m)
next=$(date -u -d "$(date -u +%Y-%m-15) +1 month" +%Y-%m)
for m in 1999-12 0001-01 9999-12 2099-01 "$next"; do
    set +e
    "$BIN/billing" invoice --month "$m" --preview > "$TMP/out" 2> "$TMP/bad"
    rc=$?
    set -e
    assert_eq "$rc" 2 "exit status of --month $m"
    assert_eq "$(wc -l < "$TMP/bad")" 1 "one line for --month $m"
    grep -q -- "--month $m: outside the months that can be invoiced, 2000-01 to $this" "$TMP/bad" ||
        { cat "$TMP/bad"; fail "the error for --month $m"; }
    [[ ! -s $TMP/out ]] || fail "output for --month $m"
done
"$BIN/billing" invoice --month 2000-01 --preview > /dev/null 2>&1 || fail "--month 2000-01"
"$BIN/billing" invoice --month "$this" --preview > /dev/null 2>&1 || fail "--month $this (the current month)"
before=$(tables)
for forced in "" "--force-incomplete --reason early"; do
    set +e
    # shellcheck disable=SC2086 # $forced is two options or none
    "$BIN/billing" invoice --month "$this" --finalize $forced > /dev/null 2> "$TMP/notended"
    rc=$?
    set -e
    assert_eq "$rc" 1 "exit status of --finalize of the current month ${forced:-unforced}"
    if [[ -z $forced ]]; then # the completeness rule: not ended plus the grace
        want="month $this is not complete: the month has not ended plus the grace"
    else # and forcing it does not help
        want="month $this has not ended (it ends .*T00:00:00Z, by the database's clock); only a month that has ended can be finalized"
    fi
    grep -q "$want" "$TMP/notended" || { cat "$TMP/notended"; fail "the refusal says the month has not ended"; }
done
assert_eq "$(tables)" "$before" "invoice tables after refused --finalize of the current month"
echo "ok: months outside 2000-01 .. $this exit 2; the current month cannot be finalized, forced or not"

# ---- bad usage ---------------------------------------------------------------------------------
for m in 2026-13 2026-1 abc 2026-00 ''; do
    set +e
    "$BIN/billing" invoice --month "$m" > /dev/null 2> "$TMP/bad"
    rc=$?
    set -e
    assert_eq "$rc" 2 "exit status of --month '$m'"
    grep -q -- "--month $m" "$TMP/bad" || { cat "$TMP/bad"; fail "the error does not name '$m'"; }
done
set +e
"$BIN/billing" invoice > /dev/null 2>&1
assert_eq "$?" 2 "exit status without --month"
"$BIN/billing" invoice --month 2026-10 --format xml > /dev/null 2>&1
assert_eq "$?" 2 "exit status of --format xml"
"$BIN/billing" invoice --month 2026-10 --customer nosuch > /dev/null 2> "$TMP/nosuch"
assert_eq "$?" 1 "exit status for a customer that does not exist"
set -e
grep -q 'no customer nosuch' "$TMP/nosuch" || { cat "$TMP/nosuch"; fail "no such customer message"; }
echo ok
