//! The decision and alert identity helpers shared by the profiles ([`crate::profiles`]) and the
//! store ([`crate::Store`]):
//!
//! * [`complete_decision`]: `until = stop_at + duration` (the time of the overflow, so a replay
//!   of old logs makes decisions that may already be expired, as CrowdSec's Local API does);
//!   `now` if `stop_at` does not parse;
//! * [`decision_uuid`]: a UUID v5 of (scenario, scope, value, type, stop_at): a replayed alert
//!   makes the same decision again, which the store recognises and does not insert twice;
//! * [`alert_uuid`]: a UUID v5 for an alert that arrives without one.

use chrono::{DateTime, TimeDelta, Utc};
use palisade_runtime::config::parse_duration;
use palisade_schemas::time::{format_rfc3339_nano, parse_rfc3339};
use palisade_schemas::Decision;
use uuid::Uuid;

/// The namespace of decision uuids (a v5 uuid of `palisade.decision` in the OID namespace).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, b"palisade.decision")
}

/// Fills a decision's missing `until` (`stop_at + duration`, `now` when `stop_at` does not
/// parse; a duration that does not parse counts as zero) and missing `uuid` (see
/// [`decision_uuid`]).
pub fn complete_decision(d: &mut Decision, stop_at: &str, now: DateTime<Utc>) {
    if d.until.is_none() {
        let start = parse_rfc3339(stop_at).unwrap_or(now);
        let length = parse_duration(&d.duration)
            .ok()
            .and_then(|d| TimeDelta::from_std(d).ok())
            .unwrap_or_default();
        d.until = Some(
            start
                .checked_add_signed(length)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        );
    }
    if d.uuid.as_deref().is_none_or(str::is_empty) {
        d.uuid = Some(decision_uuid(
            &d.scenario,
            &d.scope,
            &d.value,
            &d.kind,
            stop_at,
        ));
    }
}

/// The deterministic uuid of a decision: UUID v5 over (scenario, scope, value, type, stop_at),
/// `stop_at` read as a time when it parses so that `+00:00` and `Z` give the same uuid.
pub fn decision_uuid(
    scenario: &str,
    scope: &str,
    value: &str,
    kind: &str,
    stop_at: &str,
) -> String {
    let stop_at =
        parse_rfc3339(stop_at).map_or_else(|| stop_at.to_string(), |t| format_rfc3339_nano(&t));
    let name = [scenario, scope, value, kind, &stop_at].join("\u{0}");
    Uuid::new_v5(&namespace(), name.as_bytes()).to_string()
}

/// A deterministic uuid for an alert that arrives without one (v5 of scenario, source, start,
/// stop and event count), so that an alert delivered twice is stored once.
pub fn alert_uuid(alert: &palisade_schemas::Alert) -> String {
    let name = [
        alert.scenario.as_str(),
        alert.source.scope.as_str(),
        alert.source.value.as_str(),
        alert.start_at.as_str(),
        alert.stop_at.as_str(),
        &alert.events_count.to_string(),
    ]
    .join("\u{0}");
    Uuid::new_v5(&namespace(), name.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn decision(duration: &str) -> Decision {
        Decision {
            duration: duration.into(),
            id: 0,
            origin: "cscli".into(),
            scenario: "manual 'ban' from 'localhost'".into(),
            scope: "Range".into(),
            simulated: None,
            kind: "ban".into(),
            until: None,
            uuid: None,
            value: "5.6.7.0/24".into(),
        }
    }

    #[test]
    fn until_counts_from_stop_at_or_now() {
        let stop = "2026-02-12T14:10:24.5Z";
        let mut d = decision("1d");
        complete_decision(&mut d, stop, now());
        assert_eq!(
            d.until,
            Some(parse_rfc3339(stop).unwrap() + TimeDelta::days(1))
        );
        assert_eq!(
            d.uuid.as_deref(),
            Some(decision_uuid(&d.scenario, "Range", "5.6.7.0/24", "ban", stop).as_str())
        );
        let mut d = decision("4h");
        complete_decision(&mut d, "yesterday", now());
        assert_eq!(d.until, Some(now() + TimeDelta::hours(4)));
        let mut pinned = Decision {
            until: Some(now()),
            uuid: Some("kept".into()),
            ..decision("4h")
        };
        complete_decision(&mut pinned, stop, now());
        assert_eq!(
            (pinned.until, pinned.uuid.as_deref()),
            (Some(now()), Some("kept"))
        );
    }

    #[test]
    fn decision_uuids_are_deterministic_v5() {
        let a = decision_uuid("s", "Ip", "1.2.3.4", "ban", "2026-02-12T15:10:24+01:00");
        assert_eq!(
            a,
            decision_uuid("s", "Ip", "1.2.3.4", "ban", "2026-02-12T14:10:24Z")
        );
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 5);
        assert_ne!(
            a,
            decision_uuid("s", "Ip", "1.2.3.4", "ban", "2026-02-12T14:20:00Z")
        );
    }
}
