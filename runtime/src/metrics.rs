//! The one place metrics go through. A [`Registry`] holds counters and gauges, each declared by
//! a [`MetricDef`] (name, help, kind) so that names and help texts live in one `static` per
//! metric, next to the code that moves it. Names follow `palisade_<stage>_<noun>_<unit>`;
//! labels are bounded (stage, source, topic, scenario, reason; never an address).
//!
//! Handles are cheap atomics: hot paths fetch them once and increment without locking.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counter (only goes up) or gauge (goes both ways).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic.
    Counter,
    /// Up and down.
    Gauge,
}

/// The declaration of one metric.
#[derive(Debug)]
pub struct MetricDef {
    /// `palisade_<stage>_<noun>_<unit>`.
    pub name: &'static str,
    /// One line for Prometheus' `# HELP`.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: MetricKind,
}

impl MetricDef {
    /// Declares a counter.
    pub const fn counter(name: &'static str, help: &'static str) -> Self {
        MetricDef {
            name,
            help,
            kind: MetricKind::Counter,
        }
    }

    /// Declares a gauge.
    pub const fn gauge(name: &'static str, help: &'static str) -> Self {
        MetricDef {
            name,
            help,
            kind: MetricKind::Gauge,
        }
    }
}

/// A counter handle.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge handle.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Adds `n` (may be negative).
    #[inline]
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
struct Family {
    def: &'static MetricDef,
    counters: BTreeMap<Labels, Counter>,
    gauges: BTreeMap<Labels, Gauge>,
}

/// The registry: one per process (or per test).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    families: Arc<Mutex<BTreeMap<&'static str, Family>>>,
}

fn valid_name(name: &str) -> bool {
    name.starts_with("palisade_")
        && name.split('_').count() >= 4
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn family<R>(&self, def: &'static MetricDef, f: impl FnOnce(&mut Family) -> R) -> R {
        assert!(
            valid_name(def.name),
            "metric name {} must be palisade_<stage>_<noun>_<unit>",
            def.name
        );
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let fam = families.entry(def.name).or_insert_with(|| Family {
            def,
            counters: BTreeMap::new(),
            gauges: BTreeMap::new(),
        });
        f(fam)
    }

    fn labels(labels: &[(&'static str, &str)]) -> Labels {
        labels.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    /// The counter `def` with these labels, created at zero on first use.
    pub fn counter(&self, def: &'static MetricDef, labels: &[(&'static str, &str)]) -> Counter {
        debug_assert_eq!(
            def.kind,
            MetricKind::Counter,
            "{} is not a counter",
            def.name
        );
        let key = Self::labels(labels);
        self.family(def, |f| f.counters.entry(key).or_default().clone())
    }

    /// The gauge `def` with these labels, created at zero on first use.
    pub fn gauge(&self, def: &'static MetricDef, labels: &[(&'static str, &str)]) -> Gauge {
        debug_assert_eq!(def.kind, MetricKind::Gauge, "{} is not a gauge", def.name);
        let key = Self::labels(labels);
        self.family(def, |f| f.gauges.entry(key).or_default().clone())
    }

    /// The sum of a metric over all label sets (0 if never registered). For tests and summaries.
    pub fn total(&self, name: &str) -> i64 {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        families.get(name).map_or(0, |f| {
            f.counters.values().map(|c| c.get() as i64).sum::<i64>()
                + f.gauges.values().map(Gauge::get).sum::<i64>()
        })
    }

    /// The value of one metric with exactly these labels, if registered.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<i64> {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let f = families.get(name)?;
        let matches = |k: &Labels| {
            k.len() == labels.len()
                && k.iter()
                    .zip(labels)
                    .all(|((a, b), (c, d))| a == c && b == d)
        };
        f.counters
            .iter()
            .find(|(k, _)| matches(k))
            .map(|(_, c)| c.get() as i64)
            .or_else(|| {
                f.gauges
                    .iter()
                    .find(|(k, _)| matches(k))
                    .map(|(_, g)| g.get())
            })
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, f) in families.iter() {
            let kind = match f.def.kind {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {name} {}", f.def.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let series = f
                .counters
                .iter()
                .map(|(l, c)| (l, c.get() as i64))
                .chain(f.gauges.iter().map(|(l, g)| (l, g.get())));
            for (labels, v) in series {
                out.push_str(name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, val)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let escaped = val
                            .replace('\\', "\\\\")
                            .replace('"', "\\\"")
                            .replace('\n', "\\n");
                        let _ = write!(out, "{k}=\"{escaped}\"");
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {v}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static LINES: MetricDef = MetricDef::counter("palisade_test_lines_total", "Lines seen.");
    static DEPTH: MetricDef = MetricDef::gauge("palisade_test_queue_events", "Queued events.");

    #[test]
    fn counters_and_gauges_render_for_prometheus() {
        let r = Registry::new();
        let a = r.counter(&LINES, &[("source", "a\"b")]);
        a.add(3);
        r.counter(&LINES, &[("source", "a\"b")]).inc();
        r.gauge(&DEPTH, &[]).set(-2);
        let text = r.render();
        assert!(
            text.contains("# TYPE palisade_test_lines_total counter"),
            "{text}"
        );
        assert!(
            text.contains("palisade_test_lines_total{source=\"a\\\"b\"} 4"),
            "{text}"
        );
        assert!(text.contains("palisade_test_queue_events -2"), "{text}");
        assert_eq!(r.total("palisade_test_lines_total"), 4);
        assert_eq!(
            r.value("palisade_test_lines_total", &[("source", "a\"b")]),
            Some(4)
        );
        assert_eq!(r.value("palisade_test_lines_total", &[]), None);
    }

    #[test]
    #[should_panic(expected = "must be palisade_")]
    fn refuses_names_outside_the_convention() {
        static BAD: MetricDef = MetricDef::counter("lines", "bad");
        Registry::new().counter(&BAD, &[]);
    }
}
