//! Whole sources run through `SourceConfig::run` into a memory bus.

use crate::source::emit::tests::test_context;
use crate::source::{compile_sources, Mode, SourceConfig};
use crate::IngestError;
use palisade_runtime::bus::memory::channel;
use palisade_runtime::bus::BusReceiver;
use palisade_runtime::config::YamlDoc;
use palisade_schemas::event::ExpectMode;
use palisade_schemas::Event;
use std::collections::BTreeMap;

fn labels(t: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("type".to_string(), t.to_string())])
}

#[tokio::test]
async fn a_cat_mode_file_source_emits_every_line_as_a_time_machine_event() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "a1\n\na2\n").unwrap();
    std::fs::write(dir.path().join("b.log"), "b1\nb2 no newline").unwrap();
    std::fs::write(dir.path().join("c.log.gz"), "ignored\n").unwrap();
    let yaml = format!(
        "sources:\n  - filenames: ['{}/*']\n    exclude_regexps: ['\\.gz$']\n    mode: cat\n    labels: {{type: nginx, env: test}}\n",
        dir.path().display()
    );
    let doc = YamlDoc::parse("p.yaml", &yaml).unwrap();
    let mut errors = Vec::new();
    let mut sources = compile_sources(&doc, "sources", &doc.root()["sources"], &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let source = sources.remove(0);
    let name = source.name.clone();

    let ctx = test_context(2);
    let (tx, mut rx) = channel::<Event>("lines", 100, &ctx.metrics);
    let report = source.run(tx, ctx.clone()).await.unwrap();
    assert_eq!(report.lines, 4);

    let mut batches = Vec::new();
    while let Some(b) = rx.recv().await {
        batches.push(b.items);
    }
    assert!(
        batches.iter().all(|b| b.len() <= 2),
        "batches respect batch_size"
    );
    let events: Vec<Event> = batches.into_iter().flatten().collect();
    let raws: Vec<&str> = events.iter().map(|e| e.line.raw.as_str()).collect();
    assert_eq!(raws, vec!["a1", "a2", "b1", "b2 no newline"]);
    let a = dir.path().join("a.log").to_string_lossy().into_owned();
    let b = dir.path().join("b.log").to_string_lossy().into_owned();
    let srcs: Vec<&str> = events.iter().map(|e| e.line.src.as_str()).collect();
    assert_eq!(srcs, vec![a.as_str(), a.as_str(), b.as_str(), b.as_str()]);
    let expected_labels = BTreeMap::from([
        ("type".to_string(), "nginx".to_string()),
        ("env".to_string(), "test".to_string()),
    ]);
    for e in &events {
        assert_eq!(e.line.labels, expected_labels);
        assert_eq!(e.line.module, "file");
        assert_eq!(e.expect_mode, ExpectMode::TimeMachine);
        assert_eq!(e.line.time, Some(ctx.clock.now()));
        assert!(!e.line.process);
        assert_eq!(e.log_type(), Some("nginx"));
    }
    assert_eq!(
        ctx.metrics.value(
            "palisade_ingest_lines_read_total",
            &[("source", name.as_str()), ("module", "file")]
        ),
        Some(4)
    );
}

#[tokio::test]
async fn replay_files_reads_literal_paths_and_fails_on_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let weird = dir.path().join("odd[1].log");
    std::fs::write(&weird, "x\n").unwrap();
    let source =
        SourceConfig::replay_files(vec![weird.to_string_lossy().into_owned()], labels("syslog"));
    assert_eq!(source.mode, Mode::Cat);
    let ctx = test_context(10);
    let (tx, mut rx) = channel::<Event>("lines", 100, &ctx.metrics);
    let report = source.run(tx, ctx.clone()).await.unwrap();
    assert_eq!(report.lines, 1);
    assert_eq!(rx.recv().await.unwrap().items[0].line.raw, "x");

    let missing = dir
        .path()
        .join("missing.log")
        .to_string_lossy()
        .into_owned();
    let source = SourceConfig::replay_files(vec![missing.clone()], labels("syslog"));
    let (tx, _rx) = channel::<Event>("lines", 100, &ctx.metrics);
    let err = source.run(tx, ctx.clone()).await.unwrap_err();
    assert!(matches!(err, IngestError::NoMatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("source file:{missing}: no file matches {missing:?}")
    );
}

#[tokio::test]
async fn a_tail_mode_file_source_follows_until_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("live.log");
    std::fs::write(&log, "before start\n").unwrap();
    let yaml = format!(
        "sources:\n  - filename: '{}'\n    poll_interval: 10ms\n    labels: {{type: syslog}}\n",
        log.display()
    );
    let doc = YamlDoc::parse("p.yaml", &yaml).unwrap();
    let mut errors = Vec::new();
    let source = compile_sources(&doc, "sources", &doc.root()["sources"], &mut errors).remove(0);
    let ctx = test_context(10);
    let (tx, mut rx) = channel::<Event>("lines", 100, &ctx.metrics);
    let task = tokio::spawn(source.run(tx, ctx.clone()));
    // The first poll happens at once; wait until the source opened the file at its end by
    // writing until a line comes through (writes before the first poll are skipped).
    let mut got = Vec::new();
    let mut i = 0;
    while got.is_empty() {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(f, "live {i}").unwrap();
        i += 1;
        if let Ok(Some(b)) =
            tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await
        {
            got.extend(b.items);
        }
    }
    assert!(got
        .iter()
        .all(|e| e.line.raw.starts_with("live ") && e.expect_mode == ExpectMode::Live));
    ctx.shutdown.trigger();
    let report = task.await.unwrap().unwrap();
    assert!(report.lines >= 1);
}

#[tokio::test]
async fn a_closed_bus_stops_a_source_without_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, "a\nb\n").unwrap();
    let source = SourceConfig::replay_files(vec![log.to_string_lossy().into_owned()], labels("x"));
    let ctx = test_context(1);
    let (tx, rx) = channel::<Event>("lines", 100, &ctx.metrics);
    drop(rx);
    source.run(tx, ctx).await.unwrap();
}

#[test]
fn run_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let ctx = test_context(1);
    let (tx, _rx) = channel::<Event>("lines", 1, &ctx.metrics);
    let fut = SourceConfig::stdin(labels("x"), Mode::Tail).run(tx, ctx);
    assert_send(&fut);
}
