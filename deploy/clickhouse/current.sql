-- Palisade's ClickHouse archive for current servers (20.1 and later). Same columns as
-- 18.16.sql, so the same rows insert into either, plus what a current server offers:
--   * LowCardinality(String) for the repetitive columns (scope, origin, type, scenario...):
--     dictionary-encoded, smaller and faster to filter;
--   * TTL: alerts and decisions are dropped a year after creation, events after 90 days
--     (edit the intervals before the first start, or ALTER TABLE ... MODIFY TTL later);
--   * an IPv6 column computed from the address text (IPv4 addresses map to ::ffff:a.b.c.d),
--     for range queries: WHERE isIPAddressInRange(IPv6NumToString(ip), '1.2.3.0/24')...
--     it is MATERIALIZED, so inserts do not send it.
-- Checked on ClickHouse 26.9 (chdb): the tables are created, FINAL keeps the highest version
-- per uuid, and `ip` reads ::ffff:1.2.3.4 for 1.2.3.4.

CREATE TABLE IF NOT EXISTS alerts (
    uuid String,
    id UInt64,
    created_at DateTime,
    start_at DateTime,
    stop_at DateTime,
    scenario LowCardinality(String),
    scenario_version LowCardinality(String),
    scope LowCardinality(String),
    value String,
    source_ip String,
    source_range String,
    source_cn LowCardinality(String),
    source_as_number LowCardinality(String),
    source_as_name LowCardinality(String),
    machine_id LowCardinality(String),
    kind LowCardinality(String),
    simulated UInt8,
    remediation UInt8,
    events_count UInt32,
    capacity Int32,
    leakspeed LowCardinality(String),
    message String,
    decisions UInt32,
    body String,
    version UInt64,
    ip IPv6 MATERIALIZED toIPv6OrDefault(source_ip)
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(created_at) ORDER BY uuid
  TTL created_at + INTERVAL 365 DAY;

CREATE TABLE IF NOT EXISTS decisions (
    uuid String,
    id UInt64,
    created_at DateTime,
    until DateTime,
    origin LowCardinality(String),
    scenario LowCardinality(String),
    scope LowCardinality(String),
    value String,
    type LowCardinality(String),
    duration LowCardinality(String),
    simulated UInt8,
    version UInt64,
    ip IPv6 MATERIALIZED toIPv6OrDefault(value)
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(created_at) ORDER BY uuid
  TTL created_at + INTERVAL 365 DAY;

CREATE TABLE IF NOT EXISTS events (
    uuid String,
    ts DateTime,
    source_ip String,
    log_type LowCardinality(String),
    module LowCardinality(String),
    src LowCardinality(String),
    raw String,
    meta String,
    version UInt64,
    ip IPv6 MATERIALIZED toIPv6OrDefault(source_ip)
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(ts) ORDER BY (ts, uuid)
  TTL ts + INTERVAL 90 DAY;
