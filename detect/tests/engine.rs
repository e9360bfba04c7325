//! The engine in the stage: garbage collection, the live bucket cap, metrics, data files,
//! postoverflows and reprocess through `DetectStage`.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use palisade_detect::{BucketEngine, DetectStage, EngineConfig, Loader, Scenarios};
use palisade_runtime::clock::ManualClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::stage::Stage;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Event, ExpectMode};
use std::sync::Arc;

fn load(yaml: &str) -> Scenarios {
    Loader::new()
        .load_texts(&[("t.yaml", yaml)])
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn live(ip: &str) -> Event {
    let mut e = Event::default();
    e.meta.insert("source_ip".into(), ip.into());
    e
}

fn replayed(ip: &str, secs: i64) -> Event {
    let mut e = live(ip);
    e.expect_mode = ExpectMode::TimeMachine;
    e.set_time(t0() + TimeDelta::seconds(secs));
    e
}

const LEAKY: &str = "name: t/leaky\ndescription: d\ntype: leaky\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: 2\nleakspeed: 10s\n";

#[test]
fn idle_buckets_are_collected_when_time_advances() {
    let r = Registry::new();
    let mut e = BucketEngine::new(load(LEAKY), &r);
    let mut out = Vec::new();
    for (i, ip) in ["1.1.1.1", "2.2.2.2", "3.3.3.3"].iter().enumerate() {
        e.pour_event(
            &mut live(ip),
            t0() + TimeDelta::seconds(i as i64 * 10),
            &mut out,
        );
    }
    assert_eq!(e.live_buckets(), 3);
    assert_eq!(r.total("palisade_detect_buckets_live_count"), 3);
    // lifetime (2+1)*10s = 30s: at t0+31s only the first is idle for more than that
    e.advance_to(t0() + TimeDelta::seconds(31), &mut out);
    assert_eq!(e.live_buckets(), 2);
    e.advance_to(t0() + TimeDelta::seconds(51), &mut out);
    assert_eq!(e.live_buckets(), 0);
    assert_eq!(r.total("palisade_detect_buckets_live_count"), 0);
    assert!(out.is_empty(), "underflows are silent");
    assert_eq!(
        r.value(
            "palisade_detect_events_poured_total",
            &[("scenario", "t/leaky")]
        ),
        Some(3)
    );
}

#[test]
fn the_live_bucket_cap_evicts_the_least_recently_poured() {
    let r = Registry::new();
    let mut e = BucketEngine::new(load(LEAKY), &r).with_config(EngineConfig {
        max_buckets: Some(3),
    });
    let mut out = Vec::new();
    let at = |s: i64| t0() + TimeDelta::milliseconds(s);
    for (i, ip) in ["1.1.1.1", "2.2.2.2", "3.3.3.3"].iter().enumerate() {
        e.pour_event(&mut live(ip), at(i as i64), &mut out);
    }
    // 1.1.1.1 poured again: now 2.2.2.2 is the least recently poured
    e.pour_event(&mut live("1.1.1.1"), at(3), &mut out);
    e.pour_event(&mut live("4.4.4.4"), at(4), &mut out);
    assert_eq!(e.live_buckets(), 3);
    assert_eq!(r.total("palisade_detect_buckets_evicted_total"), 1);
    // 1.1.1.1 kept its two events: a third overflows
    e.pour_event(&mut live("1.1.1.1"), at(5), &mut out);
    assert_eq!(out.len(), 1);
    // 2.2.2.2 was evicted: it starts from a full bucket
    e.pour_event(&mut live("2.2.2.2"), at(6), &mut out);
    e.pour_event(&mut live("2.2.2.2"), at(7), &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn data_files_reach_the_expressions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad_ips.txt"), "6.6.6.6\n7.7.7.7\n").unwrap();
    let yaml = "name: t/file\ndescription: d\ntype: trigger\nfilter: evt.Meta.source_ip in File('bad_ips.txt')\ngroupby: evt.Meta.source_ip\ndata:\n  - dest_file: bad_ips.txt\n    type: string\n";
    let s = Loader::new()
        .with_data_dir(dir.path())
        .load_texts(&[("t.yaml", yaml)])
        .unwrap();
    let mut e = BucketEngine::new(s, &Registry::new());
    let mut out = Vec::new();
    for ip in ["1.1.1.1", "7.7.7.7"] {
        e.pour_event(&mut live(ip), t0(), &mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0]
            .overflow
            .as_ref()
            .unwrap()
            .sources
            .keys()
            .next()
            .unwrap(),
        "7.7.7.7"
    );
}

#[test]
fn only_expression_scenarios_keep_whole_events() {
    let s = load(&format!(
        "{LEAKY}---\nname: t/cond\ndescription: d\ntype: conditional\nfilter: 'true'\ncapacity: -1\nleakspeed: 1m\ncondition: len(queue.Queue) > 3\n"
    ));
    let kinds: Vec<(bool, Option<usize>)> = s
        .iter()
        .map(|s| (s.keeps_whole_events(), s.kept_events()))
        .collect();
    assert_eq!(kinds, [(false, Some(3)), (true, None)]);
}

#[test]
fn simulated_scenarios_mark_their_alerts() {
    let mut s = load(
        &LEAKY
            .replace("type: leaky", "type: trigger")
            .replace("capacity: 2\n", ""),
    );
    s.set_simulated(["t/leaky"]);
    let mut e = BucketEngine::new(s, &Registry::new());
    let mut out = Vec::new();
    e.pour_event(&mut live("1.1.1.1"), t0(), &mut out);
    assert!(out[0].overflow.as_ref().unwrap().api_alerts[0].simulated);
}

/// ssh-bf style overflows (reprocess) consumed by a range scenario (ban-defcon-drop_range
/// style), through the detect stage with a postoverflow hook.
#[tokio::test]
async fn stage_runs_postoverflows_and_reprocess() {
    let yaml = "name: t/bf\ndescription: d\ntype: leaky\nfilter: evt.Meta.log_type == 'fail'\ngroupby: evt.Meta.source_ip\ncapacity: 1\nleakspeed: 10s\nreprocess: true\nlabels:\n  remediation: true\n---\nname: t/range\ndescription: d\ntype: leaky\nfilter: evt.GetType() == 'overflow' && evt.Overflow.Alert.Remediation == true\ngroupby: evt.Overflow.Alert.Source.Range\ndistinct: evt.Overflow.Alert.Source.IP\ncapacity: 1\nleakspeed: 1m\nscope:\n  type: Range\n";
    let r = Registry::new();
    let engine = BucketEngine::new(load(yaml), &r);
    let clock = ManualClock::new(t0());
    let mut stage = DetectStage::new(engine, &r)
        .with_clock(Arc::new(clock))
        .with_postoverflow(|e: &mut Event| {
            // a whitelist on one address
            !e.overflow
                .as_ref()
                .is_some_and(|o| o.sources.contains_key("10.0.0.9"))
        });
    let mut batch = Vec::new();
    for (i, ip) in ["10.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.0.3"]
        .iter()
        .enumerate()
    {
        for k in 0..2 {
            let mut e = replayed(ip, i as i64 * 3 + k);
            e.meta.insert("log_type".into(), "fail".into());
            e.meta.insert("SourceRange".into(), "10.0.0.0/24".into());
            batch.push(e);
        }
    }
    let mut out = Vec::new();
    stage.process(&mut batch, &mut out).await.unwrap();
    let got: Vec<(&str, &str, &str)> = out
        .iter()
        .map(|a| {
            (
                a.scenario.as_str(),
                a.source.scope.as_str(),
                a.source.value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("t/bf", "Ip", "10.0.0.1"),
            ("t/bf", "Ip", "10.0.0.2"),
            ("t/range", "Range", "10.0.0.0/24"),
            ("t/bf", "Ip", "10.0.0.3"),
        ],
        "the whitelisted overflow is neither published nor reprocessed"
    );
    let range = out.iter().find(|a| a.scenario == "t/range").unwrap();
    assert_eq!(range.events_count, 2);
    assert_eq!(
        range.start_at,
        format_rfc3339_nano(&(t0() + TimeDelta::seconds(1)))
    );
    assert_eq!(
        range.stop_at,
        format_rfc3339_nano(&(t0() + TimeDelta::seconds(4)))
    );
    assert_eq!(r.total("palisade_detect_overflows_whitelisted_total"), 1);
    assert_eq!(r.total("palisade_detect_overflows_reprocessed_total"), 3);
    assert_eq!(r.total("palisade_detect_alerts_raised_total"), 4);
}

#[tokio::test]
async fn replayed_counters_fire_on_log_time_when_the_stage_closes() {
    let yaml = "name: t/count\ndescription: d\ntype: counter\nfilter: 'true'\ngroupby: evt.Meta.source_ip\ncapacity: -1\nduration: 10s\n";
    let r = Registry::new();
    let mut stage = DetectStage::new(BucketEngine::new(load(yaml), &r), &r);
    let mut out = Vec::new();
    stage
        .process(
            &mut vec![replayed("1.1.1.1", 0), replayed("1.1.1.1", 5)],
            &mut out,
        )
        .await
        .unwrap();
    assert!(out.is_empty());
    stage
        .process(&mut vec![replayed("2.2.2.2", 12)], &mut out)
        .await
        .unwrap();
    assert_eq!(
        out.len(),
        1,
        "the batch's newest time (12s) passed the 10s duration"
    );
    assert_eq!(out[0].events_count, 2);
    stage.on_close(&mut out).await.unwrap();
    assert_eq!(
        out.len(),
        1,
        "2.2.2.2 has not reached its duration on log time"
    );
}
