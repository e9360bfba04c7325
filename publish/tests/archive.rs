//! The ClickHouse archive against a real server (`scripts/services` starts Debian's 18.16 and
//! prints `PALISADE_CLICKHOUSE_URL`; `scripts/test` sets it). Without the variable these tests
//! say so and pass without checking anything.

use chrono::{TimeDelta, TimeZone, Utc};
use palisade_publish::archive::{Archive, ArchiveConfig, ArchiveFollower, Batch, Delivery};
use palisade_publish::{DecisionFilter, NoHistory, Profiles, Store};
use palisade_runtime::metrics::Registry;
use palisade_schemas::{Alert, Source};
use std::sync::atomic::{AtomicU32, Ordering};

fn server() -> Option<String> {
    match std::env::var("PALISADE_CLICKHOUSE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipped: PALISADE_CLICKHOUSE_URL is unset (run `eval \"$(scripts/services)\"` first)"
            );
            None
        }
    }
}

/// A database of its own per test, dropped first if a previous run left it.
async fn fresh_db(url: &str, name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let db = format!(
        "palisade_test_{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let c = clickhouse::Client::default()
        .with_url(url)
        .with_validation(false);
    c.query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute()
        .await
        .unwrap();
    db
}

async fn count(url: &str, db: &str, sql: &str) -> u64 {
    let c = clickhouse::Client::default()
        .with_url(url)
        .with_database(db)
        .with_validation(false);
    c.query(sql).fetch_one::<u64>().await.unwrap()
}

async fn drop_db(url: &str, db: &str) {
    let c = clickhouse::Client::default()
        .with_url(url)
        .with_validation(false);
    c.query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute()
        .await
        .unwrap();
}

fn alert(ip: &str, secs: i64) -> Alert {
    let stop = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap() + TimeDelta::seconds(secs);
    let mut a = Alert {
        scenario: "crowdsecurity/ssh-bf".into(),
        remediation: true,
        events_count: 6,
        source: Source {
            scope: "Ip".into(),
            value: ip.into(),
            ip: ip.into(),
            cn: "FR".into(),
            ..Source::default()
        },
        start_at: palisade_schemas::time::format_rfc3339_nano(&(stop - TimeDelta::seconds(3))),
        stop_at: palisade_schemas::time::format_rfc3339_nano(&stop),
        ..Alert::default()
    };
    Profiles::default_profiles()
        .apply(&mut a, stop, &NoHistory)
        .unwrap();
    a
}

fn fill(store: &mut Store, n: usize, offset: usize) {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap();
    for i in offset..offset + n {
        let ip = format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256);
        store.insert_alert(&alert(&ip, i as i64), now).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_and_decisions_reach_clickhouse_once() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url, "once").await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("p.db")).unwrap();
    fill(&mut store, 2500, 0);
    let mut cfg = ArchiveConfig::new(&url, &db, dir.path().join("spool"));
    cfg.batch_size = 1000;
    let registry = Registry::new();
    let archive = Archive::new(cfg.clone(), &registry).unwrap();
    let mut f =
        ArchiveFollower::new(archive, Store::open(dir.path().join("p.db")).unwrap()).unwrap();
    assert_eq!(f.step(Vec::new()).await.unwrap(), 5000);
    assert_eq!(count(&url, &db, "SELECT count() FROM alerts").await, 2500);
    assert_eq!(
        count(&url, &db, "SELECT count() FROM decisions").await,
        2500
    );
    assert_eq!(
        count(
            &url,
            &db,
            "SELECT count() FROM alerts WHERE source_cn = 'FR' AND decisions = 1"
        )
        .await,
        2500
    );
    assert_eq!(f.step(Vec::new()).await.unwrap(), 0, "nothing new");
    // A deletion is a new version of the decision; FINAL shows one row per uuid, expired.
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 11, 0, 0).unwrap();
    let deleted = store
        .delete_decisions(
            &DecisionFilter {
                value: Some("10.0.0.7".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(f.step(Vec::new()).await.unwrap(), 1);
    assert_eq!(
        count(&url, &db, "SELECT count() FROM decisions FINAL").await,
        2500
    );
    assert_eq!(
        count(
            &url,
            &db,
            "SELECT toUInt64(until) FROM decisions FINAL WHERE value = '10.0.0.7'"
        )
        .await,
        now.timestamp() as u64
    );
    // A restarted follower resumes from its cursor: nothing is sent twice.
    let cursor = f.cursor();
    let archive = Archive::new(cfg, &registry).unwrap();
    let mut f2 =
        ArchiveFollower::new(archive, Store::open(dir.path().join("p.db")).unwrap()).unwrap();
    assert_eq!(f2.cursor(), cursor);
    assert_eq!(f2.step(Vec::new()).await.unwrap(), 0);
    assert_eq!(count(&url, &db, "SELECT count() FROM alerts").await, 2500);
    assert_eq!(registry.total("palisade_publish_archive_rows_total"), 5001);
    drop_db(&url, &db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_spools_in_order_and_the_spool_drains_without_loss_or_duplicates() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url, "outage").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let mut store = Store::open(&path).unwrap();
    let spool = dir.path().join("spool");
    // ClickHouse "down": a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut down = ArchiveConfig::new(&dead_url, &db, spool.clone());
    down.batch_size = 300;
    down.retries = 2;
    down.backoff = std::time::Duration::from_millis(10);
    let registry = Registry::new();
    let mut f = ArchiveFollower::new(
        Archive::new(down.clone(), &registry).unwrap(),
        Store::open(&path).unwrap(),
    )
    .unwrap();
    fill(&mut store, 1000, 0);
    assert_eq!(f.step(Vec::new()).await.unwrap(), 2000);
    let files = f.archive().spool().files().unwrap();
    assert_eq!(
        files.len(),
        4,
        "1000 alerts and decisions in batches of 300"
    );
    assert_eq!(
        registry.total("palisade_publish_archive_spooled_batches_total"),
        4
    );
    fill(&mut store, 500, 1000);
    f.step(Vec::new()).await.unwrap();
    assert_eq!(f.archive().spool().files().unwrap().len(), 6);
    // The process restarts while ClickHouse is back: the spool drains first, in order, then
    // the rest follows from the cursor.
    drop(f);
    let mut up = down.clone();
    up.url = url.clone();
    let mut f = ArchiveFollower::new(
        Archive::new(up, &registry).unwrap(),
        Store::open(&path).unwrap(),
    )
    .unwrap();
    fill(&mut store, 250, 1500);
    f.step(Vec::new()).await.unwrap();
    assert!(
        f.archive().spool().is_empty().unwrap(),
        "the spool is drained"
    );
    assert_eq!(count(&url, &db, "SELECT count() FROM alerts").await, 1750);
    assert_eq!(
        count(&url, &db, "SELECT uniqExact(uuid) FROM alerts").await,
        1750
    );
    assert_eq!(
        count(&url, &db, "SELECT count() FROM decisions").await,
        1750
    );
    assert_eq!(
        count(&url, &db, "SELECT uniqExact(uuid) FROM decisions").await,
        1750
    );
    assert_eq!(count(&url, &db, "SELECT max(id) FROM alerts").await, 1750);
    drop_db(&url, &db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_delivered_twice_is_one_row_per_uuid() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url, "twice").await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory().unwrap();
    fill(&mut store, 10, 0);
    let alerts = store.alerts(None, None).unwrap();
    let batch = Batch {
        alerts: alerts
            .iter()
            .map(palisade_publish::archive::AlertRow::from_alert)
            .collect(),
        ..Batch::default()
    };
    let mut a = Archive::new(
        ArchiveConfig::new(&url, &db, dir.path().join("spool")),
        &Registry::new(),
    )
    .unwrap();
    let version = a.ensure_schema().await.unwrap();
    assert!(version.starts_with("18.") || palisade_publish::archive::is_current(&version));
    assert_eq!(a.deliver(batch.clone()).await.unwrap(), Delivery::Inserted);
    assert_eq!(a.deliver(batch).await.unwrap(), Delivery::Inserted);
    assert_eq!(
        count(&url, &db, "SELECT count() FROM alerts FINAL").await,
        10
    );
    let text = a
        .query_text("SELECT value FROM alerts FINAL ORDER BY id LIMIT 2")
        .await
        .unwrap();
    assert_eq!(text, "value\n10.0.0.0\n10.0.0.1\n");
    drop_db(&url, &db).await;
}
