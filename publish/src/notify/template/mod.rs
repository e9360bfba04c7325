//! Notification templates: a small renderer for the subset of Go's `text/template` (with a few
//! sprig functions) that CrowdSec notification `format`s use, so their templates work as they
//! are. A template receives the list of alerts (`.` is a list, like CrowdSec's
//! `[]*models.Alert`; Palisade sends one alert per notification) and its output is the webhook
//! body or the command's standard input. The default, as CrowdSec's http plugin, is
//! [`DEFAULT_FORMAT`]: `{{.|toJson}}`, the JSON array of alerts.
//!
//! Why not `minijinja` or another engine: CrowdSec's formats are Go templates
//! (`{{range .}}{{.Source.IP}}{{end}}`, `{{.|toJson}}`, `{{$alert := .}}`); a Jinja engine
//! would make every user rewrite them, and the subset they use is small.
//!
//! # Syntax
//!
//! * Text is copied; actions are `{{ ... }}`. `{{- ` trims the white space before the action,
//!   ` -}}` the white space after it. `{{/* comment */}}` prints nothing.
//! * Values: `.` (the current value), `.Field.Sub` (a field of `.`), `$` (the whole data),
//!   `$x`, `$x.Field`, `"strings"` (with `\n \t \" \\` escapes), `` `raw strings` ``, numbers,
//!   `true`, `false`, `nil`, `(pipeline)` and `(pipeline).Field`.
//! * Fields use Go's names as on CrowdSec's models (`.Source.IP`, `.MachineID`, `.EventsCount`,
//!   `.Decisions`, `.Type`, `.Value`, `.Duration`, `.Scenario`, `.Source.Cn`, ...); the JSON
//!   names (`.machine_id`) work too. A missing field is nil; nil prints as nothing.
//! * Pipelines: `cmd arg arg | cmd arg`: the value of each command is the last argument of the
//!   next. Commands are function calls (`printf "%s" .Value`) or a single value.
//! * `{{$x := pipeline}}` declares, `{{$x = pipeline}}` assigns; variables live until the
//!   `{{end}}` of the block that declared them.
//! * `{{if p}} ... {{else if p}} ... {{else}} ... {{end}}`; `{{with p}} ... {{else with p}}
//!   ... {{else}} ... {{end}}` (sets `.`); `{{range p}} ... {{else}} ... {{end}}` and
//!   `{{range $i, $e := p}}` over lists, maps (sorted keys) and integers. Truth is Go's: false,
//!   0, "", nil, empty lists and maps are false.
//! * Not supported: `define`, `template`, `block`, `break`, `continue`, methods on values,
//!   character constants.
//!
//! # Functions
//!
//! Go: `and or not eq ne lt le gt ge len index print printf println html urlquery`.
//! sprig: `toJson toRawJson toPrettyJson toString lower upper title trim trimPrefix trimSuffix
//! replace contains hasPrefix hasSuffix quote squote join default empty coalesce add sub mul`.
//! CrowdSec: `GetMeta alert "key"` (the values of `key` in the alert's events), `HTMLEscape`,
//! `Hostname`.

mod exec;
mod funcs;
mod parse;

use palisade_schemas::Alert;
use serde_json::Value as Json;

/// The default format: the JSON array of the alerts (CrowdSec's http plugin default).
pub const DEFAULT_FORMAT: &str = "{{.|toJson}}";

/// A template that cannot be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template line {line}: {message}")]
pub struct TemplateError {
    /// The 1-based line of the action at fault.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            source: source.to_string(),
            nodes: parse::parse(source)?,
        })
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the template with `data` as `.`.
    pub fn render(&self, data: &Json) -> Result<String, TemplateError> {
        let mut exec = exec::Exec::new(data);
        exec.walk(&self.nodes, data)?;
        Ok(exec.out)
    }

    /// Renders the template for a list of alerts, in the Local API JSON shape.
    pub fn render_alerts(&self, alerts: &[Alert]) -> Result<String, TemplateError> {
        // Through text, so that f32 coordinates read back as written (50.6, not 50.5999...).
        let data = serde_json::to_string(alerts)
            .and_then(|s| serde_json::from_str::<Json>(&s))
            .map_err(|e| TemplateError {
                line: 0,
                message: format!("alerts as JSON: {e}"),
            })?;
        self.render(&data)
    }
}

#[cfg(test)]
mod tests;
