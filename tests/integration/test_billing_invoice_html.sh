#!/usr/bin/env bash
# billing invoice --format html, the document finance sends: structurally valid, self-contained
# HTML5 (tests/integration/lib/invoice_html_check.py: balanced elements, nothing fetched, strict
# UTF-8) whose every invoice total equals the CSV's TOTAL for the same invoice, lines in the order
# usage, Subtotal, minimum-commit top-up, Total. Names and addresses holding markup, quotes,
# ampersands are escaped, control characters replaced. A draft says DRAFT and shows its reference; a final
# invoice keeps the seller and billing address it was finalized with (changing them later changes
# drafts only); the seller block is left out while invoice_issuer has no row. --output DIR writes
# one file per invoice. The final invoice is rendered to PNG with headless Chromium (A4 width),
# kept in build/test-output/invoice/ ($TEST_OUTPUT to change), and a two-invoice document printed to
# PDF is two A4 pages. The CSV's status column is checked
# too. Also: the HTML of --preview as a login role only in billing_reader.
source "$(dirname "$0")/lib/lib.sh"
command -v chromium > /dev/null || fail "no chromium: apt-get install chromium (Debian package)"
OUT=${TEST_OUTPUT:-$ROOT/build/test-output}/invoice
mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT"/*.html "$OUT"/*.pdf
start_pg
"$BIN/billing" migrate > "$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log"; fail "billing migrate"; }
CHECK="python3 $ROOT/tests/integration/lib/invoice_html_check.py"

# acme (std, USD, minimum 5.00): eu 1 GB x 0.125 = 0.12 (half-even), requests 3 x 0.0075 = 0.0225
# -> 0.02; subtotal 0.14, top-up 4.86, tax 20 % of 5.00 = 1.00, total 6.00. globex: a name and address full of markup and
# ampersands and quotes; 60 GB in eu = 7.50 over the minimum: no top-up.
pg_psql << 'EOF'
INSERT INTO plans (id, currency, minimum_commit, price_per_10k_requests) VALUES ('std', 'USD', 5.00, 0.0075);
INSERT INTO plan_zones (plan_id, country, zone) VALUES ('std', '*', 'eu');
INSERT INTO plan_tiers (plan_id, zone, from_gb, price_per_gb) VALUES ('std', 'eu', 0, 0.125);
INSERT INTO customers (id, name, plan_id) VALUES ('acme', 'Acme, Inc.', 'std'),
  ('globex', E'Globex <script>alert("x")</script> & Söhne \'GmbH\'', 'std');
UPDATE customers SET tax_rate = 0.2, payment_terms_days = 14 WHERE id = 'acme';
UPDATE customers SET billing_address = E'Acme, Inc.\nAccounts payable\n2 Industrial Road\nSpringfield 12345\nUnited States'
  WHERE id = 'acme';
UPDATE customers SET billing_address = E'<b>Hauptstraße 1</b>\n10115 Berlin & Co' WHERE id = 'globex';
INSERT INTO usage_hourly (customer_id, hour, country, hits, bytes) VALUES
  ('acme', '2026-10-03 10:00:00+00', 'DE', 30000, 1000000000),
  ('globex', '2026-10-04 10:00:00+00', 'FR', 0, 60000000000);
EOF
invoice() { "$BIN/billing" invoice --month 2026-10 "$@"; }

# ---- drafts, before the seller is set: no seller block, DRAFT, escaped ------------------------
invoice --format csv > "$TMP/draft.csv" 2> /dev/null || fail "invoice --format csv"
grep -q ',status$' <(head -1 "$TMP/draft.csv") || fail "no status column in the CSV header"
assert_eq "$(awk -F, 'NR > 1 {print $NF}' "$TMP/draft.csv" | sort -u)" draft "status of every CSV row"
invoice --format html > "$TMP/draft.html" 2> "$TMP/err" || { cat "$TMP/err"; fail "invoice --format html"; }
$CHECK "$TMP/draft.html" "$TMP/draft.csv" > "$TMP/check" || fail "draft HTML (see $TMP/draft.html)"
assert_eq "$(cat "$TMP/check")" "INV-202610-acme draft 6.00
INV-202610-globex draft 7.50" "HTML invoices and totals = CSV's"
grep -q 'class="banner">DRAFT' "$TMP/draft.html" || fail "a draft does not say DRAFT"
grep -q '<th>Draft reference</th><td>INV-202610-acme</td>' "$TMP/draft.html" || fail "draft reference"
grep -q '<div class="party seller"></div>' "$TMP/draft.html" || fail "a seller block without invoice_issuer"
grep -q '<script' "$TMP/draft.html" && fail "a customer name's markup is in the document"
grep -q 'Globex &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Söhne &#39;GmbH&#39;' "$TMP/draft.html" ||
    fail "the customer name is not escaped as expected"
