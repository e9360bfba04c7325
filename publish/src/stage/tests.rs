//! The publish stage end to end, and its failure paths.

use super::*;
use chrono::{TimeDelta, TimeZone};
use palisade_runtime::bus::memory::channel;
use palisade_runtime::bus::{Batch, BusReceiver, BusSender};
use palisade_runtime::clock::ManualClock;
use palisade_runtime::stage::{run_stage, StageReport};
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::Source;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn alert(uuid: &str, scope: &str, value: &str, remediation: bool) -> Alert {
    Alert {
        uuid: uuid.into(),
        scenario: "crowdsecurity/ssh-bf".into(),
        remediation,
        source: Source {
            scope: scope.into(),
            value: value.into(),
            ..Source::default()
        },
        stop_at: format_rfc3339_nano(&(t0() - TimeDelta::minutes(1))),
        ..Alert::default()
    }
}

fn stage(store: Store, registry: &Registry) -> PublishStage {
    let clock = Arc::new(ManualClock::new(t0()));
    PublishStage::new(
        store,
        Profiles::default_profiles(),
        Notifier::disabled(),
        &StorageConfig::in_memory(),
        registry,
    )
    .with_clock(clock)
}

#[tokio::test]
async fn alerts_in_decisions_out_and_everything_stored() {
    let r = Registry::new();
    let stage = stage(Store::open_in_memory().unwrap(), &r);
    let (mut in_tx, in_rx) = channel::<Alert>("alerts", 100, &r);
    let (out_tx, mut out_rx) = channel::<Decision>("decisions", 100, &r);
    let first = alert("a1", "ip", "1.2.3.4", true);
    let batches = vec![
        vec![
            first.clone(),
            alert("a2", "Range", "10.0.0.0/8", true),
            alert("bad", "Ip", "", true),
            alert("a3", "Ip", "5.6.7.8", false),
        ],
        // At-least-once: the first alert delivered again, and an alert without uuid.
        vec![first, alert("", "Ip", "9.9.9.9", true)],
    ];
    for b in batches {
        in_tx.send(Batch::new(b)).await.unwrap();
    }
    drop(in_tx);
    let clock = Arc::new(ManualClock::new(t0()));
    let (stage, report) = run_stage(stage, in_rx, out_tx, clock, &r).await.unwrap();
    let mut decisions = Vec::new();
    while let Some(b) = out_rx.recv().await {
        decisions.extend(b.items);
    }

    let values: Vec<&str> = decisions.iter().map(|d| d.value.as_str()).collect();
    assert_eq!(
        values,
        ["1.2.3.4", "10.0.0.0/8", "9.9.9.9"],
        "one ban per remediation alert, none replayed"
    );
    assert!(decisions
        .iter()
        .all(|d| d.id > 0 && d.kind == "ban" && d.origin == "crowdsec"));
    assert_eq!(decisions[0].scope, "Ip", "scopes are normalised");
    assert_eq!(
        decisions[0].until,
        Some(t0() - TimeDelta::minutes(1) + TimeDelta::hours(4))
    );
    assert_eq!(
        report,
        StageReport {
            items_in: 6,
            items_out: 3,
            user_errors: 1
        }
    );

    let store = stage.into_store();
    let alerts = store.alerts(None, None).unwrap();
    let stored: Vec<(&str, usize)> = alerts
        .iter()
        .map(|a| {
            (
                a.source.value.as_str(),
                a.decisions.as_ref().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        stored,
        [
            ("1.2.3.4", 1),
            ("10.0.0.0/8", 1),
            ("5.6.7.8", 0),
            ("9.9.9.9", 1)
        ]
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.created_at == "2026-03-01T12:00:00Z"),
        "stamped with the injected clock"
    );
    assert!(!alerts[3].uuid.is_empty(), "an alert without uuid gets one");
    assert_eq!(store.active_decisions(t0()).unwrap(), decisions);

    assert_eq!(r.total("palisade_publish_alerts_stored_total"), 4);
    assert_eq!(
        r.value(
            "palisade_publish_decisions_created_total",
            &[("type", "ban")]
        ),
        Some(3)
    );
    assert_eq!(r.total("palisade_publish_alerts_rejected_total"), 1);
    assert_eq!(r.total("palisade_publish_store_errors_total"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failing_store_is_retried_then_reported_as_external() {
    let r = Registry::new();
    let store = Store::open_in_memory().unwrap();
    store
        .connection()
        .pragma_update(None, "query_only", true)
        .unwrap();
    let mut stage = stage(store, &r);
    let mut out = Vec::new();
    let mut items = vec![alert("a1", "Ip", "1.2.3.4", true)];
    let err = stage.process(&mut items, &mut out).await.unwrap_err();
    assert!(matches!(err, StageError::External(_)), "{err}");
    assert!(out.is_empty());
    assert_eq!(items.len(), 1, "the alert is left for the runner to retry");
    assert_eq!(items[0].uuid, "a1");
    assert_eq!(
        r.total("palisade_publish_store_errors_total"),
        i64::from(ATTEMPTS)
    );

    // Pruning failures are counted but never stop the pipeline.
    stage
        .store
        .connection()
        .execute_batch("PRAGMA query_only = 0; DROP TABLE decisions;")
        .unwrap();
    stage.on_tick(t0(), &mut out).await.unwrap();
    assert_eq!(
        r.total("palisade_publish_store_errors_total"),
        i64::from(ATTEMPTS) + 1
    );
}

#[tokio::test]
async fn ticks_prune_with_the_runner_time() {
    let r = Registry::new();
    let mut stage = stage(Store::open_in_memory().unwrap(), &r);
    assert_eq!(stage.tick_interval(), Some(Duration::from_secs(600)));
    let mut out = Vec::new();
    stage
        .process(
            &mut vec![
                alert("a1", "Ip", "1.2.3.4", true),
                alert("a2", "Ip", "5.6.7.8", false),
            ],
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    stage
        .on_tick(t0() + TimeDelta::days(8), &mut out)
        .await
        .unwrap();
    assert_eq!(
        r.total("palisade_publish_decisions_pruned_total"),
        1,
        "expired for more than 7d"
    );
    assert_eq!(
        r.total("palisade_publish_alerts_pruned_total"),
        0,
        "alerts are kept 30d"
    );
    stage
        .on_tick(t0() + TimeDelta::days(31), &mut out)
        .await
        .unwrap();
    assert_eq!(r.total("palisade_publish_alerts_pruned_total"), 2);
    assert!(stage.store().alerts(None, None).unwrap().is_empty());
    assert_eq!(out.len(), 1, "pruning emits nothing");
}

#[tokio::test]
async fn stored_alerts_are_notified_once_with_their_ids() {
    use crate::notify::{Channel, NotificationConfig, Template};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("notified.jsonl");
    let args = [
        "-c".to_string(),
        "cat >> \"$1\"; echo >> \"$1\"".to_string(),
        "sh".to_string(),
        out.display().to_string(),
    ];
    let hook = NotificationConfig {
        name: "log".into(),
        channel: Channel::Command(crate::notify::command::CommandHook::new("sh", &args).unwrap()),
        template: Template::parse("{{.|toJson}}").unwrap(),
        timeout: Duration::from_secs(10),
        max_retry: 0,
    };
    let r = Registry::new();
    let (notifier, worker) = Notifier::new(vec![hook], crate::NotifierOptions::default(), &r);
    let worker = tokio::spawn(worker.run());
    let profiles = Profiles::load(
        "profiles.yaml",
        "name: ip\nfilters: [Alert.GetScope() == 'Ip']\ndecisions: [{type: ban, duration: 1h}]\nnotifications: [log]\n",
    )
    .unwrap();
    let mut stage = PublishStage::new(
        Store::open_in_memory().unwrap(),
        profiles,
        notifier,
        &StorageConfig::in_memory(),
        &r,
    )
    .with_clock(Arc::new(ManualClock::new(t0())));
    let first = alert("a1", "Ip", "1.2.3.4", false);
    let mut out_decisions = Vec::new();
    stage
        .process(
            &mut vec![first.clone(), first, alert("a2", "Country", "FR", true)],
            &mut out_decisions,
        )
        .await
        .unwrap();
    assert_eq!(out_decisions.len(), 1);
    drop(stage);
    worker.await.unwrap();

    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "a redelivered alert is not notified again");
    let sent: Vec<Alert> = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].id > 0, "the alert as stored");
    assert_eq!(sent[0].created_at, "2026-03-01T12:00:00Z");
    let d = &sent[0].decisions.as_ref().unwrap()[0];
    assert_eq!(
        (d.id, d.kind.as_str(), d.duration.as_str()),
        (out_decisions[0].id, "ban", "1h0m0s")
    );
    assert_eq!(
        r.value(
            "palisade_publish_notifications_sent_total",
            &[("type", "command")]
        ),
        Some(1)
    );
}

#[tokio::test]
async fn a_failing_profile_without_on_error_refuses_the_alert() {
    let r = Registry::new();
    let profiles = Profiles::load(
        "profiles.yaml",
        "name: broken\nfilters: [Alert.GetValue()]\ndecisions: [{type: ban}]\n",
    )
    .unwrap();
    let mut stage = PublishStage::new(
        Store::open_in_memory().unwrap(),
        profiles,
        Notifier::disabled(),
        &StorageConfig::in_memory(),
        &r,
    );
    let mut out = Vec::new();
    let err = stage
        .process(&mut vec![alert("a1", "Ip", "1.2.3.4", true)], &mut out)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        StageError::User(
            "1 alert(s) refused, first: alert a1: profile broken: unexpected type string while running 'Alert.GetValue()'".into()
        )
        .to_string()
    );
    assert!(stage.store().alerts(None, None).unwrap().is_empty());
    assert_eq!(r.total("palisade_publish_profile_errors_total"), 1);
}
