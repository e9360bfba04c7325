//! Palisade's own detection content (`deploy/content/`) against fixture folders.
//!
//! * `tests/fixtures/content/<case>/`: `type` (the log type, one word), `input.log`, and
//!   `expected.json`, one entry per line: `{"verdict": "parsed" | "unparsed" | "whitelisted",
//!   "meta": {...}, "parsed": {...}}`. Only the listed keys are checked; `""` means the key must
//!   be absent or empty. Lines go through the embedded parsers in time-machine mode, as a replay
//!   reads them.
//! * `tests/fixtures/scenarios/<case>/`: `type`, `input.log`, and `expected.json`:
//!   `{"alerts": [{"scenario", "source_ip"}], "absent": [addresses]}`. The log is replayed by the
//!   `palisade` binary (`replay -o json`); the alerts must be exactly the expected (scenario,
//!   address) pairs, and no alert may name an address of `absent` (the benign near-misses).
//!
//! Coverage is checked too: every parser node and every scenario of the content is exercised
//! by some fixture, and every log_type the parsers document is produced by some line.

use palisade_ingest::parser::{Trace, Verdict};
use palisade_schemas::{Event, ExpectMode, Line};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every log_type Palisade's parsers set (see the comments at the top of each parser file).
const LOG_TYPES: &[&str] = &[
    "ssh_failed-auth",
    "ssh_invalid-user",
    "ssh_max-auth",
    "ssh_success",
    "ssh_bad-protocol",
    "ssh_disconnect",
    "ssh_pam-failure",
    "http_access-log",
    "http_error-log",
    "smtp_failed-auth",
    "smtp_auth-error",
    "smtp_success-auth",
    "smtp_relay-denied",
    "smtp_rbl-reject",
    "smtp_bad-helo",
    "smtp_greylisted",
    "smtp_spam-reject",
    "smtp_non-smtp-command",
    "smtp_pregreet",
    "smtp_pipelining",
    "smtp_too-many-errors",
    "smtp_lost-connection",
    "smtp_dnsbl-rank",
    "mysql_failed-auth",
    "windows_failed-auth",
    "windows_success-auth",
    "windows_anonymous-logon",
];

