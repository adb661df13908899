#!/usr/bin/env bash
# Finance rules of `billing invoice` (README, "Finance: life cycle, plans over time, late usage,
# tax and numbering"), every total checked against the independent decimal oracle
# (lib/invoice_oracle.py --spec), in one PostgreSQL cluster:
#   - a customer starting mid-month: no invoice the month before (its usage there is reported),
#     the minimum commit prorated by active days, rounded half-to-even; tax rounded half-to-even;
#   - a customer active 20 days of a 31-day month: 100 x 20/31 = 64.516... -> 64.52;
#   - a plan change mid-month at an hour: two parts, each priced alone by its plan (tiers from
#     0 GB, minimum prorated by hours), customers.plan_id following the plan in effect;
#   - late usage after finalization: exactly one adjustment on the next invoice, priced as the
#     difference (the top-up it now covers comes back as a negative line), billed once (not again
#     the month after), and a second change billed from the first; usage that went down is a
#     credit (negative lines), and credits larger than an invoice leave it at 0 and are carried
#     forward to the next one (tax on what is left); late usage of a split month priced in its
#     part; late usage older than the 3-month window reported (usage_old_edits, schema/009), not
#     billed; a credit in another currency than the next invoice's reported, not taken;
#   - plans used by a final invoice are frozen (trigger), and plan changes reaching into a final
#     month are refused;
#   - gapless numbers given at finalization: a finalization that fails halfway leaves no gap;
#   - --preview as a billing_reader login prints what a draft run stores, writes nothing.
source "$(dirname "$0")/lib/lib.sh"
start_pg
"$BIN/billing" migrate > "$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log"; fail "billing migrate"; }
ORACLE="$ROOT/tests/integration/lib/invoice_oracle.py"

SMALL='{"minimum": "100", "per10k": "0.01", "zones": {"*": "w"},
        "tiers": [{"zone": "w", "from_gb": "0", "price_per_gb": "0.10"}, {"zone": "w", "from_gb": "10", "price_per_gb": "0.05"}]}'
BIG='{"minimum": "300", "per10k": "0.02", "zones": {"*": "w"}, "tiers": [{"zone": "w", "from_gb": "0", "price_per_gb": "0.08"}]}'
TINY='{"minimum": "5", "per10k": "0.0075", "zones": {"DE": "eu", "*": "rest"},
       "tiers": [{"zone": "eu", "from_gb": "0", "price_per_gb": "0.125"}, {"zone": "rest", "from_gb": "0", "price_per_gb": "0.135"}]}'
pg_psql << 'EOF'
INSERT INTO plans (id, currency, minimum_commit, price_per_10k_requests) VALUES
  ('small', 'USD', 100, 0.01), ('big', 'USD', 300, 0.02), ('tiny', 'USD', 5, 0.0075),
  ('spare', 'USD', 0, 0);
INSERT INTO plan_zones (plan_id, country, zone) VALUES
  ('small', '*', 'w'), ('big', '*', 'w'), ('tiny', 'DE', 'eu'), ('tiny', '*', 'rest'), ('spare', '*', 'w');
INSERT INTO plan_tiers (plan_id, zone, from_gb, price_per_gb) VALUES
  ('small', 'w', 0, 0.10), ('small', 'w', 10, 0.05), ('big', 'w', 0, 0.08),
  ('tiny', 'eu', 0, 0.125), ('tiny', 'rest', 0, 0.135), ('spare', 'w', 0, 1);
-- only the contract's columns: active since always, no tax, 30 days to pay
INSERT INTO customers (id, name, plan_id) VALUES ('mover', 'Mover Ltd', 'small'), ('late', 'Late GmbH', 'tiny');
INSERT INTO customers (id, name, plan_id, active_from, active_to, tax_rate, payment_terms_days) VALUES
  ('newco', 'New Co', 'small', '2026-11-16', NULL, 0.0725, 14),
  ('oddco', 'Odd Co', 'small', '2026-10-11', '2026-10-30', 0, 30);
EOF

# total CUSTOMER MONTH: the TOTAL row of the CSV; oracle SPEC_JSON: the oracle's figures
total() { awk -F, '$5 == "TOTAL" {print $9}' "$TMP/$1.$2.csv"; }
invoice() { # customer month [options]: the CSV into $TMP/customer.month.csv, stderr into .err
    local c=$1 m=$2
    shift 2
    "$BIN/billing" invoice --month "$m" --customer "$c" --format csv "$@" > "$TMP/$c.$m.csv" 2> "$TMP/$c.$m.err" ||
        { cat "$TMP/$c.$m.err"; fail "billing invoice --month $m --customer $c $*"; }
}
oracle() { echo "$1" > "$TMP/spec.json"; python3 "$ORACLE" --spec "$TMP/spec.json"; }
line() { grep -F "$2" "$TMP/$1.csv" || { cat "$TMP/$1.csv"; fail "$1: no line $2"; }; }

