//! The Kafka end of a bus: a consumer-group member that hands batches of decoded messages to a
//! stage and commits their offsets only once the stage has handed what it made downstream
//! (the batch's [`Ack`]).
//!
//! * Batching: up to `batch_size` messages, waiting at most `batch_wait` after the first.
//! * Undecodable messages go to the dead-letter topic (original bytes, reason in the
//!   `palisade-error` header) before their offset can be committed; nothing is dropped silently.
//! * Offsets: acks go to a committer task that commits every `commit_interval` and once more,
//!   synchronously, at shutdown.
//! * Rebuild (detect): the group's offset is the restart point and a companion progress group
//!   holds the next unprocessed offset ([`Tracker`]); the first message of a newly assigned
//!   partition triggers a lookup of its progress, and the messages below it are marked
//!   rebuild-only.

use super::client::{consumer_config, Context};
use super::metrics::{COMMITS, CONSUMED, DEAD_LETTERS, LAG};
use super::producer::DeadLetter;
use super::spec::KafkaConfig;
use super::tracker::{Seen, Tracker};
use chrono::{DateTime, Utc};
use palisade_runtime::bus::{Ack, Batch, BusReceiver};
use palisade_runtime::metrics::{Counter, Registry};
use palisade_runtime::shutdown::Shutdown;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Turns a message payload into an item; `Err` is the reason it cannot be.
pub type Decode<T> = Box<dyn FnMut(&[u8], Option<DateTime<Utc>>, bool) -> Result<T, String> + Send>;

type Offsets = HashMap<(String, i32), i64>;

/// Lag is measured every this many commit ticks (it asks the broker).
const LAG_EVERY: u64 = 5;

/// The receiving end.
pub struct KafkaReceiver<T> {
    role: &'static str,
    consumer: Arc<StreamConsumer<Context>>,
    progress: Option<Arc<BaseConsumer>>,
    tracker: Arc<Mutex<Tracker>>,
    decode: Decode<T>,
    dead_letter: Option<DeadLetter>,
    batch_size: usize,
    batch_wait: Duration,
    acks: Option<mpsc::UnboundedSender<Offsets>>,
    committer: Option<tokio::task::JoinHandle<()>>,
    shutdown: Shutdown,
    /// Offsets consumed when shutdown interrupted a batch.
    carry: Offsets,
    consumed: HashMap<String, Counter>,
    dead: Counter,
    metrics: Registry,
}

/// What a receiver needs.
pub struct ReceiverOptions<T> {
    /// The role, for metrics and logs.
    pub role: &'static str,
    /// The consumer group.
    pub group: String,
    /// Topics to subscribe to.
    pub topics: Vec<String>,
    /// Decoder.
    pub decode: Decode<T>,
    /// Where undecodable messages go (`None`: they are counted and skipped).
    pub dead_letter: Option<DeadLetter>,
    /// History to rebuild after an assignment (zero: none).
    pub rebuild_window: Duration,
}

