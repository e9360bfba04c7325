//! Failures in the distributed mode, on a real broker: a detect process killed in the middle of
//! an attack (its successor rebuilds the bucket state and raises exactly one decision), and the
//! roles started while the broker is down.

mod common;
mod kafka_support;

use common::{free_port, metric_at, wait_for};

use chrono::{TimeDelta, Utc};
use kafka_support::*;
use palisade::kafka::Role;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{DecisionAction, DecisionChange};
use std::process::{Command, Stdio};
use std::time::Duration;

fn metric(port: u16, name: &str) -> u64 {
    metric_at(port, name, "")
}

/// `palisade run --role detect` as a process with its own metrics port.
fn detect_process(text: &str, dir: &std::path::Path, name: &str) -> (Killed, u16) {
    let port = free_port();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!("{text}metrics: {{listen_addr: '127.0.0.1:{port}'}}\n"),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["run", "--role", "detect", "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), port)
}

fn bans(ds: &[DecisionChange], ip: &str) -> usize {
    ds.iter()
        .filter(|d| {
            d.action == DecisionAction::Add
                && d.decision.scenario == "palisade/ssh-bf"
                && d.decision.value == ip
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_detect_instance_is_replaced_and_the_attack_is_banned_once() {
    let Some(brokers) = brokers("PALISADE_KAFKA_BROKERS") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("kill");
    let text = config_text(&brokers, &prefix, dir.path());
    let cfg = config(&text);
    init_topics(&cfg).await;
    let shutdown = Shutdown::new();
    let rest = spawn_roles(
        cfg,
        vec![Role::Ingest, Role::Publish],
        shutdown.clone(),
        Registry::new(),
    );
    let logs = format!("{prefix}-logs");
    let p = producer(&brokers);

    // Instance A sees 4 failures of the attacker (the scenario overflows at 5), commits, dies.
    let (a, a_port) = detect_process(&text, dir.path(), "a");
    let t0 = Utc::now() - TimeDelta::minutes(5);
    let first: Vec<String> = (0..4)
        .map(|i| ssh_failure(t0 + TimeDelta::seconds(i), "web-1", "198.51.100.66"))
        .collect();
    produce(&p, &logs, &first).await;
    let (b, p2) = (brokers.clone(), prefix.clone());
    tokio::task::spawn_blocking(move || {
        wait_for("instance A to consume the 4 events", 90, || {
            metric(a_port, "palisade_kafka_consumed_messages_total") >= 4
        });
        // A's progress (the next unprocessed event) is committed past the 4 events.
        wait_for("instance A to commit its progress", 30, || {
            committed_sum(
                &b,
                &format!("{p2}-detect.progress"),
                &format!("{p2}-events"),
            ) >= 4
        });
    })
    .await
    .unwrap();
    assert_eq!(metric(a_port, "palisade_detect_alerts_raised_total"), 0);
    drop(a);

    // Instance B takes over; the fifth failure arrives, plus a control attacker.
    let (b, b_port) = detect_process(&text, dir.path(), "b");
    let mut second = vec![ssh_failure(
        t0 + TimeDelta::seconds(4),
        "web-2",
        "198.51.100.66",
    )];
    for i in 0..6 {
        second.push(ssh_failure(
            t0 + TimeDelta::seconds(i),
            "web-1",
            "198.51.100.77",
        ));
    }
    // More failures of the first attacker, inside the blackhole: no second decision.
    for i in 5..8 {
        second.push(ssh_failure(
            t0 + TimeDelta::seconds(i),
            "web-2",
            "198.51.100.66",
        ));
    }
    produce(&p, &logs, &second).await;

    let reader = TopicReader::new(&brokers, &format!("{prefix}-decisions"));
    let ds = tokio::task::spawn_blocking(move || {
        let ds = reader.decisions_until(Duration::from_secs(120), |ds| {
            bans(ds, "198.51.100.77") >= 1 && bans(ds, "198.51.100.66") >= 1
        });
        // Anything late would show up here.
        let mut more = ds;
        for (_, payload, _) in reader.poll_for(Duration::from_secs(2)) {
            more.push(serde_json::from_slice(&payload).unwrap());
        }
        more
    })
    .await
    .unwrap();
    let rebuilt = metric(b_port, "palisade_detect_rebuild_events_total");
    drop(b);
    assert_eq!(bans(&ds, "198.51.100.77"), 1, "control attacker: {ds:#?}");
    assert_eq!(
        bans(&ds, "198.51.100.66"),
        1,
        "the attack spanning the crash is banned exactly once (B rebuilt {rebuilt} events): {ds:#?}"
    );
    assert!(
        rebuilt >= 4,
        "B re-read A's events to rebuild state: {rebuilt}"
    );
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(60), rest)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
