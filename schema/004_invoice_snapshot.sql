-- 004_invoice_snapshot: what an invoice keeps of the moment it was priced.
--
-- A final invoice prints the same forever from its own rows, so it keeps the customer's name
-- as it was (customers.name may change later), and the usage it was priced from: a later run
-- compares these with usage_hourly and reports "usage after finalization" when hits for the
-- month arrived (or were corrected) after the invoice was finalized. exact_amount keeps each
-- line's amount before rounding, for audit: amount = exact_amount rounded half-to-even to the
-- currency's minor unit.
--
-- ALTER TABLE fires no row trigger, so adding columns to final invoices is allowed; their
-- defaults (for invoices written before this migration) are empty, 0 and NULL.

ALTER TABLE invoices
    ADD COLUMN customer_name text NOT NULL DEFAULT '',
    ADD COLUMN usage_bytes numeric NOT NULL DEFAULT 0 CHECK (usage_bytes >= 0),
    ADD COLUMN usage_hits numeric NOT NULL DEFAULT 0 CHECK (usage_hits >= 0);

ALTER TABLE invoice_lines
    ADD COLUMN exact_amount numeric CHECK (exact_amount >= 0);
