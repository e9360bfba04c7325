//! The ingest crate's error type: why a source could not start or had to stop.
//!
//! Problems with single lines (too long, invalid UTF-8, a malformed journal entry, an
//! unparseable syslog message) are not errors: they are counted and the source goes on.

use palisade_runtime::BusError;
use std::io;
use std::net::SocketAddr;
use thiserror::Error;

/// A source could not start, or had to stop.
#[derive(Debug, Error)]
pub enum IngestError {
    /// A path or glob of a cat-mode (replay) file source matched no file.
    #[error("source {name}: no file matches {pattern:?}")]
    NoMatch {
        /// The source's name.
        name: String,
        /// The path or glob, as configured.
        pattern: String,
    },
    /// Reading failed (a file in cat mode, stdin, a helper's output). The I/O error names
    /// the file.
    #[error("source {name}: {error}")]
    Io {
        /// The source's name.
        name: String,
        /// What failed.
        #[source]
        error: io::Error,
    },
    /// A syslog listener could not be bound.
    #[error("source {name}: cannot listen on {protocol} {addr}: {error}")]
    Bind {
        /// The source's name.
        name: String,
        /// `udp` or `tcp`.
        protocol: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        error: io::Error,
    },
    /// A helper program (journalctl) could not be started.
    #[error("source {name}: cannot run {program}: {error}")]
    Spawn {
        /// The source's name.
        name: String,
        /// The program.
        program: String,
        /// Why.
        #[source]
        error: io::Error,
    },
    /// A helper program failed, or exited while it should have kept following.
    #[error("source {name}: {program} exited ({status}){}", stderr_suffix(.stderr))]
    ChildExited {
        /// The source's name.
        name: String,
        /// The program.
        program: String,
        /// Its exit status.
        status: String,
        /// The last line it wrote to stderr, if any.
        stderr: String,
    },
    /// The output bus failed (other than by closing, which just stops the source).
    #[error("source {name}: {error}")]
    Bus {
        /// The source's name.
        name: String,
        /// The bus error.
        #[source]
        error: BusError,
    },
    /// A broken invariant (a reader task panicked or was cancelled). Please report it.
    #[error("source {name}: internal error (please report): {message}")]
    Internal {
        /// The source's name.
        name: String,
        /// What happened.
        message: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}
