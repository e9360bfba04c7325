//! The embedded pipeline: every stage in one process, joined by bounded in-memory buses.
//!
//! ```text
//! sources ══lines══► parse ══events══► detect ══alerts══► publish (store) ──► decisions
//! ```
//!
//! Shutdown cascades: sources stop (at end of input, or on the shutdown signal), their bus
//! closes, and each stage drains what is queued before closing the next bus.

use anyhow::{Context, Result};
use palisade_detect::stage::DetectStage;
use palisade_detect::{BucketEngine, EngineConfig, Scenarios};
use palisade_ingest::parse::{ParseStage, ParserSet};
use palisade_ingest::source::{SourceConfig, SourceContext};
use palisade_publish::archive::EventRow;
use palisade_publish::{
    Notifier, NotifierOptions, ProfilesConfig, PublishStage, StorageConfig, Store,
};
use palisade_runtime::bus::{memory, Batch, BusSender, BusSpec, Discard};
use palisade_runtime::clock::SharedClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_runtime::stage::{run_stage, StageReport};
use palisade_runtime::BusError;
use palisade_schemas::{Alert, Event};
use std::time::{Duration, Instant};

/// What a pipeline run did.
#[derive(Debug)]
pub struct PipelineReport {
    /// Lines the sources read.
    pub lines: u64,
    /// The parse stage's counts.
    pub parse: StageReport,
    /// The detect stage's counts.
    pub detect: StageReport,
    /// The publish stage's counts (alerts in, decisions out).
    pub publish: StageReport,
    /// Wall time.
    pub elapsed: Duration,
    /// The store, with what was published.
    pub store: Store,
    /// Sources that failed, with their errors.
    pub source_errors: Vec<String>,
}

/// Everything the embedded pipeline needs.
pub struct Embedded<'a> {
    /// Sources to read.
    pub sources: Vec<SourceConfig>,
    /// Parsers to run.
    pub parsers: ParserSet,
    /// Postoverflows to run on overflows.
    pub postoverflows: ParserSet,
    /// Scenarios to pour events into.
    pub scenarios: Scenarios,
    /// The most live buckets.
    pub max_buckets: Option<usize>,
    /// Bus sizing.
    pub bus: &'a BusSpec,
    /// Storage settings.
    pub storage: &'a StorageConfig,
    /// The opened store.
    pub store: Store,
    /// Profiles and notifications.
    pub profiles: ProfilesConfig,
    /// Whether notifications are sent (not on replays).
    pub notify: bool,
    /// Stop signal for live sources.
    pub shutdown: Shutdown,
    /// Metrics registry.
    pub metrics: Registry,
    /// The clock.
    pub clock: SharedClock,
    /// Where parsed events are copied for the ClickHouse archive (`archive.events`).
    pub archive_events: Option<tokio::sync::mpsc::Sender<EventRow>>,
}

/// The parse stage's output when events are archived: each event is copied to the archive's
/// channel (waiting when it is full, so nothing is dropped), then the batch goes on.
struct Tee<W> {
    inner: W,
    archive: tokio::sync::mpsc::Sender<EventRow>,
}

impl<W: BusSender<Event>> BusSender<Event> for Tee<W> {
    async fn send(&mut self, batch: Batch<Event>) -> Result<(), BusError> {
        for e in &batch.items {
            // A closed archive channel (the archive stopped) only stops the copies.
            let _ = self.archive.send(EventRow::from_event(e)).await;
        }
        self.inner.send(batch).await
    }
}

/// The parse stage's output: the events bus, with the archive's tap when there is one.
enum ParseOut<W> {
    Plain(W),
    Tee(Tee<W>),
}

impl<W: BusSender<Event>> BusSender<Event> for ParseOut<W> {
    async fn send(&mut self, batch: Batch<Event>) -> Result<(), BusError> {
        match self {
            ParseOut::Plain(w) => w.send(batch).await,
            ParseOut::Tee(t) => t.send(batch).await,
        }
    }
}

/// Runs the embedded pipeline until every source has stopped and every stage has drained.
pub async fn run(p: Embedded<'_>) -> Result<PipelineReport> {
    let start = Instant::now();
    let metrics = p.metrics;
    let (lines_tx, lines_rx) = memory::channel::<Event>("lines", p.bus.capacity, &metrics);
    let (events_tx, events_rx) = memory::channel::<Event>("events", p.bus.capacity, &metrics);
    let (alerts_tx, alerts_rx) = memory::channel::<Alert>("alerts", p.bus.capacity, &metrics);

    let mut sources = tokio::task::JoinSet::new();
    for s in p.sources {
        let ctx = SourceContext {
            shutdown: p.shutdown.clone(),
            metrics: metrics.clone(),
            clock: p.clock.clone(),
            batch_size: p.bus.batch_size,
        };
        let tx = lines_tx.clone();
        let name = s.name.clone();
        sources.spawn(async move { (name, s.run(tx, ctx).await) });
    }
    drop(lines_tx);

    let (m, c) = (metrics.clone(), p.clock.clone());
    let parse = ParseStage::new(p.parsers, &metrics);
    let events_tx = match p.archive_events {
        Some(archive) => ParseOut::Tee(Tee {
            inner: events_tx,
            archive,
        }),
        None => ParseOut::Plain(events_tx),
    };
    let parse = tokio::spawn(async move { run_stage(parse, lines_rx, events_tx, c, &m).await });
    let (m, c) = (metrics.clone(), p.clock.clone());
    let engine = BucketEngine::new(p.scenarios, &metrics).with_config(EngineConfig {
        max_buckets: p.max_buckets,
    });
    let post = p.postoverflows;
    let detect = DetectStage::new(engine, &metrics)
        .with_clock(p.clock.clone())
        .with_postoverflow(move |ov| {
            // A failed postoverflow stage only skips the later ones; whitelisting drops the overflow.
            post.parse(ov);
            true
        });
    let detect = tokio::spawn(async move { run_stage(detect, events_rx, alerts_tx, c, &m).await });
    let (m, c) = (metrics.clone(), p.clock.clone());
    let (notifier, notify_worker) = if p.notify {
        let (n, w) = Notifier::new(
            p.profiles.notifications,
            NotifierOptions::default(),
            &metrics,
        );
        (n, Some(tokio::spawn(w.run())))
    } else {
        (Notifier::disabled(), None)
    };
    let publish = PublishStage::new(p.store, p.profiles.profiles, notifier, p.storage, &metrics)
        .with_clock(p.clock.clone());
    let publish = tokio::spawn(async move { run_stage(publish, alerts_rx, Discard, c, &m).await });

    let mut lines = 0;
    let mut source_errors = Vec::new();
    while let Some(joined) = sources.join_next().await {
        match joined {
            Ok((_, Ok(report))) => lines += report.lines,
            Ok((name, Err(e))) => {
                tracing::error!(source = %name, error = %e, "Source failed.");
                source_errors.push(format!("{name}: {e}"));
            }
            Err(e) => source_errors.push(format!("source task: {e}")),
        }
    }
    let (_, parse) = parse.await.context("parse stage panicked")??;
    let (_, detect) = detect.await.context("detect stage panicked")??;
    let (publish_stage, publish) = publish.await.context("publish stage panicked")??;
    let store = publish_stage.into_store();
    if let Some(w) = notify_worker {
        // The notifier ends once the stage (its sender) is gone and queued deliveries are done.
        w.await.context("notifier panicked")?;
    }
    Ok(PipelineReport {
        lines,
        parse,
        detect,
        publish,
        elapsed: start.elapsed(),
        store,
        source_errors,
    })
}
