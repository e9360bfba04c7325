//! End-to-end tests of the embedded pipeline: lines from real files flow through every stage,
//! counters move, and a shutdown drains what was read.

use palisade::pipeline::{self, Embedded};
use palisade_ingest::parse::ParserSet;
use palisade_ingest::source::SourceConfig;
use palisade_publish::{StorageConfig, Store};
use palisade_runtime::bus::BusSpec;
use palisade_runtime::clock::SystemClock;
use palisade_runtime::config::YamlDoc;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

fn labels(t: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("type".to_string(), t.to_string())])
}

fn write_lines(path: &std::path::Path, from: usize, n: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..from + n {
        writeln!(f, "Jan  1 00:00:{:02} host sshd[{i}]: line {i}", i % 60).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_file_goes_through_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    write_lines(&log, 0, 2500);
    let metrics = Registry::new();
    // A small bus, so that backpressure is exercised: 2500 lines through 64-event buses.
    let bus = BusSpec {
        capacity: 64,
        batch_size: 16,
    };
    let storage = StorageConfig::in_memory();
    let report = pipeline::run(Embedded {
        sources: vec![SourceConfig::replay_files(
            vec![log.display().to_string()],
            labels("syslog"),
        )],
        parsers: ParserSet::empty(),
        postoverflows: ParserSet::empty(),
        scenarios: palisade_detect::Scenarios::new(),
        max_buckets: None,
        bus: &bus,
        storage: &storage,
        store: Store::open_in_memory().unwrap(),
        profiles: palisade_publish::ProfilesConfig::default(),
        notify: false,
        shutdown: Shutdown::new(),
        metrics: metrics.clone(),
        clock: Arc::new(SystemClock),
        archive_events: None,
    })
    .await
    .unwrap();
    assert!(
        report.source_errors.is_empty(),
        "{:?}",
        report.source_errors
    );
    assert_eq!(report.lines, 2500);
    assert_eq!(report.parse.items_in, 2500);
    assert_eq!(report.parse.items_out, 2500);
    assert_eq!(report.detect.items_in, 2500);
    assert_eq!(metrics.total("palisade_ingest_lines_read_total"), 2500);
    assert_eq!(metrics.total("palisade_detect_events_received_total"), 2500);
    assert_eq!(
        metrics.total("palisade_bus_queued_events"),
        0,
        "every bus is empty at the end"
    );
    assert!(
        report.store.alerts(None, None).unwrap().is_empty(),
        "no scenario is loaded yet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_pipeline_drains_everything_read_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("live.log");
    std::fs::write(&log, "old line written before start: live tails skip it\n").unwrap();
    let yaml = format!(
        "- filenames: ['{}']\n  poll_interval: 20ms\n  labels: {{type: syslog}}\n",
        log.display()
    );
    let doc = YamlDoc::parse("test.yaml", &yaml).unwrap();
    let mut errors = Vec::new();
    let sources =
        palisade_ingest::source::compile_sources(&doc, "sources", doc.root(), &mut errors);
    assert!(errors.is_empty(), "{errors:?}");

    let metrics = Registry::new();
    let shutdown = Shutdown::new();
    let bus = BusSpec::default();
    let storage = StorageConfig::in_memory();
    let run = {
        let (metrics, shutdown) = (metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            pipeline::run(Embedded {
                sources,
                parsers: ParserSet::empty(),
                postoverflows: ParserSet::empty(),
                scenarios: palisade_detect::Scenarios::new(),
                max_buckets: None,
                bus: &bus,
                storage: &storage,
                store: Store::open_in_memory().unwrap(),
                profiles: palisade_publish::ProfilesConfig::default(),
                notify: false,
                shutdown,
                metrics,
                clock: Arc::new(SystemClock),
                archive_events: None,
            })
            .await
        })
    };
    // The live tail starts at the end of the file, so wait for its first poll: append a line at
    // a time until one is read. Then append 300 more and stop as soon as they are all read.
    let read = || metrics.total("palisade_ingest_lines_read_total");
    let started = async {
        let mut i = 1000;
        while read() == 0 {
            write_lines(&log, i, 1);
            i += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), started)
        .await
        .expect("the tail never started");
    let before = read();
    write_lines(&log, 0, 300);
    let read_all = async {
        while read() < before + 300 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read_all)
        .await
        .expect("the tail never caught up");
    shutdown.trigger();
    let report = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(report.lines >= 300, "{}", report.lines);
    assert_eq!(report.lines as i64, read());
    assert_eq!(
        report.parse.items_in, report.lines,
        "every line read was parsed"
    );
    assert_eq!(
        report.detect.items_in, report.lines,
        "every line read reached detection before exit"
    );
    assert_eq!(metrics.total("palisade_bus_queued_events"), 0);
}
