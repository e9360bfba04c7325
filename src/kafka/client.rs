//! librdkafka client settings shared by every role, and the client context that reports
//! broker errors and rebalances.

use super::metrics::{ASSIGNED, CLIENT_ERRORS};
use super::spec::KafkaSpec;
use super::tracker::Tracker;
use palisade_runtime::metrics::{Counter, Gauge, Registry};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use std::sync::{Arc, Mutex};

/// The common settings: brokers and the user's extra properties.
pub fn base_config(spec: &KafkaSpec) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", spec.brokers.join(","));
    c.set_log_level(RDKafkaLogLevel::Warning);
    for (k, v) in &spec.client {
        c.set(k, v);
    }
    c
}

/// A consumer in `group`: manual commits, from the earliest offset when the group has none.
pub fn consumer_config(spec: &KafkaSpec, group: &str) -> ClientConfig {
    let mut c = base_config(spec);
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        // A quiet partition's fetch returns after 10 ms instead of librdkafka's 500: each hop
        // of the pipeline (logs, events, alerts, decisions) would otherwise add up to 500 ms.
        .set("fetch.wait.max.ms", "10")
        // A topic missing at start (broker down, not yet created) is found within seconds.
        .set("topic.metadata.refresh.interval.ms", "5000")
        .set("partition.assignment.strategy", "range");
    // The user's properties win over these defaults.
    for (k, v) in &spec.client {
        c.set(k, v);
    }
    c
}

/// An idempotent producer that waits for every in-sync replica.
pub fn producer_config(spec: &KafkaSpec) -> ClientConfig {
    let mut c = base_config(spec);
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "30000");
    // The user's properties win over these defaults.
    for (k, v) in &spec.client {
        c.set(k, v);
    }
    c
}

/// Counts client errors and follows partition assignments for state rebuild.
pub struct Context {
    role: &'static str,
    errors: Counter,
    assigned: Gauge,
    tracker: Option<Arc<Mutex<Tracker>>>,
}

impl Context {
    /// A context for `role`; `tracker` follows assignments (consumers only).
    pub fn new(
        role: &'static str,
        metrics: &Registry,
        tracker: Option<Arc<Mutex<Tracker>>>,
    ) -> Self {
        Context {
            role,
            errors: metrics.counter(&CLIENT_ERRORS, &[("role", role)]),
            assigned: metrics.gauge(&ASSIGNED, &[("role", role)]),
            tracker,
        }
    }
}

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.inc();
        tracing::warn!(role = self.role, %error, reason, "Kafka client error; librdkafka retries.");
    }
}

impl ConsumerContext for Context {
    fn post_rebalance(&self, _: &rdkafka::consumer::BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Some(tracker) = &self.tracker else { return };
        let mut t = tracker.lock().unwrap_or_else(|e| e.into_inner());
        match rebalance {
            Rebalance::Assign(tpl) => {
                let parts: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect();
                tracing::info!(role = self.role, partitions = ?parts, "Partitions assigned.");
                t.assign(parts);
            }
            Rebalance::Revoke(tpl) => {
                let parts: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect();
                tracing::info!(role = self.role, partitions = ?parts, "Partitions revoked.");
                t.revoke(&parts);
            }
            Rebalance::Error(e) => {
                self.errors.inc();
                tracing::warn!(role = self.role, error = %e, "Rebalance error.");
            }
        }
        self.assigned.set(t.assigned() as i64);
    }
}