impl<T: Send + 'static> KafkaReceiver<T> {
    /// Subscribes. Fails only on a client configuration error: an unreachable broker is
    /// retried by librdkafka and reported in the logs and metrics.
    pub fn subscribe(
        cfg: &KafkaConfig,
        opts: ReceiverOptions<T>,
        shutdown: Shutdown,
        metrics: &Registry,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let tracker = Arc::new(Mutex::new(Tracker::new(
            opts.rebuild_window.as_millis() as i64
        )));
        let ctx = Context::new(opts.role, metrics, Some(tracker.clone()));
        let consumer: StreamConsumer<Context> =
            consumer_config(&cfg.spec, &opts.group).create_with_context(ctx)?;
        let topics: Vec<&str> = opts.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let consumer = Arc::new(consumer);
        // The progress group is never joined: offsets are only committed to it and read back.
        let progress = if opts.rebuild_window.is_zero() {
            None
        } else {
            let c: BaseConsumer =
                consumer_config(&cfg.spec, &format!("{}.progress", opts.group)).create()?;
            Some(Arc::new(c))
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let committer = tokio::spawn(commit_loop(
            consumer.clone(),
            progress.clone(),
            tracker.clone(),
            rx,
            cfg.commit_interval,
            opts.role,
            metrics.clone(),
        ));
        Ok(KafkaReceiver {
            role: opts.role,
            consumer,
            progress,
            tracker,
            decode: opts.decode,
            dead_letter: opts.dead_letter,
            batch_size: cfg.spec.batch_size,
            batch_wait: cfg.batch_wait,
            acks: Some(tx),
            committer: Some(committer),
            shutdown,
            carry: Offsets::new(),
            consumed: HashMap::new(),
            dead: metrics.counter(&DEAD_LETTERS, &[("role", opts.role)]),
            metrics: metrics.clone(),
        })
    }

    /// Waits for the committer's final commit (after the stage drained and acked).
    pub async fn finish(mut self) {
        self.acks.take();
        if let Some(c) = self.committer.take() {
            let _ = c.await;
        }
    }

    fn count(&mut self, topic: &str) {
        if !self.consumed.contains_key(topic) {
            let c = self
                .metrics
                .counter(&CONSUMED, &[("role", self.role), ("topic", topic)]);
            self.consumed.insert(topic.to_string(), c);
        }
        self.consumed[topic].inc();
    }

    /// Handles one message: `Some(item)` to batch, `None` when it was dead-lettered or
    /// triggered a rewind. The offset to commit is recorded in `offsets` either way, except
    /// for a rewind.
    async fn take(&mut self, m: &BorrowedMessage<'_>, offsets: &mut Offsets) -> Option<T> {
        let (topic, partition, offset) = (m.topic().to_string(), m.partition(), m.offset());
        let ts = m.timestamp().to_millis();
        let seen = self
            .tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .see(&topic, partition, offset, ts);
        let rebuild = match seen {
            Seen::NeedsInit => {
                self.init_partition(&topic, partition).await;
                let again = self
                    .tracker
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .see(&topic, partition, offset, ts);
                again == Seen::Rebuild
            }
            Seen::Rebuild => true,
            Seen::Live => false,
        };
        self.count(&topic);
        let time = ts.and_then(DateTime::from_timestamp_millis);
        let item = match (self.decode)(m.payload().unwrap_or_default(), time, rebuild) {
            Ok(item) => Some(item),
            Err(reason) => {
                self.dead.inc();
                tracing::debug!(
                    role = self.role,
                    topic,
                    partition,
                    offset,
                    reason,
                    "Undecodable message."
                );
                if let Some(dl) = &self.dead_letter {
                    dl.send(m, &reason).await;
                }
                None
            }
        };
        offsets.insert((topic, partition), offset + 1);
        item
    }

    /// Reads the progress offset of a newly assigned partition, so that the messages before it
    /// only rebuild state.
    async fn init_partition(&mut self, topic: &str, partition: i32) {
        let progress = match &self.progress {
            Some(p) => {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition(topic, partition);
                let p = p.clone();
                let got = tokio::task::spawn_blocking(move || {
                    p.committed_offsets(tpl, Duration::from_secs(10))
                })
                .await;
                match got {
                    Ok(Ok(tpl)) => {
                        tpl.find_partition(topic, partition)
                            .and_then(|e| match e.offset() {
                                Offset::Offset(o) => Some(o),
                                _ => None,
                            })
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(role = self.role, topic, partition, error = %e,
                            "Could not read the progress offset; re-read events count as new (uuids deduplicate).");
                        None
                    }
                    Err(_) => None,
                }
            }
            None => None,
        };
        if let Some(c) = progress {
            tracing::info!(
                role = self.role,
                topic,
                partition,
                progress = c,
                "Rebuilding bucket state from the events before the progress offset."
            );
        }
        self.tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .initialise(topic, partition, progress);
    }
}

