//! Profile expressions: `filters` and `duration_expr`, compiled with `palisade_expr` against a
//! context where `Alert` is the alert (`*models.Alert`: `Alert.Remediation`, `Alert.GetScope()`,
//! `Alert.GetValue()`, `Alert.Source.Cn`, `Alert.Events`, ...), plus CrowdSec's decision-store
//! helpers, which profiles use for repeat offenders:
//!
//! | helper | result |
//! |---|---|
//! | `GetDecisionsCount(value)` | decisions ever stored for `value` (still kept: expired ones count until pruned) |
//! | `GetDecisionsSinceCount(value, since)` | the same, created in the last `since` (`"24h"`, `"7d"`) |
//! | `GetActiveDecisionsCount(value)` | decisions for `value` still in force |
//! | `GetActiveDecisionsTimeLeft(value)` | the longest time left among them (a `time.Duration`; 0 if none) |
//!
//! "For `value`" means, as in CrowdSec, a decision whose value contains it: the same address,
//! or a `Range` decision whose network holds the address (or range). Values that are not
//! addresses match exactly (CrowdSec counts 0 for them). As in CrowdSec, a store failure makes
//! the first two count 0 (logged) and the last two fail the evaluation.
//!
//! `palisade_expr` does not know these helpers: each call `GetDecisionsCount(x)` is rewritten,
//! before compiling, into a method call `PalisadeDecisionStore.GetDecisionsCount(x)` on a hidden
//! variable bound at run time to the store ([`DecisionHistory`]); compile errors are mapped back
//! to the line and column of the text as written.

use chrono::{DateTime, TimeDelta, Utc};
use palisade_expr::parser::{self, Expr, ExprKind};
use palisade_expr::{CompileError, Context, EvalError, HostObject, Program, Value, Vars};
use palisade_runtime::config::parse_duration;
use palisade_schemas::duration::format_go_duration;
use palisade_schemas::Alert;

/// The hidden variable the decision-store helpers are called on.
const STORE_VAR: &str = "PalisadeDecisionStore";

/// The decision-store helpers and their number of arguments.
const HELPERS: &[(&str, usize)] = &[
    ("GetDecisionsCount", 1),
    ("GetDecisionsSinceCount", 2),
    ("GetActiveDecisionsCount", 1),
    ("GetActiveDecisionsTimeLeft", 1),
];

/// Past decisions, for the decision-store helpers. [`crate::Store`] implements it.
pub trait DecisionHistory {
    /// How many stored decisions are for `value` (see the module docs), created after
    /// `created_after` when set, still in force at `active_at` when set.
    fn count_decisions(
        &self,
        value: &str,
        created_after: Option<DateTime<Utc>>,
        active_at: Option<DateTime<Utc>>,
    ) -> Result<u64, String>;

    /// The latest `until` among the decisions for `value` in force at `now`.
    fn latest_until(
        &self,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, String>;
}

/// No past decisions: every count is 0 (for evaluating profiles without a store).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHistory;

impl DecisionHistory for NoHistory {
    fn count_decisions(
        &self,
        _: &str,
        _: Option<DateTime<Utc>>,
        _: Option<DateTime<Utc>>,
    ) -> Result<u64, String> {
        Ok(0)
    }