# ---- life cycle: a customer starting mid-month --------------------------------------------------
pg_psql << 'EOF'
INSERT INTO usage_hourly (customer_id, hour, country, hits, bytes) VALUES
  ('newco', '2026-10-20 10:00+00', 'US', 5, 5),              -- before active_from: not invoiced
  ('newco', '2026-11-20 10:00+00', 'US', 30000, 1000000000);
EOF
invoice newco 2026-10
assert_eq "$(wc -l < "$TMP/newco.2026-10.csv")" 1 "newco's CSV for 2026-10 (the header only)"
assert_eq "$(pg_psql -c "SELECT count(*) FROM invoices WHERE customer_id = 'newco'")" 0 "newco's invoices for 2026-10"
grep -q 'kind=inactive customer="newco" detail="5 hits and 5 bytes in 2026-10, a month outside the customer.s active days (2026-11-16 to open)' \
    "$TMP/newco.2026-10.err" || { cat "$TMP/newco.2026-10.err"; fail "newco's usage before active_from not reported"; }
invoice newco 2026-11
# 1 GB x 0.10 + 3 x 0.01 = 0.13; minimum 100 x 15/30 = 50.00, top-up 49.87; tax 50.00 x 0.0725
# = 3.625 -> 3.62 (half-to-even); total 53.62
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-11\", \"tax_rate\": \"0.0725\", \"active_from\": \"2026-11-16\",
  \"parts\": [{\"from\": \"2026-11-01T00\", \"plan\": $SMALL}],
  \"usage\": [{\"hour\": \"2026-11-20T10\", \"country\": \"US\", \"hits\": 30000, \"bytes\": 1000000000}]}")
assert_eq "$(total newco 2026-11)" "$(jq -r .total <<< "$want")" "newco's 2026-11 total (oracle: $want)"
assert_eq "$(total newco 2026-11)" "53.62" "newco's 2026-11 total by hand"
line newco.2026-11 ',Minimum commit top-up (minimum 100.00 USD x 15/30 days),1,,49.87,49.87,USD' > /dev/null
line newco.2026-11 ',Tax 7.25 %,50.00,,0.0725,3.62,USD' > /dev/null
assert_eq "$(pg_psql -c "SELECT period_from, period_to, tax_rate, tax, topup, subtotal, total FROM invoices WHERE customer_id = 'newco'")" \
    "2026-11-16|2026-11-30|0.0725|3.62|49.87|0.13|53.62" "newco's stored period, tax, top-up, subtotal, total"
assert_eq "$(pg_psql -c "SELECT string_agg(kind, ',' ORDER BY line_no) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE customer_id = 'newco'")" \
    "usage,usage,minimum,tax" "newco's line kinds"
echo "ok: a customer starting mid-month: nothing the month before, minimum prorated, tax half-to-even"

invoice oddco 2026-10
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-10\", \"active_from\": \"2026-10-11\", \"active_to\": \"2026-10-30\",
  \"parts\": [{\"from\": \"2026-10-01T00\", \"plan\": $SMALL}], \"usage\": []}")
assert_eq "$(total oddco 2026-10)" "$(jq -r .total <<< "$want")" "oddco's 2026-10 total (oracle)"
line oddco.2026-10 ',Minimum commit top-up (minimum 100.00 USD x 20/31 days),1,,64.52,64.52,USD' > /dev/null
invoice oddco 2026-11
assert_eq "$(wc -l < "$TMP/oddco.2026-11.csv")" 1 "oddco's CSV for 2026-11, after active_to"
echo "ok: 20 active days of 31: 100 x 20/31 = 64.516... -> 64.52; no invoice after active_to"

# a customer given its first plan later: that plan since always (as customers.plan_id did)
pg_psql -c "INSERT INTO customers (id, name) VALUES ('later', 'Later Ltd')"
pg_psql -c "INSERT INTO usage_hourly VALUES ('later', '2026-10-02 00:00+00', 'FR', 0, 2000000000)"
pg_psql -c "UPDATE customers SET plan_id = 'spare' WHERE id = 'later'"
invoice later 2026-10
assert_eq "$(total later 2026-10)" "2.00" "later's 2026-10 (2 GB x 1, its first plan applies since always)"

