//! Logging through `tracing`, to stderr, human-readable or one JSON object per line.

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// The `log:` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSpec {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a full filter (`palisade_ingest=debug,info`).
    /// `RUST_LOG` overrides it.
    pub level: String,
    /// `human` or `json`.
    pub format: LogFormat,
}

impl Default for LogSpec {
    fn default() -> Self {
        LogSpec {
            level: "info".into(),
            format: LogFormat::Human,
        }
    }
}

impl LogSpec {
    /// Checks the level filter; returns the error text if it does not parse.
    pub fn validate(&self) -> Result<(), String> {
        EnvFilter::try_new(&self.level)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(spec: &LogSpec) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&spec.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match spec.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
