-- Palisade's ClickHouse archive, for servers without LowCardinality/TTL/IPv6 (Debian 12 ships
-- ClickHouse 18.16). Palisade runs these statements itself (CREATE ... IF NOT EXISTS) in the
-- configured database; `current.sql` is used instead on servers from 20.1 on.
--
-- Every table is a ReplacingMergeTree keyed by uuid: a row delivered twice (a retry after a lost
-- answer, a spool file replayed after a crash) is one row once merged, and reads with FINAL see
-- one row per uuid at once. Decisions carry their change sequence as the version, so a deletion
-- (until = deletion time) replaces the earlier row. Times are DateTime (seconds, UTC).

CREATE TABLE IF NOT EXISTS alerts (
    uuid String,
    id UInt64,
    created_at DateTime,
    start_at DateTime,
    stop_at DateTime,
    scenario String,
    scenario_version String,
    scope String,
    value String,
    source_ip String,
    source_range String,
    source_cn String,
    source_as_number String,
    source_as_name String,
    machine_id String,
    kind String,
    simulated UInt8,
    remediation UInt8,
    events_count UInt32,
    capacity Int32,
    leakspeed String,
    message String,
    decisions UInt32,
    body String,
    version UInt64
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(created_at) ORDER BY uuid;

CREATE TABLE IF NOT EXISTS decisions (
    uuid String,
    id UInt64,
    created_at DateTime,
    until DateTime,
    origin String,
    scenario String,
    scope String,
    value String,
    type String,
    duration String,
    simulated UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(created_at) ORDER BY uuid;

CREATE TABLE IF NOT EXISTS events (
    uuid String,
    ts DateTime,
    source_ip String,
    log_type String,
    module String,
    src String,
    raw String,
    meta String,
    version UInt64
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(ts) ORDER BY (ts, uuid);
