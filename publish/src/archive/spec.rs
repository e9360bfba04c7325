//! The `archive:` configuration section. The archive runs when `url` is set.
//!
//! ```yaml
//! archive:
//!   url: http://127.0.0.1:8123       # ClickHouse HTTP interface; unset: no archive
//!   database: palisade               # created if missing
//!   user: default
//!   password: ""
//!   batch_size: 5000                 # most rows per table in one INSERT
//!   flush_interval: 1s               # how often new alerts and decisions are read and sent
//!   spool_dir: /var/lib/palisade/spool   # batches wait here while ClickHouse is unreachable
//!   retries: 3                       # attempts before a batch goes to the spool
//!   backoff: 200ms                   # first wait between attempts; doubles, at most 30s
//!   events: false                    # parsed events too (embedded mode: a tap after the parse stage)
//! ```

use palisade_runtime::config::{join_key, parse_duration, ConfigError, YamlDoc};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The `archive:` section as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSpec {
    /// ClickHouse's HTTP URL; empty: no archive.
    pub url: String,
    /// The database (created if missing).
    pub database: String,
    /// The user.
    pub user: String,
    /// The password.
    pub password: String,
    /// Most rows per table in one INSERT.
    pub batch_size: usize,
    /// How often new rows are read and sent.
    pub flush_interval: String,
    /// Where batches wait while ClickHouse is unreachable.
    pub spool_dir: String,
    /// Attempts before a batch goes to the spool.
    pub retries: u32,
    /// The first wait between attempts (doubles each time, at most 30 s).
    pub backoff: String,
    /// Also archive parsed events (the embedded pipeline taps the parse stage's output).
    pub events: bool,
}

impl Default for ArchiveSpec {
    fn default() -> Self {
        ArchiveSpec {
            url: String::new(),
            database: "palisade".into(),
            user: "default".into(),
            password: String::new(),
            batch_size: 5000,
            flush_interval: "1s".into(),
            spool_dir: "/var/lib/palisade/spool".into(),
            retries: 3,
            backoff: "200ms".into(),
            events: false,
        }
    }
}

/// The checked `archive:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// ClickHouse's HTTP URL.
    pub url: String,
    /// The database.
    pub database: String,
    /// The user.
    pub user: String,
    /// The password.
    pub password: String,
    /// Most rows per table in one INSERT (at least 1).
    pub batch_size: usize,
    /// How often new rows are read and sent.
    pub flush_interval: Duration,
    /// The spool directory.
    pub spool_dir: PathBuf,
    /// Attempts before spooling (at least 1).
    pub retries: u32,
    /// The first wait between attempts.
    pub backoff: Duration,
    /// Whether events are archived.
    pub events: bool,
}

impl ArchiveConfig {
    /// The defaults for `url`, spooling into `spool_dir`.
    pub fn new(url: &str, database: &str, spool_dir: PathBuf) -> Self {
        ArchiveConfig {
            url: url.to_string(),
            database: database.to_string(),
            user: "default".into(),
            password: String::new(),
            batch_size: 5000,
            flush_interval: Duration::from_secs(1),
            spool_dir,
            retries: 3,
            backoff: Duration::from_millis(200),
            events: false,
        }
    }
}

impl ArchiveSpec {
    /// Checks the section found at `path`; `None` without errors when the archive is off.
    pub fn compile(
        self,
        doc: &YamlDoc,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ArchiveConfig> {
        let before = errors.len();
        let mut err =
            |field: &str, msg: String| errors.push(doc.error(&join_key(path, field), msg));
        let url = self.url.trim().to_string();
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            err("url", format!("{url:?} is not an http:// or https:// URL"));
        }
        if self.database.is_empty()
            || !self
                .database
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            err(
                "database",
                format!("{:?}: use letters, digits and _", self.database),
            );
        }
        if self.batch_size == 0 {
            err("batch_size", "must be at least 1".into());
        }
        if self.retries == 0 {
            err("retries", "must be at least 1".into());
        }
        let mut duration = |field: &str, text: &str| match parse_duration(text) {
            Ok(d) if d.is_zero() => {
                err(field, "must be more than zero".into());
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                err(field, e);
                None
            }
        };
        let flush = duration("flush_interval", &self.flush_interval);
        let backoff = duration("backoff", &self.backoff);
        if !url.is_empty() && self.spool_dir.trim().is_empty() {
            errors.push(doc.error(&join_key(path, "spool_dir"), "must be a directory"));
        }
        if errors.len() > before || url.is_empty() {
            return None;
        }
        Some(ArchiveConfig {
            url,
            database: self.database,
            user: self.user,
            password: self.password,
            batch_size: self.batch_size,
            flush_interval: flush?,
            spool_dir: PathBuf::from(self.spool_dir),
            retries: self.retries,
            backoff: backoff?,
            events: self.events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> (Option<ArchiveConfig>, Vec<ConfigError>) {
        let doc = YamlDoc::parse("p.yaml", text).unwrap();
        let mut errors = Vec::new();
        let cfg = doc
            .decode_into::<ArchiveSpec>("archive", &doc.root()["archive"], &mut errors)
            .and_then(|s| s.compile(&doc, "archive", &mut errors));
        (cfg, errors)
    }

    #[test]
    fn off_by_default_and_located_errors() {
        let (cfg, errors) = compile("archive: {}\n");
        assert!(cfg.is_none() && errors.is_empty());
        let (cfg, errors) = compile("archive:\n  url: http://127.0.0.1:8123\n");
        assert!(errors.is_empty());
        assert_eq!(cfg.unwrap().database, "palisade");
        let (cfg, errors) = compile(
            "archive:\n  url: ftp://x\n  database: 'a-b'\n  batch_size: 0\n  backoff: never\n",
        );
        assert!(cfg.is_none());
        let got: Vec<(String, Option<u32>)> =
            errors.iter().map(|e| (e.path.clone(), e.line)).collect();
        assert_eq!(
            got,
            vec![
                ("archive.url".into(), Some(2)),
                ("archive.database".into(), Some(3)),
                ("archive.batch_size".into(), Some(4)),
                ("archive.backoff".into(), Some(5)),
            ]
        );
    }
}
