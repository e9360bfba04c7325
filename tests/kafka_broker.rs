//! The broker failing: down when the roles start, and restarted (durable SQLite tansu) in the
//! middle of attacks. Nothing accepted is lost: every attack gets its decision.
//! PALISADE_TANSU_MEMORY and PALISADE_TANSU_SQLITE name the broker binaries (scripts/test).

mod common;
mod kafka_support;

use common::free_port;

use chrono::{TimeDelta, Utc};
use kafka_support::*;
use palisade::kafka::Role;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{DecisionAction, DecisionChange};
use std::collections::BTreeSet;
use std::time::Duration;

fn banned(ds: &[DecisionChange]) -> BTreeSet<String> {
    ds.iter()
        .filter(|d| d.action == DecisionAction::Add && d.decision.scenario == "palisade/ssh-bf")
        .map(|d| d.decision.value.clone())
        .collect()
}

fn attack(ip: &str, t0: chrono::DateTime<Utc>) -> Vec<String> {
    (0..6)
        .map(|i| ssh_failure(t0 + TimeDelta::seconds(i), "web-1", ip))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_started_before_the_broker_retry_and_then_work() {
    let Some(bin) = brokers("PALISADE_TANSU_MEMORY") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let prefix = unique("late");
    let text = config_text(&addr, &prefix, dir.path());
    let metrics = Registry::new();
    let shutdown = Shutdown::new();
    let task = spawn_roles(
        config(&text),
        vec![Role::All],
        shutdown.clone(),
        metrics.clone(),
    );

    // Nothing listens yet: the clients report errors and keep retrying.
    let start = std::time::Instant::now();
    while metrics.total("palisade_kafka_client_errors_total") == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no client error reported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !task.is_finished(),
        "the roles keep running while the broker is down"
    );

    let _broker = start_broker(&bin, "memory://tansu/", port, dir.path());
    init_topics(&config(&text)).await;
    let t0 = Utc::now() - TimeDelta::minutes(5);
    produce(
        &producer(&addr),
        &format!("{prefix}-logs"),
        &attack("203.0.113.9", t0),
    )
    .await;
    let reader = TopicReader::new(&addr, &format!("{prefix}-decisions"));
    let ds = tokio::task::spawn_blocking(move || {
        reader.decisions_until(Duration::from_secs(90), |ds| !banned(ds).is_empty())
    })
    .await
    .unwrap();
    assert_eq!(banned(&ds), BTreeSet::from(["203.0.113.9".to_string()]));
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_restart_loses_no_decision() {
    let Some(bin) = brokers("PALISADE_TANSU_SQLITE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("broker");
    std::fs::create_dir_all(&data).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let prefix = unique("restart");
    let text = config_text(&addr, &prefix, dir.path());
    let broker = start_broker(&bin, "sqlite://tansu.db", port, &data);
    init_topics(&config(&text)).await;
    let shutdown = Shutdown::new();
    let metrics = Registry::new();
    let task = spawn_roles(
        config(&text),
        vec![Role::All],
        shutdown.clone(),
        metrics.clone(),
    );
    let logs = format!("{prefix}-logs");

    // Wait until the pipeline is flowing (one attack banned), then attack more and kill the
    // broker while those are in flight.
    // Current timestamps, as live logs have: while the broker is down the detect role lets
    // event time run with the clock (idle advance), so an attack dated minutes ago that the
    // outage splits would leak away in between, which is bucket semantics, not a lost message.
    let t0 = Utc::now() - TimeDelta::seconds(10);
    let p = producer(&addr);
    produce(&p, &logs, &attack("198.51.100.1", t0)).await;
    let reader = TopicReader::new(&addr, &format!("{prefix}-decisions"));
    let ds = tokio::task::spawn_blocking(move || {
        let ds = reader.decisions_until(Duration::from_secs(90), |ds| !banned(ds).is_empty());
        (reader, ds)
    });
    let (reader, first) = ds.await.unwrap();
    assert_eq!(banned(&first).len(), 1, "{first:#?}");
    let mut lines = Vec::new();
    for ip in ["198.51.100.2", "198.51.100.3", "198.51.100.4"] {
        lines.extend(attack(ip, t0));
    }
    produce(&p, &logs, &lines).await;
    drop(broker);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _broker = start_broker(&bin, "sqlite://tansu.db", port, &data);
    // And more after the restart.
    produce(&p, &logs, &attack("198.51.100.5", t0)).await;

    let want: BTreeSet<String> = (1..=5).map(|i| format!("198.51.100.{i}")).collect();
    let w = want.clone();
    let mut all = first;
    let rest = tokio::task::spawn_blocking(move || {
        reader.decisions_until(Duration::from_secs(120), |ds| {
            let mut got = banned(ds);
            got.insert("198.51.100.1".into());
            got == w
        })
    })
    .await
    .unwrap();
    all.extend(rest);
    assert_eq!(banned(&all), want, "{all:#?}");
    let once = all
        .iter()
        .filter(|d| d.decision.scenario == "palisade/ssh-bf" && d.decision.value == "198.51.100.3")
        .count();
    assert_eq!(
        once, 1,
        "a decision is published once even across the restart"
    );
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
