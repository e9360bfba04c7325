//! What an overflow carries (CrowdSec's `NewAlert`): a [`RuntimeAlert`] with the sources of the
//! kept events and one [`Alert`] per source, wrapped in an overflow [`Event`].
//!
//! * Sources: with scope `Ip` or `Range`, every kept event must have a valid `Meta.source_ip`
//!   (and a parseable `Meta.SourceRange` if any), otherwise the alert cannot be made and the
//!   overflow is dropped. `Enriched` gives `as_number` (`ASNumber`, else `ASNNumber`), `cn`
//!   (`IsoCode`), `as_name` (`ASNOrg`), `latitude`, `longitude`. `Ip` takes the address as value,
//!   `Range` the range or the scope expression's value; other scopes the expression's value.
//!   Kept overflow events (reprocess) give their own sources, converted from `Ip` to `Range`
//!   when the scenario asks for ranges. All sources must share one scope.
//! * `message`: `"<scope> <value | N sources> performed '<scenario>' (<count> events over
//!   <stop-start as Go duration>) at <Last_ts as Go's time.String()>"`.
//! * `events`: one per kept event, Meta as a key/value list sorted by key, `timestamp` =
//!   `MarshaledTime` or else the event time.
//! * `start_at` / `stop_at`: first event and overflow times, RFC 3339 with nanoseconds.
//! * `leakspeed`: the parsed leak speed written back as a Go duration (`10s`, `1m0s`, `0s`), as
//!   CrowdSec's `leakspeed.String()`.
//! * Not filled: the alert context (`meta`, from the console `context` configuration), `uuid`,
//!   `created_at`, `decisions` (the Local API's job).

use crate::bucket::queue::KeptEvent;
use crate::bucket::NO_TIME;
use crate::scenario::Scenario;
use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use palisade_schemas::duration::format_go_duration;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{
    Alert, AlertEvent, Event, EventType, ExpectMode, MetaItem, RuntimeAlert, Source,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The bucket facts an alert is made of.
#[derive(Debug, Clone, Copy)]
pub struct OverflowFacts<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// CrowdSec's bucket key.
    pub mapkey: &'a str,
    /// `First_ts` (ns).
    pub first_ts: i64,
    /// `Last_ts` (ns).
    pub last_ts: i64,
    /// `Ovflw_ts` (ns).
    pub ovflw_ts: i64,
    /// `Total_count`.
    pub total: u32,
}

fn to_time(ns: i64) -> Option<DateTime<Utc>> {
    (ns != NO_TIME).then(|| DateTime::from_timestamp_nanos(ns))
}

/// Go's `time.Time.MarshalText` for a UTC time (the zero time when unset).
pub fn marshal_time(ns: i64) -> String {
    to_time(ns).map_or_else(
        || palisade_schemas::time::GO_ZERO_TIME.to_string(),
        |t| format_rfc3339_nano(&t),
    )
}

/// Go's `time.Time.String()` for a UTC time: `2026-02-12 14:10:24.5 +0000 UTC`.
pub fn go_time_string(ns: i64) -> String {
    let Some(t) = to_time(ns) else {
        return "0001-01-01 00:00:00 +0000 UTC".to_string();
    };
    let mut out = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        out.push('.');
        out.push_str(format!("{nanos:09}").trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Go's `net.ParseCIDR(s)` followed by `IPNet.String()`: the network address and prefix.
pub fn normalize_cidr(s: &str) -> Option<String> {
    let (ip, len) = s.split_once('/')?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 3 {
        return None;
    }
    let len: u32 = len.parse().ok()?;
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) if len <= 32 => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let net = std::net::Ipv4Addr::from(u32::from(a) & mask);
            Some(format!("{net}/{len}"))
        }
        IpAddr::V6(a) if len <= 128 => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            let net = std::net::Ipv6Addr::from(u128::from(a) & mask);
            Some(format!("{net}/{len}"))
        }
        _ => None,
    }
}

fn parse_coord(v: &str) -> f32 {
    v.parse::<f32>().unwrap_or_else(|_| {
        tracing::warn!(value = %v, "Bad latitude/longitude.");
        0.0
    })
}

fn scope_value(ev: &KeptEvent<'_>) -> Result<Option<String>, String> {
    match &ev.scope {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v.to_string())),
        Some(Err(e)) => Err(format!("while running scope filter: {e}")),
    }
}

