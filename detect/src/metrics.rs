//! The bucket engine's metrics. The `scenario` label is bounded by the number of loaded
//! scenarios; `reason` labels are fixed words.

use palisade_runtime::metrics::{Counter, Gauge, MetricDef, Registry};

/// Live bucket instances.
pub static BUCKETS_LIVE: MetricDef = MetricDef::gauge(
    "palisade_detect_buckets_live_count",
    "Live bucket instances across all scenarios.",
);
/// Buckets evicted because the live bucket cap was reached.
pub static BUCKETS_EVICTED: MetricDef = MetricDef::counter(
    "palisade_detect_buckets_evicted_total",
    "Bucket instances evicted (least recently poured first) because the live bucket cap was reached.",
);
/// Events poured, per scenario.
pub static EVENTS_POURED: MetricDef = MetricDef::counter(
    "palisade_detect_events_poured_total",
    "Events that matched a scenario's filter and were poured into one of its buckets.",
);
/// Overflows emitted, per scenario.
pub static OVERFLOWS: MetricDef = MetricDef::counter(
    "palisade_detect_overflows_total",
    "Bucket overflows emitted as overflow events, per scenario.",
);
/// Overflows discarded by a blackhole.
pub static OVERFLOWS_BLACKHOLED: MetricDef = MetricDef::counter(
    "palisade_detect_overflows_blackholed_total",
    "Overflows discarded because their partition was still blackholed.",
);
/// Overflows discarded for another reason.
pub static OVERFLOWS_DROPPED: MetricDef = MetricDef::counter(
    "palisade_detect_overflows_dropped_total",
    "Overflows discarded: overflow_filter false, or no valid source (reason).",
);
/// Events not poured, by reason.
pub static EVENTS_UNPOURED: MetricDef = MetricDef::counter(
    "palisade_detect_events_unpoured_total",
    "Events not poured (further) into scenarios, by reason.",
);

/// Why an event was not poured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpoured {
    /// A time-machine event without `MarshaledTime`.
    NoMarshaledTime,
    /// A time-machine event whose `MarshaledTime` is not RFC 3339.
    BadMarshaledTime,
    /// A scenario filter failed: the event is not poured into the remaining scenarios.
    FilterError,
    /// A groupby failed: the event is not poured into the remaining scenarios.
    GroupbyError,
}

impl Unpoured {
    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Unpoured::NoMarshaledTime => "no_marshaled_time",
            Unpoured::BadMarshaledTime => "bad_marshaled_time",
            Unpoured::FilterError => "filter_error",
            Unpoured::GroupbyError => "groupby_error",
        }
    }

    const ALL: [Unpoured; 4] = [
        Unpoured::NoMarshaledTime,
        Unpoured::BadMarshaledTime,
        Unpoured::FilterError,
        Unpoured::GroupbyError,
    ];
}

/// Handles, fetched once.
#[derive(Debug, Clone)]
pub struct EngineMetrics {
    pub(crate) live: Gauge,
    pub(crate) evicted: Counter,
    pub(crate) poured: Vec<Counter>,
    pub(crate) overflows: Vec<Counter>,
    pub(crate) blackholed: Counter,
    pub(crate) filtered: Counter,
    pub(crate) no_source: Counter,
    unpoured: [Counter; 4],
}

impl EngineMetrics {
    /// Registers the metrics for these scenario names.
    pub fn new<'a>(registry: &Registry, scenarios: impl Iterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = scenarios.collect();
        EngineMetrics {
            live: registry.gauge(&BUCKETS_LIVE, &[]),
            evicted: registry.counter(&BUCKETS_EVICTED, &[]),
            poured: names
                .iter()
                .map(|n| registry.counter(&EVENTS_POURED, &[("scenario", n)]))
                .collect(),
            overflows: names
                .iter()
                .map(|n| registry.counter(&OVERFLOWS, &[("scenario", n)]))
                .collect(),
            blackholed: registry.counter(&OVERFLOWS_BLACKHOLED, &[]),
            filtered: registry.counter(&OVERFLOWS_DROPPED, &[("reason", "overflow_filter")]),
            no_source: registry.counter(&OVERFLOWS_DROPPED, &[("reason", "no_source")]),
            unpoured: Unpoured::ALL
                .map(|r| registry.counter(&EVENTS_UNPOURED, &[("reason", r.as_str())])),
        }
    }

    /// Counts an event not poured.
    pub fn unpoured(&self, reason: Unpoured) {
        self.unpoured[reason as usize].inc();
    }
}
