-- 008_invoice_documents: what an invoice you can send shows besides its lines: who sends it
-- (the seller, one row), where it goes (the customer's billing address), and, for a final
-- invoice, both as they were when it was finalized.
--
-- Finance fills the seller once, as the database owner (the role `billing migrate` runs as):
--
--   INSERT INTO invoice_issuer (name, address, tax_id, email)
--   VALUES ('Example CDN Ltd', E'1 Example Street\nLondon EC1A 1AA\nUnited Kingdom',
--           'GB123456789', 'billing@example.com')
--   ON CONFLICT (one) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
--       tax_id = EXCLUDED.tax_id, email = EXCLUDED.email, updated_at = now();
--   UPDATE customers SET billing_address = E'Acme, Inc.\n2 Road\nBerlin' WHERE id = 'acme';
--
-- Addresses are plain text, lines separated by LF. An empty field is not printed (no
-- placeholder): an invoice without an issuer row shows no seller block at all.

CREATE TABLE invoice_issuer (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one), -- at most one row
    name       text NOT NULL DEFAULT '',
    address    text NOT NULL DEFAULT '',  -- lines separated by LF
    tax_id     text NOT NULL DEFAULT '',  -- VAT or other tax registration number
    email      text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A column added to a contract table needs a default (CONTRACT.md): inserts naming only the
-- contract's columns keep working.
ALTER TABLE customers ADD COLUMN billing_address text NOT NULL DEFAULT ''; -- lines separated by LF

-- A final invoice prints the same forever (003, 004): its seller and address are copied into it
-- when it becomes final, in the same statement. NULL: not copied (an invoice finalized before
-- this migration, or while invoice_issuer had no row): documents then show the current values.
ALTER TABLE invoices
    ADD COLUMN doc_seller_name text,
    ADD COLUMN doc_seller_address text,
    ADD COLUMN doc_seller_tax_id text,
    ADD COLUMN doc_seller_email text,
    ADD COLUMN doc_customer_address text;

-- Fires before invoices_keep_final (triggers run in name order; it refuses only changes to a row
-- that was final already), for whichever statement makes a row final: an UPDATE of a draft, or
-- an INSERT of a final row.
CREATE FUNCTION invoices_doc_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'final' AND (TG_OP = 'INSERT' OR OLD.status <> 'final') THEN
        SELECT c.billing_address INTO NEW.doc_customer_address
            FROM customers c WHERE c.id = NEW.customer_id;
        SELECT s.name, s.address, s.tax_id, s.email
            INTO NEW.doc_seller_name, NEW.doc_seller_address, NEW.doc_seller_tax_id,
                 NEW.doc_seller_email
            FROM invoice_issuer s;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoice_doc_snapshot BEFORE INSERT OR UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_doc_snapshot();

-- billing_writer finalizes (the trigger reads as it); finance reads. Only the owner writes the
-- issuer and the addresses.
GRANT SELECT ON invoice_issuer TO billing_writer, billing_reader;
