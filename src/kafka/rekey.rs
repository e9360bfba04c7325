//! The global view of SQL scenarios in the distributed mode: re-keying events.
//!
//! ```text
//! events (key: source IP) ──[detect]──► buckets, per-address SQL scenarios ──► alerts
//!                            │ RekeyTap: for each SQL scenario with another `partition`,
//!                            │ events its filter accepts, keyed `<scenario>|<key value>`
//!                            ▼
//!                          rekey ──[detect, group `<detect group>.rekey`: RekeyStage]──► alerts
//! ```
//!
//! A window of the `events` consumer holds only the addresses of its partitions, so a scenario
//! counting per user, per country or over everything (`partition:` other than `source_ip`) runs
//! on the re-key topic instead, where every event of one key (of `global`: every event) lands
//! on one partition, hence on one instance. Each scenario runs on exactly one of the two
//! streams: no double alerts.
//!
//! At least once: [`RekeyTap`] passes a batch's ack on only once the brokers have
//! acknowledged its re-keyed records ([`KafkaSender`]); the batch's offsets are committed when
//! the stage's alerts are acknowledged in turn, so a crash replays what was not both re-keyed
//! and detected. Records re-published by a replay are counted twice by their window; alert
//! uuids are deterministic, so a replayed alert does not ban twice. Events re-read only to
//! rebuild bucket state are not re-keyed again (they were before).

use super::consumer::{KafkaReceiver, ReceiverOptions};
use super::metrics::REKEYED;
use super::producer::{DeadLetter, Encode, KafkaSender, Record};
use super::roles::{alert_record, ReceiverHandle};
use super::spec::KafkaConfig;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use palisade_detect::sql::{Partition, Selector, SqlScenario};
use palisade_detect::stage::DetectStage;
use palisade_detect::{BucketEngine, Scenarios};
use palisade_ingest::parse::ParserSet;
use palisade_runtime::bus::{Ack, Batch, BusReceiver, BusSender};
use palisade_runtime::clock::SharedClock;
use palisade_runtime::metrics::{Counter, Registry};
use palisade_runtime::shutdown::Shutdown;
use palisade_runtime::stage::{run_stage, Stage, StageReport};
use palisade_runtime::StageError;
use palisade_schemas::{Alert, Event, EventType};
use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The key of `global` scenarios' records: one key, one partition.
const GLOBAL_KEY: &str = "*";

/// One event re-published for one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rekeyed {
    /// The scenario it is for (only that scenario sees it on the re-keyed stream).
    pub scenario: String,
    /// The record key, `<scenario>|<key value>` (not in the payload).
    #[serde(skip)]
    pub key: String,
    /// The event.
    pub event: Event,
}

/// The re-key topic's record of `r`: keyed `<scenario>|<key value>`, timed at the event time.
pub fn rekey_record(r: &Rekeyed) -> Record {
    Record {
        key: Some(r.key.clone()),
        payload: Some(serde_json::to_vec(r).unwrap_or_default()),
        timestamp_ms: r
            .event
            .time
            .or(r.event.line.time)
            .map(|t| t.timestamp_millis()),
    }
}

/// Decodes a re-key topic message for one of `known` scenarios (others are refused, so they
/// go to the dead-letter topic with the reason).
pub fn decode_rekeyed(bytes: &[u8], rebuild: bool, known: &[String]) -> Result<Rekeyed, String> {
    let mut r: Rekeyed =
        serde_json::from_slice(bytes).map_err(|e| format!("not a re-keyed event: {e}"))?;
    if !known.contains(&r.scenario) {
        return Err(format!(
            "re-keyed for scenario {:?}, which this detect instance does not run",
            r.scenario
        ));
    }
    r.event.rebuild = rebuild;
    Ok(r)
}

/// The `events` receiver of the detect role, re-publishing what the re-keyed scenarios need.
///
/// A batch goes on to the detect stage at once, and the next one is taken at once, while its
/// re-keyed records are being delivered: a stalled delivery (a broker outage, for instance) must
/// not hold events back from the buckets, which in live mode leak on the clock, so late events
/// may no longer overflow. A batch's own ack is passed on, in order, by an acker task once both
/// the stage acked it and its records were acknowledged by the brokers, so offsets are committed
/// in order and only for batches whose re-keyed records are safe. At the end the acker is
/// drained before the receiver's final commit.
pub struct RekeyTap {
    inner: Option<KafkaReceiver<Event>>,
    targets: Vec<(Selector, Counter)>,
    sender: KafkaSender<Rekeyed>,
    /// Batches handed on: their re-key delivery, the stage's ack of them, their own ack.
    acks: Option<tokio::sync::mpsc::UnboundedSender<PendingAck>>,
    acker: Option<tokio::task::JoinHandle<()>>,
}

