//! Benchmarks of the hot enrichers, each against a baseline measured in the same run:
//!
//! * `date`: `ParseDate` on a syslog timestamp (`Feb 12 14:10:21`, found at the 7th layout
//!   tried) vs chrono parsing the same text with its exact, pre-compiled format;
//! * `asn`: `GeoIpASN` on an IP vs a bare `maxminddb` lookup and decode of the same record.
//!
//! After criterion's own report, the medians are printed as ratios to the baselines.
//! Run with `cargo bench -p palisade-enrich`.

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::{TimeZone, Utc};
use criterion::{black_box, Criterion};
use palisade_enrich::date::parse_date_with_offset;
use palisade_enrich::geoip::GeoIpDb;
use palisade_enrich::{Enricher, GeoIpAsn, ParseDate, SharedClock};
use palisade_runtime::clock::ManualClock;
use palisade_schemas::Event;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SYSLOG_DATE: &str = "Feb 12 14:10:21";
const IP: &str = "8.8.8.8";

fn bench_date(c: &mut Criterion) {
    let items: Vec<Item<'static>> = StrftimeItems::new("%b %e %H:%M:%S").collect();
    let clock: SharedClock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
    ));
    let enricher = ParseDate::new(clock);
    let event = Event::default();
    let mut g = c.benchmark_group("date");
    g.bench_function("baseline_chrono_exact_format", |b| {
        b.iter(|| {
            let mut p = Parsed::new();
            parse(&mut p, black_box(SYSLOG_DATE), items.iter()).unwrap();
            p.set_year(2026).unwrap();
            p.to_naive_datetime_with_offset(0).unwrap()
        })
    });
    g.bench_function("parse_date_with_offset", |b| {
        b.iter(|| parse_date_with_offset(black_box(SYSLOG_DATE), None, 2026).unwrap())
    });
    g.bench_function("ParseDate_enrich", |b| {
        b.iter(|| enricher.enrich(black_box(SYSLOG_DATE), &event))
    });
    g.finish();
}

fn asn_db() -> Option<PathBuf> {
    [
        "/work/shared/geoip/real/asn-routeviews-dbip-geolite2-layout.mmdb",
        "/work/shared/geoip/test/GeoLite2-ASN-Test.mmdb",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn bench_asn(c: &mut Criterion) {
    let Some(path) = asn_db() else {
        eprintln!("no ASN database found; asn benchmarks skipped");
        return;
    };
    let db = GeoIpDb::open("asn", &path).unwrap();
    let raw = maxminddb::Reader::open_readfile(&path).unwrap();
    let enricher = GeoIpAsn::new(Some(db));
    let event = Event::default();
    let mut g = c.benchmark_group("asn");
    g.bench_function("baseline_maxminddb_lookup_decode", |b| {
        b.iter(|| {
            let ip: IpAddr = black_box(IP).parse().unwrap();
            raw.lookup(ip)
                .unwrap()
                .decode::<maxminddb::geoip2::Asn>()
                .unwrap()
                .map(|a| a.autonomous_system_number)
        })
    });
    g.bench_function("GeoIpASN_enrich", |b| {
        b.iter(|| enricher.enrich(black_box(IP), &event))
    });
    g.finish();
}

/// The median of a benchmark, in ns, from criterion's saved estimates.
fn median_ns(dir: &Path, group: &str, name: &str) -> Option<f64> {
    let text =
        std::fs::read_to_string(dir.join(group).join(name).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn report(dir: &Path) {
    let rows = [
        (
            "date",
            "baseline_chrono_exact_format",
            &["parse_date_with_offset", "ParseDate_enrich"][..],
        ),
        (
            "asn",
            "baseline_maxminddb_lookup_decode",
            &["GeoIpASN_enrich"][..],
        ),
    ];
    println!("\nratios to the baselines (medians):");
    for (group, base, names) in rows {
        let Some(b) = median_ns(dir, group, base) else {
            continue;
        };
        println!("  {group}/{base}: {b:.1} ns (1.00x)");
        for name in names {
            if let Some(m) = median_ns(dir, group, name) {
                println!("  {group}/{name}: {m:.1} ns ({:.2}x)", m / b);
            }
        }
    }
}

fn main() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion");
    let mut c = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();
    bench_date(&mut c);
    bench_asn(&mut c);
    c.final_summary();
    report(&dir);
}
