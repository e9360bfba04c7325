//! Pour throughput of the bucket engine, one core: ssh-bf-like events (8 Meta keys) into a leaky
//! scenario grouped by source IP, against a baseline doing the least per event (one
//! `HashMap<String, u32>` increment keyed by the address) on the same events.
//!
//! * `steady`: 50,000 addresses, each seen every 50 s: every pour finds a live bucket, refilled,
//!   and no overflow happens (the common case).
//! * `attack`: 1,000 addresses, each seen every second: one event in six overflows, so alert
//!   building is included.
//! * `replay`: `steady` in time-machine mode (each pour parses `MarshaledTime`).
//!
//! `cargo bench -p palisade-detect --bench pour`; criterion prints elements/s per case.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use palisade_detect::{BucketEngine, Loader};
use palisade_runtime::metrics::Registry;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Event, ExpectMode};
use std::collections::HashMap;
use std::hint::black_box;

const SCENARIO: &str = "type: leaky\nname: bench/ssh-bf\ndescription: bench\nfilter: \"evt.Meta.log_type == 'ssh_failed-auth'\"\nleakspeed: 10s\ncapacity: 5\ngroupby: evt.Meta.source_ip\nblackhole: 1m\nlabels:\n  remediation: true\n";

const BATCH: usize = 10_000;

fn engine() -> BucketEngine {
    let s = Loader::new()
        .load_texts(&[("bench.yaml", SCENARIO)])
        .expect("scenario");
    BucketEngine::new(s, &Registry::new())
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 12, 14, 0, 0).unwrap()
}

fn event(ip: u32, mode: ExpectMode) -> Event {
    let mut e = Event::default();
    let a = std::net::Ipv4Addr::from(0x0a00_0000 + ip).to_string();
    for (k, v) in [
        ("datasource_path", "/var/log/auth.log"),
        ("datasource_type", "file"),
        ("log_type", "ssh_failed-auth"),
        ("machine", "sd-126005"),
        ("service", "ssh"),
        ("target_user", "root"),
        ("timestamp", "2026-02-12T14:10:21Z"),
    ] {
        e.meta.insert(k.into(), v.into());
    }
    e.meta.insert("source_ip".into(), a);
    e.expect_mode = mode;
    e
}

/// Events cycling over `ips` addresses, and the pour loop state. As in the pipeline, the event
/// being poured is hot in cache (a few event objects are reused, only the address changes),
/// while the bucket state of tens of thousands of addresses is not.
struct Stream {
    events: Vec<Event>,
    ips: Vec<String>,
    step: TimeDelta,
    n: u64,
}

impl Stream {
    fn new(ips: u32, step: TimeDelta, mode: ExpectMode) -> Self {
        Stream {
            events: (0..16).map(|i| event(i, mode)).collect(),
            ips: (0..ips)
                .map(|i| std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string())
                .collect(),
            step,
            n: 0,
        }
    }

    fn run(&mut self, batch: usize, mut f: impl FnMut(&mut Event, DateTime<Utc>)) {
        let len = self.ips.len() as u64;
        for _ in 0..batch {
            let now = t0() + self.step * (self.n as i32);
            let e = &mut self.events[(self.n % 16) as usize];
            if let Some(ip) = e.meta.get_mut("source_ip") {
                ip.clone_from(&self.ips[(self.n % len) as usize]);
            }
            if e.expect_mode == ExpectMode::TimeMachine {
                e.marshaled_time = format_rfc3339_nano(&now);
            }
            f(e, now);
            self.n += 1;
        }
    }
}

fn pour(c: &mut Criterion) {
    let mut g = c.benchmark_group("pour");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(30);

    let mut base = Stream::new(50_000, TimeDelta::milliseconds(1), ExpectMode::Live);
    let mut map: HashMap<String, u32> = HashMap::new();
    g.bench_function("baseline_hashmap_increment", |b| {
        b.iter(|| {
            base.run(BATCH, |e, _| {
                let ip = e.get_meta("source_ip");
                match map.get_mut(ip) {
                    Some(v) => *v += 1,
                    None => {
                        map.insert(ip.to_owned(), 1);
                    }
                }
            });
            black_box(map.len())
        })
    });

    for (name, ips, step, mode) in [
        (
            "steady",
            50_000,
            TimeDelta::milliseconds(1),
            ExpectMode::Live,
        ),
        (
            "attack",
            1_000,
            TimeDelta::milliseconds(1),
            ExpectMode::Live,
        ),
        (
            "replay",
            50_000,
            TimeDelta::milliseconds(1),
            ExpectMode::TimeMachine,
        ),
    ] {
        let mut engine = engine();
        let mut stream = Stream::new(ips, step, mode);
        let mut out = Vec::new();
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                stream.run(BATCH, |e, now| engine.pour_event(e, now, &mut out));
                black_box(out.len())
            })
        });
        eprintln!(
            "{name}: {} live buckets after {} events",
            engine.live_buckets(),
            stream.n
        );
    }
    g.finish();
}

criterion_group!(benches, pour);
criterion_main!(benches);
