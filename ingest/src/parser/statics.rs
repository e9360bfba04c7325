//! Statics (CrowdSec §2.3): each has one destination (`meta`, `parsed`, `enriched`, `target`,
//! `method`) and one source (`value` or `expression`), compiled at load and applied in order.

use super::simple_filter::Field;
use palisade_enrich::Enricher;
use palisade_expr::{Program, Value};
use palisade_schemas::{Event, FieldName};
use std::sync::Arc;

/// Where a static writes.
pub(crate) enum Dest {
    Meta(FieldName),
    Parsed(FieldName),
    Enriched(FieldName),
    Target(Target),
    /// An enrichment method; `None` when the method is unknown (CrowdSec only logs it).
    Method(String, Option<Arc<dyn Enricher>>),
}

/// A `target:` path into the event, resolved at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    StrTime,
    StrTimeFormat,
    MarshaledTime,
    Stage,
    WhitelistReason,
    LineRaw,
    LineSrc,
    LineModule,
    LineLabel(String),
    Parsed(FieldName),
    Meta(FieldName),
    Enriched(FieldName),
    AlertSourceValue,
    AlertSourceScope,
    AlertSourceIp,
    AlertSourceRange,
}

impl Target {
    /// Resolves a dotted path (`evt.StrTime`, `evt.Parsed.x`, `evt.Overflow.Alert.Source.Value`).
    pub(crate) fn parse(path: &str) -> Result<Target, String> {
        let p = path.strip_prefix("evt.").unwrap_or(path);
        let (head, rest) = p.split_once('.').unwrap_or((p, ""));
        let keyed = |f: fn(FieldName) -> Target| {
            if rest.is_empty() {
                Err(format!("target {path:?} needs a key"))
            } else {
                Ok(f(FieldName::interned(rest)))
            }
        };
        match (head, rest) {
            ("StrTime", "") => Ok(Target::StrTime),
            ("StrTimeFormat", "") => Ok(Target::StrTimeFormat),
            ("MarshaledTime", "") => Ok(Target::MarshaledTime),
            ("Stage", "") => Ok(Target::Stage),
            ("WhitelistReason", "") => Ok(Target::WhitelistReason),
            ("Parsed", _) => keyed(Target::Parsed),
            ("Meta", _) => keyed(Target::Meta),
            ("Enriched", _) => keyed(Target::Enriched),
            ("Line", "Raw") => Ok(Target::LineRaw),
            ("Line", "Src") => Ok(Target::LineSrc),
            ("Line", "Module") => Ok(Target::LineModule),
            ("Line", r) if r.starts_with("Labels.") => {
                Ok(Target::LineLabel(r["Labels.".len()..].to_string()))
            }
            ("Overflow", "Alert.Source.Value") => Ok(Target::AlertSourceValue),
            ("Overflow", "Alert.Source.Scope") => Ok(Target::AlertSourceScope),
            ("Overflow", "Alert.Source.IP") => Ok(Target::AlertSourceIp),
            ("Overflow", "Alert.Source.Range") => Ok(Target::AlertSourceRange),
            _ => Err(format!(
                "target {path:?} is not a string field of the event"
            )),
        }
    }

    fn write(&self, evt: &mut Event, v: String) {
        match self {
            Target::StrTime => evt.str_time = v,
            Target::StrTimeFormat => evt.str_time_format = v,
            Target::MarshaledTime => evt.marshaled_time = v,
            Target::Stage => evt.stage = v,
            Target::WhitelistReason => evt.whitelist_reason = v,
            Target::LineRaw => evt.line.raw = v,
            Target::LineSrc => evt.line.src = v,
            Target::LineModule => evt.line.module = v,
            Target::LineLabel(k) => {
                evt.line.labels.insert(k.clone(), v);
            }
            Target::Parsed(k) => {
                evt.parsed.insert(k.clone(), v);
            }
            Target::Meta(k) => {
                evt.meta.insert(k.clone(), v);
            }
            Target::Enriched(k) => {
                evt.enriched.insert(k.clone(), v);
            }
            Target::AlertSourceValue
            | Target::AlertSourceScope
            | Target::AlertSourceIp
            | Target::AlertSourceRange => {
                let Some(ovf) = evt.overflow.as_mut() else {
                    return;
                };
                let alert = ovf.alert.get_or_insert_with(Default::default);
                match self {
                    Target::AlertSourceValue => alert.source.value = v,
                    Target::AlertSourceScope => alert.source.scope = v,
                    Target::AlertSourceIp => alert.source.ip = v,
                    _ => alert.source.range = v,
                }
            }
        }
    }
}