grep -q '&lt;b&gt;Hauptstraße 1&lt;/b&gt;<br>' "$TMP/draft.html" || fail "the address is not escaped, or LF is not a line break"
# a C1 control character (U+0085) is valid UTF-8 but not HTML text: U+FFFD
pg_psql -c "UPDATE customers SET name = E'Bad\\u0085name' WHERE id = 'globex'" > /dev/null
echo "ok: draft HTML valid, totals = CSV, DRAFT shown, names and addresses escaped"

# ---- the seller, then finalization: the final invoice keeps what it was finalized with ---------
pg_psql << 'EOF'
INSERT INTO invoice_issuer (name, address, tax_id, email) VALUES
  ('Example CDN Ltd', E'1 Example Street\nLondon EC1A 1AA\nUnited Kingdom', 'GB123456789', 'billing@example.com');
EOF
if pg_psql -c "INSERT INTO invoice_issuer (one, name) VALUES (false, 'Second')" 2> /dev/null; then
    fail "a second invoice_issuer row was accepted"
fi
invoice --customer acme --finalize --force-incomplete --reason "test: no edges" > /dev/null 2> "$TMP/err" ||
    { cat "$TMP/err"; fail "--finalize acme"; }
invoice --format csv > "$TMP/final.csv" 2> /dev/null || fail "CSV after finalization"
assert_eq "$(awk -F, '$5 == "TOTAL" {print $1, $NF}' "$TMP/final.csv")" "INV-202610-acme final
INV-202610-globex draft" "CSV status after finalizing acme"
invoice --format html > "$TMP/final.html" 2> /dev/null || fail "HTML after finalization"
$CHECK "$TMP/final.html" "$TMP/final.csv" > /dev/null || fail "HTML after finalization (see $TMP/final.html)"
python3 - "$TMP/final.html" << 'EOF' || fail "the final invoice's document"
import datetime, sys
s = open(sys.argv[1], encoding="utf-8").read()
today = datetime.datetime.now(datetime.timezone.utc).date()
due = today + datetime.timedelta(days=14)
acme = s[s.index('data-invoice="INV-202610-acme"'):s.index('data-invoice="INV-202610-globex"')]
for want in ('<p class="name">Example CDN Ltd</p>', '1 Example Street<br>', 'Tax id GB123456789',
             'billing@example.com', '<th>Invoice number</th><td>1</td>',
             '<th>Reference</th><td>INV-202610-acme</td>', f'<th>Issue date</th><td>{today}</td>',
             f'<th>Due date</th><td>{due}</td>',
             '<th>Period</th><td>2026-10-01 to 2026-10-31</td>', 'Springfield 12345<br>',
             'Minimum commit top-up', '<th>Tax rate</th><td>20 %</td>', 'Tax 20 %',
             'data-total="6.00">6.00</td>'):
    assert want in acme, want
assert 'class="banner"' not in acme, "a final invoice says DRAFT"
assert 'Bad\ufffdname' in s and '\u0085' not in s, "U+0085 in a name"
EOF
"$BIN/billing" invoice --month 2026-10 --customer acme --format html > "$TMP/acme-before.html" 2> /dev/null
pg_psql -c "UPDATE invoice_issuer SET name = 'Renamed CDN plc', tax_id = 'GB999'" > /dev/null
pg_psql -c "UPDATE customers SET billing_address = 'Moved away' WHERE id IN ('acme', 'globex')" > /dev/null
invoice --customer acme --format html > "$TMP/acme-after.html" 2> /dev/null || fail "HTML of the final invoice again"
cmp -s "$TMP/acme-before.html" "$TMP/acme-after.html" ||
    { diff "$TMP/acme-before.html" "$TMP/acme-after.html"; fail "the final invoice's document changed"; }
