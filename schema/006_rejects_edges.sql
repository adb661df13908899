-- 006_rejects_edges: no record only counted, usage rows that hold any sum, when each edge is
-- billed up to, and one customer-id rule.
--
-- Every table here is written by `billing run` in the SAME transaction as the offsets that
-- cover it (see billing/store.h): a reject is kept exactly once, and an edge's watermark is
-- stored only together with every hit before it.

-- ---- customers.id: the one customer-id rule (common/custid.h, CUSTID_REGEX) -------------------
-- The old check allowed ids (acme+eu, Müller) that the collector's host map refuses: `billing
-- hosts` then printed a map the collectors would not load. Existing rows that break the new rule
-- make this migration fail, naming them (nothing of it is applied): rename those customers
-- first (and their customer_hosts, invoices and usage_hourly rows), then migrate again.
DO $$
DECLARE
    n   bigint;
    ids text;
BEGIN
    SELECT count(*), string_agg(quote_literal(id), ', ' ORDER BY id COLLATE "C")
        INTO n, ids
        FROM (SELECT id FROM customers WHERE id !~ '^[A-Za-z0-9._-]{1,64}$'
              ORDER BY id COLLATE "C" LIMIT 20) AS bad;
    IF n > 0 THEN
        SELECT count(*) INTO n FROM customers WHERE id !~ '^[A-Za-z0-9._-]{1,64}$';
        RAISE EXCEPTION 'customers.id: % customer id(s) break the customer-id rule (1 to 64 of the characters A-Z a-z 0-9 . _ -): % (first 20 shown); rename them, with their customer_hosts, invoices and usage_hourly rows, then run billing migrate again', n, ids
            USING ERRCODE = 'check_violation';
    END IF;
END
$$;
ALTER TABLE customers DROP CONSTRAINT IF EXISTS customers_id_check;
ALTER TABLE customers ADD CONSTRAINT customers_id_check CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$');

-- ---- usage_hourly: sums that cannot overflow ---------------------------------------------------
-- One row near the bigint limit made every flush fail ("bigint out of range") and stopped billing
-- for every customer. numeric holds any sum exactly. Both columns: hits cannot realistically
-- overflow a bigint (2^63 hits in one customer-hour-country is 2.5 * 10^15 hits a second), but
-- a row edited by hand could sit near the limit, and then one addition would stop billing again.
-- Whole numbers only; the invoice reads them as exact integers.
ALTER TABLE usage_hourly
    ALTER COLUMN hits TYPE numeric,
    ALTER COLUMN bytes TYPE numeric,
    ADD CONSTRAINT usage_hourly_whole CHECK (hits = trunc(hits) AND bytes = trunc(bytes));

-- Usage rows a flush could not add to usage_hourly (a constraint or trigger added by hand refused
-- them, or any other error of that one row): kept here, in the flush's transaction, so that the
-- offsets move on and billing goes on for every other customer. Nothing is lost: finance adds
-- them to usage_hourly once the cause is fixed (README: "Usage rows held back").
CREATE TABLE billing_usage_held (
    customer_id text NOT NULL,
    hour        timestamptz NOT NULL,
    country     text NOT NULL,
    hits        numeric NOT NULL,
    bytes       numeric NOT NULL,
    error       text NOT NULL,
    held_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_usage_held_at ON billing_usage_held (held_at);

-- ---- rejects -----------------------------------------------------------------------------------
-- Every record `billing run` consumes and does not bill, once each (unique Kafka position).
-- reason: the decoder's names (syntax, missing, type, range, version), hit_validate's (customer,
-- country, bytes, timestamp, text), or watermark (a "#wm" message whose value is not one).
-- record: the message value, at most 4 KiB of it cut on a UTF-8 character boundary; NUL bytes and
-- bytes that are not UTF-8 (which text cannot hold) are replaced by U+FFFD, and then
-- record_altered is true. record_bytes is the length of the whole value. kafka_ts is the
-- message's Kafka timestamp (`billing status --month` counts rejects by it).
CREATE TABLE billing_rejects (
    topic           text NOT NULL CHECK (topic <> ''),
    kafka_partition integer NOT NULL CHECK (kafka_partition >= 0),
    kafka_offset    bigint NOT NULL CHECK (kafka_offset >= 0),
    reason          text NOT NULL CHECK (reason <> ''),
    record          text NOT NULL,
    rejected_at     timestamptz NOT NULL DEFAULT now(),
    kafka_ts        timestamptz,
    record_bytes    integer NOT NULL DEFAULT 0,
    record_altered  boolean NOT NULL DEFAULT false,
    UNIQUE (topic, kafka_partition, kafka_offset)
);
CREATE INDEX billing_rejects_when ON billing_rejects (coalesce(kafka_ts, rejected_at));

-- ---- completeness ------------------------------------------------------------------------------
-- The partitions of each topic, as `billing run` last saw them: an edge is billed up to a time
-- only when every partition carried its watermark.
CREATE TABLE billing_topics (
    topic      text PRIMARY KEY CHECK (topic <> ''),
    partitions integer NOT NULL CHECK (partitions > 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Per topic, edge and partition: the highest watermark (common/watermark.h) consumed up to the
-- stored offset. Every hit of the edge with ts < wm_ms in that partition is billed.
CREATE TABLE billing_edge_watermarks (
    topic           text CHECK (topic <> ''),
    edge            text CHECK (edge <> ''),
    kafka_partition integer CHECK (kafka_partition >= 0),
    wm_ms           bigint NOT NULL CHECK (wm_ms >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, edge, kafka_partition)
);

-- Which edges have billed hits in which month (UTC, by the hits' own time): the edges that hold
-- a month open until they are billed past its end.
CREATE TABLE billing_edge_months (
    edge  text CHECK (edge <> ''),
    month date CHECK (extract(day FROM month) = 1),
    hits  numeric NOT NULL DEFAULT 0 CHECK (hits >= 0),
    PRIMARY KEY (edge, month)
);

-- Edges that will never report again (`billing edges retire`): they hold no month open.
CREATE TABLE billing_edges_retired (
    edge       text PRIMARY KEY CHECK (edge <> ''),
    retired_at timestamptz NOT NULL DEFAULT now(),
    retired_by text NOT NULL DEFAULT current_user,
    reason     text NOT NULL DEFAULT ''
);

-- ---- invoices finalized before the month was complete -----------------------------------------
-- `billing invoice --finalize --force-incomplete --reason TEXT`: the reason, and the edges that
-- were not billed up to the month's end plus the grace at that moment. NULL: finalized complete.
ALTER TABLE invoices
    ADD COLUMN incomplete_reason text,
    ADD COLUMN incomplete_edges text;

GRANT SELECT, INSERT ON billing_rejects, billing_usage_held TO billing_writer;
GRANT SELECT, INSERT, UPDATE ON billing_topics, billing_edge_watermarks, billing_edge_months
    TO billing_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON billing_edges_retired TO billing_writer;
GRANT SELECT ON billing_rejects, billing_usage_held, billing_topics, billing_edge_watermarks,
    billing_edge_months, billing_edges_retired TO billing_reader;
