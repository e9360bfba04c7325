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
}
