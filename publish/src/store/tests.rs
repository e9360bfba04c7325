//! The store's behaviour: persistence, idempotency, expiry, deletion and pruning.

use super::*;
use crate::{NoHistory, Profiles};
use chrono::{TimeDelta, TimeZone};
use palisade_schemas::Source;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A remediation alert on `ip` that overflowed at `stop_at`, with the default profile applied.
fn alert(ip: &str, stop_at: DateTime<Utc>) -> Alert {
    let mut a = Alert {
        uuid: format!("alert-{ip}-{}", stop_at.timestamp()),
        scenario: "crowdsecurity/ssh-bf".into(),
        remediation: true,
        source: Source {
            scope: "Ip".into(),
            value: ip.into(),
            ..Source::default()
        },
        start_at: format_rfc3339_nano(&(stop_at - TimeDelta::seconds(3))),
        stop_at: format_rfc3339_nano(&stop_at),
        ..Alert::default()
    };
    Profiles::default_profiles()
        .apply(&mut a, stop_at, &NoHistory)
        .unwrap();
    a
}

#[test]
fn decisions_survive_a_restart_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("palisade.db");
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.journal_mode().unwrap(), "wal");
    let (id, decisions) = store.insert_alert(&alert("1.2.3.4", t0()), t0()).unwrap();
    assert_eq!(decisions.len(), 1);
    assert!(id > 0 && decisions[0].id > 0);
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.journal_mode().unwrap(),
        "wal",
        "WAL mode is persistent"
    );
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let active = store.active_decisions(t0() + TimeDelta::hours(1)).unwrap();
    assert_eq!(active, decisions);
    let a = store.alert(id).unwrap().unwrap();
    assert_eq!(a.decisions.as_deref(), Some(&decisions[..]));
    assert_eq!(a.created_at, "2026-03-01T12:00:00Z");
    assert_eq!(a.id, id);
    assert!(store.alert(id + 1).unwrap().is_none());
}

#[test]
fn in_memory_stores_work_without_a_file() {
    let mut store = Store::open(":memory:").unwrap();
    assert_eq!(store.journal_mode().unwrap(), "memory");
    store.insert_alert(&alert("1.2.3.4", t0()), t0()).unwrap();
    assert_eq!(store.active_decisions(t0()).unwrap().len(), 1);
}

#[test]
fn re_inserting_an_alert_or_a_decision_stores_nothing_new() {
    let mut store = Store::open_in_memory().unwrap();
    let a = alert("1.2.3.4", t0());
    let (id, first) = store.insert_alert(&a, t0()).unwrap();
    let (again, second) = store
        .insert_alert(&a, t0() + TimeDelta::seconds(5))
        .unwrap();
    assert_eq!(again, id, "the same alert uuid gives the existing id");
    assert!(second.is_empty());

    // The same overflow delivered again under another alert uuid: stored, but not banned twice.
    let replay = Alert {
        uuid: "another".into(),
        ..a.clone()
    };
    let (other, third) = store.insert_alert(&replay, t0()).unwrap();
    assert_ne!(other, id);
    assert!(third.is_empty(), "the decision uuid is already stored");
    assert_eq!(store.alerts(None, None).unwrap().len(), 2);
    assert_eq!(store.active_decisions(t0()).unwrap(), first);
}

#[test]
fn alerts_without_uuid_or_decisions_are_stored() {
    let mut store = Store::open_in_memory().unwrap();
    let mut a = alert("1.2.3.4", t0());
    a.uuid.clear();
    a.decisions = None;
    let (id, decisions) = store.insert_alert(&a, t0()).unwrap();
    assert!(decisions.is_empty());
    let back = store.alert(id).unwrap().unwrap();
    assert_eq!(back.decisions, Some(vec![]));
    assert_eq!(
        uuid::Uuid::parse_str(&back.uuid).unwrap().get_version_num(),
        5,
        "a missing alert uuid is derived from the alert, so a redelivery is stored once"
    );
    let (again, none) = store.insert_alert(&a, t0()).unwrap();
    assert_eq!(again, id);
    assert!(none.is_empty());
    let bad = Alert {
        scenario: String::new(),
        ..a
    };
    assert!(matches!(
        store.insert_alert(&bad, t0()),
        Err(PublishError::InvalidAlert(_))
    ));
}

