//! The codec's configuration (`kafka.logs` in palisade.yaml) and its compiled label rules.

use super::envelope::{Decoded, Format};
use super::Codec;
use palisade_schemas::event::ExpectMode;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How to read the logs topic.
///
/// ```yaml
/// format: auto            # auto | raw | json | vector | filebeat | fluentbit | rsyslog
/// fields: {message: msg}  # override where the line, timestamp, host, file, program, pid are
/// labels: {type: syslog}  # labels of every message
/// rules:                  # the first matching rule adds its labels
///   - match: {file: "/var/log/nginx/*access*"}
///     labels: {type: nginx}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodecSpec {
    /// The encoding of messages.
    pub format: Format,
    /// Field paths (dotted) overriding the format's.
    pub fields: FieldMap,
    /// Labels of every message.
    pub labels: BTreeMap<String, String>,
    /// Label rules, first match wins.
    pub rules: Vec<LabelRule>,
}

/// Where an envelope keeps each part; `None` keeps the format's default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMap {
    /// The line.
    pub message: Option<String>,
    /// The timestamp (RFC 3339 text or epoch seconds).
    pub timestamp: Option<String>,
    /// The shipping host.
    pub host: Option<String>,
    /// The file path.
    pub file: Option<String>,
    /// The syslog program.
    pub program: Option<String>,
    /// The process id.
    pub pid: Option<String>,
}

/// Labels for the messages a rule matches.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRule {
    /// What to match; every condition given must hold.
    #[serde(rename = "match")]
    pub when: RuleMatch,
    /// The labels to add.
    pub labels: BTreeMap<String, String>,
}

/// Conditions of a [`LabelRule`]; `file` and `host` are globs, `program` is exact.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleMatch {
    /// The syslog program.
    pub program: Option<String>,
    /// A glob over the file path.
    pub file: Option<String>,
    /// A glob over the shipping host.
    pub host: Option<String>,
    /// The envelope format.
    pub format: Option<Format>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    program: Option<String>,
    file: Option<glob::Pattern>,
    host: Option<glob::Pattern>,
    format: Option<Format>,
    pub(crate) labels: BTreeMap<String, String>,
}

impl CompiledRule {
    pub(crate) fn matches(&self, d: &Decoded) -> bool {
        let glob_ok = |p: &Option<glob::Pattern>, v: &Option<String>| match p {
            None => true,
            Some(p) => v.as_deref().is_some_and(|v| p.matches(v)),
        };
        self.program
            .as_ref()
            .is_none_or(|p| d.program.as_deref() == Some(p.as_str()))
            && glob_ok(&self.file, &d.file)
            && glob_ok(&self.host, &d.host)
            && self.format.is_none_or(|f| d.format == Some(f))
    }
}

impl CodecSpec {
    /// Compiles the spec; errors are (field path, message) pairs relative to this section.
    pub fn compile(&self) -> Result<Codec, Vec<(String, String)>> {
        let mut errs = Vec::new();
        let mut rules = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            let mut glob = |field: &str, v: &Option<String>| {
                v.as_ref().and_then(|g| match glob::Pattern::new(g) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        errs.push((
                            format!("rules[{i}].match.{field}"),
                            format!("bad glob {g:?}: {e}"),
                        ));
                        None
                    }
                })
            };
            let file = glob("file", &r.when.file);
            let host = glob("host", &r.when.host);
            if r.labels.is_empty() {
                errs.push((
                    format!("rules[{i}].labels"),
                    "a rule needs at least one label".into(),
                ));
            }
            rules.push(CompiledRule {
                program: r.when.program.clone(),
                file,
                host,
                format: r.when.format,
                labels: r.labels.clone(),
            });
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Codec {
            format: self.format,
            fields: self.fields.clone(),
            labels: self.labels.clone(),
            rules,
            expect: ExpectMode::TimeMachine,
        })
    }
}
