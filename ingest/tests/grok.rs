//! Grok engine tests driven by files:
//!
//! * `tests/fixtures/grok/<case>/`: `pattern.txt` (the grok pattern), `input.txt` (one input a
//!   line), `expected.json` (per input line, the captures as an object, or `null` for no match;
//!   or `{"error": [substrings]}` when loading or compiling must fail), optional `library.txt`
//!   (`builtin`, the default; `hub`; `empty`) and `patterns/` (a pattern directory loaded with
//!   `load_dir` on top of that library).
//! * The CrowdSec hub conformance set (`shared/conformance/hub`, or `$PALISADE_HUB_DIR`): every
//!   pattern file and every parser grok must compile, and the s00-raw syslog grok must give the
//!   `Parsed` values the hub tests assert. Skipped with a note when the set is absent.

use palisade_ingest::grok::{Grok, GrokError, GrokLibrary};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grok")
}

fn hub_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PALISADE_HUB_DIR").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/hub")),
        Some(PathBuf::from("/work/shared/conformance/hub")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("items/patterns").is_dir())
}

/// grokky's base set, then CrowdSec's pattern directory, as hubtest loads them.
fn hub_library(hub: &Path) -> GrokLibrary {
    let mut library = GrokLibrary::new();
    library.load_dir(hub.join("items/patterns-base")).unwrap();
    library.load_dir(hub.join("items/patterns")).unwrap();
    library
}

fn captures_json(grok: &Grok, input: &str) -> Value {
    match grok.captures(input) {
        None => Value::Null,
        Some(c) => Value::Object(
            c.iter()
                .map(|(k, v)| (k.to_string(), Value::from(v)))
                .collect(),
        ),
    }
}

/// Runs one fixture; `Ok(false)` if it was skipped.
fn run_fixture(dir: &Path) -> Result<bool, String> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let expected: Value = serde_json::from_str(&read("expected.json").ok_or("no expected.json")?)
        .map_err(|e| format!("expected.json: {e}"))?;
    let mut library = match read("library.txt").as_deref().map(str::trim) {
        None | Some("builtin") => GrokLibrary::builtin(),
        Some("empty") => GrokLibrary::new(),
        Some("hub") => match hub_dir() {
            Some(hub) => hub_library(&hub),
            None => {
                println!(
                    "note: {}: hub conformance set absent, skipped",
                    dir.display()
                );
                return Ok(false);
            }
        },
        Some(other) => return Err(format!("unknown library {other:?}")),
    };
    let pattern = read("pattern.txt").ok_or("no pattern.txt")?;
    let pattern = pattern.strip_suffix('\n').unwrap_or(&pattern);
    let compiled: Result<Grok, GrokError> = (|| {
        if dir.join("patterns").is_dir() {
            library.load_dir(dir.join("patterns"))?;
        }
        Grok::compile(&library, pattern)
    })();

    if let Some(wanted) = expected.get("error") {
        let error = match compiled {
            Ok(_) => return Err("compiled, but an error was expected".to_string()),
            Err(e) => e.to_string(),
        };
        let wanted: Vec<&str> = match wanted {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err("bad error expectation".to_string()),
        };
        for w in wanted {
            if !error.contains(w) {
                return Err(format!("error {error:?} does not contain {w:?}"));
            }
        }
        return Ok(true);
    }
    let grok = compiled.map_err(|e| e.to_string())?;
    let input = read("input.txt").ok_or("no input.txt")?;
    let lines: Vec<&str> = input
        .strip_suffix('\n')
        .unwrap_or(&input)
        .split('\n')
        .collect();
    let expected = expected.as_array().ok_or("expected.json: not an array")?;
    if expected.len() != lines.len() {
        return Err(format!(
            "{} inputs, {} expectations",
            lines.len(),
            expected.len()
        ));
    }
    let mut failures = Vec::new();
    for (line, want) in lines.iter().zip(expected) {
        let got = captures_json(&grok, line);
        if &got != want {
            failures.push(format!(
                "  input {line:?}\n    expected {want}\n    got      {got}"
            ));
        }
        // is_match agrees with captures, and the prefilter never rejects a match.
        if grok.is_match(line) != got.is_object() {
            failures.push(format!(
                "  input {line:?}: is_match disagrees with captures"
            ));
        }
        if got.is_object() && grok.prefilter().is_some_and(|p| !p.may_match(line)) {
            failures.push(format!(
                "  input {line:?}: prefilter rejects a matching line"
            ));
        }
    }
    if failures.is_empty() {
        Ok(true)
    } else {
        Err(failures.join("\n"))
    }
}

