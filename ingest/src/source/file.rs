//! The `file` source: drives a [`FileTailer`] from the async world.
//!
//! Tail mode polls every `poll_interval` (and again at once while the tailer is backlogged)
//! until shutdown; a pattern matching nothing yet is waited for. Cat mode reads every matched
//! file to its end once and returns; a pattern matching no file is an error. Polls run on the
//! blocking pool, since file reads block.

use super::emit::{Emitter, Flow};
use super::tail::{FileTailer, TailLine, TailOptions};
use super::Mode;
use crate::IngestError;
use palisade_runtime::bus::BusSender;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::Event;
use regex::Regex;
use std::io;
use std::time::Duration;

/// The default time between two polls in tail mode.
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A compiled `file` source.
#[derive(Debug, Clone)]
pub(crate) struct FileSource {
    /// Globs to follow.
    pub patterns: Vec<String>,
    /// Paths to ignore.
    pub exclude: Vec<Regex>,
    /// Tail-mode poll period.
    pub poll_interval: Duration,
    /// Line length cap.
    pub max_line_bytes: usize,
}

impl FileSource {
    fn tailer(&self, follow: bool) -> FileTailer {
        let mut opts = TailOptions::new(self.patterns.clone(), follow);
        opts.exclude = self.exclude.clone();
        opts.max_line_bytes = self.max_line_bytes;
        FileTailer::new(opts)
    }
}

/// Runs the source until shutdown (tail) or the end of every file (cat).
pub(crate) async fn run<W: BusSender<Event>>(
    spec: FileSource,
    mode: Mode,
    em: &mut Emitter<W>,
    shutdown: &Shutdown,
) -> Result<(), IngestError> {
    let follow = mode == Mode::Tail;
    let mut tailer = spec.tailer(follow).with_error_counter(em.error_counter());
    let unmatched = tailer.unmatched_patterns();
    if !follow {
        if let Some(pattern) = unmatched.into_iter().next() {
            return Err(IngestError::NoMatch {
                name: em.name().to_string(),
                pattern,
            });
        }
        while !tailer.is_done() && !shutdown.is_triggered() {
            let (t, result) = poll(tailer, em.name()).await?;
            tailer = t;
            let lines = result.map_err(|error| IngestError::Io {
                name: em.name().to_string(),
                error,
            })?;
            if emit(em, lines).await? == Flow::Stop {
                break;
            }
        }
        return Ok(());
    }

    for pattern in &unmatched {
        tracing::info!(source = %em.name(), pattern = %pattern, "No file matches yet; waiting for one to appear.");
    }
    let mut ticker = tokio::time::interval(spec.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shutdown.wait() => return Ok(()),
            _ = ticker.tick() => {}
        }
        loop {
            let (t, result) = poll(tailer, em.name()).await?;
            tailer = t;
            // Tail-mode polls report per-file problems themselves and do not fail.
            let lines = result.unwrap_or_else(|e| {
                tracing::warn!(source = %em.name(), error = %e, "File poll failed.");
                Vec::new()
            });
            if emit(em, lines).await? == Flow::Stop {
                return Ok(());
            }
            if !tailer.backlogged() || shutdown.is_triggered() {
                break;
            }
        }
    }
}

/// One poll on the blocking pool; the tailer goes there and back.
async fn poll(
    mut tailer: FileTailer,
    name: &str,
) -> Result<(FileTailer, io::Result<Vec<TailLine>>), IngestError> {
    match tokio::task::spawn_blocking(move || {
        let r = tailer.poll();
        (tailer, r)
    })
    .await
    {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(IngestError::Internal {
            name: name.to_string(),
            message: format!("file poll task: {e}"),
        }),
    }
}

async fn emit<W: BusSender<Event>>(
    em: &mut Emitter<W>,
    lines: Vec<TailLine>,
) -> Result<Flow, IngestError> {
    for l in lines {
        em.push(&l.path, l.line);
    }
    em.flush().await
}
