//! SQL scenario throughput, one core: a tumbling one-minute `GROUP BY source_ip` count over
//! 1,000,000 replayed events (1,000 addresses, ~1,700 events a second, so about 10 windows),
//! against a baseline measured in the same run: the same event-time extraction and a plain
//! `HashMap<(window, address), u64>` count over the same events.
//!
//! `sql` covers everything the detect stage does for a SQL scenario: event time, windowing,
//! building the Arrow columns the query reads, DataFusion evaluation when a window closes (the
//! watermark moves after every batch of 10,000 events), and turning result rows into alerts.
//!
//! `cargo bench -p palisade-detect --bench sql_window`; criterion prints elements/s per case.

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use palisade_detect::sql::{event_time, SqlEngine};
use palisade_detect::Loader;
use palisade_runtime::metrics::Registry;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Event, ExpectMode};
use std::collections::HashMap;
use std::hint::black_box;

const SCENARIO: &str = "type: sql\nname: bench/count\nwindow: {type: tumbling, size: 1m}\nquery: SELECT source_ip, count(*) AS n FROM events WHERE log_type = 'ssh_failed-auth' GROUP BY source_ip HAVING count(*) > 1000000\nalert: {value: source_ip, count: n}\n";

const EVENTS: usize = 1_000_000;
const BATCH: usize = 10_000;

fn events() -> Vec<Event> {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (0..EVENTS)
        .map(|i| {
            let mut e = Event {
                expect_mode: ExpectMode::TimeMachine,
                ..Event::default()
            };
            let t = t0 + TimeDelta::microseconds(i as i64 * 600);
            e.marshaled_time = format_rfc3339_nano(&t);
            for (k, v) in [
                (
                    "source_ip",
                    format!("10.0.{}.{}", (i % 1000) / 250, i % 250),
                ),
                ("log_type", "ssh_failed-auth".to_string()),
                ("service", "ssh".to_string()),
                ("target_user", "root".to_string()),
                ("machine", "srv".to_string()),
                ("IsoCode", "FR".to_string()),
            ] {
                e.meta.insert(k.into(), v);
            }
            e
        })
        .collect()
}

fn sql(events: &mut [Event]) -> usize {
    let s = Loader::new()
        .load_texts(&[("bench.yaml", SCENARIO)])
        .expect("scenario")
        .take_sql();
    let mut engine = SqlEngine::new(s, &Registry::new());
    let mut out = Vec::new();
    let now = Utc::now();
    for chunk in events.chunks_mut(BATCH) {
        let mut newest = i64::MIN;
        for e in chunk {
            engine.pour(e, now);
            newest = newest.max(event_time(e, now));
        }
        engine.advance(chrono::DateTime::from_timestamp_nanos(newest), &mut out);
    }
    engine.flush(&mut out);
    out.len()
}

fn baseline(events: &[Event]) -> usize {
    const MINUTE: i64 = 60_000_000_000;
    let now = Utc::now();
    let mut counts: HashMap<(i64, String), u64> = HashMap::new();
    for e in events {
        if e.get_meta("log_type") != "ssh_failed-auth" {
            continue;
        }
        let w = event_time(e, now).div_euclid(MINUTE);
        *counts
            .entry((w, e.get_meta("source_ip").to_string()))
            .or_default() += 1;
    }
    counts.values().filter(|&&n| n > 1_000_000).count()
}

fn bench(c: &mut Criterion) {
    let mut events = events();
    let mut g = c.benchmark_group("sql_tumbling_count_1m_events");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(10);
    g.bench_function("sql", |b| b.iter(|| black_box(sql(&mut events))));
    g.bench_function("baseline_hashmap", |b| {
        b.iter(|| black_box(baseline(&events)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
