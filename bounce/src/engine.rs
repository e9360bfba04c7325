//! The engine: sources send [`SourceEvent`]s, the engine keeps the [`ActiveSet`], expires what
//! runs out, and hands [`Batch`]es to every backend, each on a thread of its own.
//!
//! ```text
//!  Kafka topic ─┐                         ┌─► nftables thread ─► nft -f -
//!               ├─ SourceEvent ─► engine ─┼─► hook thread     ─► command (JSON on stdin)
//!  Local API ───┘   (ActiveSet, expiry)   ├─► feed thread     ─► files, /feeds/
//!                                         └─► HTTP view       ─► forward-auth answers
//! ```
//!
//! Nothing reaches the backends before the source delivered the whole set once (the topic read
//! to its end, or the Local API's startup answer): the first batch is a full one, so a restart
//! replaces what the previous run left in place in one step. When the source is lost, the last
//! known set stays applied (and keeps expiring locally); on reconnect the Local API's snapshot is
//! reconciled against it, and the topic simply continues from where it was.
//!
//! A backend that fails keeps its batch and retries it, merged with what arrived meanwhile, every
//! second, so a transient `nft` failure delays enforcement but loses nothing.

use crate::backend::Backend;
use crate::set::{ActiveSet, Batch};
use chrono::Utc;
use palisade_runtime::metrics::{MetricDef, Registry};
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{Decision, DecisionChange};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

static ACTIVE: MetricDef =
    MetricDef::gauge("palisade_bounce_decisions_active", "Decisions in force.");
static RECEIVED: MetricDef = MetricDef::counter(
    "palisade_bounce_source_changes_total",
    "Decision changes received from the source.",
);
static SOURCE_ERRORS: MetricDef = MetricDef::counter(
    "palisade_bounce_source_errors_total",
    "Times the source could not be read (the last known set stays applied).",
);
static CONNECTED: MetricDef = MetricDef::gauge(
    "palisade_bounce_source_connected_bool",
    "1 while the source answers, 0 after an error until it answers again.",
);
static APPLIED: MetricDef = MetricDef::counter(
    "palisade_bounce_backend_changes_total",
    "Additions and deletions applied by a backend.",
);
static BATCHES: MetricDef = MetricDef::counter(
    "palisade_bounce_backend_batches_total",
    "Batches applied by a backend.",
);
static BACKEND_ERRORS: MetricDef = MetricDef::counter(
    "palisade_bounce_backend_errors_total",
    "Batches a backend failed to apply (retried).",
);
static APPLY_MS: MetricDef = MetricDef::gauge(
    "palisade_bounce_backend_apply_milliseconds",
    "How long the last batch took to apply.",
);

/// What a source tells the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// The whole active set (the Local API's `startup=true`): reconciled against what is held.
    Snapshot(Vec<Decision>),
    /// A Local API stream delta.
    Stream {
        /// Added decisions.
        new: Vec<Decision>,
        /// Deleted or expired decisions.
        deleted: Vec<Decision>,
    },
    /// Messages of the decision topic.
    Topic(Vec<DecisionChange>),
    /// The topic was read to its end once: what is held is the whole set. (Health is reported
    /// by [`SourceEvent::Connected`] and [`SourceEvent::Lost`].)
    CaughtUp,
    /// The source answers again (after [`SourceEvent::Lost`]).
    Connected,
    /// The source could not be read; the last known set stays applied.
    Lost(String),
}

/// Whether the source is healthy, shared with the HTTP endpoint (fail-open or fail-closed).
pub type Health = Arc<AtomicBool>;

