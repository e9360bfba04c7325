//! Fixture-driven bucket tests: each folder of `tests/fixtures/` holds `scenario.yaml` (one or
//! more scenarios, loaded with the folder as data dir), `events.jsonl` (one CrowdSec event per
//! line, poured in order; time-machine unless `ExpectMode` is given; `_now` sets the clock for
//! live events) and `expected.json`:
//!
//! ```json
//! { "advance": "RFC 3339 time to let pass after the last event (optional)",
//!   "overflows": [ { "scenario": "...", "sources": ["1.2.3.4"], "events_count": 2,
//!                    "start_at": "...", "stop_at": "...", "kept": 2, "scope": "Ip",
//!                    "value": "...", "range": "...", "ip": "...", "message": "...",
//!                    "remediation": true, "leakspeed": "10s", "capacity": 1,
//!                    "events_meta": [{"k": "v"}], "timestamps": ["..."] } ],
//!   "metrics": { "palisade_detect_...": 1 } }
//! ```
//!
//! Overflows are compared in emission order; only the fields given are checked. Overflows with
//! `reprocess` are poured back, as the detect stage does.

use chrono::{DateTime, TimeZone, Utc};
use palisade_detect::{BucketEngine, Loader};
use palisade_runtime::metrics::Registry;
use palisade_schemas::time::parse_rfc3339;
use palisade_schemas::{Event, ExpectMode};
use serde_json::Value;
use std::path::Path;

fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

fn run_case(dir: &Path) -> Result<(), String> {
    let scenario = dir.join("scenario.yaml");
    let scenarios = Loader::new()
        .with_data_dir(dir)
        .load(&[scenario])
        .map_err(|e| format!("load: {e:?}"))?;
    let registry = Registry::new();
    let mut engine = BucketEngine::new(scenarios, &registry);
    let events = std::fs::read_to_string(dir.join("events.jsonl")).map_err(|e| e.to_string())?;
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("expected.json: {e}"))?;
    let mut overflows: Vec<Event> = Vec::new();
    let mut pending = Vec::new();
    for (n, line) in events.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let raw: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let mut e: Event =
            serde_json::from_value(raw.clone()).map_err(|e| format!("line {}: {e}", n + 1))?;
        if raw.get("ExpectMode").is_none() {
            e.expect_mode = ExpectMode::TimeMachine;
        }
        let now = raw
            .get("_now")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            .unwrap_or_else(default_now);
        engine.pour_event(&mut e, now, &mut pending);
        settle(&mut engine, &mut pending, &mut overflows, now);
    }
    if let Some(t) = expected.get("advance").and_then(Value::as_str) {
        let t = parse_rfc3339(t).ok_or("bad advance time")?;
        engine.advance_to(t, &mut pending);
        settle(&mut engine, &mut pending, &mut overflows, t);
    }
    let want = expected["overflows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let summary: Vec<String> = overflows
        .iter()
        .map(|o| {
            let ra = o.overflow.as_ref().unwrap();
            format!(
                "{}@{:?}",
                ra.bucket_id,
                ra.sources.keys().collect::<Vec<_>>()
            )
        })
        .collect();
    if want.len() != overflows.len() {
        return Err(format!(
            "expected {} overflows, got {}: {summary:?}",
            want.len(),
            overflows.len()
        ));
    }
    for (i, (w, got)) in want.iter().zip(&overflows).enumerate() {
        check_overflow(w, got).map_err(|e| format!("overflow {i}: {e} (all: {summary:?})"))?;
    }
    if let Some(m) = expected.get("metrics").and_then(Value::as_object) {
        for (name, v) in m {
            let got = registry.total(name);
            if Some(got) != v.as_i64() {
                return Err(format!("metric {name}: expected {v}, got {got}"));
            }
        }
    }
    if let Some(n) = expected.get("live_buckets").and_then(Value::as_u64) {
        if engine.live_buckets() as u64 != n {
            return Err(format!(
                "live buckets: expected {n}, got {}",
                engine.live_buckets()
            ));
        }
    }
    Ok(())
}

fn settle(
    engine: &mut BucketEngine,
    pending: &mut Vec<Event>,
    overflows: &mut Vec<Event>,
    now: DateTime<Utc>,
) {
    while !pending.is_empty() {
        let batch: Vec<Event> = std::mem::take(pending);
        for mut o in batch {
            overflows.push(o.clone());
            if o.overflow.as_ref().is_some_and(|r| r.reprocess) {
                engine.pour_event(&mut o, now, pending);
            }
        }
    }
}

fn check_overflow(w: &Value, got: &Event) -> Result<(), String> {
    let ra = got.overflow.as_ref().ok_or("not an overflow")?;
    let alert = ra.alert.as_ref().ok_or("no alert")?;
    let eq = |field: &str, actual: Value| -> Result<(), String> {
        match w.get(field) {
            Some(v) if *v != actual => Err(format!("{field}: expected {v}, got {actual}")),
            _ => Ok(()),
        }
    };
    eq("scenario", alert.scenario.clone().into())?;
    eq(
        "sources",
        ra.sources.keys().cloned().collect::<Vec<_>>().into(),
    )?;
    eq("events_count", alert.events_count.into())?;
    eq("start_at", alert.start_at.clone().into())?;
    eq("stop_at", alert.stop_at.clone().into())?;
    eq("kept", alert.events.len().into())?;
    eq("scope", alert.source.scope.clone().into())?;
    eq("value", alert.source.value.clone().into())?;
    eq("range", alert.source.range.clone().into())?;
    eq("ip", alert.source.ip.clone().into())?;
    eq("cn", alert.source.cn.clone().into())?;
    eq("as_number", alert.source.as_number.clone().into())?;
    eq("message", alert.message.clone().into())?;
    eq("remediation", alert.remediation.into())?;
    eq("simulated", alert.simulated.into())?;
    eq("leakspeed", alert.leakspeed.clone().into())?;
    eq("capacity", alert.capacity.into())?;
    eq("scenario_version", alert.scenario_version.clone().into())?;
    eq("api_alerts", ra.api_alerts.len().into())?;
    eq("marshaled_time", got.marshaled_time.clone().into())?;
    eq(
        "timestamps",
        alert
            .events
            .iter()
            .map(|e| e.timestamp.clone())
            .collect::<Vec<_>>()
            .into(),
    )?;
    if let Some(metas) = w.get("events_meta").and_then(Value::as_array) {
        for (j, m) in metas.iter().enumerate() {
            let ev = alert.events.get(j).ok_or(format!("no kept event {j}"))?;
            let keys: Vec<&str> = ev.meta.iter().map(|m| m.key.as_str()).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            if keys != sorted {
                return Err(format!("event {j} meta not sorted: {keys:?}"));
            }
            for (k, v) in m.as_object().ok_or("events_meta items are objects")? {
                let actual = ev
                    .meta
                    .iter()
                    .find(|x| x.key == *k)
                    .map(|x| x.value.as_str());
                if actual != v.as_str() {
                    return Err(format!("event {j} meta {k}: expected {v}, got {actual:?}"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "fixtures found: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = run_case(case) {
            failures.push(format!(
                "{}: {e}",
                case.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
