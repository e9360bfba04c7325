//! The detect stage: pours events into scenarios, runs postoverflows on the overflows they emit,
//! re-pours those marked `reprocess`, and emits one [`Alert`] per source to the publish stage.
//!
//! ```text
//! Event ──► ScenarioSet::pour ──overflow Event──► postoverflow hook ──► reprocess? ──► pour again
//!                                                     │ false / whitelisted: dropped
//!                                                     └──► Alert per source ──► publish
//! ```
//!
//! Time: scenarios get the injected clock's time with every pour; time-machine (replayed)
//! events are poured at their own `MarshaledTime`. The stage lets time pass in the scenarios
//! ([`ScenarioSet::advance`]): after each batch of replayed events, up to the newest event time
//! seen; on ticks, up to the clock's time, when the stream is live.

use crate::sql::SqlEngine;
use chrono::{DateTime, Utc};
use palisade_runtime::clock::{SharedClock, SystemClock};
use palisade_runtime::metrics::{Counter, MetricDef, Registry};
use palisade_runtime::stage::Stage;
use palisade_runtime::StageError;
use palisade_schemas::time::parse_rfc3339;
use palisade_schemas::{Alert, Event, ExpectMode};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// Events the detect stage received.
pub static DETECT_EVENTS: MetricDef = MetricDef::counter(
    "palisade_detect_events_received_total",
    "Events that reached the detect stage.",
);
/// Alerts raised.
pub static DETECT_ALERTS: MetricDef = MetricDef::counter(
    "palisade_detect_alerts_raised_total",
    "Alerts raised by scenarios.",
);
/// Overflows dropped by the postoverflow hook (whitelisted).
pub static DETECT_WHITELISTED: MetricDef = MetricDef::counter(
    "palisade_detect_overflows_whitelisted_total",
    "Overflows dropped by postoverflows (whitelisted).",
);
/// Overflows poured back into the scenarios.
pub static DETECT_REPROCESSED: MetricDef = MetricDef::counter(
    "palisade_detect_overflows_reprocessed_total",
    "Overflow events poured back into the scenarios (reprocess: true).",
);

/// Alerts not raised because the overflow came from events replayed to rebuild state.
pub static DETECT_REBUILD_SUPPRESSED: MetricDef = MetricDef::counter(
    "palisade_detect_rebuild_alerts_suppressed_total",
    "Alerts not raised again because they came from events replayed to rebuild bucket state.",
);
/// Events replayed to rebuild bucket state.
pub static DETECT_REBUILD_EVENTS: MetricDef = MetricDef::counter(
    "palisade_detect_rebuild_events_total",
    "Events re-read from the events topic to rebuild bucket state after a restart or rebalance.",
);

/// How many times an overflow may be poured back (an overflow of an overflow of ...), so that
/// a scenario consuming its own reprocessed overflows cannot loop forever.
const MAX_REPROCESS_DEPTH: u8 = 8;

/// The scenarios a detect stage runs.
pub trait ScenarioSet: Send + 'static {
    /// Pours one event. `now` is the injected clock; implementations pour time-machine events
    /// at their own time (`MarshaledTime`). Overflows are pushed as CrowdSec overflow events
    /// (`kind = EventType::Overflow`, `overflow = Some(RuntimeAlert)`). Expressions may write
    /// into the event (`evt.SetMeta` in a filter), hence `&mut`.
    fn pour(&mut self, event: &mut Event, now: DateTime<Utc>, overflows: &mut Vec<Event>);
    /// Lets time pass up to `now` (counters fire, idle buckets go), pushing overflows.
    fn advance(&mut self, _now: DateTime<Utc>, _overflows: &mut Vec<Event>) {}
    /// How many scenarios are loaded.
    fn len(&self) -> usize;
    /// Hands over the SQL scenarios, which the detect stage runs itself ([`SqlEngine`]).
    fn take_sql(&mut self) -> Vec<crate::sql::SqlScenario> {
        Vec::new()
    }
    /// Whether none are loaded.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// No scenario loaded: events are counted and raise nothing.
#[derive(Debug, Default)]
pub struct NoScenarios;

impl ScenarioSet for NoScenarios {
    fn pour(&mut self, _: &mut Event, _: DateTime<Utc>, _: &mut Vec<Event>) {}
    fn len(&self) -> usize {
        0
    }
}

