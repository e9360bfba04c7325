//! The `parsers:` (and `postoverflows:`) section of the configuration: CrowdSec-format parser
//! directories, grok pattern directories and data files, compiled with any other parser texts
//! (Palisade's own content) into a [`ParserSet`] before anything starts.
//!
//! ```yaml
//! parsers:
//!   dirs: [/etc/crowdsec/parsers]      # <dir>/<stage>/**/*.yaml, CrowdSec's layout
//!   patterns_dirs: [/etc/crowdsec/patterns]
//!   data_dir: /var/lib/crowdsec/data
//! ```

use super::engine::ParserSet;
use super::load::{collect_dir, Loader};
use crate::grok::GrokLibrary;
use palisade_expr::DataFiles;
use palisade_runtime::config::{join_index, join_key, ConfigError, YamlDoc};
use serde::Deserialize;
use std::path::PathBuf;

/// The `parsers:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParsersSpec {
    /// Parser directories in CrowdSec's layout (`<dir>/<stage>/**/*.yaml`).
    pub dirs: Vec<PathBuf>,
    /// Grok pattern directories (CrowdSec format), loaded after Palisade's own patterns; a name
    /// Palisade already defines keeps Palisade's definition (first wins, as `pattern_syntax`).
    pub patterns_dirs: Vec<PathBuf>,
    /// Where the parsers' `data:` files are.
    pub data_dir: Option<PathBuf>,
}

/// A parser file given as text: (stage, name for messages, YAML).
pub type ParserText = (String, String, String);

impl ParsersSpec {
    /// Loads and compiles `extra` (e.g. Palisade's own content) and every parser of `dirs`,
    /// sorted by stage then file name, with `data` already holding embedded data files.
    /// Problems are pushed into `errors`, located.
    pub fn build(
        &self,
        doc: &YamlDoc,
        path: &str,
        extra: Vec<ParserText>,
        data: DataFiles,
        enrichers: &palisade_enrich::Registry,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ParserSet> {
        let before = errors.len();
        let mut grok = GrokLibrary::builtin();
        for (i, dir) in self.patterns_dirs.iter().enumerate() {
            if let Err(e) = grok.overlay_dir(dir) {
                errors.push(doc.error(
                    &join_index(&join_key(path, "patterns_dirs"), i),
                    e.to_string(),
                ));
            }
        }
        let mut texts = extra;
        for (i, dir) in self.dirs.iter().enumerate() {
            let at = join_index(&join_key(path, "dirs"), i);
            match collect_dir(dir) {
                Ok(files) => {
                    for f in files {
                        match std::fs::read_to_string(&f.path) {
                            Ok(t) => texts.push((f.stage, f.path.display().to_string(), t)),
                            Err(e) => errors.push(
                                doc.error(&at, format!("cannot read {}: {e}", f.path.display())),
                            ),
                        }
                    }
                }
                Err(e) => errors.push(doc.error(
                    &at,
                    format!("cannot read parser directory {}: {e}", dir.display()),
                )),
            }
        }
        if let Some(d) = &self.data_dir {
            if !d.is_dir() {
                errors.push(doc.error(
                    &join_key(path, "data_dir"),
                    format!("{} is not a directory", d.display()),
                ));
            }
        }
        if errors.len() > before {
            return None;
        }
        let file_name = |n: &str| n.rsplit('/').next().unwrap_or(n).to_string();
        texts.sort_by_cached_key(|(stage, name, _)| (stage.clone(), file_name(name), name.clone()));
        let refs: Vec<(&str, &str, &str)> = texts
            .iter()
            .map(|(s, n, t)| (s.as_str(), n.as_str(), t.as_str()))
            .collect();
        let mut loader = Loader::new(&mut grok, enrichers);
        loader.data_dir = self.data_dir.as_deref();
        loader.data = data;
        match loader.load_texts(&refs) {
            Ok(set) => Some(set),
            Err(errs) => {
                errors.extend(errs);
                None
            }
        }
    }
}