/// The sources of one kept log event (`eventSources`).
fn log_sources(s: &Scenario, ev: &KeptEvent<'_>) -> Result<Vec<(String, Source)>, String> {
    let scope = s.scope.kind.as_str();
    if scope != "Ip" && scope != "Range" {
        let value = scope_value(ev)?.ok_or("empty scope information")?;
        let src = Source {
            scope: scope.to_string(),
            value: value.clone(),
            ..Source::default()
        };
        return Ok(vec![(value, src)]);
    }
    let ip = ev
        .meta("source_ip")
        .ok_or_else(|| format!("scope is {scope} but Meta[source_ip] doesn't exist"))?;
    if ip.parse::<IpAddr>().is_err() {
        return Err(format!("scope is {scope} but '{ip}' isn't a valid ip"));
    }
    let [as_number, asn_number, iso, as_org, lat, long] = ev.enriched;
    let mut src = Source {
        ip: ip.to_string(),
        scope: scope.to_string(),
        as_number: as_number.or(asn_number).unwrap_or("").to_string(),
        cn: iso.unwrap_or("").to_string(),
        as_name: as_org.unwrap_or("").to_string(),
        latitude: lat.map_or(0.0, parse_coord),
        longitude: long.map_or(0.0, parse_coord),
        ..Source::default()
    };
    if let Some(range) = ev.meta("SourceRange").filter(|r| !r.is_empty()) {
        src.range = normalize_cidr(range)
            .ok_or_else(|| format!("declared range {range} of {ip} can't be parsed"))?;
    }
    src.value = if scope == "Ip" {
        src.ip.clone()
    } else {
        match scope_value(ev)? {
            Some(v) => v,
            None => src.range.clone(),
        }
    };
    Ok(vec![(src.value.clone(), src)])
}

/// The sources of one kept overflow event (`overflowEventSources`).
fn overflow_sources(s: &Scenario, ev: &KeptEvent<'_>) -> Result<Vec<(String, Source)>, String> {
    let scope = s.scope.kind.as_str();
    let mut out = Vec::new();
    for (k, v) in ev.sources.iter().flatten() {
        if v.scope == scope {
            out.push((k.clone(), v.clone()));
            continue;
        }
        if scope != "Range" {
            tracing::warn!(scenario = %s.name, from = %v.scope, value = %v.value,
                "Scenario scope cannot be derived from the overflow's source; source left out.");
            continue;
        }
        if v.scope == "Ip" {
            let mut src = Source {
                as_name: v.as_name.clone(),
                as_number: v.as_number.clone(),
                cn: v.cn.clone(),
                latitude: v.latitude,
                longitude: v.longitude,
                range: v.range.clone(),
                scope: scope.to_string(),
                value: v.range.clone(),
                ..Source::default()
            };
            if let Some(value) = scope_value(ev)? {
                src.value = value;
            }
            if src.value.is_empty() {
                tracing::warn!(scenario = %s.name, ip = %v.value,
                    "Range scope requested but the source has no range; source left out.");
                continue;
            }
            out.push((src.value.clone(), src));
        }
    }
    Ok(out)
}

