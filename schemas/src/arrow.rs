//! Arrow schemas for events, alerts and decisions, and conversions from the Rust types into
//! record batches. SQL scenarios (DataFusion) query the event schema as the table `events`;
//! the archive writes all three.

use crate::alert::Alert;
use crate::decision::Decision;
use crate::event::Event;
use crate::time::parse_rfc3339;
use crate::FieldMap;
use crate::SchemaError;
use arrow_array::builder::{
    BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, MapBuilder, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use std::sync::{Arc, OnceLock};

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

fn map_type() -> DataType {
    // The field names MapBuilder uses by default, so built arrays match the schema.
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Utf8, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The `events` table: one row per parsed event.
///
/// | column | type | from |
/// |---|---|---|
/// | time | timestamp(ns, UTC) | `evt.Time` (else the line's read time) |
/// | source_ip | utf8 | `Meta.source_ip` |
/// | log_type | utf8 | `Meta.log_type` |
/// | service | utf8 | `Meta.service` |
/// | country | utf8 | `Meta.IsoCode` |
/// | asn | utf8 | `Meta.ASNNumber` |
/// | as_org | utf8 | `Meta.ASNOrg` |
/// | label_type | utf8 | `Line.Labels.type` |
/// | module, src, raw | utf8 | `Line.Module`, `Line.Src`, `Line.Raw` |
/// | meta, parsed | map(utf8, utf8) | `Meta`, `Parsed` |
pub fn event_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("time", ts_type(), false),
            Field::new("source_ip", DataType::Utf8, true),
            Field::new("log_type", DataType::Utf8, true),
            Field::new("service", DataType::Utf8, true),
            Field::new("country", DataType::Utf8, true),
            Field::new("asn", DataType::Utf8, true),
            Field::new("as_org", DataType::Utf8, true),
            Field::new("label_type", DataType::Utf8, true),
            Field::new("module", DataType::Utf8, false),
            Field::new("src", DataType::Utf8, false),
            Field::new("raw", DataType::Utf8, false),
            Field::new("meta", map_type(), false),
            Field::new("parsed", map_type(), false),
        ]))
    })
    .clone()
}

/// The `alerts` table.
pub fn alert_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("uuid", DataType::Utf8, false),
            Field::new("scenario", DataType::Utf8, false),
            Field::new("scenario_version", DataType::Utf8, false),
            Field::new("scenario_hash", DataType::Utf8, false),
            Field::new("scope", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, false),
            Field::new("source_ip", DataType::Utf8, true),
            Field::new("range", DataType::Utf8, true),
            Field::new("as_number", DataType::Utf8, true),
            Field::new("as_name", DataType::Utf8, true),
            Field::new("country", DataType::Utf8, true),
            Field::new("events_count", DataType::Int32, false),
            Field::new("capacity", DataType::Int32, false),
            Field::new("leakspeed", DataType::Utf8, false),
            Field::new("message", DataType::Utf8, false),
            Field::new("start_at", ts_type(), true),
            Field::new("stop_at", ts_type(), true),
            Field::new("simulated", DataType::Boolean, false),
            Field::new("remediation", DataType::Boolean, false),
            Field::new("machine_id", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new(
                "labels",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                false,
            ),
        ]))
    })
    .clone()
}

/// The `decisions` table.
pub fn decision_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("uuid", DataType::Utf8, true),
            Field::new("origin", DataType::Utf8, false),
            Field::new("scenario", DataType::Utf8, false),
            Field::new("scope", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
            Field::new("duration", DataType::Utf8, false),
            Field::new("until", ts_type(), true),
            Field::new("simulated", DataType::Boolean, false),
        ]))
    })
    .clone()
}

