//! The `kafka:` section of palisade.yaml: brokers, topics, groups and the logs codec.
//!
//! ```yaml
//! kafka:
//!   brokers: [127.0.0.1:9092]
//!   group_prefix: palisade          # consumer groups: palisade-ingest, palisade-detect, ...
//!   client: {}                      # extra librdkafka properties (security.protocol, ...)
//!   topics:
//!     logs:        {name: palisade-logs, partitions: 6}
//!     events:      {name: palisade-events, partitions: 6}
//!     alerts:      {name: palisade-alerts, partitions: 3}
//!     decisions:   {name: palisade-decisions, partitions: 3}   # log-compacted
//!     dead_letter: {name: palisade-dead-letter, partitions: 1}
//!     rekey:       {name: palisade-rekey, partitions: 6}      # SQL scenarios keyed by user, ...
//!   logs: {format: auto, labels: {type: syslog}, rules: [...]}  # palisade_ingest::codec
//!   rebuild_window: 1h              # default: the longest scenario horizon
//!   commit_interval: 1s
//! ```

use palisade_ingest::codec::{Codec, CodecSpec};
use palisade_runtime::config::{join_key, parse_duration, ConfigError, YamlDoc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One topic's name and sizing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The topic name.
    pub name: String,
    /// Partitions (created with this many by `palisade kafka init`).
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor.
    #[serde(default = "default_replication")]
    pub replication: i32,
    /// Extra topic configuration (`retention.ms`, ...).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

fn default_partitions() -> i32 {
    6
}

fn default_replication() -> i32 {
    1
}

impl TopicSpec {
    fn named(name: &str, partitions: i32) -> Self {
        TopicSpec {
            name: name.to_string(),
            partitions,
            replication: 1,
            config: BTreeMap::new(),
        }
    }
}

/// The pipeline's topics.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsSpec {
    /// Written by log shippers.
    pub logs: TopicSpec,
    /// Parsed and enriched events, keyed by source IP.
    pub events: TopicSpec,
    /// Alerts from the detect role.
    pub alerts: TopicSpec,
    /// Decisions, log-compacted, keyed by scope and value.
    pub decisions: TopicSpec,
    /// Messages that could not be decoded, with the reason in a header.
    pub dead_letter: TopicSpec,
    /// Events re-published by the detect role for the SQL scenarios whose `partition` is not
    /// `source_ip`, keyed `<scenario>|<key value>` (see `kafka::rekey`).
    pub rekey: TopicSpec,
}

impl Default for TopicsSpec {
    fn default() -> Self {
        TopicsSpec {
            logs: TopicSpec::named("palisade-logs", 6),
            events: TopicSpec::named("palisade-events", 6),
            alerts: TopicSpec::named("palisade-alerts", 3),
            decisions: TopicSpec::named("palisade-decisions", 3),
            dead_letter: TopicSpec::named("palisade-dead-letter", 1),
            rekey: TopicSpec::named("palisade-rekey", 6),
        }
    }
}

/// The section as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSpec {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// Prefix of the consumer groups (`<prefix>-ingest`, `<prefix>-detect`, `<prefix>-publish`).
    pub group_prefix: String,
    /// Extra librdkafka client properties, for every client.
    pub client: BTreeMap<String, String>,
    /// Topics.
    pub topics: TopicsSpec,
    /// How the logs topic is decoded.
    pub logs: CodecSpec,
    /// History a detect instance re-reads to rebuild bucket state (Go duration); default: the
    /// longest scenario horizon.
    pub rebuild_window: Option<String>,
    /// How often consumed offsets are committed (Go duration).
    pub commit_interval: String,
    /// Most messages a consumer hands to its stage at once.
    pub batch_size: usize,
    /// Longest wait to fill a batch (Go duration).
    pub batch_wait: String,
}

impl Default for KafkaSpec {
    fn default() -> Self {
        KafkaSpec {
            brokers: vec!["127.0.0.1:9092".to_string()],
            group_prefix: "palisade".to_string(),
            client: BTreeMap::new(),
            topics: TopicsSpec::default(),
            logs: CodecSpec::default(),
            rebuild_window: None,
            commit_interval: "1s".to_string(),
            batch_size: 1000,
            batch_wait: "5ms".to_string(),
        }
    }
}

/// The validated section.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// As written, for topic and client settings.
    pub spec: KafkaSpec,
    /// The compiled logs codec.
    pub codec: Codec,
    /// Explicit rebuild window.
    pub rebuild_window: Option<Duration>,
    /// Offset commit period.
    pub commit_interval: Duration,
    /// Longest wait to fill a batch.
    pub batch_wait: Duration,
}

impl KafkaSpec {
    /// Validates, pushing every error with its path under `at` (`kafka`).
    pub fn compile(
        &self,
        doc: &YamlDoc,
        at: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Option<KafkaConfig> {
        let before = errors.len();
        let mut err = |field: &str, msg: String| errors.push(doc.error(&join_key(at, field), msg));
        if self.brokers.is_empty() {
            err("brokers", "at least one broker is needed".into());
        }
        if self.group_prefix.is_empty() {
            err("group_prefix", "must not be empty".into());
        }
        if self.batch_size == 0 {
            err("batch_size", "must be at least 1".into());
        }
        let t = &self.topics;
        let mut names = std::collections::HashSet::new();
        for (field, topic) in [
            ("logs", &t.logs),
            ("events", &t.events),
            ("alerts", &t.alerts),
            ("decisions", &t.decisions),
            ("dead_letter", &t.dead_letter),
            ("rekey", &t.rekey),
        ] {
            if topic.name.is_empty() {
                err(&format!("topics.{field}.name"), "must not be empty".into());
            } else if !names.insert(topic.name.clone()) {
                err(
                    &format!("topics.{field}.name"),
                    format!("{:?} is already used by another topic", topic.name),
                );
            }
            if topic.partitions < 1 {
                err(
                    &format!("topics.{field}.partitions"),
                    "must be at least 1".into(),
                );
            }
            if topic.replication < 1 {
                err(
                    &format!("topics.{field}.replication"),
                    "must be at least 1".into(),
                );
            }
        }
        let mut dur = |field: &str, v: &str| match parse_duration(v) {
            Ok(d) => Some(d),
            Err(e) => {
                err(field, e.to_string());
                None
            }
        };
        let commit_interval = dur("commit_interval", &self.commit_interval);
        let batch_wait = dur("batch_wait", &self.batch_wait);
        let rebuild_window = self
            .rebuild_window
            .as_deref()
            .map(|w| dur("rebuild_window", w));
        let codec = match self.logs.compile() {
            Ok(c) => Some(c),
            Err(errs) => {
                for (field, msg) in errs {
                    errors.push(doc.error(&join_key(&join_key(at, "logs"), &field), msg));
                }
                None
            }
        };
        if errors.len() > before {
            return None;
        }
        Some(KafkaConfig {
            spec: self.clone(),
            codec: codec?,
            rebuild_window: rebuild_window.flatten(),
            commit_interval: commit_interval?,
            batch_wait: batch_wait?,
        })
    }
}
