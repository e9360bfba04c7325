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
            if let Err(e) = overlay_dir(&mut grok, dir) {
                errors.push(doc.error(&join_index(&join_key(path, "patterns_dirs"), i), e));
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

/// Adds the patterns of a CrowdSec pattern directory (files without a `.` in their name, in
/// name order; lines `NAME REGEX`) on top of `lib`, first definition wins.
fn overlay_dir(lib: &mut GrokLibrary, dir: &std::path::Path) -> Result<(), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read pattern directory {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains('.'))
        })
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let text = String::from_utf8_lossy(&text);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            let Some((name, def)) = line.split_once(|c: char| c.is_whitespace()) else {
                continue;
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                continue;
            }
            let def = def.trim_start();
            if def.is_empty() {
                continue;
            }
            lib.add(name, def)
                .map_err(|e| format!("{}:{}: {e}", f.display(), n + 1))?;
        }
    }
    Ok(())
}