/// `alertFormatSource`: the sources of all kept events and their common scope.
fn sources(
    s: &Scenario,
    events: &[KeptEvent<'_>],
) -> Result<(BTreeMap<String, Source>, String), String> {
    let mut all = BTreeMap::new();
    let mut scope = String::new();
    for ev in events {
        let srcs = if ev.kind == EventType::Overflow {
            overflow_sources(s, ev)?
        } else {
            log_sources(s, ev)?
        };
        for (k, src) in srcs {
            if scope.is_empty() {
                scope = src.scope.clone();
            }
            if src.scope != scope {
                return Err(format!(
                    "event has multiple source types : {} != {scope}",
                    src.scope
                ));
            }
            all.insert(k, src);
        }
    }
    Ok((all, scope))
}

fn alert_event(ev: &KeptEvent<'_>) -> AlertEvent {
    let mut meta: Vec<MetaItem> = ev
        .meta
        .iter()
        .map(|(k, v)| MetaItem {
            key: (*k).to_string(),
            value: (*v).to_string(),
        })
        .collect();
    meta.sort_by(|a, b| a.key.cmp(&b.key));
    AlertEvent {
        meta,
        timestamp: ev.timestamp.to_string(),
    }
}

/// `NewAlert`: the runtime alert of an overflow. On error (no valid source) the returned
/// alert only has its `Mapkey`, as CrowdSec's, and the error says why.
pub fn new_alert(f: OverflowFacts<'_>, events: &[KeptEvent<'_>]) -> (RuntimeAlert, Option<String>) {
    let s = f.scenario;
    let mut ra = RuntimeAlert {
        mapkey: f.mapkey.to_string(),
        bucket_id: s.name.clone(),
        ..RuntimeAlert::default()
    };
    let (srcs, scope) = match sources(s, events) {
        Ok(v) => v,
        Err(e) => {
            return (
                ra,
                Some(format!(
                "unable to collect sources from bucket: while extracting scope from bucket {}: {e}",
                s.name
            )),
            )
        }
    };
    let source_str = match srcs.len() {
        0 => "UNKNOWN".to_string(),
        1 => srcs.keys().next().cloned().unwrap_or_default(),
        n => format!("{n} sources"),
    };
    let over = if f.first_ts == NO_TIME {
        0
    } else {
        f.ovflw_ts.saturating_sub(f.first_ts)
    };
    let base = Alert {
        capacity: i32::try_from(s.capacity).unwrap_or(i32::MAX),
        events: events.iter().map(alert_event).collect(),
        events_count: i32::try_from(f.total).unwrap_or(i32::MAX),
        leakspeed: s.leakspeed_text.clone(),
        message: format!(
            "{scope} {source_str} performed '{}' ({} events over {}) at {}",
            s.name,
            f.total,
            format_go_duration(TimeDelta::nanoseconds(over)),
            go_time_string(f.last_ts)
        ),
        remediation: s.remediation,
        scenario: s.name.clone(),
        scenario_hash: s.hash.clone(),
        scenario_version: s.version.clone(),
        simulated: s.simulated,
        start_at: marshal_time(f.first_ts),
        stop_at: marshal_time(f.ovflw_ts),
        kind: "crowdsec".to_string(),
        ..Alert::default()
    };
    ra.api_alerts = srcs
        .values()
        .map(|src| Alert {
            source: src.clone(),
            ..base.clone()
        })
        .collect();
    ra.alert = ra.api_alerts.first().cloned().map(Box::new);
    ra.sources = srcs;
    ra.reprocess = s.reprocess;
    (ra, None)
}

/// Carries postoverflow edits of `evt.Overflow.Alert` where CrowdSec sees them. In Go,
/// `RuntimeAlert.Alert` points at `APIAlerts[0]`, whose source shares its `Scope` and `Value`
/// with the matching `Sources` entry; Palisade's alert is a copy, so after postoverflows ran
/// (`ipv6_to_range` rewrites `evt.Overflow.Alert.Source.Value` and `.Scope`) this copies the
/// alert back to `api_alerts[0]` and its scope and value to the first source.
pub fn sync_postoverflow_edits(ra: &mut RuntimeAlert) {
    let Some(a) = ra.alert.as_deref() else {
        return;
    };
    if let Some(first) = ra.api_alerts.first_mut() {
        if first != a {
            *first = a.clone();
        }
    }
    if let Some(src) = ra.sources.values_mut().next() {
        if src.scope != a.source.scope || src.value != a.source.value {
            src.scope = a.source.scope.clone();
            src.value = a.source.value.clone();
        }
    }
}

/// The overflow event: `Type = overflow`, `MarshaledTime` = the overflow time.
///
/// CrowdSec leaves `ExpectMode` at live on overflow events; Palisade keeps the mode of the
/// bucket so that a reprocessed overflow of a replayed log is poured on log time too.
pub fn overflow_event(ra: RuntimeAlert, ovflw_ts: i64, mode: ExpectMode) -> Event {
    Event {
        kind: EventType::Overflow,
        expect_mode: mode,
        marshaled_time: marshal_time(ovflw_ts),
        overflow: Some(Box::new(ra)),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 2, 12, 14, 10, 24)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap();
        assert_eq!(go_time_string(t), "2026-02-12 14:10:24 +0000 UTC");
        assert_eq!(
            go_time_string(t + 500_000_000),
            "2026-02-12 14:10:24.5 +0000 UTC"
        );
        assert_eq!(marshal_time(t + 7), "2026-02-12T14:10:24.000000007Z");
        assert_eq!(marshal_time(NO_TIME), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn cidrs_normalise_like_go() {
        assert_eq!(normalize_cidr("1.2.3.4/24").as_deref(), Some("1.2.3.0/24"));
        assert_eq!(normalize_cidr("1.2.3.4/32").as_deref(), Some("1.2.3.4/32"));
        assert_eq!(normalize_cidr("0.0.0.0/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(
            normalize_cidr("2001:db8:1::5/48").as_deref(),
            Some("2001:db8:1::/48")
        );
        for bad in ["1.2.3.4", "1.2.3.4/33", "1.2.3/8", "x/1", "1.2.3.4/"] {
            assert!(normalize_cidr(bad).is_none(), "{bad}");
        }
    }
}
