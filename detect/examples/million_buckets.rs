//! Memory of one million live buckets: pours one ssh-bf-like event (8 Meta keys) for each of
//! 1,000,000 distinct addresses into a leaky scenario grouped by source IP, then prints the
//! process RSS (`VmRSS` of `/proc/self/status`) and what it costs per bucket.
//!
//! `cargo run --release -p palisade-detect --example million_buckets [count]`
//! (also run by `cargo bench -p palisade-detect --bench memory`).

use chrono::{TimeDelta, TimeZone, Utc};
use palisade_detect::{BucketEngine, Loader};
use palisade_runtime::metrics::Registry;
use palisade_schemas::Event;
use std::time::Instant;

const SCENARIO: &str = "type: leaky\nname: bench/ssh-bf\ndescription: bench\nfilter: \"evt.Meta.log_type == 'ssh_failed-auth'\"\nleakspeed: 10s\ncapacity: 5\ngroupby: evt.Meta.source_ip\nblackhole: 1m\nlabels:\n  remediation: true\n";

/// `VmRSS` in kB, if readable.
pub fn rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Pours `count` distinct addresses; returns (RSS before, RSS after) in kB.
pub fn run(count: u32) -> (u64, u64) {
    let scenarios = Loader::new()
        .load_texts(&[("bench.yaml", SCENARIO)])
        .expect("scenario");
    let mut engine = BucketEngine::new(scenarios, &Registry::new());
    let mut e = Event::default();
    for (k, v) in [
        ("datasource_path", "/var/log/auth.log"),
        ("datasource_type", "file"),
        ("log_type", "ssh_failed-auth"),
        ("machine", "sd-126005"),
        ("service", "ssh"),
        ("target_user", "root"),
        ("timestamp", "2026-02-12T14:10:21Z"),
        ("source_ip", ""),
    ] {
        e.meta.insert(k.into(), v.into());
    }
    let t0 = Utc.with_ymd_and_hms(2026, 2, 12, 14, 0, 0).unwrap();
    let before = rss_kb().unwrap_or(0);
    let start = Instant::now();
    let mut out = Vec::new();
    let mut ip = String::new();
    for i in 0..count {
        use std::fmt::Write;
        ip.clear();
        let _ = write!(ip, "{}", std::net::Ipv4Addr::from(0x0a00_0000 + i));
        e.meta.get_mut("source_ip").expect("key").clone_from(&ip);
        engine.pour_event(&mut e, t0 + TimeDelta::microseconds(i64::from(i)), &mut out);
    }
    let elapsed = start.elapsed();
    let after = rss_kb().unwrap_or(0);
    assert_eq!(engine.live_buckets(), count as usize);
    assert!(out.is_empty());
    let per = (after.saturating_sub(before) * 1024) / u64::from(count.max(1));
    println!(
        "{count} live buckets in {elapsed:.2?} ({:.0} events/s); RSS {} MB (before {} MB, +{} MB, {per} bytes/bucket)",
        f64::from(count) / elapsed.as_secs_f64(),
        after / 1024,
        before / 1024,
        after.saturating_sub(before) / 1024
    );
    drop(engine);
    (before, after)
}

#[allow(dead_code)]
fn main() {
    let count = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let (_, after) = run(count);
    if count == 1_000_000 && after > 500 * 1024 {
        eprintln!("over the 500 MB target");
        std::process::exit(1);
    }
}
