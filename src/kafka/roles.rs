//! The distributed mode: each role is a consumer group on its input topic, running the same
//! stage as the embedded pipeline, and producing to the next topic.
//!
//! ```text
//! shippers ──► logs ──[ingest: codec → parse/enrich]──► events (key: source IP)
//!          ──[detect: buckets]──► alerts ──[publish: profiles, store]──► decisions (compacted)
//!                    └──► rekey (key: scenario|user, ...) ──[detect: global SQL scenarios]──► alerts
//! ```
//!
//! SQL scenarios whose `partition` is not `source_ip` run on the re-key topic ([`super::rekey`]).
//!
//! Every role commits a batch's offsets only after what the batch produced was acknowledged by
//! the brokers (at least once, end to end). Alerts and decisions carry deterministic uuids, so a
//! replayed alert is stored once and bans once. A process may run several roles (`--role all`).

use super::consumer::{KafkaReceiver, ReceiverOptions};
use super::metrics::{PRODUCED, PRODUCE_RETRIES};
use super::producer::{produce_all, producer, DeadLetter, Encode, KafkaSender, Record};
use super::rekey::{self, postoverflow_hook, rekey_record, RekeyRole, RekeyTap, Rekeyed};
use super::spec::KafkaConfig;
use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use palisade_detect::stage::DetectStage;
use palisade_detect::{BucketEngine, EngineConfig, Scenarios};
use palisade_ingest::parse::{ParseStage, ParserSet};
use palisade_publish::{
    Notifier, NotifierOptions, ProfilesConfig, PublishStage, StorageConfig, Store,
};
use palisade_runtime::bus::{Batch, BusSender};
use palisade_runtime::clock::SharedClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_runtime::stage::{run_stage, StageReport};
use palisade_runtime::BusError;
use palisade_schemas::{Alert, Decision, DecisionAction, DecisionChange, Event};
use rdkafka::producer::FutureProducer;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A role of the distributed mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Role {
    /// Parse and enrich: logs topic → events topic (stateless).
    Ingest,
    /// Buckets and scenarios: events topic → alerts topic (stateful, per source IP).
    Detect,
    /// Profiles, decisions, archive: alerts topic → store and decisions topic.
    Publish,
    /// The three roles in one process.
    All,
    /// Only the Local API (`api:` section), its decisions read from the decision topic: a
    /// replica sharing no database. The API also runs next to any other role when configured.
    Api,
}

impl Role {
    /// The roles `roles` stands for (`all` expanded, sorted, deduplicated).
    pub fn expand(roles: &[Role]) -> Vec<Role> {
        let mut out: Vec<Role> = roles
            .iter()
            .flat_map(|r| match r {
                Role::All => vec![Role::Ingest, Role::Detect, Role::Publish],
                Role::Api => vec![],
                r => vec![*r],
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Detect => "detect",
            Role::Publish => "publish",
            Role::All => "all",
            Role::Api => "api",
        }
    }
}

/// What the roles need.
pub struct Roles<'a> {
    /// Kafka settings.
    pub kafka: &'a KafkaConfig,
    /// The roles to run.
    pub roles: Vec<Role>,
    /// Parsers (ingest).
    pub parsers: Option<ParserSet>,
    /// Postoverflows (detect).
    pub postoverflows: Option<ParserSet>,
    /// Scenarios (detect).
    pub scenarios: Option<Scenarios>,
    /// Bucket cap (detect).
    pub max_buckets: Option<usize>,
    /// Store (publish).
    pub store: Option<Store>,
    /// Storage settings (publish).
    pub storage: &'a StorageConfig,
    /// Profiles (publish).
    pub profiles: Option<ProfilesConfig>,
    /// Stop signal.
    pub shutdown: Shutdown,
    /// Metrics.
    pub metrics: Registry,
    /// Clock.
    pub clock: SharedClock,
}

/// What each role did.
#[derive(Debug, Default)]
pub struct RolesReport {
    /// The ingest role's parse stage.
    pub ingest: Option<StageReport>,
    /// The detect role's stage.
    pub detect: Option<StageReport>,
    /// The publish role's stage.
    pub publish: Option<StageReport>,
    /// The detect role's stage on the re-key topic (when SQL scenarios need it).
    pub detect_rekey: Option<StageReport>,
}

/// A task of [`run`]: a role's stage, or the detect role's re-key stage.
#[derive(Debug, Clone, Copy)]
enum Task {
    Role(Role),
    Rekey,
}

