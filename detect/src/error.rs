//! Errors of the detect crate.

use palisade_runtime::config::{ConfigError, ConfigErrors};
use thiserror::Error;

/// Errors of the detect stage.
#[derive(Debug, Error)]
pub enum DetectError {
    /// A scenario could not be loaded.
    #[error("scenario {file}: {message}")]
    Scenario {
        /// The scenario file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Scenario files are invalid: every problem found, each located.
    #[error("{0}")]
    Load(ConfigErrors),
}

impl From<Vec<ConfigError>> for DetectError {
    fn from(errors: Vec<ConfigError>) -> Self {
        DetectError::Load(ConfigErrors(errors))
    }
}
