//! CrowdSec scenario files: YAML ([`spec`]), loaded and checked ([`load`]), compiled into
//! [`Scenario`]s ready to pour into ([`compile`]).
//!
//! ```text
//! scenarios/*.yaml ──strict YAML──► ScenarioSpec ──validate, compile expressions──► Scenario ──► Scenarios (load order)
//! ```

pub mod compile;
pub mod load;
pub mod spec;

use crate::bucket::bayesian::Bayesian;
use crate::bucket::leaky::Limiter;
use palisade_expr::Program;
pub use spec::ScenarioSpec;

/// The kind of bucket a scenario uses (`type:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketKind {
    /// Token bucket: overflows on the (capacity+1)-th event in a burst.
    Leaky,
    /// Every event overflows at once.
    Trigger,
    /// Counts for `duration`, then overflows with what it has.
    Counter,
    /// Overflows when `condition` is true after a pour.
    Conditional,
    /// Overflows when the bayesian posterior exceeds the threshold.
    Bayesian,
}

impl BucketKind {
    /// The YAML name.
    pub fn as_str(self) -> &'static str {
        match self {
            BucketKind::Leaky => "leaky",
            BucketKind::Trigger => "trigger",
            BucketKind::Counter => "counter",
            BucketKind::Conditional => "conditional",
            BucketKind::Bayesian => "bayesian",
        }
    }

    /// From the YAML name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "leaky" => BucketKind::Leaky,
            "trigger" => BucketKind::Trigger,
            "counter" => BucketKind::Counter,
            "conditional" => BucketKind::Conditional,
            "bayesian" => BucketKind::Bayesian,
            _ => return None,
        })
    }
}

/// The scope of a scenario's sources.
#[derive(Debug)]
pub struct Scope {
    /// `Ip`, `Range` or a custom scope, verbatim.
    pub kind: String,
    /// The value expression.
    pub expr: Option<Program>,
}

/// A loaded, compiled scenario.
#[derive(Debug)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) file: String,
    pub(crate) hash: String,
    pub(crate) version: String,
    pub(crate) spec: ScenarioSpec,
    pub(crate) kind: BucketKind,
    pub(crate) capacity: i64,
    pub(crate) leakspeed_ns: i64,
    pub(crate) leakspeed_text: String,
    /// Idle lifetime, or fixed lifetime when `timed`.
    pub(crate) lifetime_ns: i64,
    pub(crate) timed: bool,
    pub(crate) queue_limit: Option<usize>,
    pub(crate) limiter: Limiter,
    pub(crate) filter: Program,
    pub(crate) groupby: Option<Program>,
    pub(crate) distinct: Option<Program>,
    pub(crate) cancel_on: Option<Program>,
    pub(crate) overflow_filter: Option<Program>,
    pub(crate) blackhole_ns: Option<i64>,
    pub(crate) condition: Option<Program>,
    pub(crate) bayesian: Option<Bayesian>,
    pub(crate) scope: Scope,
    pub(crate) reprocess: bool,
    pub(crate) remediation: bool,
    pub(crate) simulated: bool,
    pub(crate) full_events: bool,
}

impl Scenario {
    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// SHA-256 of the file (`scenario_hash`).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The version alerts carry (`scenario_version`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The bucket kind.
    pub fn kind(&self) -> BucketKind {
        self.kind
    }

    /// The YAML as written.
    pub fn spec(&self) -> &ScenarioSpec {
        &self.spec
    }

    /// The leak speed in nanoseconds (0 when none).
    pub fn leakspeed_ns(&self) -> i64 {
        self.leakspeed_ns
    }

    /// The lifetime of an instance in nanoseconds: idle time before it is dropped, or for
    /// timed (counter) buckets the time from the first event to the overflow.
    pub fn lifetime_ns(&self) -> i64 {
        self.lifetime_ns
    }

    /// How long a bucket of this scenario can matter after an event: the time a full bucket
    /// takes to leak (or a counter's lifetime) plus the blackhole. Rebuilding state after a
    /// restart replays at least this much history.
    pub fn state_horizon(&self) -> std::time::Duration {
        let full_leak = self
            .leakspeed_ns
            .saturating_mul(self.spec.capacity.max(0).saturating_add(1));
        let blackhole = palisade_schemas::duration::parse_go_duration(&self.spec.blackhole)
            .map(|d| d.num_nanoseconds().unwrap_or(i64::MAX))
            .unwrap_or(0);
        let ns = full_leak
            .max(self.lifetime_ns)
            .saturating_add(blackhole.max(0));
        std::time::Duration::from_nanos(ns.max(0) as u64)
    }