impl Task {
    fn name(self) -> &'static str {
        match self {
            Task::Role(r) => r.name(),
            Task::Rekey => "detect-rekey",
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Serialising plain data structures to a Vec cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

fn millis(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

/// The events topic's record of an event: keyed by source IP, timed at the event time.
pub fn event_record(e: &Event) -> Record {
    Record {
        key: e.source_ip().map(str::to_string),
        payload: Some(json(e)),
        timestamp_ms: millis(e.time.or(e.line.time)),
    }
}

/// The alerts topic's record of an alert: keyed by scope and value.
pub fn alert_record(a: &Alert) -> Record {
    Record {
        key: Some(format!("{}:{}", a.source.scope, a.source.value)),
        payload: Some(json(a)),
        timestamp_ms: None,
    }
}

/// Decodes an events-topic message.
pub fn decode_event(bytes: &[u8], rebuild: bool) -> Result<Event, String> {
    let mut e: Event = serde_json::from_slice(bytes).map_err(|e| format!("not an event: {e}"))?;
    e.rebuild = rebuild;
    Ok(e)
}

/// Runs the roles until shutdown; each drains and commits before returning.
pub async fn run(mut r: Roles<'_>) -> Result<RolesReport> {
    let cfg = r.kafka;
    let topics = &cfg.spec.topics;
    let group = |role: Role| format!("{}-{}", cfg.spec.group_prefix, role.name());
    let prod = producer(cfg).context("creating the Kafka producer")?;
    let mut report = RolesReport::default();
    let mut tasks = tokio::task::JoinSet::new();

    for role in Role::expand(&r.roles) {
        match role {
            Role::Ingest => {
                let parsers = r.parsers.take().context("ingest needs parsers")?;
                let codec = cfg.codec.clone();
                let topic = topics.logs.name.clone();
                let clock = r.clock.clone();
                let rx = KafkaReceiver::subscribe(
                    cfg,
                    ReceiverOptions {
                        role: "ingest",
                        group: group(role),
                        topics: vec![topic.clone()],
                        decode: Box::new(move |bytes, time, _| {
                            codec
                                .decode(bytes, &topic, time, clock.now())
                                .map_err(|e| e.to_string())
                        }),
                        dead_letter: Some(DeadLetter::new(
                            prod.clone(),
                            &topics.dead_letter.name,
                            &r.metrics,
                        )),
                        rebuild_window: Duration::ZERO,
                    },
                    r.shutdown.clone(),
                    &r.metrics,
                )
                .context("subscribing the ingest role")?;
                let encode: Encode<Event> = Arc::new(event_record);
                let tx = KafkaSender::new(prod.clone(), &topics.events.name, encode, &r.metrics);
                let stage = ParseStage::new(parsers, &r.metrics);
                let (m, c) = (r.metrics.clone(), r.clock.clone());
                tasks.spawn(async move {
                    let res = run_stage(stage, ReceiverHandle(Some(rx)), tx, c, &m).await;
                    (Task::Role(Role::Ingest), res.map(|(_, rep)| rep))
                });
            }
            Role::Detect => {
                let mut scenarios = r.scenarios.take().context("detect needs scenarios")?;
                // SQL scenarios keyed otherwise than by address run on the re-key topic.
                let rekeyed = scenarios.take_rekeyed();
                let window = cfg
                    .rebuild_window
                    .unwrap_or_else(|| scenarios.state_horizon())
                    .max(Duration::from_secs(1));
                let rx = KafkaReceiver::subscribe(
                    cfg,
                    ReceiverOptions {
                        role: "detect",
                        group: group(role),
                        topics: vec![topics.events.name.clone()],
                        decode: Box::new(|bytes, _, rebuild| decode_event(bytes, rebuild)),
                        dead_letter: Some(DeadLetter::new(
                            prod.clone(),
                            &topics.dead_letter.name,
                            &r.metrics,
                        )),
                        rebuild_window: window,
                    },
                    r.shutdown.clone(),
                    &r.metrics,
                )
                .context("subscribing the detect role")?;
                let encode: Encode<Alert> = Arc::new(alert_record);
                let tx = KafkaSender::new(prod.clone(), &topics.alerts.name, encode, &r.metrics);
                let engine = BucketEngine::new(scenarios, &r.metrics).with_config(EngineConfig {
                    max_buckets: r.max_buckets,
                });
                let post = Arc::new(
                    r.postoverflows
                        .take()
                        .context("detect needs postoverflows")?,
                );
                let stage = DetectStage::new(engine, &r.metrics)
                    .with_clock(r.clock.clone())
                    .with_tick_interval(Some(Duration::from_secs(1)))
                    .with_idle_advance(true)
                    .with_postoverflow(postoverflow_hook(post.clone()));
                let (m, c) = (r.metrics.clone(), r.clock.clone());
                if rekeyed.is_empty() {
                    let rx = ReceiverHandle(Some(rx));
                    tasks.spawn(async move {
                        let res = run_stage(stage, rx, tx, c, &m).await;
                        (Task::Role(Role::Detect), res.map(|(_, rep)| rep))
                    });
                    continue;
                }
                let selectors = rekeyed.iter().map(|s| s.selector()).collect();
                let encode: Encode<Rekeyed> = Arc::new(rekey_record);
                let rekey_tx =
                    KafkaSender::new(prod.clone(), &topics.rekey.name, encode, &r.metrics);
                let rx = RekeyTap::new(rx, selectors, rekey_tx, &r.metrics);
                tasks.spawn(async move {
                    let res = run_stage(stage, rx, tx, c, &m).await;
                    (Task::Role(Role::Detect), res.map(|(_, rep)| rep))
                });
                let task = rekey::start(RekeyRole {
                    cfg,
                    detect_group: group(role),
                    scenarios: rekeyed,
                    producer: prod.clone(),
                    postoverflows: post,
                    shutdown: r.shutdown.clone(),
                    metrics: r.metrics.clone(),
                    clock: r.clock.clone(),
                })?;
                tasks.spawn(async move { (Task::Rekey, task.await) });
            }
            Role::Publish => {
                let store = r.store.take().context("publish needs a store")?;
                let profiles = r.profiles.take().unwrap_or_default();
                let rx = KafkaReceiver::subscribe(
                    cfg,
                    ReceiverOptions {
                        role: "publish",
                        group: group(role),
                        topics: vec![topics.alerts.name.clone()],
                        decode: Box::new(|bytes, _, _| {
                            serde_json::from_slice::<Alert>(bytes)
                                .map_err(|e| format!("not an alert: {e}"))
                        }),
                        dead_letter: Some(DeadLetter::new(
                            prod.clone(),
                            &topics.dead_letter.name,
                            &r.metrics,
                        )),
                        rebuild_window: Duration::ZERO,
                    },
                    r.shutdown.clone(),
                    &r.metrics,
                )
                .context("subscribing the publish role")?;
                let expiries = Expiries::load(&store, r.clock.now());
                let tx = DecisionSender::new(
                    prod.clone(),
                    &topics.decisions.name,
                    expiries.clone(),
                    &r.metrics,
                );
                tokio::spawn(expire_loop(
                    prod.clone(),
                    topics.decisions.name.clone(),
                    expiries,
                    r.clock.clone(),
                    r.shutdown.clone(),
                    r.metrics.clone(),
                ));
                let (notifier, _worker) = {
                    let (n, w) = Notifier::new(
                        profiles.notifications,
                        NotifierOptions::default(),
                        &r.metrics,
                    );
                    (n, tokio::spawn(w.run()))
                };
                let stage =
                    PublishStage::new(store, profiles.profiles, notifier, r.storage, &r.metrics)
                        .with_clock(r.clock.clone());
                let (m, c) = (r.metrics.clone(), r.clock.clone());
                tasks.spawn(async move {
                    let res = run_stage(stage, ReceiverHandle(Some(rx)), tx, c, &m).await;
                    (Task::Role(Role::Publish), res.map(|(_, rep)| rep))
                });
            }
            Role::All | Role::Api => unreachable!("expanded"),
        }
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((task, Ok(rep))) => match task {
                Task::Role(Role::Ingest) => report.ingest = Some(rep),
                Task::Role(Role::Detect) => report.detect = Some(rep),
                Task::Role(Role::Publish) => report.publish = Some(rep),
                Task::Rekey => report.detect_rekey = Some(rep),
                Task::Role(Role::All | Role::Api) => {}
            },
            Ok((role, Err(e))) => {
                tracing::error!(role = role.name(), error = %e, "Role failed.");
                first_error.get_or_insert_with(|| anyhow::anyhow!("role {}: {e}", role.name()));
            }
            Err(e) => {
                first_error.get_or_insert_with(|| anyhow::anyhow!("role task: {e}"));
            }
        }
    }
    if let Err(e) = rdkafka::producer::Producer::flush(
        &prod,
        rdkafka::util::Timeout::After(Duration::from_secs(10)),
    ) {
        tracing::warn!(error = %e, "Producer flush at shutdown failed.");
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// A receiver that, once the stage has drained (its `recv` returned `None`), waits for the
/// committer's final commit before the role's task ends.
pub(super) struct ReceiverHandle<T: Send + 'static>(pub(super) Option<KafkaReceiver<T>>);

impl<T: Send + 'static> palisade_runtime::bus::BusReceiver<T> for ReceiverHandle<T> {
    async fn recv(&mut self) -> Option<Batch<T>> {
        let rx = self.0.as_mut()?;
        match rx.recv().await {
            Some(b) => Some(b),
            None => {
                // Shutdown: the last batch was acked before this call (the runner acks a
                // batch before asking for the next), so the final commit covers it.
                if let Some(rx) = self.0.take() {
                    rx.finish().await;
                }
                None
            }
        }
    }
}

/// Decisions not yet expired, by expiry time, so that the publish role publishes their expiry.
#[derive(Clone, Default)]
pub struct Expiries(Arc<Mutex<ExpiryQueue>>);

#[derive(Default)]
struct ExpiryQueue {
    by_time: BinaryHeap<Reverse<(DateTime<Utc>, String)>>,
    by_uuid: std::collections::HashMap<String, Decision>,
}

impl Expiries {
    /// Loads the store's active decisions (after a restart, their expiries are still due).
    pub fn load(store: &Store, now: DateTime<Utc>) -> Self {
        let e = Expiries::default();
        match store.active_decisions(now) {
            Ok(ds) => {
                for d in ds {
                    e.push(&d);
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "Could not load active decisions; their expiries will not be published.")
            }
        }
        e
    }

    fn push(&self, d: &Decision) {
        let (Some(until), Some(uuid)) = (d.until, d.uuid.clone()) else {
            return;
        };
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.by_time.push(Reverse((until, uuid.clone())));
        q.by_uuid.insert(uuid, d.clone());
    }

    /// Removes and returns the decisions expired at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<Decision> {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        while let Some(Reverse((until, _))) = q.by_time.peek() {
            if *until > now {
                break;
            }
            let Some(Reverse((_, uuid))) = q.by_time.pop() else {
                break;
            };
            out.extend(q.by_uuid.remove(&uuid));
        }
        out
    }
}

/// The decision topic's record of a change: keyed by scope and value.
pub fn decision_record(c: &DecisionChange) -> Record {
    Record {
        key: Some(c.key()),
        payload: Some(json(c)),
        timestamp_ms: None,
    }
}

/// The publish stage's output: new decisions go to the decision topic, and their expiries are
/// scheduled.
struct DecisionSender {
    producer: FutureProducer,
    topic: String,
    expiries: Expiries,
    produced: palisade_runtime::metrics::Counter,
    retries: palisade_runtime::metrics::Counter,
}

impl DecisionSender {
    fn new(producer: FutureProducer, topic: &str, expiries: Expiries, metrics: &Registry) -> Self {
        DecisionSender {
            producer,
            topic: topic.to_string(),
            expiries,
            produced: metrics.counter(&PRODUCED, &[("topic", topic)]),
            retries: metrics.counter(&PRODUCE_RETRIES, &[("topic", topic)]),
        }
    }
}

impl BusSender<Decision> for DecisionSender {
    async fn send(&mut self, batch: Batch<Decision>) -> Result<(), BusError> {
        let records = batch
            .items
            .iter()
            .map(|d| {
                self.expiries.push(d);
                decision_record(&DecisionChange {
                    action: DecisionAction::Add,
                    decision: d.clone(),
                })
            })
            .collect();
        produce_all(
            &self.producer,
            &self.topic,
            records,
            &self.produced,
            &self.retries,
        )
        .await;
        batch.ack.ack();
        Ok(())
    }
}

/// Publishes expiries once a second.
async fn expire_loop(
    producer: FutureProducer,
    topic: String,
    expiries: Expiries,
    clock: SharedClock,
    shutdown: Shutdown,
    metrics: Registry,
) {
    let produced = metrics.counter(&PRODUCED, &[("topic", topic.as_str())]);
    let retries = metrics.counter(&PRODUCE_RETRIES, &[("topic", topic.as_str())]);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        let due = expiries.due(clock.now());
        if due.is_empty() {
            continue;
        }
        let records = due
            .into_iter()
            .map(|d| {
                decision_record(&DecisionChange {
                    action: DecisionAction::Expire,
                    decision: d,
                })
            })
            .collect();
        produce_all(&producer, &topic, records, &produced, &retries).await;
    }
}
