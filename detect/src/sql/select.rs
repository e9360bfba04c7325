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
}

impl Selector {
    /// A selector for scenario `name`.
    pub fn new(name: &str, partition: Partition, filter: Option<Arc<Program>>) -> Self {
        Selector {
            name: name.to_string(),
            partition,
            filter,
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
}
