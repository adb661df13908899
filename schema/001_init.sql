-- 001_init: the tables of the contract (CONTRACT.md, "billing"), currencies, and the two roles.
--
-- Applied once by `billing migrate`, inside one transaction (so no BEGIN/COMMIT here).
-- Constraints make bad data impossible rather than merely unlikely: money and counts are never
-- negative, currencies and country codes come from known sets, plans and hosts point at rows that
-- exist. usage_hourly.customer_id deliberately has NO foreign key to customers: a hit for a
-- customer missing from `customers` is still billed into usage (and reported by `billing invoice`
-- as needing attention), never refused and lost.

-- Roles. Roles belong to the cluster, not the database: create them only if missing, so a
-- second database in the same cluster (or a DBA who created them beforehand, when the migrating
-- user may not CREATE ROLE) is fine. Both are NOLOGIN group roles: grant them to login roles,
-- e.g.  CREATE ROLE billing LOGIN PASSWORD '...' IN ROLE billing_writer;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billing_writer') THEN
        CREATE ROLE billing_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billing_reader') THEN
        CREATE ROLE billing_reader NOLOGIN;
    END IF;
END
$$;

-- ISO 4217 currencies with their minor units (decimals of the smallest coin): invoice amounts
-- are rounded to these. Add rows for more currencies; plans may only use currencies listed here.
CREATE TABLE currencies (
    code        char(3) PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    minor_units smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4),
    name        text NOT NULL DEFAULT ''
);
INSERT INTO currencies (code, minor_units, name) VALUES
    ('USD', 2, 'US Dollar'), ('EUR', 2, 'Euro'), ('GBP', 2, 'Pound Sterling'),
    ('JPY', 0, 'Yen'), ('CHF', 2, 'Swiss Franc'), ('CAD', 2, 'Canadian Dollar'),
    ('AUD', 2, 'Australian Dollar'), ('NZD', 2, 'New Zealand Dollar'),
    ('SEK', 2, 'Swedish Krona'), ('NOK', 2, 'Norwegian Krone'), ('DKK', 2, 'Danish Krone'),
    ('PLN', 2, 'Zloty'), ('CZK', 2, 'Czech Koruna'), ('HUF', 2, 'Forint'),
    ('CNY', 2, 'Yuan Renminbi'), ('HKD', 2, 'Hong Kong Dollar'), ('SGD', 2, 'Singapore Dollar'),
    ('INR', 2, 'Indian Rupee'), ('KRW', 0, 'Won'), ('BRL', 2, 'Brazilian Real'),
    ('MXN', 2, 'Mexican Peso'), ('ZAR', 2, 'Rand'), ('AED', 2, 'UAE Dirham'),
    ('ILS', 2, 'New Israeli Sheqel'), ('TRY', 2, 'Turkish Lira'), ('ISK', 0, 'Iceland Krona'),
    ('CLP', 0, 'Chilean Peso'), ('VND', 0, 'Dong'), ('KWD', 3, 'Kuwaiti Dinar'),
    ('BHD', 3, 'Bahraini Dinar'), ('OMR', 3, 'Rial Omani'), ('JOD', 3, 'Jordanian Dinar'),
    ('TND', 3, 'Tunisian Dinar');

CREATE TABLE plans (
    id                     text PRIMARY KEY CHECK (id <> ''),
    currency               char(3) NOT NULL REFERENCES currencies (code),
    minimum_commit         numeric NOT NULL DEFAULT 0 CHECK (minimum_commit >= 0),
    price_per_10k_requests numeric NOT NULL DEFAULT 0 CHECK (price_per_10k_requests >= 0)
);

-- A customer id appears in the collector's host map ("HOST CUSTOMER_ID", '#' starts a comment)
-- and in hit records (at most 1024 bytes, hit.h's HIT_STR_MAX): no white space, no '#'.
CREATE TABLE customers (
    id      text PRIMARY KEY
            CHECK (id ~ '^[^[:space:]#]+$' AND octet_length(id) <= 1024),
    name    text NOT NULL,
    plan_id text REFERENCES plans
);

-- Hosts compare case-insensitively in the collector: stored in lower case, so that two rows can
-- never name the same host. Printed by `billing hosts` as "HOST CUSTOMER_ID": no white space.
CREATE TABLE customer_hosts (
    host        text PRIMARY KEY
                CHECK (host ~ '^(\*\.)?[^[:space:]#*]+$' AND host = lower(host)),
    customer_id text NOT NULL REFERENCES customers
);
CREATE INDEX customer_hosts_customer ON customer_hosts (customer_id);

-- country '*' is the zone of every other country.
CREATE TABLE plan_zones (
    plan_id text REFERENCES plans,
    country text CHECK (country ~ '^[A-Z]{2}$' OR country = '*'),
    zone    text NOT NULL CHECK (zone <> ''),
    PRIMARY KEY (plan_id, country)
);

CREATE TABLE plan_tiers (
    plan_id      text REFERENCES plans,
    zone         text CHECK (zone <> ''),
    from_gb      numeric NOT NULL CHECK (from_gb >= 0),
    price_per_gb numeric NOT NULL CHECK (price_per_gb >= 0),
    PRIMARY KEY (plan_id, zone, from_gb)
);

-- One row per customer, UTC hour (by the hits' own time) and client country. `hour` is a whole
-- hour of UTC: the check uses the epoch, which does not depend on the session's TimeZone (a
-- date_trunc would, for zones such as +05:30). Country 'ZZ' is unknown.
CREATE TABLE usage_hourly (
    customer_id text CHECK (customer_id <> ''),
    hour        timestamptz CHECK (extract(epoch FROM hour) % 3600 = 0),
    country     char(2) CHECK (country ~ '^[A-Z]{2}$'),
    hits        bigint NOT NULL CHECK (hits >= 0),
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (customer_id, hour, country)
);
-- Invoices read a month of every customer: by hour first.
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);

-- Privileges: billing_reader (finance, dashboards) reads everything; billing_writer (the
-- `billing` program) reads everything and writes only usage. Later migrations grant their own
-- tables; the default privileges below give billing_reader SELECT on tables created later by the
-- role that runs the migrations.
GRANT USAGE ON SCHEMA public TO billing_reader, billing_writer;
GRANT SELECT ON currencies, plans, customers, customer_hosts, plan_zones, plan_tiers,
    usage_hourly TO billing_reader, billing_writer;
GRANT INSERT, UPDATE ON usage_hourly TO billing_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO billing_reader;
