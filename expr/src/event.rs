//! How expressions address a [`palisade_schemas::Event`]: the Go field names of
//! `pipeline.Event` and `types.Line` mapped to the Rust fields, resolved once at compile time
//! into [`EvtPath`]s (so `evt.Meta.source_ip` becomes "Meta map, key source_ip" and costs one
//! hash lookup at run time), and the same table used at run time for events reached
//! dynamically (elements of a bucket queue). Also the methods of `*pipeline.Event`.

use crate::types::Ty;
use crate::value::{MapRef, Value};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use palisade_schemas::{Event, EventType, Line};
use std::borrow::Cow;
use std::net::IpAddr;

/// String fields of the event and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrField {
    LineRaw,
    LineSrc,
    LineModule,
    StrTime,
    StrTimeFormat,
    MarshaledTime,
    Stage,
    WhitelistReason,
}

/// The `map[string]string` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapField {
    Meta,
    Parsed,
    Enriched,
    Labels,
}

/// A field of `evt` (or of `evt.Line`) resolved at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvtPath {
    Str(StrField),
    Map(MapField),
    Whitelisted,
    Process,
    LineProcess,
    Type,
    ExpectMode,
    Time,
    LineTime,
    Unmarshaled,
    Line,
    Overflow,
}

/// Methods of `*pipeline.Event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvtMethod {
    GetType,
    GetMeta,
    SetMeta,
    SetParsed,
    ParseIPSources,
}

impl EvtMethod {
    pub(crate) fn lookup(name: &str) -> Option<EvtMethod> {
        Some(match name {
            "GetType" => EvtMethod::GetType,
            "GetMeta" => EvtMethod::GetMeta,
            "SetMeta" => EvtMethod::SetMeta,
            "SetParsed" => EvtMethod::SetParsed,
            "ParseIPSources" => EvtMethod::ParseIPSources,
            _ => return None,
        })
    }

    /// Number of arguments.
    pub(crate) fn arity(self) -> usize {
        match self {
            EvtMethod::GetType | EvtMethod::ParseIPSources => 0,
            EvtMethod::GetMeta => 1,
            EvtMethod::SetMeta | EvtMethod::SetParsed => 2,
        }
    }

    pub(crate) fn ret(self) -> Ty {
        match self {
            EvtMethod::GetType | EvtMethod::GetMeta => Ty::Str,
            EvtMethod::SetMeta | EvtMethod::SetParsed => Ty::Bool,
            EvtMethod::ParseIPSources => Ty::Array,
        }
    }

    pub(crate) fn mutates(self) -> bool {
        matches!(self, EvtMethod::SetMeta | EvtMethod::SetParsed)
    }
}

/// `evt.<name>`.
pub(crate) fn event_member(name: &str) -> Option<EvtPath> {
    Some(match name {
        "Line" => EvtPath::Line,
        "Parsed" => EvtPath::Map(MapField::Parsed),
        "Meta" => EvtPath::Map(MapField::Meta),
        "Enriched" => EvtPath::Map(MapField::Enriched),
        "Unmarshaled" => EvtPath::Unmarshaled,
        "Time" => EvtPath::Time,
        "StrTime" => EvtPath::Str(StrField::StrTime),
        "StrTimeFormat" => EvtPath::Str(StrField::StrTimeFormat),
        "MarshaledTime" => EvtPath::Str(StrField::MarshaledTime),
        "Stage" => EvtPath::Str(StrField::Stage),
        "WhitelistReason" => EvtPath::Str(StrField::WhitelistReason),
        "Whitelisted" => EvtPath::Whitelisted,
        "Process" => EvtPath::Process,
        "Type" => EvtPath::Type,
        "ExpectMode" => EvtPath::ExpectMode,
        "Overflow" => EvtPath::Overflow,
        _ => return None,
    })
}

/// `evt.Line.<name>`.
pub(crate) fn line_member(name: &str) -> Option<EvtPath> {
    Some(match name {
        "Raw" => EvtPath::Str(StrField::LineRaw),
        "Src" => EvtPath::Str(StrField::LineSrc),
        "Module" => EvtPath::Str(StrField::LineModule),
        "Labels" => EvtPath::Map(MapField::Labels),
        "Time" => EvtPath::LineTime,
        "Process" => EvtPath::LineProcess,
        _ => return None,
    })
}

impl EvtPath {
    /// The static type of the field.
    pub(crate) fn ty(self) -> Ty {
        match self {
            EvtPath::Str(_) => Ty::Str,
            EvtPath::Map(_) => Ty::StrMap,
            EvtPath::Whitelisted | EvtPath::Process | EvtPath::LineProcess => Ty::Bool,
            EvtPath::Type | EvtPath::ExpectMode => Ty::Int,
            EvtPath::Time | EvtPath::LineTime => Ty::Time,
            EvtPath::Unmarshaled => Ty::AnyMap,
            EvtPath::Line => Ty::Line,
            EvtPath::Overflow => Ty::Object,
        }
    }
}

pub(crate) fn str_field(e: &Event, f: StrField) -> &str {
    match f {
        StrField::LineRaw => &e.line.raw,
        StrField::LineSrc => &e.line.src,
        StrField::LineModule => &e.line.module,
        StrField::StrTime => &e.str_time,
        StrField::StrTimeFormat => &e.str_time_format,
        StrField::MarshaledTime => &e.marshaled_time,
        StrField::Stage => &e.stage,
        StrField::WhitelistReason => &e.whitelist_reason,
    }
}

