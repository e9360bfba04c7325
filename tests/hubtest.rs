//! `palisade hubtest run` and `palisade explain` on a small hub written for these tests
//! (tests/fixtures/hub: a pattern file, two parsers, one passing and one failing test folder).

use std::process::Command;

const HUB: &str = "tests/fixtures/hub";

fn palisade() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    c.env_remove("PALISADE_CONFIG").env_remove("RUST_LOG");
    c
}

#[test]
fn hubtest_reports_pass_and_fail_with_the_first_failing_assertion() {
    let out = palisade()
        .args(["hubtest", "run", "--hub-dir", HUB])
        .args([
            format!("{HUB}/tests/login-pass"),
            format!("{HUB}/tests/login-fail"),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a failure exits 1: {stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "PASS login-pass (9 assertions)", "{stdout}");
    assert!(
        lines[1].starts_with(r#"FAIL login-fail: parser.assert:2: results["s01-parse"]["palisade/login"][0].Evt.Meta["user"] == "mallory" (left side is "alice")"#),
        "{stdout}"
    );
    assert_eq!(lines.last(), Some(&"1 passed, 1 failed"));
}

#[test]
fn hubtest_json_output_is_one_object_per_test_then_a_summary() {
    let out = palisade()
        .args([
            "hubtest",
            "run",
            "--json",
            "--hub-dir",
            HUB,
            &format!("{HUB}/tests/login-pass"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let objs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs[0]["status"], "pass");
    assert_eq!(objs[1], serde_json::json!({"passed": 1, "failed": 0}));
}

#[test]
fn explain_shows_each_stage_node_and_field() {
    let out = palisade()
        .args([
            "explain",
            "--type",
            "app",
            "--hub-dir",
            HUB,
            "--line",
            "login[1]: bad password for eve from 198.51.100.4",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = [
        "line 1: login[1]: bad password for eve from 198.51.100.4",
        "  s00-raw",
        "    ok   palisade/prog",
        "           + Parsed.message = \"bad password for eve from 198.51.100.4\"",
        "  s01-parse",
        "    ok   palisade/login",
        "           + Meta.source_ip = \"198.51.100.4\"",
        "  => parsed: goes to the scenarios",
    ];
    for e in expected {
        assert!(text.lines().any(|l| l == e), "missing {e:?} in:\n{text}");
    }
    let out = palisade()
        .args([
            "explain",
            "--type",
            "app",
            "--hub-dir",
            HUB,
            "--line",
            "login[1]: hello",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("    fail palisade/login"), "{text}");
    assert!(
        text.contains("=> unparsed: no node of s01-parse succeeded"),
        "{text}"
    );
}
