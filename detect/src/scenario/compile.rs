//! From a decoded [`ScenarioSpec`] to a [`Scenario`]: durations parsed, every expression
//! compiled in the context it runs in, and the checks CrowdSec makes when it loads a bucket
//! (`LoadBucket`, `BucketType.Validate`, `ScopeType.CompileFilter`). Every problem of a scenario
//! is reported, each located at its field and naming the scenario.
//!
//! Lifetimes (`Leaky.Duration`): leaky `(capacity+1) × leakspeed`; `duration` when set (the
//! bucket is then *timed*: it overflows when the duration has passed since its first event);
//! conditional and bayesian `leakspeed`.

use super::spec::ScenarioSpec;
use super::{BucketKind, Scenario, Scope};
use crate::bucket::bayesian::{BayesCondition, Bayesian};
use crate::bucket::leaky::Limiter;
use palisade_expr::{Context, Program};
use palisade_runtime::config::{join_index, join_key, ConfigError, YamlDoc};
use palisade_schemas::duration::{format_go_duration, parse_go_duration};

/// The expression contexts of scenario fields.
pub struct Contexts {
    /// `evt` only: filter, groupby, distinct, cancel_on, scope.expression.
    pub event: Context,
    /// `evt`, `queue`, `leaky`: condition, bayesian conditions.
    pub condition: Context,
    /// `evt` (unset at run time), `queue`, `signal`, `leaky`: overflow_filter.
    pub overflow: Context,
}

impl Contexts {
    /// The three contexts over one base (data files, stash).
    pub fn new(base: Context) -> Self {
        Contexts {
            condition: base.clone().declare("queue").declare("leaky"),
            overflow: base
                .clone()
                .declare("queue")
                .declare("signal")
                .declare("leaky"),
            event: base,
        }
    }
}

/// Where a scenario comes from.
pub struct Origin<'a> {
    /// The document.
    pub doc: &'a YamlDoc,
    /// SHA-256 of the file.
    pub hash: &'a str,
    /// The version to carry (hub version, or the file's `version`, or `?`).
    pub version: String,
    /// Whether it runs in simulation.
    pub simulated: bool,
}

/// The format constraint of scenarios: `>= 1.0, <= 3.0`. `Err` when the text is not a version.
pub fn format_supported(format: &str) -> Result<bool, String> {
    let f = if format.is_empty() { "1.0" } else { format };
    let mut parts = [0u64; 3];
    let core = f.trim_start_matches('v');
    for (n, p) in core.split('.').enumerate() {
        if n == 3 || p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("failed to parse '{f}'"));
        }
        parts[n] = p.parse().map_err(|_| format!("failed to parse '{f}'"))?;
    }
    Ok(([1, 0, 0]..=[3, 0, 0]).contains(&parts))
}

struct Checker<'a> {
    doc: &'a YamlDoc,
    name: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl Checker<'_> {
    fn err(&mut self, path: &str, msg: impl std::fmt::Display) {
        self.errors.push(
            self.doc
                .error(path, format!("scenario {}: {msg}", self.name)),
        );
    }

    fn duration(&mut self, path: &str, text: &str) -> Option<i64> {
        if text.is_empty() {
            return None;
        }
        match parse_go_duration(text) {
            Ok(d) => d.num_nanoseconds(),
            Err(e) => {
                let reason = match &e {
                    palisade_schemas::SchemaError::Duration { reason, .. } => reason.to_string(),
                    other => other.to_string(),
                };
                self.err(path, format!("invalid {path} '{text}': {reason}"));
                None
            }
        }
    }

    fn expr(&mut self, path: &str, field: &str, src: &str, ctx: &Context) -> Option<Program> {
        if src.is_empty() {
            return None;
        }
        match Program::compile(src, ctx) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(path, format!("invalid {field}: {e} in expression {src:?}"));
                None
            }
        }
    }
}

