-- Demo customers, plans and hosts (the same hosts loggen writes: `loggen --print-hosts`).
-- Idempotent: run it after `billing migrate` as often as you like.
BEGIN;
INSERT INTO plans (id, currency, minimum_commit, price_per_10k_requests) VALUES
  ('standard-usd', 'USD', 50.00, 0.0075),
  ('video-eur',    'EUR', 500.00, 0.0050),
  ('startup-jpy',  'JPY', 0, 1)
ON CONFLICT (id) DO NOTHING;

INSERT INTO plan_zones (plan_id, country, zone) VALUES
  ('standard-usd', '*', 'rest'), ('standard-usd', 'US', 'na'), ('standard-usd', 'CA', 'na'),
  ('standard-usd', 'DE', 'eu'), ('standard-usd', 'FR', 'eu'), ('standard-usd', 'GB', 'eu'),
  ('standard-usd', 'NL', 'eu'),
  ('video-eur', '*', 'world'), ('video-eur', 'JP', 'apac'), ('video-eur', 'AU', 'apac'),
  ('video-eur', 'SG', 'apac'), ('video-eur', 'IN', 'apac'),
  ('startup-jpy', '*', 'world')
ON CONFLICT (plan_id, country) DO NOTHING;

INSERT INTO plan_tiers (plan_id, zone, from_gb, price_per_gb) VALUES
  ('standard-usd', 'na', 0, 0.085), ('standard-usd', 'na', 10000, 0.060),
  ('standard-usd', 'eu', 0, 0.085), ('standard-usd', 'eu', 10000, 0.060),
  ('standard-usd', 'rest', 0, 0.140), ('standard-usd', 'rest', 10000, 0.110),
  ('video-eur', 'world', 0, 0.040), ('video-eur', 'world', 500, 0.030),
  ('video-eur', 'apac', 0, 0.090),
  ('startup-jpy', 'world', 0, 12), ('startup-jpy', 'world', 1000, 9)
ON CONFLICT (plan_id, zone, from_gb) DO NOTHING;

INSERT INTO customers (id, name, plan_id) VALUES
  ('acme', 'Acme Corporation', 'standard-usd'),
  ('globex', 'Globex Inc.', 'standard-usd'),
  ('umbrella', 'Umbrella Media GmbH', 'video-eur'),
  ('initech', 'Initech KK', 'startup-jpy'),
  ('hooli', 'Hooli', 'standard-usd')
ON CONFLICT (id) DO NOTHING;

INSERT INTO customer_hosts (host, customer_id) VALUES
  ('cdn.acme.example', 'acme'), ('img.acme.example', 'acme'), ('*.video.acme.example', 'acme'),
  ('static.globex.example', 'globex'), ('*.globex.example', 'globex'),
  ('media.umbrella.example', 'umbrella'), ('*.umbrella.example', 'umbrella'),
  ('assets.initech.example', 'initech'),
  ('*.hooli.example', 'hooli')
ON CONFLICT (host) DO NOTHING;
COMMIT;
