//! Loading CrowdSec parser files into a [`ParserSet`]: strict YAML, the stage taken from the
//! directory, `pattern_syntax` added to the shared grok table, `data:` files loaded, every
//! expression and grok compiled once. All errors are collected, each naming the file, the line,
//! the field path and (for expressions) the node and the column inside the expression.

use super::engine::ParserSet;
use super::node::{GrokInput, GrokNode, Node, StashWrite};
use super::simple_filter::SimpleFilter;
use super::spec::{NodeSpec, StaticSpec};
use super::statics::{Dest, Source, Static, Target};
use super::whitelist::{Cidr, Whitelist};
use crate::grok::{Grok, GrokLibrary};
use palisade_expr::{Context, DataFiles, Program, Stash};
use palisade_runtime::config::{join_index, join_key, ConfigError, YamlDoc};
use palisade_schemas::FieldName;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One parser file and the stage it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserFile {
    /// `s00-raw`, `s01-parse`, `s02-enrich` (or a postoverflow stage).
    pub stage: String,
    /// The file.
    pub path: PathBuf,
}

/// Lists the parser files of a CrowdSec-style directory (`<dir>/<stage>/**/*.yaml`), sorted by
/// path; the stage is the first directory level.
pub fn collect_dir(dir: &Path) -> std::io::Result<Vec<ParserFile>> {
    let mut out = Vec::new();
    for stage in std::fs::read_dir(dir)? {
        let stage = stage?;
        if !stage.file_type()?.is_dir() {
            continue;
        }
        let name = stage.file_name().to_string_lossy().to_string();
        let files = palisade_runtime::config::yaml_files(&stage.path())?;
        out.extend(files.into_iter().map(|path| ParserFile {
            stage: name.clone(),
            path,
        }));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// What loading needs besides the files.
pub struct Loader<'a> {
    /// The grok table (built-ins, pattern dir); `pattern_syntax` definitions are added to it.
    pub grok: &'a mut GrokLibrary,
    /// Where `data:` files are (CrowdSec's data dir); `None` means data files are not available.
    pub data_dir: Option<&'a Path>,
    /// Enrichment methods for `method:` statics.
    pub enrichers: &'a palisade_enrich::Registry,
    /// Data files loaded so far (shared with scenarios later).
    pub data: DataFiles,
    /// The stash shared by `stash:` writes and `GetFromStash`.
    pub stash: Arc<Stash>,
}

struct Doc {
    stage: String,
    doc: YamlDoc,
    spec: NodeSpec,
}

impl<'a> Loader<'a> {
    /// A loader with no data file and a fresh stash.
    pub fn new(grok: &'a mut GrokLibrary, enrichers: &'a palisade_enrich::Registry) -> Self {
        Loader {
            grok,
            data_dir: None,
            enrichers,
            data: DataFiles::new(),
            stash: Arc::new(Stash::new()),
        }
    }

    /// Loads `files` (in the order given) into a parser set.
    pub fn load(mut self, files: &[ParserFile]) -> Result<ParserSet, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut docs = Vec::new();
        for f in files {
            let name = f.path.display().to_string();
            let text = match std::fs::read_to_string(&f.path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(file_error(&name, format!("cannot read: {e}")));
                    continue;
                }
            };
            self.parse_docs(&f.stage, &name, &text, &mut docs, &mut errors);
        }
        self.compile(docs, errors)
    }

    /// Loads parser YAML given as text (tests, embedded content).
    pub fn load_texts(
        mut self,
        texts: &[(&str, &str, &str)],
    ) -> Result<ParserSet, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut docs = Vec::new();
        for (stage, name, text) in texts {
            self.parse_docs(stage, name, text, &mut docs, &mut errors);
        }
        self.compile(docs, errors)
    }

    fn parse_docs(
        &mut self,
        stage: &str,
        name: &str,
        text: &str,
        docs: &mut Vec<Doc>,
        errors: &mut Vec<ConfigError>,
    ) {
        let parsed = match YamlDoc::parse_all(name, text) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                return;
            }
        };
        for doc in parsed {
            let Some(spec) = doc.decode_into::<NodeSpec>("", doc.root(), errors) else {
                continue;
            };
            if spec.name.is_empty() && spec.description.is_empty() && spec.author.is_empty() {
                tracing::debug!(file = %name, "Skipping a parser document with no name, description or author.");
                continue;
            }
            if !format_ok(&spec.format) {
                errors.push(doc.error(
                    "format",
                    format!(
                        "unsupported format {:?}: must be >=1.0 and <=3.0",
                        spec.format
                    ),
                ));
                continue;
            }
            docs.push(Doc {
                stage: stage.to_string(),
                doc,
                spec,
            });
        }
    }

    fn compile(
        mut self,
        docs: Vec<Doc>,
        mut errors: Vec<ConfigError>,
    ) -> Result<ParserSet, Vec<ConfigError>> {
        // Pattern definitions and data files first: expressions and groks depend on them.
        for d in &docs {
            self.add_patterns(&d.doc, "", &d.spec, &mut errors);
            self.load_data(&d.doc, "", &d.spec, &mut errors);
        }
        let data = std::mem::take(&mut self.data);
        let ctx = Context::event()
            .with_data_files(Arc::new(data))
            .with_stash(self.stash.clone());
        let mut c = Compiler {
            grok: self.grok,
            enrichers: self.enrichers,
            ctx: &ctx,
            stash: &self.stash,
            groks: HashMap::new(),
            errors: &mut errors,
        };
        let mut stages: Vec<(String, Vec<Node>)> = Vec::new();
        for d in &docs {
            if let Some(node) = c.node(&d.doc, "", &d.spec, "") {
                match stages.iter_mut().find(|(s, _)| *s == d.stage) {
                    Some((_, nodes)) => nodes.push(node),
                    None => stages.push((d.stage.clone(), vec![node])),
                }
            }
        }
        if errors.is_empty() {
            Ok(ParserSet::new(stages, self.stash))
        } else {
            Err(errors)
        }
    }

    fn add_patterns(
        &mut self,
        doc: &YamlDoc,
        path: &str,
        spec: &NodeSpec,
        errors: &mut Vec<ConfigError>,
    ) {
        // A definition may use one defined later in the same map: add in dependency order.
        let mut pending: Vec<(&String, String)> = Vec::new();
        for (name, v) in &spec.pattern_syntax {
            match v.as_str() {
                Some(s) => pending.push((name, s.to_string())),
                None => errors.push(doc.error(
                    &join_key(&join_key(path, "pattern_syntax"), name),
                    "a grok pattern must be a string",
                )),
            }
        }
        while !pending.is_empty() {
            let before = pending.len();
            let mut last_err = None;
            pending.retain(|(name, def)| match self.grok.add(name, def) {
                Ok(added) => {
                    if !added {
                        tracing::debug!(pattern = %name, "Grok pattern already defined; the first definition wins.");
                    }
                    false
                }
                Err(e) => {
                    last_err = Some((name.to_string(), e.to_string()));
                    true
                }
            });
            if pending.len() == before {
                for (name, _) in &pending {
                    let msg = last_err.as_ref().filter(|(n, _)| n == *name).map_or_else(
                        || "references an undefined pattern".to_string(),
                        |(_, e)| e.clone(),
                    );
                    errors.push(doc.error(&join_key(&join_key(path, "pattern_syntax"), name), msg));
                }
                break;
            }
        }
        for (i, child) in spec.nodes.iter().enumerate() {
            self.add_patterns(doc, &join_index(&join_key(path, "nodes"), i), child, errors);
        }
    }

    fn load_data(
        &mut self,
        doc: &YamlDoc,
        path: &str,
        spec: &NodeSpec,
        errors: &mut Vec<ConfigError>,
    ) {
        for (i, d) in spec.data.iter().enumerate() {
            let at = join_index(&join_key(path, "data"), i);
            if d.dest_file.is_empty() {
                errors.push(doc.error(&join_key(&at, "dest_file"), "dest_file is required"));
                continue;
            }
            if self.data.lines(&d.dest_file).is_some() || self.data.regexps(&d.dest_file).is_some()
            {
                continue;
            }
            let Some(dir) = self.data_dir else {
                tracing::warn!(file = %d.dest_file, "No data directory configured; File() on it gives nothing.");
                continue;
            };
            let kind = if d.kind.is_empty() {
                "string"
            } else {
                d.kind.as_str()
            };
            if let Err(e) = self.data.load(dir, &d.dest_file, kind) {
                errors.push(doc.error(&join_key(&at, "dest_file"), e.to_string()));
            }
        }
        for (i, child) in spec.nodes.iter().enumerate() {
            self.load_data(doc, &join_index(&join_key(path, "nodes"), i), child, errors);
        }
    }
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

