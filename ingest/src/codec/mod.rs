//! Shipper codecs: how a message on the Kafka logs topic becomes an [`Event`] with a raw line and
//! labels, in the distributed mode's `ingest` role.
//!
//! ```text
//! Kafka message ──► [codec] raw line │ Vector │ Filebeat (ECS) │ Fluent Bit │ rsyslog JSON
//!                       │  line, time, host, file, program (field mapping)
//!                       └─► labels (defaults, then the first matching rule) ──► Event{Line} ──► parse
//! ```
//!
//! * A raw message is the line itself, as CrowdSec's Kafka datasource takes it.
//! * A JSON envelope is recognised by its fields (`format: auto`) or named (`format: vector`, ...)
//!   and mapped with [`FieldMap`]; any mapping can be overridden field by field.
//! * When the envelope names the program (Vector's syslog source, rsyslog's `programname`, Fluent
//!   Bit's journald fields), the line is rebuilt as a syslog line (`Mmm dd hh:mm:ss host
//!   program[pid]: message`) and labelled `type: syslog`, so that syslog parsers apply unchanged.
//! * Time: the envelope's timestamp, else the Kafka message timestamp, else now; the parsers'
//!   date enricher prefers the time written in the line itself.
//!
//! A message that cannot be decoded gives a [`DecodeError`] with the reason; the caller sends it
//! to the dead-letter topic.

mod envelope;
mod spec;

pub use envelope::{Decoded, Format};
pub use spec::{CodecSpec, FieldMap, LabelRule, RuleMatch};

use crate::source::syslog::{SyslogMessage, Timestamp};
use chrono::{DateTime, Utc};
use palisade_schemas::event::{ExpectMode, Line};
use palisade_schemas::{Event, FieldName};
use std::collections::BTreeMap;

/// Why a message could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message is not UTF-8 text.
    #[error("the message is not valid UTF-8")]
    NotUtf8,
    /// The message is empty or blank.
    #[error("the message is empty")]
    Empty,
    /// A JSON envelope without the line.
    #[error("{format} envelope has no line field ({field})")]
    NoLine {
        /// The envelope format.
        format: &'static str,
        /// The field looked for.
        field: String,
    },
    /// The message looked like JSON but is not.
    #[error("invalid JSON envelope: {0}")]
    BadJson(String),
    /// No label rule and no default gave a `type`.
    #[error("no labels.type for this message (program {program:?}, file {file:?}): add a default `labels: {{type: ...}}` or a rule")]
    NoType {
        /// The program, if the envelope named one.
        program: String,
        /// The file, if the envelope named one.
        file: String,
    },
}

/// A compiled codec.
#[derive(Debug, Clone)]
pub struct Codec {
    format: Format,
    fields: FieldMap,
    labels: BTreeMap<String, String>,
    rules: Vec<spec::CompiledRule>,
    expect: ExpectMode,
}

impl Codec {
    /// Whether events are replayed at their own time (`TimeMachine`, the distributed default) or
    /// at arrival time.
    pub fn with_expect_mode(mut self, expect: ExpectMode) -> Self {
        self.expect = expect;
        self
    }

    /// Decodes one message of `topic`. `kafka_time` is the message timestamp; `now` the clock.
    pub fn decode(
        &self,
        payload: &[u8],
        topic: &str,
        kafka_time: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Event, DecodeError> {
        let text = std::str::from_utf8(payload).map_err(|_| DecodeError::NotUtf8)?;
        let d = envelope::decode(text, self.format, &self.fields)?;
        let time = d.time.or(kafka_time).unwrap_or(now);
        let mut labels = self.labels.clone();
        if let Some(rule) = self.rules.iter().find(|r| r.matches(&d)) {
            labels.extend(rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let raw = match d.program.as_deref().filter(|p| !p.is_empty()) {
            Some(program) => {
                labels
                    .entry("type".to_string())
                    .or_insert_with(|| "syslog".to_string());
                if labels.get("type").map(String::as_str) == Some("syslog") {
                    SyslogMessage {
                        priority: 0,
                        version: None,
                        timestamp: Some(Timestamp::Zoned(time.fixed_offset())),
                        hostname: d.host.clone().filter(|h| !h.is_empty()),
                        app_name: Some(program.to_string()),
                        proc_id: d.pid.clone().filter(|p| !p.is_empty()),
                        msg_id: None,
                        structured_data: None,
                        message: d.line.trim_start().to_string(),
                    }
                    .to_line(now)
                } else {
                    d.line.trim_start().to_string()
                }
            }
            None => d.line,
        };
        if raw.trim().is_empty() {
            return Err(DecodeError::Empty);
        }
        if !labels.contains_key("type") {
            return Err(DecodeError::NoType {
                program: d.program.unwrap_or_default(),
                file: d.file.unwrap_or_default(),
            });
        }
        let src = d.file.unwrap_or_else(|| topic.to_string());
        let mut e = Event::from_line(
            Line {
                raw,
                src,
                time: Some(time),
                labels,
                process: false,
                module: "kafka".to_string(),
            },
            self.expect,
        );
        if let Some(h) = d.host.filter(|h| !h.is_empty()) {
            e.meta.insert(FieldName::from_static("machine"), h);
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests;
