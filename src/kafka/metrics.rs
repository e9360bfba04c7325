//! The Kafka layer's metrics, in one place.

use palisade_runtime::metrics::MetricDef;

/// Messages consumed, by role and topic.
pub static CONSUMED: MetricDef = MetricDef::counter(
    "palisade_kafka_consumed_messages_total",
    "Messages consumed from Kafka, by role and topic.",
);
/// Messages produced and acknowledged by the brokers, by topic.
pub static PRODUCED: MetricDef = MetricDef::counter(
    "palisade_kafka_produced_messages_total",
    "Messages produced to Kafka and acknowledged by the brokers, by topic.",
);
/// Messages that could not be decoded and went to the dead-letter topic.
pub static DEAD_LETTERS: MetricDef = MetricDef::counter(
    "palisade_kafka_dead_letter_messages_total",
    "Messages that could not be decoded, sent to the dead-letter topic with the reason.",
);
/// Offset commits, by outcome.
pub static COMMITS: MetricDef = MetricDef::counter(
    "palisade_kafka_offset_commits_total",
    "Offset commits, by role and outcome.",
);
/// Produce attempts that failed and were retried.
pub static PRODUCE_RETRIES: MetricDef = MetricDef::counter(
    "palisade_kafka_produce_retries_total",
    "Messages whose delivery failed and was retried with backoff, by topic.",
);
/// Client errors reported by librdkafka (broker down, ...).
pub static CLIENT_ERRORS: MetricDef = MetricDef::counter(
    "palisade_kafka_client_errors_total",
    "Errors librdkafka reported (broker unreachable, ...), by role.",
);
/// Consumer lag per partition (high watermark minus position).
pub static LAG: MetricDef = MetricDef::gauge(
    "palisade_kafka_consumer_lag_messages",
    "Messages between a consumer's position and the partition's end, by role, topic and partition.",
);
/// Partitions assigned to this consumer.
pub static ASSIGNED: MetricDef = MetricDef::gauge(
    "palisade_kafka_assigned_partitions",
    "Partitions currently assigned to this consumer, by role.",
);
/// Events the detect role re-published to the re-key topic, by scenario.
pub static REKEYED: MetricDef = MetricDef::counter(
    "palisade_kafka_rekeyed_events_total",
    "Events re-published to the re-key topic (acknowledged) for a SQL scenario keyed otherwise than by source address, by scenario.",
);
