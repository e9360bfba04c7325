//! The `parsers:` section of the configuration: where CrowdSec-format parsers, grok patterns and
//! data files are, compiled into a [`ParserSet`] before anything starts.
//!
//! ```yaml
//! parsers:
//!   dirs: [/etc/crowdsec/parsers]      # <dir>/<stage>/**/*.yaml, CrowdSec's layout
//!   patterns_dirs: [/etc/crowdsec/patterns]
//!   data_dir: /var/lib/crowdsec/data
//! ```

use super::engine::ParserSet;
use super::load::{collect_dir, Loader, ParserFile};
use crate::grok::GrokLibrary;
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

impl ParsersSpec {
    /// Loads and compiles every parser; problems are pushed into `errors`, located.
    pub fn build(
        &self,
        doc: &YamlDoc,
        path: &str,
        enrichers: &palisade_enrich::Registry,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ParserSet> {
        let before = errors.len();
        let mut grok = GrokLibrary::builtin();
        for (i, dir) in self.patterns_dirs.iter().enumerate() {
            if let Err(e) = grok.overlay_dir(dir) {
                errors.push(doc.error(&join_index(&join_key(path, "patterns_dirs"), i), e.to_string()));
            }
        }
        let mut files: Vec<ParserFile> = Vec::new();
        for (i, dir) in self.dirs.iter().enumerate() {
            match collect_dir(dir) {
                Ok(f) => files.extend(f),
                Err(e) => errors.push(doc.error(
                    &join_index(&join_key(path, "dirs"), i),
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
        let mut loader = Loader::new(&mut grok, enrichers);
        loader.data_dir = self.data_dir.as_deref();
        match loader.load(&files) {
            Ok(set) => Some(set),
            Err(errs) => {
                errors.extend(errs);
                None
            }
        }
    }
}

