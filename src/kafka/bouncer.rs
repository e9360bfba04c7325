//! The bouncer's Kafka source: reads every partition of the decision topic from the beginning
//! with `assign()` (no consumer group, no commits), so each bouncer rebuilds the active set from
//! the compacted topic on its own, then follows it. The first pass ends when every partition
//! reported its end (or nothing arrived for a second); the engine then applies the whole set at
//! once. librdkafka reconnects by itself after a broker outage and the read simply continues, so
//! nothing is missed; the outage is reported for the HTTP endpoint's fail mode.

use palisade_bounce::config::KafkaSourceSpec;
use palisade_bounce::engine::SourceEvent;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{Decision, DecisionAction, DecisionChange};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Most messages handed to the engine at once.
const BATCH: usize = 10_000;

/// Notes transport errors (all brokers down, ...) and partition ends, which librdkafka reports
/// through the client context rather than through `poll`.
#[derive(Default, Clone)]
struct Context {
    errored: Arc<AtomicBool>,
    at_end: Arc<Mutex<HashSet<i32>>>,
}

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        match error {
            KafkaError::PartitionEOF(p) => {
                self.at_end
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(p);
                return;
            }
            KafkaError::Global(RDKafkaErrorCode::PartitionEOF) => return,
            _ => {}
        }
        tracing::warn!(%error, reason, "Kafka client error; librdkafka retries.");
        self.errored.store(true, Ordering::Relaxed);
    }
}

impl ConsumerContext for Context {}

