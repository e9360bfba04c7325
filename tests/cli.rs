//! End-to-end tests of the `palisade` command: validate, version, replay.

use std::io::Write;
use std::process::Command;

fn palisade() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    c.env_remove("PALISADE_CONFIG").env_remove("RUST_LOG");
    c
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p.display().to_string()
}

#[test]
fn version_prints_the_package_version() {
    let out = palisade().arg("version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("palisade {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn validate_accepts_the_shipped_config() {
    let out = palisade()
        .args(["validate", "--config", "deploy/palisade.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (4 sources)"));
}

#[test]
fn validate_reports_every_error_and_exits_78() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "bad.yaml",
        "log:\n  format: xml\nsources:\n  - source: file\n    filenames: [/tmp/x.log]\n    labels: {}\n  - source: carrier-pigeon\n    labels: {type: syslog}\nstorage:\n  decision_retention: 3 weeks\n",
    );
    let out = palisade()
        .args(["validate", "--config", &cfg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("configuration is invalid (4 errors):"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{cfg}:2:3: log.format: unknown variant `xml`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{cfg}:6:5: sources[0].labels")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{cfg}:7:5: sources[1].source")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{cfg}:10:3: storage.decision_retention")),
        "{err}"
    );
}

#[test]
fn run_refuses_a_bad_config_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "bad.yaml", "bus:\n  batch_size: 0\n");
    let out = palisade().args(["run", "--config", &cfg]).output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bus.batch_size: must be at least 1"));
}

#[test]
fn replay_reads_every_line_of_the_sample() {
    let lines = std::fs::read_to_string("samples/auth.log")
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .count();
    let out = palisade()
        .args(["replay", "--type", "syslog", "samples/auth.log"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("replayed {lines} lines (type syslog)")),
        "{text}"
    );
}

#[test]
fn replay_json_prints_nothing_but_alerts_on_stdout() {
    let out = palisade()
        .args([
            "replay",
            "--type",
            "nginx",
            "-o",
            "json",
            "samples/access.log",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.get("scenario").is_some(), "{line}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("replayed 3000 lines (type nginx)"));
}

#[test]
fn replay_of_a_missing_file_fails_clearly() {
    let out = palisade()
        .args(["replay", "--type", "syslog", "/nonexistent/x.log"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.log"));
}

#[test]
fn validate_compiles_configured_parsers_and_locates_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        &dir,
        "good.yaml",
        "parsers:\n  dirs: [tests/fixtures/hub/parsers]\n  patterns_dirs: [tests/fixtures/hub/patterns]\n",
    );
    let out = palisade()
        .args(["validate", "--config", &good])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = write(
        &dir,
        "bad.yaml",
        "parsers:\n  dirs: [tests/fixtures/bad-parsers, /nonexistent/parsers]\n",
    );
    let out = palisade()
        .args(["validate", "--config", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{bad}:2:38: parsers.dirs[1]: cannot read parser directory /nonexistent/parsers"
        )),
        "{err}"
    );
    let out = palisade()
        .args([
            "validate",
            "--config",
            &write(
                &dir,
                "bad2.yaml",
                "parsers:\n  dirs: [tests/fixtures/bad-parsers]\n",
            ),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        err.contains(
            "tests/fixtures/bad-parsers/s01-parse/broken.yaml:3:1: filter: node palisade/broken: "
        ),
        "{err}"
    );
    assert!(err.contains("column"), "{err}");
    assert!(
        err.contains("tests/fixtures/bad-parsers/s01-parse/broken.yaml:5:3: grok.pattern: "),
        "{err}"
    );
    assert!(err.contains("NOT_A_PATTERN"), "{err}");
}

#[test]
fn replay_into_a_closed_pipe_exits_quietly() {
    let mut child = palisade()
        .args(["replay", "--type", "syslog", "samples/auth.log"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as `| head` does
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn sql_test_prints_what_a_scenario_would_have_raised() {
    let out = palisade()
        .args([
            "sql-test",
            "deploy/content/scenarios/palisade-sql/credential-stuffing.yaml",
            "--type",
            "syslog",
            "tests/fixtures/scenarios/sql-credential-stuffing/input.log",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "palisade/sql-credential-stuffing: 7 lines (type syslog), 7 parsed, 5 alerts"
        ),
        "{text}"
    );
    assert!(text.contains("Ip 192.0.2.33"), "{text}");
    assert!(text.contains("target_user=deploy"), "{text}");
    assert!(!text.contains("192.0.2.40"), "{text}");
}

#[test]
fn sql_test_reports_a_bad_query_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        &dir,
        "bad.yaml",
        "type: sql\nname: t/bad\nwindow: {type: tumbling, size: 1m}\nquery: |\n  SELECT source_ip FROM events\n  GROUP BY source_ip HAVING cnt(*) > 2\nalert: {value: source_ip}\n",
    );
    let out = palisade()
        .args(["sql-test", &s, "--type", "syslog", "samples/auth.log"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:6:"), "{err}");
    assert!(err.contains("query: scenario t/bad:"), "{err}");
}