#[test]
fn grok_fixtures() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 20, "fixtures missing");
    let mut failed = Vec::new();
    let mut ran = 0;
    for dir in &dirs {
        match run_fixture(dir) {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(e) => failed.push(format!(
                "{}:\n{e}",
                dir.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    assert!(
        failed.is_empty(),
        "{} grok fixture(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    println!("{ran} grok fixtures passed");
}

// --- Hub conformance -----------------------------------------------------------------------

/// A YAML value that keeps map order (`pattern_syntax` order matters).
#[derive(Debug, Clone)]
enum Yaml {
    Scalar(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    Null,
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Yaml;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
                Ok(Yaml::Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
                Ok(Yaml::Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
                Ok(Yaml::Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
                Ok(Yaml::Scalar(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
                Ok(Yaml::Scalar(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
                Ok(Yaml::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
                Ok(Yaml::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
                Yaml::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Yaml, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(Yaml::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Yaml, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = a.next_entry::<Yaml, Yaml>()? {
                    entries.push((k.as_str().unwrap_or_default().to_string(), v));
                }
                Ok(Yaml::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// The parser and postoverflow files of the hub set, in CrowdSec's load order.
fn hub_parser_files(hub: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["parsers", "postoverflows"] {
        let mut stack = vec![hub.join("items").join(kind)];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

#[derive(Default)]
struct GrokCounts {
    syntax_added: usize,
    syntax_redefined: usize,
    patterns: usize,
    names: usize,
    fields: usize,
}

/// Adds a node's `pattern_syntax` and compiles its grok, then its children, as CrowdSec does.
fn compile_node(
    library: &mut GrokLibrary,
    node: &Yaml,
    file: &str,
    counts: &mut GrokCounts,
    errors: &mut Vec<String>,
) {
    if let Some(Yaml::Map(syntax)) = node.get("pattern_syntax") {
        for (name, def) in syntax {
            match library.add(name, def.as_str().unwrap_or_default()) {
                Ok(true) => counts.syntax_added += 1,
                Ok(false) => counts.syntax_redefined += 1,
                Err(e) => errors.push(format!("{file}: pattern_syntax {name}: {e}")),
            }
        }
    }
    if let Some(grok) = node.get("grok") {
        let compiled = if let Some(pattern) = grok.get("pattern").and_then(Yaml::as_str) {
            counts.patterns += 1;
            Some(Grok::compile(library, pattern))
        } else if let Some(name) = grok.get("name").and_then(Yaml::as_str) {
            counts.names += 1;
            Some(Grok::compile_named(library, name))
        } else {
            None
        };
        match compiled {
            Some(Ok(g)) => counts.fields += g.field_names().len(),
            Some(Err(e)) => errors.push(format!("{file}: {e}")),
            None => {}
        }
    }
    if let Some(Yaml::Seq(children)) = node.get("nodes") {
        for child in children {
            compile_node(library, child, file, counts, errors);
        }
    }
}

#[test]
fn grok_hub_pattern_files_all_compile() {
    let Some(hub) = hub_dir() else {
        println!("note: hub conformance set absent, grok_hub_pattern_files_all_compile skipped");
        return;
    };
    let started = std::time::Instant::now();
    let library = hub_library(&hub);
    let loaded = started.elapsed();
    // grokky's 88 built-ins and CrowdSec's pattern directory.
    assert!(library.len() >= 390, "only {} hub patterns", library.len());
    let mut errors = Vec::new();
    for name in library.names() {
        if let Err(e) = Grok::compile_named(&library, name) {
            errors.push(e.to_string());
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The largest one (about 1,700 groups once expanded) compiles and matches. Its branches all
    // export `sshd_client_ip`; grok keeps the last one, so an earlier branch yields "" (as in
    // CrowdSec), which is why parsers use the individual SSHD_* patterns.
    let sshd = Grok::compile(&library, "%{SSHD_LOG}").unwrap();
    let line = "Failed password for invalid user pascal from 35.188.49.176 port 53502 ssh2";
    let c = sshd.captures(line).expect("SSHD_LOG matches");
    assert_eq!(c.matched(), line);
    assert_eq!(c.get("sshd_client_ip"), Some(""));
    println!(
        "{} hub grok patterns loaded in {loaded:?}, all compiled in {:?}",
        library.len(),
        started.elapsed() - loaded
    );
}

#[test]
fn grok_hub_parser_groks_all_compile() {
    let Some(hub) = hub_dir() else {
        println!("note: hub conformance set absent, grok_hub_parser_groks_all_compile skipped");
        return;
    };
    let mut library = hub_library(&hub);
    let mut counts = GrokCounts::default();
    let mut errors = Vec::new();
    let files = hub_parser_files(&hub);
    assert!(!files.is_empty());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let docs: Vec<Yaml> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().unwrap().to_string_lossy();
        for doc in &docs {
            compile_node(&mut library, doc, &file, &mut counts, &mut errors);
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(counts.patterns > 0 && counts.syntax_added > 0);
    println!(
        "hub parsers: {} files, {} inline groks, {} named groks ({} fields), {} pattern_syntax added, {} redefinitions",
        files.len(),
        counts.patterns,
        counts.names,
        counts.fields,
        counts.syntax_added,
        counts.syntax_redefined
    );
}

/// Parses Go-quoted assert strings (`\"` and `\\` escapes).
fn unquote(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn grok_hub_syslog_parser_gives_the_asserted_fields() {
    let Some(hub) = hub_dir() else {
        println!("note: hub conformance set absent, grok_hub_syslog_parser_gives_the_asserted_fields skipped");
        return;
    };
    let mut library = hub_library(&hub);
    let parser = hub.join("items/parsers/s00-raw/crowdsecurity/syslog-logs.yaml");
    let docs: Vec<Yaml> =
        serde_saphyr::from_multiple(&std::fs::read_to_string(parser).unwrap()).unwrap();
    let node = docs
        .iter()
        .find(|d| d.get("name").and_then(Yaml::as_str) == Some("crowdsecurity/syslog-logs"))
        .unwrap();
    if let Some(Yaml::Map(syntax)) = node.get("pattern_syntax") {
        for (name, def) in syntax {
            library.add(name, def.as_str().unwrap()).unwrap();
        }
    }
    let Some(Yaml::Seq(children)) = node.get("nodes") else {
        panic!("no children")
    };
    let groks: Vec<Grok> = children
        .iter()
        .map(|c| {
            Grok::compile(
                &library,
                c.get("grok")
                    .unwrap()
                    .get("pattern")
                    .unwrap()
                    .as_str()
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();

    let assert_line = regex::Regex::new(
        r#"^results\["s00-raw"\]\["crowdsecurity/syslog-logs"\]\[(\d+)\]\.(?:Success == (true|false)|Evt\.Parsed\["(\w+)"\] == "((?:[^"\\]|\\.)*)")$"#,
    )
    .unwrap();
    let tests = std::fs::read_to_string(hub.join("tests.txt")).unwrap();
    let (mut checked, mut lines_checked) = (0, 0);
    let mut failures = Vec::new();
    for test in tests.lines().map(str::trim).filter(|t| !t.is_empty()) {
        let dir = hub.join("tests").join(test);
        let config = std::fs::read_to_string(dir.join("config.yaml")).unwrap_or_default();
        let config: Yaml = serde_saphyr::from_str(&config).unwrap_or(Yaml::Null);
        if config.get("log_type").and_then(Yaml::as_str) != Some("syslog") {
            continue;
        }
        let Ok(asserts) = std::fs::read_to_string(dir.join("parser.assert")) else {
            continue;
        };
        let log = config.get("log_file").and_then(Yaml::as_str).unwrap();
        let log = std::fs::read_to_string(dir.join(log)).unwrap();
        // Go's ScanLines drops a trailing \r; empty lines are skipped.
        let lines: Vec<&str> = log
            .lines()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.is_empty())
            .collect();
        let mut expected: BTreeMap<usize, (Option<bool>, BTreeMap<String, String>)> =
            BTreeMap::new();
        for a in asserts.lines() {
            if let Some(c) = assert_line.captures(a.trim()) {
                let entry = expected.entry(c[1].parse().unwrap()).or_default();
                if let Some(s) = c.get(2) {
                    entry.0 = Some(s.as_str() == "true");
                } else {
                    entry.1.insert(c[3].to_string(), unquote(&c[4]));
                }
            }
        }
        for (index, (success, parsed)) in expected {
            let line = lines[index];
            // The node's children in order; the first that matches wins (onsuccess: next_stage).
            let got = groks.iter().find_map(|g| g.captures(line)).map(|c| {
                c.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>()
            });
            if let Some(success) = success {
                if success != got.is_some() {
                    failures.push(format!(
                        "{test}[{index}] success {success}, got {got:?}: {line}"
                    ));
                }
            }
            let got = got.unwrap_or_default();
            for (key, value) in &parsed {
                // `logsource` is overwritten by the node's statics.
                if key == "logsource" {
                    continue;
                }
                checked += 1;
                if got.get(key).map(String::as_str).unwrap_or("") != value {
                    failures.push(format!(
                        "{test}[{index}] {key}: expected {value:?}, got {:?}",
                        got.get(key)
                    ));
                }
            }
            lines_checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 100, "only {checked} values checked");
    println!("hub syslog-logs: {lines_checked} lines, {checked} asserted Parsed values match");
}
