//! Parse-stage throughput: the CrowdSec hub parsers (s00-raw → s01-parse → s02-enrich, with the
//! hub's grok patterns, data files and GeoIP databases) over 10k sshd lines (`type=syslog`) and
//! 10k nginx lines (`type=nginx`) through `ParserSet::parse`, in lines/s; and, as same-run
//! baselines, one grok capture of `^%{SYSLOGLINE}` (the s00 syslog pattern) on the same lines, so
//! the parse figure can be given as a multiple of one grok. Only `parse` is timed, not the making
//! or dropping of the events.
//!
//! `grok_syslogline_baseline` moves with the grok engine; `regex_syslogline_reference` does not:
//! it is the same regex (`Grok::regex_source`) captured by the `regex` crate alone, which is what
//! the grok engine did before it had its own capture step. Compare figures measured on different
//! days, or before and after an engine change, as ratios to the reference.
//!
//! The last lines it prints are the figures to report: each input's parse throughput as a
//! multiple of the regex reference on the sshd lines, from interleaved passes of both (medians),
//! so that a busy machine slows both alike.
//!
//! `cargo bench -p palisade-ingest --bench parse`
//!
//! The hub is `$PALISADE_HUB_DIR/items`, else the project's `shared/conformance/hub/items`
//! (CrowdSec's layout: `parsers/<stage>/...`, `patterns-base/`, `patterns/`, `data/`). When it is
//! absent the bench says so and measures nothing. This replicates the loading of
//! `palisade hubtest` (`src/hubtest/run.rs`, `hub_parsers`), which a bench cannot call.

/// The allocator of the `palisade` binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use palisade_ingest::grok::{Grok, GrokLibrary};
use palisade_ingest::parser::{collect_dir, Loader, ParserSet, Verdict};
use palisade_schemas::{Event, ExpectMode, Line};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LINES: usize = 10_000;
/// Events in flight at a time.
const CHUNK: usize = 100;
/// Year-less syslog dates get this year, as `hubtest run --year`.
const YEAR: i32 = 2024;

/// The hub items: `$PALISADE_HUB_DIR/items` (the conformance set's root, as for the grok
/// tests), else the project's `shared/conformance/hub/items`.
fn hub_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PALISADE_HUB_DIR").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/hub")),
        Some(PathBuf::from("/work/shared/conformance/hub")),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|p| p.join("items"))
        .find(|p| p.join("parsers").is_dir())
}

/// The hub's grok table: `patterns-base/` then `patterns/`, else Palisade's own.
fn grok_library(hub: &Path) -> GrokLibrary {
    let dirs: Vec<PathBuf> = ["patterns-base", "patterns"]
        .iter()
        .map(|d| hub.join(d))
        .filter(|d| d.is_dir())
        .collect();
    if dirs.is_empty() {
        return GrokLibrary::builtin();
    }
    let mut lib = GrokLibrary::new();
    for d in dirs {
        lib.load_dir(&d)
            .unwrap_or_else(|e| panic!("loading grok patterns from {}: {e}", d.display()));
    }
    lib
}

