//! The `journalctl` source: runs `journalctl -o json` and turns each entry into the syslog
//! line `Jan  2 15:04:05 host ident[pid]: message` (time in UTC), so that `type: syslog`
//! parsers apply. `Src` is `journalctl`, the module `journalctl`.
//!
//! Tail mode runs `journalctl --follow -n 0 --all -o json <filters...>` until shutdown (and kills
//! it then); cat mode runs `journalctl --no-pager -o json <filters...>` to its end. Output
//! lines that are not a JSON entry with a MESSAGE are counted and skipped. journalctl exiting
//! in tail mode, or failing in cat mode, is an error carrying its last stderr line.

use super::emit::{Emitter, Flow};
use super::lines::{decode, LineSplitter, LineText, RawLine};
use super::metrics::JOURNAL_INVALID;
use super::syslog::{SyslogMessage, Timestamp};
use super::Mode;
use crate::IngestError;
use chrono::{DateTime, Utc};
use palisade_runtime::bus::BusSender;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::Event;
use serde_json::Value;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;

/// The default program.
pub(crate) const DEFAULT_PROGRAM: &str = "journalctl";

/// A compiled `journalctl` source.
#[derive(Debug, Clone)]
pub(crate) struct JournalSource {
    /// `journalctl_filter`: extra arguments (matches such as `_SYSTEMD_UNIT=ssh.service`).
    pub filters: Vec<String>,
    /// `journalctl_path`: the program to run.
    pub program: String,
    /// Longer output lines are cut (and then fail to parse).
    pub max_line_bytes: usize,
}

/// The arguments for `mode`.
pub(crate) fn args(filters: &[String], mode: Mode) -> Vec<String> {
    let base: &[&str] = match mode {
        Mode::Tail => &["--follow", "-n", "0", "--all", "-o", "json"],
        Mode::Cat => &["--no-pager", "--all", "-o", "json"],
    };
    base.iter()
        .map(|s| s.to_string())
        .chain(filters.iter().cloned())
        .collect()
}

/// Runs journalctl and emits its entries.
pub(crate) async fn run<W: BusSender<Event>>(
    spec: &JournalSource,
    mode: Mode,
    em: &mut Emitter<W>,
    shutdown: &Shutdown,
) -> Result<(), IngestError> {
    let name = em.name().to_string();
    let args = args(&spec.filters, mode);
    let mut child = Command::new(&spec.program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| IngestError::Spawn {
            name: name.clone(),
            program: spec.program.clone(),
            error,
        })?;
    tracing::info!(source = %name, program = %spec.program, args = ?args, "journalctl started.");
    let (Some(mut stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(IngestError::Internal {
            name,
            message: "journalctl's pipes are missing".into(),
        });
    };
    let stderr_task = tokio::spawn(last_stderr_line(stderr, name.clone()));
    let invalid = em.counter(&JOURNAL_INVALID);
    let mut splitter = LineSplitter::new(spec.max_line_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut raw: Vec<RawLine> = Vec::new();
    loop {
        let n = tokio::select! {
            biased;
            () = shutdown.wait() => {
                let _ = child.kill().await;
                return Ok(());
            }
            r = stdout.read(&mut buf) => r.map_err(|e| IngestError::Io {
                name: name.clone(),
                error: std::io::Error::new(e.kind(), format!("reading journalctl's output: {e}")),
            })?,
        };
        if n == 0 {
            raw.extend(splitter.finish());
        } else {
            splitter.push(&buf[..n], &mut raw);
        }
        let now = em.now();
        for l in raw.drain(..) {
            match entry_to_line(&l.bytes, now) {
                Ok(line) => em.push("journalctl", line),
                Err(why) => {
                    invalid.inc();
                    em.report.rejected += 1;
                    tracing::debug!(source = %name, why, "Skipped a journalctl output line.");
                }
            }
        }
        if em.flush().await? == Flow::Stop {
            let _ = child.kill().await;
            return Ok(());
        }
        if n == 0 {
            break;
        }
    }
    let status = child.wait().await.map_err(|error| IngestError::Io {
        name: name.clone(),
        error,
    })?;
    let stderr = stderr_task.await.unwrap_or_default();
    if mode == Mode::Cat && status.success() {
        return Ok(());
    }
    Err(IngestError::ChildExited {
        name,
        program: spec.program.clone(),
        status: status.to_string(),
        stderr,
    })
}

/// Logs journalctl's stderr; returns its last non-empty line.
async fn last_stderr_line(stderr: impl AsyncRead + Unpin, name: String) -> String {
    let mut lines = BufReader::new(stderr).lines();
    let mut last = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if !line.trim().is_empty() {
            tracing::warn!(source = %name, "journalctl: {line}");
            last = line;
        }
    }
    last
}

/// A journal field's text: a string, or an array of bytes (binary or non-UTF-8 values), or
/// the first of several values.
fn field_text(v: &Value, invalid_utf8: &mut bool) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_u64) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            let line = decode(RawLine {
                bytes: bytes?,
                truncated: false,
            });
            *invalid_utf8 |= line.invalid_utf8;
            Some(line.text)
        }
        Value::Array(items) => items.first().and_then(|v| field_text(v, invalid_utf8)),
        _ => None,
    }
}

