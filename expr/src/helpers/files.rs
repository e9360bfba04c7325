//! Data files (`data:` sections of parsers and scenarios) as `File()` and `RegexpInFile()` see
//! them. The caller loads each file once, by `dest_file` and type, before compiling the
//! expressions that use it (CrowdSec loads a node's data before compiling its filters); the
//! registry is then shared, immutable, by the programs. Empty lines and lines starting with `#`
//! are skipped. A file that was not loaded reads as `[]` / no match, as in CrowdSec.

use regex::Regex;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The loaded data files, by `dest_file` name.
#[derive(Debug, Clone, Default)]
pub struct DataFiles {
    strings: HashMap<String, Arc<Vec<String>>>,
    regexps: HashMap<String, Arc<Vec<Regex>>>,
}

/// Why a data file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataFileError {
    /// The file could not be read.
    #[error("reading data file {name}: {source}")]
    Io {
        /// The `dest_file`.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of a `regexp` file does not compile (fatal in CrowdSec too).
    #[error("data file {name} line {line}: {message}")]
    Regex {
        /// The `dest_file`.
        name: String,
        /// 1-based line number.
        line: usize,
        /// The compiler's message.
        message: String,
    },
    /// The `type:` is not one this registry handles.
    #[error("unknown data type '{kind}' for '{name}'")]
    UnknownType {
        /// The `dest_file`.
        name: String,
        /// The type given.
        kind: String,
    },
}

fn keep(line: &str) -> bool {
    !line.is_empty() && !line.starts_with('#')
}

impl DataFiles {
    /// An empty registry.
    pub fn new() -> Self {
        DataFiles::default()
    }

    /// Registers a `string` file from its text.
    pub fn add_strings(&mut self, name: &str, text: &str) {
        let lines = text
            .lines()
            .filter(|l| keep(l))
            .map(str::to_string)
            .collect();
        self.strings.insert(name.to_string(), Arc::new(lines));
    }

    /// Registers a `regexp` file from its text; every kept line must compile (Go regexp syntax).
    pub fn add_regexps(&mut self, name: &str, text: &str) -> Result<(), DataFileError> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if !keep(line) {
                continue;
            }
            let re = super::regex::compile(line).map_err(|message| DataFileError::Regex {
                name: name.to_string(),
                line: i + 1,
                message,
            })?;
            out.push(re);
        }
        self.regexps.insert(name.to_string(), Arc::new(out));
        Ok(())
    }

    /// Loads `<dir>/<name>` as `kind` (`string`, `regexp` or `regex`); an empty kind loads
    /// nothing, as CrowdSec does for untyped entries (mmdb files). Loading the same name and
    /// kind twice keeps the first copy.
    pub fn load(&mut self, dir: &Path, name: &str, kind: &str) -> Result<(), DataFileError> {
        let already = match kind {
            "" => return Ok(()),
            "string" => self.strings.contains_key(name),
            "regexp" | "regex" => self.regexps.contains_key(name),
            other => {
                return Err(DataFileError::UnknownType {
                    name: name.to_string(),
                    kind: other.to_string(),
                })
            }
        };
        if already {
            return Ok(());
        }
        let bytes = std::fs::read(dir.join(name)).map_err(|source| DataFileError::Io {
            name: name.to_string(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        if kind == "string" {
            self.add_strings(name, &text);
            Ok(())
        } else {
            self.add_regexps(name, &text)
        }
    }

    /// The lines of a `string` file.
    pub fn lines(&self, name: &str) -> Option<&Arc<Vec<String>>> {
        self.strings.get(name)
    }

    /// The compiled lines of a `regexp` file.
    pub fn regexps(&self, name: &str) -> Option<&Arc<Vec<Regex>>> {
        self.regexps.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_skips_comments() {
        let dir = std::env::temp_dir().join(format!("palisade-expr-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "# comment\n\nfoo\nbar\n").unwrap();
        std::fs::write(dir.join("r.txt"), "^a+$\n").unwrap();
        std::fs::write(dir.join("bad.txt"), "(\n").unwrap();
        let mut f = DataFiles::new();
        f.load(&dir, "a.txt", "string").unwrap();
        f.load(&dir, "r.txt", "regexp").unwrap();
        f.load(&dir, "x.mmdb", "").unwrap();
        assert_eq!(
            **f.lines("a.txt").unwrap(),
            vec!["foo".to_string(), "bar".to_string()]
        );
        assert_eq!(f.regexps("r.txt").unwrap().len(), 1);
        assert!(matches!(
            f.load(&dir, "bad.txt", "regexp"),
            Err(DataFileError::Regex { line: 1, .. })
        ));
        assert!(matches!(
            f.load(&dir, "missing.txt", "string"),
            Err(DataFileError::Io { .. })
        ));
        assert!(matches!(
            f.load(&dir, "a.txt", "bots"),
            Err(DataFileError::UnknownType { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