/// Runs postoverflows on an overflow event; returns `false` to drop it (whitelisted). Setting
/// `evt.Whitelisted` or `evt.Overflow.Whitelisted` drops it too.
pub type PostOverflowHook = Box<dyn FnMut(&mut Event) -> bool + Send>;

/// The detect stage.
pub struct DetectStage<S: ScenarioSet> {
    scenarios: S,
    sql: Option<SqlEngine>,
    /// Whether a live event was fed: until then ticks do not move SQL watermarks (a replay's
    /// first batch may come after a tick, and its events would all be late).
    live_seen: bool,
    clock: SharedClock,
    postoverflow: Option<PostOverflowHook>,
    tick: Option<Duration>,
    event_time: Option<DateTime<Utc>>,
    replaying: bool,
    idle_advance: bool,
    last_event_wall: Option<DateTime<Utc>>,
    observer: Option<OverflowObserver>,
    rebuild_events: Counter,
    rebuild_suppressed: Counter,
    received: Counter,
    raised: Counter,
    whitelisted: Counter,
    reprocessed: Counter,
}

/// Sees every overflow after the postoverflows ran, whitelisted ones included (hubtest's
/// bucket dump).
pub type OverflowObserver = Box<dyn FnMut(&Event) + Send>;

impl<S: ScenarioSet> DetectStage<S> {
    /// A detect stage over `scenarios`, on the system clock, without postoverflows.
    pub fn new(mut scenarios: S, metrics: &Registry) -> Self {
        let sql = scenarios.take_sql();
        let sql = (!sql.is_empty()).then(|| SqlEngine::new(sql, metrics));
        let tick = (!scenarios.is_empty() || sql.is_some()).then_some(Duration::from_secs(1));
        DetectStage {
            scenarios,
            sql,
            live_seen: false,
            clock: Arc::new(SystemClock),
            postoverflow: None,
            tick,
            event_time: None,
            replaying: false,
            idle_advance: false,
            last_event_wall: None,
            rebuild_events: metrics.counter(&DETECT_REBUILD_EVENTS, &[]),
            rebuild_suppressed: metrics.counter(&DETECT_REBUILD_SUPPRESSED, &[]),
            observer: None,
            received: metrics.counter(&DETECT_EVENTS, &[]),
            raised: metrics.counter(&DETECT_ALERTS, &[]),
            whitelisted: metrics.counter(&DETECT_WHITELISTED, &[]),
            reprocessed: metrics.counter(&DETECT_REPROCESSED, &[]),
        }
    }

    /// Uses the injected clock for live events.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Runs `hook` (the postoverflow parsers) on every overflow before it is published or
    /// reprocessed; `false` drops the overflow.
    pub fn with_postoverflow(
        mut self,
        hook: impl FnMut(&mut Event) -> bool + Send + 'static,
    ) -> Self {
        self.postoverflow = Some(Box::new(hook));
        self
    }

    /// How often live time is let pass in the scenarios (`None`: never by tick). Default: every
    /// second when scenarios are loaded.
    pub fn with_tick_interval(mut self, tick: Option<Duration>) -> Self {
        self.tick = tick;
        self
    }

    /// Calls `observer` with every overflow once postoverflows ran (whitelisted ones too).
    pub fn with_overflow_observer(mut self, observer: impl FnMut(&Event) + Send + 'static) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// For streams replayed at event time that never end (Kafka): on ticks, lets event time run
    /// on with the wall clock from the newest event, so that counters fire and buckets leak while
    /// the stream is quiet.
    pub fn with_idle_advance(mut self, on: bool) -> Self {
        self.idle_advance = on;
        self
    }

    /// Pours one event and settles what overflows (postoverflows, reprocess, one alert per
    /// source), synchronously: the stage's `process` does this for every event of a batch.
    pub fn feed(&mut self, mut e: Event, out: &mut Vec<Alert>) {
        self.replaying = e.expect_mode == ExpectMode::TimeMachine;
        self.live_seen |= !self.replaying;
        if self.replaying {
            if let Some(t) = parse_rfc3339(&e.marshaled_time) {
                self.event_time = Some(self.event_time.map_or(t, |cur| cur.max(t)));
            }
        }
        let mut pending = Vec::new();
        let now = self.clock.now();
        if let Some(sql) = self.sql.as_mut() {
            sql.pour(&mut e, now);
        }
        self.scenarios.pour(&mut e, now, &mut pending);
        self.settle(&mut pending, out);
    }

    /// The SQL scenarios' engine, when SQL scenarios are loaded.
    pub fn sql(&self) -> Option<&SqlEngine> {
        self.sql.as_ref()
    }

    /// The scenarios.
    pub fn scenarios(&self) -> &S {
        &self.scenarios
    }

    /// The newest event time seen on replayed events.
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        self.event_time
    }

