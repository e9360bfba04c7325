//! The crate's one error type.

use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong while publishing or storing alerts and decisions.
#[derive(Debug, Error)]
pub enum PublishError {
    /// SQLite failed (disk full, locked database, corrupt file...).
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored alert could not be written or read back as JSON.
    #[error("stored alert JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The database directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database was written by a newer Palisade.
    #[error("database schema version {found} is newer than this Palisade supports ({supported}); upgrade Palisade")]
    SchemaTooNew {
        /// The `user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// ClickHouse refused a query or could not be reached.
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    /// The alert cannot be published (no scenario, no source value...).
    #[error("invalid alert: {0}")]
    InvalidAlert(String),
}
