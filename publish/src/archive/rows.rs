//! The archive's rows, one struct per table, in the column order of `deploy/clickhouse/*.sql`
//! (RowBinary is positional; schema validation is off because ClickHouse 18.16 lacks the
//! format it needs). Times are `DateTime`: Unix seconds as `u32`.

use palisade_schemas::time::parse_rfc3339;
use palisade_schemas::{Alert, Decision, Event};
use serde::{Deserialize, Serialize};

/// A row of `alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct AlertRow {
    pub uuid: String,
    pub id: u64,
    pub created_at: u32,
    pub start_at: u32,
    pub stop_at: u32,
    pub scenario: String,
    pub scenario_version: String,
    pub scope: String,
    pub value: String,
    pub source_ip: String,
    pub source_range: String,
    pub source_cn: String,
    pub source_as_number: String,
    pub source_as_name: String,
    pub machine_id: String,
    pub kind: String,
    pub simulated: u8,
    pub remediation: u8,
    pub events_count: u32,
    pub capacity: i32,
    pub leakspeed: String,
    pub message: String,
    pub decisions: u32,
    pub body: String,
    pub version: u64,
}

/// A row of `decisions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct DecisionRow {
    pub uuid: String,
    pub id: u64,
    pub created_at: u32,
    pub until: u32,
    pub origin: String,
    pub scenario: String,
    pub scope: String,
    pub value: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub duration: String,
    pub simulated: u8,
    pub version: u64,
}

/// A row of `events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct EventRow {
    pub uuid: String,
    pub ts: u32,
    pub source_ip: String,
    pub log_type: String,
    pub module: String,
    pub src: String,
    pub raw: String,
    pub meta: String,
    pub version: u64,
}

/// Seconds since the epoch, clamped to `DateTime`'s range.
pub(crate) fn secs(t: Option<chrono::DateTime<chrono::Utc>>) -> u32 {
    t.map_or(0, |t| t.timestamp().clamp(0, i64::from(u32::MAX)) as u32)
}

impl AlertRow {
    /// The row of a stored alert (with its id, `created_at` and decisions).
    pub fn from_alert(a: &Alert) -> AlertRow {
        let time = |s: &str| secs(parse_rfc3339(s));
        AlertRow {
            uuid: a.uuid.clone(),
            id: a.id.max(0) as u64,
            created_at: time(&a.created_at),
            start_at: time(&a.start_at),
            stop_at: time(&a.stop_at),
            scenario: a.scenario.clone(),
            scenario_version: a.scenario_version.clone(),
            scope: a.source.scope.clone(),
            value: a.source.value.clone(),
            source_ip: a.source.ip.clone(),
            source_range: a.source.range.clone(),
            source_cn: a.source.cn.clone(),
            source_as_number: a.source.as_number.clone(),
            source_as_name: a.source.as_name.clone(),
            machine_id: a.machine_id.clone(),
            kind: a.kind.clone(),
            simulated: u8::from(a.simulated),
            remediation: u8::from(a.remediation),
            events_count: a.events_count.max(0) as u32,
            capacity: a.capacity,
            leakspeed: a.leakspeed.clone(),
            message: a.message.clone(),
            decisions: a.decisions.as_ref().map_or(0, |d| d.len() as u32),
            body: serde_json::to_string(a).unwrap_or_default(),
            version: 1,
        }
    }
}

impl DecisionRow {
    /// The row of a decision as of change `seq`, stored at `created_at`.
    pub fn from_decision(
        d: &Decision,
        seq: i64,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> DecisionRow {
        DecisionRow {
            uuid: d.uuid.clone().unwrap_or_default(),
            id: d.id.max(0) as u64,
            created_at: secs(Some(created_at)),
            until: secs(d.until),
            origin: d.origin.clone(),
            scenario: d.scenario.clone(),
            scope: d.scope.clone(),
            value: d.value.clone(),
            kind: d.kind.clone(),
            duration: d.duration.clone(),
            simulated: u8::from(d.simulated.unwrap_or(false)),
            version: seq.max(0) as u64,
        }
    }
}

impl EventRow {
    /// The row of a parsed event. Its uuid is a v5 uuid of its time, source and raw line, so the
    /// same line read twice (a replay) is one row.
    pub fn from_event(e: &Event) -> EventRow {
        let ts = e
            .time
            .or_else(|| parse_rfc3339(&e.marshaled_time))
            .or(e.line.time);
        let raw = e.line.raw.clone();
        let name = format!("{}\u{0}{}\u{0}{}", secs(ts), e.line.src, raw);
        EventRow {
            uuid: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string(),
            ts: secs(ts),
            source_ip: e.meta.get("source_ip").cloned().unwrap_or_default(),
            log_type: e.meta.get("log_type").cloned().unwrap_or_default(),
            module: e.line.module.clone(),
            src: e.line.src.clone(),
            raw,
            meta: serde_json::to_string(&e.meta).unwrap_or_default(),
            version: 1,
        }
    }
}