# ---- a plan change mid-month, at an hour ---------------------------------------------------------
pg_psql << 'EOF'
INSERT INTO customer_plans (customer_id, plan_id, valid_from) VALUES ('mover', 'big', '2026-11-15 12:00+00');
INSERT INTO usage_hourly (customer_id, hour, country, hits, bytes) VALUES
  ('mover', '2026-11-10 00:00+00', 'FR', 10000, 12000000000),
  ('mover', '2026-11-15 11:00+00', 'FR', 0, 3000000000),      -- the last hour of small
  ('mover', '2026-11-15 12:00+00', 'FR', 20000, 5000000000);  -- the first hour of big
EOF
assert_eq "$(pg_psql -c "SELECT plan_id FROM customers WHERE id = 'mover'")" big "customers.plan_id follows the plan in effect now"
invoice mover 2026-11
# small, 348 h: 10 GB x 0.10 + 5 GB x 0.05 + 1 x 0.01 = 1.26; minimum 100 x 348/720 = 48.33
# big, 372 h: 5 GB x 0.08 + 2 x 0.02 = 0.44; minimum 300 x 372/720 = 155.00
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-11\",
  \"parts\": [{\"from\": \"2026-11-01T00\", \"plan\": $SMALL}, {\"from\": \"2026-11-15T12\", \"plan\": $BIG}],
  \"usage\": [{\"hour\": \"2026-11-10T00\", \"country\": \"FR\", \"hits\": 10000, \"bytes\": 12000000000},
             {\"hour\": \"2026-11-15T11\", \"country\": \"FR\", \"hits\": 0, \"bytes\": 3000000000},
             {\"hour\": \"2026-11-15T12\", \"country\": \"FR\", \"hits\": 20000, \"bytes\": 5000000000}]}")
assert_eq "$(total mover 2026-11)" "$(jq -r .total <<< "$want")" "mover's 2026-11 total (oracle: $want)"
assert_eq "$(total mover 2026-11)" "203.33" "mover's 2026-11 total by hand"
line mover.2026-11 '"Plan small, 2026-11-01 00:00 to 2026-11-15 12:00 UTC: Data transfer, zone w, over 10 GB",5,GB,0.05,0.25,USD' > /dev/null
line mover.2026-11 '"Plan big, 2026-11-15 12:00 to 2026-12-01 00:00 UTC: Data transfer, zone w",5,GB,0.08,0.40,USD' > /dev/null
line mover.2026-11 '"Plan small, 2026-11-01 00:00 to 2026-11-15 12:00 UTC: Minimum commit top-up (minimum 100.00 USD x 348/720 hours)",1,,47.07,47.07,USD' > /dev/null
assert_eq "$(pg_psql -c "SELECT string_agg(p.plan_id, ',' ORDER BY part_no) FROM invoice_parts p JOIN invoices i ON i.id = p.invoice_id WHERE customer_id = 'mover'")" \
    "small,big" "mover's invoice_parts"
invoice mover 2026-10 # before the change: one part, small, no split
line mover.2026-10 ',Minimum commit top-up (minimum 100.00 USD),1,,100.00,100.00,USD' > /dev/null
echo "ok: a plan change at 2026-11-15T12Z splits the month: each part priced alone by its plan"

# ---- gapless numbers; late usage billed once -----------------------------------------------------
pg_psql -c "INSERT INTO usage_hourly VALUES ('late', '2026-10-05 00:00+00', 'DE', 20000, 1000000000)"
invoice late 2026-10 --finalize
invoice mover 2026-10 --finalize
assert_eq "$(pg_psql -c "SELECT customer_id || ':' || seq || ':' || (due_date - issue_date) FROM invoices WHERE status = 'final' ORDER BY seq")" \
    "$(printf 'late:1:30\nmover:2:30')" "numbers in finalization order, due 30 days after issue"
assert_eq "$(pg_psql -c "SELECT issue_date = (finalized_at AT TIME ZONE 'UTC')::date FROM invoices WHERE customer_id = 'late'")" t \
    "issue date = the finalization day"
# A finalization that fails halfway (a trigger refuses mover's) leaves no number used.
pg_psql << 'EOF'
CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'boom: refusing to finalize %', NEW.number; END $$;
CREATE TRIGGER boom AFTER UPDATE ON invoices FOR EACH ROW
  WHEN (NEW.customer_id = 'oddco' AND NEW.status = 'final') EXECUTE FUNCTION boom();
EOF
set +e
"$BIN/billing" invoice --month 2026-10 --finalize > /dev/null 2> "$TMP/boom.err"
rc=$?
set -e
assert_eq "$rc" 1 "exit status of a finalization that fails halfway"
grep -q 'boom: refusing to finalize INV-202610-oddco' "$TMP/boom.err" || { cat "$TMP/boom.err"; fail "the failure is named"; }
assert_eq "$(pg_psql -c "SELECT last_seq FROM invoice_counter")" 2 "the counter after the failed finalization"
pg_psql -c "DROP TRIGGER boom ON invoices"
"$BIN/billing" invoice --month 2026-10 --finalize > /dev/null 2> "$TMP/fin.err" || { cat "$TMP/fin.err"; fail "finalize 2026-10"; }
assert_eq "$(pg_psql -c "SELECT string_agg(customer_id || ':' || seq, ' ' ORDER BY seq) FROM invoices WHERE status = 'final'")" \
    "late:1 mover:2 later:3 oddco:4" "numbers 1 to 4 without a gap"
echo "ok: gapless numbers at finalization; a failed finalization uses none"

# late usage of 2026-10, after its finalization: eu 1 GB -> 41.42 GB
pg_psql -c "INSERT INTO usage_hourly VALUES ('late', '2026-10-20 00:00+00', 'DE', 0, 40420000000)"
invoice late 2026-10
cmp -s "$TMP/late.2026-10.csv" <("$BIN/billing" invoice --month 2026-10 --customer late --format csv 2> /dev/null) || fail "2026-10 prints the same"
grep -q 'kind=usage_after_final' "$TMP/late.2026-10.err" && fail "billable late usage reported as needing attention"
invoice late 2026-11
# billed: eu 1 GB = 0.12, requests 2 x 0.0075 = 0.015 -> 0.02, top-up 4.86, total 5.00
# now:    eu 41.42 GB = 5.1775 -> 5.18, requests 0.02, no top-up: 5.20; adjustment 0.20
# 2026-11 itself: no usage, top-up 5.00; total 5.20
LATE_BILLED='[{"hour": "2026-10-05T00", "country": "DE", "hits": 20000, "bytes": 1000000000}]'
LATE_NOW='[{"hour": "2026-10-05T00", "country": "DE", "hits": 20000, "bytes": 1000000000},
           {"hour": "2026-10-20T00", "country": "DE", "hits": 0, "bytes": 40420000000}]'
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-11\", \"parts\": [{\"from\": \"2026-11-01T00\", \"plan\": $TINY}], \"usage\": [],
  \"late\": [{\"month\": \"2026-10\", \"parts\": [{\"from\": \"2026-10-01T00\", \"plan\": $TINY}], \"billed\": $LATE_BILLED, \"usage\": $LATE_NOW}]}")
