//! SQL scenarios end to end in the detect stage, driven by fixture folders, plus load-time
//! errors.
//!
//! `tests/sql-fixtures/<case>/`:
//! * `scenario.yaml` (or `scenario.path`: a path from the repository root, for shipped content);
//! * `events.jsonl`: one line per batch given to the stage, a batch being one event or an array
//!   of events: `{"t": "2026-01-01T00:00:10Z", "ip": "10.0.0.1", "type": "ssh_failed-auth",
//!   "meta": {...}, "parsed": {...}}`. Events are replayed (time machine): after each batch the
//!   watermark moves to the newest event time; at the end every open window is flushed;
//! * `expected.json`: `{"alerts": [{"value", "start", "end", "count"}], "late": n, "errors": n}`,
//!   alerts compared as a sorted list, `late` and `errors` (metrics) when given.

use palisade_detect::{BucketEngine, DetectStage, Loader};
use palisade_runtime::metrics::Registry;
use palisade_runtime::stage::Stage;
use palisade_schemas::{Alert, Event, ExpectMode};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn event(v: &Value) -> Event {
    let mut e = Event {
        expect_mode: ExpectMode::TimeMachine,
        marshaled_time: v["t"].as_str().expect("t").to_string(),
        ..Event::default()
    };
    if let Some(ip) = v["ip"].as_str() {
        e.meta.insert("source_ip".into(), ip.into());
    }
    if let Some(t) = v["type"].as_str() {
        e.meta.insert("log_type".into(), t.into());
    }
    for (field, map) in [("meta", &mut e.meta), ("parsed", &mut e.parsed)] {
        if let Some(m) = v[field].as_object() {
            for (k, x) in m {
                map.insert(k.clone().into(), x.as_str().unwrap_or_default().to_string());
            }
        }
    }
    e
}

fn scenario_text(dir: &Path) -> (String, String) {
    let yaml = dir.join("scenario.yaml");
    if yaml.exists() {
        return (
            yaml.display().to_string(),
            std::fs::read_to_string(yaml).unwrap(),
        );
    }
    let rel = std::fs::read_to_string(dir.join("scenario.path")).unwrap();
    let path = root().join(rel.trim());
    (
        path.display().to_string(),
        std::fs::read_to_string(&path).unwrap(),
    )
}

fn run_case(dir: &Path) -> Result<(), String> {
    let (name, text) = scenario_text(dir);
    let scenarios = Loader::new()
        .load_texts(&[(&name, &text)])
        .map_err(|e| format!("load: {e:?}"))?;
    let scenario = scenarios.sql()[0].name().to_string();
    let registry = Registry::new();
    let mut stage = DetectStage::new(BucketEngine::new(scenarios, &registry), &registry);
    let mut alerts: Vec<Alert> = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
        for line in events.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).expect("event line");
            let mut batch: Vec<Event> = match &v {
                Value::Array(a) => a.iter().map(event).collect(),
                _ => vec![event(&v)],
            };
            stage.process(&mut batch, &mut alerts).await.unwrap();
        }
        stage.on_close(&mut alerts).await.unwrap();
    });
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut got: Vec<Value> = alerts
        .iter()
        .map(|a| {
            assert_eq!(a.scenario, scenario);
            serde_json::json!({
                "value": a.source.value, "start": a.start_at, "end": a.stop_at,
                "count": a.events_count,
            })
        })
        .collect();
    let key = |v: &Value| v.to_string();
    got.sort_by_key(key);
    let mut want = expected["alerts"].as_array().cloned().unwrap_or_default();
    want.sort_by_key(key);
    if got != want {
        return Err(format!(
            "alerts differ\n got: {}\nwant: {}",
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&want).unwrap()
        ));
    }
    for (field, metric) in [
        ("late", "palisade_detect_sql_late_events_total"),
        ("errors", "palisade_detect_sql_errors_total"),
    ] {
        if let Some(n) = expected[field].as_i64() {
            let have = registry.total(metric);
            if have != n {
                return Err(format!("{field}: got {have}, want {n}"));
            }
        }
    }
    Ok(())
}

