//! YAML configuration loading with precise errors.
//!
//! A file is parsed once into a JSON-like tree plus an index from each field path
//! (`sources[1].labels.type`) to its line and column. Sections and list items are then
//! deserialised one by one with `serde_path_to_error`, so one bad field does not hide the
//! next: callers collect every [`ConfigError`] and report them together, each as
//! `file:line:column: path: message`.

use serde::de::{DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::fmt;

/// One configuration problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<embedded default>`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// The field path, e.g. `sources[0].labels`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "configuration is invalid ({n} error{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  • {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// Joins a field name onto a path.
pub fn join_key(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

/// Joins a list index onto a path.
pub fn join_index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// A YAML node with its position, as read by serde-saphyr.
enum RawNode {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<RawNode>, Spanned<RawNode>)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawNode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<RawNode, E> {
                Ok(RawNode::Null)
            }
            fn visit_none<E>(self) -> Result<RawNode, E> {
                Ok(RawNode::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
                RawNode::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
                Ok(RawNode::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
                Ok(RawNode::I64(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawNode, E> {
                Ok(RawNode::U64(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
                Ok(RawNode::F64(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
                Ok(RawNode::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
                Ok(RawNode::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<RawNode>>()? {
                    items.push(item);
                }
                Ok(RawNode::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<RawNode>, Spanned<RawNode>>()? {
                    entries.push((k, v));
                }
                Ok(RawNode::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

fn scalar_key(n: &RawNode) -> String {
    match n {
        RawNode::Null => "~".into(),
        RawNode::Bool(b) => b.to_string(),
        RawNode::I64(v) => v.to_string(),
        RawNode::U64(v) => v.to_string(),
        RawNode::F64(v) => v.to_string(),
        RawNode::Str(s) => s.clone(),
        RawNode::Seq(_) | RawNode::Map(_) => "<complex key>".into(),
    }
}

/// A parsed YAML document: its value tree and where each field is.
#[derive(Debug, Clone)]
pub struct YamlDoc {
    file: String,
    root: Value,
    spans: HashMap<String, (u32, u32)>,
}

impl YamlDoc {
    /// Parses one YAML document. A syntax error is returned located.
    pub fn parse(file: impl Into<String>, text: &str) -> Result<YamlDoc, ConfigError> {
        let file = file.into();
        let node: Spanned<RawNode> = serde_saphyr::from_str_with_options(text, Self::options())
            .map_err(|e| Self::syntax_error(&file, &e))?;
        Ok(Self::from_node(file, node))
    }

    /// Parses a multi-document YAML stream (`---` separated, as CrowdSec parser and scenario files
    /// are). Line numbers are those of the whole file. Empty documents are left out.
    pub fn parse_all(file: impl Into<String>, text: &str) -> Result<Vec<YamlDoc>, ConfigError> {
        let file = file.into();
        let nodes: Vec<Option<Spanned<RawNode>>> =
            serde_saphyr::from_multiple_with_options(text, Self::options())
                .map_err(|e| Self::syntax_error(&file, &e))?;
        Ok(nodes
            .into_iter()
            .flatten()
            .filter(|n| !matches!(n.value, RawNode::Null))
            .map(|n| Self::from_node(file.clone(), n))
            .collect())
    }

    fn options() -> serde_saphyr::Options {
        // YAML 1.2 core booleans only: `y`, `yes`, `on` stay strings.
        serde_saphyr::options! { strict_booleans: true }
    }

    fn syntax_error(file: &str, e: &serde_saphyr::Error) -> ConfigError {
        let loc = e.location();
        ConfigError {
            file: file.to_string(),
            line: loc.map(|l| l.line() as u32),
            column: loc.map(|l| l.column() as u32),
            path: String::new(),
            message: first_line(&e.to_string()),
        }
    }

    fn from_node(file: String, node: Spanned<RawNode>) -> YamlDoc {
        let mut spans = HashMap::new();
        spans.insert(
            String::new(),
            (
                node.referenced.line() as u32,
                node.referenced.column() as u32,
            ),
        );
        let root = convert(node.value, "", &mut spans);
        YamlDoc { file, root, spans }
    }

    /// The line and column of a path in the file, when the file contains it.
    pub fn position(&self, path: &str) -> Option<(u32, u32)> {
        self.spans.get(path).copied()
    }

    /// The file name given at parse time.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The whole tree.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// An error at `path`, located at the deepest part of the path the file contains.
    pub fn error(&self, path: &str, message: impl Into<String>) -> ConfigError {
        let (line, column) = self.locate(path);
        ConfigError {
            file: self.file.clone(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
        }
    }

    fn locate(&self, path: &str) -> (Option<u32>, Option<u32>) {
        let mut p = path;
        loop {
            if let Some(&(l, c)) = self.spans.get(p) {
                return (Some(l), Some(c));
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None if !p.is_empty() => p = "",
                None => return (None, None),
            }
        }
    }

    /// Deserialises `value` (found at `path` in this document) into `T`, with a located error.
    pub fn decode<T: DeserializeOwned>(&self, path: &str, value: &Value) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let inner = e.inner().to_string();
            let mut rel = e.path().to_string();
            if rel == "." {
                rel.clear();
            }
            let mut full = if rel.is_empty() {
                path.to_string()
            } else if rel.starts_with('[') {
                format!("{path}{rel}")
            } else {
                join_key(path, &rel)
            };
            // Make sure an unknown field points at the field itself, not its parent.
            if let Some(name) = inner
                .strip_prefix("unknown field `")
                .and_then(|s| s.split('`').next())
            {
                if !full.ends_with(name) {
                    full = join_key(&full, name);
                }
            }
            self.error(&full, inner)
        })
    }

    /// Like [`YamlDoc::decode`], pushing the error into `errors` instead.
    pub fn decode_into<T: DeserializeOwned>(
        &self,
        path: &str,
        value: &Value,
        errors: &mut Vec<ConfigError>,
    ) -> Option<T> {
        match self.decode(path, value) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    }
}

/// The first line of a YAML error, without the location prefix serde-saphyr puts there (the
/// location is reported in our own `file:line:column` form).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((loc, msg)) if loc.contains("column") => msg.to_string(),
        _ => line.to_string(),
    }
}

fn convert(node: RawNode, path: &str, spans: &mut HashMap<String, (u32, u32)>) -> Value {
    match node {
        RawNode::Null => Value::Null,
        RawNode::Bool(b) => Value::Bool(b),
        RawNode::I64(v) => Value::from(v),
        RawNode::U64(v) => Value::from(v),
        RawNode::F64(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        RawNode::Str(s) => Value::String(s),
        RawNode::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let p = join_index(path, i);
                    spans.insert(
                        p.clone(),
                        (
                            item.referenced.line() as u32,
                            item.referenced.column() as u32,
                        ),
                    );
                    convert(item.value, &p, spans)
                })
                .collect(),
        ),
        RawNode::Map(entries) => {
            let mut m = serde_json::Map::new();
            for (k, v) in entries {
                let key = scalar_key(&k.value);
                let p = join_key(path, &key);
                spans.insert(
                    p.clone(),
                    (k.referenced.line() as u32, k.referenced.column() as u32),
                );
                m.insert(key, convert(v.value, &p, spans));
            }
            Value::Object(m)
        }
    }
}

/// Every file under `dir`, recursively, sorted by path.
pub fn files_under(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                walk(&e.path(), out)?;
            } else {
                out.push(e.path());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// The `*.yaml` and `*.yml` files under `dir`, recursively, sorted by path (CrowdSec's rule
/// directories).
pub fn yaml_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = files_under(dir)?;
    files.retain(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"));
    Ok(files)
}

/// Accepts a YAML scalar of any type as a string (`version: 1.2` or `port: 80` into a string
/// field), as Go's YAML decoder does. Use with `#[serde(deserialize_with = "...")]`.
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string, found {other}"
        ))),
    }
}

/// Parses a duration for configuration files: Go syntax (`90s`, `4h`, `1h30m`) plus days (`7d`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (days, rest) = match s.split_once('d') {
        Some((d, rest)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
            (d.parse::<u64>().map_err(|e| e.to_string())?, rest)
        }
        _ => (0, s),
    };
    let rest_d = if rest.is_empty() {
        std::time::Duration::ZERO
    } else {
        let d = palisade_schemas::duration::parse_go_duration(rest).map_err(|e| e.to_string())?;
        d.to_std().map_err(|_| format!("negative duration {s:?}"))?
    };
    Ok(std::time::Duration::from_secs(days * 86_400) + rest_d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        port: u16,
    }

    const TEXT: &str = "top:\n  a: 1\nitems:\n  - name: x\n    port: 80\n  - name: y\n    port: \"eighty\"\n  - name: z\n    prot: 1\n";

    #[test]
    fn every_item_error_has_file_line_and_path() {
        let doc = YamlDoc::parse("conf.yaml", TEXT).unwrap();
        let mut errors = Vec::new();
        let items = doc.root()["items"].as_array().unwrap();
        let ok: Vec<Item> = items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| doc.decode_into(&join_index("items", i), v, &mut errors))
            .collect();
        assert_eq!(ok.len(), 1);
        assert_eq!(errors.len(), 2, "both bad items are reported: {errors:?}");
        assert_eq!(errors[0].path, "items[1].port");
        assert_eq!(errors[0].line, Some(7));
        assert!(errors[0].message.contains("invalid type"), "{}", errors[0]);
        assert_eq!(errors[1].path, "items[2].prot");
        assert_eq!(errors[1].line, Some(9));
        assert!(
            errors[1]
                .to_string()
                .starts_with("conf.yaml:9:5: items[2].prot: unknown field `prot`"),
            "{}",
            errors[1]
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = YamlDoc::parse("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert_eq!(e.file, "bad.yaml");
        assert!(e.line.is_some(), "{e}");
        let e = YamlDoc::parse("b.yaml", "a: x: y\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.yaml:1:5: mapping values are not allowed in this context"
        );
    }

    #[test]
    fn errors_on_missing_paths_fall_back_to_the_parent() {
        let doc = YamlDoc::parse("c.yaml", TEXT).unwrap();
        let e = doc.error("top.b.c", "missing");
        assert_eq!(e.line, Some(1));
        let e = doc.error("items[0].name", "x");
        assert_eq!((e.line, e.column), (Some(4), Some(5)));
    }

    #[test]
    fn multi_document_streams_keep_file_line_numbers() {
        let text = "name: a\nfilter: x\n---\nname: b\nfilter: y\n---\n";
        let docs = YamlDoc::parse_all("p.yaml", text).unwrap();
        assert_eq!(docs.len(), 2, "the empty trailing document is left out");
        assert_eq!(docs[1].root()["name"], "b");
        assert_eq!(docs[1].position("filter"), Some((5, 1)));
        assert_eq!(docs[1].error("filter", "bad").line, Some(5));
    }

    #[test]
    fn config_durations_accept_go_syntax_and_days() {
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * 86_400);
        assert_eq!(parse_duration("1d12h").unwrap().as_secs(), 36 * 3600);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1h").is_err());
    }
}
