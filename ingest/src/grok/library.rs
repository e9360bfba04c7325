//! The pattern table: NAME → definition, loaded from pattern files and `pattern_syntax`.

use super::compile::{expand, rewrite, ExpandError, Expanded};
use super::{GrokError, Location};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Palisade's own pattern files (`ingest/patterns/`), in load (alphabetical) order.
const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "base",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/patterns/base")),
    ),
    (
        "http",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/patterns/http")),
    ),
    (
        "mysql",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/patterns/mysql")),
    ),
    (
        "postfix",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/patterns/postfix")),
    ),
    (
        "sshd",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/patterns/sshd")),
    ),
    (
        "syslog",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/patterns/syslog")),
    ),
];

/// How pattern files treat a name that is already defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// An error (CrowdSec's pattern directory).
    Strict,
    /// The first definition stays (`pattern_syntax`).
    FirstWins,
}

/// A table of named grok patterns (grokky's `Host`).
///
/// Every definition is expanded and checked when it is added, so a definition may only use the
/// patterns defined before it. Definitions never change once added.
#[derive(Clone, Default)]
pub struct GrokLibrary {
    defs: HashMap<String, Arc<Definition>>,
}

#[derive(Debug)]
pub(crate) struct Definition {
    pattern: String,
    location: Location,
    pub(crate) expanded: Expanded,
}

impl fmt::Debug for GrokLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrokLibrary")
            .field("patterns", &self.defs.len())
            .finish()
    }
}

/// Splits a pattern-file line like Go's `^(\w+)\s+(.+)$`: the name, then the definition.
fn split_line(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let name_end = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(bytes.len());
    if name_end == 0 {
        return None;
    }
    // Go's \s: [\t\n\f\r ] (no \v).
    let is_space = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ');
    let mut def_start = name_end;
    while def_start < bytes.len() && is_space(bytes[def_start]) {
        def_start += 1;
    }
    let spaces = def_start - name_end;
    if spaces == 0 {
        return None;
    }
    if def_start < bytes.len() {
        Some((&line[..name_end], &line[def_start..]))
    } else if spaces >= 2 {
        // `\s+` gives its last character back to `.+`.
        Some((&line[..name_end], &line[def_start - 1..]))
    } else {
        None
    }
}

impl GrokLibrary {
    /// An empty table.
    pub fn new() -> Self {
        GrokLibrary::default()
    }

