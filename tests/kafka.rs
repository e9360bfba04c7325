//! The distributed mode against a real Kafka-protocol broker (tansu, started by scripts/test,
//! address in PALISADE_KAFKA_BROKERS): the whole pipeline over real topics, dead letters, and
//! two detect instances sharing the events topic with global per-address counts, and no event
//! lost when a stage tick interrupts the collection of a batch.

mod kafka_support;

use chrono::{TimeDelta, Utc};
use kafka_support::*;
use palisade::kafka::metrics::{ASSIGNED, CONSUMED};
use palisade::kafka::Role;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{DecisionAction, DecisionChange};
use std::collections::BTreeSet;
use std::time::Duration;

const BROKERS: &str = "PALISADE_KAFKA_BROKERS";

fn banned(ds: &[DecisionChange], scenario: &str) -> BTreeSet<String> {
    ds.iter()
        .filter(|d| d.action == DecisionAction::Add && d.decision.scenario == scenario)
        .map(|d| d.decision.value.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_pipeline_runs_over_real_topics() {
    let Some(brokers) = brokers(BROKERS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("pipe");
    let cfg = config(&config_text(&brokers, &prefix, dir.path()));
    init_topics(&cfg).await;

    let t0 = Utc::now() - TimeDelta::minutes(5);
    let mut lines = Vec::new();
    // Two attackers, 6 failures each, one second apart; one user failing twice.
    for i in 0..6 {
        let t = t0 + TimeDelta::seconds(i);
        lines.push(ssh_failure(t, "web-1", "198.51.100.7"));
        lines.push(ssh_failure(t, "web-2", "198.51.100.8"));
    }
    lines.push(ssh_failure(t0, "web-1", "203.0.113.50"));
    lines.push(ssh_failure(
        t0 + TimeDelta::seconds(3),
        "web-1",
        "203.0.113.50",
    ));
    // A Vector envelope (rebuilt as a syslog line) and undecodable messages.
    let vector = serde_json::json!({"appname":"sshd","host":"web-3","procid":7,
        "message":"Failed password for root from 198.51.100.9 port 1 ssh2","source_type":"syslog",
        "timestamp": (t0 + TimeDelta::seconds(1)).to_rfc3339()});
    for i in 0..6 {
        let mut v = vector.clone();
        v["timestamp"] = serde_json::json!((t0 + TimeDelta::seconds(i)).to_rfc3339());
        lines.push(v.to_string());
    }
    lines.push("{\"source_type\": \"file\", \"host\": \"web-4\"}".to_string());
    lines.push("   ".to_string());

    let p = producer(&brokers);
    produce(&p, &format!("{prefix}-logs"), &lines).await;

    let shutdown = Shutdown::new();
    let metrics = Registry::new();
    let task = spawn_roles(cfg, vec![Role::All], shutdown.clone(), metrics.clone());

    let reader = TopicReader::new(&brokers, &format!("{prefix}-decisions"));
    let ds = tokio::task::spawn_blocking(move || {
        reader.decisions_until(Duration::from_secs(90), |ds| {
            banned(ds, "palisade/ssh-bf").len() >= 3
        })
    })
    .await
    .unwrap();
    let got = banned(&ds, "palisade/ssh-bf");
    assert_eq!(
        got,
        BTreeSet::from([
            "198.51.100.7".into(),
            "198.51.100.8".into(),
            "198.51.100.9".into()
        ]),
        "{ds:#?}"
    );
    for d in &ds {
        assert_eq!(d.key(), format!("Ip:{}", d.decision.value));
        assert!(
            d.decision.uuid.is_some(),
            "decisions carry their deterministic uuid"
        );
    }

    let dl = TopicReader::new(&brokers, &format!("{prefix}-dead-letter"));
    let dead = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        for _ in 0..40 {
            all.extend(dl.poll_for(Duration::from_millis(500)));
            if all.len() >= 2 {
                break;
            }
        }
        all
    })
    .await
    .unwrap();
    assert_eq!(
        dead.len(),
        2,
        "both bad messages are dead-lettered: {dead:?}; counted {}",
        metrics.total("palisade_kafka_dead_letter_messages_total")
    );
    let reasons: Vec<String> = dead
        .iter()
        .map(|(_, _, h)| {
            h.iter()
                .find(|(k, _)| k == "palisade-error")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("no line field")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("empty")), "{reasons:?}");

    shutdown.trigger();
    let report = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("roles stop on shutdown")
        .unwrap()
        .unwrap();
    assert_eq!(
        report.ingest.unwrap().items_in,
        lines.len() as u64 - 2,
        "every decodable line reached the parse stage"
    );
    let b = brokers.clone();
    let (group, logs) = (format!("{prefix}-ingest"), format!("{prefix}-logs"));
    let committed = tokio::task::spawn_blocking(move || committed_sum(&b, &group, &logs))
        .await
        .unwrap();
    assert_eq!(
        committed,
        lines.len() as i64,
        "a graceful stop commits every message processed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_detect_instances_count_each_address_across_all_hosts() {
    let Some(brokers) = brokers(BROKERS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("twodetect");
    let text = config_text(&brokers, &prefix, dir.path());
    let cfg = config(&text);
    init_topics(&cfg).await;

    // Start two detect instances (same group), ingest and publish.
    let shutdown = Shutdown::new();
    let m = Registry::new();
    let (r1, r2) = (Registry::new(), Registry::new());
    let d1 = spawn_roles(
        config(&text),
        vec![Role::Detect],
        shutdown.clone(),
        r1.clone(),
    );
    let d2 = spawn_roles(
        config(&text),
        vec![Role::Detect],
        shutdown.clone(),
        r2.clone(),
    );
    let rest = spawn_roles(
        cfg,
        vec![Role::Ingest, Role::Publish],
        shutdown.clone(),
        m.clone(),
    );
    // Both detect instances hold partitions of the events topic before anything is produced
    // (each also consumes the re-key topic, role `detect-rekey`).
    let assigned = |r: &Registry| r.gauge(&ASSIGNED, &[("role", "detect")]).get();
    let start = std::time::Instant::now();
    while !(assigned(&r1) > 0 && assigned(&r2) > 0 && assigned(&r1) + assigned(&r2) == 4) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the two detect instances did not share the 4 partitions: {} + {}",
            assigned(&r1),
            assigned(&r2)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Each address fails 3 times on each of 2 hosts: 6 in all, over the threshold of 5;
    // CrowdSec's agents, counting per host, would each see 3.
    let t0 = Utc::now() - TimeDelta::minutes(5);
    let attackers: Vec<String> = (1..=8).map(|i| format!("192.0.2.{i}")).collect();
    let mut lines = Vec::new();
    for s in 0..3 {
        for ip in &attackers {
            for host in ["web-1", "web-2"] {
                lines.push(ssh_failure(t0 + TimeDelta::seconds(s), host, ip));
            }
        }
    }
    // A benign address: 2 failures only.
    lines.push(ssh_failure(t0, "web-1", "192.0.2.200"));
    lines.push(ssh_failure(t0, "web-2", "192.0.2.200"));
    produce(&producer(&brokers), &format!("{prefix}-logs"), &lines).await;

    let reader = TopicReader::new(&brokers, &format!("{prefix}-decisions"));
    let ds = tokio::task::spawn_blocking(move || {
        reader.decisions_until(Duration::from_secs(90), |ds| {
            banned(ds, "palisade/ssh-bf").len() >= 8
        })
    })
    .await
    .unwrap();
    let got = banned(&ds, "palisade/ssh-bf");
    let want: BTreeSet<String> = attackers.iter().cloned().collect();
    assert_eq!(got, want, "{ds:#?}");
    let per_ip = ds
        .iter()
        .filter(|d| d.decision.scenario == "palisade/ssh-bf" && d.decision.value == "192.0.2.1")
        .count();
    assert_eq!(per_ip, 1, "one decision per address");
    let events = format!("{prefix}-events");
    let consumed = |r: &Registry| {
        r.counter(&CONSUMED, &[("role", "detect"), ("topic", &events)])
            .get() as i64
    };
    assert!(
        consumed(&r1) > 0 && consumed(&r2) > 0,
        "both instances did part of the work: {} and {}",
        consumed(&r1),
        consumed(&r2)
    );
    assert_eq!(consumed(&r1) + consumed(&r2), lines.len() as i64);

    shutdown.trigger();
    for t in [d1, d2, rest] {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("stops")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_api_replica_rebuilds_the_active_set_from_the_decision_topic() {
    let Some(brokers) = brokers(BROKERS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("replica");
    let cfg = config(&config_text(&brokers, &prefix, dir.path()));
    init_topics(&cfg).await;
    let now = Utc::now();
    let decision = |ip: &str| palisade_schemas::Decision {
        duration: "4h".into(),
        id: 0,
        origin: "crowdsec".into(),
        scenario: "palisade/ssh-bf".into(),
        scope: "Ip".into(),
        simulated: None,
        kind: "ban".into(),
        until: Some(now + TimeDelta::hours(4)),
        uuid: Some(uuid::Uuid::new_v4().to_string()),
        value: ip.into(),
    };
    let changes = [
        DecisionChange {
            action: DecisionAction::Add,
            decision: decision("192.0.2.10"),
        },
        DecisionChange {
            action: DecisionAction::Add,
            decision: decision("192.0.2.11"),
        },
    ];
    let mut deleted = changes[1].clone();
    deleted.action = DecisionAction::Delete;
    let records: Vec<String> = changes
        .iter()
        .chain([&deleted])
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
    // Written before the replica starts: it must rebuild from the topic alone.
    let p = producer(&brokers);
    for (c, r) in changes.iter().chain([&deleted]).zip(&records) {
        p.send(
            rdkafka::producer::FutureRecord::to(&format!("{prefix}-decisions"))
                .key(&c.key())
                .payload(r.as_str()),
            rdkafka::util::Timeout::After(Duration::from_secs(10)),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    }
    let index = palisade_publish::lapi::DecisionIndex::new();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(palisade::kafka::decisions::follow(
        cfg.kafka.clone().unwrap(),
        index.clone(),
        std::sync::Arc::new(palisade_runtime::clock::SystemClock),
        shutdown.clone(),
        Registry::new(),
    ));
    let active = |ip: &str| {
        let ip = ip.to_string();
        index.find(Utc::now(), &move |d| d.value == ip).len()
    };
    let start = std::time::Instant::now();
    while active("192.0.2.10") == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the replica never saw the decision"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(active("192.0.2.10"), 1);
    assert_eq!(active("192.0.2.11"), 0, "a deleted decision is not active");
    shutdown.trigger();
    task.await.unwrap();
}

/// A receiver collects a batch for up to `batch_wait`; the detect stage ticks every second. A
/// batch wait longer than the tick means every batch is still being collected when a tick
/// fires: every event must still reach the stage, none dropped with the interrupted receive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_read_while_a_tick_fires_all_reach_the_stage() {
    let Some(brokers) = brokers(BROKERS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("ticks");
    let text =
        config_text(&brokers, &prefix, dir.path()).replace("batch_wait: 5ms", "batch_wait: 1500ms");
    let cfg = config(&text);
    init_topics(&cfg).await;
    let m = Registry::new();
    let shutdown = Shutdown::new();
    let task = spawn_roles(
        cfg,
        vec![Role::Ingest, Role::Detect],
        shutdown.clone(),
        m.clone(),
    );
    let t0 = Utc::now() - TimeDelta::minutes(5);
    let lines: Vec<String> = (1..=40)
        .map(|i| ssh_failure(t0, "web-1", &format!("198.51.100.{i}")))
        .collect();
    produce(&producer(&brokers), &format!("{prefix}-logs"), &lines).await;

    let stage_in = |stage: &str| {
        m.value(
            "palisade_pipeline_stage_in_events_total",
            &[("stage", stage)],
        )
        .unwrap_or(0)
    };
    let start = std::time::Instant::now();
    while stage_in("detect") < lines.len() as i64 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the detect stage got {} of {} events (ingest stage {}, consumed by all roles {})",
            stage_in("detect"),
            lines.len(),
            stage_in("ingest"),
            m.total("palisade_kafka_consumed_messages_total")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = format!("{prefix}-events");
    let consumed = m
        .counter(&CONSUMED, &[("role", "detect"), ("topic", &events)])
        .get() as i64;
    assert_eq!(
        consumed,
        stage_in("detect"),
        "every event read reached the stage"
    );
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}
