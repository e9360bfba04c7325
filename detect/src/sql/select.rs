//! Which events a SQL scenario takes, and the key it needs them partitioned by.
//!
//! ```text
//! Event ──filter?──► windows (here)  |  Kafka mode: ──key──► re-key topic `<scenario>|<key>`
//! ```
//!
//! The same [`Selector`] decides both, so a scenario sees the same events in the embedded mode
//! and on the re-keyed stream of the distributed mode.

use super::window::KeyColumn;
use palisade_expr::Program;
use palisade_schemas::Event;
use std::sync::Arc;

/// Which key events must be partitioned by for a SQL scenario to see what it needs (Kafka
/// mode, where windows are per partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partition {
    /// The `events` topic's own key: per-address scenarios work on any partition.
    SourceIp,
    /// Events must be re-keyed by this column (one user, one ASN, one country...).
    Key(KeyColumn),
    /// The scenario needs every event: one instance on a single partition.
    Global,
}

/// A scenario's `filter` and `partition`, detached from the scenario (cheap to clone).
#[derive(Debug, Clone)]
pub struct Selector {
    name: String,
    partition: Partition,
    filter: Option<Arc<Program>>,
    /// What [`Selector::slim`] keeps besides `Meta` and the times.
    keep: Keep,
}

/// The parts of an event a scenario reads beyond `Meta` and its times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// `Parsed` (the `parsed` column, or a `parsed.K` key).
    pub parsed: bool,
    /// The line's `raw`, `src` and `module`.
    pub line: bool,
}

impl Keep {
    /// Everything (what a selector without column knowledge keeps).
    pub fn all() -> Self {
        Keep {
            parsed: true,
            line: true,
        }
    }
}

impl Selector {
    /// A selector for scenario `name`.
    pub fn new(name: &str, partition: Partition, filter: Option<Arc<Program>>) -> Self {
        Selector {
            name: name.to_string(),
            partition,
            filter,
            keep: Keep::all(),
        }
    }

    /// Keeps only `keep` (and `Meta`, labels and times) in [`Selector::slim`] copies.
    pub fn keeping(mut self, keep: Keep) -> Self {
        self.keep = keep;
        self
    }

    /// The copy of `e` the scenario needs on the re-keyed stream: `Meta`, the labels, the
    /// times, and `Parsed` or the raw line only when its query or key reads them. The filter
    /// has run before (at the tap), so what it reads need not travel.
    pub fn slim(&self, e: &Event) -> Event {
        let mut line = palisade_schemas::Line {
            time: e.line.time,
            labels: e.line.labels.clone(),
            process: e.line.process,
            ..Default::default()
        };
        if self.keep.line {
            line.raw = e.line.raw.clone();
            line.src = e.line.src.clone();
            line.module = e.line.module.clone();
        }
        Event {
            kind: e.kind,
            expect_mode: e.expect_mode,
            time: e.time,
            marshaled_time: e.marshaled_time.clone(),
            meta: e.meta.clone(),
            parsed: if self.keep.parsed {
                e.parsed.clone()
            } else {
                Default::default()
            },
            line,
            ..Default::default()
        }
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What partitioning the scenario needs.
    pub fn partition(&self) -> &Partition {
        &self.partition
    }

    /// Whether the `filter` accepts `e` (always, without a filter). A filter that fails is
    /// logged and rejects the event. A filter may write into the event (`evt.SetMeta`).
    pub fn accepts(&self, e: &mut Event) -> bool {
        passes(&self.name, self.filter.as_deref(), e)
    }

    /// The key of `e` under the partition: `None` for `source_ip` (the events topic's own
    /// key), `""` for `global`, else the column's value (`""` when the event has none).
    pub fn key<'a>(&self, e: &'a Event) -> Option<&'a str> {
        match &self.partition {
            Partition::SourceIp => None,
            Partition::Key(k) => Some(k.of(e)),
            Partition::Global => Some(""),
        }
    }
}

/// Whether `filter` (of scenario `name`) accepts `e`; a failing filter is logged and rejects.
pub(crate) fn passes(name: &str, filter: Option<&Program>, e: &mut Event) -> bool {
    let Some(f) = filter else {
        return true;
    };
    match f.eval_bool(e) {
        Ok(b) => b,
        Err(err) => {
            tracing::warn!(scenario = %name, error = %err,
                "SQL scenario filter failed; event not taken.");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_expr::Context;

    #[test]
    fn filter_and_key() {
        let f =
            Program::compile("evt.Meta.log_type == 'ssh_failed-auth'", &Context::event()).unwrap();
        let s = Selector::new(
            "t/s",
            Partition::Key(KeyColumn::parse("meta.target_user").unwrap()),
            Some(Arc::new(f)),
        );
        let mut e = Event::default();
        e.meta.insert("target_user".into(), "deploy".into());
        assert!(!s.accepts(&mut e));
        e.meta.insert("log_type".into(), "ssh_failed-auth".into());
        assert!(s.accepts(&mut e));
        assert_eq!(s.key(&e), Some("deploy"));
        let g = Selector::new("t/g", Partition::Global, None);
        assert_eq!(g.key(&e), Some(""));
        assert_eq!(
            Selector::new("t/i", Partition::SourceIp, None).key(&e),
            None
        );
    }

    #[test]
    fn slim_copies_keep_what_the_scenario_reads() {
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), "192.0.2.1".into());
        e.parsed.insert("message".into(), "long".into());
        e.line.raw = "raw line".into();
        e.line.labels.insert("type".into(), "syslog".into());
        e.marshaled_time = "2024-05-01T10:00:00Z".into();
        e.enriched.insert("x".into(), "y".into());
        let s = Selector::new("t/s", Partition::Global, None).keeping(Keep::default());
        let slim = s.slim(&e);
        assert_eq!(slim.meta, e.meta);
        assert_eq!(slim.marshaled_time, e.marshaled_time);
        assert_eq!(slim.line.labels, e.line.labels);
        assert!(slim.parsed.is_empty() && slim.line.raw.is_empty() && slim.enriched.is_empty());
        let all = Selector::new("t/s", Partition::Global, None).slim(&e);
        assert_eq!(all.parsed, e.parsed);
        assert_eq!(all.line.raw, e.line.raw);
    }
}