/// Called after a backend applied a batch: backend name, the batch, when its apply finished.
/// Benchmarks and tests hook in here to time enforcement.
pub type Observer = Arc<dyn Fn(&'static str, &Batch, Instant) + Send + Sync>;

struct Applier {
    tx: std::sync::mpsc::Sender<Batch>,
    thread: std::thread::JoinHandle<()>,
}

fn spawn_applier(
    mut backend: Box<dyn Backend>,
    metrics: &Registry,
    observer: Option<Observer>,
) -> Applier {
    let name = backend.name();
    let applied = metrics.counter(&APPLIED, &[("backend", name)]);
    let batches = metrics.counter(&BATCHES, &[("backend", name)]);
    let errors = metrics.counter(&BACKEND_ERRORS, &[("backend", name)]);
    let apply_ms = metrics.gauge(&APPLY_MS, &[("backend", name)]);
    let (tx, rx) = std::sync::mpsc::channel::<Batch>();
    let thread = std::thread::Builder::new()
        .name(format!("bounce-{name}"))
        .spawn(move || {
            while let Ok(mut batch) = rx.recv() {
                // What queued up while the previous batch was applied goes in at once.
                while let Ok(next) = rx.try_recv() {
                    batch = batch.merge(next);
                }
                loop {
                    let start = Instant::now();
                    match backend.apply(&batch) {
                        Ok(()) => {
                            let done = Instant::now();
                            apply_ms.set((done - start).as_millis() as i64);
                            batches.inc();
                            applied.add((batch.adds.len() + batch.deletes.len()) as u64);
                            if let Some(o) = &observer {
                                o(name, &batch, done);
                            }
                            tracing::debug!(
                                backend = name,
                                full = batch.full,
                                adds = batch.adds.len(),
                                deletes = batch.deletes.len(),
                                ms = (done - start).as_millis() as u64,
                                "Batch applied."
                            );
                            break;
                        }
                        Err(error) => {
                            errors.inc();
                            tracing::warn!(backend = name, %error, "Batch failed; retrying in 1s.");
                            std::thread::sleep(Duration::from_secs(1));
                            loop {
                                match rx.try_recv() {
                                    Ok(next) => batch = batch.merge(next),
                                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                                }
                            }
                        }
                    }
                }
            }
        })
        .expect("spawning a backend thread");
    Applier { tx, thread }
}

/// The engine's parts.
pub struct Engine {
    /// The backends.
    pub backends: Vec<Box<dyn Backend>>,
    /// Source health, for the HTTP endpoint.
    pub health: Health,
    /// Metrics.
    pub metrics: Registry,
    /// Called after each applied batch.
    pub observer: Option<Observer>,
}

impl Engine {
    /// Runs until the sources are gone (the channel closes) or shutdown; then lets every backend
    /// finish what it was given.
    pub async fn run(self, mut rx: mpsc::Receiver<SourceEvent>, shutdown: Shutdown) {
        let active = self.metrics.gauge(&ACTIVE, &[]);
        let received = self.metrics.counter(&RECEIVED, &[]);
        let source_errors = self.metrics.counter(&SOURCE_ERRORS, &[]);
        let connected = self.metrics.gauge(&CONNECTED, &[]);
        let appliers: Vec<Applier> = self
            .backends
            .into_iter()
            .map(|b| spawn_applier(b, &self.metrics, self.observer.clone()))
            .collect();
        let send = |b: Batch| {
            if b.is_empty() {
                return;
            }
            for a in &appliers {
                let _ = a.tx.send(b.clone());
            }
        };
        let mut set = ActiveSet::new();
        let mut synced = false;
        // The first loss is logged even before the source ever answered.
        let mut warned = false;
        loop {
            let wait = set
                .next_expiry()
                .map(|u| (u - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(3600))
                .min(Duration::from_secs(3600));
            let event = tokio::select! {
                _ = shutdown.wait() => break,
                _ = tokio::time::sleep(wait) => None,
                e = rx.recv() => match e { Some(e) => Some(e), None => break },
            };
            let now = Utc::now();
            let mut batch = set.expire(now);
            match event {
                None => {}
                Some(SourceEvent::Snapshot(ds)) => {
                    received.add(ds.len() as u64);
                    let diff = set.replace(&ds, now);
                    self.health.store(true, Ordering::Relaxed);
                    connected.set(1);
                    if synced {
                        batch = batch.merge(diff);
                    } else {
                        synced = true;
                        batch = set.full_batch();
                        tracing::info!(
                            decisions = set.len(),
                            "Active set loaded from the Local API."
                        );
                    }
                }
                Some(SourceEvent::Stream { new, deleted }) => {
                    received.add((new.len() + deleted.len()) as u64);
                    batch = batch.merge(set.apply_stream(&new, &deleted, now));
                }
                Some(SourceEvent::Topic(changes)) => {
                    received.add(changes.len() as u64);
                    batch = batch.merge(set.apply_topic(&changes, now));
                }
                Some(SourceEvent::CaughtUp) if !synced => {
                    synced = true;
                    batch = set.full_batch();
                    tracing::info!(
                        decisions = set.len(),
                        "Active set rebuilt from the decision topic."
                    );
                }
                Some(SourceEvent::CaughtUp) => {}
                Some(SourceEvent::Connected) => {
                    self.health.store(true, Ordering::Relaxed);
                    connected.set(1);
                }
                Some(SourceEvent::Lost(reason)) => {
                    source_errors.inc();
                    let was = self.health.swap(false, Ordering::Relaxed);
                    if was || !std::mem::replace(&mut warned, true) {
                        tracing::warn!(%reason, decisions = set.len(), "Decision source lost; the last known set stays applied.");
                    }
                    connected.set(0);
                }
            }
            active.set(set.len() as i64);
            if synced {
                send(batch);
            }
        }
        for a in appliers {
            drop(a.tx);
            let _ = a.thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Recorder(Arc<Mutex<Vec<Batch>>>, bool);

    impl Backend for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn apply(&mut self, batch: &Batch) -> Result<(), crate::BounceError> {
            if self.1 {
                self.1 = false;
                return Err(crate::BounceError::backend("recorder", "first try fails"));
            }
            self.0.lock().unwrap().push(batch.clone());
            Ok(())
        }
    }

    fn decision(value: &str, secs: i64) -> Decision {
        Decision {
            duration: format!("{secs}s"),
            id: 0,
            origin: "t".into(),
            scenario: "t/s".into(),
            scope: "Ip".into(),
            simulated: None,
            kind: "ban".into(),
            until: Some(Utc::now() + chrono::TimeDelta::seconds(secs)),
            uuid: None,
            value: value.into(),
        }
    }

    fn add(d: Decision) -> DecisionChange {
        DecisionChange {
            action: palisade_schemas::DecisionAction::Add,
            decision: d,
        }
    }

    #[tokio::test]
    async fn nothing_is_applied_before_the_whole_set_then_changes_and_expiries() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let health = Health::default();
        let engine = Engine {
            backends: vec![Box::new(Recorder(got.clone(), true))],
            health: health.clone(),
            metrics: Registry::new(),
            observer: None,
        };
        let (tx, rx) = mpsc::channel(16);
        let shutdown = Shutdown::new();
        let task = tokio::spawn(engine.run(rx, shutdown.clone()));
        tx.send(SourceEvent::Topic(vec![add(decision("192.0.2.1", 60))]))
            .await
            .unwrap();
        tx.send(SourceEvent::Topic(vec![add(decision("192.0.2.2", 1))]))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            got.lock().unwrap().is_empty(),
            "not before the topic was read"
        );
        assert!(!health.load(Ordering::Relaxed));
        tx.send(SourceEvent::Connected).await.unwrap();
        tx.send(SourceEvent::CaughtUp).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(health.load(Ordering::Relaxed));
        tx.send(SourceEvent::Lost("gone".into())).await.unwrap();
        tx.send(SourceEvent::Topic(vec![add(decision("192.0.2.3", 60))]))
            .await
            .unwrap();
        // The 1 s decision expires locally; the first (failing) apply is retried after 1 s.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        drop(tx);
        task.await.unwrap();
        let got = got.lock().unwrap();
        let all = got.iter().cloned().fold(Batch::default(), Batch::merge);
        assert!(got[0].full, "{got:?}");
        let mut values: Vec<&str> = all.adds.iter().map(|e| e.key.value.as_str()).collect();
        values.sort();
        assert_eq!(values, ["192.0.2.1", "192.0.2.3"], "{got:?}");
        assert!(!health.load(Ordering::Relaxed), "lost");
    }
}