assert_eq "$(total late 2026-11)" "$(jq -r .total <<< "$want")" "late's 2026-11 total (oracle: $want)"
assert_eq "$(total late 2026-11)" "5.20" "late's 2026-11 total by hand"
line late.2026-11 ',"Adjustment for 2026-10: zone eu, +40.42 GB",40.42,GB,0.125,5.06,USD' > /dev/null
line late.2026-11 ',Adjustment for 2026-10: minimum commit top-up,-1,,4.86,-4.86,USD' > /dev/null
assert_eq "$(grep -c 'Adjustment for' "$TMP/late.2026-11.csv")" 2 "adjustment lines on late's 2026-11"
invoice late 2026-11 --finalize
assert_eq "$(pg_psql -c "SELECT to_char(for_month, 'YYYY-MM') || ':' || amount FROM invoice_adjustments a JOIN invoices i ON i.id = a.invoice_id WHERE i.status = 'final'")" \
    "2026-10:0.20" "one adjustment billed for 2026-10"
assert_eq "$(pg_psql -c "SELECT adjustments, total FROM invoices WHERE customer_id = 'late' AND month = '2026-11-01'")" \
    "0.20|5.20" "late's final 2026-11: adjustments and total"
invoice late 2026-12
grep -q 'Adjustment' "$TMP/late.2026-12.csv" && { cat "$TMP/late.2026-12.csv"; fail "the adjustment was billed again"; }
assert_eq "$(total late 2026-12)" "5.00" "late's 2026-12 (no adjustment)"
echo "ok: late usage after finalization became exactly one adjustment next month, not again after"

