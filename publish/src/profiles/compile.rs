//! Loading `profiles.yaml`: a multi-document YAML stream, one profile per document, in order
//! (CrowdSec's `LoadProfiles` + `NewProfile`). Every problem is collected and reported located:
//!
//! ```text
//! profiles.yaml:9:4: filters[0]: profile ssh: unknown name Alertt (line 1, column 1) in expression "Alertt.Remediation"
//! profiles.yaml:12:14: decisions[0].duration: profile ssh: invalid duration "4x": ...
//! profiles.yaml:15:1: colour: profile ssh: unknown field `colour`, expected one of ...
//! ```
//!
//! The line and column point at the faulty character of an expression in the file (for plain,
//! quoted and block scalars); the message also gives the line and column inside the
//! expression. A file without any profile is an error, as in CrowdSec.

use super::expr::ProfileExpr;
use super::spec::{DecisionSpec, ProfileSpec};
use super::{DecisionTemplate, OnError, OnFailure, OnSuccess, Profile, Profiles};
use palisade_expr::CompileError;
use palisade_runtime::config::{join_index, join_key, parse_duration, ConfigError, YamlDoc};
use palisade_schemas::normalize_scope;
use std::time::Duration;

/// The profiles CrowdSec ships (see [`Profiles::default_profiles`]).
pub const DEFAULT_PROFILES: &str = include_str!("default.yaml");

/// The file name errors in [`DEFAULT_PROFILES`] would name.
pub const DEFAULT_PROFILES_FILE: &str = "<embedded default profiles>";

/// The duration of a decision that does not say (CrowdSec's `defaultDuration`).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(4 * 3600);

impl Profiles {
    /// CrowdSec's shipped `profiles.yaml`: `default_ip_remediation`
    /// (`Alert.Remediation == true && Alert.GetScope() == "Ip"` → `ban` 4h, `on_success: break`)
    /// and `default_range_remediation` (the same for `Range`).
    pub fn default_profiles() -> Profiles {
        match Profiles::load(DEFAULT_PROFILES_FILE, DEFAULT_PROFILES) {
            Ok(p) => p,
            Err(errors) => panic!("the embedded default profiles are invalid: {errors:?}"),
        }
    }

    /// Loads one profiles file (`file` names it in errors).
    pub fn load(file: &str, text: &str) -> Result<Profiles, Vec<ConfigError>> {
        Profiles::load_all(&[(file, text)])
    }

    /// Loads several files as one stream of profiles, in order (CrowdSec prepends
    /// `profiles.yaml.local` to `profiles.yaml`). Each error names its own file.
    pub fn load_all(files: &[(&str, &str)]) -> Result<Profiles, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut profiles = Vec::new();
        for &(file, text) in files {
            let docs = match YamlDoc::parse_all(file, text) {
                Ok(docs) => docs,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            profiles.extend(
                docs.iter()
                    .filter_map(|doc| compile_profile(doc, text, &mut errors)),
            );
        }
        if profiles.is_empty() && errors.is_empty() {
            let file = files.last().map_or("", |f| f.0);
            errors.push(ConfigError {
                file: file.to_string(),
                line: None,
                column: None,
                path: String::new(),
                message: "no profile in the file; at least one is required".into(),
            });
        }
        if errors.is_empty() {
            Ok(Profiles::new(profiles))
        } else {
            Err(errors)
        }
    }
}