impl<T: Send + 'static> BusReceiver<T> for KafkaReceiver<T> {
    async fn recv(&mut self) -> Option<Batch<T>> {
        let mut items = Vec::new();
        let mut offsets = std::mem::take(&mut self.carry);
        let consumer = self.consumer.clone();
        // The first message: wait as long as it takes, or until shutdown.
        loop {
            let first = tokio::select! {
                () = self.shutdown.wait() => None,
                m = consumer.recv() => Some(m),
            };
            match first {
                None => {
                    self.carry = offsets;
                    return None;
                }
                Some(Err(e)) => {
                    tracing::warn!(role = self.role, error = %e, "Kafka consume error.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some(Ok(m)) => {
                    // A dead letter or a rewind yields no item; the batch may end up empty and
                    // still carries the offsets to commit.
                    items.extend(self.take(&m, &mut offsets).await);
                    break;
                }
            }
        }
        // More, for at most batch_wait.
        let deadline = tokio::time::Instant::now() + self.batch_wait;
        while items.len() < self.batch_size {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    tracing::warn!(role = self.role, error = %e, "Kafka consume error.");
                    break;
                }
                Ok(Ok(m)) => {
                    if let Some(item) = self.take(&m, &mut offsets).await {
                        items.push(item);
                    }
                }
            }
        }
        let ack = match &self.acks {
            Some(tx) => {
                let tx = tx.clone();
                Ack::new(move || {
                    let _ = tx.send(offsets);
                })
            }
            None => Ack::none(),
        };
        Some(Batch { items, ack })
    }
}

/// Commits acked offsets every `interval`, and once more (synchronously) when the receiver is
/// finished. Also refreshes the lag gauges.
async fn commit_loop(
    consumer: Arc<StreamConsumer<Context>>,
    progress: Option<Arc<BaseConsumer>>,
    tracker: Arc<Mutex<Tracker>>,
    mut rx: mpsc::UnboundedReceiver<Offsets>,
    interval: Duration,
    role: &'static str,
    metrics: Registry,
) {
    let ok = metrics.counter(&COMMITS, &[("role", role), ("outcome", "ok")]);
    let failed = metrics.counter(&COMMITS, &[("role", role), ("outcome", "failed")]);
    let mut pending = Offsets::new();
    let mut ticks = 0u64;
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Some(o) => {
                    for (k, v) in o {
                        let e = pending.entry(k).or_insert(v);
                        *e = (*e).max(v);
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                if !pending.is_empty() {
                    let (tpl, prog) = commit_lists(&pending, &tracker);
                    let res = match &progress {
                        // Progress first: a restart point is only useful with it.
                        Some(p) => p.commit(&prog, CommitMode::Async).and_then(|()| consumer.commit(&tpl, CommitMode::Async)),
                        None => consumer.commit(&tpl, CommitMode::Async),
                    };
                    match res {
                        Ok(()) => { ok.inc(); pending.clear(); }
                        Err(e) => { failed.inc(); tracing::warn!(role, error = %e, "Offset commit failed; retrying."); }
                    }
                }
                ticks += 1;
                if ticks.is_multiple_of(LAG_EVERY) {
                    let (c, m) = (consumer.clone(), metrics.clone());
                    let _ = tokio::task::spawn_blocking(move || update_lag(&c, role, &m)).await;
                }
            }
        }
    }
    if !pending.is_empty() {
        let (tpl, prog) = commit_lists(&pending, &tracker);
        let c = consumer.clone();
        let res = tokio::task::spawn_blocking(move || {
            if let Some(p) = progress {
                p.commit(&prog, CommitMode::Sync)?;
            }
            c.commit(&tpl, CommitMode::Sync)
        })
        .await;
        match res {
            Ok(Ok(())) => {
                ok.inc();
                tracing::info!(role, partitions = pending.len(), "Final offsets committed.");
            }
            Ok(Err(e)) => {
                failed.inc();
                tracing::warn!(role, error = %e, "Final offset commit failed: the next owner re-reads (at least once).");
            }
            Err(e) => tracing::warn!(role, error = %e, "Final commit task failed."),
        }
    }
}

/// The group's offsets (restart points) and the progress group's (next unprocessed).
fn commit_lists(
    pending: &Offsets,
    tracker: &Mutex<Tracker>,
) -> (TopicPartitionList, TopicPartitionList) {
    let t = tracker.lock().unwrap_or_else(|e| e.into_inner());
    let mut group = TopicPartitionList::new();
    let mut progress = TopicPartitionList::new();
    for ((topic, partition), &next) in pending {
        let restart = t.restart_point(topic, *partition, next);
        let _ = group.add_partition_offset(topic, *partition, Offset::Offset(restart));
        let _ = progress.add_partition_offset(topic, *partition, Offset::Offset(next));
    }
    (group, progress)
}

