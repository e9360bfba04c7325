//! `UnmarshalJSON`: parses the raw line (`evt.Line.Raw`, not the static's input) as a JSON
//! object into `evt.Unmarshaled`, as CrowdSec's `pkg/parser/enrich_unmarshal.go`. Its top-level
//! keys are merged into what `evt.Unmarshaled` already holds (Go decodes into the existing map).
//! Bad JSON, or JSON that is not an object, sets nothing: the result carries the error (the
//! parser engine logs it, as CrowdSec does) and the method counts it.

use crate::{Enricher, Enrichment};
use palisade_schemas::Event;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `UnmarshalJSON` method.
#[derive(Debug, Default)]
pub struct UnmarshalJson {
    errors: AtomicU64,
}

impl UnmarshalJson {
    /// A new method, its error count at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines that failed to parse so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

impl Enricher for UnmarshalJson {
    fn name(&self) -> &'static str {
        "UnmarshalJSON"
    }

    fn enrich(&self, _input: &str, event: &Event) -> Enrichment {
        let mut out = Enrichment::default();
        match serde_json::from_str::<serde_json::Value>(&event.line.raw) {
            Ok(serde_json::Value::Object(map)) => out.unmarshaled = Some(map),
            // Go decodes `null` into the map by leaving it as is.
            Ok(serde_json::Value::Null) => {}
            Ok(other) => {
                let kind = match other {
                    serde_json::Value::Array(_) => "array",
                    serde_json::Value::String(_) => "string",
                    serde_json::Value::Number(_) => "number",
                    _ => "bool",
                };
                out.error = Some(format!(
                    "could not parse JSON: cannot unmarshal {kind} into an object"
                ));
            }
            Err(e) => out.error = Some(format!("could not parse JSON: {e}")),
        }
        if let Some(e) = &out.error {
            self.errors.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %e, "UnmarshalJSON");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(raw: &str) -> Event {
        let mut e = Event::default();
        e.line.raw = raw.to_string();
        e
    }

    #[test]
    fn parses_the_raw_line_into_unmarshaled() {
        let m = UnmarshalJson::new();
        // (raw line, expected tree or None, error expected)
        let cases: &[(&str, Option<serde_json::Value>, bool)] = &[
            (
                r#"{"a": 1, "b": {"c": [true, null, "x"]}, "ip": "1.2.3.4"}"#,
                Some(json!({"a": 1, "b": {"c": [true, null, "x"]}, "ip": "1.2.3.4"})),
                false,
            ),
            (r#" {"dup": 1, "dup": 2} "#, Some(json!({"dup": 2})), false),
            ("{}", Some(json!({})), false),
            ("null", None, false),
            ("not json", None, true),
            (r#"{"a": 1} trailing"#, None, true),
            ("[1, 2]", None, true),
            ("\"str\"", None, true),
            ("", None, true),
        ];
        let mut errors = 0;
        for (raw, want, err) in cases {
            let got = m.enrich("ignored input", &line(raw));
            assert!(got.fields.is_empty() && got.time.is_none());
            assert_eq!(
                got.unmarshaled.map(serde_json::Value::Object),
                *want,
                "{raw:?}"
            );
            assert_eq!(got.error.is_some(), *err, "{raw:?}: {:?}", got.error);
            errors += usize::from(*err);
        }
        assert_eq!(m.errors(), errors as u64);
    }

    #[test]
    fn merges_top_level_keys_into_the_event() {
        let mut ev = line(r#"{"a": {"new": 1}, "b": 2}"#);
        ev.unmarshaled.insert("a".into(), json!({"old": 0}));
        ev.unmarshaled.insert("keep".into(), json!("k"));
        let e = UnmarshalJson::new().enrich("", &ev);
        assert_eq!(e.apply(&mut ev), None);
        assert_eq!(
            serde_json::Value::Object(ev.unmarshaled),
            json!({"a": {"new": 1}, "b": 2, "keep": "k"})
        );
    }
}
