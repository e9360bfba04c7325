//! Deliveries against a local HTTP server and local commands: success, retries, failures,
//! timeouts and a full queue.

use super::command::CommandHook;
use super::template::DEFAULT_FORMAT;
use super::webhook::Webhook;
use super::*;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use palisade_schemas::Source;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// What the test server saw.
#[derive(Debug)]
struct Received {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: String,
}

/// A server on 127.0.0.1 answering `statuses` in turn, then 200; requests are recorded.
async fn server(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let statuses = Arc::new(Mutex::new(VecDeque::from(statuses)));
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
        let tx = tx.clone();
        let statuses = statuses.clone();
        async move {
            let _ = tx.send(Received {
                method: method.to_string(),
                uri: uri.to_string(),
                headers,
                body,
            });
            let code = statuses.lock().unwrap().pop_front().unwrap_or(200);
            StatusCode::from_u16(code).unwrap()
        }
    };
    let app = axum::Router::new().fallback(handler);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook?token=1"), rx)
}

fn alert() -> Alert {
    Alert {
        id: 12,
        uuid: "a1".into(),
        scenario: "crowdsecurity/ssh-bf".into(),
        source: Source {
            scope: "Ip".into(),
            value: "1.2.3.4".into(),
            ip: "1.2.3.4".into(),
            ..Source::default()
        },
        decisions: Some(vec![]),
        ..Alert::default()
    }
}

fn fast() -> NotifierOptions {
    NotifierOptions {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..NotifierOptions::default()
    }
}

fn config(name: &str, channel: Channel, format: &str, max_retry: u32) -> NotificationConfig {
    NotificationConfig {
        name: name.into(),
        channel,
        template: Template::parse(format).unwrap(),
        timeout: Duration::from_secs(10),
        max_retry,
    }
}

fn webhook(url: &str) -> Channel {
    let headers = BTreeMap::from([("Authorization".to_string(), "token 0x64".to_string())]);
    Channel::Webhook(Webhook::new(url, Some("put"), &headers).unwrap())
}

fn sh(script: &str, file: &std::path::Path) -> Channel {
    let args = [
        "-c".to_string(),
        script.to_string(),
        "sh".to_string(),
        file.display().to_string(),
    ];
    Channel::Command(CommandHook::new("sh", &args).unwrap())
}

/// Sends one alert to each of `names` and waits until every delivery is done.
async fn deliver_all(configs: Vec<NotificationConfig>, names: &[&str], r: &Registry) {
    let (notifier, worker) = Notifier::new(configs, fast(), r);
    let task = tokio::spawn(worker.run());
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    notifier.notify(&names, &alert());
    drop(notifier);
    task.await.unwrap();
}

fn count(r: &Registry, name: &str, kind: &str) -> Option<i64> {
    r.value(name, &[("type", kind)])
}

#[tokio::test]
async fn webhooks_send_the_rendered_alerts_with_method_and_headers() {
    let (url, mut rx) = server(vec![]).await;
    let r = Registry::new();
    deliver_all(
        vec![config("hook", webhook(&url), DEFAULT_FORMAT, 0)],
        &["hook"],
        &r,
    )
    .await;
    let got = rx.recv().await.unwrap();
    assert_eq!(got.method, "PUT");
    assert_eq!(got.uri, "/hook?token=1");
    assert_eq!(got.headers["authorization"], "token 0x64");
    assert!(got.headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("palisade/"));
    let body: Vec<Alert> = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body, vec![alert()], "the JSON array of alerts");
    assert_eq!(
        count(&r, "palisade_publish_notifications_sent_total", "webhook"),
        Some(1)
    );
    assert_eq!(
        count(&r, "palisade_publish_notifications_failed_total", "webhook"),
        Some(0)
    );
}

#[tokio::test]
async fn failed_attempts_are_retried_then_counted() {
    let (url, mut rx) = server(vec![500, 503]).await;
    let r = Registry::new();
    deliver_all(
        vec![config("hook", webhook(&url), "{{len .}}", 2)],
        &["hook"],
        &r,
    )
    .await;
    let mut bodies = Vec::new();
    while let Ok(got) = rx.try_recv() {
        bodies.push(got.body);
    }
    assert_eq!(bodies, ["1", "1", "1"], "two failures, then success");
    assert_eq!(
        count(&r, "palisade_publish_notifications_sent_total", "webhook"),
        Some(1)
    );

    let (url, mut rx) = server(vec![500; 10]).await;
    let r = Registry::new();
    deliver_all(vec![config("hook", webhook(&url), "x", 1)], &["hook"], &r).await;
    let mut attempts = 0;
    while rx.try_recv().is_ok() {
        attempts += 1;
    }
    assert_eq!(attempts, 2, "max_retry 1: two attempts");
    assert_eq!(
        count(&r, "palisade_publish_notifications_failed_total", "webhook"),
        Some(1)
    );
    assert_eq!(
        count(&r, "palisade_publish_notifications_sent_total", "webhook"),
        Some(0)
    );

    // Nobody listening: connection refused, retried, failed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let r = Registry::new();
    deliver_all(
        vec![config("hook", webhook(&closed), "x", 1)],
        &["hook"],
        &r,
    )
    .await;
    assert_eq!(
        count(&r, "palisade_publish_notifications_failed_total", "webhook"),
        Some(1)
    );
}

