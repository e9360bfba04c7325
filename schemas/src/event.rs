//! The pipeline event, field for field CrowdSec's `pipeline.Event` (same JSON names), so that
//! CrowdSec expressions such as `evt.Parsed.program` or `evt.Line.Labels.type` address it unchanged.

use crate::alert::{Alert, Source};
use crate::field_name::FieldName;
use crate::time::{format_rfc3339_nano, go_time};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The string maps of an event (`Parsed`, `Enriched`, `Meta`). Keys are field names a parser
/// sets, read and written several times per line, so the hasher is foldhash (randomly seeded
/// per map, like std's, but a fraction of SipHash's cost on short keys), and the keys are
/// [`FieldName`]s: the names from configuration are interned, so writing one allocates nothing.
pub type FieldMap = HashMap<FieldName, String, foldhash::fast::RandomState>;

/// Whether an event is a log line or a bucket overflow (CrowdSec's `Type`: 0 = LOG, 1 = OVFLW).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum EventType {
    /// A log line (0).
    #[default]
    Log,
    /// A bucket overflow (1).
    Overflow,
    /// An AppSec (WAF) event (2); kept for compatibility, Palisade does not produce it.
    Appsec,
}

impl From<u8> for EventType {
    fn from(v: u8) -> Self {
        match v {
            1 => EventType::Overflow,
            2 => EventType::Appsec,
            _ => EventType::Log,
        }
    }
}

impl From<EventType> for u8 {
    fn from(v: EventType) -> u8 {
        match v {
            EventType::Log => 0,
            EventType::Overflow => 1,
            EventType::Appsec => 2,
        }
    }
}

impl EventType {
    /// What `evt.GetType()` returns in CrowdSec expressions.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Log => "log",
            EventType::Overflow => "overflow",
            EventType::Appsec => "appsec",
        }
    }
}

/// How buckets must treat an event's time: wall clock (live) or the log's own time (replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum ExpectMode {
    /// Live: time is the wall clock (0).
    #[default]
    Live,
    /// Time machine: time comes from the log line (1).
    TimeMachine,
}

impl From<u8> for ExpectMode {
    fn from(v: u8) -> Self {
        if v == 1 {
            ExpectMode::TimeMachine
        } else {
            ExpectMode::Live
        }
    }
}

impl From<ExpectMode> for u8 {
    fn from(v: ExpectMode) -> u8 {
        match v {
            ExpectMode::Live => 0,
            ExpectMode::TimeMachine => 1,
        }
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The raw line as a source read it (CrowdSec's `types.Line`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The log line itself.
    #[serde(rename = "Raw", default, skip_serializing_if = "String::is_empty")]
    pub raw: String,
    /// Where it came from: a file path, a topic, a client address.
    #[serde(rename = "Src", default, skip_serializing_if = "String::is_empty")]
    pub src: String,
    /// When the source read it.
    #[serde(rename = "Time", with = "go_time", default)]
    pub time: Option<DateTime<Utc>>,
    /// The source's labels; `type` selects the parsers.
    #[serde(rename = "Labels", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Set once the line was processed.
    #[serde(rename = "Process", default, skip_serializing_if = "is_default")]
    pub process: bool,
    /// The source module: `file`, `journalctl`, `syslog`, `stdin`, `kafka`, ...
    #[serde(rename = "Module", default, skip_serializing_if = "String::is_empty")]
    pub module: String,
}

/// What an overflow carries (CrowdSec's `types.RuntimeAlert`), JSON name `Alert` on the event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeAlert {
    /// The bucket's partition key.
    #[serde(rename = "MapKey", default)]
    pub mapkey: String,
    /// The bucket's name.
    #[serde(rename = "BucketId", default)]
    pub bucket_id: String,
    /// Whether a postoverflow whitelisted it.
    #[serde(rename = "Whitelisted", default)]
    pub whitelisted: bool,
    /// Whether the overflow is poured back into the buckets.
    #[serde(rename = "Reprocess", default)]
    pub reprocess: bool,
    /// The sources of the overflow, by value.
    #[serde(rename = "Sources", default)]
    pub sources: BTreeMap<String, Source>,
    /// The alert made from the overflow.
    #[serde(rename = "Alert", default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Box<Alert>>,
    /// One alert per source, as sent to the Local API.
    #[serde(rename = "APIAlerts", default)]
    pub api_alerts: Vec<Alert>,
}

/// A pipeline event: a log line and everything the parsers learnt from it, or an overflow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Log or overflow.
    #[serde(rename = "Type", default, skip_serializing_if = "is_default")]
    pub kind: EventType,
    /// Live or time machine.
    #[serde(rename = "ExpectMode", default, skip_serializing_if = "is_default")]
    pub expect_mode: ExpectMode,
    /// Set by a whitelist node; whitelisted log events are dropped after parsing.
    #[serde(rename = "Whitelisted", default, skip_serializing_if = "is_default")]
    pub whitelisted: bool,
    /// The reason given by the whitelist node.
    #[serde(
        rename = "whitelist_reason",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub whitelist_reason: String,
    /// The current parser stage (`s00-raw`, ...).
    #[serde(rename = "Stage", default, skip_serializing_if = "String::is_empty")]
    pub stage: String,
    /// The raw line.
    #[serde(rename = "Line", default)]
    pub line: Line,
    /// Grok captures and `parsed:` statics.
    #[serde(rename = "Parsed", default, skip_serializing_if = "HashMap::is_empty")]
    pub parsed: FieldMap,
    /// Enricher outputs.
    #[serde(
        rename = "Enriched",
        default,
        skip_serializing_if = "HashMap::is_empty"
    )]
    pub enriched: FieldMap,
    /// JSON trees filled by `UnmarshalJSON` and friends.
    #[serde(
        rename = "Unmarshaled",
        default,
        skip_serializing_if = "serde_json::Map::is_empty"
    )]
    pub unmarshaled: serde_json::Map<String, serde_json::Value>,
    /// The overflow, for `Type = 1`.
    #[serde(rename = "Alert", default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<Box<RuntimeAlert>>,
    /// The event time: the log's own time when replaying, the wall clock when live.
    #[serde(rename = "Time", with = "go_time", default)]
    pub time: Option<DateTime<Utc>>,
    /// The timestamp text a parser extracted, for `ParseDate`.
    #[serde(rename = "StrTime", default, skip_serializing_if = "String::is_empty")]
    pub str_time: String,
    /// An optional Go layout for `StrTime`.
    #[serde(
        rename = "StrTimeFormat",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub str_time_format: String,
    /// The event time in RFC 3339; time-machine buckets use it.
    #[serde(
        rename = "MarshaledTime",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub marshaled_time: String,
    /// True once parsing succeeded.
    #[serde(rename = "Process", default)]
    pub process: bool,
    /// The normalised fields; scenarios filter on them and alerts carry them.
    #[serde(rename = "Meta", default, skip_serializing_if = "HashMap::is_empty")]
    pub meta: FieldMap,
    /// Set (never serialised) on an event re-read from the events topic only to rebuild bucket
    /// state after a restart or rebalance: it was processed before, so what it makes overflow
    /// is not raised again.
    #[serde(skip)]
    pub rebuild: bool,
}

