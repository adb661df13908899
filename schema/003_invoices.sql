-- 003_invoices: monthly invoices and their lines, as `billing invoice` computes them.
--
-- One invoice per customer and calendar month (UTC). A draft is recomputed by every run (its
-- lines replaced); `--finalize` makes it final, and a final invoice never changes: the triggers
-- below refuse to update or delete it or its lines, whoever asks.

CREATE TABLE invoices (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number       text NOT NULL UNIQUE CHECK (number <> ''),
    customer_id  text NOT NULL REFERENCES customers,
    month        date NOT NULL CHECK (extract(day FROM month) = 1), -- first day of the month
    plan_id      text REFERENCES plans,          -- the plan the invoice was priced with
    currency     char(3) NOT NULL REFERENCES currencies (code),
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'final')),
    subtotal     numeric NOT NULL DEFAULT 0 CHECK (subtotal >= 0), -- sum of the usage lines
    total        numeric NOT NULL DEFAULT 0 CHECK (total >= 0),    -- with the minimum commit
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finalized_at timestamptz,
    UNIQUE (customer_id, month),
    CHECK ((status = 'final') = (finalized_at IS NOT NULL)),
    CHECK (total >= subtotal)
);

CREATE TABLE invoice_lines (
    invoice_id  bigint REFERENCES invoices ON DELETE CASCADE,
    line_no     integer CHECK (line_no >= 1),
    description text NOT NULL,
    quantity    numeric NOT NULL CHECK (quantity >= 0),
    unit        text NOT NULL,                  -- e.g. GB, 10k requests
    unit_price  numeric NOT NULL CHECK (unit_price >= 0),
    amount      numeric NOT NULL CHECK (amount >= 0), -- rounded to the currency's minor unit
    zone        text,                           -- the plan zone of a data line, else NULL
    PRIMARY KEY (invoice_id, line_no)
);

-- A final invoice is immutable: no UPDATE, no DELETE (draft -> final is the last change).
CREATE FUNCTION invoices_keep_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'final' THEN
        RAISE EXCEPTION 'invoice % is final and cannot be changed', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoices_keep_final BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_keep_final();

-- Lines of a final invoice: no INSERT, UPDATE or DELETE.
CREATE FUNCTION invoice_lines_keep_final() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    num text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY[NEW.invoice_id];
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY[OLD.invoice_id];
    ELSE
        ids := ARRAY[OLD.invoice_id, NEW.invoice_id];
    END IF;
    SELECT i.number INTO num FROM invoices i WHERE i.id = ANY (ids) AND i.status = 'final' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invoice % is final: its lines cannot be changed', num
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoice_lines_keep_final BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_keep_final();

-- TRUNCATE skips row triggers: refuse it while any invoice is final.
CREATE FUNCTION invoices_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM invoices WHERE status = 'final') THEN
        RAISE EXCEPTION 'final invoices exist: % cannot be truncated', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();

GRANT SELECT, INSERT, UPDATE, DELETE ON invoices, invoice_lines TO billing_writer;
GRANT SELECT ON invoices, invoice_lines TO billing_reader;