/// Where a static reads.
pub(crate) enum Source {
    Value(String),
    Expr(Program),
    /// An expression that is one string field, read natively (`evt.Parsed.x`; the program is
    /// kept for debug builds, which check both agree).
    Field(Field, Program),
}

impl Source {
    /// The source of `expression: p`: [`Source::Field`] when it is one string field.
    pub(crate) fn expression(p: Program) -> Source {
        match Field::parse_whole(p.source()) {
            Some(f) => Source::Field(f, p),
            None => Source::Expr(p),
        }
    }
}

/// A compiled static.
pub(crate) struct Static {
    pub(crate) dest: Dest,
    pub(crate) source: Source,
    /// An empty value is still applied (only `ParseDate`'s: an empty date falls back to now);
    /// every other static skips it.
    keep_empty: bool,
}

/// Converts an expression result as CrowdSec does: string as is, int with Itoa, float with
/// `%f`, nil skipped; anything else skipped with a warning.
pub(crate) fn value_to_string(v: &Value<'_>) -> Option<String> {
    match v {
        Value::Nil => None,
        _ => {
            if let Some(s) = v.as_str() {
                Some(s.to_string())
            } else if let Some(i) = v.as_int() {
                Some(i.to_string())
            } else {
                v.as_f64().map(|f| format!("{f:.6}"))
            }
        }
    }
}

impl Static {
    pub(crate) fn new(dest: Dest, source: Source) -> Static {
        let keep_empty = matches!(&dest, Dest::Method(m, _) if m == "ParseDate");
        Static {
            dest,
            source,
            keep_empty,
        }
    }

    /// Applies the static to `evt`. Returns a warning to log, if any.
    pub(crate) fn apply(&self, evt: &mut Event) -> Option<String> {
        let value = match &self.source {
            Source::Value(v) if v.is_empty() && !self.keep_empty => return None,
            Source::Value(v) => v.clone(),
            Source::Field(f, p) => {
                let v = f.read(evt).to_string();
                if cfg!(debug_assertions) {
                    let want = p.eval_string(evt).ok();
                    assert_eq!(want.as_ref(), Some(&v), "{:?}", p.source());
                }
                if v.is_empty() && !self.keep_empty {
                    return None;
                }
                v
            }
            // Converted straight from the (borrowed) result: no intermediate owned value.
            Source::Expr(p) => match p.eval_with(evt, |v| match value_to_string(v) {
                Some(s) => Ok(s),
                None if v.is_nil() => Ok(String::new()),
                None => Err(v.type_name()),
            }) {
                Ok(Ok(s)) => s,
                Ok(Err(type_name)) => {
                    return Some(format!(
                        "static expression {:?} gave a {type_name}, skipped",
                        p.source(),
                    ))
                }
                Err(e) => return Some(format!("static expression {:?} failed: {e}", p.source())),
            },
        };
        if value.is_empty() && !self.keep_empty {
            return None;
        }
        match &self.dest {
            Dest::Meta(k) => {
                evt.meta.insert(k.clone(), value);
            }
            Dest::Parsed(k) => {
                evt.parsed.insert(k.clone(), value);
            }
            Dest::Enriched(k) => {
                evt.enriched.insert(k.clone(), value);
            }
            Dest::Target(t) => t.write(evt, value),
            Dest::Method(name, Some(m)) => {
                let out = m.enrich(&value, evt);
                if let Some(err) = out.apply(evt) {
                    return Some(format!("method {name}: {err}"));
                }
            }
            Dest::Method(name, None) => return Some(format!("unknown enrichment method {name}")),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_like_crowdsec_paths() {
        assert_eq!(Target::parse("evt.StrTime").unwrap(), Target::StrTime);
        assert_eq!(
            Target::parse("MarshaledTime").unwrap(),
            Target::MarshaledTime
        );
        assert_eq!(
            Target::parse("evt.Parsed.static_ressource").unwrap(),
            Target::Parsed("static_ressource".into())
        );
        assert_eq!(
            Target::parse("evt.Line.Module").unwrap(),
            Target::LineModule
        );
        assert_eq!(
            Target::parse("evt.Overflow.Alert.Source.Value").unwrap(),
            Target::AlertSourceValue
        );
        assert!(Target::parse("evt.Nope").is_err());
        assert!(Target::parse("evt.Parsed").is_err());
    }

    #[test]
    fn writes_into_an_overflow_alert() {
        let mut e = Event::default();
        Target::AlertSourceScope.write(&mut e, "Range".into());
        assert!(
            e.overflow.is_none(),
            "a log event has no alert to write into"
        );
        e.overflow = Some(Box::default());
        Target::AlertSourceScope.write(&mut e, "Range".into());
        assert_eq!(e.overflow.unwrap().alert.unwrap().source.scope, "Range");
    }
}
