//! Shared fixtures: a sample event and shortcuts to compile and evaluate.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use palisade_expr::{Context, DataFiles, Program, Value};
use palisade_schemas::Event;
use std::sync::Arc;

/// An nginx-like access log event with some Unmarshaled JSON.
pub fn sample_event() -> Event {
    let mut e = Event::default();
    e.line.raw = r#"{"level":"info","request":{"method":"GET","uri":"/admin?x=1"},"status":404,"tags":["a","b"]}"#.into();
    e.line.src = "/var/log/nginx/access.log".into();
    e.line.module = "file".into();
    e.line.labels.insert("type".into(), "nginx".into());
    for (k, v) in [
        ("program", "nginx"),
        ("verb", "GET"),
        ("request", "/wp-login.php"),
        ("static_ressource", "false"),
        ("file_name", "wp-login.php"),
        ("http_user_agent", "Mozilla/5.0 (X11; Linux) sqlmap/1.5"),
        ("status", "404"),
        ("method", "get"),
        ("remote_addr", "192.168.1.10"),
        ("target_fqdn", "example.com"),
    ] {
        e.parsed.insert(k.into(), v.into());
    }
    for (k, v) in [
        ("log_type", "http_access-log"),
        ("service", "http"),
        ("source_ip", "192.168.1.10"),
        ("http_status", "404"),
        ("http_path", "/wp-login.php"),
    ] {
        e.meta.insert(k.into(), v.into());
    }
    e.enriched.insert("IsoCode".into(), "FR".into());
    e.unmarshaled.insert(
        "k8s".into(),
        serde_json::json!({"ObjectRef": {"Namespace": "kube-system", "Resource": "pods"}, "Verb": "create", "code": 201, "list": [1, 2, 3]}),
    );
    e.set_time(Utc.with_ymd_and_hms(2026, 3, 4, 13, 14, 15).unwrap());
    e.str_time = "04/Mar/2026:13:14:15 +0000".into();
    e.stage = "s01-parse".into();
    e
}

/// Data files used by the tests.
pub fn data_files() -> Arc<DataFiles> {
    let mut d = DataFiles::new();
    d.add_strings(
        "backdoors.txt",
        "# comment\nshell.php\nwp-login.php\nc99.php\n",
    );
    d.add_strings("sensitive_data.txt", ".env\n/.git/\n");
    d.add_regexps("bad_user_agents.regex.txt", "\\bsqlmap\\b\n\\bnikto\\b\n")
        .unwrap();
    Arc::new(d)
}

pub fn ctx() -> Context {
    Context::event().with_data_files(data_files())
}

pub fn compile(src: &str) -> Program {
    Program::compile(src, &ctx()).unwrap_or_else(|e| panic!("compile {src:?}: {e}"))
}

/// Evaluates on a fresh sample event; the result's Debug form, or `ERR: message`.
pub fn run(src: &str) -> String {
    let mut e = sample_event();
    run_on(src, &mut e)
}

pub fn run_on(src: &str, e: &mut Event) -> String {
    match compile(src).eval(e) {
        Ok(v) => format!("{v:?}"),
        Err(err) => format!("ERR: {}", err.message()),
    }
}

pub fn eval(src: &str) -> Result<Value<'static>, palisade_expr::EvalError> {
    let mut e = sample_event();
    compile(src).eval(&mut e)
}

/// Runs a table of (expression, expected Debug form or `ERR:` prefix).
pub fn check_table(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (src, want) in cases {
        let got = run(src);
        let ok = if let Some(prefix) = want.strip_prefix("ERR:") {
            got.starts_with("ERR:") && got.contains(prefix.trim())
        } else {
            got == *want
        };
        if !ok {
            failures.push(format!("  {src}\n    want {want}\n    got  {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
