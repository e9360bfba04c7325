//! Running SQL scenarios: each event goes into the windows of the scenarios whose `filter`
//! accepts it; windows the watermark closes are evaluated and their rows become overflow events
//! for the detect stage.
//!
//! ```text
//! Event ──filter──► Assigner (cap: max_window_events) ──closed window──► SqlPlan ──rows──► overflow Event
//! ```
//!
//! Events held in open windows are capped per scenario ([`SqlScenario::max_window_events`]):
//! past the cap an event is dropped, counted (`palisade_detect_sql_dropped_events_total`) and
//! logged once per episode with the scenario's name, never silently.

use super::accumulate::Pane;
use super::window::{Assigner, Placed, Window, WindowKind};
use super::{alert, SqlScenario, SQL_DROPPED, SQL_ERRORS, SQL_LATE, SQL_QUERIES, SQL_WINDOWS};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_schema::DataType;
use chrono::{DateTime, Utc};
use datafusion::arrow::compute::{cast, take_record_batch};
use datafusion::error::DataFusionError;
use palisade_runtime::metrics::{Counter, Registry};
use palisade_schemas::time::parse_rfc3339;
use palisade_schemas::{Event, EventType, ExpectMode};
use std::collections::{HashMap, HashSet};

struct Running {
    scenario: SqlScenario,
    raised: Option<alert::Raised>,
    assigner: Assigner,
    mode: ExpectMode,
    counters: Evaluations,
    late: Counter,
    dropped: Counter,
    /// Whether the cap was hit since the last time the windows had room (one log per episode).
    full: bool,
    /// Session windows whose query groups by the session key: the result column of the key, and
    /// sessions closing together are evaluated in one query (one group per session).
    batch_key: Option<usize>,
}

/// Runs SQL scenarios: windows events, evaluates closed windows, pushes overflow events.
pub struct SqlEngine {
    running: Vec<Running>,
}

impl std::fmt::Debug for SqlEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEngine")
            .field("scenarios", &self.running.len())
            .finish()
    }
}

