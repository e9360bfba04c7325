//! The one way sources hand lines to the pipeline: an [`Emitter`] turns each line into an
//! `Event` (labels, module, read time, expect mode), counts it, batches up to the context's
//! batch size and sends on [`Emitter::flush`]. Sources flush after every read cycle, so no
//! line waits longer than one poll or read.

use super::lines::LineText;
use super::metrics::{LINES_INVALID_UTF8, LINES_READ, LINES_TRUNCATED, SOURCE_ERRORS};
use super::{SourceContext, SourceReport};
use crate::IngestError;
use palisade_runtime::bus::{Batch, BusSender};
use palisade_runtime::clock::SharedClock;
use palisade_runtime::metrics::{Counter, MetricDef, Registry};
use palisade_runtime::BusError;
use palisade_schemas::event::{ExpectMode, Line};
use palisade_schemas::Event;
use std::collections::BTreeMap;

/// Whether a source should go on after a send.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// The bus closed: the pipeline is going away, stop reading.
    Stop,
}

/// Builds, counts, batches and sends the events of one source.
pub(crate) struct Emitter<W> {
    tx: W,
    name: String,
    module: &'static str,
    labels: BTreeMap<String, String>,
    expect: ExpectMode,
    clock: SharedClock,
    metrics: Registry,
    batch_size: usize,
    pending: Vec<Event>,
    lines: Counter,
    truncated: Counter,
    invalid_utf8: Counter,
    errors: Counter,
    /// What the source did so far.
    pub report: SourceReport,
}

impl<W: BusSender<Event>> Emitter<W> {
    /// An emitter for the source `name` of `module`.
    pub fn new(
        name: &str,
        module: &'static str,
        labels: BTreeMap<String, String>,
        expect: ExpectMode,
        tx: W,
        ctx: &SourceContext,
    ) -> Self {
        let l = [("source", name), ("module", module)];
        Emitter {
            tx,
            name: name.to_string(),
            module,
            labels,
            expect,
            clock: ctx.clock.clone(),
            metrics: ctx.metrics.clone(),
            batch_size: ctx.batch_size.max(1),
            pending: Vec::new(),
            lines: ctx.metrics.counter(&LINES_READ, &l),
            truncated: ctx.metrics.counter(&LINES_TRUNCATED, &l),
            invalid_utf8: ctx.metrics.counter(&LINES_INVALID_UTF8, &l),
            errors: ctx.metrics.counter(&SOURCE_ERRORS, &l),
            report: SourceReport::default(),
        }
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The most events per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The injected clock's time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// A module-specific counter, labelled like the common ones.
    pub fn counter(&self, def: &'static MetricDef) -> Counter {
        self.metrics.counter(
            def,
            &[("source", self.name.as_str()), ("module", self.module)],
        )
    }

    /// The source's error counter, for readers that count their own errors.
    pub fn error_counter(&self) -> Counter {
        self.errors.clone()
    }

    /// Counts one error.
    pub fn count_error(&mut self) {
        self.errors.inc();
        self.report.errors += 1;
    }

    /// Queues one line read from `src`. Empty lines are skipped, as CrowdSec does.
    pub fn push(&mut self, src: &str, line: LineText) {
        if line.text.is_empty() {
            return;
        }
        if line.truncated {
            self.truncated.inc();
            self.report.truncated += 1;
        }
        if line.invalid_utf8 {
            self.invalid_utf8.inc();
            self.report.invalid_utf8 += 1;
        }
        self.lines.inc();
        self.report.lines += 1;
        self.pending.push(Event::from_line(
            Line {
                raw: line.text,
                src: src.to_string(),
                time: Some(self.clock.now()),
                labels: self.labels.clone(),
                process: false,
                module: self.module.to_string(),
            },
            self.expect,
        ));
    }

    /// Sends everything queued, in batches of at most the batch size.
    pub async fn flush(&mut self) -> Result<Flow, IngestError> {
        while !self.pending.is_empty() {
            let batch = if self.pending.len() <= self.batch_size {
                std::mem::take(&mut self.pending)
            } else {
                self.pending.drain(..self.batch_size).collect()
            };
            match self.tx.send(Batch::new(batch)).await {
                Ok(()) => {}
                Err(BusError::Closed { topic }) => {
                    tracing::info!(source = %self.name, topic = %topic, "Bus closed; source stops.");
                    self.pending.clear();
                    return Ok(Flow::Stop);
                }
                Err(error) => {
                    return Err(IngestError::Bus {
                        name: self.name.clone(),
                        error,
                    })
                }
            }
        }
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use palisade_runtime::bus::memory::{channel, MemoryReceiver, MemorySender};
    use palisade_runtime::bus::BusReceiver;
    use palisade_runtime::clock::ManualClock;
    use palisade_runtime::shutdown::Shutdown;
    use std::sync::Arc;

    /// A context over a fresh registry and a stopped clock.
    pub(crate) fn test_context(batch_size: usize) -> SourceContext {
        let t0 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 2, 3, 4, 5).unwrap();
        SourceContext {
            shutdown: Shutdown::new(),
            metrics: Registry::new(),
            clock: Arc::new(ManualClock::new(t0)),
            batch_size,
        }
    }

    /// An emitter into a memory bus, labelled `type: test`.
    pub(crate) fn test_emitter(
        module: &'static str,
        ctx: &SourceContext,
    ) -> (Emitter<MemorySender<Event>>, MemoryReceiver<Event>) {
        let (tx, rx) = channel("lines", 10_000, &ctx.metrics);
        let labels = BTreeMap::from([("type".to_string(), "test".to_string())]);
        (
            Emitter::new("test", module, labels, ExpectMode::Live, tx, ctx),
            rx,
        )
    }

    /// Everything received until the bus closes.
    pub(crate) async fn drain(rx: &mut MemoryReceiver<Event>) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(b) = rx.recv().await {
            out.extend(b.items);
        }
        out
    }

    #[tokio::test]
    async fn batches_counts_and_skips_empty_lines() {
        let ctx = test_context(2);
        let (mut em, mut rx) = test_emitter("file", &ctx);
        for t in ["a", "", "b", "c"] {
            em.push("/x", LineText::plain(t));
        }
        em.push(
            "/x",
            LineText {
                text: "d".into(),
                truncated: true,
                invalid_utf8: true,
            },
        );
        assert_eq!(em.flush().await.unwrap(), Flow::Continue);
        drop(em);
        let mut sizes = Vec::new();
        let mut raws = Vec::new();
        while let Some(b) = rx.recv().await {
            sizes.push(b.items.len());
            raws.extend(b.items.into_iter().map(|e| e.line.raw));
        }
        assert_eq!(sizes, vec![2, 2]);
        assert_eq!(raws, vec!["a", "b", "c", "d"]);
        let l = [("source", "test"), ("module", "file")];
        assert_eq!(
            ctx.metrics.value("palisade_ingest_lines_read_total", &l),
            Some(4)
        );
        assert_eq!(
            ctx.metrics
                .value("palisade_ingest_lines_truncated_total", &l),
            Some(1)
        );
        assert_eq!(
            ctx.metrics
                .value("palisade_ingest_lines_invalid_utf8_total", &l),
            Some(1)
        );
    }

    #[tokio::test]
    async fn a_closed_bus_stops_the_source() {
        let ctx = test_context(10);
        let (mut em, rx) = test_emitter("file", &ctx);
        drop(rx);
        em.push("/x", LineText::plain("a"));
        assert_eq!(em.flush().await.unwrap(), Flow::Stop);
    }
}
