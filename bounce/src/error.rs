//! The bouncer's errors.

/// What can go wrong while enforcing decisions.
#[derive(Debug, thiserror::Error)]
pub enum BounceError {
    /// The configuration is invalid (every problem, located).
    #[error("{0}")]
    Config(#[from] palisade_runtime::config::ConfigErrors),
    /// A backend command (`nft`, `ipset`, a hook) could not run or failed.
    #[error("{backend}: {message}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// What happened, with the command's standard error.
        message: String,
    },
    /// The decision source could not be reached or answered nonsense.
    #[error("source: {0}")]
    Source(String),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl BounceError {
    /// A backend error.
    pub fn backend(backend: &'static str, message: impl Into<String>) -> Self {
        BounceError::Backend {
            backend,
            message: message.into(),
        }
    }
}
