-- 009: usage of old months that changed, so that late usage beyond the window in which it is
-- billed is reported, never silently missed (issue 10; README "Finance", late usage).
--
-- `billing invoice` bills late usage of the 3 months before the invoiced month (invoice_db.h,
-- INVDB_LATE_MONTHS); comparing every older month with what its final invoice billed would read
-- the whole history at every run. `billing run` never writes an hour that old (it refuses hits
-- more than 35 days old), so a change there is a hand edit (or a replay of very old records):
-- these triggers note which customer's month it touched, at the cost of one timestamp
-- comparison per written row (the WHEN clause) on billing's own writes. `billing invoice` then
-- compares only the noted months that lie before its window and have a final invoice with the
-- usage they were billed for, and reports those that differ (usage_after_final).
--
-- "Old": an hour before the first day of the month two months before the current one (UTC):
-- in December, September and before. Billing's writes (35 days back at most) never reach it.
-- Not noted: TRUNCATE of usage_hourly, and changes made before this migration.
CREATE TABLE usage_old_edits (
    customer_id text NOT NULL,
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    first_at    timestamptz NOT NULL DEFAULT now(),
    last_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, month)
);

CREATE FUNCTION usage_old_edits_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r usage_hourly;
BEGIN
    IF TG_ARGV[0] = 'old' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    INSERT INTO usage_old_edits (customer_id, month)
        VALUES (r.customer_id, date_trunc('month', r.hour AT TIME ZONE 'UTC')::date)
        ON CONFLICT (customer_id, month) DO UPDATE SET last_at = now();
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_old_edits_new AFTER INSERT OR UPDATE ON usage_hourly FOR EACH ROW
    WHEN (NEW.hour < (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '2 months')
                     AT TIME ZONE 'UTC')
    EXECUTE FUNCTION usage_old_edits_note('new');
CREATE TRIGGER usage_old_edits_old AFTER UPDATE OR DELETE ON usage_hourly FOR EACH ROW
    WHEN (OLD.hour < (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '2 months')
                     AT TIME ZONE 'UTC')
    EXECUTE FUNCTION usage_old_edits_note('old');

GRANT SELECT, INSERT, UPDATE ON usage_old_edits TO billing_writer;
GRANT SELECT ON usage_old_edits TO billing_reader;