#[tokio::test]
async fn commands_get_the_rendered_template_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let r = Registry::new();
    let cfg = config(
        "script",
        sh("cat > \"$1\"", &out),
        "{{range .}}{{.Scenario}} {{.Source.IP}}{{end}}",
        0,
    );
    deliver_all(vec![cfg], &["script"], &r).await;
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "crowdsecurity/ssh-bf 1.2.3.4"
    );
    assert_eq!(
        count(&r, "palisade_publish_notifications_sent_total", "command"),
        Some(1)
    );
}

#[tokio::test]
async fn failing_commands_are_retried_then_counted() {
    let dir = tempfile::tempdir().unwrap();
    let tries = dir.path().join("tries");
    let r = Registry::new();
    let cfg = config(
        "script",
        sh("echo try >> \"$1\"; echo boom >&2; exit 3", &tries),
        DEFAULT_FORMAT,
        2,
    );
    deliver_all(vec![cfg], &["script"], &r).await;
    assert_eq!(std::fs::read_to_string(&tries).unwrap(), "try\ntry\ntry\n");
    assert_eq!(
        count(&r, "palisade_publish_notifications_failed_total", "command"),
        Some(1)
    );
    let err = CommandHook::new("sh", &["-c".into(), "echo boom >&2; exit 3".into()])
        .unwrap()
        .run(String::new())
        .await
        .unwrap_err();
    assert_eq!(err, "sh exited with exit status: 3: boom");
    let err = CommandHook::new("/nonexistent/hook", &[])
        .unwrap()
        .run(String::new())
        .await
        .unwrap_err();
    assert!(err.starts_with("cannot run /nonexistent/hook"), "{err}");
}

#[tokio::test]
async fn slow_deliveries_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let r = Registry::new();
    let mut cfg = config("slow", sh("exec sleep 30", dir.path()), "x", 0);
    cfg.timeout = Duration::from_millis(100);
    deliver_all(vec![cfg], &["slow"], &r).await;
    assert_eq!(
        count(&r, "palisade_publish_notifications_failed_total", "command"),
        Some(1)
    );
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_waiting() {
    let r = Registry::new();
    let options = NotifierOptions { queue: 1, ..fast() };
    let (notifier, worker) = Notifier::new(
        vec![config("hook", webhook("http://127.0.0.1:9/"), "x", 0)],
        options,
        &r,
    );
    assert!(notifier.is_enabled());
    let names: Vec<String> = ["hook", "hook", "unknown", "hook"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    notifier.notify(&names, &alert());
    assert_eq!(
        r.total("palisade_publish_notifications_dropped_total"),
        2,
        "one queued, two dropped; unknown names are only logged"
    );
    drop(worker);
    notifier.notify(&names[..1], &alert());
    assert_eq!(
        r.total("palisade_publish_notifications_dropped_total"),
        3,
        "a stopped worker drops too"
    );
    let disabled = Notifier::disabled();
    assert!(!disabled.is_enabled());
    disabled.notify(&names, &alert());
}

#[test]
fn notification_specs_are_checked_and_located() {
    use palisade_runtime::config::YamlDoc;
    let text = r#"notifications:
  - name: ok
    type: http
    url: http://127.0.0.1:8080/x
    headers: {X-Token: abc}
  - name: tls
    type: webhook
    url: https://example.invalid/
  - name: bad
    type: webhook
    url: http://127.0.0.1/
    method: "G E T"
    format: "{{if .x}}"
    timeout: 0s
  - name: cmd
    type: command
  - name: what
    type: email
"#;
    let doc = YamlDoc::parse("p.yaml", text).unwrap();
    let mut errors = Vec::new();
    let specs: Vec<NotificationSpec> = doc
        .decode("notifications", &doc.root()["notifications"])
        .unwrap();
    let compiled: Vec<Option<NotificationConfig>> = specs
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.compile(&doc, &format!("notifications[{i}]"), &mut errors))
        .collect();
    let ok = compiled[0].as_ref().unwrap();
    assert_eq!(
        (ok.channel.kind(), ok.timeout, ok.max_retry),
        ("webhook", Duration::from_secs(5), 3)
    );
    assert_eq!(ok.template.source(), DEFAULT_FORMAT);
    assert!(compiled[1..].iter().all(Option::is_none));
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "p.yaml:8:5: notifications[1].url: \"https://example.invalid/\": https is not supported; use http:// (a local TLS proxy can forward it)",
            "p.yaml:12:5: notifications[2].method: invalid method \"G E T\"",
            "p.yaml:13:5: notifications[2].format: template line 1: unexpected EOF: missing {{end}}",
            "p.yaml:14:5: notifications[2].timeout: must be more than zero",
            "p.yaml:15:5: notifications[3].command: a command notification needs command",
            "p.yaml:18:5: notifications[4].type: unknown notification type \"email\" (webhook or command)",
        ]
    );
}