#[test]
fn decisions_expire_with_time() {
    let mut store = Store::open_in_memory().unwrap();
    store.insert_alert(&alert("1.2.3.4", t0()), t0()).unwrap();
    store
        .insert_alert(&alert("5.6.7.8", t0() + TimeDelta::hours(2)), t0())
        .unwrap();
    let values = |now| -> Vec<String> {
        store
            .active_decisions(now)
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .collect()
    };
    assert_eq!(values(t0() + TimeDelta::hours(1)), ["1.2.3.4", "5.6.7.8"]);
    assert_eq!(
        values(t0() + TimeDelta::hours(4)),
        ["5.6.7.8"],
        "until is exclusive"
    );
    assert!(values(t0() + TimeDelta::hours(6)).is_empty());

    let now = t0() + TimeDelta::hours(3);
    let found = store.decisions_for_value("ip", "5.6.7.8", now).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].until, Some(t0() + TimeDelta::hours(6)));
    assert!(store
        .decisions_for_value("Range", "5.6.7.8", now)
        .unwrap()
        .is_empty());
    assert!(store
        .decisions_for_value("Ip", "1.2.3.4", t0() + TimeDelta::hours(5))
        .unwrap()
        .is_empty());
}

#[test]
fn deleting_decisions_expires_them() {
    let mut store = Store::open_in_memory().unwrap();
    for ip in ["1.2.3.4", "5.6.7.8", "9.9.9.9"] {
        store.insert_alert(&alert(ip, t0()), t0()).unwrap();
    }
    let now = t0() + TimeDelta::minutes(10);
    let by_value = DecisionFilter {
        scope: Some("ip".into()),
        value: Some("1.2.3.4".into()),
        ..DecisionFilter::default()
    };
    assert_eq!(store.delete_decisions(&by_value, now).unwrap(), 1);
    assert_eq!(
        store.delete_decisions(&by_value, now).unwrap(),
        0,
        "already expired"
    );
    let left = store.active_decisions(now).unwrap();
    assert_eq!(left.len(), 2);
    let by_id = DecisionFilter {
        id: Some(left[0].id),
        kind: Some("ban".into()),
        ..DecisionFilter::default()
    };
    assert_eq!(store.delete_decisions(&by_id, now).unwrap(), 1);
    let wrong_origin = DecisionFilter {
        origin: Some("cscli".into()),
        ..DecisionFilter::default()
    };
    assert_eq!(store.delete_decisions(&wrong_origin, now).unwrap(), 0);
    assert_eq!(
        store
            .delete_decisions(&DecisionFilter::default(), now)
            .unwrap(),
        1,
        "empty filter: all"
    );
    assert!(store.active_decisions(now).unwrap().is_empty());

    // The rows stay, expired at `now`, for the decision stream.
    let a = &store.alerts(Some(1), None).unwrap()[0];
    assert_eq!(a.decisions.as_ref().unwrap()[0].until, Some(now));
}

#[test]
fn alerts_are_listed_oldest_first_with_limit_and_since() {
    let mut store = Store::open_in_memory().unwrap();
    for (i, ip) in ["1.1.1.1", "2.2.2.2", "3.3.3.3"].iter().enumerate() {
        let at = t0() + TimeDelta::minutes(i as i64);
        store.insert_alert(&alert(ip, at), at).unwrap();
    }
    let ips = |alerts: Vec<Alert>| -> Vec<String> {
        alerts.into_iter().map(|a| a.source.value).collect()
    };
    assert_eq!(
        ips(store.alerts(None, None).unwrap()),
        ["1.1.1.1", "2.2.2.2", "3.3.3.3"]
    );
    assert_eq!(
        ips(store.alerts(Some(2), None).unwrap()),
        ["2.2.2.2", "3.3.3.3"],
        "the newest two"
    );
    let since = Some(t0() + TimeDelta::minutes(1));
    assert_eq!(
        ips(store.alerts(None, since).unwrap()),
        ["2.2.2.2", "3.3.3.3"]
    );
    let all = store.alerts(None, None).unwrap();
    assert!(all
        .iter()
        .all(|a| a.decisions.as_ref().is_some_and(|d| d.len() == 1)));
}