type PendingAck = (
    tokio::task::JoinHandle<()>,
    tokio::sync::oneshot::Receiver<()>,
    Ack,
);

impl RekeyTap {
    /// Taps `inner` for the scenarios `selectors` (none with `partition: source_ip`).
    pub fn new(
        inner: KafkaReceiver<Event>,
        selectors: Vec<Selector>,
        sender: KafkaSender<Rekeyed>,
        metrics: &Registry,
    ) -> Self {
        let targets = selectors
            .into_iter()
            .map(|s| {
                let c = metrics.counter(&REKEYED, &[("scenario", s.name())]);
                (s, c)
            })
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PendingAck>();
        let acker = tokio::spawn(async move {
            while let Some((delivered, handled, ack)) = rx.recv().await {
                // Delivery retries until the brokers acknowledge; a batch the stage dropped
                // unacked (`handled` fails) is not acked.
                let _ = delivered.await;
                if handled.await.is_ok() {
                    ack.ack();
                }
            }
        });
        RekeyTap {
            inner: Some(inner),
            targets,
            sender,
            acks: Some(tx),
            acker: Some(acker),
        }
    }

    /// The records `items` make, one per event and scenario whose filter accepts it.
    fn rekey(&self, items: &mut [Event]) -> Vec<(usize, Rekeyed)> {
        let mut out = Vec::new();
        for e in items.iter_mut() {
            if e.rebuild || e.kind != EventType::Log {
                continue;
            }
            for (i, (sel, _)) in self.targets.iter().enumerate() {
                if !sel.accepts(e) {
                    continue;
                }
                let Some(value) = sel.key(e) else {
                    continue;
                };
                let value = match sel.partition() {
                    Partition::Global => GLOBAL_KEY,
                    _ => value,
                };
                out.push((
                    i,
                    Rekeyed {
                        scenario: sel.name().to_string(),
                        key: format!("{}|{value}", sel.name()),
                        event: sel.slim(e),
                    },
                ));
            }
        }
        out
    }
}

impl BusReceiver<Event> for RekeyTap {
    async fn recv(&mut self) -> Option<Batch<Event>> {
        let Some(mut batch) = self.inner.as_mut()?.recv().await else {
            // The end: every pending ack first, then the final commit.
            self.acks.take();
            if let Some(acker) = self.acker.take() {
                let _ = acker.await;
            }
            if let Some(rx) = self.inner.take() {
                rx.finish().await;
            }
            return None;
        };
        let records = self.rekey(&mut batch.items);
        let mut per = vec![0u64; self.targets.len()];
        let items: Vec<Rekeyed> = records
            .into_iter()
            .map(|(i, r)| {
                per[i] += 1;
                r
            })
            .collect();
        let mut sender = self.sender.clone();
        let counters: Vec<Counter> = self.targets.iter().map(|(_, c)| c.clone()).collect();
        let delivered = tokio::spawn(async move {
            if items.is_empty() {
                return;
            }
            // Returns once the brokers acknowledged every record (retrying until they do).
            let _ = sender.send(Batch::new(items)).await;
            for (c, n) in counters.iter().zip(per) {
                c.add(n);
            }
        });
        let (tx, handled) = tokio::sync::oneshot::channel();
        let ack = std::mem::replace(
            &mut batch.ack,
            Ack::new(move || {
                let _ = tx.send(());
            }),
        );
        if let Some(acks) = &self.acks {
            let _ = acks.send((delivered, handled, ack));
        }
        Some(batch)
    }
}

/// The re-key topic's stage: one detect stage per re-keyed scenario, each fed only the
/// records made for it.
pub struct RekeyStage {
    stages: Vec<DetectStage<BucketEngine>>,
    index: HashMap<String, usize>,
}

impl RekeyStage {
    /// `stages`, each running the one scenario named alongside.
    pub fn new(stages: Vec<(String, DetectStage<BucketEngine>)>) -> Self {
        let mut index = HashMap::new();
        let mut list = Vec::new();
        for (i, (name, s)) in stages.into_iter().enumerate() {
            index.insert(name, i);
            list.push(s);
        }
        RekeyStage {
            stages: list,
            index,
        }
    }

    /// The scenarios it runs.
    pub fn scenarios(&self) -> Vec<String> {
        self.index.keys().cloned().collect()
    }
}

impl Stage for RekeyStage {
    type In = Rekeyed;
    type Out = Alert;