fn fixture_dirs(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read(dir: &Path, name: &str) -> String {
    let p = dir.join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn case_name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// Records which top-level nodes succeeded.
#[derive(Default)]
struct Seen(BTreeSet<(String, String)>);

impl Trace for Seen {
    fn node(&mut self, stage: &str, node: &str, success: bool, _evt: &Event) {
        if success {
            self.0.insert((stage.to_string(), node.to_string()));
        }
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Keep => "parsed",
        Verdict::Unparsed => "unparsed",
        Verdict::Whitelisted => "whitelisted",
    }
}

/// Compares the listed keys of `want` with `got`; `""` means absent or empty.
fn check_map(
    what: &str,
    want: Option<&Value>,
    got: &palisade_schemas::FieldMap,
    errors: &mut Vec<String>,
) {
    let Some(want) = want else { return };
    let want = want
        .as_object()
        .unwrap_or_else(|| panic!("`{what}` must be an object"));
    for (k, v) in want {
        let v = v
            .as_str()
            .unwrap_or_else(|| panic!("`{what}.{k}` must be a string"));
        let g = got.get(k.as_str()).map(String::as_str).unwrap_or("");
        if g != v {
            errors.push(format!("{what}.{k}: expected {v:?}, got {g:?}"));
        }
    }
}

#[test]
fn content_parser_fixtures() {
    let cfg = palisade::config::compile("t.yaml", "").expect("the embedded content compiles");
    let parsers = &cfg.parsers;
    let mut seen = Seen::default();
    let mut log_types = BTreeSet::new();
    let mut failures = Vec::new();
    let mut lines_checked = 0;
    let dirs = fixture_dirs("content");
    assert!(!dirs.is_empty(), "no parser fixtures");
    for dir in &dirs {
        let case = case_name(dir);
        let log_type = read(dir, "type").trim().to_string();
        let input = read(dir, "input.log");
        let expected: Vec<Value> = serde_json::from_str(&read(dir, "expected.json"))
            .unwrap_or_else(|e| panic!("{case}/expected.json: {e}"));
        let lines: Vec<&str> = input.lines().collect();
        assert_eq!(
            lines.len(),
            expected.len(),
            "{case}: {} lines but {} expectations",
            lines.len(),
            expected.len()
        );
        for (n, (raw, want)) in lines.iter().zip(&expected).enumerate() {
            let mut event = Event::from_line(
                Line {
                    raw: raw.to_string(),
                    src: format!("{case}/input.log"),
                    time: Some(chrono::Utc::now()),
                    labels: BTreeMap::from([("type".to_string(), log_type.clone())]),
                    process: false,
                    module: "file".into(),
                },
                ExpectMode::TimeMachine,
            );
            let verdict = verdict_name(parsers.parse_traced(&mut event, &mut seen));
            let mut errors = Vec::new();
            let want_verdict = want["verdict"]
                .as_str()
                .unwrap_or_else(|| panic!("{case} line {}: no verdict", n + 1));
            if verdict != want_verdict {
                errors.push(format!("verdict: expected {want_verdict}, got {verdict}"));
            }
            check_map("meta", want.get("meta"), &event.meta, &mut errors);
            check_map("parsed", want.get("parsed"), &event.parsed, &mut errors);
            if verdict != "unparsed" {
                if let Some(t) = event.meta.get("log_type") {
                    log_types.insert(t.clone());
                }
            }
            if !errors.is_empty() {
                failures.push(format!(
                    "{case} line {}: {raw}\n    {}",
                    n + 1,
                    errors.join("\n    ")
                ));
            }
            lines_checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} line(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Every top-level parser node succeeded on some fixture line.
    let mut unexercised = Vec::new();
    for (stage, nodes) in parsers.nodes() {
        for node in nodes {
            if !seen
                .0
                .contains(&(stage.to_string(), node.name().to_string()))
            {
                unexercised.push(format!("{stage}/{}", node.name()));
            }
        }
    }
    assert!(
        unexercised.is_empty(),
        "parsers no fixture line exercises: {unexercised:?}"
    );
    // Every documented log_type is produced by some line, and no undocumented one.
    let documented: BTreeSet<String> = LOG_TYPES.iter().map(|s| s.to_string()).collect();
    let missing: Vec<_> = documented.difference(&log_types).collect();
    let unknown: Vec<_> = log_types.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "log_types no fixture produces: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "log_types not in LOG_TYPES: {unknown:?}"
    );
    println!("{lines_checked} lines in {} parser fixtures", dirs.len());
}

/// (scenario, source address) of every alert `replay -o json` printed.
fn replay_alerts(dir: &Path) -> BTreeSet<(String, String)> {
    let log_type = read(dir, "type").trim().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env_remove("PALISADE_CONFIG")
        .env_remove("RUST_LOG")
        .args(["replay", "--type", &log_type, "-o", "json"])
        .arg(dir.join("input.log"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: replay failed: {}",
        case_name(dir),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let a: Value = serde_json::from_str(l).unwrap();
            let src = &a["source"];
            let ip = src["ip"]
                .as_str()
                .filter(|s| !s.is_empty())
                .or_else(|| src["value"].as_str())
                .unwrap_or_default();
            (
                a["scenario"].as_str().unwrap_or_default().to_string(),
                ip.to_string(),
            )
        })
        .collect()
}

#[test]
fn content_scenario_fixtures() {
    let dirs = fixture_dirs("scenarios");
    assert!(!dirs.is_empty(), "no scenario fixtures");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let results: Vec<(PathBuf, BTreeSet<(String, String)>)> = std::thread::scope(|s| {
        let chunks: Vec<Vec<PathBuf>> = (0..workers)
            .map(|w| dirs.iter().skip(w).step_by(workers).cloned().collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|d| {
                            let alerts = replay_alerts(&d);
                            (d, alerts)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let mut failures = Vec::new();
    let mut expected_scenarios = BTreeSet::new();
    for (dir, got) in &results {
        let case = case_name(dir);
        let expected: Value = serde_json::from_str(&read(dir, "expected.json"))
            .unwrap_or_else(|e| panic!("{case}/expected.json: {e}"));
        let want: BTreeSet<(String, String)> = expected["alerts"]
            .as_array()
            .unwrap_or_else(|| panic!("{case}: `alerts` must be a list"))
            .iter()
            .map(|a| {
                (
                    a["scenario"].as_str().unwrap().to_string(),
                    a["source_ip"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        expected_scenarios.extend(want.iter().map(|(s, _)| s.clone()));
        for miss in want.difference(got) {
            failures.push(format!("{case}: missing alert {miss:?}"));
        }
        for extra in got.difference(&want) {
            failures.push(format!("{case}: unexpected alert {extra:?}"));
        }
        for ip in expected["absent"].as_array().into_iter().flatten() {
            let ip = ip.as_str().unwrap();
            if got.iter().any(|(_, a)| a == ip) {
                failures.push(format!("{case}: {ip} must not be alerted"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario fixture failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Every scenario of the content has a fixture that expects it to fire.
    let cfg = palisade::config::compile("t.yaml", "").expect("the embedded content compiles");
    let untested: Vec<String> = cfg
        .scenarios
        .iter()
        .map(|s| s.name().to_string())
        .filter(|n| !expected_scenarios.contains(n))
        .collect();
    assert!(
        untested.is_empty(),
        "scenarios no fixture expects: {untested:?}"
    );
}
