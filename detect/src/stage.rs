//! The detect stage: pours events into scenarios and emits the alerts they raise.
//!
//! Time: when an event is a replay (`ExpectMode::TimeMachine`), "now" is the newest event time
//! seen so far, so a replayed log behaves as it did live; otherwise it is the injected clock.

use chrono::{DateTime, Utc};
use palisade_runtime::metrics::{Counter, Gauge, MetricDef, Registry};
use palisade_runtime::stage::Stage;
use palisade_runtime::StageError;
use palisade_schemas::{Alert, Event, ExpectMode};
use std::collections::HashSet;

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
/// Distinct partition keys seen.
pub static DETECT_KEYS: MetricDef = MetricDef::gauge(
    "palisade_detect_partition_keys_count",
    "Distinct partition keys (source addresses) the stage has seen.",
);

/// The scenarios a detect stage runs.
pub trait ScenarioSet: Send + 'static {
    /// Pours one event at time `now`, pushing any alert raised.
    fn pour(&mut self, event: &Event, now: DateTime<Utc>, alerts: &mut Vec<Alert>);
    /// Lets time pass (leaks, window closes), pushing alerts raised.
    fn advance(&mut self, _now: DateTime<Utc>, _alerts: &mut Vec<Alert>) {}
    /// How many scenarios are loaded.
    fn len(&self) -> usize;
    /// Whether none are loaded.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// No scenario loaded: events are counted and raise nothing.
#[derive(Debug, Default)]
pub struct NoScenarios;

impl ScenarioSet for NoScenarios {
    fn pour(&mut self, _: &Event, _: DateTime<Utc>, _: &mut Vec<Alert>) {}
    fn len(&self) -> usize {
        0
    }
}

/// The detect stage.
pub struct DetectStage<S: ScenarioSet> {
    scenarios: S,
    event_time: Option<DateTime<Utc>>,
    keys: HashSet<u64>,
    received: Counter,
    raised: Counter,
    keys_gauge: Gauge,
}

impl<S: ScenarioSet> DetectStage<S> {
    /// A detect stage over `scenarios`.
    pub fn new(scenarios: S, metrics: &Registry) -> Self {
        DetectStage {
            scenarios,
            event_time: None,
            keys: HashSet::new(),
            received: metrics.counter(&DETECT_EVENTS, &[]),
            raised: metrics.counter(&DETECT_ALERTS, &[]),
            keys_gauge: metrics.gauge(&DETECT_KEYS, &[]),
        }
    }

    /// The newest event time seen on replayed events.
    pub fn event_time(&self) -> Option<DateTime<Utc>> {
        self.event_time
    }

    fn now_for(&mut self, e: &Event) -> DateTime<Utc> {
        match (e.expect_mode, e.time) {
            (ExpectMode::TimeMachine, Some(t)) => {
                let newest = self.event_time.map_or(t, |cur| cur.max(t));
                self.event_time = Some(newest);
                newest
            }
            _ => Utc::now(),
        }
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
        let before = out.len();
        for e in items.drain(..) {
            let e = &e;
            if let Some(k) = crate::partition::partition_key(e) {
                self.keys.insert(crate::partition::local_hash(k));
            }
            let now = self.now_for(e);
            self.scenarios.pour(e, now, out);
        }
        self.keys_gauge.set(self.keys.len() as i64);
        self.raised.add((out.len() - before) as u64);
        Ok(())
    }

    async fn on_close(&mut self, out: &mut Vec<Alert>) -> Result<(), StageError> {
        if let Some(t) = self.event_time {
            let before = out.len();
            self.scenarios.advance(t, out);
            self.raised.add((out.len() - before) as u64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Raises one alert per event whose address was seen twice.
    #[derive(Default)]
    struct SecondSighting(std::collections::HashMap<String, u32>, Vec<DateTime<Utc>>);

    impl ScenarioSet for SecondSighting {
        fn pour(&mut self, e: &Event, now: DateTime<Utc>, alerts: &mut Vec<Alert>) {
            self.1.push(now);
            let ip = e.get_meta("source_ip").to_string();
            let n = self.0.entry(ip.clone()).or_default();
            *n += 1;
            if *n == 2 {
                let mut a = Alert::default();
                a.source.value = ip;
                alerts.push(a);
            }
        }
        fn len(&self) -> usize {
            1
        }
    }

    fn ev(ip: &str, secs: u32) -> Event {
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), ip.into());
        e.expect_mode = ExpectMode::TimeMachine;
        e.set_time(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, secs).unwrap());
        e
    }

    #[tokio::test]
    async fn pours_events_on_event_time_and_counts_alerts() {
        let r = Registry::new();
        let mut s = DetectStage::new(SecondSighting::default(), &r);
        let mut out = Vec::new();
        s.process(
            &mut vec![ev("1.1.1.1", 5), ev("2.2.2.2", 3), ev("1.1.1.1", 7)],
            &mut out,
        )
        .await
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].source.value, "1.1.1.1");
        let t = |s| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, s).unwrap();
        assert_eq!(
            s.scenarios.1,
            vec![t(5), t(5), t(7)],
            "event time never goes back"
        );
        assert_eq!(r.total("palisade_detect_alerts_raised_total"), 1);
        assert_eq!(r.total("palisade_detect_partition_keys_count"), 2);
    }
}
