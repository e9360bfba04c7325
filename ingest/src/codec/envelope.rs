//! Envelope formats: recognising a shipper's JSON and pulling the line, time, host, file and
//! program out of it.

use super::{DecodeError, FieldMap};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// How messages on the logs topic are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON envelopes are recognised by their fields; anything else is a raw line.
    #[default]
    Auto,
    /// The message is the line (CrowdSec's Kafka datasource; Vector `text`, Filebeat
    /// `codec.format`, rsyslog's default `RSYSLOG_FileFormat`).
    Raw,
    /// Generic JSON: the field mapping says where things are (default `message`, `timestamp`,
    /// `host`, `file`, `program`, `pid`).
    Json,
    /// Vector's `kafka` sink with `encoding.codec = "json"` (file and syslog sources).
    Vector,
    /// Filebeat's `output.kafka` JSON (ECS: `message`, `@timestamp`, `host.name`,
    /// `log.file.path`).
    Filebeat,
    /// Fluent Bit's `kafka` output JSON (`log`, `@timestamp` as float seconds, `filename`;
    /// journald keys with the `systemd` input).
    Fluentbit,
    /// rsyslog `omkafka` with a JSON template (`message`/`msg`, `@timestamp`/`timereported`,
    /// `host`/`hostname`, `program`/`programname`, `pid`/`procid`).
    Rsyslog,
}

impl Format {
    /// The name used in configuration and errors.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Raw => "raw",
            Format::Json => "json",
            Format::Vector => "vector",
            Format::Filebeat => "filebeat",
            Format::Fluentbit => "fluentbit",
            Format::Rsyslog => "rsyslog",
        }
    }

    /// Field paths (dotted) tried in order for each part, per format.
    fn defaults(self) -> Defaults {
        match self {
            Format::Vector => Defaults {
                line: &["message"],
                time: &["timestamp"],
                host: &["host", "hostname"],
                file: &["file"],
                program: &["appname"],
                pid: &["procid"],
            },
            Format::Filebeat => Defaults {
                line: &["message"],
                time: &["@timestamp"],
                host: &["host.name", "host.hostname", "agent.name"],
                file: &["log.file.path"],
                program: &["process.name", "syslog.appname"],
                pid: &["process.pid"],
            },
            Format::Fluentbit => Defaults {
                line: &["log", "MESSAGE", "message"],
                time: &["@timestamp", "date", "time"],
                host: &["_HOSTNAME", "hostname", "host"],
                file: &["filename", "file", "path"],
                program: &["SYSLOG_IDENTIFIER", "ident", "_COMM"],
                pid: &["_PID", "pid"],
            },
            Format::Rsyslog => Defaults {
                line: &["message", "msg"],
                time: &["@timestamp", "timereported", "timestamp"],
                host: &["host", "hostname"],
                file: &["file"],
                program: &["program", "programname", "appname"],
                pid: &["pid", "procid"],
            },
            Format::Json | Format::Auto | Format::Raw => Defaults {
                line: &["message", "log", "msg"],
                time: &["timestamp", "@timestamp", "time"],
                host: &["host", "hostname"],
                file: &["file", "path", "filename"],
                program: &["program", "appname", "programname"],
                pid: &["pid", "procid"],
            },
        }
    }
}

struct Defaults {
    line: &'static [&'static str],
    time: &'static [&'static str],
    host: &'static [&'static str],
    file: &'static [&'static str],
    program: &'static [&'static str],
    pid: &'static [&'static str],
}

/// What an envelope (or a raw line) holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// The format that was applied.
    pub format: Option<Format>,
    /// The log line (or the message part of a syslog record).
    pub line: String,
    /// The envelope's timestamp.
    pub time: Option<DateTime<Utc>>,
    /// The host that shipped it.
    pub host: Option<String>,
    /// The file it was read from.
    pub file: Option<String>,
    /// The syslog program, when the envelope names it.
    pub program: Option<String>,
    /// The process id.
    pub pid: Option<String>,
}

/// Decodes `text` as `format`, with `fields` overriding the format's field paths.
pub(crate) fn decode(
    text: &str,
    format: Format,
    fields: &FieldMap,
) -> Result<Decoded, DecodeError> {
    let trimmed = text.trim_end_matches(['\n', '\r']);
    let looks_json = trimmed.trim_start().starts_with('{');
    let format = match format {
        Format::Raw => return Ok(raw(trimmed)),
        Format::Auto if !looks_json => return Ok(raw(trimmed)),
        f => f,
    };
    let obj: Map<String, Value> = match serde_json::from_str(trimmed) {
        Ok(Value::Object(m)) => m,
        Ok(_) if format == Format::Auto => return Ok(raw(trimmed)),
        Ok(_) => return Err(DecodeError::BadJson("not a JSON object".into())),
        // A raw line that happens to start with `{` stays a raw line in auto mode.
        Err(_) if format == Format::Auto => return Ok(raw(trimmed)),
        Err(e) => return Err(DecodeError::BadJson(e.to_string())),
    };
    let format = if format == Format::Auto {
        detect(&obj)
    } else {
        format
    };
    let d = format.defaults();
    let pick = |over: &Option<String>, paths: &[&str]| -> Option<String> {
        match over {
            Some(p) => lookup(&obj, p).and_then(text_of),
            None => paths.iter().find_map(|p| lookup(&obj, p).and_then(text_of)),
        }
    };
    let line = pick(&fields.message, d.line).ok_or_else(|| DecodeError::NoLine {
        format: format.name(),
        field: fields.message.clone().unwrap_or_else(|| d.line.join(" | ")),
    })?;
    let time = match &fields.timestamp {
        Some(p) => lookup(&obj, p).and_then(time_of),
        None => d
            .time
            .iter()
            .find_map(|p| lookup(&obj, p).and_then(time_of)),
    };
    Ok(Decoded {
        format: Some(format),
        line,
        time,
        host: pick(&fields.host, d.host),
        file: pick(&fields.file, d.file),
        program: pick(&fields.program, d.program),
        pid: pick(&fields.pid, d.pid),
    })
}

fn raw(text: &str) -> Decoded {
    Decoded {
        format: Some(Format::Raw),
        line: text.to_string(),
        ..Decoded::default()
    }
}

/// Which shipper wrote this envelope.
fn detect(obj: &Map<String, Value>) -> Format {
    let has = |k: &str| obj.contains_key(k);
    if obj.get("@metadata").and_then(|m| m.get("beat")).is_some() || (has("ecs") && has("agent")) {
        Format::Filebeat
    } else if has("source_type") {
        Format::Vector
    } else if has("log") && !has("message") || has("SYSLOG_IDENTIFIER") || has("MESSAGE") {
        Format::Fluentbit
    } else if has("programname") || has("program") || has("timereported") {
        Format::Rsyslog
    } else {
        Format::Json
    }
}

/// A dotted path (`host.name`); a key containing dots is tried whole first.
fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// RFC 3339 text, or a number of seconds (a float, as Fluent Bit's `double`), or of
/// milliseconds when it is too large to be seconds.
fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| s.parse::<f64>().ok().and_then(from_epoch)),
        Value::Number(n) => n.as_f64().and_then(from_epoch),
        _ => None,
    }
}

fn from_epoch(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let secs = if x > 1e11 { x / 1000.0 } else { x };
    let whole = secs.trunc() as i64;
    let nanos = ((secs - secs.trunc()) * 1e9).round().min(999_999_999.0) as u32;
    DateTime::from_timestamp(whole, nanos)
}