    fn name(&self) -> &'static str {
        "detect-rekey"
    }

    async fn process(
        &mut self,
        items: &mut Vec<Rekeyed>,
        out: &mut Vec<Alert>,
    ) -> Result<(), StageError> {
        let mut per: Vec<Vec<Event>> = vec![Vec::new(); self.stages.len()];
        for r in items.drain(..) {
            match self.index.get(&r.scenario) {
                Some(&i) => per[i].push(r.event),
                // The decoder refuses unknown scenarios; nothing else gets here.
                None => {
                    tracing::warn!(scenario = %r.scenario, "Re-keyed event for a scenario not run here.")
                }
            }
        }
        for (stage, mut events) in self.stages.iter_mut().zip(per) {
            if !events.is_empty() {
                stage.process(&mut events, out).await?;
            }
        }
        Ok(())
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    async fn on_tick(
        &mut self,
        now: DateTime<Utc>,
        out: &mut Vec<Alert>,
    ) -> Result<(), StageError> {
        for s in &mut self.stages {
            s.on_tick(now, out).await?;
        }
        Ok(())
    }

    async fn on_close(&mut self, out: &mut Vec<Alert>) -> Result<(), StageError> {
        for s in &mut self.stages {
            s.on_close(out).await?;
        }
        Ok(())
    }
}

/// The postoverflow hook of the detect role's stages (postoverflows shared between them).
pub fn postoverflow_hook(post: Arc<ParserSet>) -> impl FnMut(&mut Event) -> bool + Send + 'static {
    move |ov| {
        post.parse(ov);
        true
    }
}

/// What the re-key consumer of a detect instance needs.
pub struct RekeyRole<'a> {
    /// Kafka settings.
    pub cfg: &'a KafkaConfig,
    /// The detect role's consumer group (this consumer's is `<group>.rekey`).
    pub detect_group: String,
    /// The scenarios run on the re-keyed stream.
    pub scenarios: Vec<SqlScenario>,
    /// The process's producer.
    pub producer: FutureProducer,
    /// Postoverflows.
    pub postoverflows: Arc<ParserSet>,
    /// Stop signal.
    pub shutdown: Shutdown,
    /// Metrics.
    pub metrics: Registry,
    /// Clock.
    pub clock: SharedClock,
}

/// Subscribes the re-key consumer and returns the task running [`RekeyStage`] on it, its
/// alerts to the alerts topic.
pub fn start(
    r: RekeyRole<'_>,
) -> anyhow::Result<impl std::future::Future<Output = Result<StageReport, StageError>> + Send> {
    let topics = &r.cfg.spec.topics;
    // Re-read the longest window (plus lateness) after an assignment to rebuild open windows.
    let window = r
        .scenarios
        .iter()
        .map(SqlScenario::horizon)
        .max()
        .unwrap_or_default()
        .max(Duration::from_secs(1));
    let mut stages = Vec::new();
    for s in r.scenarios {
        let name = s.name().to_string();
        // The filter ran at the tap; the records are slim copies (see `Selector::slim`).
        let engine = BucketEngine::new(Scenarios::from_sql(vec![s.without_filter()]), &r.metrics);
        let stage = DetectStage::new(engine, &r.metrics)
            .with_clock(r.clock.clone())
            .with_tick_interval(Some(Duration::from_secs(1)))
            .with_idle_advance(true)
            .with_postoverflow(postoverflow_hook(r.postoverflows.clone()));
        stages.push((name, stage));
    }
    let stage = RekeyStage::new(stages);
    let known = stage.scenarios();
    let rx = KafkaReceiver::subscribe(
        r.cfg,
        ReceiverOptions {
            role: "detect-rekey",
            group: format!("{}.rekey", r.detect_group),
            topics: vec![topics.rekey.name.clone()],
            decode: Box::new(move |bytes, _, rebuild| decode_rekeyed(bytes, rebuild, &known)),
            dead_letter: Some(DeadLetter::new(
                r.producer.clone(),
                &topics.dead_letter.name,
                &r.metrics,
            )),
            rebuild_window: window,
        },
        r.shutdown.clone(),
        &r.metrics,
    )
    .context("subscribing the detect role to the re-key topic")?;
    let encode: Encode<Alert> = Arc::new(alert_record);
    let tx = KafkaSender::new(r.producer, &topics.alerts.name, encode, &r.metrics);
    let (m, c) = (r.metrics, r.clock);
    Ok(async move {
        run_stage(stage, ReceiverHandle(Some(rx)), tx, c, &m)
            .await
            .map(|(_, rep)| rep)
    })
}
