//! From result rows to alerts. Each row of a window's result is one overflow: the `value` column
//! gives its source(s) in the scenario's scope (a list gives one source per item, so one alert
//! per address), `count` its `events_count` (else the window's event count), and every other
//! column becomes an alert `meta` item. `start_at`/`stop_at` are the window's bounds.
//!
//! A row whose value is empty, or not an address (scope `Ip`) or a range (scope `Range`), makes
//! no alert; it is logged.

use super::window::Window;
use super::SqlScenario;
use crate::overflow::{go_time_string, marshal_time, normalize_cidr, overflow_event};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use chrono::TimeDelta;
use datafusion::arrow::compute::cast;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use palisade_schemas::duration::format_go_duration;
use palisade_schemas::{Alert, Event, ExpectMode, MetaItem, RuntimeAlert, Source};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Whether a result column type can hold alert values.
pub fn is_value_type(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::List(f) | DataType::LargeList(f) => {
            matches!(
                f.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    }
}

/// Whether a result column type can be a count.
pub fn is_count_type(t: &DataType) -> bool {
    t.is_integer()
}

fn strings(a: &ArrayRef, row: usize) -> Vec<String> {
    if a.is_null(row) {
        return Vec::new();
    }
    match a.data_type() {
        DataType::List(_) => strings_of(&a.as_list::<i32>().value(row)),
        DataType::LargeList(_) => strings_of(&a.as_list::<i64>().value(row)),
        _ => strings_of(&a.slice(row, 1)),
    }
}

fn strings_of(a: &ArrayRef) -> Vec<String> {
    let Ok(s) = cast(a, &DataType::Utf8) else {
        return Vec::new();
    };
    let s = s.as_string::<i32>();
    s.iter()
        .flatten()
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn source(scope: &str, value: &str) -> Option<Source> {
    match scope {
        "Ip" => {
            let ip: IpAddr = value.parse().ok()?;
            Some(Source {
                scope: "Ip".into(),
                value: ip.to_string(),
                ip: ip.to_string(),
                ..Source::default()
            })
        }
        "Range" => {
            let r = normalize_cidr(value)?;
            Some(Source {
                scope: "Range".into(),
                value: r.clone(),
                range: r,
                ..Source::default()
            })
        }
        _ => Some(Source {
            scope: scope.to_string(),
            value: value.to_string(),
            ..Source::default()
        }),
    }
}

/// Values already alerted on by hopping windows, with the end of the window that raised them:
/// a value is not raised again by a window overlapping that one (one alert per campaign, not
/// one per slide).
#[derive(Debug, Default)]
pub struct Raised(std::collections::HashMap<String, i64>);

impl Raised {
    /// Whether `value` may be raised by `window` (and records it if so).
    fn admit(&mut self, value: &str, window: Window) -> bool {
        match self.0.get(value) {
            Some(&end) if end > window.start => false,
            _ => {
                self.0.insert(value.to_string(), window.end);
                true
            }
        }
    }

    /// Forgets values whose window ended at or before `start`.
    fn prune(&mut self, start: i64) {
        self.0.retain(|_, end| *end > start);
    }
}

/// The overflow events of one window's result. `raised` (hopping windows) suppresses values
/// raised by an overlapping window.
pub fn overflows(
    s: &SqlScenario,
    window: Window,
    window_events: usize,
    mode: ExpectMode,
    result: &[RecordBatch],
    mut raised: Option<&mut Raised>,
    out: &mut Vec<Event>,
) {
    if let Some(r) = raised.as_deref_mut() {
        r.prune(window.start);
    }
    let options = FormatOptions::default();
    for batch in result {
        let value = batch.column(s.value_col);
        let count = s
            .count_col
            .and_then(|i| cast(batch.column(i), &DataType::Int64).ok());
        let formatters: Vec<(String, ArrayFormatter<'_>)> = s
            .meta_cols
            .iter()
            .filter_map(|&i| {
                let name = batch.schema().field(i).name().clone();
                ArrayFormatter::try_new(batch.column(i).as_ref(), &options)
                    .ok()
                    .map(|f| (name, f))
            })
            .collect();
        for row in 0..batch.num_rows() {
            let values = strings(value, row);
            let mut sources = BTreeMap::new();
            for v in &values {
                match source(&s.scope, v) {
                    Some(src)
                        if raised
                            .as_deref_mut()
                            .is_some_and(|r| !r.admit(&src.value, window)) => {}
                    Some(src) => {
                        sources.insert(src.value.clone(), src);
                    }
                    None => tracing::warn!(scenario = %s.name, value = %v, scope = %s.scope,
                        "A SQL scenario result value is not valid in its scope; no alert for it."),
                }
            }
            if sources.is_empty() {
                continue;
            }
            let n = count
                .as_ref()
                .filter(|c| !c.is_null(row))
                .map(|c| {
                    c.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                        .value(row)
                })
                .unwrap_or(window_events as i64);
            let meta = formatters
                .iter()
                .map(|(k, f)| MetaItem {
                    key: k.clone(),
                    value: f.value(row).to_string(),
                })
                .collect();
            let shown = match sources.len() {
                1 => sources.keys().next().cloned().unwrap_or_default(),
                k => format!("{k} sources"),
            };
            let base = Alert {
                capacity: 0,
                events_count: i32::try_from(n).unwrap_or(i32::MAX),
                leakspeed: s.window_text.clone(),
                message: format!(
                    "{} {shown} performed '{}' ({n} events over {}) at {}",
                    s.scope,
                    s.name,
                    format_go_duration(TimeDelta::nanoseconds(window.end - window.start)),
                    go_time_string(window.end)
                ),
                meta,
                remediation: s.remediation,
                scenario: s.name.clone(),
                scenario_hash: s.hash.clone(),
                scenario_version: s.version.clone(),
                simulated: s.simulated,
                start_at: marshal_time(window.start),
                stop_at: marshal_time(window.end),
                kind: "crowdsec".to_string(),
                ..Alert::default()
            };
            let api_alerts: Vec<Alert> = sources
                .values()
                .map(|src| Alert {
                    source: src.clone(),
                    ..base.clone()
                })
                .collect();
            let ra = RuntimeAlert {
                mapkey: values.join(","),
                bucket_id: s.name.clone(),
                alert: api_alerts.first().cloned().map(Box::new),
                api_alerts,
                sources,
                ..RuntimeAlert::default()
            };
            out.push(overflow_event(ra, window.end, mode));
        }
    }
}
