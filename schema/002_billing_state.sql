-- 002_billing_state: what `billing run` keeps so that every hit is counted exactly once.
--
-- Each flush of `billing run` is ONE transaction that adds its sums to usage_hourly, moves the
-- offsets below forward with a compare-and-set (only from the value this consumer started
-- from), and raises the replay marks. A crash at any instant leaves either all of it or none.

-- The next Kafka offset to read, per consumer group and partition: the consumer seeks here on
-- assignment (Kafka's own committed offsets are not used).
CREATE TABLE billing_offsets (
    group_id    text CHECK (group_id <> ''),
    topic       text CHECK (topic <> ''),
    partition   integer CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Replay marks: the highest line offset (`off`) of a log source (`src` of edge `edge`) billed
-- from one partition. A collector that restarts sends a source's lines again from an earlier
-- line, in order, with the same (src, off); within one partition those copies arrive after the
-- originals, so "off <= max_off" means "already billed" and is dropped. What this assumes (see
-- billing/marks.h): a source's lines are produced in order of `off`; a partition never holds a
-- gap followed by later lines of the same source (the collector's idempotent producer resends
-- from its last confirmed line); a customer's records stay in one partition (the message key
-- is the customer, the partition count does not change while replays are possible).
CREATE TABLE billing_replay_marks (
    topic      text CHECK (topic <> ''),
    edge       text,
    src        text CHECK (src <> ''),
    partition  integer CHECK (partition >= 0),
    max_off    bigint NOT NULL CHECK (max_off >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, edge, src, partition)
);

GRANT SELECT, INSERT, UPDATE ON billing_offsets, billing_replay_marks TO billing_writer;
GRANT SELECT ON billing_offsets, billing_replay_marks TO billing_reader;