#[test]
fn prune_removes_old_expired_decisions_then_their_alerts() {
    let mut store = Store::open_in_memory().unwrap();
    let days = |n| t0() + TimeDelta::days(n);
    // A 4h ban from day 0; a long ban from day 0; a recent alert without decision.
    store.insert_alert(&alert("1.1.1.1", t0()), t0()).unwrap();
    let mut long = alert("2.2.2.2", t0());
    long.decisions = None;
    long.uuid = "long".into();
    let forty_days = "name: long\nfilters: [\"true\"]\ndecisions: [{type: ban, duration: 40d}]\n";
    Profiles::load("long.yaml", forty_days)
        .unwrap()
        .apply(&mut long, t0(), &NoHistory)
        .unwrap();
    store.insert_alert(&long, t0()).unwrap();
    let mut quiet = alert("3.3.3.3", days(20));
    quiet.decisions = Some(vec![]);
    store.insert_alert(&quiet, days(20)).unwrap();

    let (alert_ret, decision_ret) = (
        Duration::from_secs(30 * 86_400),
        Duration::from_secs(7 * 86_400),
    );
    assert_eq!(
        store.prune(days(7), alert_ret, decision_ret).unwrap(),
        (0, 0),
        "expired less than 7d ago"
    );
    assert_eq!(
        store.prune(days(8), alert_ret, decision_ret).unwrap(),
        (0, 1),
        "alerts are younger than 30d"
    );
    assert_eq!(store.alerts(None, None).unwrap().len(), 3);
    assert_eq!(
        store.prune(days(31), alert_ret, decision_ret).unwrap(),
        (1, 0),
        "the first alert has no decision left; the second still bans"
    );
    let left: Vec<String> = store
        .alerts(None, None)
        .unwrap()
        .into_iter()
        .map(|a| a.source.value)
        .collect();
    assert_eq!(left, ["2.2.2.2", "3.3.3.3"]);
    assert_eq!(
        store.prune(days(51), alert_ret, decision_ret).unwrap(),
        (2, 1)
    );
    assert!(store.alerts(None, None).unwrap().is_empty());
}

#[test]
fn analyst_queries_read_but_never_write() {
    let mut store = Store::open_in_memory().unwrap();
    store.insert_alert(&alert("1.2.3.4", t0()), t0()).unwrap();
    let (names, rows) = store
        .query_text("SELECT value, type FROM decisions")
        .unwrap();
    assert_eq!(names, vec!["value", "type"]);
    assert_eq!(rows, vec![vec!["1.2.3.4".to_string(), "ban".to_string()]]);
    assert!(store.query_text("DELETE FROM decisions").is_err());
    assert!(store.query_text("SELEC").is_err());
    // The connection writes again afterwards.
    store.insert_alert(&alert("5.6.7.8", t0()), t0()).unwrap();
    assert_eq!(store.active_decisions(t0()).unwrap().len(), 2);
}

#[test]
fn the_change_feed_orders_inserts_and_expiries() {
    let mut store = Store::open_in_memory().unwrap();
    store.insert_alert(&alert("1.2.3.4", t0()), t0()).unwrap();
    store.insert_alert(&alert("5.6.7.8", t0()), t0()).unwrap();
    let all = store.decision_changes(0, 10).unwrap();
    assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2]);
    let uuid = all[0].decision.uuid.clone().unwrap();
    let later = t0() + TimeDelta::minutes(1);
    assert_eq!(
        store
            .expire_decisions(std::slice::from_ref(&uuid), later)
            .unwrap(),
        1
    );
    assert_eq!(
        store.expire_decisions(&[uuid], later).unwrap(),
        0,
        "already expired"
    );
    let after = store.decision_changes(2, 10).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].seq, 3);
    assert_eq!(after[0].decision.value, "1.2.3.4");
    assert_eq!(after[0].decision.until, Some(later));
}
