//! The `storage:` configuration section: where the embedded store lives and how long it keeps
//! things. [`StorageSpec`] is what the YAML says; [`StorageConfig`] is the checked result.
//!
//! ```yaml
//! storage:
//!   path: /var/lib/palisade/palisade.db   # or ":memory:"
//!   alert_retention: 30d
//!   decision_retention: 7d                # how long EXPIRED decisions are kept
//!   prune_interval: 10m
//! ```

use crate::{PublishError, Store};
use palisade_runtime::config::{join_key, parse_duration, ConfigError, YamlDoc};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The path that selects an in-memory store (nothing survives a restart).
pub const IN_MEMORY: &str = ":memory:";

/// The `storage:` section as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSpec {
    /// The SQLite file, or `:memory:`. Its directory is created if missing.
    pub path: String,
    /// How long alerts are kept (counted from their last event or storage time, whichever is
    /// later). An alert is kept while any of its decisions is still stored.
    pub alert_retention: String,
    /// How long decisions are kept once expired (or deleted), so that bouncers pulling the
    /// decision stream still learn about the expiry.
    pub decision_retention: String,
    /// How often pruning runs.
    pub prune_interval: String,
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            path: "/var/lib/palisade/palisade.db".into(),
            alert_retention: "30d".into(),
            decision_retention: "7d".into(),
            prune_interval: "10m".into(),
        }
    }
}

/// The checked `storage:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// The SQLite file, or `:memory:`.
    pub path: PathBuf,
    /// How long alerts are kept.
    pub alert_retention: Duration,
    /// How long expired decisions are kept.
    pub decision_retention: Duration,
    /// How often pruning runs (never zero).
    pub prune_interval: Duration,
}

impl StorageConfig {
    /// The defaults with an in-memory store: for tests and one-shot replays.
    pub fn in_memory() -> Self {
        StorageConfig {
            path: PathBuf::from(IN_MEMORY),
            alert_retention: Duration::from_secs(30 * 86_400),
            decision_retention: Duration::from_secs(7 * 86_400),
            prune_interval: Duration::from_secs(600),
        }
    }

    /// Whether the store lives in memory only.
    pub fn is_in_memory(&self) -> bool {
        self.path.as_os_str() == IN_MEMORY
    }

    /// Opens (creating or migrating) the store this configuration points at.
    pub fn open(&self) -> Result<Store, PublishError> {
        if self.is_in_memory() {
            Store::open_in_memory()
        } else {
            Store::open(&self.path)
        }
    }
}

impl StorageSpec {
    /// Checks the section found at `path` in `doc`, pushing every problem into `errors`.
    /// Creates the database directory if it is missing.
    pub fn compile(
        self,
        doc: &YamlDoc,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Option<StorageConfig> {
        let before = errors.len();
        let mut duration = |field: &str, text: &str| match parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                errors.push(doc.error(&join_key(path, field), e));
                None
            }
        };
        let alert_retention = duration("alert_retention", &self.alert_retention);
        let decision_retention = duration("decision_retention", &self.decision_retention);
        let prune_interval = duration("prune_interval", &self.prune_interval);
        if prune_interval == Some(Duration::ZERO) {
            errors.push(doc.error(&join_key(path, "prune_interval"), "must be more than zero"));
        }
        if let Err(msg) = check_db_path(&self.path) {
            errors.push(doc.error(&join_key(path, "path"), msg));
        }
        if errors.len() > before {
            return None;
        }
        Some(StorageConfig {
            path: PathBuf::from(self.path),
            alert_retention: alert_retention?,
            decision_retention: decision_retention?,
            prune_interval: prune_interval?,
        })
    }
}

/// The database path must be `:memory:` or a file whose directory exists or can be created.
fn check_db_path(p: &str) -> Result<(), String> {
    if p == IN_MEMORY {
        return Ok(());
    }
    if p.trim().is_empty() {
        return Err(format!("must be a file path or {IN_MEMORY:?}"));
    }
    let file = Path::new(p);
    if file.is_dir() {
        return Err(format!(
            "{p:?} is a directory; give the database file inside it"
        ));
    }
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => std::fs::create_dir_all(dir)
            .map_err(|e| {
                format!(
                    "cannot create the database directory {}: {e}",
                    dir.display()
                )
            }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> (Option<StorageConfig>, Vec<ConfigError>) {
        let doc = YamlDoc::parse("palisade.yaml", text).unwrap();
        let mut errors = Vec::new();
        let cfg = doc
            .decode_into::<StorageSpec>("storage", &doc.root()["storage"], &mut errors)
            .and_then(|spec| spec.compile(&doc, "storage", &mut errors));
        (cfg, errors)
    }

    #[test]
    fn defaults_apply_to_missing_fields() {
        let (cfg, errors) = compile("storage:\n  path: \":memory:\"\n");
        assert!(errors.is_empty(), "{errors:?}");
        let cfg = cfg.unwrap();
        assert!(cfg.is_in_memory());
        assert_eq!(cfg, StorageConfig::in_memory());
        assert_eq!(StorageSpec::default().path, "/var/lib/palisade/palisade.db");
    }

    #[test]
    fn bad_durations_are_reported_with_their_line() {
        let (cfg, errors) =
            compile("log:\n  level: info\nstorage:\n  path: \":memory:\"\n  alert_retention: soon\n  prune_interval: 0s\n");
        assert!(cfg.is_none());
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].path, "storage.alert_retention");
        assert_eq!(errors[0].line, Some(5));
        assert!(errors[0].message.contains("\"soon\""), "{}", errors[0]);
        assert_eq!(errors[1].path, "storage.prune_interval");
        assert_eq!(errors[1].line, Some(6));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let (cfg, errors) = compile("storage:\n  path: \":memory:\"\n  max_age: 1d\n");
        assert!(cfg.is_none());
        assert_eq!(errors[0].path, "storage.max_age");
        assert_eq!(errors[0].line, Some(3));
    }

    #[test]
    fn the_database_directory_is_created_or_reported() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a/b/palisade.db");
        let (cfg, errors) = compile(&format!("storage:\n  path: {}\n", db.display()));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(dir.path().join("a/b").is_dir());
        assert_eq!(cfg.unwrap().path, db);

        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let (cfg, errors) = compile(&format!(
            "storage:\n  path: {}/sub/palisade.db\n",
            blocker.display()
        ));
        assert!(cfg.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "storage.path");
        assert_eq!(errors[0].line, Some(2));
        assert!(errors[0].message.contains("cannot create"), "{}", errors[0]);

        let (_, errors) = compile(&format!("storage:\n  path: {}\n", dir.path().display()));
        assert!(
            errors[0].message.contains("is a directory"),
            "{}",
            errors[0]
        );
    }
}