    /// Postoverflows, reprocess and alerts for the overflows in `pending`.
    fn settle(&mut self, pending: &mut Vec<Event>, out: &mut Vec<Alert>) {
        if pending.is_empty() {
            return;
        }
        let mut queue: VecDeque<(Event, u8)> = pending.drain(..).map(|e| (e, 0)).collect();
        while let Some((mut ov, depth)) = queue.pop_front() {
            if let Some(hook) = self.postoverflow.as_mut() {
                if !hook(&mut ov) {
                    self.whitelisted.inc();
                    continue;
                }
                if let Some(ra) = ov.overflow.as_deref_mut() {
                    crate::overflow::sync_postoverflow_edits(ra);
                }
            }
            if let Some(obs) = self.observer.as_mut() {
                obs(&ov);
            }
            let Some(ra) = ov.overflow.as_deref() else {
                continue;
            };
            if ov.whitelisted || ra.whitelisted {
                self.whitelisted.inc();
                continue;
            }
            // CrowdSec's dedupAlerts: the (possibly postoverflow-edited) alert, once per source.
            let before = out.len();
            if let Some(alert) = ra.alert.as_deref() {
                if ra.sources.len() <= 1 {
                    out.push(alert.clone());
                } else {
                    for src in ra.sources.values() {
                        let mut a = alert.clone();
                        a.source = src.clone();
                        out.push(a);
                    }
                }
            }
            self.raised.add((out.len() - before) as u64);
            if ra.reprocess {
                if depth >= MAX_REPROCESS_DEPTH {
                    tracing::warn!(bucket = %ra.bucket_id, "Overflow reprocessed too many times; not poured again.");
                    continue;
                }
                self.reprocessed.inc();
                let mut more = Vec::new();
                let now = self.clock.now();
                self.scenarios.pour(&mut ov, now, &mut more);
                queue.extend(more.into_iter().map(|e| (e, depth + 1)));
            }
        }
    }

    fn advance(&mut self, now: DateTime<Utc>, out: &mut Vec<Alert>) {
        let mut pending = Vec::new();
        self.scenarios.advance(now, &mut pending);
        if let Some(sql) = self
            .sql
            .as_mut()
            .filter(|_| self.replaying || self.live_seen)
        {
            sql.advance(now, &mut pending);
        }
        self.settle(&mut pending, out);
    }

    /// Evaluates every open SQL window (end of input).
    fn flush_sql(&mut self, out: &mut Vec<Alert>) {
        let mut pending = Vec::new();
        if let Some(sql) = self.sql.as_mut() {
            sql.flush(&mut pending);
        }
        self.settle(&mut pending, out);
    }
}

impl<S: ScenarioSet> Stage for DetectStage<S> {
    type In = Event;
    type Out = Alert;