/// Compiles one document; `text` is the whole file, to locate expression errors.
pub(crate) fn compile_profile(
    doc: &YamlDoc,
    text: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<Profile> {
    let name = doc
        .root()
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let who = if name.is_empty() {
        "profile: ".to_string()
    } else {
        format!("profile {name}: ")
    };
    let spec: ProfileSpec = match doc.decode("", doc.root()) {
        Ok(spec) => spec,
        Err(mut e) => {
            e.message = format!("{who}{}", e.message);
            errors.push(e);
            return None;
        }
    };
    let before = errors.len();
    let mut fail = |path: &str, msg: String| errors.push(doc.error(path, format!("{who}{msg}")));

    let on_success = match spec.on_success.as_str() {
        "" | "continue" => OnSuccess::Continue,
        "break" => OnSuccess::Break,
        other => {
            fail(
                "on_success",
                format!("invalid on_success {other:?} (break or continue)"),
            );
            OnSuccess::Continue
        }
    };
    let on_failure = match spec.on_failure.as_str() {
        "" | "continue" => OnFailure::Continue,
        "break" => OnFailure::Break,
        "apply" => OnFailure::Apply,
        other => {
            fail(
                "on_failure",
                format!("invalid on_failure {other:?} (break, continue or apply)"),
            );
            OnFailure::Continue
        }
    };
    let on_error = match spec.on_error.as_str() {
        "" => None,
        "apply" => Some(OnError::Apply),
        "continue" => Some(OnError::Continue),
        "break" => Some(OnError::Break),
        "ignore" => Some(OnError::Ignore),
        other => {
            fail(
                "on_error",
                format!("invalid on_error {other:?} (apply, continue, break or ignore)"),
            );
            None
        }
    };
    let decisions: Vec<DecisionTemplate> = spec
        .decisions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| decision(d, &join_index("decisions", i), &mut fail))
        .collect();

    let mut expr = |path: &str, source: &str, key: bool| match ProfileExpr::compile(source) {
        Ok(p) => Some(p),
        Err(e) => {
            let mut err = doc.error(path, format!("{who}{e} in expression {source:?}"));
            if let (Some(line), Some(column)) = (err.line, err.column) {
                let (l, c) = locate(text, line, column, key, &e);
                (err.line, err.column) = (Some(l), Some(c));
            }
            errors.push(err);
            None
        }
    };
    let filters: Vec<ProfileExpr> = spec
        .filters
        .iter()
        .enumerate()
        .filter_map(|(i, f)| expr(&join_index("filters", i), f, false))
        .collect();
    let duration_expr = if spec.duration_expr.trim().is_empty() {
        None
    } else {
        expr("duration_expr", &spec.duration_expr, true)
    };
    let notification_at = (0..spec.notifications.len())
        .map(|i| doc.error(&join_index("notifications", i), ""))
        .collect();
    if errors.len() > before {
        return None;
    }
    Some(Profile {
        name: spec.name,
        filters,
        decisions,
        duration_expr,
        on_success,
        on_failure,
        on_error,
        notifications: spec.notifications,
        debug: spec.debug.unwrap_or(false),
        notification_at,
    })
}

/// Checks one `decisions[]` entry.
fn decision(
    d: &DecisionSpec,
    path: &str,
    fail: &mut impl FnMut(&str, String),
) -> Option<DecisionTemplate> {
    let kind = match d.kind.as_deref().map(str::trim) {
        Some(k) if !k.is_empty() => k.to_string(),
        _ => {
            fail(path, "a decision needs a type (ban, captcha, ...)".into());
            return None;
        }
    };
    let duration = match d.duration.as_deref() {
        None => DEFAULT_DURATION,
        Some(text) => match parse_duration(text) {
            Ok(d) => d,
            Err(e) => {
                fail(
                    &join_key(path, "duration"),
                    format!("invalid duration: {e}"),
                );
                return None;
            }
        },
    };
    Some(DecisionTemplate {
        kind,
        duration,
        scope: d
            .scope
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(normalize_scope),
        origin: match d.origin.as_deref() {
            Some(o) => format!("crowdsec/{o}"),
            None => "crowdsec".into(),
        },
        simulated: d.simulated.unwrap_or(false),
    })
}

/// The file line and column of an expression error, from where the YAML node starts (`line`,
/// `column`: the scalar itself for a list item, its key when `key`) and the position inside
/// the expression. Plain and quoted scalars are read on their first line; `|` and `>` block
/// scalars from their first content line (where the YAML reader places list items that are
/// block scalars). When the layout is not understood, the node's
/// position is kept.
fn locate(text: &str, line: u32, column: u32, key: bool, e: &CompileError) -> (u32, u32) {
    let keep = (line, column);
    let Some(raw) = text.lines().nth(line.saturating_sub(1) as usize) else {
        return keep;
    };
    let chars: Vec<char> = raw.chars().collect();
    let mut at = column.saturating_sub(1) as usize;
    if key {
        // Skip `key:` and the blanks after it.
        let Some(colon) = (at..chars.len())
            .find(|&i| chars[i] == ':' && chars.get(i + 1).is_none_or(|c| c.is_whitespace()))
        else {
            return keep;
        };
        at = colon + 1;
        while chars.get(at).is_some_and(|c| *c == ' ' || *c == '\t') {
            at += 1;
        }
    }
    let first_col = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
    match chars.get(at) {
        Some('|' | '>') => {
            let Some((offset, indent)) = text
                .lines()
                .skip(line as usize)
                .enumerate()
                .find(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| (i, l.len() - l.trim_start().len()))
            else {
                return keep;
            };
            let first = line + 1 + u32::try_from(offset).unwrap_or(0);
            (
                first + e.line - 1,
                u32::try_from(indent).unwrap_or(0) + e.column,
            )
        }
        Some('"' | '\'') if e.line == 1 => (line, first_col(at) + 1 + e.column),
        Some(c) if *c != '#' && e.line == 1 => (line, first_col(at) + e.column),
        // A block scalar of a list item: the node starts at its first content line.
        Some(_) if chars[..at].iter().all(|c| c.is_whitespace()) => {
            (line + e.line - 1, first_col(at) + e.column)
        }
        _ => keep,
    }
}