invoice --customer globex --format html > "$TMP/globex.html" 2> /dev/null || fail "HTML of globex's draft"
grep -q 'Renamed CDN plc' "$TMP/globex.html" && grep -q 'Moved away' "$TMP/globex.html" ||
    fail "a draft does not show the current seller and address"
echo "ok: a final invoice keeps the seller and address it was finalized with; drafts follow"

# ---- --output DIR, the picture, preview as billing_reader --------------------------------------
invoice --customer acme --format html --output "$OUT" > "$TMP/paths" 2> /dev/null || fail "--output"
assert_eq "$(cat "$TMP/paths")" "$OUT/INV-202610-acme.html" "--output prints the paths it wrote"
cmp -s "$OUT/INV-202610-acme.html" "$TMP/acme-after.html" || fail "--output's file differs from stdout's"
set +e
invoice --format csv --output "$OUT" > /dev/null 2>&1
assert_eq "$?" 2 "exit status of --output without --format html"
invoice --format html --output "$TMP/nosuchdir" > /dev/null 2> "$TMP/err"
assert_eq "$?" 2 "exit status of --output to a directory that does not exist"
grep -q -- "--output $TMP/nosuchdir: not a directory" "$TMP/err" || { cat "$TMP/err"; fail "--output's error"; }
set -e
profile=$(mktemp -d "$TMP/chromium.XXXXXX")
start=$(date +%s%N)
timeout 40 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
    --window-size=794,1123 --screenshot="$OUT/INV-202610-acme.png" \
    "file://$OUT/INV-202610-acme.html" > /dev/null 2> "$TMP/chromium.log" ||
    { tail -20 "$TMP/chromium.log"; fail "chromium failed"; }
python3 - "$OUT/INV-202610-acme.png" << 'EOF' || fail "the screenshot"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (794, 1123), (w, h)
assert len(b) > 20000, "%d bytes: a blank page?" % len(b)
EOF
echo "ok: rendered to $OUT/INV-202610-acme.png in $((($(date +%s%N) - start) / 1000000)) ms"
# printed, each invoice is one A4 page (595 x 842 pt)
timeout 40 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$profile" --no-pdf-header-footer \
    --print-to-pdf="$OUT/invoices-2026-10.pdf" "file://$TMP/final.html" > /dev/null 2>> "$TMP/chromium.log" ||
    { tail -20 "$TMP/chromium.log"; fail "chromium --print-to-pdf failed"; }
python3 - "$OUT/invoices-2026-10.pdf" << 'EOF' || fail "the PDF of two invoices"
import re, sys
b = open(sys.argv[1], "rb").read()
pages = re.findall(rb"/Type\s*/Page[^s]", b)
boxes = {tuple(round(float(x)) for x in m.split()) for m in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", b)}
assert len(pages) == 2, "%d pages" % len(pages)
assert boxes == {(0, 0, 595, 842)}, boxes
EOF
echo "ok: two invoices print as two A4 pages ($OUT/invoices-2026-10.pdf)"

pg_psql -c "CREATE ROLE finance LOGIN IN ROLE billing_reader"
DATABASE_URL="${DATABASE_URL/user=postgres/user=finance}" "$BIN/billing" invoice --month 2026-10 --preview \
    --format html > "$TMP/preview.html" 2> "$TMP/err" || { cat "$TMP/err"; fail "--preview --format html as billing_reader"; }
DATABASE_URL="${DATABASE_URL/user=postgres/user=finance}" "$BIN/billing" invoice --month 2026-10 --preview \
    --format csv > "$TMP/preview.csv" 2> /dev/null || fail "--preview --format csv"
$CHECK "$TMP/preview.html" "$TMP/preview.csv" > "$TMP/check" || fail "preview HTML"
assert_eq "$(cat "$TMP/check")" "INV-202610-acme final 6.00
INV-202610-globex preview 7.50" "preview HTML"
grep -q 'class="banner">PREVIEW' "$TMP/preview.html" || fail "a preview does not say PREVIEW"
echo ok
