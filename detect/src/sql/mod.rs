//! SQL scenarios (`type: sql`): analysts' detections written as a query over the table `events`,
//! run by DataFusion once per event-time window when the window closes.
//!
//! ```text
//! Event ──► Assigner (pane / session, watermark) ──Arrow batches──► SqlPlan (DataFusion) ──rows──► overflow Event ──► DetectStage
//! ```
//!
//! * [`spec`]: the YAML (`filter`, `window`, `query`, `alert`, `labels`, `partition`).
//! * [`select`]: the `filter` and the Kafka `partition` key ([`Selector`]).
//! * [`engine`]: the running scenarios ([`SqlEngine`]): filter, windows (capped), evaluation.
//! * [`window`]: window assignment, watermark, lateness, sessions.
//! * [`accumulate`]: per-pane Arrow batches of the columns the query reads.
//! * [`plan`]: planning at load (errors located in the query), running a window, and the
//!   pane-merging plan of hopping windows.
//! * [`alert`]: result rows to overflow events, then alerts (through the same postoverflows and
//!   one-alert-per-source path as bucket scenarios).
//!
//! A query that fails at run time (division by zero, a bad cast) is logged with the scenario
//! and the window, counted (`palisade_detect_sql_errors_total`), and the window is dropped; the
//! pipeline goes on.

pub mod accumulate;
pub mod alert;
pub mod engine;
pub mod plan;
pub mod select;
pub mod spec;
pub mod window;

pub use engine::{event_time, SqlEngine};
use palisade_expr::{Context, Program};
use palisade_runtime::config::{ConfigError, YamlDoc};
use palisade_runtime::metrics::MetricDef;
use palisade_schemas::duration::{format_go_duration, parse_go_duration};
use palisade_schemas::Event;
use plan::{PlanError, SqlPlan};
pub use select::{Partition, Selector};
pub use spec::SqlScenarioSpec;
use std::sync::Arc;
use window::{KeyColumn, WindowKind};

/// The default of [`SqlScenario::max_window_events`] (`scenarios.sql_max_window_events`).
pub const DEFAULT_MAX_WINDOW_EVENTS: usize = 1_000_000;

/// Queries run, per scenario.
pub static SQL_QUERIES: MetricDef = MetricDef::counter(
    "palisade_detect_sql_queries_total",
    "Queries run for SQL scenarios, per scenario (sessions closing together share one).",
);
/// Windows of SQL scenarios evaluated.
pub static SQL_WINDOWS: MetricDef = MetricDef::counter(
    "palisade_detect_sql_windows_total",
    "Windows of SQL scenarios evaluated, per scenario.",
);
/// Events dropped because every window they belong to was closed.
pub static SQL_LATE: MetricDef = MetricDef::counter(
    "palisade_detect_sql_late_events_total",
    "Events a SQL scenario dropped because every window they belong to had closed.",
);
/// Windows whose query failed at run time.
pub static SQL_ERRORS: MetricDef = MetricDef::counter(
    "palisade_detect_sql_errors_total",
    "Windows of SQL scenarios whose query failed at run time (logged, dropped).",
);

/// Events dropped because a scenario's open windows held `max_window_events` already.
pub static SQL_DROPPED: MetricDef = MetricDef::counter(
    "palisade_detect_sql_dropped_events_total",
    "Events a SQL scenario dropped because its open windows held sql_max_window_events already.",
);

/// A loaded, planned SQL scenario.
#[derive(Debug)]
pub struct SqlScenario {
    pub(crate) name: String,
    pub(crate) file: String,
    pub(crate) hash: String,
    pub(crate) version: String,
    pub(crate) window: WindowKind,
    pub(crate) lateness: i64,
    pub(crate) window_text: String,
    pub(crate) plan: SqlPlan,
    pub(crate) scope: String,
    pub(crate) value_col: usize,
    pub(crate) count_col: Option<usize>,
    pub(crate) meta_cols: Vec<usize>,
    pub(crate) remediation: bool,
    pub(crate) simulated: bool,
    pub(crate) partition: Partition,
    pub(crate) filter: Option<Arc<Program>>,
    pub(crate) max_window_events: usize,
}