# more late usage of 2026-10: billed from what 2026-11 carried (41.42 GB -> 42.42 GB)
pg_psql -c "INSERT INTO usage_hourly VALUES ('late', '2026-10-21 00:00+00', 'DE', 0, 1000000000)"
invoice late 2026-12
line late.2026-12 ',"Adjustment for 2026-10: zone eu, +1 GB",1,GB,0.125,0.12,USD' > /dev/null
LATE_BILLED=$LATE_NOW
LATE_NOW='[{"hour": "2026-10-05T00", "country": "DE", "hits": 20000, "bytes": 1000000000},
           {"hour": "2026-10-20T00", "country": "DE", "hits": 0, "bytes": 40420000000},
           {"hour": "2026-10-21T00", "country": "DE", "hits": 0, "bytes": 1000000000}]'
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-12\", \"parts\": [{\"from\": \"2026-12-01T00\", \"plan\": $TINY}], \"usage\": [],
  \"late\": [{\"month\": \"2026-10\", \"parts\": [{\"from\": \"2026-10-01T00\", \"plan\": $TINY}], \"billed\": $LATE_BILLED, \"usage\": $LATE_NOW}]}")
assert_eq "$(total late 2026-12)" "$(jq -r .total <<< "$want")" "late's 2026-12 total after a second change (oracle: $want)"
# usage that went down is a credit: a negative adjustment line (billed: 2026-11's snapshot)
pg_psql -c "UPDATE usage_hourly SET bytes = 0 WHERE customer_id = 'late' AND hour = '2026-10-21 00:00+00'"
pg_psql -c "UPDATE usage_hourly SET hits = 0 WHERE customer_id = 'late' AND hour = '2026-10-05 00:00+00'"
invoice late 2026-12
grep -q 'kind=usage_after_final' "$TMP/late.2026-12.err" && { cat "$TMP/late.2026-12.err"; fail "a decrease needs attention"; }
line late.2026-12 ',"Adjustment for 2026-10: requests, -2 x 10k",-2,10k requests,0.0075,-0.02,USD' > /dev/null
LATE_NOW='[{"hour": "2026-10-05T00", "country": "DE", "hits": 0, "bytes": 1000000000},
           {"hour": "2026-10-20T00", "country": "DE", "hits": 0, "bytes": 40420000000},
           {"hour": "2026-10-21T00", "country": "DE", "hits": 0, "bytes": 0}]'
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-12\", \"parts\": [{\"from\": \"2026-12-01T00\", \"plan\": $TINY}], \"usage\": [],
  \"late\": [{\"month\": \"2026-10\", \"parts\": [{\"from\": \"2026-10-01T00\", \"plan\": $TINY}], \"billed\": $LATE_BILLED, \"usage\": $LATE_NOW}]}")
assert_eq "$(total late 2026-12)" "$(jq -r .total <<< "$want")" "late's 2026-12 total with a credit (oracle: $want)"
assert_eq "$(total late 2026-12)" "4.98" "late's 2026-12 total with a credit, by hand"
echo "ok: a second change is billed from the first; a decrease is credited"

# a credit larger than the next invoice: that invoice is 0 and carries the rest to the one after
pg_psql -c "INSERT INTO customers (id, name, plan_id, tax_rate) VALUES ('cred', 'Cred AG', 'tiny', 0.2)"
pg_psql -c "INSERT INTO usage_hourly VALUES ('cred', '2026-09-10 00:00+00', 'DE', 0, 100000000000)"
invoice cred 2026-09 --finalize # eu 100 GB x 0.125 = 12.50, tax 2.50: 15.00
assert_eq "$(total cred 2026-09)" "15.00" "cred's 2026-09"
pg_psql -c "DELETE FROM usage_hourly WHERE customer_id = 'cred'" # it was never served
invoice cred 2026-10 --finalize
# 2026-09 is worth its minimum now (5.00): a credit of 7.50 against 2026-10's 5.00 top-up
line cred.2026-10 ',"Adjustment for 2026-09: zone eu, -100 GB",-100,GB,0.125,-12.50,USD' > /dev/null
line cred.2026-10 ',Adjustment for 2026-09: minimum commit top-up,1,,5.00,5.00,USD' > /dev/null
line cred.2026-10 ',Credit carried forward to the next invoice,1,,2.50,2.50,USD' > /dev/null
CRED_BILLED='[{"hour": "2026-09-10T00", "country": "DE", "hits": 0, "bytes": 100000000000}]'
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-10\", \"tax_rate\": \"0.2\", \"parts\": [{\"from\": \"2026-10-01T00\", \"plan\": $TINY}], \"usage\": [],
  \"late\": [{\"month\": \"2026-09\", \"parts\": [{\"from\": \"2026-09-01T00\", \"plan\": $TINY}], \"billed\": $CRED_BILLED, \"usage\": []}]}")
