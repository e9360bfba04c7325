//! The embedded-mode log sources: `file`, `stdin`, `syslog` and `journalctl`.
//!
//! A source is configured like a CrowdSec acquisition entry ([`compile_sources`]) and run
//! with [`SourceConfig::run`], which emits one [`Event`] per non-empty line, its `Line` filled
//! as CrowdSec's acquisition fills it: raw text, `Src` (file path, `stdin`, client address,
//! `journalctl`), the configured labels, the module name, and the read time from the injected
//! clock. Cat-mode (replay) events are [`ExpectMode::TimeMachine`], tail-mode ones
//! [`ExpectMode::Live`] (unless `use_time_machine` is set).
//!
//! Lines are sent in batches of at most `batch_size`, at the end of every poll or read, so no
//! line waits for a batch to fill. A closed bus stops the source quietly; shutdown stops it
//! between reads.
//!
//! ```text
//! spec.rs ──compile_sources──► SourceConfig ──run──► file.rs (tail.rs) │ stdin.rs │ syslog/ │ journald.rs
//!                                                        └──────── emit.rs: Event batches ──► bus
//! ```

mod emit;
mod file;
mod journald;
mod lines;
pub mod metrics;
mod spec;
mod stdin;
pub mod syslog;
mod tail;

pub use lines::LineText;
pub use spec::compile_sources;
pub use tail::{FileTailer, TailLine, TailOptions, DEFAULT_MAX_LINE_BYTES};

use crate::IngestError;
use emit::Emitter;
use palisade_runtime::bus::BusSender;
use palisade_runtime::clock::SharedClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::event::ExpectMode;
use palisade_schemas::Event;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// Everything a running source needs from the process.
#[derive(Clone)]
pub struct SourceContext {
    /// Stops tail-mode sources (and cat-mode ones between reads).
    pub shutdown: Shutdown,
    /// Where the source's counters go.
    pub metrics: Registry,
    /// `Line.time` is this clock's time when the line is read.
    pub clock: SharedClock,
    /// The most events per batch sent to the bus.
    pub batch_size: usize,
}

impl fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceContext")
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// CrowdSec's `mode:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Live: follow new input until shutdown. Events are [`ExpectMode::Live`].
    #[default]
    Tail,
    /// Replay: read the input once from the beginning and stop. Events are
    /// [`ExpectMode::TimeMachine`].
    Cat,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Tail => "tail",
            Mode::Cat => "cat",
        })
    }
}

/// What kind of source, with its compiled settings.
#[derive(Debug, Clone)]
enum Kind {
    File(file::FileSource),
    Stdin { max_line_bytes: usize },
    Syslog(syslog::SyslogSource),
    Journal(journald::JournalSource),
}

impl Kind {
    fn module(&self) -> &'static str {
        match self {
            Kind::File(_) => "file",
            Kind::Stdin { .. } => "stdin",
            Kind::Syslog(_) => "syslog",
            Kind::Journal(_) => "journalctl",
        }
    }
}

/// A validated source, compiled from its YAML spec.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The `name:`, or a default such as `file:/var/log/auth.log` or `syslog:127.0.0.1:514`.
    /// Labels the source's metrics; unique within a configuration.
    pub name: String,
    /// Copied into every event's `Line.Labels`; `type` selects the parsers.
    pub labels: BTreeMap<String, String>,
    /// Tail (live) or cat (replay).
    pub mode: Mode,
    kind: Kind,
    time_machine: bool,
}

/// What a source did, returned when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// Lines emitted.
    pub lines: u64,
    /// Of which truncated at the length cap.
    pub truncated: u64,
    /// Of which had invalid UTF-8 replaced.
    pub invalid_utf8: u64,
    /// Syslog messages passed through raw because neither RFC parsed them.
    pub unparsed: u64,
    /// Input skipped as malformed (journalctl lines that are not a JSON entry).
    pub rejected: u64,
    /// Errors met (unreadable files, failed accepts, ...), the fatal one included.
    pub errors: u64,
}

impl SourceConfig {
    /// The module name `Line.Module` gets: `file`, `stdin`, `syslog` or `journalctl`.
    pub fn module(&self) -> &'static str {
        self.kind.module()
    }

    /// The `ExpectMode` of this source's events.
    pub fn expect_mode(&self) -> ExpectMode {
        if self.mode == Mode::Cat || self.time_machine {
            ExpectMode::TimeMachine
        } else {
            ExpectMode::Live
        }
    }

    /// Runs until shutdown (tail) or the end of the input (cat), emitting
    /// `Event::from_line(...)` batches into `tx`. A closed bus stops the source without error.
    pub async fn run<W: BusSender<Event> + Clone>(
        self,
        tx: W,
        ctx: SourceContext,
    ) -> Result<SourceReport, IngestError> {
        let module = self.module();
        let expect = self.expect_mode();
        let mut em = Emitter::new(&self.name, module, self.labels, expect, tx, &ctx);
        let name = self.name;
        tracing::info!(source = %name, module, mode = %self.mode, "Source started.");
        let shutdown = &ctx.shutdown;
        let result = match &self.kind {
            Kind::File(spec) => file::run(spec.clone(), self.mode, &mut em, shutdown).await,
            Kind::Stdin { max_line_bytes } => {
                stdin::run(tokio::io::stdin(), *max_line_bytes, &mut em, shutdown).await
            }
            Kind::Syslog(spec) => syslog::run(spec, &mut em, shutdown).await,
            Kind::Journal(spec) => journald::run(spec, self.mode, &mut em, shutdown).await,
        };
        match result {
            Ok(()) => {
                let r = em.report;
                tracing::info!(source = %name, lines = r.lines, truncated = r.truncated, invalid_utf8 = r.invalid_utf8, "Source stopped.");
                Ok(r)
            }
            Err(e) => {
                em.count_error();
                tracing::error!(source = %name, error = %e, "Source failed.");
                Err(e)
            }
        }
    }

    /// A file source over explicit paths in cat mode, for `palisade replay --type T FILE...`.
    /// The paths are literal (not globs); each must exist when the source runs.
    pub fn replay_files(paths: Vec<String>, labels: BTreeMap<String, String>) -> SourceConfig {
        let name = match paths.as_slice() {
            [] => "file".to_string(),
            [one] => format!("file:{one}"),
            [first, rest @ ..] => format!("file:{first} (+{} more)", rest.len()),
        };
        SourceConfig {
            name,
            labels,
            mode: Mode::Cat,
            kind: Kind::File(file::FileSource {
                patterns: paths.iter().map(|p| glob::Pattern::escape(p)).collect(),
                exclude: Vec::new(),
                poll_interval: file::DEFAULT_POLL_INTERVAL,
                max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            }),
            time_machine: false,
        }
    }

    /// A stdin source: `palisade replay ... -` uses [`Mode::Cat`], live stdin [`Mode::Tail`].
    pub fn stdin(labels: BTreeMap<String, String>, mode: Mode) -> SourceConfig {
        SourceConfig {
            name: "stdin".to_string(),
            labels,
            mode,
            kind: Kind::Stdin {
                max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            },
            time_machine: false,
        }
    }
}

#[cfg(test)]
mod tests;
