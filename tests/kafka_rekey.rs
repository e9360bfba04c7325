//! The global view of SQL scenarios in the distributed mode, against a real broker (tansu,
//! binary in PALISADE_TANSU_MEMORY, started here): two detect instances share a 4-partition
//! events topic keyed by address; a credential-stuffing scenario keyed by user
//! (`partition: meta.target_user`) needs the addresses of both instances' partitions, and gets
//! them on the re-key topic.

mod common;
mod kafka_support;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::free_port;
use kafka_support::*;
use palisade::kafka::metrics::{ASSIGNED, CONSUMED, REKEYED};
use palisade::kafka::Role;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::{Alert, DecisionAction, DecisionChange};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// 12 addresses failing on one user within a minute; per address, one failure only.
const SCENARIO: &str = r#"type: sql
name: test/stuffing
description: one SSH user failing from 12 addresses within a minute
filter: evt.Meta.log_type == 'ssh_failed-auth'
window: {type: tumbling, size: 1m, allowed_lateness: 1m}
query: |
  SELECT meta['target_user'] AS target_user,
         array_agg(DISTINCT source_ip) AS addresses,
         count(*) AS attempts
  FROM events
  GROUP BY meta['target_user']
  HAVING count(DISTINCT source_ip) >= 12
alert: {scope: Ip, value: addresses, count: attempts}
partition: meta.target_user
labels: {remediation: true}
"#;

const NAME: &str = "test/stuffing";
const THRESHOLD: i64 = 12;

fn failure(t: DateTime<Utc>, ip: &str) -> String {
    format!(
        "{} web-1 sshd[4242]: Failed password for deploy from {ip} port 40000 ssh2",
        t.format("%b %e %H:%M:%S")
    )
}

fn banned(ds: &[DecisionChange]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for d in ds
        .iter()
        .filter(|d| d.action == DecisionAction::Add && d.decision.scenario == NAME)
    {
        *m.entry(d.decision.value.clone()).or_default() += 1;
    }
    m
}

fn gauge(r: &Registry, role: &str) -> i64 {
    r.gauge(&ASSIGNED, &[("role", role)]).get()
}

fn counter(
    r: &Registry,
    def: &'static palisade_runtime::metrics::MetricDef,
    l: &[(&'static str, &str)],
) -> i64 {
    r.counter(def, l).get() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_keyed_sql_scenario_counts_across_two_detect_instances() {
    let Some(bin) = brokers("PALISADE_TANSU_MEMORY") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _broker = start_broker(&bin, "memory://tansu/", port, dir.path());
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    std::fs::write(scenarios.join("stuffing.yaml"), SCENARIO).unwrap();
    let prefix = unique("rekey");
    let text = format!(
        "{}scenarios: {{dirs: ['{}']}}\n",
        config_text(&addr, &prefix, dir.path()),
        scenarios.display()
    );
    let cfg = config(&text);
    init_topics(&cfg).await;

    let shutdown = Shutdown::new();
    let (r1, r2, m) = (Registry::new(), Registry::new(), Registry::new());
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
    // Both instances hold events partitions, and the re-key topic's 2 are assigned.
    let start = Instant::now();
    loop {
        let (e1, e2) = (gauge(&r1, "detect"), gauge(&r2, "detect"));
        let k = gauge(&r1, "detect-rekey") + gauge(&r2, "detect-rekey");
        if e1 > 0 && e2 > 0 && e1 + e2 == 4 && k == 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "groups did not settle: events {e1} + {e2}, rekey {k}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 12 addresses, one failure each, on user `deploy`, within one minute of event time.
    let t0 = (Utc::now() - TimeDelta::minutes(30))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
        + TimeDelta::seconds(5);
    let attackers: Vec<String> = (1..=THRESHOLD).map(|i| format!("198.51.100.{i}")).collect();
    let lines: Vec<String> = attackers
        .iter()
        .enumerate()
        .map(|(i, ip)| failure(t0 + TimeDelta::seconds(i as i64), ip))
        .collect();
    let p = producer(&addr);
    produce(&p, &format!("{prefix}-logs"), &lines).await;
    let rekeyed = |r: &Registry| counter(r, &REKEYED, &[("scenario", NAME)]);
    let start = Instant::now();
    while rekeyed(&r1) + rekeyed(&r2) < THRESHOLD {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "events were not re-keyed: {} + {}",
            rekeyed(&r1),
            rekeyed(&r2)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The events really were split: each instance alone saw fewer addresses (one event each)
    // than the threshold, so a per-partition window could not have fired.
    let events = format!("{prefix}-events");
    let seen = |r: &Registry| counter(r, &CONSUMED, &[("role", "detect"), ("topic", &events)]);
    let (s1, s2) = (seen(&r1), seen(&r2));
    assert!(
        s1 > 0 && s2 > 0 && s1 < THRESHOLD && s2 < THRESHOLD,
        "the addresses are spread over both instances: {s1} and {s2}"
    );
    assert_eq!(s1 + s2, THRESHOLD);
    assert_eq!(
        (rekeyed(&r1), rekeyed(&r2)),
        (s1, s2),
        "each re-keys what it reads"
    );

    // A later failure of the same user moves its partition's watermark past the window (and
    // its lateness), closing it.
    produce(
        &p,
        &format!("{prefix}-logs"),
        &[failure(t0 + TimeDelta::minutes(3), "198.51.100.250")],
    )
    .await;
    let reader = TopicReader::new(&addr, &format!("{prefix}-decisions"));
    let ds = tokio::task::spawn_blocking(move || {
        let mut ds = reader.decisions_until(Duration::from_secs(90), |ds| {
            banned(ds).len() >= attackers.len()
        });
        // Anything more (a second alert from the other instance) would arrive now.
        for (_, payload, _) in reader.poll_for(Duration::from_secs(3)) {
            ds.push(serde_json::from_slice(&payload).unwrap());
        }
        (ds, attackers)
    })
    .await
    .unwrap();
    let (ds, attackers) = ds;
    let got = banned(&ds);
    let want: BTreeMap<String, usize> = attackers.iter().map(|a| (a.clone(), 1)).collect();
    assert_eq!(got, want, "each address banned once: {ds:#?}");

    let alerts = TopicReader::new(&addr, &format!("{prefix}-alerts"));
    let alerts: Vec<Alert> =
        tokio::task::spawn_blocking(move || alerts.poll_for(Duration::from_secs(3)))
            .await
            .unwrap()
            .into_iter()
            .map(|(_, p, _)| serde_json::from_slice(&p).unwrap())
            .filter(|a: &Alert| a.scenario == NAME)
            .collect();
    let values: BTreeSet<&str> = alerts.iter().map(|a| a.source.value.as_str()).collect();
    assert_eq!(
        alerts.len(),
        THRESHOLD as usize,
        "one alert per address, from one instance"
    );
    assert_eq!(values.len(), THRESHOLD as usize);
    assert!(alerts.iter().all(|a| a.events_count == THRESHOLD as i32));
    // One instance evaluated the scenario's windows: the one whose re-key partition holds
    // `test/stuffing|deploy`.
    let windows =
        |r: &Registry| counter(r, &palisade_detect::sql::SQL_WINDOWS, &[("scenario", NAME)]);
    assert!(
        (windows(&r1) > 0) != (windows(&r2) > 0),
        "windows: {} and {}",
        windows(&r1),
        windows(&r2)
    );

    shutdown.trigger();
    for t in [d1, d2, rest] {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("stops")
            .unwrap()
            .unwrap();
    }
}
