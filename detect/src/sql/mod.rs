//! SQL scenarios (`type: sql`): analysts' detections written as a query over the table `events`,
//! run by DataFusion once per event-time window when the window closes.
//!
//! ```text
//! Event ──► Assigner (pane / session, watermark) ──Arrow batches──► SqlPlan (DataFusion) ──rows──► overflow Event ──► DetectStage
//! ```
//!
//! * [`spec`]: the YAML (`window`, `query`, `alert`, `labels`, `partition`).
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
pub mod plan;
pub mod spec;
pub mod window;

use chrono::{DateTime, Utc};
use palisade_runtime::config::{ConfigError, YamlDoc};
use palisade_runtime::metrics::{Counter, MetricDef, Registry};
use palisade_schemas::duration::{format_go_duration, parse_go_duration};
use palisade_schemas::time::parse_rfc3339;
use palisade_schemas::{Event, EventType, ExpectMode};
use plan::{PlanError, SqlPlan};
pub use spec::SqlScenarioSpec;
use window::{Assigner, KeyColumn, Placed, Window, WindowKind};

/// Windows evaluated, per scenario.
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
    })
}

struct Running {
    scenario: SqlScenario,
    raised: Option<alert::Raised>,
    assigner: Assigner,
    mode: ExpectMode,
    windows: Counter,
    late: Counter,
    errors: Counter,
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
                assigner: Assigner::new(s.window.clone(), s.lateness),
                mode: ExpectMode::Live,
                windows: registry.counter(&SQL_WINDOWS, &[("scenario", &s.name)]),
                late: registry.counter(&SQL_LATE, &[("scenario", &s.name)]),
                errors: registry.counter(&SQL_ERRORS, &[("scenario", &s.name)]),
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

    /// Puts a log event in the windows of every scenario (overflow events are not windowed).
    pub fn pour(&mut self, e: &Event, now: DateTime<Utc>) {
        if e.kind != EventType::Log {
            return;
        }
        let t = event_time(e, now);
        for r in &mut self.running {
            r.mode = e.expect_mode;
            match r.assigner.insert(e, t, r.scenario.plan.event_columns()) {
                Ok(Placed::Kept) => {}
                Ok(Placed::Late) => r.late.inc(),
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
        }
    }
}
