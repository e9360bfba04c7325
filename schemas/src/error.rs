use thiserror::Error;

/// Errors raised when building or converting shared types.
#[derive(Debug, Error)]
pub enum SchemaError {
    /// A Go duration string could not be parsed.
    #[error("invalid duration {input:?}: {reason}")]
    Duration {
        /// The text that was given.
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Building an Arrow record batch failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}