impl Event {
    /// A log event for one raw line, as a source makes it.
    pub fn from_line(line: Line, expect_mode: ExpectMode) -> Self {
        Event {
            line,
            expect_mode,
            ..Event::default()
        }
    }

    /// The event's `type` label, which routes it to parsers.
    pub fn log_type(&self) -> Option<&str> {
        self.line.labels.get("type").map(String::as_str)
    }

    /// `evt.GetMeta(key)`: the Meta value, or "" when absent.
    pub fn get_meta(&self, key: &str) -> &str {
        self.meta.get(key).map(String::as_str).unwrap_or("")
    }

    /// The source address the parsers found (`Meta.source_ip`), if any.
    pub fn source_ip(&self) -> Option<&str> {
        self.meta
            .get("source_ip")
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Sets the event time, and `MarshaledTime` with it, as `ParseDate` does.
    pub fn set_time(&mut self, t: DateTime<Utc>) {
        self.time = Some(t);
        self.marshaled_time = format_rfc3339_nano(&t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> Event {
        let mut labels = BTreeMap::new();
        labels.insert("type".to_string(), "syslog".to_string());
        let mut e = Event::from_line(
            Line {
                raw: "Jan  1 00:00:01 host sshd[1]: Failed password for root from 1.2.3.4".into(),
                src: "/var/log/auth.log".into(),
                time: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap()),
                labels,
                process: true,
                module: "file".into(),
            },
            ExpectMode::TimeMachine,
        );
        e.parsed.insert("program".into(), "sshd".into());
        e.meta.insert("source_ip".into(), "1.2.3.4".into());
        e.unmarshaled
            .insert("k".into(), serde_json::json!({"a": [1, 2]}));
        e.set_time(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap());
        e
    }

    #[test]
    fn json_round_trip_keeps_every_field() {
        let e = sample();
        let text = serde_json::to_string(&e).unwrap();
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn uses_crowdsec_json_names() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["ExpectMode"], 1);
        assert_eq!(v["Line"]["Labels"]["type"], "syslog");
        assert_eq!(v["Line"]["Module"], "file");
        assert_eq!(v["Parsed"]["program"], "sshd");
        assert_eq!(v["MarshaledTime"], "2026-01-01T00:00:01Z");
        assert!(
            v.get("Type").is_none(),
            "LOG type is omitted like Go's omitempty"
        );
    }

    #[test]
    fn reads_go_zero_time_as_unset() {
        let e: Event = serde_json::from_str(
            r#"{"Type":1,"Time":"0001-01-01T00:00:00Z","Line":{"Raw":"x"},"Process":false}"#,
        )
        .unwrap();
        assert_eq!(e.kind, EventType::Overflow);
        assert!(e.time.is_none());
        assert_eq!(e.line.raw, "x");
        assert_eq!(e.get_meta("nope"), "");
    }
}