    fn name(&self) -> &'static str {
        "detect"
    }

    async fn process(
        &mut self,
        items: &mut Vec<Event>,
        out: &mut Vec<Alert>,
    ) -> Result<(), StageError> {
        self.received.add(items.len() as u64);
        let mut rebuilding = false;
        let mut scratch = Vec::new();
        for e in items.drain(..) {
            rebuilding = e.rebuild;
            if rebuilding {
                // Processed before a restart: it rebuilds bucket state; what it raises was
                // raised then.
                self.rebuild_events.inc();
                self.feed(e, &mut scratch);
            } else {
                self.feed(e, out);
            }
        }
        if self.replaying {
            if let Some(t) = self.event_time {
                if rebuilding {
                    self.advance(t, &mut scratch);
                } else {
                    self.advance(t, out);
                }
            }
        }
        self.rebuild_suppressed.add(scratch.len() as u64);
        self.last_event_wall = Some(self.clock.now());
        Ok(())
    }

    fn tick_interval(&self) -> Option<Duration> {
        self.tick
    }

    async fn on_tick(
        &mut self,
        now: DateTime<Utc>,
        out: &mut Vec<Alert>,
    ) -> Result<(), StageError> {
        if !self.replaying {
            self.advance(now, out);
        } else if self.idle_advance {
            if let (Some(t), Some(wall)) = (self.event_time, self.last_event_wall) {
                let idle = now - wall;
                if idle > chrono::TimeDelta::zero() {
                    self.advance(t + idle, out);
                }
            }
        }
        Ok(())
    }

    async fn on_close(&mut self, out: &mut Vec<Alert>) -> Result<(), StageError> {
        let now = if self.replaying {
            self.event_time
        } else {
            Some(self.clock.now())
        };
        if let Some(t) = now {
            self.advance(t, out);
        }
        // Input is over: every SQL window still open is evaluated with what it has.
        self.flush_sql(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use palisade_runtime::clock::ManualClock;
    use palisade_schemas::{EventType, RuntimeAlert, Source};

    /// Overflows on the second sighting of an address; overflow events re-poured raise a
    /// `second-order` overflow.
    #[derive(Default)]
    struct SecondSighting {
        seen: std::collections::HashMap<String, u32>,
        nows: Vec<DateTime<Utc>>,
        advanced: Vec<DateTime<Utc>>,
        reprocess: bool,
    }

    fn overflow(scenario: &str, ips: &[&str], reprocess: bool) -> Event {
        let mut ra = RuntimeAlert {
            reprocess,
            ..RuntimeAlert::default()
        };
        for ip in ips {
            let src = Source {
                scope: "Ip".into(),
                value: (*ip).into(),
                ip: (*ip).into(),
                ..Source::default()
            };
            ra.sources.insert((*ip).into(), src.clone());
            ra.api_alerts.push(Alert {
                scenario: scenario.into(),
                source: src,
                ..Alert::default()
            });
        }
        ra.alert = ra.api_alerts.first().cloned().map(Box::new);
        Event {
            kind: EventType::Overflow,
            overflow: Some(Box::new(ra)),
            ..Event::default()
        }
    }

    impl ScenarioSet for SecondSighting {
        fn pour(&mut self, e: &mut Event, now: DateTime<Utc>, out: &mut Vec<Event>) {
            self.nows.push(now);
            if e.kind == EventType::Overflow {
                out.push(overflow("second-order", &["9.9.9.9"], false));
                return;
            }
            let ip = e.get_meta("source_ip").to_string();
            let n = self.seen.entry(ip.clone()).or_default();
            *n += 1;
            if *n == 2 {
                out.push(overflow("second", &[&ip], self.reprocess));
            }
        }
        fn advance(&mut self, now: DateTime<Utc>, _: &mut Vec<Event>) {
            self.advanced.push(now);
        }
        fn len(&self) -> usize {
            1
        }
    }

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, s).unwrap()
    }

    fn ev(ip: &str, secs: u32) -> Event {
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), ip.into());
        e.expect_mode = ExpectMode::TimeMachine;
        e.set_time(t(secs));
        e
    }

    #[tokio::test]
    async fn replays_advance_to_the_newest_event_time_and_alerts_are_counted() {
        let r = Registry::new();
        let clock = ManualClock::new(t(50));
        let mut s =
            DetectStage::new(SecondSighting::default(), &r).with_clock(Arc::new(clock.clone()));
        let mut out = Vec::new();
        s.process(
            &mut vec![ev("1.1.1.1", 5), ev("2.2.2.2", 3), ev("1.1.1.1", 7)],
            &mut out,
        )
        .await
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].source.value, "1.1.1.1");
        assert_eq!(
            s.scenarios.nows,
            vec![t(50); 3],
            "pours get the injected clock"
        );
        assert_eq!(
            s.scenarios.advanced,
            vec![t(7)],
            "replay time never goes back"
        );
        assert_eq!(s.event_time(), Some(t(7)));
        assert_eq!(r.total("palisade_detect_alerts_raised_total"), 1);
        s.on_tick(t(59), &mut out).await.unwrap();
        assert_eq!(
            s.scenarios.advanced.len(),
            1,
            "no wall-clock ticks while replaying"
        );
    }

    #[tokio::test]
    async fn a_tick_before_a_replay_does_not_make_sql_events_late() {
        let scenarios = crate::Loader::new()
            .load_texts(&[(
                "s.yaml",
                "type: sql\nname: t/sql\nwindow: {type: tumbling, size: 1m}\n\
                 query: SELECT source_ip FROM events GROUP BY source_ip\nalert: {value: source_ip}\n",
            )])
            .unwrap();
        let r = Registry::new();
        let mut s = DetectStage::new(crate::BucketEngine::new(scenarios, &r), &r);
        assert_eq!(
            s.tick_interval(),
            Some(Duration::from_secs(1)),
            "SQL scenarios tick"
        );
        let mut out = Vec::new();
        s.on_tick(Utc::now(), &mut out).await.unwrap();
        s.process(&mut vec![ev("1.1.1.1", 5)], &mut out)
            .await
            .unwrap();
        s.on_close(&mut out).await.unwrap();
        assert_eq!(r.total("palisade_detect_sql_late_events_total"), 0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].scenario, "t/sql");
        assert_eq!(out[0].start_at, "2026-01-01T00:00:00Z");
    }

    #[tokio::test]
    async fn live_streams_advance_on_ticks() {
        let r = Registry::new();
        let mut s = DetectStage::new(SecondSighting::default(), &r);
        assert_eq!(s.tick_interval(), Some(Duration::from_secs(1)));
        let mut live = Event::default();
        live.meta.insert("source_ip".into(), "1.1.1.1".into());
        s.process(&mut vec![live], &mut Vec::new()).await.unwrap();
        s.on_tick(t(9), &mut Vec::new()).await.unwrap();
        assert_eq!(s.scenarios.advanced, vec![t(9)]);
        assert_eq!(
            DetectStage::new(NoScenarios, &r).tick_interval(),
            None,
            "nothing to let time pass in"
        );
    }

    #[tokio::test]
    async fn postoverflows_drop_whitelisted_and_reprocess_repours() {
        let r = Registry::new();
        let scen = SecondSighting {
            reprocess: true,
            ..SecondSighting::default()
        };
        let mut s = DetectStage::new(scen, &r).with_postoverflow(|e: &mut Event| {
            let ra = e.overflow.as_mut().unwrap();
            if ra.sources.contains_key("6.6.6.6") {
                return false;
            }
            if ra.sources.contains_key("7.7.7.7") {
                ra.whitelisted = true;
            }
            // an enrichment edits the alert, as ipv6_to_range does
            ra.alert.as_mut().unwrap().source.value.push_str("/x");
            true
        });
        let mut out = Vec::new();
        let mut batch = vec![];
        for ip in ["6.6.6.6", "7.7.7.7", "8.8.8.8"] {
            batch.push(ev(ip, 1));
            batch.push(ev(ip, 2));
        }
        s.process(&mut batch, &mut out).await.unwrap();
        let got: Vec<(&str, &str)> = out
            .iter()
            .map(|a| (a.scenario.as_str(), a.source.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [("second", "8.8.8.8/x"), ("second-order", "9.9.9.9/x")],
            "whitelisted overflows are neither published nor reprocessed"
        );
        assert_eq!(r.total("palisade_detect_overflows_whitelisted_total"), 2);
        assert_eq!(r.total("palisade_detect_overflows_reprocessed_total"), 1);
    }

    #[tokio::test]
    async fn multi_source_overflows_become_one_alert_per_source() {
        struct Two;
        impl ScenarioSet for Two {
            fn pour(&mut self, _: &mut Event, _: DateTime<Utc>, out: &mut Vec<Event>) {
                out.push(overflow("multi", &["1.1.1.1", "2.2.2.2"], false));
            }
            fn len(&self) -> usize {
                1
            }
        }
        let r = Registry::new();
        let mut s = DetectStage::new(Two, &r);
        let mut out = Vec::new();
        s.process(&mut vec![Event::default()], &mut out)
            .await
            .unwrap();
        let ips: Vec<&str> = out.iter().map(|a| a.source.ip.as_str()).collect();
        assert_eq!(ips, ["1.1.1.1", "2.2.2.2"]);
    }

    #[tokio::test]
    async fn reprocess_loops_are_bounded() {
        struct Loop(u32);
        impl ScenarioSet for Loop {
            fn pour(&mut self, _: &mut Event, _: DateTime<Utc>, out: &mut Vec<Event>) {
                self.0 += 1;
                out.push(overflow("loop", &["1.1.1.1"], true));
            }
            fn len(&self) -> usize {
                1
            }
        }
        let r = Registry::new();
        let mut s = DetectStage::new(Loop(0), &r);
        let mut out = Vec::new();
        s.process(&mut vec![Event::default()], &mut out)
            .await
            .unwrap();
        assert_eq!(s.scenarios.0, 1 + u32::from(MAX_REPROCESS_DEPTH));
        assert_eq!(out.len(), 1 + usize::from(MAX_REPROCESS_DEPTH));
    }
}