assert_eq "$(total cred 2026-10)" "$(jq -r .total <<< "$want")" "cred's 2026-10 total (oracle: $want)"
assert_eq "$(pg_psql -c "SELECT total || '|' || credit_carried FROM invoices WHERE customer_id = 'cred' AND month = '2026-10-01'")" \
    "$(jq -r '"\(.total)|\(.carried)"' <<< "$want")" "cred's final 2026-10: total and credit carried"
assert_eq "$(total cred 2026-10)" "0.00" "cred's 2026-10 total, never below 0"
assert_eq "$("$BIN/billing" invoice --month 2026-10 --customer cred --format json 2> /dev/null | jq -r '.invoices[0].credit_carried')" \
    "2.50" "cred's 2026-10 JSON: credit_carried"
invoice cred 2026-11 --finalize
line cred.2026-11 ',Credit brought forward from INV-202610-cred,-1,,2.50,-2.50,USD' > /dev/null
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-11\", \"tax_rate\": \"0.2\", \"parts\": [{\"from\": \"2026-11-01T00\", \"plan\": $TINY}], \"usage\": [],
  \"credit_brought\": \"2.50\"}")
assert_eq "$(total cred 2026-11)" "$(jq -r .total <<< "$want")" "cred's 2026-11 total: 5.00 - 2.50 + 20 % tax (oracle: $want)"
invoice cred 2026-12
grep -q 'Credit\|Adjustment' "$TMP/cred.2026-12.csv" && { cat "$TMP/cred.2026-12.csv"; fail "the credit was used twice"; }
assert_eq "$(total cred 2026-12)" "6.00" "cred's 2026-12: no credit left"
echo "ok: a credit larger than an invoice leaves it at 0 and is carried forward once"
# a credit carried forward in USD, and the next invoice in EUR: reported, not taken
pg_psql << 'EOF'
INSERT INTO plans VALUES ('euro', 'EUR', 5, 0);
INSERT INTO plan_zones VALUES ('euro', '*', 'w');
INSERT INTO plan_tiers VALUES ('euro', 'w', 0, 0.1);
INSERT INTO customers (id, name, plan_id) VALUES ('cur', 'Cur SA', 'tiny');
INSERT INTO usage_hourly VALUES ('cur', '2026-09-10 00:00+00', 'DE', 0, 100000000000);
EOF
invoice cur 2026-09 --finalize
pg_psql -c "DELETE FROM usage_hourly WHERE customer_id = 'cur'"
invoice cur 2026-10 --finalize
pg_psql -c "INSERT INTO customer_plans VALUES ('cur', 'euro', '2026-11-01 00:00+00')"
invoice cur 2026-11
grep -q 'Credit' "$TMP/cur.2026-11.csv" && { cat "$TMP/cur.2026-11.csv"; fail "a USD credit taken by an EUR invoice"; }
grep -q 'kind=usage_after_final customer="cur".*invoice INV-202610-cur carried a credit of 2.50 USD forward, which an invoice in EUR cannot take' \
    "$TMP/cur.2026-11.err" || { cat "$TMP/cur.2026-11.err"; fail "the credit in another currency is not reported"; }
echo "ok: a credit in another currency than the next invoice's is reported, not taken"

# two open drafts after a final month both show its late usage; the first finalized carries it
pg_psql -c "INSERT INTO customers (id, name, plan_id) VALUES ('twice', 'Twice', 'tiny')"
pg_psql -c "INSERT INTO usage_hourly VALUES ('twice', '2026-09-05 00:00+00', 'DE', 0, 1000000000)"
invoice twice 2026-09 --finalize
pg_psql -c "INSERT INTO usage_hourly VALUES ('twice', '2026-09-06 00:00+00', 'DE', 0, 40000000000)"
invoice twice 2026-10
invoice twice 2026-11
line twice.2026-10 '"Adjustment for 2026-09: zone eu, +40 GB"' > /dev/null
line twice.2026-11 '"Adjustment for 2026-09: zone eu, +40 GB"' > /dev/null
invoice twice 2026-11 --finalize
invoice twice 2026-10
grep -q Adjustment "$TMP/twice.2026-10.csv" && { cat "$TMP/twice.2026-10.csv"; fail "2026-09's late usage billed twice"; }
assert_eq "$(pg_psql -c "SELECT count(*) FROM invoice_adjustments a JOIN invoices i ON i.id = a.invoice_id WHERE i.customer_id = 'twice'")" 1 \
    "adjustments recorded for twice"