fn format_ok(format: &str) -> bool {
    if format.is_empty() {
        return true;
    }
    format
        .parse::<f64>()
        .is_ok_and(|v| (1.0..=3.0).contains(&v))
}

struct Compiler<'c> {
    grok: &'c GrokLibrary,
    enrichers: &'c palisade_enrich::Registry,
    ctx: &'c Context,
    stash: &'c Stash,
    groks: HashMap<String, Arc<Grok>>,
    errors: &'c mut Vec<ConfigError>,
}

impl Compiler<'_> {
    fn expr(&mut self, doc: &YamlDoc, path: &str, node: &str, source: &str) -> Option<Program> {
        match Program::compile(source, self.ctx) {
            Ok(p) => Some(p),
            Err(e) => {
                let who = if node.is_empty() {
                    String::new()
                } else {
                    format!("node {node}: ")
                };
                self.errors
                    .push(doc.error(path, format!("{who}{e} in expression {source:?}")));
                None
            }
        }
    }

    fn node(&mut self, doc: &YamlDoc, path: &str, spec: &NodeSpec, parent: &str) -> Option<Node> {
        let before = self.errors.len();
        let name = if spec.name.is_empty() && !parent.is_empty() {
            format!("child-{parent}")
        } else {
            spec.name.clone()
        };
        let at = |k: &str| join_key(path, k);
        if spec.grok.is_none()
            && spec.nodes.is_empty()
            && spec.statics.is_empty()
            && spec.whitelist.is_none()
            && spec.stash.is_empty()
        {
            self.errors.push(doc.error(
                path,
                format!("node {name:?} is empty: it needs a grok, nodes, statics or a whitelist"),
            ));
            return None;
        }
        let next_stage = match spec.onsuccess.as_str() {
            "next_stage" => true,
            "" | "continue" => false,
            other => {
                self.errors.push(doc.error(
                    &at("onsuccess"),
                    format!("unknown onsuccess {other:?}: expected next_stage or continue"),
                ));
                false
            }
        };
        let filter = if spec.filter.is_empty() {
            None
        } else {
            self.expr(doc, &at("filter"), &name, &spec.filter)
        };
        let grok = spec.grok.as_ref().and_then(|g| {
            let gp = at("grok");
            let compiled = if !g.pattern.is_empty() {
                self.compile_grok(doc, &join_key(&gp, "pattern"), &g.pattern, false)
            } else if !g.name.is_empty() {
                self.compile_grok(doc, &join_key(&gp, "name"), &g.name, true)
            } else {
                self.errors
                    .push(doc.error(&gp, "a grok needs a pattern or a name"));
                None
            };
            let input = if g.apply_on == "Line.Raw" {
                Some(GrokInput::Raw)
            } else if !g.apply_on.is_empty() {
                Some(GrokInput::Parsed(g.apply_on.clone()))
            } else if !g.expression.is_empty() {
                self.expr(doc, &join_key(&gp, "expression"), &name, &g.expression)
                    .map(GrokInput::Expr)
            } else {
                self.errors
                    .push(doc.error(&gp, "a grok needs apply_on or expression"));
                None
            };
            let statics = self.statics(doc, &join_key(&gp, "statics"), &name, &g.statics);
            let grok = compiled?;
            let input = input?;
            Some(GrokNode {
                grok,
                input,
                statics,
            })
        });
        let whitelist = spec.whitelist.as_ref().map(|w| {
            let wp = at("whitelist");
            let mut nets = Vec::new();
            for (i, s) in w.ip.iter().chain(w.cidr.iter()).enumerate() {
                match Cidr::parse(s) {
                    Some(n) => nets.push(n),
                    None => {
                        let (field, idx) = if i < w.ip.len() {
                            ("ip", i)
                        } else {
                            ("cidr", i - w.ip.len())
                        };
                        self.errors.push(doc.error(
                            &join_index(&join_key(&wp, field), idx),
                            format!("{s:?} is not an address or network"),
                        ));
                    }
                }
            }
            let exprs = w
                .expression
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    self.expr(doc, &join_index(&join_key(&wp, "expression"), i), &name, e)
                })
                .collect();
            Whitelist {
                reason: w.reason.clone(),
                nets,
                exprs,
            }
        });
        let mut stash = Vec::new();
        for (i, s) in spec.stash.iter().enumerate() {
            let sp = join_index(&at("stash"), i);
            let ttl = match palisade_schemas::duration::parse_go_duration(&s.ttl)
                .ok()
                .and_then(|d| d.to_std().ok())
            {
                Some(t) => t,
                None => {
                    self.errors.push(doc.error(
                        &join_key(&sp, "ttl"),
                        format!("invalid or missing ttl {:?}", s.ttl),
                    ));
                    continue;
                }
            };
            if s.name.is_empty() {
                self.errors.push(doc.error(&sp, "a stash needs a name"));
                continue;
            }
            self.stash.configure(&s.name, s.size.unwrap_or(100), ttl);
            let key = self.expr(doc, &join_key(&sp, "key"), &name, &s.key);
            let value = self.expr(doc, &join_key(&sp, "value"), &name, &s.value);
            if let (Some(key), Some(value)) = (key, value) {
                stash.push(StashWrite {
                    name: s.name.clone(),
                    key,
                    value,
                    ttl,
                });
            }
        }
        let children: Vec<Node> = spec
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.node(doc, &join_index(&at("nodes"), i), c, &name))
            .collect();
        let statics = self.statics(doc, &at("statics"), &name, &spec.statics);
        if self.errors.len() > before {
            return None;
        }
        let simple_filter = filter
            .as_ref()
            .and_then(|_| SimpleFilter::parse(&spec.filter));
        Some(Node {
            name,
            filter,
            simple_filter,
            whitelist,
            grok,
            stash,
            children,
            statics,
            next_stage,
            debug: spec.debug,
        })
    }

    fn compile_grok(
        &mut self,
        doc: &YamlDoc,
        path: &str,
        text: &str,
        named: bool,
    ) -> Option<Arc<Grok>> {
        let key = format!("{}{text}", if named { "name:" } else { "pattern:" });
        if let Some(g) = self.groks.get(&key) {
            return Some(g.clone());
        }
        let r = if named {
            Grok::compile_named(self.grok, text)
        } else {
            Grok::compile(self.grok, text)
        };
        match r {
            Ok(g) => {
                let g = Arc::new(g);
                self.groks.insert(key, g.clone());
                Some(g)
            }
            Err(e) => {
                self.errors.push(doc.error(path, e.to_string()));
                None
            }
        }
    }

    fn statics(
        &mut self,
        doc: &YamlDoc,
        path: &str,
        node: &str,
        specs: &[StaticSpec],
    ) -> Vec<Static> {
        let mut out = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let sp = join_index(path, i);
            let dests: Vec<(&str, &String)> = [
                ("meta", &s.meta),
                ("parsed", &s.parsed),
                ("enriched", &s.enriched),
                ("target", &s.target),
                ("method", &s.method),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
            if dests.len() != 1 {
                self.errors.push(doc.error(
                    &sp,
                    "a static needs exactly one of meta, parsed, enriched, target, method",
                ));
                continue;
            }
            let (kind, key) = dests[0];
            let dest = match kind {
                "meta" => Dest::Meta(FieldName::interned(key)),
                "parsed" => Dest::Parsed(FieldName::interned(key)),
                "enriched" => Dest::Enriched(FieldName::interned(key)),
                "method" => {
                    let m = self.enrichers.resolve(key).ok();
                    if m.is_none() {
                        tracing::warn!(method = %key, node = %node, "Unknown enrichment method; the static does nothing.");
                    }
                    Dest::Method(key.clone(), m)
                }
                _ => match Target::parse(key) {
                    Ok(t) => Dest::Target(t),
                    Err(e) => {
                        self.errors.push(doc.error(&join_key(&sp, "target"), e));
                        continue;
                    }
                },
            };
            let source = if !s.expression.is_empty() {
                match self.expr(doc, &join_key(&sp, "expression"), node, &s.expression) {
                    Some(p) => Source::expression(p),
                    None => continue,
                }
            } else {
                Source::Value(s.value.clone())
            };
            out.push(Static::new(dest, source));
        }
        out
    }
}
