//! End-to-end benchmark of the distributed mode on a real broker (scripts/bench-kafka starts
//! one and sets PALISADE_KAFKA_BROKERS).
//!
//! 1. Throughput: N sshd lines on the logs topic. Baseline: raw rdkafka consumption of that
//!    topic. Measured: the ingest and detect roles through to the last event consumed by
//!    detect. Reported as lines/s and the ratio to the baseline (same run).
//! 2. Latency: lines produced at a steady rate (default 10k/s) with attacks mixed in; for each
//!    attack, the time from its fifth failure produced (the one that overflows) to its decision
//!    produced on the decision topic (Kafka timestamps). Reported as p50/p99/max, split at the
//!    attack's first alert on the alerts topic (line → alert: ingest and detect; alert →
//!    decision: publish). Same-run baseline: one hop of a message produced and consumed with
//!    the pipeline's client settings, nothing in between (the pipeline has three such hops).
//!
//! `cargo bench --bench kafka_e2e -- [lines] [rate] [seconds]`

#[path = "../tests/kafka_support/mod.rs"]
mod kafka_support;

/// The allocator of the `palisade` binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{TimeDelta, Utc};
use kafka_support::*;
use palisade::kafka::Role;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The roles' configuration; `PALISADE_BENCH_BATCH_WAIT` overrides `kafka.batch_wait` (to
/// compare settings).
fn bench_config_text(brokers: &str, prefix: &str, dir: &std::path::Path) -> String {
    let text = config_text(brokers, prefix, dir);
    match std::env::var("PALISADE_BENCH_BATCH_WAIT") {
        Ok(w) => text.replace("batch_wait: 5ms", &format!("batch_wait: {w}")),
        Err(_) => text,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn fast_producer(brokers: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap()
}

/// The background traffic: the lines of `PALISADE_BENCH_LOG` (a syslog auth.log, such as
/// `shared/bench/gen_logs.py ssh` writes: logins, typos, scanners and brute forces from a few
/// thousand addresses), each line's date replaced by the time it is sent; without it, a
/// scan of one failed login from each of `i` distinct public addresses (never an overflow on its
/// own, but a distributed attack for the SQL scenarios, which then hold an open session per
/// address and fire with alerts of thousands of addresses).
struct Background {
    lines: Vec<String>,
}

impl Background {
    fn load() -> Background {
        let lines = match std::env::var_os("PALISADE_BENCH_LOG") {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("PALISADE_BENCH_LOG {path:?}: {e}"));
                let lines: Vec<String> = text
                    .lines()
                    .filter(|l| l.len() > SYSLOG_DATE && l.is_char_boundary(SYSLOG_DATE))
                    .map(str::to_string)
                    .collect();
                assert!(
                    !lines.is_empty(),
                    "PALISADE_BENCH_LOG {path:?} has no syslog line"
                );
                eprintln!("background traffic: {} lines of {path:?}", lines.len());
                lines
            }
            None => {
                eprintln!("background traffic: one failed login from each of many addresses");
                Vec::new()
            }
        };
        Background { lines }
    }

    /// Line `i` of the traffic, dated `t`.
    fn line(&self, i: u64, t: chrono::DateTime<Utc>) -> String {
        if self.lines.is_empty() {
            let ip = format!("45.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            return ssh_failure(t, "web-1", &ip);
        }
        let line = &self.lines[i as usize % self.lines.len()];
        format!("{}{}", t.format("%b %e %H:%M:%S"), &line[SYSLOG_DATE..])
    }
}

/// The length of a syslog date (`Jun 10 06:00:00`).
const SYSLOG_DATE: usize = 15;

/// A consumer of every partition of `topic` from `from`, in a group of its own, with `props`.
fn reader(brokers: &str, topic: &str, from: Offset, props: &[(&str, &str)]) -> BaseConsumer {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", brokers)
        .set("group.id", unique("bench"));
    for (k, v) in props {
        cfg.set(*k, *v);
    }
    let c: BaseConsumer = cfg.create().unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), from).unwrap();
    }
    c.assign(&tpl).unwrap();
    c
}

fn raw_consume(brokers: &str, topic: &str, n: usize) -> Duration {
    let c = reader(brokers, topic, Offset::Beginning, &[]);
    let start = Instant::now();
    let mut seen = 0;
    let mut bytes = 0usize;
    while seen < n {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            bytes += m.payload().map_or(0, <[u8]>::len);
            seen += 1;
        }
    }
    std::hint::black_box(bytes);
    start.elapsed()
}

