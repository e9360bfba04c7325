//! The bouncer's benchmark on a real broker and real nftables, inside a network namespace made
//! here (scripts/bench-bouncer starts the broker and sets PALISADE_KAFKA_BROKERS; needs root).
//!
//! 1. Start: N decisions (default 100k) already on the decision topic; the time from the
//!    bouncer's start to all of them present in nftables (topic read from the beginning, set
//!    rebuilt, one nft transaction), and the nft transaction alone.
//! 2. Latency: decisions produced one at a time at a steady rate (default 50/s for 10 s) while
//!    the bouncer runs; for each, the time from the produce call to the end of the nft
//!    transaction that added its element. Reported as p50/p99/max. A sample of addresses is
//!    checked with `nft get element` afterwards.
//!
//! `cargo bench --bench bounce_e2e -- [start_decisions] [rate] [seconds]`

#[path = "../tests/kafka_support/mod.rs"]
mod kafka_support;

use palisade_bounce::backend::nftables::{Nftables, NftablesSpec};
use palisade_bounce::config::KafkaSourceSpec;
use palisade_bounce::engine::{Engine, Health, Observer, SourceEvent};
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{Decision, DecisionAction, DecisionChange};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn change(ip: Ipv4Addr) -> DecisionChange {
    DecisionChange {
        action: DecisionAction::Add,
        decision: Decision {
            duration: "4h".into(),
            id: 0,
            origin: "bench".into(),
            scenario: "bench/bouncer".into(),
            scope: "Ip".into(),
            simulated: None,
            kind: "ban".into(),
            until: Some(chrono::Utc::now() + chrono::TimeDelta::hours(4)),
            uuid: None,
            value: ip.to_string(),
        },
    }
}

fn producer(brokers: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "0")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap()
}

fn produce(p: &ThreadedProducer<DefaultProducerContext>, topic: &str, c: &DecisionChange) {
    let payload = serde_json::to_string(c).unwrap();
    let key = c.key();
    let mut rec = BaseRecord::to(topic).key(&key).payload(&payload);
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((_, r)) => {
                rec = r;
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// One applied batch: when it finished, its added values (small batches), full, size.
type Applied = (Instant, Vec<String>, bool, usize);

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

struct Ns(String);

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let start_n: u32 = args.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rate: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);
    let seconds: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let Ok(brokers) = std::env::var("PALISADE_KAFKA_BROKERS") else {
        eprintln!("PALISADE_KAFKA_BROKERS is not set: run scripts/bench-bouncer");
        return;
    };
    let ns = Ns(format!("pbench-{}", std::process::id()));
    let out = Command::new("ip")
        .args(["netns", "add", &ns.0])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip netns add (root needed): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nft: Vec<String> = ["ip", "netns", "exec", &ns.0, "nft"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let topic = kafka_support::unique("bench-bouncer");
    let p = producer(&brokers);

    // 1. Start with N decisions on the topic.
    let t = Instant::now();
    for i in 0..start_n {
        produce(&p, &topic, &change(Ipv4Addr::from(0x2800_0000 + i)));
    }
    p.flush(Duration::from_secs(120)).unwrap();
    println!("produced {start_n} decisions in {:?}", t.elapsed());

    let applied: Arc<Mutex<Vec<Applied>>> = Arc::default();
    let rec = applied.clone();
    let observer: Observer = Arc::new(move |_name, batch, done| {
        let values = if batch.adds.len() <= 1000 {
            batch.adds.iter().map(|e| e.key.value.clone()).collect()
        } else {
            Vec::new()
        };
        rec.lock()
            .unwrap()
            .push((done, values, batch.full, batch.adds.len()));
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let shutdown = Shutdown::new();
    let (tx, rx) = tokio::sync::mpsc::channel::<SourceEvent>(64);
    let started = Instant::now();
    let source = palisade::kafka::bouncer::spawn(
        KafkaSourceSpec {
            brokers: vec![brokers.clone()],
            topic: topic.clone(),
            client: Default::default(),
        },
        tx,
        shutdown.clone(),
    );
    let metrics = Registry::new();
    let engine = Engine {
        backends: vec![Box::new(Nftables::new(NftablesSpec {
            command: nft.clone(),
            ..NftablesSpec::default()
        }))],
        health: Health::default(),
        metrics: metrics.clone(),
        observer: Some(observer),
    };
    let engine_task = rt.spawn(engine.run(rx, shutdown.clone()));
    loop {
        let full = applied
            .lock()
            .unwrap()
            .iter()
            .find(|a| a.2)
            .map(|a| (a.0, a.3));
        if let Some((done, n)) = full {
            println!(
                "start: {n} decisions from the topic into nftables in {:?} (nft transaction: {} ms)",
                done - started,
                metrics.value("palisade_bounce_backend_apply_milliseconds", &[("backend", "nftables")]).unwrap_or(-1)
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the start did not finish"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // 2. Latency at a steady rate.
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let total = rate * seconds;
    let t0 = Instant::now();
    for i in 0..total {
        let due = t0 + every * i;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let ip = Ipv4Addr::from(0x3000_0000 + i);
        sent.insert(ip.to_string(), Instant::now());
        produce(&p, &topic, &change(ip));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lat: Vec<Duration> = Vec::new();
    loop {
        lat.clear();
        for (done, values, _, _) in applied.lock().unwrap().iter() {
            for v in values {
                if let Some(s) = sent.get(v) {
                    lat.push(done.saturating_duration_since(*s));
                }
            }
        }
        if lat.len() >= sent.len() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = lat.len();
    if seen > 0 {
        let p50 = pct(&mut lat, 0.50);
        let p99 = pct(&mut lat, 0.99);
        let max = pct(&mut lat, 1.0);
        println!("latency, produce to nftables element ({seen}/{} decisions at {rate}/s): p50 {p50:?}, p99 {p99:?}, max {max:?}", sent.len());
    }
    // The elements really are there.
    for i in [0, total / 2, total - 1] {
        let ip = Ipv4Addr::from(0x3000_0000 + i);
        let out = Command::new(&nft[0])
            .args(&nft[1..])
            .args(["get", "element", "inet", "palisade", "ipv4"])
            .arg(format!("{{ {ip} }}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{ip} is not in the set: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new(&nft[0])
        .args(&nft[1..])
        .args(["get", "element", "inet", "palisade", "ipv4"])
        .arg(format!(
            "{{ {} }}",
            Ipv4Addr::from(0x2800_0000 + start_n - 1)
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the last start decision is not in the set"
    );
    println!("checked with nft get element: sample addresses present");
    shutdown.trigger();
    rt.block_on(engine_task).unwrap();
    let _ = source.join();
}