echo "ok: two open drafts show the late usage; once one is finalized, the other no longer does"

# late usage older than the 3-month window: reported (usage_after_final), never billed, never
# silently missed; within the window the same change is billed (and not reported)
pg_psql -c "INSERT INTO customers (id, name, plan_id) VALUES ('old', 'Old Ltd', 'tiny')"
pg_psql -c "INSERT INTO usage_hourly VALUES ('old', '2026-01-05 00:00+00', 'DE', 0, 1000000000)"
invoice old 2026-01 --finalize
pg_psql -c "INSERT INTO usage_hourly VALUES ('old', '2026-01-20 00:00+00', 'DE', 0, 80000000000)"
assert_eq "$(pg_psql -c "SELECT customer_id || ':' || month FROM usage_old_edits WHERE customer_id = 'old'")" \
    "old:2026-01-01" "the hand edit of an old month is noted"
invoice old 2026-04
line old.2026-04 '"Adjustment for 2026-01: zone eu, +80 GB"' > /dev/null
grep -q 'kind=usage_after_final' "$TMP/old.2026-04.err" && { cat "$TMP/old.2026-04.err"; fail "late usage within the window reported"; }
invoice old 2026-05
grep -q 'Adjustment' "$TMP/old.2026-05.csv" && { cat "$TMP/old.2026-05.csv"; fail "late usage of 2026-01 billed on 2026-05"; }
grep -q 'kind=usage_after_final customer="old".*usage of 2026-01 changed after invoice INV-202601-old was finalized (now 0 hits and 81000000000 bytes), more than 3 months before 2026-05' \
    "$TMP/old.2026-05.err" || { cat "$TMP/old.2026-05.err"; fail "late usage older than the window is not reported"; }
pg_psql -c "DELETE FROM usage_hourly WHERE customer_id = 'old' AND hour = '2026-01-20 00:00+00'"
invoice old 2026-05
grep -q 'kind=usage_after_final' "$TMP/old.2026-05.err" && { cat "$TMP/old.2026-05.err"; fail "reported after the edit was undone"; }
echo "ok: late usage older than the window is reported, not billed; within it, billed"

# late usage of a month split by a plan change: priced in its part, with that part's plan
invoice mover 2026-11 --finalize
pg_psql -c "INSERT INTO usage_hourly VALUES ('mover', '2026-11-20 00:00+00', 'FR', 0, 1000000000)"
invoice mover 2026-12
# big's part: 5 GB -> 6 GB x 0.08 = 0.40 -> 0.48 (+0.08), its top-up 154.56 -> 154.48 (-0.08)
line mover.2026-12 ',"Adjustment for 2026-11: Plan big, 2026-11-15 12:00 to 2026-12-01 00:00 UTC: zone w, +1 GB",1,GB,0.08,0.08,USD' > /dev/null
line mover.2026-12 ',"Adjustment for 2026-11: Plan big, 2026-11-15 12:00 to 2026-12-01 00:00 UTC: minimum commit top-up",-1,,0.08,-0.08,USD' > /dev/null
MOVER_PARTS="[{\"from\": \"2026-11-01T00\", \"plan\": $SMALL}, {\"from\": \"2026-11-15T12\", \"plan\": $BIG}]"
MOVER_BILLED='[{"hour": "2026-11-10T00", "country": "FR", "hits": 10000, "bytes": 12000000000},
               {"hour": "2026-11-15T11", "country": "FR", "hits": 0, "bytes": 3000000000},
               {"hour": "2026-11-15T12", "country": "FR", "hits": 20000, "bytes": 5000000000}]'
MOVER_NOW="${MOVER_BILLED%]}, {\"hour\": \"2026-11-20T00\", \"country\": \"FR\", \"hits\": 0, \"bytes\": 1000000000}]"
want=$(oracle "{\"decimals\": 2, \"month\": \"2026-12\", \"parts\": [{\"from\": \"2026-12-01T00\", \"plan\": $BIG}], \"usage\": [],
  \"late\": [{\"month\": \"2026-11\", \"parts\": $MOVER_PARTS, \"billed\": $MOVER_BILLED, \"usage\": $MOVER_NOW}]}")
assert_eq "$(total mover 2026-12)" "$(jq -r .total <<< "$want")" "mover's 2026-12 total with the late usage of a split month (oracle: $want)"
echo "ok: late usage of a split month is priced in its part, by that part's plan"