/// Compiles one scenario document. `None` when it has errors (pushed into `errors`).
pub fn compile(
    origin: Origin<'_>,
    spec: ScenarioSpec,
    ctx: &Contexts,
    errors: &mut Vec<ConfigError>,
) -> Option<Scenario> {
    let before = errors.len();
    let mut c = Checker {
        doc: origin.doc,
        name: &spec.name,
        errors,
    };
    if spec.description.is_empty() {
        c.err("description", "description is mandatory");
    }
    let kind = BucketKind::parse(&spec.kind);
    if kind.is_none() {
        c.err(
            "type",
            format!(
                "unknown bucket type '{}' (expected leaky, trigger, counter, conditional or bayesian)",
                spec.kind
            ),
        );
    }
    let leak = c.duration("leakspeed", &spec.leakspeed);
    let duration = c.duration("duration", &spec.duration);
    let blackhole = if spec.blackhole.is_empty() {
        None
    } else {
        match parse_go_duration(&spec.blackhole)
            .ok()
            .and_then(|d| d.num_nanoseconds())
        {
            Some(d) => Some(d),
            None => {
                c.err(
                    "blackhole",
                    format!("blackhole duration not valid '{}'", spec.blackhole),
                );
                None
            }
        }
    };
    if spec.filter.is_empty() {
        c.err("filter", "missing filter directive");
    }
    let filter = c.expr("filter", "filter", &spec.filter, &ctx.event);
    let groupby = c.expr("groupby", "groupby", &spec.groupby, &ctx.event);
    let distinct = c.expr("distinct", "distinct", &spec.distinct, &ctx.event);
    let cancel_on = c.expr("cancel_on", "cancel_on", &spec.cancel_on, &ctx.event);
    let overflow_filter = c.expr(
        "overflow_filter",
        "overflow_filter",
        &spec.overflow_filter,
        &ctx.overflow,
    );
    let condition = c.expr("condition", "condition", &spec.condition, &ctx.condition);
    let mut conditions = Vec::new();
    for (i, bc) in spec.bayesian_conditions.iter().enumerate() {
        let at = join_key(&join_index("bayesian_conditions", i), "condition");
        if bc.condition.is_empty() {
            c.err(&at, "a bayesian condition needs a condition");
            continue;
        }
        if let Some(program) = c.expr(&at, "bayesian condition", &bc.condition, &ctx.condition) {
            conditions.push(BayesCondition {
                program,
                evil: bc.prob_given_evil,
                benign: bc.prob_given_benign,
                guillotine: bc.guillotine,
            });
        }
    }
    let leak_ns = leak.unwrap_or(0);
    // Type-specific checks (BucketType.Validate).
    let need_leak = |c: &mut Checker<'_>| {
        if spec.leakspeed.is_empty() {
            c.err("leakspeed", "leakspeed is required");
        } else if leak.is_some_and(|l| l <= 0) {
            c.err(
                "leakspeed",
                format!("invalid leakspeed '{}': must be > 0", spec.leakspeed),
            );
        }
    };
    match kind {
        Some(BucketKind::Leaky) => {
            if spec.capacity <= 0 {
                c.err(
                    "capacity",
                    format!("invalid capacity '{}': must be > 0", spec.capacity),
                );
            }
            need_leak(&mut c);
        }
        Some(BucketKind::Trigger) if spec.capacity != 0 => {
            c.err(
                "capacity",
                format!("invalid capacity '{}': must be 0", spec.capacity),
            );
        }
        Some(BucketKind::Trigger) => {}
        Some(BucketKind::Counter) => {
            if spec.capacity != -1 {
                c.err(
                    "capacity",
                    format!("invalid capacity '{}': must be -1", spec.capacity),
                );
            }
            if spec.duration.is_empty() {
                c.err("duration", "duration is required");
            } else if duration.is_some_and(|d| d <= 0) {
                c.err(
                    "duration",
                    format!("invalid duration '{}': must be > 0", spec.duration),
                );
            }
        }
        Some(BucketKind::Conditional) => {
            if spec.capacity != -1 {
                tracing::warn!(scenario = %spec.name, capacity = spec.capacity,
                    "A conditional bucket with a capacity other than -1 may overflow unexpectedly.");
            }
            if spec.condition.is_empty() {
                c.err("condition", "a condition is required");
            }
            need_leak(&mut c);
        }
        Some(BucketKind::Bayesian) => {
            if spec.bayesian_conditions.is_empty() {
                c.err("bayesian_conditions", "bayesian conditions are required");
            }
            if spec.bayesian_prior <= 0.0 || spec.bayesian_prior > 1.0 {
                c.err("bayesian_prior", "invalid prior: must be > 0 and <= 1");
            }
            if spec.bayesian_threshold <= 0.0 || spec.bayesian_threshold > 1.0 {
                c.err(
                    "bayesian_threshold",
                    "invalid threshold: must be > 0 and <= 1",
                );
            }
            if spec.capacity != -1 {
                c.err("capacity", "capacity must be -1");
            }
            // CrowdSec would start a zero-length lifetime timer and crash; refuse instead.
            need_leak(&mut c);
        }
        None => {}
    }
    // ScopeType.CompileFilter.
    let scope_kind = if spec.scope.kind.is_empty() {
        "Ip".to_string()
    } else {
        spec.scope.kind.clone()
    };
    let mut scope_expr = None;
    if scope_kind == "Ip" {
        if !spec.scope.expression.is_empty() {
            c.err("scope.expression", "filter is not allowed for IP scope");
        }
    } else if spec.scope.expression.is_empty() {
        if scope_kind != "Range" {
            c.err(
                "scope.type",
                "filter is mandatory for non-IP, non-Range scope",
            );
        }
    } else {
        scope_expr = c.expr(
            "scope.expression",
            "scope expression",
            &spec.scope.expression,
            &ctx.event,
        );
    }
    if errors.len() > before {
        return None;
    }
    let kind = kind?;
    let filter = filter?;
    let bayesian = (spec.bayesian_threshold != 0.0).then_some(Bayesian {
        prior: spec.bayesian_prior,
        threshold: spec.bayesian_threshold,
        conditions,
    });
    let mut lifetime = 0;
    let mut timed = false;
    if spec.capacity > 0 && leak_ns > 0 {
        lifetime = (spec.capacity + 1).saturating_mul(leak_ns);
    }
    if let Some(d) = duration.filter(|d| *d != 0) {
        lifetime = d;
        timed = true;
    }
    if matches!(kind, BucketKind::Conditional | BucketKind::Bayesian) {
        lifetime = leak_ns;
    }
    let mut qsize = spec.capacity;
    if spec.cache_size > 0 && (spec.cache_size <= spec.capacity || spec.capacity == -1) {
        qsize = spec.cache_size;
    }
    let full_events = condition.is_some() || bayesian.is_some() || overflow_filter.is_some();
    let remediation = spec.labels.get("remediation") == Some(&serde_json::Value::Bool(true));
    Some(Scenario {
        name: spec.name.clone(),
        file: origin.doc.file().to_string(),
        hash: origin.hash.to_string(),
        version: origin.version,
        kind,
        capacity: spec.capacity,
        leakspeed_ns: leak_ns,
        leakspeed_text: format_go_duration(chrono::TimeDelta::nanoseconds(leak_ns)),
        lifetime_ns: lifetime,
        timed,
        queue_limit: usize::try_from(qsize).ok(),
        limiter: Limiter::new(spec.capacity, leak_ns),
        filter,
        groupby,
        distinct,
        cancel_on,
        overflow_filter,
        blackhole_ns: blackhole,
        condition,
        bayesian,
        scope: Scope {
            kind: scope_kind,
            expr: scope_expr,
        },
        reprocess: spec.reprocess,
        remediation,
        simulated: origin.simulated,
        full_events,
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_constraint() {
        assert_eq!(format_supported(""), Ok(true));
        assert_eq!(format_supported("1.0"), Ok(true));
        assert_eq!(format_supported("2"), Ok(true));
        assert_eq!(format_supported("3.0"), Ok(true));
        assert_eq!(format_supported("3.0.1"), Ok(false));
        assert_eq!(format_supported("0.9"), Ok(false));
        assert!(format_supported("one").is_err());
    }
}