    /// Whether alerts are marked simulated.
    pub fn simulated(&self) -> bool {
        self.simulated
    }

    /// Whether the scenario keeps whole events (it has a `condition`, bayesian conditions or an
    /// `overflow_filter`, which read `queue.Queue`), rather than packed Meta and times.
    pub fn keeps_whole_events(&self) -> bool {
        self.full_events
    }

    /// The number of events a bucket instance keeps (`L + 1`), `None` when unbounded.
    pub fn kept_events(&self) -> Option<usize> {
        self.queue_limit.map(|l| l + 1)
    }
}

/// The scenarios of a detect stage, in load order.
#[derive(Debug, Default)]
pub struct Scenarios {
    pub(crate) list: Vec<Scenario>,
    /// SQL scenarios (`type: sql`), run by the detect stage next to the buckets.
    pub(crate) sql: Vec<crate::sql::SqlScenario>,
}

impl Scenarios {
    /// No scenario.
    pub fn new() -> Self {
        Scenarios::default()
    }

    /// The longest [`Scenario::state_horizon`] of all (zero when none is loaded).
    pub fn state_horizon(&self) -> std::time::Duration {
        self.list
            .iter()
            .map(Scenario::state_horizon)
            .max()
            .unwrap_or_default()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// In load order.
    pub fn iter(&self) -> impl Iterator<Item = &Scenario> {
        self.list.iter()
    }

    /// The SQL scenarios, in load order.
    pub fn sql(&self) -> &[crate::sql::SqlScenario] {
        &self.sql
    }

    /// Takes the SQL scenarios out (the detect stage runs them).
    pub fn take_sql(&mut self) -> Vec<crate::sql::SqlScenario> {
        std::mem::take(&mut self.sql)
    }

    /// Takes out the SQL scenarios that need events keyed otherwise than by source address
    /// ([`crate::sql::Partition`] not `SourceIp`): the Kafka mode runs them on a re-keyed
    /// stream. What stays runs per address.
    pub fn take_rekeyed(&mut self) -> Vec<crate::sql::SqlScenario> {
        let (rekeyed, own): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sql)
            .into_iter()
            .partition(|s| *s.partition() != crate::sql::Partition::SourceIp);
        self.sql = own;
        rekeyed
    }

    /// Scenarios made of SQL scenarios only.
    pub fn from_sql(sql: Vec<crate::sql::SqlScenario>) -> Scenarios {
        Scenarios {
            list: Vec::new(),
            sql,
        }
    }

    /// Caps the events every SQL scenario holds in open windows
    /// (`scenarios.sql_max_window_events`).
    pub fn set_sql_max_window_events(&mut self, max: usize) {
        for s in &mut self.sql {
            s.set_max_window_events(max);
        }
    }

    /// By name (the first with that name).
    pub fn get(&self, name: &str) -> Option<&Scenario> {
        self.list.iter().find(|s| s.name == name)
    }

    /// Marks scenarios simulated (CrowdSec's simulation exclusions): their alerts carry
    /// `simulated: true`.
    pub fn set_simulated<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let names: std::collections::HashSet<&str> = names.into_iter().collect();
        for s in &mut self.list {
            s.simulated = names.contains(s.name.as_str());
        }
        for s in &mut self.sql {
            s.simulated = names.contains(s.name.as_str());
        }
    }
}

/// The `scenarios:` section of the configuration.
///
/// ```yaml
/// scenarios:
///   dirs: [/etc/crowdsec/scenarios]   # CrowdSec scenario files, in addition to Palisade's own
///   data_dir: /var/lib/crowdsec/data
///   max_buckets: 1000000              # live buckets kept at most; the oldest are evicted
///   sql_max_window_events: 1000000    # events each SQL scenario holds in open windows at most
///   simulated: [crowdsecurity/http-crawl-non_statics]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScenariosSpec {
    /// Scenario directories (`**/*.yaml`).
    pub dirs: Vec<std::path::PathBuf>,
    /// Where the scenarios' `data:` files are.
    pub data_dir: Option<std::path::PathBuf>,
    /// The most live buckets kept (unset: no limit).
    pub max_buckets: Option<usize>,
    /// The most events each SQL scenario holds in open windows (default 1,000,000); past it
    /// events are dropped, counted and logged with the scenario's name.
    pub sql_max_window_events: Option<usize>,
    /// Scenarios whose alerts are simulated (no decision reaches bouncers).
    pub simulated: Vec<String>,
}