    /// Palisade's own base library (`ingest/patterns/`, embedded in the binary).
    pub fn builtin() -> Self {
        static BUILTIN: OnceLock<GrokLibrary> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut library = GrokLibrary::new();
                for (name, text) in BUILTIN_FILES {
                    // Checked by the tests: the built-in files load without error.
                    if let Err(error) = library.load_str(&format!("builtin:{name}"), text) {
                        tracing::error!(%error, "built-in grok patterns failed to load");
                    }
                }
                library
            })
            .clone()
    }

    /// The embedded pattern files, `(file name, text)`, in load order.
    pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
        BUILTIN_FILES
    }

    /// Loads a pattern directory the way CrowdSec loads `pattern_dir`: every regular file whose
    /// name contains no `.`, in name order, with [`load_file`](Self::load_file). Returns the number
    /// of definitions added.
    pub fn load_dir(&mut self, dir: impl AsRef<Path>) -> Result<usize, GrokError> {
        self.load_dir_with(dir.as_ref(), Mode::Strict)
    }

    /// Like [`load_dir`](Self::load_dir), but a name that is already defined (by this table, e.g.
    /// the built-in library, or earlier in the directory) keeps its first definition, as with
    /// [`add`](Self::add). For putting a CrowdSec pattern directory on top of the built-ins.
    pub fn overlay_dir(&mut self, dir: impl AsRef<Path>) -> Result<usize, GrokError> {
        self.load_dir_with(dir.as_ref(), Mode::FirstWins)
    }

    fn load_dir_with(&mut self, dir: &Path, mode: Mode) -> Result<usize, GrokError> {
        let io_error = |error| GrokError::Io {
            path: dir.to_path_buf(),
            error,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let name = entry.file_name();
            if name.to_string_lossy().contains('.') {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                continue;
            }
            files.push((name, path));
        }
        files.sort();
        let mut added = 0;
        for (_, path) in files {
            added += self.load_file_with(&path, mode)?;
        }
        Ok(added)
    }

    /// Loads one pattern file (see [`load_str`](Self::load_str)).
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<usize, GrokError> {
        self.load_file_with(path.as_ref(), Mode::Strict)
    }

    fn load_file_with(&mut self, path: &Path, mode: Mode) -> Result<usize, GrokError> {
        let bytes = std::fs::read(path).map_err(|error| GrokError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        self.load_str_with(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
            mode,
        )
    }

    /// Loads pattern-file text: each line `NAME REGEX` (`^(\w+)\s+(.+)$`) adds a definition; other
    /// lines (comments, blank lines) are ignored. A name already defined, an unknown (or not yet
    /// defined) reference and an invalid regex are errors. `source` names the text in errors.
    pub fn load_str(&mut self, source: &str, text: &str) -> Result<usize, GrokError> {
        self.load_str_with(source, text, Mode::Strict)
    }

    fn load_str_with(&mut self, source: &str, text: &str, mode: Mode) -> Result<usize, GrokError> {
        let source: Arc<str> = Arc::from(source);
        let mut added = 0;
        for (index, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let Some((name, pattern)) = split_line(line) else {
                continue;
            };
            let at = Location {
                source: source.clone(),
                line: Some(index + 1),
            };
            match mode {
                Mode::Strict => {
                    if let Some(first) = self.defs.get(name) {
                        return Err(GrokError::Duplicate {
                            name: name.to_string(),
                            first: first.location.clone(),
                            at,
                        });
                    }
                    self.insert(name, pattern, at)?;
                    added += 1;
                }
                Mode::FirstWins => {
                    if self.add_at(name, pattern, at)? {
                        added += 1;
                    }
                }
            }
        }
        Ok(added)
    }

    /// Adds a `pattern_syntax` definition. The first definition of a name wins: adding a name that
    /// exists only logs a warning and returns `Ok(false)` (even if the new definition is invalid,
    /// as in CrowdSec). An invalid new definition is an error.
    pub fn add(&mut self, name: &str, pattern: &str) -> Result<bool, GrokError> {
        self.add_at(name, pattern, Location::new("pattern_syntax", None))
    }

    /// [`add`](Self::add), recording where the definition comes from (for messages).
    pub fn add_at(&mut self, name: &str, pattern: &str, at: Location) -> Result<bool, GrokError> {
        if let Some(first) = self.defs.get(name) {
            if first.pattern != pattern {
                tracing::warn!(
                    pattern = name,
                    first = %first.location,
                    ignored = %at,
                    "grok pattern redefined with a different definition: the first one is kept"
                );
            } else {
                tracing::debug!(pattern = name, first = %first.location, "grok pattern already defined");
            }
            return Ok(false);
        }
        self.insert(name, pattern, at)?;
        Ok(true)
    }

    fn insert(&mut self, name: &str, pattern: &str, at: Location) -> Result<(), GrokError> {
        let what = || format!("{at}: grok pattern {name}");
        if name.is_empty() || pattern.is_empty() {
            return Err(GrokError::Empty { context: what() });
        }
        let expanded = self.expand(pattern).map_err(|error| match error {
            ExpandError::Unknown(missing) => GrokError::UnknownPattern {
                name: missing,
                context: what(),
                hint: " (a definition can only use patterns defined before it)",
            },
            ExpandError::Syntax(message) => GrokError::InvalidRegex {
                context: what(),
                message,
            },
        })?;
        // Check that the regex engine accepts it (cheap: parse only, no automaton).
        let rust =
            rewrite(&expanded.regex, &|_| true).map_err(|message| GrokError::InvalidRegex {
                context: what(),
                message,
            })?;
        super::parse_hir(&rust.regex).map_err(|message| GrokError::InvalidRegex {
            context: what(),
            message,
        })?;
        let definition = Definition {
            pattern: pattern.to_string(),
            location: at,
            expanded,
        };
        self.defs.insert(name.to_string(), Arc::new(definition));
        Ok(())
    }

    pub(crate) fn expand(&self, pattern: &str) -> Result<Expanded, ExpandError> {
        expand(pattern, |name| self.defs.get(name).map(|d| &d.expanded))
    }

    pub(crate) fn definition(&self, name: &str) -> Option<&Definition> {
        self.defs.get(name).map(|d| &**d)
    }

    /// The definition of `name`, as written.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.defs.get(name).map(|d| d.pattern.as_str())
    }

    /// Where `name` was defined.
    pub fn location(&self, name: &str) -> Option<&Location> {
        self.defs.get(name).map(|d| &d.location)
    }

    /// `name` is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.defs.contains_key(name)
    }

    /// The number of definitions.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// No definitions.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// The defined names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.defs.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The expanded regex of `name` (Go syntax, references replaced), for diagnostics.
    pub fn expanded(&self, name: &str) -> Option<&str> {
        self.defs.get(name).map(|d| d.expanded.regex.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grok_line_split_matches_go_regex() {
        assert_eq!(split_line("NAME  a b "), Some(("NAME", "a b ")));
        assert_eq!(split_line("NAME\tx"), Some(("NAME", "x")));
        assert_eq!(split_line("NAME   "), Some(("NAME", " ")));
        assert_eq!(split_line("NAME "), None);
        assert_eq!(split_line("# NAME x"), None);
        assert_eq!(split_line(" NAME x"), None);
        assert_eq!(split_line("NAME-2 x"), None);
        assert_eq!(split_line("NAME\x0Bx"), None);
        assert_eq!(split_line(""), None);
    }
}