impl SqlScenario {
    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The window.
    pub fn window(&self) -> &WindowKind {
        &self.window
    }

    /// What Kafka partitioning this scenario needs.
    pub fn partition(&self) -> &Partition {
        &self.partition
    }

    /// The scenario's `filter` and `partition` key, detached (the Kafka layer re-keys with it).
    pub fn selector(&self) -> Selector {
        let schema = palisade_schemas::arrow::event_schema();
        let read = |name: &str| {
            self.plan
                .event_columns()
                .iter()
                .any(|&i| schema.field(i).name() == name)
        };
        let parsed_key = |k: &KeyColumn| matches!(k, KeyColumn::Parsed(_));
        let keep = select::Keep {
            parsed: read("parsed")
                || matches!(&self.partition, Partition::Key(k) if parsed_key(k))
                || matches!(&self.window, WindowKind::Session { key, .. } if parsed_key(key)),
            line: read("raw") || read("src") || read("module"),
        };
        Selector::new(&self.name, self.partition.clone(), self.filter.clone()).keeping(keep)
    }

    /// The scenario without its `filter`: on the re-keyed stream, where the filter already ran
    /// at the tap and the events are [`Selector::slim`] copies it may no longer be able to read.
    pub fn without_filter(mut self) -> Self {
        self.filter = None;
        self
    }

    /// Whether the scenario's `filter` accepts `e` (always, without a filter).
    pub fn accepts(&self, e: &mut Event) -> bool {
        select::passes(&self.name, self.filter.as_deref(), e)
    }

    /// How far back in event time the scenario's open windows reach: the window (or session
    /// gap) plus the allowed lateness. A Kafka consumer re-reads this much to rebuild them.
    pub fn horizon(&self) -> std::time::Duration {
        let w = match self.window {
            WindowKind::Tumbling { size } | WindowKind::Hopping { size, .. } => size,
            WindowKind::Session { gap, .. } => gap,
        };
        std::time::Duration::from_nanos(w.saturating_add(self.lateness).max(0) as u64)
    }

    /// The most events its open windows hold; past it events are dropped (counted, logged).
    pub fn max_window_events(&self) -> usize {
        self.max_window_events
    }

    /// Sets [`SqlScenario::max_window_events`] (`scenarios.sql_max_window_events`).
    pub fn set_max_window_events(&mut self, max: usize) {
        self.max_window_events = max.max(1);
    }

    /// Whether hopping windows merge per-pane partial aggregates (rather than re-running the
    /// query over every event of the window).
    pub fn merges_panes(&self) -> bool {
        self.plan.is_incremental()
    }
}

/// Where a SQL scenario comes from (for [`compile`]).
pub struct SqlOrigin<'a> {
    /// The YAML document.
    pub doc: &'a YamlDoc,
    /// The whole file's text (to place query errors on the file's lines).
    pub text: &'a str,
    /// SHA-256 of the file.
    pub hash: &'a str,
    /// The version alerts carry.
    pub version: String,
    /// Whether it runs in simulation.
    pub simulated: bool,
    /// The expression context of `filter` (the one bucket scenarios' filters use).
    pub filter_context: &'a Context,
}

/// The file line and column of `(line, col)` of the query, found by locating the query's first
/// line in the file at or after the `query` field.
fn place_in_file(origin: &SqlOrigin<'_>, query: &str, at: (u32, u32)) -> (u32, u32) {
    let (fl, fc) = origin.doc.position("query").unwrap_or((1, 1));
    let first = query.lines().next().unwrap_or("").trim();
    let lines: Vec<&str> = origin.text.lines().collect();
    for (i, l) in lines.iter().enumerate().skip(fl.saturating_sub(1) as usize) {
        if let Some(idx) = (!first.is_empty()).then(|| l.find(first)).flatten() {
            let line = i as u32 + at.0;
            // Inline scalars start after the key; block scalars have the indent of their
            // first line on every line.
            let indent = idx as u32;
            return (line, indent + at.1);
        }
    }
    (fl, fc)
}