pub(crate) fn map_field(e: &Event, f: MapField) -> MapRef<'_> {
    match f {
        MapField::Meta => MapRef::Str(&e.meta),
        MapField::Parsed => MapRef::Str(&e.parsed),
        MapField::Enriched => MapRef::Str(&e.enriched),
        MapField::Labels => MapRef::Labels(&e.line.labels),
    }
}

/// A string-map lookup with Go's zero value for a missing key.
pub(crate) fn map_get<'a>(e: &'a Event, f: MapField, key: &str) -> &'a str {
    map_lookup(e, f, key).unwrap_or("")
}

/// A string-map lookup; `None` for a missing key.
pub(crate) fn map_lookup<'a>(e: &'a Event, f: MapField, key: &str) -> Option<&'a str> {
    let v = match f {
        MapField::Meta => e.meta.get(key),
        MapField::Parsed => e.parsed.get(key),
        MapField::Enriched => e.enriched.get(key),
        MapField::Labels => e.line.labels.get(key),
    };
    v.map(String::as_str)
}

/// Go's zero `time.Time`, for an unset event time.
pub(crate) fn zero_time() -> DateTime<FixedOffset> {
    let naive = NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    Utc.from_utc_datetime(&naive).fixed_offset()
}

fn time_value<'a>(t: Option<DateTime<Utc>>) -> Value<'a> {
    Value::Time(t.map(|t| t.fixed_offset()).unwrap_or_else(zero_time))
}

/// Reads a resolved field.
pub(crate) fn read(e: &Event, p: EvtPath) -> Value<'_> {
    match p {
        EvtPath::Str(f) => Value::Str(Cow::Borrowed(str_field(e, f))),
        EvtPath::Map(f) => Value::Map(map_field(e, f)),
        EvtPath::Whitelisted => Value::Bool(e.whitelisted),
        EvtPath::Process => Value::Bool(e.process),
        EvtPath::LineProcess => Value::Bool(e.line.process),
        EvtPath::Type => Value::Int(i64::from(u8::from(e.kind))),
        EvtPath::ExpectMode => Value::Int(i64::from(u8::from(e.expect_mode))),
        EvtPath::Time => time_value(e.time),
        EvtPath::LineTime => time_value(e.line.time),
        EvtPath::Unmarshaled => Value::Map(MapRef::Json(&e.unmarshaled)),
        EvtPath::Line => Value::Object(&e.line),
        EvtPath::Overflow => Value::Object(
            e.overflow
                .as_deref()
                .unwrap_or(&crate::objects::EMPTY_OVERFLOW),
        ),
    }
}

/// `evt.<name>` on an event reached at run time.
pub(crate) fn dyn_member<'a>(e: &'a Event, name: &str) -> Option<Value<'a>> {
    event_member(name).map(|p| read(e, p))
}

/// `evt.Line.<name>` on a line reached at run time.
pub(crate) fn line_dyn_member<'a>(l: &'a Line, name: &str) -> Option<Value<'a>> {
    Some(match line_member(name)? {
        EvtPath::Str(StrField::LineRaw) => Value::str(&l.raw),
        EvtPath::Str(StrField::LineSrc) => Value::str(&l.src),
        EvtPath::Str(_) => Value::str(&l.module),
        EvtPath::Map(_) => Value::Map(MapRef::Labels(&l.labels)),
        EvtPath::LineTime => time_value(l.time),
        _ => Value::Bool(l.process),
    })
}

/// `evt.GetType()`.
pub(crate) fn get_type(e: &Event) -> &'static str {
    match e.kind {
        EventType::Log => "log",
        EventType::Overflow => "overflow",
        EventType::Appsec => "unknown",
    }
}

/// `evt.GetMeta(key)`: for overflows, the first non-empty value among the alerts' events.
pub(crate) fn get_meta<'a>(e: &'a Event, key: &str) -> &'a str {
    match e.kind {
        EventType::Overflow => {
            if let Some(o) = &e.overflow {
                for alert in &o.api_alerts {
                    for ev in &alert.events {
                        if let Some(m) =
                            ev.meta.iter().find(|m| m.key == key && !m.value.is_empty())
                        {
                            return &m.value;
                        }
                    }
                }
            }
            ""
        }
        EventType::Log => e.get_meta(key),
        EventType::Appsec => "",
    }
}

/// `evt.ParseIPSources()`: the source addresses as strings (Go `[]netip.Addr`).
pub(crate) fn parse_ip_sources(e: &Event) -> Vec<String> {
    match e.kind {
        EventType::Log => e
            .meta
            .get("source_ip")
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .map(|ip| vec![ip.to_string()])
            .unwrap_or_default(),
        EventType::Overflow => e
            .overflow
            .as_ref()
            .map(|o| {
                o.sources
                    .keys()
                    .filter_map(|k| k.parse::<IpAddr>().ok())
                    .map(|ip| ip.to_string())
                    .collect()
            })
            .unwrap_or_default(),
        EventType::Appsec => Vec::new(),
    }
}
