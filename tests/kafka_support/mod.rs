//! Shared helpers of the Kafka tests: a broker from the environment, isolated topic names,
//! producing lines, reading the decision topic, and running roles in-process or as processes.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use palisade::config::Config;
use palisade::kafka::roles::{self, Role, Roles};
use palisade_runtime::clock::SystemClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::DecisionChange;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The broker of the tests (`PALISADE_KAFKA_BROKERS`, set by scripts/test). Without it the test
/// is skipped, except under CI where that is a failure.
pub fn brokers(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "{var} is not set: scripts/test starts the broker and sets it"
            );
            eprintln!("skipped: {var} is not set (scripts/test starts a broker and sets it)");
            None
        }
    }
}

/// A unique prefix for topic and group names.
pub fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

/// A palisade.yaml for the distributed mode on `brokers`, topics prefixed with `prefix`.
pub fn config_text(brokers: &str, prefix: &str, dir: &Path) -> String {
    format!(
        r#"log: {{level: warn}}
storage: {{path: '{store}'}}
kafka:
  brokers: ['{brokers}']
  group_prefix: {prefix}
  commit_interval: 200ms
  batch_wait: 5ms
  topics:
    logs: {{name: {prefix}-logs, partitions: 2}}
    events: {{name: {prefix}-events, partitions: 4}}
    alerts: {{name: {prefix}-alerts, partitions: 2}}
    decisions: {{name: {prefix}-decisions, partitions: 2}}
    dead_letter: {{name: {prefix}-dead-letter, partitions: 1}}
    rekey: {{name: {prefix}-rekey, partitions: 2}}
  logs:
    labels: {{type: syslog}}
"#,
        store = dir.join("store.db").display(),
    )
}

/// Compiles a configuration text.
pub fn config(text: &str) -> Config {
    palisade::config::compile("test.yaml", text).unwrap_or_else(|e| panic!("{e}"))
}

/// Creates the topics.
pub async fn init_topics(cfg: &Config) {
    let k = cfg.kafka.as_ref().unwrap();
    palisade::kafka::topics::init(k, Duration::from_secs(20))
        .await
        .expect("creating topics");
}

/// Runs `roles` in this process until `shutdown`; returns the task.
pub fn spawn_roles(
    cfg: Config,
    roles_: Vec<Role>,
    shutdown: Shutdown,
    metrics: Registry,
) -> tokio::task::JoinHandle<anyhow::Result<roles::RolesReport>> {
    tokio::spawn(async move {
        let Config {
            kafka,
            storage,
            parsers,
            postoverflows,
            scenarios,
            profiles,
            max_buckets,
            ..
        } = cfg;
        let kafka = kafka.unwrap();
        let store = palisade_publish::Store::open(&storage.path)?;
        roles::run(Roles {
            kafka: &kafka,
            roles: roles_,
            parsers: Some(parsers),
            postoverflows: Some(postoverflows),
            scenarios: Some(scenarios),
            max_buckets,
            store: Some(store),
            storage: &storage,
            profiles: Some(profiles),
            shutdown,
            metrics,
            clock: Arc::new(SystemClock),
        })
        .await
    })
}

/// Creates one topic with `partitions` partitions (brokers without automatic topic creation,
/// such as tansu with SQLite storage, need it before the first produce).
pub async fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(20))),
        )
        .await
        .expect("creating a topic");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// A plain producer.
pub fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "1")
        .create()
        .unwrap()
}

/// Produces `lines` to `topic` (no key), waiting for each delivery.
pub async fn produce(p: &FutureProducer, topic: &str, lines: &[String]) {
    for l in lines {
        p.send(
            FutureRecord::<(), str>::to(topic).payload(l.as_str()),
            Timeout::After(Duration::from_secs(30)),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("producing a line");
    }
}

/// A syslog sshd failure line from `ip` at `t`.
pub fn ssh_failure(t: DateTime<Utc>, host: &str, ip: &str) -> String {
    format!(
        "{} {host} sshd[4242]: Failed password for root from {ip} port 40000 ssh2",
        t.format("%b %e %H:%M:%S")
    )
}

/// A message read: key, payload, headers.
pub type Received = (String, Vec<u8>, Vec<(String, String)>);

/// Reads a whole topic from the beginning with a fresh group.
pub struct TopicReader {
    consumer: BaseConsumer,
}

impl TopicReader {
    /// Subscribes to `topic`.
    pub fn new(brokers: &str, topic: &str) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", unique("reader"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        // Assigned, not subscribed: no group join to wait for (tansu's takes many seconds).
        let md = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("topic metadata");
        let mut tpl = TopicPartitionList::new();
        for t in md.topics() {
            for p in t.partitions() {
                tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                    .unwrap();
            }
        }
        assert!(tpl.count() > 0, "topic {topic} has no partitions");
        consumer.assign(&tpl).unwrap();
        TopicReader { consumer }
    }

    /// Polls for up to `d`, returning (key, payload, headers) of what arrived.
    pub fn poll_for(&self, d: Duration) -> Vec<Received> {
        let end = Instant::now() + d;
        let mut out = Vec::new();
        while Instant::now() < end {
            if let Some(Ok(m)) = self.consumer.poll(Duration::from_millis(100)) {
                let key = m
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .unwrap_or_default();
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (
                                    h.key.to_string(),
                                    String::from_utf8_lossy(h.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push((key, m.payload().unwrap_or_default().to_vec(), headers));
            }
        }
        out
    }

    /// Decision changes, polling until `done` holds for everything read so far or `timeout`.
    pub fn decisions_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[DecisionChange]) -> bool,
    ) -> Vec<DecisionChange> {
        let end = Instant::now() + timeout;
        let mut all = Vec::new();
        while Instant::now() < end && !done(&all) {
            for (_, payload, _) in self.poll_for(Duration::from_millis(200)) {
                all.push(serde_json::from_slice(&payload).expect("a decision change"));
            }
        }
        all
    }
}

/// Kills the process when dropped (a failing test leaves no process behind).
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a tansu broker binary on `port` with `engine` (`memory://tansu/` or
/// `sqlite://tansu.db`, relative to `dir`), and waits until it listens.
pub fn start_broker(bin: &str, engine: &str, port: u16, dir: &Path) -> Killed {
    let listener = format!("tcp://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join(format!("broker-{port}.log"))).unwrap();
    let child = std::process::Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &listener,
            "--advertised-listener-url",
            &listener,
        ])
        .args(["--storage-engine", engine])
        .current_dir(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
    let k = Killed(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "broker did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    k
}

/// The offsets `group` committed on `topic`, summed over its partitions.
pub fn committed_sum(brokers: &str, group: &str, topic: &str) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for t in md.topics() {
        for p in t.partitions() {
            tpl.add_partition(topic, p.id());
        }
    }
    let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    got.elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum()
}
