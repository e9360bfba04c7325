//! Loading CrowdSec scenario files into [`Scenarios`]: multi-document YAML decoded strictly,
//! `data:` files loaded (before any expression is compiled, since `File()` resolves at compile
//! time here), every expression compiled once, each scenario checked like CrowdSec checks it.
//! All errors are collected, each as `file:line:column: field: scenario <name>: message`.
//!
//! * `scenario_hash` is the SHA-256 of the file's bytes.
//! * `scenario_version` is the hub version given by the caller for that scenario name
//!   ([`Loader::versions`], what CrowdSec takes from the hub index), else the file's own
//!   `version:` key, else `"?"`.
//! * A document whose `format` is outside `>= 1.0, <= 3.0` is skipped with a warning, as
//!   CrowdSec does; a `format` that is not a version is an error.
//! * A data file that cannot be read is a warning (`File()` then sees nothing), as in CrowdSec;
//!   a `regexp` file with a line that does not compile is an error.

use super::compile::{compile, format_supported, Contexts, Origin};
use super::spec::ScenarioSpec;
use super::Scenarios;
use palisade_expr::{Context, DataFileError, DataFiles, Stash};
use palisade_runtime::config::{join_index, join_key, ConfigError, YamlDoc};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Lists the scenario files under `dir` (`*.yaml`, `*.yml`, recursively), sorted by path.
pub fn collect_dir(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    palisade_runtime::config::yaml_files(dir)
}

/// What loading needs besides the files.
pub struct Loader {
    /// Where `data:` files are (CrowdSec's data dir); `None`: data files are not available.
    pub data_dir: Option<PathBuf>,
    /// Data files loaded so far (shared with parsers); scenario data files are added to it.
    pub data: DataFiles,
    /// The stash `GetFromStash` reads (shared with parsers).
    pub stash: Arc<Stash>,
    /// Names of the scenarios running in simulation.
    pub simulated: HashSet<String>,
    /// Hub versions by scenario name.
    pub versions: HashMap<String, String>,
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new()
    }
}

struct Doc {
    doc: YamlDoc,
    spec: ScenarioSpec,
    hash: Arc<str>,
    /// `type: sql` documents, with the file's text (to place query errors).
    sql: Option<(crate::sql::SqlScenarioSpec, Arc<str>)>,
}

fn file_error(file: &str, message: String) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line: None,
        column: None,
        path: String::new(),
        message,
    }
}

impl Loader {
    /// No data dir, no data, a fresh stash, nothing simulated, no hub version.
    pub fn new() -> Self {
        Loader {
            data_dir: None,
            data: DataFiles::new(),
            stash: Arc::new(Stash::new()),
            simulated: HashSet::new(),
            versions: HashMap::new(),
        }
    }