#[test]
fn fixture_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql-fixtures");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "fixture cases missing: {cases:?}");
    let only = std::env::var("SQL_CASE").ok();
    let mut failures = Vec::new();
    for c in &cases {
        let name = c.file_name().unwrap().to_string_lossy().to_string();
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        if let Err(e) = run_case(c) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn load_error(text: &str) -> String {
    let e = Loader::new()
        .load_texts(&[("bad.yaml", text)])
        .expect_err("must not load");
    e.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

const HEAD: &str = "type: sql\nname: t/bad\nwindow: {type: tumbling, size: 1m}\n";

#[test]
fn syntax_errors_name_the_file_and_the_position_in_it() {
    let text = format!(
        "{HEAD}query: |\n  SELECT source_ip\n  FROM events WHERE WHERE x\nalert: {{value: source_ip}}\n"
    );
    let e = load_error(&text);
    assert!(e.starts_with("bad.yaml:6:"), "{e}");
    assert!(e.contains("query: scenario t/bad:"), "{e}");
    assert!(e.starts_with("bad.yaml:6:27: query: scenario t/bad: syntax error: Expected: end of statement, found: x"), "{e}");
}

#[test]
fn planning_errors_name_the_file_and_the_position_in_it() {
    let text = format!(
        "{HEAD}query: |\n  SELECT source_ip,\n         nope AS n FROM events\nalert: {{value: source_ip}}\n"
    );
    let e = load_error(&text);
    assert!(
        e.starts_with("bad.yaml:6:10: query: scenario t/bad:"),
        "{e}"
    );
    assert!(e.contains("nope"), "{e}");
}

#[test]
fn result_columns_are_checked_against_the_alert() {
    let text = format!(
        "{HEAD}query: SELECT count(*) AS n, source_ip AS ip FROM events GROUP BY source_ip\nalert:\n  value: source_ip\n  count: ip\n"
    );
    let e = load_error(&text);
    assert!(
        e.contains("bad.yaml:6:3: alert.value: scenario t/bad: the query has no result column 'source_ip' (it has: n, ip)"),
        "{e}"
    );
    let text = format!(
        "{HEAD}query: SELECT count(*) AS n, source_ip AS ip FROM events GROUP BY source_ip\nalert:\n  value: n\n  count: ip\n"
    );
    let e = load_error(&text);
    assert!(
        e.contains(
            "alert.value: scenario t/bad: column 'n' is Int64; an alert value must be a string"
        ),
        "{e}"
    );
    assert!(
        e.contains("alert.count: scenario t/bad: column 'ip' is Utf8; a count must be an integer"),
        "{e}"
    );
}

#[test]
fn windows_are_checked() {
    let e = load_error(
        "type: sql\nname: t/w\nwindow: {type: hopping, size: 10m, slide: 3m}\nquery: SELECT source_ip FROM events\nalert: {value: source_ip}\n---\ntype: sql\nname: t/s\nwindow: {type: session, gap: 1m, key: user}\nquery: SELECT source_ip FROM events\nalert: {value: source_ip}\n---\ntype: sql\nname: t/x\nwindow: {type: sliding}\nquery: DROP TABLE events\nalert: {value: source_ip}\n",
    );
    assert!(e.contains("bad.yaml:3:"), "{e}");
    assert!(
        e.contains("window.slide: scenario t/w: window.size must be a multiple of window.slide"),
        "{e}"
    );
    assert!(
        e.contains("window.key: scenario t/s: window.key must be"),
        "{e}"
    );
    assert!(
        e.contains("window.type: scenario t/x: window.type must be tumbling, hopping or session"),
        "{e}"
    );
}

#[test]
fn shipped_scenarios_load_and_hopping_ones_merge_panes() {
    let dir = root().join("deploy/content/scenarios/palisade-sql");
    let mut files = palisade_detect::collect_dir(&dir).unwrap();
    files.sort();
    let scenarios = Loader::new().load(&files).unwrap();
    assert_eq!(scenarios.sql().len(), 5);
    for s in scenarios.sql() {
        if matches!(
            s.window(),
            palisade_detect::sql::window::WindowKind::Hopping { .. }
        ) {
            assert!(
                s.merges_panes(),
                "{} should merge per-pane partial aggregates",
                s.name()
            );
        }
    }
}
