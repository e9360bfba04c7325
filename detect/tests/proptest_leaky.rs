//! Property: the leaky bucket engine overflows exactly when a plain simulation of a token
//! bucket does, over random capacities, leak speeds and event times.
//!
//! The reference model counts in integer nanoseconds ("credit", one token = one leak period),
//! which is exact; the engine reproduces Go's `f64` limiter. Event times are whole
//! milliseconds, so a deficit is never below Go's one-nanosecond tolerance and both must agree
//! on every event. The model also covers the instance lifecycle: an instance dies when it
//! overflows, and one idle for more than `(capacity + 1) × leakspeed` is replaced by a full one.

use chrono::{TimeZone, Utc};
use palisade_detect::{BucketEngine, Loader};
use palisade_runtime::metrics::Registry;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Event, ExpectMode};
use proptest::prelude::*;

const MS: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Overflow {
    start: i64,
    stop: i64,
    count: i32,
}

struct Model {
    capacity: i64,
    leak: i64,
    credit: i64,
    last_allow: Option<i64>,
    first: i64,
    last: i64,
    count: i32,
    alive: bool,
}

impl Model {
    fn new(capacity: i64, leak: i64) -> Self {
        Model {
            capacity,
            leak,
            credit: 0,
            last_allow: None,
            first: 0,
            last: 0,
            count: 0,
            alive: false,
        }
    }

    fn pour(&mut self, t: i64) -> Option<Overflow> {
        if self.alive && t > self.last + (self.capacity + 1) * self.leak {
            self.alive = false;
        }
        if !self.alive {
            *self = Model {
                alive: true,
                first: t,
                ..Model::new(self.capacity, self.leak)
            };
        }
        self.count += 1;
        self.last = t;
        let full = self.capacity * self.leak;
        let credit = match self.last_allow {
            None => full,
            Some(at) => (self.credit + (t - at)).min(full),
        };
        if credit >= self.leak {
            self.credit = credit - self.leak;
            self.last_allow = Some(t);
            None
        } else {
            self.alive = false;
            Some(Overflow {
                start: self.first,
                stop: t,
                count: self.count,
            })
        }
    }
}

fn engine_overflows(capacity: i64, leak_ms: i64, times: &[i64]) -> Vec<Overflow> {
    let yaml = format!(
        "name: p/leaky\ndescription: d\ntype: leaky\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: {capacity}\nleakspeed: {leak_ms}ms\n"
    );
    let scenarios = Loader::new().load_texts(&[("p.yaml", &yaml)]).unwrap();
    let mut engine = BucketEngine::new(scenarios, &Registry::new());
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut out = Vec::new();
    for &t in times {
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), "10.0.0.1".into());
        e.expect_mode = ExpectMode::TimeMachine;
        e.marshaled_time = format_rfc3339_nano(&(base + chrono::TimeDelta::nanoseconds(t)));
        engine.pour_event(&mut e, base, &mut out);
    }
    let parse = |s: &str| {
        palisade_schemas::time::parse_rfc3339(s)
            .unwrap()
            .signed_duration_since(base)
            .num_nanoseconds()
            .unwrap()
    };
    out.iter()
        .map(|o| {
            let a = o.overflow.as_ref().unwrap().alert.as_ref().unwrap();
            Overflow {
                start: parse(&a.start_at),
                stop: parse(&a.stop_at),
                count: a.events_count,
            }
        })
        .collect()
}

fn model_overflows(capacity: i64, leak_ms: i64, times: &[i64]) -> Vec<Overflow> {
    let mut m = Model::new(capacity, leak_ms * MS);
    times.iter().filter_map(|&t| m.pour(t)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn leaky_overflows_match_the_reference_model(
        capacity in 1i64..7,
        leak_ms in prop::sample::select(vec![1i64, 3, 7, 100, 333, 500, 1000, 3000, 10_000, 60_000]),
        gaps in prop::collection::vec(0i64..40, 1..60),
        unit in prop::sample::select(vec![1i64, 10, 100, 1000, -1, -2]),
    ) {
        // gap units: milliseconds, or a whole / half leak period (to hit exact boundaries)
        let scale = match unit {
            -1 => leak_ms,
            -2 => (leak_ms / 2).max(1),
            u => u,
        };
        let gaps: Vec<i64> = gaps.iter().map(|g| if unit < 0 { g % 8 } else { *g }).collect();
        let mut t = 0;
        let times: Vec<i64> = gaps
            .iter()
            .map(|g| {
                t += g * scale * MS;
                t
            })
            .collect();
        let want = model_overflows(capacity, leak_ms, &times);
        let got = engine_overflows(capacity, leak_ms, &times);
        prop_assert_eq!(got, want);
    }
}

#[test]
fn the_model_agrees_with_the_repo_examples() {
    // capacity 1, leak 10s: events at 0 and 5s overflow with a count of 2
    assert_eq!(
        model_overflows(1, 10_000, &[0, 5_000 * MS]),
        [Overflow {
            start: 0,
            stop: 5_000 * MS,
            count: 2
        }]
    );
    assert_eq!(
        engine_overflows(1, 10_000, &[0, 5_000 * MS]),
        model_overflows(1, 10_000, &[0, 5_000 * MS])
    );
}