# ---- frozen plans --------------------------------------------------------------------------------
for sql in "UPDATE plan_tiers SET price_per_gb = 1 WHERE plan_id = 'tiny' AND zone = 'eu'" \
    "INSERT INTO plan_zones VALUES ('tiny', 'FR', 'eu')" \
    "DELETE FROM plan_tiers WHERE plan_id = 'small' AND from_gb = 10" \
    "UPDATE plans SET minimum_commit = 1 WHERE id = 'small'" \
    "UPDATE plans SET minimum_commit = 1 WHERE id = 'big'" \
    "INSERT INTO customer_plans VALUES ('late', 'small', '2026-11-30 00:00+00')"; do
    if pg_psql -c "$sql" 2> "$TMP/frozen.err"; then fail "allowed: $sql"; fi
    grep -Eq 'is used by a final invoice and cannot change|has a final invoice for 2026-11' "$TMP/frozen.err" ||
        { cat "$TMP/frozen.err"; fail "refusal of: $sql"; }
done
pg_psql -c "INSERT INTO plans VALUES ('fresh', 'USD', 0, 0)"
pg_psql -c "UPDATE plans SET minimum_commit = 1 WHERE id = 'fresh'" || fail "a plan no final invoice uses can change"
pg_psql -c "INSERT INTO customer_plans VALUES ('late', 'small', '2026-12-01 00:00+00')" || fail "a plan change after the final months"
echo "ok: plans used by a final invoice are frozen; plan changes into a final month refused"

# ---- --preview as billing_reader -----------------------------------------------------------------
pg_psql -c "CREATE ROLE finance LOGIN IN ROLE billing_reader"
tables() {
    pg_psql -c "SELECT (SELECT md5(string_agg(i::text, '|' ORDER BY id)) FROM invoices i) || (SELECT last_seq FROM invoice_counter)
                || (SELECT md5(string_agg(l::text, '|' ORDER BY invoice_id, line_no)) FROM invoice_lines l)
                || (SELECT count(*) FROM invoice_usage) || (SELECT count(*) FROM invoice_adjustments)"
}
pg_psql -c "INSERT INTO usage_hourly VALUES ('newco', '2026-11-21 00:00+00', 'US', 0, 1000000000)"
before=$(tables)
DATABASE_URL="${DATABASE_URL/user=postgres/user=finance}" "$BIN/billing" invoice --month 2026-11 --preview --format csv \
    > "$TMP/preview.csv" 2> "$TMP/preview.err" || { cat "$TMP/preview.err"; fail "--preview as billing_reader"; }
assert_eq "$(tables)" "$before" "invoice tables after --preview"
"$BIN/billing" invoice --month 2026-11 --format csv > "$TMP/draft.csv" 2> /dev/null || fail "draft run of 2026-11"
# The status column (the last) says draft in one and preview in the other; every other field is equal.
diff -u <(sed 's/,draft$/,STATUS/; s/,final$/,STATUS/' "$TMP/draft.csv") \
    <(sed 's/,preview$/,STATUS/; s/,final$/,STATUS/' "$TMP/preview.csv") || fail "--preview differs from the draft run"
grep -q ',preview$' "$TMP/preview.csv" || fail "--preview's CSV says preview in its status column"
"$BIN/billing" invoice --month 2026-11 --format json > "$TMP/draft.json" 2> /dev/null || fail "draft json"
DATABASE_URL="${DATABASE_URL/user=postgres/user=finance}" "$BIN/billing" invoice --month 2026-11 --preview --format json \
    > "$TMP/preview.json" 2> /dev/null || fail "--preview json"
assert_eq "$(jq -c '[.invoices[] | del(.status)]' "$TMP/preview.json")" "$(jq -c '[.invoices[] | del(.status)]' "$TMP/draft.json")" \
    "--preview JSON = the draft run's, status aside"
echo "ok: --preview as billing_reader prints the draft run's figures and writes nothing"

# ---- months with bounds --------------------------------------------------------------------------
next=$(date -u -d "$(date -u +%Y-%m-15) +1 month" +%Y-%m)
for m in 1999-12 "$next"; do
    set +e
    "$BIN/billing" invoice --month "$m" > /dev/null 2> "$TMP/bad"
    rc=$?
    set -e
    assert_eq "$rc" 2 "exit status of --month $m"
    grep -q -- "--month $m" "$TMP/bad" || fail "the error names --month $m"
done
echo ok