/// One `journalctl -o json` line as a syslog line.
pub(crate) fn entry_to_line(json: &[u8], now: DateTime<Utc>) -> Result<LineText, &'static str> {
    let entry: serde_json::Map<String, Value> =
        serde_json::from_slice(json).map_err(|_| "not a JSON object")?;
    let mut invalid_utf8 = false;
    let mut field = |k: &str| entry.get(k).and_then(|v| field_text(v, &mut invalid_utf8));
    let message = field("MESSAGE").ok_or("no MESSAGE")?;
    let app_name = field("SYSLOG_IDENTIFIER").or_else(|| field("_COMM"));
    let pid = field("_PID").or_else(|| field("SYSLOG_PID"));
    let hostname = field("_HOSTNAME");
    let time = field("__REALTIME_TIMESTAMP")
        .and_then(|us| us.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_micros)
        .unwrap_or(now);
    let msg = SyslogMessage {
        priority: 0,
        version: None,
        timestamp: Some(Timestamp::Zoned(time.fixed_offset())),
        hostname,
        proc_id: pid.filter(|_| app_name.is_some()),
        app_name,
        msg_id: None,
        structured_data: None,
        message,
    };
    Ok(LineText {
        text: msg.to_line(now),
        truncated: false,
        invalid_utf8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::emit::tests::{drain, test_context, test_emitter};
    use palisade_runtime::bus::BusReceiver;
    use std::path::{Path, PathBuf};

    /// Journal tests write and run scripts: one at a time, so that no test forks while another
    /// holds a script open for writing (which would make its exec fail with ETXTBSY).
    static SCRIPTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    const FIXTURE: &str = concat!(
        r#"{"__REALTIME_TIMESTAMP":"1767322800000000","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"sshd","_PID":"4242","MESSAGE":"Failed password for root from 1.2.3.4 port 22 ssh2"}"#,
        "\n",
        r#"{"__REALTIME_TIMESTAMP":"1767322801000000","_HOSTNAME":"web01","_COMM":"kernel","MESSAGE":[104,105,255]}"#,
        "\n",
        "this is not json\n",
        r#"{"__REALTIME_TIMESTAMP":"1767322802000000","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"cron"}"#,
        "\n",
        r#"{"__REALTIME_TIMESTAMP":"1767322803000000","SYSLOG_IDENTIFIER":"app","MESSAGE":"last"}"#,
        "\n",
    );

    /// A fake journalctl in `dir`: records its arguments, prints the fixture, and in follow
    /// mode keeps running like the real one.
    fn fake_journalctl(dir: &Path, exit_code: u8) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(dir.join("fixture.jsonl"), FIXTURE).unwrap();
        let script = dir.join("journalctl");
        let body = format!(
            "#!/bin/sh\nd=$(dirname \"$0\")\nprintf '%s\\n' \"$*\" > \"$d/args\"\ncat \"$d/fixture.jsonl\"\n\
             case \" $* \" in *' --follow '*) exec sleep 600 ;; esac\necho 'fake failure' >&2\nexit {exit_code}\n"
        );
        std::fs::write(&script, body).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    fn source(program: &Path) -> JournalSource {
        JournalSource {
            filters: vec!["_SYSTEMD_UNIT=ssh.service".into()],
            program: program.to_string_lossy().into_owned(),
            max_line_bytes: 1024 * 1024,
        }
    }

    const EXPECTED: [&str; 3] = [
        "Jan  2 03:00:00 web01 sshd[4242]: Failed password for root from 1.2.3.4 port 22 ssh2",
        "Jan  2 03:00:01 web01 kernel: hi\u{fffd}",
        "Jan  2 03:00:03 unknownhost app: last",
    ];

    #[test]
    fn builds_syslog_lines_from_entries() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 1, 1, 0, 0, 0).unwrap();
        let lines: Vec<Result<LineText, &str>> = FIXTURE
            .lines()
            .map(|l| entry_to_line(l.as_bytes(), now))
            .collect();
        assert_eq!(lines[0].as_ref().unwrap().text, EXPECTED[0]);
        assert_eq!(lines[1].as_ref().unwrap().text, EXPECTED[1]);
        assert!(lines[1].as_ref().unwrap().invalid_utf8);
        assert_eq!(lines[2], Err("not a JSON object"));
        assert_eq!(lines[3], Err("no MESSAGE"));
        assert_eq!(lines[4].as_ref().unwrap().text, EXPECTED[2]);
        // No timestamp: now; several values: the first.
        let l = entry_to_line(br#"{"MESSAGE":["a","b"],"_HOSTNAME":"h"}"#, now).unwrap();
        assert_eq!(l.text, "Jan  1 00:00:00 h: a");
    }

    #[tokio::test]
    async fn cat_mode_reads_everything_and_skips_bad_lines() {
        let _lock = SCRIPTS.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let script = fake_journalctl(dir.path(), 0);
        let ctx = test_context(100);
        let (mut em, mut rx) = test_emitter("journalctl", &ctx);
        run(&source(&script), Mode::Cat, &mut em, &ctx.shutdown)
            .await
            .unwrap();
        assert_eq!(em.report.rejected, 2);
        drop(em);
        let events = drain(&mut rx).await;
        let raws: Vec<&str> = events.iter().map(|e| e.line.raw.as_str()).collect();
        assert_eq!(raws, EXPECTED);
        assert!(events
            .iter()
            .all(|e| e.line.src == "journalctl" && e.line.module == "journalctl"));
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args.trim(),
            "--no-pager --all -o json _SYSTEMD_UNIT=ssh.service"
        );
        assert_eq!(
            ctx.metrics.value(
                "palisade_ingest_journal_invalid_entries_total",
                &[("source", "test"), ("module", "journalctl")]
            ),
            Some(2)
        );
    }

    #[tokio::test]
    async fn tail_mode_follows_until_shutdown() {
        let _lock = SCRIPTS.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let script = fake_journalctl(dir.path(), 0);
        let ctx = test_context(100);
        let (mut em, mut rx) = test_emitter("journalctl", &ctx);
        let shutdown = ctx.shutdown.clone();
        let spec = source(&script);
        let task = tokio::spawn(async move { run(&spec, Mode::Tail, &mut em, &shutdown).await });
        let mut raws = Vec::new();
        while raws.len() < EXPECTED.len() {
            let batch = rx.recv().await.expect("journalctl is still running");
            raws.extend(batch.items.into_iter().map(|e| e.line.raw));
        }
        assert_eq!(raws, EXPECTED);
        ctx.shutdown.trigger();
        task.await.unwrap().unwrap();
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args.trim(),
            "--follow -n 0 --all -o json _SYSTEMD_UNIT=ssh.service"
        );
    }

    #[tokio::test]
    async fn failures_are_errors() {
        let _lock = SCRIPTS.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let script = fake_journalctl(dir.path(), 3);
        let ctx = test_context(100);
        let (mut em, _rx) = test_emitter("journalctl", &ctx);
        let err = run(&source(&script), Mode::Cat, &mut em, &ctx.shutdown)
            .await
            .unwrap_err();
        assert!(matches!(err, IngestError::ChildExited { .. }), "{err}");
        assert!(
            err.to_string().ends_with("(exit status: 3): fake failure"),
            "{err}"
        );

        let missing = dir.path().join("no-such-journalctl");
        let err = run(&source(&missing), Mode::Cat, &mut em, &ctx.shutdown)
            .await
            .unwrap_err();
        assert!(matches!(err, IngestError::Spawn { .. }), "{err}");
    }
}
