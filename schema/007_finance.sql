-- 007_finance: customers with a life cycle, plans over time, frozen plans, late usage billed as
-- adjustments, tax, issue and due dates, gapless invoice numbers (issue 10; README, "Finance").
--
-- Every column added to a table of the contract has a default, so an insert naming only the
-- contract's columns still works (and still bills: see customer_plans below).

-- ---- customers: life cycle, tax, payment terms -------------------------------------------------
-- active_from / active_to: the first and the last active day (UTC, both inclusive); NULL is
-- open. A month wholly outside gets no invoice; a month partly inside gets its minimum commit
-- prorated by active days. tax_rate: 0.2 is 20 %. payment_terms_days: due date = issue date + it.
ALTER TABLE customers
    ADD COLUMN active_from date,
    ADD COLUMN active_to date,
    ADD COLUMN tax_rate numeric NOT NULL DEFAULT 0 CHECK (tax_rate >= 0 AND tax_rate <= 1),
    ADD COLUMN payment_terms_days integer NOT NULL DEFAULT 30
        CHECK (payment_terms_days BETWEEN 0 AND 3650),
    ADD CONSTRAINT customers_active_order
        CHECK (active_from IS NULL OR active_to IS NULL OR active_from <= active_to);

-- ---- a customer's plan over time ---------------------------------------------------------------
-- The plan in effect at instant t is the row with the latest valid_from <= t; before the first
-- row the customer has no plan. valid_from is a whole UTC hour (usage is hourly, and a change
-- splits a month's usage at that hour). CUSTOMER_PLANS_START is the "since always" of rows made
-- from customers.plan_id: the first hour of the first month that can be invoiced (2000-01).
CREATE TABLE customer_plans (
    customer_id text NOT NULL REFERENCES customers ON DELETE CASCADE,
    plan_id     text NOT NULL REFERENCES plans,
    valid_from  timestamptz NOT NULL CHECK (extract(epoch FROM valid_from) % 3600 = 0),
    PRIMARY KEY (customer_id, valid_from)
);

INSERT INTO customer_plans (customer_id, plan_id, valid_from)
    SELECT id, plan_id, '2000-01-01 00:00:00+00' FROM customers WHERE plan_id IS NOT NULL;

-- customers.plan_id keeps working, as the contract's writers use it:
--   INSERT of a customer with a plan_id: that plan since always (valid_from 2000-01-01T00Z), so
--     inserting only the contract's columns bills every month from the first;
--   UPDATE of plan_id to another plan: the new plan from the start of the current UTC hour
--     (a price change is never retroactive: an earlier hour keeps its plan); a customer's first
--     plan ever (plan_id was NULL, no customer_plans row) is valid since always, as on INSERT;
--   UPDATE of plan_id to NULL: customer_plans keeps its rows; a customer whose plan_id is NULL
--     is not invoiced (reported as no_plan), as before.
-- And back: a change of customer_plans sets customers.plan_id to the plan in effect now (when
-- there is one), so readers of customers.plan_id see the current plan. The guard "already in
-- effect now" ends the recursion between the two triggers.
CREATE FUNCTION customer_plans_at(cust text, t timestamptz) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT plan_id FROM customer_plans WHERE customer_id = cust AND valid_from <= t
        ORDER BY valid_from DESC LIMIT 1
$$;

CREATE FUNCTION customers_plan_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.plan_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR NOT EXISTS (SELECT 1 FROM customer_plans WHERE customer_id = NEW.id) THEN
        INSERT INTO customer_plans (customer_id, plan_id, valid_from)
            VALUES (NEW.id, NEW.plan_id, '2000-01-01 00:00:00+00')
            ON CONFLICT (customer_id, valid_from) DO NOTHING;
    ELSIF NEW.plan_id IS DISTINCT FROM OLD.plan_id
          AND customer_plans_at(NEW.id, now()) IS DISTINCT FROM NEW.plan_id THEN
        INSERT INTO customer_plans (customer_id, plan_id, valid_from)
            VALUES (NEW.id, NEW.plan_id, date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
            ON CONFLICT (customer_id, valid_from) DO UPDATE SET plan_id = EXCLUDED.plan_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER customers_plan_follow AFTER INSERT OR UPDATE OF plan_id ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_plan_follow();

-- A plan change may not reach back into a month the customer has a final invoice for: that
-- invoice, and the adjustments of its late usage, are priced with the plans it had.
CREATE FUNCTION customer_plans_check_month(cust text, t timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    final_m date;
BEGIN
    SELECT max(month) INTO final_m FROM invoices
        WHERE customer_id = cust AND status = 'final' AND (month + interval '1 month') > t;
    IF final_m IS NOT NULL THEN
        RAISE EXCEPTION 'customer_plans: customer % has a final invoice for %: a plan change from % would reprice it; plan changes must start after that month',
            cust, to_char(final_m, 'YYYY-MM'), t
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END
$$;

CREATE FUNCTION customer_plans_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM customer_plans_check_month(OLD.customer_id, OLD.valid_from);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM customer_plans_check_month(NEW.customer_id, NEW.valid_from);
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER customer_plans_guard BEFORE INSERT OR UPDATE OR DELETE ON customer_plans
    FOR EACH ROW EXECUTE FUNCTION customer_plans_guard();

CREATE FUNCTION customer_plans_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cust text := CASE WHEN TG_OP = 'DELETE' THEN OLD.customer_id ELSE NEW.customer_id END;
    cur  text := customer_plans_at(cust, now());
BEGIN
    IF cur IS NOT NULL THEN
        UPDATE customers SET plan_id = cur WHERE id = cust AND plan_id IS DISTINCT FROM cur;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER customer_plans_follow AFTER INSERT OR UPDATE OR DELETE ON customer_plans
    FOR EACH ROW EXECUTE FUNCTION customer_plans_follow();

-- ---- invoices: number, dates, tax, top-up, adjustments ----------------------------------------
-- seq: the gapless sequential number, given when the invoice becomes final (trigger below), from
-- the one counter row, in the finalizing transaction: a run that fails rolls the counter back
-- with everything else, so numbers have no gaps (a SEQUENCE would: nextval is never rolled
-- back). Invoices finalized before this migration keep NULL (they were sent without one).
-- subtotal stays the sum of the usage lines; total = subtotal + topup + adjustments + tax.
ALTER TABLE invoices
    ADD COLUMN seq bigint UNIQUE CHECK (seq >= 1),
    ADD COLUMN issue_date date,
    ADD COLUMN due_date date,
    ADD COLUMN period_from date,
    ADD COLUMN period_to date,
    ADD COLUMN tax_rate numeric NOT NULL DEFAULT 0 CHECK (tax_rate >= 0 AND tax_rate <= 1),
    ADD COLUMN tax numeric NOT NULL DEFAULT 0 CHECK (tax >= 0),
    ADD COLUMN topup numeric NOT NULL DEFAULT 0 CHECK (topup >= 0),
    ADD COLUMN adjustments numeric NOT NULL DEFAULT 0 CHECK (adjustments >= 0),
    ADD CONSTRAINT invoices_seq_final CHECK (seq IS NULL OR status = 'final');

CREATE TABLE invoice_counter (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);
INSERT INTO invoice_counter DEFAULT VALUES;

-- draft -> final: the next number, issue date = the finalization day (UTC), due date = issue
-- date + the customer's payment terms. Runs BEFORE UPDATE, so it is part of the same row change.
CREATE FUNCTION invoices_number_on_final() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    terms integer;
BEGIN
    IF OLD.status = 'draft' AND NEW.status = 'final' THEN
        UPDATE invoice_counter SET last_seq = last_seq + 1 RETURNING last_seq INTO NEW.seq;
        NEW.issue_date := (NEW.finalized_at AT TIME ZONE 'UTC')::date;
        SELECT payment_terms_days INTO terms FROM customers WHERE id = NEW.customer_id;
        NEW.due_date := NEW.issue_date + coalesce(terms, 30);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoices_number_on_final BEFORE UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_number_on_final();

-- The counter is never moved back by hand: refuse DELETE and any UPDATE that does not add one.
CREATE FUNCTION invoice_counter_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.last_seq <> OLD.last_seq + 1 THEN
        RAISE EXCEPTION 'invoice_counter only moves forward by one, at finalization'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoice_counter_forward BEFORE UPDATE OR DELETE ON invoice_counter
    FOR EACH ROW EXECUTE FUNCTION invoice_counter_forward();

-- ---- invoice lines: kind; adjustment lines may be negative -------------------------------------
-- kind: 'usage' (data, requests), 'minimum' (the top-up), 'adjustment' (late usage of an earlier
-- final month), 'tax'. An adjustment line for a smaller minimum-commit top-up is negative
-- (quantity -1 x the top-up no longer owed: the late usage was already paid by the top-up); the
-- adjustments for one month never sum below 0 (billing bills no credit: README).
ALTER TABLE invoice_lines
    ADD COLUMN kind text NOT NULL DEFAULT 'usage'
        CHECK (kind IN ('usage', 'minimum', 'adjustment', 'tax')),
    DROP CONSTRAINT invoice_lines_quantity_check,
    ADD CONSTRAINT invoice_lines_quantity_check CHECK (quantity >= 0 OR kind = 'adjustment'),
    DROP CONSTRAINT invoice_lines_amount_check,
    ADD CONSTRAINT invoice_lines_amount_check CHECK (amount >= 0 OR kind = 'adjustment'),
    DROP CONSTRAINT invoice_lines_exact_amount_check,
    ADD CONSTRAINT invoice_lines_exact_amount_check
        CHECK (exact_amount >= 0 OR kind = 'adjustment');

-- ---- what an invoice was priced from, and the adjustments it carries ---------------------------
-- invoice_usage: per invoice and month priced, the usage per client country it was priced from:
-- for its own month, and (for_month earlier) for each earlier final month whose late usage it
-- carries as adjustments. The usage a final month has been billed for is that of the latest
-- FINAL invoice holding rows for it: late usage is what usage_hourly holds beyond that.
CREATE TABLE invoice_usage (
    invoice_id bigint REFERENCES invoices ON DELETE CASCADE,
    for_month  date CHECK (extract(day FROM for_month) = 1),
    part_from  timestamptz, -- start of the part of the month (plan change) the usage fell in
    country    char(2),
    hits       numeric NOT NULL CHECK (hits >= 0 AND hits = trunc(hits)),
    bytes      numeric NOT NULL CHECK (bytes >= 0 AND bytes = trunc(bytes)),
    PRIMARY KEY (invoice_id, for_month, part_from, country)
);
CREATE INDEX invoice_usage_month ON invoice_usage (for_month);

-- invoice_adjustments: invoice invoice_id carries the late usage of for_month (a final invoice of
-- the same customer) for amount (the sum of its adjustment lines for that month). Billed once:
-- only a final carrier counts, and a month's late usage is measured from the latest final one.
CREATE TABLE invoice_adjustments (
    invoice_id       bigint REFERENCES invoices ON DELETE CASCADE,
    for_month        date CHECK (extract(day FROM for_month) = 1),
    month_invoice_id bigint NOT NULL REFERENCES invoices, -- the final invoice of for_month
    amount           numeric NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (invoice_id, for_month)
);

-- Rows of a final invoice never change (as its lines).
CREATE TRIGGER invoice_usage_keep_final BEFORE INSERT OR UPDATE OR DELETE ON invoice_usage
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_keep_final();
CREATE TRIGGER invoice_adjustments_keep_final BEFORE INSERT OR UPDATE OR DELETE ON invoice_adjustments
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_keep_final();
CREATE TRIGGER invoice_usage_no_truncate BEFORE TRUNCATE ON invoice_usage
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();
CREATE TRIGGER invoice_adjustments_no_truncate BEFORE TRUNCATE ON invoice_adjustments
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();

-- invoice_parts: the plans an invoice was priced with, one row per part of its month (a plan
-- change mid-month makes two). invoices.plan_id is the plan of the last part.
CREATE TABLE invoice_parts (
    invoice_id bigint REFERENCES invoices ON DELETE CASCADE,
    part_no    integer CHECK (part_no >= 1),
    plan_id    text NOT NULL REFERENCES plans,
    part_from  timestamptz NOT NULL,
    part_to    timestamptz NOT NULL CHECK (part_to > part_from),
    PRIMARY KEY (invoice_id, part_no)
);
CREATE INDEX invoice_parts_plan ON invoice_parts (plan_id);
CREATE TRIGGER invoice_parts_keep_final BEFORE INSERT OR UPDATE OR DELETE ON invoice_parts
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_keep_final();
CREATE TRIGGER invoice_parts_no_truncate BEFORE TRUNCATE ON invoice_parts
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();

-- ---- plans used by a final invoice are frozen -------------------------------------------------
-- New prices are a new plan. "Used": the plan of a final invoice, or of a part of one.
CREATE FUNCTION plan_is_frozen(p text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM invoices WHERE plan_id = p AND status = 'final')
        OR EXISTS (SELECT 1 FROM invoice_parts ip JOIN invoices i ON i.id = ip.invoice_id
                   WHERE ip.plan_id = p AND i.status = 'final')
$$;

CREATE FUNCTION plans_keep_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    col  text := CASE WHEN TG_TABLE_NAME = 'plans' THEN 'id' ELSE 'plan_id' END;
    p    text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NEW;
    END IF;
    -- Inserting a row that is already there changes nothing (a setup script run again with
    -- INSERT ... ON CONFLICT DO NOTHING: BEFORE INSERT triggers fire before the conflict).
    IF TG_OP = 'INSERT' THEN
        DECLARE
            same boolean;
        BEGIN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I t WHERE to_jsonb(t) = $1)', TG_TABLE_NAME)
                INTO same USING to_jsonb(NEW);
            IF same THEN
                RETURN NEW;
            END IF;
        END;
    END IF;
    FOREACH p IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) ->> col END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) ->> col END] LOOP
        IF p IS NOT NULL AND plan_is_frozen(p) THEN
            RAISE EXCEPTION '%: plan % is used by a final invoice and cannot change; make a new plan and move customers to it',
                TG_TABLE_NAME, p USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER plans_keep_frozen BEFORE UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION plans_keep_frozen();
CREATE TRIGGER plan_zones_keep_frozen BEFORE INSERT OR UPDATE OR DELETE ON plan_zones
    FOR EACH ROW EXECUTE FUNCTION plans_keep_frozen();
CREATE TRIGGER plan_tiers_keep_frozen BEFORE INSERT OR UPDATE OR DELETE ON plan_tiers
    FOR EACH ROW EXECUTE FUNCTION plans_keep_frozen();
CREATE TRIGGER plans_no_truncate BEFORE TRUNCATE ON plans
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();
CREATE TRIGGER plan_zones_no_truncate BEFORE TRUNCATE ON plan_zones
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();
CREATE TRIGGER plan_tiers_no_truncate BEFORE TRUNCATE ON plan_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();

GRANT SELECT, INSERT, UPDATE, DELETE ON invoice_usage, invoice_adjustments, invoice_parts
    TO billing_writer;
GRANT SELECT, UPDATE ON invoice_counter TO billing_writer;
GRANT SELECT ON customer_plans TO billing_writer;
GRANT SELECT ON customer_plans, invoice_counter, invoice_usage, invoice_adjustments, invoice_parts
    TO billing_reader;
