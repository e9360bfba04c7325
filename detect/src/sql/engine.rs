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

use super::window::{Assigner, Placed, Window, WindowKind};
use super::{alert, SqlScenario, SQL_DROPPED, SQL_ERRORS, SQL_LATE, SQL_WINDOWS};
use chrono::{DateTime, Utc};
use palisade_runtime::metrics::{Counter, Registry};
use palisade_schemas::time::parse_rfc3339;
use palisade_schemas::{Event, EventType, ExpectMode};

struct Running {
    scenario: SqlScenario,
    raised: Option<alert::Raised>,
    assigner: Assigner,
    mode: ExpectMode,
    windows: Counter,
    late: Counter,
    errors: Counter,
    dropped: Counter,
    /// Whether the cap was hit since the last time the windows had room (one log per episode).
    full: bool,
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
                windows: registry.counter(&SQL_WINDOWS, &[("scenario", &s.name)]),
                late: registry.counter(&SQL_LATE, &[("scenario", &s.name)]),
                errors: registry.counter(&SQL_ERRORS, &[("scenario", &s.name)]),
                dropped: registry.counter(&SQL_DROPPED, &[("scenario", &s.name)]),
                full: false,
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
            let Running {
                scenario,
                assigner,
                mode,
                windows,
                errors,
                raised,
                ..
            } = r;
            let _ = assigner.advance::<()>(watermark, flush, |w: Window, panes| {
                let events: usize = panes.iter().map(|p| p.rows()).sum();
                windows.inc();
                match scenario.plan.evaluate(w, panes) {
                    Ok(rows) => alert::overflows(
                        scenario,
                        w,
                        events,
                        *mode,
                        &rows,
                        raised.as_mut(),
                        out,
                    ),
                    Err(e) => {
                        errors.inc();
                        tracing::error!(
                            scenario = %scenario.name,
                            window_start = %palisade_schemas::time::format_rfc3339_nano(&DateTime::from_timestamp_nanos(w.start)),
                            window_end = %palisade_schemas::time::format_rfc3339_nano(&DateTime::from_timestamp_nanos(w.end)),
                            error = %e.strip_backtrace(),
                            "SQL scenario query failed on a window; window dropped."
                        );
                    }
                }
                Ok(())
            });
            if r.full && r.assigner.held() < r.scenario.max_window_events {
                r.full = false;
                tracing::info!(scenario = %r.scenario.name, "SQL scenario's windows have room again.");
            }
        }
    }
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
}
