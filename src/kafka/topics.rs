//! `palisade kafka init`: creates the pipeline's topics with their settings. The decision topic
//! is log-compacted (the newest message per scope and value is the state); the others are
//! plain retention topics. Topics that exist already are left as they are.

use super::client::base_config;
use super::spec::{KafkaConfig, TopicSpec};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// What happened to one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Created now.
    Created(String),
    /// It was there already.
    Exists(String),
}

/// Each topic with the settings `palisade kafka init` gives it.
pub fn planned(cfg: &KafkaConfig) -> Vec<(TopicSpec, Vec<(String, String)>)> {
    let t = &cfg.spec.topics;
    let with = |spec: &TopicSpec, defaults: &[(&str, &str)]| {
        let mut conf: Vec<(String, String)> = defaults
            .iter()
            .filter(|(k, _)| !spec.config.contains_key(*k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        conf.extend(spec.config.iter().map(|(k, v)| (k.clone(), v.clone())));
        (spec.clone(), conf)
    };
    vec![
        with(&t.logs, &[]),
        with(&t.events, &[]),
        with(&t.alerts, &[]),
        with(
            &t.decisions,
            &[
                ("cleanup.policy", "compact"),
                ("min.compaction.lag.ms", "60000"),
            ],
        ),
        with(&t.dead_letter, &[]),
        with(&t.rekey, &[]),
    ]
}

/// Creates the topics; fails when the brokers cannot be reached within `timeout`.
pub async fn init(
    cfg: &KafkaConfig,
    timeout: Duration,
) -> Result<Vec<Created>, rdkafka::error::KafkaError> {
    let admin: AdminClient<DefaultClientContext> = base_config(&cfg.spec).create()?;
    let plan = planned(cfg);
    let new: Vec<NewTopic<'_>> = plan
        .iter()
        .map(|(spec, conf)| {
            let mut t = NewTopic::new(
                &spec.name,
                spec.partitions,
                TopicReplication::Fixed(spec.replication),
            );
            for (k, v) in conf {
                t = t.set(k, v);
            }
            t
        })
        .collect();
    let opts = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = admin.create_topics(new.iter(), &opts).await?;
    Ok(results
        .into_iter()
        .map(|r| match r {
            Ok(name) => Created::Created(name),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => Created::Exists(name),
            Err((name, code)) => {
                tracing::warn!(topic = %name, error = %code, "Topic creation failed.");
                Created::Exists(format!("{name} (error: {code})"))
            }
        })
        .collect())
}