    /// Sets the data directory.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Loads `files`, in the order given (CrowdSec's load order is the order scenarios are
    /// poured in).
    pub fn load(self, files: &[PathBuf]) -> Result<Scenarios, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut docs = Vec::new();
        for f in files {
            let name = f.display().to_string();
            match std::fs::read(f) {
                Ok(bytes) => parse_docs(&name, &bytes, &mut docs, &mut errors),
                Err(e) => errors.push(file_error(&name, format!("cannot read: {e}"))),
            }
        }
        self.compile(docs, errors)
    }

    /// Loads scenario YAML given as `(file name, text)` pairs (tests, embedded content).
    pub fn load_texts(self, texts: &[(&str, &str)]) -> Result<Scenarios, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut docs = Vec::new();
        for (name, text) in texts {
            parse_docs(name, text.as_bytes(), &mut docs, &mut errors);
        }
        self.compile(docs, errors)
    }

    fn compile(
        mut self,
        docs: Vec<Doc>,
        mut errors: Vec<ConfigError>,
    ) -> Result<Scenarios, Vec<ConfigError>> {
        for d in &docs {
            self.load_data(d, &mut errors);
        }
        let base = Context::event()
            .with_data_files(Arc::new(std::mem::take(&mut self.data)))
            .with_stash(self.stash.clone());
        let ctx = Contexts::new(base);
        let mut list = Vec::new();
        let mut sql = Vec::new();
        let mut names = HashSet::new();
        for d in docs {
            let version = self
                .versions
                .get(&d.spec.name)
                .cloned()
                .or_else(|| (!d.spec.version.is_empty()).then(|| d.spec.version.clone()))
                .unwrap_or_else(|| "?".to_string());
            if !names.insert(d.spec.name.clone()) {
                tracing::warn!(scenario = %d.spec.name, file = %d.doc.file(), "Scenario name loaded twice.");
            }
            if let Some((spec, text)) = d.sql {
                let origin = crate::sql::SqlOrigin {
                    doc: &d.doc,
                    text: &text,
                    hash: &d.hash,
                    version,
                    simulated: self.simulated.contains(&spec.name),
                    filter_context: &ctx.event,
                };
                if let Some(s) = crate::sql::compile(origin, spec, &mut errors) {
                    sql.push(s);
                }
                continue;
            }
            let origin = Origin {
                doc: &d.doc,
                hash: &d.hash,
                version,
                simulated: self.simulated.contains(&d.spec.name),
            };
            if let Some(s) = compile(origin, d.spec, &ctx, &mut errors) {
                list.push(s);
            }
        }
        if errors.is_empty() {
            tracing::info!(count = list.len(), sql = sql.len(), "Loaded scenarios.");
            Ok(Scenarios { list, sql })
        } else {
            Err(errors)
        }
    }

    fn load_data(&mut self, d: &Doc, errors: &mut Vec<ConfigError>) {
        for (i, data) in d.spec.data.iter().enumerate() {
            let at = join_key(&join_index("data", i), "dest_file");
            if data.dest_file.is_empty() {
                tracing::warn!(scenario = %d.spec.name, "A data entry has no dest_file.");
                continue;
            }
            if self.data.lines(&data.dest_file).is_some()
                || self.data.regexps(&data.dest_file).is_some()
            {
                continue;
            }
            let Some(dir) = &self.data_dir else {
                tracing::warn!(scenario = %d.spec.name, file = %data.dest_file,
                    "No data directory configured; File() on it gives nothing.");
                continue;
            };
            match self.data.load(dir, &data.dest_file, &data.kind) {
                Ok(()) => {}
                Err(e @ DataFileError::Regex { .. }) => {
                    errors.push(d.doc.error(&at, format!("scenario {}: {e}", d.spec.name)))
                }
                Err(e) => {
                    tracing::warn!(scenario = %d.spec.name, error = %e, "Data file not loaded.")
                }
            }
        }
    }
}

fn parse_docs(name: &str, bytes: &[u8], docs: &mut Vec<Doc>, errors: &mut Vec<ConfigError>) {
    let hash: Arc<str> = hex::encode(Sha256::digest(bytes)).into();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            errors.push(file_error(name, format!("not UTF-8: {e}")));
            return;
        }
    };
    let parsed = match YamlDoc::parse_all(name, text) {
        Ok(d) => d,
        Err(e) => {
            errors.push(e);
            return;
        }
    };
    for doc in parsed {
        if doc.root().get("type").and_then(|v| v.as_str()) == Some("sql") {
            parse_sql_doc(doc, text, &hash, docs, errors);
            continue;
        }
        let spec = match doc.decode::<ScenarioSpec>("", doc.root()) {
            Ok(s) => s,
            Err(mut e) => {
                if let Some(n) = doc.root().get("name").and_then(|v| v.as_str()) {
                    e.message = format!("scenario {n}: {}", e.message);
                }
                errors.push(e);
                continue;
            }
        };
        if spec.name.is_empty() {
            errors.push(doc.error("name", "nameless scenario: every scenario needs a name"));
            continue;
        }
        match format_supported(&spec.format) {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(scenario = %spec.name, format = %spec.format, file = %name,
                    "Scenario format is not in >= 1.0, <= 3.0; skipped.");
                continue;
            }
            Err(m) => {
                errors.push(doc.error(
                    "format",
                    format!("scenario {}: invalid format: {m}", spec.name),
                ));
                continue;
            }
        }
        docs.push(Doc {
            doc,
            spec,
            hash: hash.clone(),
            sql: None,
        });
    }
}

fn parse_sql_doc(
    doc: YamlDoc,
    text: &str,
    hash: &Arc<str>,
    docs: &mut Vec<Doc>,
    errors: &mut Vec<ConfigError>,
) {
    let spec = match doc.decode::<crate::sql::SqlScenarioSpec>("", doc.root()) {
        Ok(s) => s,
        Err(mut e) => {
            if let Some(n) = doc.root().get("name").and_then(|v| v.as_str()) {
                e.message = format!("scenario {n}: {}", e.message);
            }
            errors.push(e);
            return;
        }
    };
    if spec.name.is_empty() {
        errors.push(doc.error("name", "nameless scenario: every scenario needs a name"));
        return;
    }
    docs.push(Doc {
        doc,
        spec: ScenarioSpec {
            name: spec.name.clone(),
            version: spec.version.clone(),
            ..ScenarioSpec::default()
        },
        hash: hash.clone(),
        sql: Some((spec, text.into())),
    });
}