async fn throughput(brokers: &str, n: usize, background: &Background) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("bench");
    let text = bench_config_text(brokers, &prefix, dir.path());
    init_topics(&config(&text)).await;
    let logs = format!("{prefix}-logs");
    let p = fast_producer(brokers);
    let t0 = Utc::now() - TimeDelta::minutes(10);
    for i in 0..n as u64 {
        let line = background.line(i, t0 + TimeDelta::milliseconds(i as i64));
        while let Err((e, _)) = p.send(BaseRecord::<(), str>::to(&logs).payload(&line)) {
            let _ = e;
            p.poll(Duration::from_millis(5));
        }
    }
    p.flush(Duration::from_secs(60)).unwrap();
    eprintln!("produced {n} lines");
    let (b, l) = (brokers.to_string(), logs.clone());
    let raw = tokio::task::spawn_blocking(move || raw_consume(&b, &l, n))
        .await
        .unwrap();
    let raw_rate = n as f64 / raw.as_secs_f64();
    eprintln!("raw consumption: {raw:?}");

    let metrics = Registry::new();
    let shutdown = Shutdown::new();
    let task = spawn_roles(
        config(&text),
        vec![Role::Ingest, Role::Detect],
        shutdown.clone(),
        metrics.clone(),
    );
    let events = format!("{prefix}-events");
    let (m, l) = (metrics.clone(), logs.clone());
    let pipe = tokio::task::spawn_blocking(move || {
        let consumed = |role: &str, topic: &str| {
            m.value(
                "palisade_kafka_consumed_messages_total",
                &[("role", role), ("topic", topic)],
            )
            .unwrap_or(0)
        };
        let waiting = Instant::now();
        while consumed("ingest", &l) == 0 {
            std::thread::sleep(Duration::from_millis(1));
            assert!(
                waiting.elapsed() < Duration::from_secs(120),
                "ingest consumed nothing in 120 s (assigned {})",
                m.total("palisade_kafka_assigned_partitions")
            );
        }
        let start = Instant::now();
        loop {
            let produced = m
                .value(
                    "palisade_kafka_produced_messages_total",
                    &[("topic", &events)],
                )
                .unwrap_or(0);
            if consumed("ingest", &l) as usize >= n
                && produced > 0
                && consumed("detect", &events) >= produced
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            assert!(
                start.elapsed() < Duration::from_secs(600),
                "stalled: ingest {} of {n}, events produced {produced}, detect {}",
                consumed("ingest", &l),
                consumed("detect", &events)
            );
            if start.elapsed().as_millis().is_multiple_of(5000) {
                eprintln!(
                    "ingest {} of {n}, events produced {produced}, detect {}",
                    consumed("ingest", &l),
                    consumed("detect", &events)
                );
            }
        }
        start.elapsed()
    })
    .await
    .unwrap();

    let pipe_rate = n as f64 / pipe.as_secs_f64();
    shutdown.trigger();
    let _ = task.await;
    println!(
        "throughput: {n} lines; raw rdkafka consume {raw_rate:.0} msg/s; ingest+detect end to end {pipe_rate:.0} lines/s; ratio {:.3}",
        pipe_rate / raw_rate
    );
}

