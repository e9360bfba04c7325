//! `palisade run` with the Local API, driven as a real process: log lines become a decision that
//! a bouncer sees in the stream; `palisade decisions delete` in another process reaches the
//! running API; SIGTERM stops everything cleanly. And the `api:` section's errors are located.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{free_port, wait_for};

const KEY: &str = "e2e-bouncer-key-0123456789";

/// One GET with the bouncer key; the body, or None while the server is not up.
fn get(port: u16, path: &str) -> Option<String> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\nX-Api-Key: {KEY}\r\nUser-Agent: e2e-test/1.0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    c.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

fn palisade(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn log_lines_become_decisions_that_bouncers_pull_and_deletions_reach_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let port = free_port();
    let cfg = dir.path().join("palisade.yaml");
    std::fs::write(
        &cfg,
        format!(
            "log: {{format: json}}\nmetrics: {{enabled: false}}\nstorage: {{path: '{}'}}\napi: {{listen: '127.0.0.1:{port}', sync_interval: 100ms}}\nsources:\n  - filenames: ['{}']\n    poll_interval: 20ms\n    labels: {{type: syslog}}\n",
            dir.path().join("state.db").display(),
            log.display()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let out = palisade(&["bouncers", "add", "e2e", "--key", KEY, "-c", c]);
    assert!(out.status.success(), "{out:?}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["run", "--config", c])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the Local API", 30, || {
        get(port, "/v1/decisions/stream?startup=true").is_some()
    });
    assert_eq!(
        get(port, "/v1/decisions?ip=192.0.2.77").as_deref(),
        Some("null")
    );
    // SSH brute force from 192.0.2.77: the default profile bans it.
    let append = |n: usize| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        for i in 0..n {
            writeln!(
                f,
                "Jan  1 00:00:{:02} host sshd[{}]: Failed password for root from 192.0.2.77 port 22 ssh2",
                i % 60,
                i + 1
            )
            .unwrap();
        }
    };
    wait_for("a ban on 192.0.2.77 in the stream", 30, || {
        append(10);
        get(port, "/v1/decisions/stream").is_some_and(|b| b.contains("\"value\":\"192.0.2.77\""))
    });
    let body = get(port, "/v1/decisions?ip=192.0.2.77").unwrap();
    let ds: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(ds[0]["type"], "ban");
    assert_eq!(ds[0]["origin"], "crowdsec");
    // Deleted from another process: the next delta reports it.
    let out = palisade(&["decisions", "delete", "--ip", "192.0.2.77", "-c", c]);
    assert!(out.status.success(), "{out:?}");
    wait_for("the deletion in the stream", 30, || {
        get(port, "/v1/decisions/stream").is_some_and(|b| {
            let v: serde_json::Value = serde_json::from_str(&b).unwrap();
            v["deleted"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["value"] == "192.0.2.77"))
        })
    });
    assert_eq!(
        get(port, "/v1/decisions?ip=192.0.2.77").as_deref(),
        Some("null")
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "exit {exit:?}\n{stderr}");
    // The bouncer's User-Agent and last pull were written back.
    let out = palisade(&["bouncers", "list", "-o", "json", "-c", c]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["type"], "e2e-test");
    assert!(list[0]["last_pull"].is_string(), "{list}");
}

#[test]
fn api_and_archive_sections_report_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.yaml");
    std::fs::write(
        &cfg,
        "api:\n  listen: nowhere\narchive:\n  url: http://127.0.0.1:8123\n  retries: 0\n",
    )
    .unwrap();
    let out = palisade(&["validate", "-c", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = cfg.display().to_string();
    assert!(err.contains(&format!("{name}:2:3: api.listen")), "{err}");
    assert!(
        err.contains(&format!("{name}:5:3: archive.retries: must be at least 1")),
        "{err}"
    );
}

#[test]
fn listings_end_quietly_on_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.yaml");
    std::fs::write(
        &cfg,
        format!(
            "storage: {{path: '{}'}}\n",
            dir.path().join("p.db").display()
        ),
    )
    .unwrap();
    let list = dir.path().join("list.txt");
    let values: Vec<String> = (0..3000)
        .map(|i| format!("10.9.{}.{}", i / 256, i % 256))
        .collect();
    std::fs::write(&list, values.join("\n")).unwrap();
    let c = cfg.to_str().unwrap();
    let out = palisade(&["decisions", "import", "-i", list.to_str().unwrap(), "-c", c]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("3000 decision(s) imported"));
    // Far more than a pipe holds: the reader goes away while the command is still writing.
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["decisions", "list", "-o", "json", "-c", c])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}