fn consumer(spec: &KafkaSourceSpec, ctx: Context) -> Result<BaseConsumer<Context>, KafkaError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", spec.brokers.join(","))
        // Required by librdkafka's consumer API; never joined (assign) and never committed.
        .set(
            "group.id",
            format!("palisade-bouncer-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .set("reconnect.backoff.max.ms", "1000")
        .set("topic.metadata.refresh.interval.ms", "5000")
        .set_log_level(RDKafkaLogLevel::Warning);
    for (k, v) in &spec.client {
        c.set(k, v);
    }
    c.create_with_context(ctx)
}

/// A decision change from a message; a tombstone (no payload) deletes its `scope:value`.
fn change(key: Option<&[u8]>, payload: Option<&[u8]>) -> Option<DecisionChange> {
    match payload {
        Some(p) => serde_json::from_slice(p).ok(),
        None => {
            let key = String::from_utf8_lossy(key?).into_owned();
            let (scope, value) = key.split_once(':')?;
            Some(DecisionChange {
                action: DecisionAction::Delete,
                decision: Decision {
                    duration: String::new(),
                    id: 0,
                    origin: String::new(),
                    scenario: String::new(),
                    scope: scope.to_string(),
                    simulated: None,
                    kind: String::new(),
                    until: None,
                    uuid: None,
                    value: value.to_string(),
                },
            })
        }
    }
}

/// Reads the topic on a thread of its own until shutdown.
pub fn spawn(
    spec: KafkaSourceSpec,
    tx: mpsc::Sender<SourceEvent>,
    shutdown: Shutdown,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("bounce-kafka".into())
        .spawn(move || run(spec, tx, shutdown))
        .expect("spawning the Kafka source thread")
}

fn run(spec: KafkaSourceSpec, tx: mpsc::Sender<SourceEvent>, shutdown: Shutdown) {
    let lost = |why: String| tx.blocking_send(SourceEvent::Lost(why)).is_ok();
    let ctx = Context::default();
    let c = match consumer(&spec, ctx.clone()) {
        Ok(c) => c,
        Err(e) => {
            lost(format!("Kafka client: {e}"));
            return;
        }
    };
    // The partitions: wait for the topic to exist.
    let partitions: Vec<i32> = loop {
        if shutdown.is_triggered() {
            return;
        }
        match c.fetch_metadata(Some(&spec.topic), Duration::from_secs(5)) {
            Ok(md) => {
                let ps: Vec<i32> = md
                    .topics()
                    .iter()
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect();
                if !ps.is_empty() {
                    break ps;
                }
                if !lost(format!("topic {} has no partitions yet", spec.topic)) {
                    return;
                }
            }
            Err(e) => {
                if !lost(format!("topic {} metadata: {e}", spec.topic)) {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        if let Err(e) = tpl.add_partition_offset(&spec.topic, *p, Offset::Beginning) {
            lost(e.to_string());
            return;
        }
    }
    if let Err(e) = c.assign(&tpl) {
        lost(format!("assigning {}: {e}", spec.topic));
        return;
    }
    tracing::info!(topic = %spec.topic, partitions = partitions.len(), "Reading the decision topic from the beginning.");
    if tx.blocking_send(SourceEvent::Connected).is_err() {
        return;
    }

    let mut at_end: HashSet<i32> = HashSet::new();
    let mut caught_up = false;
    let mut healthy = true;
    let mut last_error = Instant::now();
    let mut last_message = Instant::now();
    let mut batch: Vec<DecisionChange> = Vec::new();
    while !shutdown.is_triggered() {
        // Wait for the first message; then take whatever else is already there.
        let wait = if batch.is_empty() {
            Duration::from_millis(100)
        } else {
            Duration::ZERO
        };
        match c.poll(wait) {
            Some(Ok(m)) => {
                last_message = Instant::now();
                if !healthy {
                    healthy = true;
                    if tx.blocking_send(SourceEvent::Connected).is_err() {
                        return;
                    }
                }
                match change(m.key(), m.payload()) {
                    Some(ch) => batch.push(ch),
                    None => tracing::warn!(
                        partition = m.partition(),
                        offset = m.offset(),
                        "Not a decision change; skipped."
                    ),
                }
                if batch.len() < BATCH {
                    continue;
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) if healthy => {
                healthy = false;
                last_error = Instant::now();
                tracing::warn!(error = %e, "Decision topic read failed; librdkafka retries.");
                if !lost(e.to_string()) {
                    return;
                }
            }
            Some(Err(_)) | None => {}
        }
        // A client error: the source is lost until a message arrives or no error was reported
        // for 3 s (librdkafka retries a down broker at least every second, each time with an
        // error). A metadata request is no probe: it does not return while the brokers are down.
        if ctx.errored.swap(false, Ordering::Relaxed) {
            last_error = Instant::now();
            if healthy {
                healthy = false;
                if !lost("Kafka brokers unreachable".into()) {
                    return;
                }
            }
        }
        if !healthy && last_error.elapsed() > Duration::from_secs(3) {
            healthy = true;
            if tx.blocking_send(SourceEvent::Connected).is_err() {
                return;
            }
        }
        if !batch.is_empty()
            && tx
                .blocking_send(SourceEvent::Topic(std::mem::take(&mut batch)))
                .is_err()
        {
            return;
        }
        at_end.extend(ctx.at_end.lock().unwrap_or_else(|e| e.into_inner()).drain());
        if !caught_up
            && (partitions.iter().all(|p| at_end.contains(p))
                || last_message.elapsed() > Duration::from_secs(1))
        {
            caught_up = true;
            if tx.blocking_send(SourceEvent::CaughtUp).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_delete_their_key() {
        let c = change(Some(b"Ip:192.0.2.1"), None).unwrap();
        assert_eq!(c.action, DecisionAction::Delete);
        assert_eq!(
            (c.decision.scope.as_str(), c.decision.value.as_str()),
            ("Ip", "192.0.2.1")
        );
        assert!(change(Some(b"x"), Some(b"not json")).is_none());
        let c = change(
            None,
            Some(br#"{"action":"add","decision":{"duration":"1h","origin":"o","scenario":"s","scope":"Ip","type":"ban","value":"192.0.2.1","until":"2030-01-01T00:00:00Z"}}"#),
        )
        .unwrap();
        assert_eq!(c.action, DecisionAction::Add);
    }
}