async fn latency(brokers: &str, rate: u64, secs: u64, background: &Background) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("lat");
    let text = bench_config_text(brokers, &prefix, dir.path());
    init_topics(&config(&text)).await;
    let logs = format!("{prefix}-logs");
    let metrics = Registry::new();
    let shutdown = Shutdown::new();
    let task = spawn_roles(
        config(&text),
        vec![Role::All],
        shutdown.clone(),
        metrics.clone(),
    );
    // Warm up: wait until every role holds partitions.
    while metrics.total("palisade_kafka_assigned_partitions") < 8 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let p = fast_producer(brokers);
    let mut fifth: HashMap<String, i64> = HashMap::new();
    let total = rate * secs;
    let start = Instant::now();
    let mut attack_no = 0u64;
    for i in 0..total {
        // Pace: line i is due at i / rate seconds.
        let due = Duration::from_secs_f64(i as f64 / rate as f64);
        let el = start.elapsed();
        if due > el {
            tokio::time::sleep(due - el).await;
        }
        let t = Utc::now();
        // Every 100th line belongs to an attack of 5 failures (the 5th overflows).
        let line = if i % 100 == 0 {
            let n = i / 100;
            let ip = format!("192.0.{}.{}", (n / 5 / 250) % 250, (n / 5) % 250 + 1);
            let k = n % 5;
            if k == 4 {
                attack_no += 1;
                fifth.insert(ip.clone(), now_ms());
            }
            ssh_failure(t, "web-2", &ip)
        } else {
            background.line(i, t)
        };
        while p
            .send(BaseRecord::<(), str>::to(&logs).payload(&line))
            .is_err()
        {
            p.poll(Duration::from_millis(1));
        }
    }
    p.flush(Duration::from_secs(30)).unwrap();
    let sent_for = start.elapsed();
    let decisions = format!("{prefix}-decisions");
    let want = attack_no as usize;
    let b = brokers.to_string();
    let (lat, to_alert, to_decision) = tokio::task::spawn_blocking(move || {
        let c = reader(&b, &decisions, Offset::Beginning, &[]);
        let mut lat = Vec::new();
        let mut decided: HashMap<String, i64> = HashMap::new();
        let end = Instant::now() + Duration::from_secs(60);
        while lat.len() < want && Instant::now() < end {
            let Some(Ok(m)) = c.poll(Duration::from_millis(100)) else {
                continue;
            };
            let d: palisade_schemas::DecisionChange =
                serde_json::from_slice(m.payload().unwrap_or_default()).unwrap();
            // The decision message's timestamp is when the publish role produced it. An attack
            // is decided by its first decision (ssh-bf and ssh-slow-bf overflow on the same
            // failure; either bans it).
            if let (Some(t), Some(ts)) = (fifth.get(&d.decision.value), m.timestamp().to_millis()) {
                if !decided.contains_key(&d.decision.value) {
                    lat.push(ts - t);
                }
                let first = decided.entry(d.decision.value.clone()).or_insert(ts);
                *first = (*first).min(ts);
            }
        }
        if lat.len() < want {
            let missed: Vec<&String> = fifth
                .keys()
                .filter(|ip| !decided.contains_key(*ip))
                .take(5)
                .collect();
            eprintln!(
                "no decision in 60 s for {} attacks, e.g. {missed:?}",
                want - lat.len()
            );
        }
        // Where the time goes: each attack's first alert on the alerts topic (its produce time;
        // decisions are produced by the publish role from it).
        let alerts = decisions.replace("-decisions", "-alerts");
        let c = reader(&b, &alerts, Offset::Beginning, &[]);
        let mut first_alert: HashMap<String, i64> = HashMap::new();
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            let Some(Ok(m)) = c.poll(Duration::from_millis(100)) else {
                continue;
            };
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).to_string();
            if let (Some(ip), Some(ts)) = (key.strip_prefix("Ip:"), m.timestamp().to_millis()) {
                let e = first_alert.entry(ip.to_string()).or_insert(ts);
                *e = (*e).min(ts);
            }
        }
        let (mut to_alert, mut to_decision) = (Vec::new(), Vec::new());
        for (ip, t) in &fifth {
            if let (Some(a), Some(d)) = (first_alert.get(ip), decided.get(ip)) {
                to_alert.push(a - t);
                to_decision.push(d - a);
            }
        }
        (lat, to_alert, to_decision)
    })
    .await
    .unwrap();
    shutdown.trigger();
    let _ = task.await;
    let pct = |mut v: Vec<i64>, q: f64| {
        v.sort_unstable();
        v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or(-1)
    };
    println!(
        "latency at {rate} lines/s for {:.1}s: {} of {want} attacks decided; line → decision p50 {} ms, p99 {} ms, max {} ms",
        sent_for.as_secs_f64(),
        lat.len(),
        pct(lat.clone(), 0.5),
        pct(lat.clone(), 0.99),
        pct(lat, 1.0)
    );
    println!(
        "  of which line → alert (ingest, detect) p50 {} ms, p99 {} ms; alert → decision (publish) p50 {} ms, p99 {} ms",
        pct(to_alert.clone(), 0.5),
        pct(to_alert, 0.99),
        pct(to_decision.clone(), 0.5),
        pct(to_decision, 0.99)
    );
}

/// Same-run latency baseline: one message at a time produced (idempotent, acks=all, linger
/// 2 ms) and consumed (fetch.wait.max.ms 10), as each hop of the pipeline does; the round trip
/// of one hop with nothing in between.
async fn roundtrip(brokers: &str) -> (i64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("rt");
    let text = bench_config_text(brokers, &prefix, dir.path());
    init_topics(&config(&text)).await;
    let logs = format!("{prefix}-logs");
    let b = brokers.to_string();
    tokio::task::spawn_blocking(move || {
        let c = reader(&b, &logs, Offset::End, &[("fetch.wait.max.ms", "10")]);
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .create()
            .unwrap();
        let mut lat = Vec::new();
        // The first 20 warm the clients up (producer id, fetch sessions).
        for i in 0..220 {
            let t0 = Instant::now();
            let payload = format!("{i}");
            p.send(BaseRecord::<(), str>::to(&logs).payload(&payload))
                .unwrap();
            while !matches!(c.poll(Duration::from_millis(1)), Some(Ok(m)) if m.payload() == Some(payload.as_bytes()))
            {
            }
            if i >= 20 {
                lat.push(t0.elapsed().as_millis() as i64);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        lat.sort_unstable();
        (lat[lat.len() / 2], lat[lat.len() * 99 / 100])
    })
    .await
    .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let brokers = std::env::var("PALISADE_KAFKA_BROKERS")
        .expect("PALISADE_KAFKA_BROKERS (scripts/bench-kafka sets it)");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let rate = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let secs = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let background = Background::load();
    throughput(&brokers, n, &background).await;
    let (p50, p99) = roundtrip(&brokers).await;
    println!(
        "one hop (produce -> consume, the pipeline's client settings): p50 {p50} ms, p99 {p99} ms"
    );
    latency(&brokers, rate, secs, &background).await;
}
