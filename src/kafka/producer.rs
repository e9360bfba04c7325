//! The Kafka end of a bus on the sending side: an idempotent producer that returns from
//! [`BusSender::send`] only once every message of the batch is acknowledged by the brokers, so
//! that the stage acks its input (and its offsets get committed) only after its output is safe.
//! A delivery that fails (broker down past `message.timeout.ms`) is retried with backoff,
//! forever: nothing accepted is dropped.

use super::client::producer_config;
use super::metrics::{PRODUCED, PRODUCE_RETRIES};
use super::spec::KafkaConfig;
use palisade_runtime::bus::{Batch, BusSender};
use palisade_runtime::metrics::{Counter, Registry};
use palisade_runtime::BusError;
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use std::sync::Arc;
use std::time::Duration;

/// One message to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Partitioning key (`None`: spread over partitions).
    pub key: Option<String>,
    /// The value (`None`: a tombstone on a compacted topic).
    pub payload: Option<Vec<u8>>,
    /// Message time in ms (the event time, for the rebuild window).
    pub timestamp_ms: Option<i64>,
}

/// Turns an item into a record.
pub type Encode<T> = Arc<dyn Fn(&T) -> Record + Send + Sync>;

/// Creates the producer shared by a process's senders.
pub fn producer(cfg: &KafkaConfig) -> Result<FutureProducer, rdkafka::error::KafkaError> {
    producer_config(&cfg.spec).create()
}

/// The sending end.
pub struct KafkaSender<T> {
    producer: FutureProducer,
    topic: String,
    encode: Encode<T>,
    produced: Counter,
    retries: Counter,
}

impl<T> Clone for KafkaSender<T> {
    fn clone(&self) -> Self {
        KafkaSender {
            producer: self.producer.clone(),
            topic: self.topic.clone(),
            encode: self.encode.clone(),
            produced: self.produced.clone(),
            retries: self.retries.clone(),
        }
    }
}

impl<T> KafkaSender<T> {
    /// A sender to `topic`.
    pub fn new(
        producer: FutureProducer,
        topic: &str,
        encode: Encode<T>,
        metrics: &Registry,
    ) -> Self {
        KafkaSender {
            producer,
            topic: topic.to_string(),
            encode,
            produced: metrics.counter(&PRODUCED, &[("topic", topic)]),
            retries: metrics.counter(&PRODUCE_RETRIES, &[("topic", topic)]),
        }
    }

    /// Flushes what librdkafka still holds (at shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.producer.flush(Timeout::After(timeout)) {
            tracing::warn!(topic = %self.topic, error = %e, "Producer flush failed.");
        }
    }
}

impl<T: Send + Sync + 'static> BusSender<T> for KafkaSender<T> {
    async fn send(&mut self, batch: Batch<T>) -> Result<(), BusError> {
        let records: Vec<Record> = batch.items.iter().map(|i| (self.encode)(i)).collect();
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

/// Produces every record and waits for each to be acknowledged, retrying failures with backoff
/// until they succeed.
pub async fn produce_all(
    producer: &FutureProducer,
    topic: &str,
    mut records: Vec<Record>,
    produced: &Counter,
    retries: &Counter,
) {
    let mut wait = Duration::from_millis(100);
    while !records.is_empty() {
        let mut futures = Vec::with_capacity(records.len());
        for r in &records {
            let mut rec: FutureRecord<'_, str, [u8]> = FutureRecord::to(topic);
            if let Some(k) = &r.key {
                rec = rec.key(k.as_str());
            }
            if let Some(p) = &r.payload {
                rec = rec.payload(p.as_slice());
            }
            if let Some(ts) = r.timestamp_ms {
                rec = rec.timestamp(ts);
            }
            // Waits while librdkafka's queue is full (backpressure).
            futures.push(producer.send(rec, Timeout::Never));
        }
        let results = futures_util::future::join_all(futures).await;
        let mut failed = Vec::new();
        for (r, res) in records.into_iter().zip(results) {
            match res {
                Ok(_) => produced.inc(),
                Err((e, _)) => {
                    retries.inc();
                    tracing::warn!(topic, error = %e, "Delivery failed; retrying.");
                    failed.push(r);
                }
            }
        }
        records = failed;
        if !records.is_empty() {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }
}

/// Where undecodable messages go: the original key and bytes, with the reason, source topic,
/// partition and offset in headers.
#[derive(Clone)]
pub struct DeadLetter {
    producer: FutureProducer,
    topic: String,
    produced: Counter,
    retries: Counter,
}

impl DeadLetter {
    /// A dead-letter sink to `topic`.
    pub fn new(producer: FutureProducer, topic: &str, metrics: &Registry) -> Self {
        DeadLetter {
            producer,
            topic: topic.to_string(),
            produced: metrics.counter(&PRODUCED, &[("topic", topic)]),
            retries: metrics.counter(&PRODUCE_RETRIES, &[("topic", topic)]),
        }
    }

    /// Sends `m` with `reason`; waits until the broker has it.
    pub async fn send(&self, m: &BorrowedMessage<'_>, reason: &str) {
        let mut wait = Duration::from_millis(100);
        loop {
            let partition = m.partition().to_string();
            let offset = m.offset().to_string();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "palisade-error",
                    value: Some(reason),
                })
                .insert(Header {
                    key: "palisade-topic",
                    value: Some(m.topic()),
                })
                .insert(Header {
                    key: "palisade-partition",
                    value: Some(&partition),
                })
                .insert(Header {
                    key: "palisade-offset",
                    value: Some(&offset),
                });
            let mut rec: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&self.topic).headers(headers);
            if let Some(k) = m.key() {
                rec = rec.key(k);
            }
            if let Some(p) = m.payload() {
                rec = rec.payload(p);
            }
            match self.producer.send(rec, Timeout::Never).await {
                Ok(_) => {
                    self.produced.inc();
                    return;
                }
                Err((e, _)) => {
                    self.retries.inc();
                    tracing::warn!(topic = %self.topic, error = %e, "Dead-letter delivery failed; retrying.");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