/// The event time of an event: its `MarshaledTime` (the log's own time) when set, else `now`.
pub fn event_time(e: &Event, now: DateTime<Utc>) -> i64 {
    let t = if e.marshaled_time.is_empty() {
        None
    } else {
        parse_rfc3339(&e.marshaled_time)
    };
    let t = t.unwrap_or(now);
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

impl SqlEngine {
    /// An engine over `scenarios`, metrics registered in `registry`.
    pub fn new(scenarios: Vec<SqlScenario>, registry: &Registry) -> Self {
        let running = scenarios
            .into_iter()
            .map(|s| Running {
                raised: matches!(s.window, WindowKind::Hopping { size, slide } if size != slide)
                    .then(alert::Raised::default),
                assigner: Assigner::new(s.window.clone(), s.lateness).with_cap(s.max_window_events),
                mode: ExpectMode::Live,
                counters: Evaluations {
                    windows: registry.counter(&SQL_WINDOWS, &[("scenario", &s.name)]),
                    queries: registry.counter(&SQL_QUERIES, &[("scenario", &s.name)]),
                    errors: registry.counter(&SQL_ERRORS, &[("scenario", &s.name)]),
                },
                late: registry.counter(&SQL_LATE, &[("scenario", &s.name)]),
                dropped: registry.counter(&SQL_DROPPED, &[("scenario", &s.name)]),
                full: false,
                batch_key: batch_key(&s),
                scenario: s,
            })
            .collect();
        SqlEngine { running }
    }

    /// How many scenarios.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The scenarios.
    pub fn scenarios(&self) -> impl Iterator<Item = &SqlScenario> {
        self.running.iter().map(|r| &r.scenario)
    }

    /// Puts a log event in the windows of every scenario whose filter accepts it (overflow
    /// events are not windowed). A filter may write into the event (`evt.SetMeta`), hence `&mut`.
    pub fn pour(&mut self, e: &mut Event, now: DateTime<Utc>) {
        if e.kind != EventType::Log {
            return;
        }
        let t = event_time(e, now);
        for r in &mut self.running {
            if !r.scenario.accepts(e) {
                continue;
            }
            r.mode = e.expect_mode;
            match r.assigner.insert(e, t, r.scenario.plan.event_columns()) {
                Ok(Placed::Kept) => {}
                Ok(Placed::Late) => r.late.inc(),
                Ok(Placed::Full) => {
                    r.dropped.inc();
                    if !r.full {
                        r.full = true;
                        tracing::warn!(
                            scenario = %r.scenario.name,
                            max_window_events = r.scenario.max_window_events,
                            "SQL scenario's open windows are full; events are dropped until a window closes."
                        );
                    }
                }
                Err(err) => {
                    tracing::warn!(scenario = %r.scenario.name, error = %err, "Event not windowed.")
                }
            }
        }
    }

    /// Moves the watermark to `now` and evaluates the windows that close.
    pub fn advance(&mut self, now: DateTime<Utc>, out: &mut Vec<Event>) {
        self.close(now.timestamp_nanos_opt().unwrap_or(i64::MAX), false, out);
    }

    /// Evaluates every open window (end of a replay, shutdown).
    pub fn flush(&mut self, out: &mut Vec<Event>) {
        self.close(i64::MIN, true, out);
    }

    fn close(&mut self, watermark: i64, flush: bool, out: &mut Vec<Event>) {
        for r in &mut self.running {
            if let Some(key_col) = r.batch_key {
                let closed = r.assigner.close_sessions(watermark, flush);
                close_sessions_together(r, key_col, closed, out);
            } else {
                let _ = r
                    .assigner
                    .advance::<()>(watermark, flush, |w: Window, panes| {
                        evaluate_one(
                            &r.scenario,
                            &mut r.raised,
                            r.mode,
                            &r.counters,
                            w,
                            panes,
                            out,
                        );
                        Ok(())
                    });
            }
            if r.full && r.assigner.held() < r.scenario.max_window_events {
                r.full = false;
                tracing::info!(scenario = %r.scenario.name, "SQL scenario's windows have room again.");
            }
        }
    }
}

/// What evaluating windows is counted in.
struct Evaluations {
    windows: Counter,
    queries: Counter,
    errors: Counter,
}

/// Most events evaluated in one query when sessions are evaluated together.
const SESSIONS_CHUNK_EVENTS: usize = 100_000;

/// The result column holding the session key, when the scenario's sessions can be evaluated
/// together: its query groups by the key column and outputs it ([`SqlPlan::group_columns`]).
fn batch_key(s: &SqlScenario) -> Option<usize> {
    let WindowKind::Session { key, .. } = &s.window else {
        return None;
    };
    let column = key.table_column()?;
    let groups = s.plan.group_columns()?;
    if !groups.iter().any(|g| g == column) {
        return None;
    }
    s.plan.schema().index_of(column).ok()
}

/// Evaluates one window and turns its rows into overflows; an error is logged with the window.
#[allow(clippy::too_many_arguments)]
fn evaluate_one(
    scenario: &SqlScenario,
    raised: &mut Option<alert::Raised>,
    mode: ExpectMode,
    counters: &Evaluations,
    w: Window,
    panes: &mut [&mut Pane],
    out: &mut Vec<Event>,
) {
    let events: usize = panes.iter().map(|p| p.rows()).sum();
    counters.windows.inc();
    counters.queries.inc();
    match scenario.plan.evaluate(w, panes) {
        Ok(rows) => alert::overflows(scenario, w, events, mode, &rows, raised.as_mut(), out),
        Err(e) => window_failed(scenario, &counters.errors, w, &e),
    }
}

fn window_failed(scenario: &SqlScenario, errors: &Counter, w: Window, e: &DataFusionError) {
    errors.inc();
    tracing::error!(
        scenario = %scenario.name,
        window_start = %palisade_schemas::time::format_rfc3339_nano(&DateTime::from_timestamp_nanos(w.start)),
        window_end = %palisade_schemas::time::format_rfc3339_nano(&DateTime::from_timestamp_nanos(w.end)),
        error = %e.strip_backtrace(),
        "SQL scenario query failed on a window; window dropped."
    );
}

/// Sessions closing together (many addresses each ending a session) in as few queries as
/// possible: chunks with at most one session per key, each one query whose rows are handed back
/// to their sessions by the key column. A chunk whose rows cannot all be handed back, or whose
/// query fails, is evaluated session by session, so results and errors are those of one window.
fn close_sessions_together(
    r: &mut Running,
    key_col: usize,
    closed: Vec<(Window, Pane, String)>,
    out: &mut Vec<Event>,
) {
    let mut chunk: Vec<(Window, Pane, String)> = Vec::new();
    let mut keys: HashSet<String> = HashSet::new();
    let mut events = 0;
    for session in closed {
        if !chunk.is_empty()
            && (keys.contains(&session.2) || events + session.1.rows() > SESSIONS_CHUNK_EVENTS)
        {
            evaluate_chunk(r, key_col, std::mem::take(&mut chunk), out);
            keys.clear();
            events = 0;
        }
        keys.insert(session.2.clone());
        events += session.1.rows();
        chunk.push(session);
    }
    if !chunk.is_empty() {
        evaluate_chunk(r, key_col, chunk, out);
    }
}

fn evaluate_chunk(
    r: &mut Running,
    key_col: usize,
    mut chunk: Vec<(Window, Pane, String)>,
    out: &mut Vec<Event>,
) {
    let result = if chunk.len() == 1 {
        None
    } else {
        let mut windows: Vec<(Window, &mut Pane)> =
            chunk.iter_mut().map(|(w, p, _)| (*w, p)).collect();
        r.counters.queries.inc();
        r.scenario
            .plan
            .evaluate_many(&mut windows)
            .ok()
            .and_then(|batches| rows_by_key(&batches, key_col))
    };
    let keys: HashSet<&str> = chunk.iter().map(|c| c.2.as_str()).collect();
    let mapped = result.filter(|m| m.keys().all(|k| keys.contains(k.as_str())));
    drop(keys);
    let Some(mut by_key) = mapped else {
        for (w, mut pane, _) in chunk {
            evaluate_one(
                &r.scenario,
                &mut r.raised,
                r.mode,
                &r.counters,
                w,
                &mut [&mut pane],
                out,
            );
        }
        return;
    };
    r.counters.windows.add(chunk.len() as u64);
    for (w, pane, key) in &chunk {
        if let Some(rows) = by_key.remove(key) {
            alert::overflows(
                &r.scenario,
                *w,
                pane.rows(),
                r.mode,
                &rows,
                r.raised.as_mut(),
                out,
            );
        }
    }
}

/// The result rows split by the key column's value; `None` when a key is missing or not text.
fn rows_by_key(
    batches: &[RecordBatch],
    key_col: usize,
) -> Option<HashMap<String, Vec<RecordBatch>>> {
    let mut by_key: HashMap<String, Vec<RecordBatch>> = HashMap::new();
    for b in batches {
        let keys = cast(b.column(key_col), &DataType::Utf8).ok()?;
        let keys = keys.as_string_opt::<i32>()?;
        let mut rows: HashMap<&str, Vec<u32>> = HashMap::new();
        for row in 0..b.num_rows() {
            if keys.is_null(row) {
                return None;
            }
            rows.entry(keys.value(row)).or_default().push(row as u32);
        }
        for (k, idx) in rows {
            let taken = take_record_batch(b, &UInt32Array::from(idx)).ok()?;
            by_key.entry(k.to_string()).or_default().push(taken);
        }
    }
    Some(by_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loader;

    #[test]
    fn a_full_scenario_drops_and_counts_events_and_its_filter_keeps_others_out() {
        let mut s = Loader::new()
            .load_texts(&[(
                "t.yaml",
                "type: sql\nname: t/cap\nfilter: evt.Meta.log_type == 'x'\n\
                 window: {type: tumbling, size: 1h}\n\
                 query: SELECT source_ip FROM events\nalert: {value: source_ip}\n",
            )])
            .unwrap();
        s.set_sql_max_window_events(2);
        let registry = Registry::new();
        let mut engine = SqlEngine::new(s.take_sql(), &registry);
        let now = Utc::now();
        for (ip, log_type) in [("192.0.2.1", "x"), ("192.0.2.2", "y"), ("192.0.2.3", "x")] {
            let mut e = Event::default();
            e.meta.insert("source_ip".into(), ip.into());
            e.meta.insert("log_type".into(), log_type.into());
            engine.pour(&mut e, now);
        }
        assert_eq!(
            registry.total("palisade_detect_sql_dropped_events_total"),
            0
        );
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), "192.0.2.4".into());
        e.meta.insert("log_type".into(), "x".into());
        engine.pour(&mut e, now);
        assert_eq!(
            registry.total("palisade_detect_sql_dropped_events_total"),
            1
        );
        let mut out = Vec::new();
        engine.flush(&mut out);
        assert_eq!(
            out.len(),
            2,
            "the two kept events of type x, not y, not the dropped one"
        );
    }

    /// The alert messages of a session scenario over the same events, with `query`.
    fn session_alerts(query: &str) -> (Vec<String>, i64, i64, bool) {
        let text = format!(
            "type: sql\nname: t/sessions\nwindow: {{type: session, gap: 1m, key: source_ip}}\n\
             query: {query}\nalert: {{value: source_ip, count: n}}\n"
        );
        let mut s = Loader::new().load_texts(&[("t.yaml", &text)]).unwrap();
        let registry = Registry::new();
        let mut engine = SqlEngine::new(s.take_sql(), &registry);
        let batched = engine.running[0].batch_key.is_some();
        let t0 = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut pour = |ip: &str, secs: i64| {
            let mut e = Event::default();
            e.meta.insert("source_ip".into(), ip.into());
            e.marshaled_time = palisade_schemas::time::format_rfc3339_nano(
                &(t0 + chrono::TimeDelta::seconds(secs)),
            );
            engine.pour(&mut e, t0);
        };
        // 60 addresses with 0..=3 events each, and one address with two sessions 10 minutes
        // apart (both close at the flush: they must not share a query).
        for i in 0..60 {
            for k in 0..(i % 4) {
                pour(&format!("192.0.2.{i}"), k);
            }
        }
        for secs in [0, 5, 600, 601, 602] {
            pour("198.51.100.7", secs);
        }
        let mut out = Vec::new();
        engine.flush(&mut out);
        let mut messages: Vec<String> = out
            .iter()
            .filter_map(|e| e.overflow.as_ref()?.alert.as_ref())
            .map(|a| a.message.clone())
            .collect();
        messages.sort();
        (
            messages,
            registry.total("palisade_detect_sql_windows_total"),
            registry.total("palisade_detect_sql_queries_total"),
            batched,
        )
    }

    #[test]
    fn sessions_closing_together_are_evaluated_together_with_the_same_alerts() {
        let grouped =
            "SELECT source_ip, count(*) AS n FROM events GROUP BY source_ip HAVING count(*) >= 2";
        let (together, windows, queries, batched) = session_alerts(grouped);
        assert!(batched, "a query grouped by the session key");
        // LIMIT makes rows depend on the whole result: one session at a time.
        let (alone, windows_alone, queries_alone, batched_alone) =
            session_alerts(&format!("{grouped} LIMIT 1000"));
        assert!(!batched_alone);
        assert_eq!(together, alone);
        // 30 addresses with 2 or 3 events, and both sessions of 198.51.100.7 (2 and 3 events).
        assert_eq!(together.len(), 32, "{together:#?}");
        assert_eq!(
            together
                .iter()
                .filter(|m| m.contains("198.51.100.7"))
                .count(),
            2
        );
        assert!(together
            .iter()
            .any(|m| m.contains("198.51.100.7") && m.contains("(3 events")));
        assert_eq!(
            windows, windows_alone,
            "every session is counted as a window"
        );
        assert_eq!(windows, 45 + 2);
        assert_eq!(queries_alone, 47, "one query per session");
        // One query for the 46 sessions with distinct keys, one for the second session of
        // 198.51.100.7 (a key already in the first).
        assert_eq!(queries, 2);
    }

    #[test]
    fn only_plain_grouped_queries_are_evaluated_together() {
        let plan = |q: &str| super::super::plan::SqlPlan::new(q, false).unwrap();
        assert_eq!(
            plan("SELECT source_ip, count(*) FROM events WHERE log_type = 'x' GROUP BY source_ip, service HAVING count(*) > 1 ORDER BY 2")
                .group_columns(),
            Some(&["source_ip".to_string(), "service".to_string()][..])
        );
        for q in [
            "SELECT source_ip FROM events",
            "SELECT source_ip, count(*) FROM events GROUP BY source_ip LIMIT 3",
            "SELECT source_ip, count(*) OVER () FROM events",
            "SELECT source_ip, count(*) FROM events WHERE source_ip IN (SELECT source_ip FROM events WHERE log_type = 'x') GROUP BY source_ip",
            "SELECT a.source_ip, count(*) FROM events a JOIN events b ON a.source_ip = b.source_ip GROUP BY a.source_ip",
        ] {
            assert_eq!(plan(q).group_columns(), None, "{q}");
        }
    }
}
