//! The distributed mode on Kafka: roles as consumer groups joined by topics.
//!
//! * [`spec`]: the `kafka:` configuration section.
//! * [`topics`]: `palisade kafka init`.
//! * [`consumer`] and [`producer`]: Kafka ends of the runtime's bus traits, with
//!   commit-after-downstream-ack, dead letters, an idempotent producer and retries.
//! * [`tracker`]: partition bookkeeping for rebuilding bucket state after a rebalance.
//! * [`roles`]: `palisade run --role ingest|detect|publish|all`.
//! * [`rekey`]: the detect role's re-key topic, the global view of SQL scenarios partitioned
//!   otherwise than by source address.
//! * [`bouncer`]: `palisade bouncer`'s source on the decision topic.
//!
//! Shipper envelopes are decoded by `palisade_ingest::codec`.

pub mod bouncer;
pub mod client;
pub mod consumer;
pub mod decisions;
pub mod metrics;
pub mod producer;
pub mod rekey;
pub mod roles;
pub mod spec;
pub mod topics;
pub mod tracker;

pub use roles::Role;
pub use spec::{KafkaConfig, KafkaSpec, TopicSpec, TopicsSpec};
