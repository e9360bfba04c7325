use thiserror::Error;

/// A bus could not deliver a batch.
#[derive(Debug, Error)]
pub enum BusError {
    /// Every receiver is gone: the pipeline is shutting down.
    #[error("bus {topic} is closed")]
    Closed {
        /// The bus's topic name.
        topic: String,
    },
    /// The transport failed (Kafka broker down, ...). Retry with backoff.
    #[error("bus {topic}: {message}")]
    Transport {
        /// The bus's topic name.
        topic: String,
        /// What went wrong.
        message: String,
    },
}

/// What a stage reports when it cannot process a batch, by whose fault (Arroyo's `ErrorDomain`).
#[derive(Debug, Error)]
pub enum StageError {
    /// Bad input: the items are counted and skipped, the stage goes on.
    #[error("bad input: {0}")]
    User(String),
    /// A service the stage depends on failed; the runner retries with backoff.
    #[error("external service: {0}")]
    External(String),
    /// A broken invariant: the pipeline stops. Please report it.
    #[error("internal error (please report): {0}")]
    Internal(String),
    /// The output bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
}