fn duration(
    doc: &YamlDoc,
    path: &str,
    text: &str,
    required: bool,
    name: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<i64> {
    if text.is_empty() {
        if required {
            errors.push(doc.error(path, format!("scenario {name}: {path} is required")));
            return None;
        }
        return Some(0);
    }
    match parse_go_duration(text) {
        Ok(d) if d.num_nanoseconds().is_some_and(|n| n >= 0) => d.num_nanoseconds(),
        Ok(_) => {
            errors.push(doc.error(
                path,
                format!("scenario {name}: {path} must not be negative"),
            ));
            None
        }
        Err(e) => {
            errors.push(doc.error(
                path,
                format!("scenario {name}: invalid {path} '{text}': {e}"),
            ));
            None
        }
    }
}

fn window_of(
    doc: &YamlDoc,
    spec: &SqlScenarioSpec,
    errors: &mut Vec<ConfigError>,
) -> Option<(WindowKind, i64)> {
    let w = &spec.window;
    let name = spec.name.as_str();
    let before = errors.len();
    let lateness = duration(
        doc,
        "window.allowed_lateness",
        &w.allowed_lateness,
        false,
        name,
        errors,
    );
    let positive = |v: Option<i64>, path: &str, errors: &mut Vec<ConfigError>| match v {
        Some(0) => {
            errors.push(doc.error(
                path,
                format!("scenario {name}: {path} must be more than 0s"),
            ));
            None
        }
        v => v,
    };
    let kind = match w.kind.as_str() {
        "tumbling" => {
            let size = duration(doc, "window.size", &w.size, true, name, errors);
            positive(size, "window.size", errors).map(|size| WindowKind::Tumbling { size })
        }
        "hopping" => {
            let size = duration(doc, "window.size", &w.size, true, name, errors);
            let size = positive(size, "window.size", errors);
            let slide = duration(doc, "window.slide", &w.slide, true, name, errors);
            let slide = positive(slide, "window.slide", errors);
            match (size, slide) {
                (Some(size), Some(slide)) if size % slide != 0 => {
                    errors.push(doc.error(
                        "window.slide",
                        format!("scenario {name}: window.size must be a multiple of window.slide"),
                    ));
                    None
                }
                (Some(size), Some(slide)) => Some(WindowKind::Hopping { size, slide }),
                _ => None,
            }
        }
        "session" => {
            let gap = duration(doc, "window.gap", &w.gap, true, name, errors);
            let gap = positive(gap, "window.gap", errors);
            let key = KeyColumn::parse(&w.key);
            if key.is_none() {
                errors.push(doc.error(
                    "window.key",
                    format!(
                        "scenario {name}: window.key must be an events column (source_ip, \
                         log_type, service, country, asn, as_org, label_type) or meta.K / parsed.K, got '{}'",
                        w.key
                    ),
                ));
            }
            gap.zip(key)
                .map(|(gap, key)| WindowKind::Session { gap, key })
        }
        other => {
            errors.push(doc.error(
                "window.type",
                format!("scenario {name}: window.type must be tumbling, hopping or session, got '{other}'"),
            ));
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    Some((kind?, lateness?))
}

/// Checks and plans a SQL scenario; every problem is pushed to `errors`, located.
pub fn compile(
    origin: SqlOrigin<'_>,
    spec: SqlScenarioSpec,
    errors: &mut Vec<ConfigError>,
) -> Option<SqlScenario> {
    let doc = origin.doc;
    let name = spec.name.clone();
    let before = errors.len();
    let window = window_of(doc, &spec, errors);
    let partition = match spec.partition.as_str() {
        "" | "source_ip" => Some(Partition::SourceIp),
        "global" => Some(Partition::Global),
        k => match KeyColumn::parse(k) {
            Some(k) => Some(Partition::Key(k)),
            None => {
                errors.push(doc.error(
                    "partition",
                    format!("scenario {name}: partition must be source_ip, global, an events column or meta.K / parsed.K, got '{k}'"),
                ));
                None
            }
        },
    };
    let filter = match spec.filter.trim() {
        "" => None,
        src => match Program::compile(src, origin.filter_context) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                errors.push(doc.error(
                    "filter",
                    format!("scenario {name}: invalid filter: {e} in expression {src:?}"),
                ));
                None
            }
        },
    };
    if spec.query.trim().is_empty() {
        errors.push(doc.error("query", format!("scenario {name}: query is required")));
        return None;
    }
    let hopping = matches!(
        window,
        Some((WindowKind::Hopping { size, slide }, _)) if size != slide
    );
    let plan = match SqlPlan::new(&spec.query, hopping) {
        Ok(p) => p,
        Err(PlanError { message, at }) => {
            let mut e = doc.error("query", format!("scenario {name}: {message}"));
            if let Some(at) = at {
                let (l, c) = place_in_file(&origin, &spec.query, at);
                e.line = Some(l);
                e.column = Some(c);
            }
            errors.push(e);
            return None;
        }
    };
    let schema = plan.schema();
    let column = |path: &str, col: &str, errors: &mut Vec<ConfigError>| -> Option<usize> {
        match schema.index_of(col) {
            Ok(i) => Some(i),
            Err(_) => {
                let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                errors.push(doc.error(
                    path,
                    format!(
                        "scenario {name}: the query has no result column '{col}' (it has: {})",
                        have.join(", ")
                    ),
                ));
                None
            }
        }
    };
    let value_name = if spec.alert.value.is_empty() {
        "value"
    } else {
        spec.alert.value.as_str()
    };
    let value_col = column("alert.value", value_name, errors);
    if let Some(i) = value_col {
        let t = schema.field(i).data_type();
        if !alert::is_value_type(t) {
            errors.push(doc.error(
                "alert.value",
                format!("scenario {name}: column '{value_name}' is {t}; an alert value must be a string or a list of strings"),
            ));
        }
    }
    let count_col = if spec.alert.count.is_empty() {
        None
    } else {
        let c = column("alert.count", &spec.alert.count, errors);
        if let Some(i) = c {
            let t = schema.field(i).data_type();
            if !alert::is_count_type(t) {
                errors.push(doc.error(
                    "alert.count",
                    format!(
                        "scenario {name}: column '{}' is {t}; a count must be an integer",
                        spec.alert.count
                    ),
                ));
            }
        }
        c
    };
    let scope = if spec.alert.scope.is_empty() {
        "Ip".to_string()
    } else {
        spec.alert.scope.clone()
    };
    if errors.len() > before {
        return None;
    }
    let (window, lateness) = window?;
    let value_col = value_col?;
    let window_text = match &window {
        WindowKind::Tumbling { size } | WindowKind::Hopping { size, .. } => {
            format_go_duration(chrono::TimeDelta::nanoseconds(*size))
        }
        WindowKind::Session { gap, .. } => format_go_duration(chrono::TimeDelta::nanoseconds(*gap)),
    };
    let meta_cols = (0..schema.fields().len())
        .filter(|&i| i != value_col && Some(i) != count_col)
        .collect();
    Some(SqlScenario {
        name,
        file: doc.file().to_string(),
        hash: origin.hash.to_string(),
        version: origin.version,
        window,
        lateness,
        window_text,
        plan,
        scope,
        value_col,
        count_col,
        meta_cols,
        remediation: spec.labels.get("remediation") == Some(&serde_json::Value::Bool(true)),
        simulated: origin.simulated,
        partition: partition?,
        filter,
        max_window_events: DEFAULT_MAX_WINDOW_EVENTS,
    })
}