/// Every parser of the hub, as `hub_parsers(hub, Some(YEAR))` loads them.
fn hub_parsers(hub: &Path) -> ParserSet {
    let mut grok = grok_library(hub);
    let data = hub.join("data");
    let existing = |name: &str| Some(data.join(name)).filter(|p| p.is_file());
    let spec = palisade_enrich::EnrichSpec {
        geoip_city: existing("GeoLite2-City.mmdb"),
        geoip_asn: existing("GeoLite2-ASN.mmdb"),
        year: Some(YEAR),
        ..Default::default()
    };
    let enrichers = palisade_enrich::Registry::with_defaults(
        Arc::new(palisade_runtime::clock::SystemClock),
        &spec,
    )
    .expect("enrichers");
    let mut files = collect_dir(&hub.join("parsers")).expect("reading the hub's parsers");
    files.sort_by(|a, b| (&a.stage, a.path.file_name()).cmp(&(&b.stage, b.path.file_name())));
    let mut loader = Loader::new(&mut grok, &enrichers);
    if data.is_dir() {
        loader.data_dir = Some(&data);
    }
    loader.load(&files).unwrap_or_else(|errs| {
        panic!(
            "loading parsers: {}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

/// `LINES` lines of a sample file (repeated if it is shorter), as events labelled `log_type`.
fn events(file: &Path, log_type: &str) -> Vec<Event> {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty(), "{} is empty", file.display());
    let labels: BTreeMap<String, String> = [("type".to_string(), log_type.to_string())].into();
    let src = file.display().to_string();
    let time = chrono::Utc::now();
    lines
        .iter()
        .cycle()
        .take(LINES)
        .map(|raw| {
            Event::from_line(
                Line {
                    raw: raw.to_string(),
                    src: src.clone(),
                    time: Some(time),
                    labels: labels.clone(),
                    process: false,
                    module: "file".into(),
                },
                ExpectMode::TimeMachine,
            )
        })
        .collect()
}

/// `PALISADE_PARSE_ROUNDS=<input>:<rounds>` (e.g. `sshd:30`): parses that input's lines that
/// many times and nothing else, for counters that do not depend on the machine's load:
/// `perf stat -e cycles:u,instructions:u` over this run, divided by the lines, gives cycles
/// and instructions per line (the first round fills the lazy DFAs; use enough rounds).
fn fixed_rounds(set: &ParserSet, inputs: &[(&str, Vec<Event>)], spec: &str) {
    let (name, rounds) = spec.split_once(':').unwrap_or((spec, "30"));
    let rounds: usize = rounds
        .parse()
        .expect("PALISADE_PARSE_ROUNDS=<input>:<rounds>");
    let (_, evts) = inputs
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no input {name:?}"));
    let start = Instant::now();
    for _ in 0..rounds {
        for chunk in evts.chunks(CHUNK) {
            let mut chunk = chunk.to_vec();
            for e in chunk.iter_mut() {
                black_box(set.parse(e));
            }
        }
    }
    eprintln!(
        "parse bench: {name}: {} lines parsed in {:?}",
        rounds * evts.len(),
        start.elapsed()
    );
}

fn bench(c: &mut Criterion) {
    let Some(hub) = hub_dir() else {
        eprintln!(
            "parse bench: no CrowdSec hub (set PALISADE_HUB_DIR to a directory holding \
             items/parsers); nothing measured"
        );
        return;
    };
    let started = std::time::Instant::now();
    let set = hub_parsers(&hub);
    eprintln!(
        "parse bench: {} parser nodes in stages {:?} loaded in {:?}",
        set.len(),
        set.stages(),
        started.elapsed()
    );
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let inputs = [
        ("sshd", events(&samples.join("auth.log"), "syslog")),
        ("nginx", events(&samples.join("access.log"), "nginx")),
    ];
    for (name, evts) in &inputs {
        let mut kept = 0;
        let mut unparsed = 0;
        let mut whitelisted = 0;
        for e in evts {
            match set.parse(&mut e.clone()) {
                Verdict::Keep => kept += 1,
                Verdict::Unparsed => unparsed += 1,
                Verdict::Whitelisted => whitelisted += 1,
            }
        }
        eprintln!(
            "parse bench: {name}: {} lines: {kept} kept, {unparsed} unparsed, {whitelisted} whitelisted",
            evts.len()
        );
    }

    if let Ok(spec) = std::env::var("PALISADE_PARSE_ROUNDS") {
        fixed_rounds(&set, &inputs, &spec);
        return;
    }

    let syslog = Grok::compile(&grok_library(&hub), "^%{SYSLOGLINE}").expect("SYSLOGLINE");
    let reference = regex::RegexBuilder::new(syslog.regex_source())
        .nest_limit(1000)
        .size_limit(256 << 20)
        .build()
        .expect("SYSLOGLINE with the regex crate");
    let mut locations = reference.capture_locations();
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    for (name, evts) in &inputs {
        group.throughput(Throughput::Elements(evts.len() as u64));
        // Only `parse` is timed: the events are copied from the samples before, and dropped
        // after, in chunks of `CHUNK` so that memory is recycled as in the pipeline.
        group.bench_function(format!("{name}/hub_parsers"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| timed_parse(&set, evts)).sum())
        });
        group.bench_function(format!("{name}/grok_syslogline_baseline"), |b| {
            b.iter(|| {
                evts.iter()
                    .filter(|e| syslog.captures(black_box(&e.line.raw)).is_some())
                    .count()
            })
        });
        group.bench_function(format!("{name}/regex_syslogline_reference"), |b| {
            b.iter(|| {
                evts.iter()
                    .filter(|e| {
                        reference
                            .captures_read(&mut locations, black_box(&e.line.raw))
                            .is_some()
                    })
                    .count()
            })
        });
    }
    group.finish();
    same_run_ratios(&set, &inputs, |raw| {
        reference.captures_read(&mut locations, raw).is_some()
    });
}

/// The time `parse` takes over copies of `evts`, made (and dropped) untimed in chunks of
/// `CHUNK`, so that memory is recycled as in the pipeline.
fn timed_parse(set: &ParserSet, evts: &[Event]) -> Duration {
    let mut timed = Duration::ZERO;
    for chunk in evts.chunks(CHUNK) {
        let mut chunk = chunk.to_vec();
        let start = Instant::now();
        for e in chunk.iter_mut() {
            black_box(set.parse(e));
        }
        timed += start.elapsed();
    }
    timed
}

/// Passes of each kind in [`same_run_ratios`].
const RATIO_PASSES: usize = 15;

/// The figure to report: each input's parse throughput as a multiple of the regex reference on
/// the sshd lines, measured in interleaved passes (one parse pass, one reference pass, and so
/// on) so that both see the same machine load; medians of [`RATIO_PASSES`].
fn same_run_ratios(
    set: &ParserSet,
    inputs: &[(&str, Vec<Event>)],
    mut reference: impl FnMut(&str) -> bool,
) {
    let Some((_, sshd)) = inputs.iter().find(|(n, _)| *n == "sshd") else {
        return;
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (name, evts) in inputs {
        let (mut parse_rates, mut reference_rates) = (Vec::new(), Vec::new());
        for _ in 0..RATIO_PASSES {
            let timed = timed_parse(set, evts);
            parse_rates.push(evts.len() as f64 / timed.as_secs_f64());
            let start = Instant::now();
            let matched = sshd
                .iter()
                .filter(|e| reference(black_box(&e.line.raw)))
                .count();
            black_box(matched);
            reference_rates.push(sshd.len() as f64 / start.elapsed().as_secs_f64());
        }
        let (parse, reference) = (median(parse_rates), median(reference_rates));
        eprintln!(
            "parse bench: {name}: hub parsers {:.0}k lines/s = {:.2} x the regex reference on \
             the sshd lines ({:.0}k lines/s), medians of {RATIO_PASSES} interleaved passes",
            parse / 1e3,
            parse / reference,
            reference / 1e3
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