fn nanos(t: &DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn opt_str(m: &FieldMap, k: &str) -> Option<String> {
    m.get(k).filter(|v| !v.is_empty()).cloned()
}

fn append_map(
    b: &mut MapBuilder<StringBuilder, StringBuilder>,
    m: &FieldMap,
) -> Result<(), SchemaError> {
    let mut pairs: Vec<(&str, &String)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
    pairs.sort_unstable_by_key(|(k, _)| *k);
    for (k, v) in pairs {
        b.keys().append_value(k);
        b.values().append_value(v);
    }
    b.append(true)?;
    Ok(())
}

fn str_col<'a>(rows: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in rows {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

/// Converts events into a batch of [`event_schema`].
pub fn events_to_batch(events: &[Event]) -> Result<RecordBatch, SchemaError> {
    let mut time = TimestampNanosecondBuilder::with_capacity(events.len()).with_timezone("UTC");
    let mut meta = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    let mut parsed = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for e in events {
        let t = e.time.or(e.line.time).map(|t| nanos(&t)).unwrap_or(0);
        time.append_value(t);
        append_map(&mut meta, &e.meta)?;
        append_map(&mut parsed, &e.parsed)?;
    }
    let meta_of = |k: &'static str| {
        let v: Vec<Option<String>> = events.iter().map(|e| opt_str(&e.meta, k)).collect();
        str_col(v.iter().map(|s| s.as_deref()))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        meta_of("source_ip"),
        meta_of("log_type"),
        meta_of("service"),
        meta_of("IsoCode"),
        meta_of("ASNNumber"),
        meta_of("ASNOrg"),
        str_col(events.iter().map(|e| e.log_type())),
        str_col(events.iter().map(|e| Some(e.line.module.as_str()))),
        str_col(events.iter().map(|e| Some(e.line.src.as_str()))),
        str_col(events.iter().map(|e| Some(e.line.raw.as_str()))),
        Arc::new(meta.finish()),
        Arc::new(parsed.finish()),
    ];
    Ok(RecordBatch::try_new(event_schema(), columns)?)
}

/// Builds a batch of some columns of [`event_schema`] row by row, with the event time given by
/// the caller (SQL scenarios use the time they windowed the event on). Only the columns asked
/// for are built, so a query reading three columns does not pay for the maps.
pub struct EventBatchBuilder {
    schema: SchemaRef,
    columns: Vec<EventColumn>,
    rows: usize,
}

enum EventColumn {
    Time(TimestampNanosecondBuilder),
    Meta(&'static str, StringBuilder),
    LabelType(StringBuilder),
    Line(fn(&Event) -> &str, StringBuilder),
    Map(
        fn(&Event) -> &FieldMap,
        Box<MapBuilder<StringBuilder, StringBuilder>>,
    ),
}

impl EventBatchBuilder {
    /// A builder of the columns `projection` (indices into [`event_schema`], ascending).
    /// Panics if an index is out of range (a caller bug).
    pub fn new(projection: &[usize]) -> Self {
        let full = event_schema();
        let schema = Arc::new(full.project(projection).expect("projection in range"));
        let columns = projection
            .iter()
            .map(|&i| match full.field(i).name().as_str() {
                "time" => EventColumn::Time(TimestampNanosecondBuilder::new().with_timezone("UTC")),
                "source_ip" => EventColumn::Meta("source_ip", StringBuilder::new()),
                "log_type" => EventColumn::Meta("log_type", StringBuilder::new()),
                "service" => EventColumn::Meta("service", StringBuilder::new()),
                "country" => EventColumn::Meta("IsoCode", StringBuilder::new()),
                "asn" => EventColumn::Meta("ASNNumber", StringBuilder::new()),
                "as_org" => EventColumn::Meta("ASNOrg", StringBuilder::new()),
                "label_type" => EventColumn::LabelType(StringBuilder::new()),
                "module" => EventColumn::Line(|e| &e.line.module, StringBuilder::new()),
                "src" => EventColumn::Line(|e| &e.line.src, StringBuilder::new()),
                "raw" => EventColumn::Line(|e| &e.line.raw, StringBuilder::new()),
                "meta" => EventColumn::Map(
                    |e| &e.meta,
                    Box::new(MapBuilder::new(
                        None,
                        StringBuilder::new(),
                        StringBuilder::new(),
                    )),
                ),
                _ => EventColumn::Map(
                    |e| &e.parsed,
                    Box::new(MapBuilder::new(
                        None,
                        StringBuilder::new(),
                        StringBuilder::new(),
                    )),
                ),
            })
            .collect();
        EventBatchBuilder {
            schema,
            columns,
            rows: 0,
        }
    }