/// Lag per assigned partition: the partition's end (asked of the broker) minus the position.
fn update_lag(consumer: &StreamConsumer<Context>, role: &'static str, metrics: &Registry) {
    let Ok(assignment) = consumer.assignment() else {
        return;
    };
    let Ok(position) = consumer.position() else {
        return;
    };
    for e in assignment.elements() {
        let (topic, partition) = (e.topic(), e.partition());
        let Ok((_, high)) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(2))
        else {
            continue;
        };
        let pos = position
            .find_partition(topic, partition)
            .and_then(|p| match p.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            });
        if let (Some(pos), true) = (pos, high >= 0) {
            let p = partition.to_string();
            metrics
                .gauge(
                    &LAG,
                    &[("role", role), ("topic", topic), ("partition", p.as_str())],
                )
                .set((high - pos).max(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::spec::KafkaSpec;
    use palisade_ingest::codec::CodecSpec;
    use rdkafka::config::ClientConfig;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

    fn cfg(brokers: &str) -> KafkaConfig {
        KafkaConfig {
            spec: KafkaSpec {
                brokers: vec![brokers.to_string()],
                batch_size: 4,
                ..KafkaSpec::default()
            },
            codec: CodecSpec::default().compile().unwrap(),
            rebuild_window: None,
            commit_interval: Duration::from_millis(50),
            batch_wait: Duration::from_millis(20),
        }
    }

    fn committed(brokers: &str, group: &str, topic: &str) -> Option<i64> {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", group)
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, 0);
        let got = c.committed_offsets(tpl, Duration::from_secs(5)).ok()?;
        match got.find_partition(topic, 0)?.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }
    }

    /// librdkafka's in-process mock cluster: batches, dead letters, and offsets committed only
    /// for acked batches.
    #[tokio::test(flavor = "multi_thread")]
    async fn offsets_are_committed_only_after_the_batch_is_acked() {
        let mock = MockCluster::new(1).unwrap();
        mock.create_topic("in", 1, 1).unwrap();
        mock.create_topic("dead", 1, 1).unwrap();
        let brokers = mock.bootstrap_servers();
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .unwrap();
        for i in 0..6 {
            let v = if i == 2 {
                vec![0xff]
            } else {
                format!("m{i}").into_bytes()
            };
            p.send(BaseRecord::<(), [u8]>::to("in").payload(&v))
                .unwrap();
        }
        p.flush(Duration::from_secs(5)).unwrap();

        let metrics = Registry::new();
        let c = cfg(&brokers);
        let dl_producer = crate::kafka::producer::producer(&c).unwrap();
        let mut rx = KafkaReceiver::subscribe(
            &c,
            ReceiverOptions {
                role: "test",
                group: "g".into(),
                topics: vec!["in".into()],
                decode: Box::new(|b, _, _| {
                    String::from_utf8(b.to_vec()).map_err(|_| "not UTF-8".to_string())
                }),
                dead_letter: Some(DeadLetter::new(dl_producer, "dead", &metrics)),
                rebuild_window: Duration::ZERO,
            },
            Shutdown::new(),
            &metrics,
        )
        .unwrap();
        let mut got = Vec::new();
        let mut batches = Vec::new();
        while got.len() < 5 {
            let b = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("a batch")
                .unwrap();
            assert!(b.items.len() <= 4, "batch_size is respected");
            got.extend(b.items);
            batches.push(b.ack);
        }
        assert_eq!(got, ["m0", "m1", "m3", "m4", "m5"]);
        assert_eq!(
            metrics.total("palisade_kafka_dead_letter_messages_total"),
            1
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            committed(&brokers, "g", "in"),
            None,
            "nothing acked, nothing committed"
        );
        for ack in batches {
            ack.ack();
        }
        rx.finish().await;
        assert_eq!(
            committed(&brokers, "g", "in"),
            Some(6),
            "everything acked is committed"
        );
    }
}
