//! Following the decision topic: a Local API replica (or any reader) rebuilds the active
//! decision set from the compacted topic alone, reading every partition from the beginning
//! without a consumer group (each replica needs the whole set), then follows it live.

use super::client::base_config;
use super::metrics::CONSUMED;
use super::spec::KafkaConfig;
use palisade_publish::lapi::DecisionIndex;
use palisade_runtime::clock::SharedClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{DecisionAction, DecisionChange};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// Applies one change to the index: an addition as is, a deletion as the decision ending now,
/// an expiry with its own end. Returns whether the index changed.
pub fn apply(
    index: &DecisionIndex,
    change: &DecisionChange,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let mut d = change.decision.clone();
    if change.action == DecisionAction::Delete {
        d.until = Some(d.until.map_or(now, |u| u.min(now)));
    }
    index.apply(&d)
}

/// Follows the decision topic into `index` until shutdown. Retries (with backoff) until the
/// topic's partitions are known, so it may start before the broker.
pub async fn follow(
    cfg: KafkaConfig,
    index: DecisionIndex,
    clock: SharedClock,
    shutdown: Shutdown,
    metrics: Registry,
) {
    let topic = cfg.spec.topics.decisions.name.clone();
    let consumed = metrics.counter(&CONSUMED, &[("role", "api"), ("topic", topic.as_str())]);
    let mut conf = base_config(&cfg.spec);
    conf.set("group.id", format!("{}-api-unused", cfg.spec.group_prefix))
        .set("enable.auto.commit", "false");
    let consumer: StreamConsumer = match conf.create() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Cannot create the decision-topic reader.");
            return;
        }
    };
    let mut wait = Duration::from_millis(200);
    loop {
        if shutdown.is_triggered() {
            return;
        }
        match consumer.fetch_metadata(Some(&topic), Duration::from_secs(5)) {
            Ok(md)
                if md
                    .topics()
                    .first()
                    .is_some_and(|t| !t.partitions().is_empty()) =>
            {
                let mut tpl = TopicPartitionList::new();
                for p in md.topics()[0].partitions() {
                    let _ = tpl.add_partition_offset(&topic, p.id(), Offset::Beginning);
                }
                if consumer.assign(&tpl).is_ok() {
                    tracing::info!(
                        topic,
                        partitions = tpl.count(),
                        "Following the decision topic."
                    );
                    break;
                }
            }
            Ok(_) => tracing::warn!(topic, "The decision topic has no partitions yet; retrying."),
            Err(e) => {
                tracing::warn!(topic, error = %e, "Cannot read the decision topic's metadata; retrying.")
            }
        }
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(10));
    }
    loop {
        let m = tokio::select! {
            () = shutdown.wait() => return,
            m = consumer.recv() => m,
        };
        match m {
            Ok(m) => {
                consumed.inc();
                match m.payload().map(serde_json::from_slice::<DecisionChange>) {
                    Some(Ok(change)) => {
                        apply(&index, &change, clock.now());
                    }
                    Some(Err(e)) => {
                        tracing::warn!(topic, offset = m.offset(), error = %e, "Skipped a message that is not a decision change.")
                    }
                    None => {} // a compaction tombstone
                }
            }
            Err(e) => {
                tracing::warn!(topic, error = %e, "Decision topic read error; librdkafka retries.");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