    fn latest_until(&self, _: &str, _: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        Ok(None)
    }
}

/// A compiled profile expression with its text.
#[derive(Debug)]
pub struct ProfileExpr {
    source: String,
    program: Program,
}

impl ProfileExpr {
    /// Compiles `source`; errors are located in `source` as written.
    pub fn compile(source: &str) -> Result<ProfileExpr, CompileError> {
        let ast = parser::parse(source)?;
        let mut calls = Vec::new();
        helper_calls(source, &ast, &mut calls)?;
        calls.sort_unstable();
        calls.dedup();
        let prefix = format!("{STORE_VAR}.");
        let mut text = String::with_capacity(source.len() + calls.len() * prefix.len());
        let mut last = 0;
        for &at in &calls {
            text.push_str(&source[last..at]);
            text.push_str(&prefix);
            last = at;
        }
        text.push_str(&source[last..]);
        let ctx = Context::without_event().declare("Alert").declare(STORE_VAR);
        let program = Program::compile(&text, &ctx)
            .map_err(|e| unshift(e, source, &text, &calls, prefix.len()))?;
        Ok(ProfileExpr {
            source: source.to_string(),
            program,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates against `alert`, the helpers reading `history` at `now`; `f` reads the result.
    pub(crate) fn eval<T>(
        &self,
        alert: &Alert,
        history: &dyn DecisionHistory,
        now: DateTime<Utc>,
        f: impl FnOnce(&Value<'_>) -> T,
    ) -> Result<T, EvalError> {
        let queries = Queries { history, now };
        let mut vars = Vars::new()
            .with_value(Value::Object(alert as &dyn HostObject))
            .with_value(Value::Object(&queries as &dyn HostObject));
        self.program.eval_with(&mut vars, f)
    }

    /// Evaluates a filter: a result that is not a boolean is an error.
    pub(crate) fn eval_bool(
        &self,
        alert: &Alert,
        history: &dyn DecisionHistory,
        now: DateTime<Utc>,
    ) -> Result<bool, String> {
        match self.eval(alert, history, now, |v| v.as_bool().ok_or(v.type_name())) {
            Ok(Ok(b)) => Ok(b),
            Ok(Err(type_name)) => Err(format!(
                "unexpected type {type_name} while running '{}'",
                self.source
            )),
            Err(e) => Err(format!("while running expression {}: {e}", self.source)),
        }
    }

    /// Evaluates a `duration_expr` into its text, as Go's `fmt.Sprint` would write it.
    pub(crate) fn eval_text(
        &self,
        alert: &Alert,
        history: &dyn DecisionHistory,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let text = self
            .eval(alert, history, now, |v| match v {
                Value::Str(s) => Ok(s.to_string()),
                Value::Int(i) => Ok(i.to_string()),
                Value::Duration(ns) => Ok(format_go_duration(TimeDelta::nanoseconds(*ns))),
                other => Err(format!("a duration_expr returned {}", other.type_name())),
            })
            .map_err(|e| e.to_string())?;
        text
    }
}

/// Byte offsets of the helper calls in `e`, checking their number of arguments.
fn helper_calls(src: &str, e: &Expr, out: &mut Vec<usize>) -> Result<(), CompileError> {
    let children: Vec<&Expr> = match &e.kind {
        ExprKind::Nil
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Ident(_)
        | ExprKind::Pointer(_) => Vec::new(),
        ExprKind::Array(items) | ExprKind::Seq(items) => items.iter().collect(),
        ExprKind::Map(entries) => entries.iter().map(|(_, v)| v).collect(),
        ExprKind::Member { obj, .. } => vec![obj],
        ExprKind::Index { obj, index, .. } => vec![obj, index],
        ExprKind::Slice { obj, from, to } => std::iter::once(&**obj)
            .chain(from.as_deref())
            .chain(to.as_deref())
            .collect(),
        ExprKind::Call { name, args } => {
            if let Some(&(_, arity)) = HELPERS.iter().find(|(h, _)| h == name) {
                if args.len() != arity {
                    let which = if args.len() < arity {
                        "not enough"
                    } else {
                        "too many"
                    };
                    let (line, column) = line_col(src, e.pos);
                    return Err(CompileError {
                        line,
                        column,
                        message: format!("{which} arguments to call {name}"),
                    });
                }
                out.push(e.pos);
            }
            args.iter().collect()
        }
        ExprKind::MethodCall { obj, args, .. } => {
            std::iter::once(&**obj).chain(args.iter()).collect()
        }
        ExprKind::Closure(x) | ExprKind::Unary { expr: x, .. } | ExprKind::Chain(x) => vec![x],
        ExprKind::Binary { left, right, .. } => vec![left, right],
        ExprKind::Cond {
            cond,
            then,
            otherwise,
        } => vec![cond, then, otherwise],
        ExprKind::Let { value, body, .. } => vec![value, body],
    };
    children
        .into_iter()
        .try_for_each(|c| helper_calls(src, c, out))
}

/// Maps an error in the rewritten text back to the text as written.
fn unshift(
    mut e: CompileError,
    source: &str,
    rewritten: &str,
    calls: &[usize],
    inserted: usize,
) -> CompileError {
    let r = offset_of(rewritten, e.line, e.column);
    let mut original = r;
    for (k, &at) in calls.iter().enumerate() {
        let start = at + k * inserted;
        if r < start {
            break;
        }
        original = if r < start + inserted {
            at
        } else {
            r - (k + 1) * inserted
        };
    }
    (e.line, e.column) = line_col(source, original);
    e
}

/// The byte offset of a 1-based line and character column.
fn offset_of(text: &str, line: u32, column: u32) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    text[start..]
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(text.len(), |(i, _)| start + i)
}

/// The 1-based line and character column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// The store as the helpers see it during one evaluation.
struct Queries<'a> {
    history: &'a dyn DecisionHistory,
    now: DateTime<Utc>,
}

impl Queries<'_> {
    fn count(
        &self,
        name: &str,
        value: &str,
        since: Option<&str>,
        active: bool,
    ) -> Result<Value<'static>, String> {
        let created_after = match since {
            None => None,
            Some(s) => match parse_duration(s)
                .ok()
                .and_then(|d| TimeDelta::from_std(d).ok())
            {
                Some(d) => Some(self.now - d),
                None => {
                    tracing::error!(since = s, "Failed to parse the since parameter of {name}.");
                    return Ok(Value::Int(0));
                }
            },
        };
        let active_at = active.then_some(self.now);
        match self
            .history
            .count_decisions(value, created_after, active_at)
        {
            Ok(n) => Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX))),
            Err(e) if !active => {
                tracing::error!(value, error = %e, "{name} failed; counting 0.");
                Ok(Value::Int(0))
            }
            Err(e) => Err(format!("{name}: {e}")),
        }
    }

    fn time_left(&self, value: &str) -> Result<Value<'static>, String> {
        let until = self
            .history
            .latest_until(value, self.now)
            .map_err(|e| format!("GetActiveDecisionsTimeLeft: {e}"))?;
        let left = until.map_or(0, |u| {
            (u - self.now).num_nanoseconds().unwrap_or(i64::MAX).max(0)
        });
        Ok(Value::Duration(left))
    }
}

fn str_arg<'v>(args: &'v [Value<'_>], i: usize, name: &str) -> Result<&'v str, String> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(format!(
            "cannot use {} as argument (type string) to call {name}",
            other.type_name()
        )),
        None => Err(format!("not enough arguments to call {name}")),
    }
}

impl HostObject for Queries<'_> {
    fn type_name(&self) -> &'static str {
        "decisions"
    }

    fn field(&self, _: &str) -> Option<Value<'_>> {
        None
    }

    fn call<'s>(&'s self, name: &str, args: &[Value<'s>]) -> Option<Result<Value<'s>, String>> {
        let result = match name {
            "GetDecisionsCount" => {
                str_arg(args, 0, name).and_then(|v| self.count(name, v, None, false))
            }
            "GetDecisionsSinceCount" => str_arg(args, 0, name).and_then(|v| {
                let since = str_arg(args, 1, name)?;
                self.count(name, v, Some(since), false)
            }),
            "GetActiveDecisionsCount" => {
                str_arg(args, 0, name).and_then(|v| self.count(name, v, None, true))
            }
            "GetActiveDecisionsTimeLeft" => str_arg(args, 0, name).and_then(|v| self.time_left(v)),
            _ => return None,
        };
        Some(result)
    }
}