    /// The schema of the batches built.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows appended since the last [`EventBatchBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended since the last [`EventBatchBuilder::finish`].
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one event, at `time_ns` (nanoseconds since the epoch).
    pub fn append(&mut self, e: &Event, time_ns: i64) -> Result<(), SchemaError> {
        for c in &mut self.columns {
            match c {
                EventColumn::Time(b) => b.append_value(time_ns),
                EventColumn::Meta(k, b) => {
                    b.append_option(e.meta.get(*k).filter(|v| !v.is_empty()))
                }
                EventColumn::LabelType(b) => b.append_option(e.log_type()),
                EventColumn::Line(f, b) => b.append_value(f(e)),
                EventColumn::Map(f, b) => append_map(b, f(e))?,
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows appended so far, as a batch; the builder is empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, SchemaError> {
        let columns: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    EventColumn::Time(b) => Arc::new(b.finish()),
                    EventColumn::Meta(_, b)
                    | EventColumn::LabelType(b)
                    | EventColumn::Line(_, b) => Arc::new(b.finish()),
                    EventColumn::Map(_, b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let rows = std::mem::take(&mut self.rows);
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &options,
        )?)
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Converts alerts into a batch of [`alert_schema`].
pub fn alerts_to_batch(alerts: &[Alert]) -> Result<RecordBatch, SchemaError> {
    let s = |f: fn(&Alert) -> &str| str_col(alerts.iter().map(|a| Some(f(a))));
    let o = |f: fn(&Alert) -> &str| str_col(alerts.iter().map(|a| non_empty(f(a))));
    let ts = |f: fn(&Alert) -> &str| -> ArrayRef {
        let mut b = TimestampNanosecondBuilder::new().with_timezone("UTC");
        for a in alerts {
            b.append_option(parse_rfc3339(f(a)).map(|t| nanos(&t)));
        }
        Arc::new(b.finish())
    };
    let mut id = Int64Builder::new();
    let mut events_count = Int32Builder::new();
    let mut capacity = Int32Builder::new();
    let mut simulated = BooleanBuilder::new();
    let mut remediation = BooleanBuilder::new();
    let mut labels = ListBuilder::new(StringBuilder::new());
    for a in alerts {
        id.append_value(a.id);
        events_count.append_value(a.events_count);
        capacity.append_value(a.capacity);
        simulated.append_value(a.simulated);
        remediation.append_value(a.remediation);
        for l in a.labels.iter().flatten() {
            labels.values().append_value(l);
        }
        labels.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        s(|a| &a.uuid),
        s(|a| &a.scenario),
        s(|a| &a.scenario_version),
        s(|a| &a.scenario_hash),
        s(|a| &a.source.scope),
        s(|a| &a.source.value),
        o(|a| &a.source.ip),
        o(|a| &a.source.range),
        o(|a| &a.source.as_number),
        o(|a| &a.source.as_name),
        o(|a| &a.source.cn),
        Arc::new(events_count.finish()),
        Arc::new(capacity.finish()),
        s(|a| &a.leakspeed),
        s(|a| &a.message),
        ts(|a| &a.start_at),
        ts(|a| &a.stop_at),
        Arc::new(simulated.finish()),
        Arc::new(remediation.finish()),
        s(|a| &a.machine_id),
        s(|a| &a.kind),
        Arc::new(labels.finish()),
    ];
    Ok(RecordBatch::try_new(alert_schema(), columns)?)
}

/// Converts decisions into a batch of [`decision_schema`].
pub fn decisions_to_batch(decisions: &[Decision]) -> Result<RecordBatch, SchemaError> {
    let s = |f: fn(&Decision) -> &str| str_col(decisions.iter().map(|d| Some(f(d))));
    let mut id = Int64Builder::new();
    let mut until = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut simulated = BooleanBuilder::new();
    for d in decisions {
        id.append_value(d.id);
        until.append_option(d.until.as_ref().map(nanos));
        simulated.append_value(d.simulated.unwrap_or(false));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        str_col(decisions.iter().map(|d| d.uuid.as_deref())),
        s(|d| &d.origin),
        s(|d| &d.scenario),
        s(|d| &d.scope),
        s(|d| &d.value),
        s(|d| &d.kind),
        s(|d| &d.duration),
        Arc::new(until.finish()),
        Arc::new(simulated.finish()),
    ];
    Ok(RecordBatch::try_new(decision_schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Source;
    use arrow_array::{Array, MapArray, StringArray, TimestampNanosecondArray};
    use chrono::TimeZone;

    #[test]
    fn events_become_typed_columns() {
        let mut e = Event::default();
        e.set_time(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        e.meta.insert("source_ip".into(), "1.2.3.4".into());
        e.meta.insert("service".into(), "ssh".into());
        e.parsed.insert("program".into(), "sshd".into());
        e.line.labels.insert("type".into(), "syslog".into());
        let other = Event::default();
        let b = events_to_batch(&[e, other]).unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.schema(), event_schema());
        let ip = b
            .column_by_name("source_ip")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(ip.value(0), "1.2.3.4");
        assert!(ip.is_null(1));
        let t = b
            .column_by_name("time")
            .unwrap()
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), 1_767_225_600_000_000_000);
        let parsed = b
            .column_by_name("parsed")
            .unwrap()
            .as_any()
            .downcast_ref::<MapArray>()
            .unwrap();
        assert_eq!(parsed.value(0).len(), 1);
        assert_eq!(parsed.value(1).len(), 0);
    }

    #[test]
    fn the_projected_builder_matches_the_full_conversion() {
        let mut events = Vec::new();
        for i in 0..3 {
            let mut e = Event::default();
            e.set_time(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, i).unwrap());
            e.meta.insert("source_ip".into(), format!("10.0.0.{i}"));
            e.meta.insert("IsoCode".into(), "FR".into());
            e.parsed.insert("user".into(), "root".into());
            e.line.labels.insert("type".into(), "syslog".into());
            e.line.raw = format!("line {i}");
            events.push(e);
        }
        let full = events_to_batch(&events).unwrap();
        let all: Vec<usize> = (0..event_schema().fields().len()).collect();
        let mut b = EventBatchBuilder::new(&all);
        for e in &events {
            let t = e.time.unwrap().timestamp_nanos_opt().unwrap();
            b.append(e, t).unwrap();
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.finish().unwrap(), full);
        assert!(b.is_empty());
        let mut some = EventBatchBuilder::new(&[1, 4, 12]);
        some.append(&events[0], 0).unwrap();
        let got = some.finish().unwrap();
        assert_eq!(got, full.slice(0, 1).project(&[1, 4, 12]).unwrap());
        let none = EventBatchBuilder::new(&[]).finish().unwrap();
        assert_eq!(none.num_rows(), 0);
    }

    #[test]
    fn alerts_and_decisions_become_batches() {
        let a = Alert {
            scenario: "s".into(),
            start_at: "2026-01-01T00:00:00Z".into(),
            stop_at: "not a time".into(),
            labels: Some(vec!["a".into(), "b".into()]),
            source: Source {
                scope: "Ip".into(),
                value: "1.2.3.4".into(),
                ..Source::default()
            },
            ..Alert::default()
        };
        let b = alerts_to_batch(&[a]).unwrap();
        assert_eq!(b.num_rows(), 1);
        assert!(b.column_by_name("stop_at").unwrap().is_null(0));
        assert!(!b.column_by_name("start_at").unwrap().is_null(0));
        let d = Decision {
            duration: "4h".into(),
            id: 1,
            origin: "palisade".into(),
            scenario: "s".into(),
            scope: "Ip".into(),
            simulated: None,
            kind: "ban".into(),
            until: None,
            uuid: None,
            value: "1.2.3.4".into(),
        };
        let b = decisions_to_batch(&[d]).unwrap();
        assert_eq!(b.schema(), decision_schema());
        assert!(b.column_by_name("until").unwrap().is_null(0));
    }
}
