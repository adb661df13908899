-- 005_ownership: the audit of `billing offsets reset`.
--
-- Which member reads which partition is not a table: a member owns partition P while its
-- session holds an advisory lock (billing/owner.h), so a member that dies frees it at once, and
-- pg_locks (with pg_stat_activity's application_name, the member's --instance-id) shows the
-- owners. What is kept is every decision a person made to move a stored offset: billing never
-- jumps over missing hits by itself (an offset gap stops it), and each reset says who, when,
-- from where to where, what Kafka held then, and why.
CREATE TABLE billing_offset_resets (
    id              bigserial PRIMARY KEY,
    reset_at        timestamptz NOT NULL DEFAULT now(),
    db_user         text NOT NULL DEFAULT session_user,  -- the login role (not the SET ROLE one)
    client          text NOT NULL DEFAULT '',            -- OS user @ host of `billing offsets reset`
    group_id        text NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL CHECK (kafka_partition >= 0),
    old_offset      bigint,                              -- NULL: no stored offset before
    new_offset      bigint NOT NULL CHECK (new_offset >= 0),
    kafka_low       bigint NOT NULL,                     -- Kafka's range at the reset
    kafka_high      bigint NOT NULL,
    reason          text NOT NULL CHECK (reason <> '')
);

GRANT SELECT, INSERT ON billing_offset_resets TO billing_writer;
GRANT USAGE ON SEQUENCE billing_offset_resets_id_seq TO billing_writer;
GRANT SELECT ON billing_offset_resets TO billing_reader;
