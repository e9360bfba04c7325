//! Turning an alert into decisions: the profile every CrowdSec install ships, until
//! `profiles.yaml` is supported.
//!
//! ```yaml
//! filters: [Alert.Remediation == true && Alert.GetScope() in ["Ip", "Range"]]
//! decisions: [{type: ban, duration: 4h}]
//! ```
//!
//! The rules (crowdsec-engine spec §7):
//! * the alert's scope is normalised (`ip` → `Ip`);
//! * an alert that already carries decisions (`cscli decisions add`) keeps them; only their scope
//!   is normalised and a missing `uuid` or `until` is filled as below;
//! * otherwise a remediation alert on an `Ip` or `Range` gets one decision: type `ban`, duration
//!   4h, origin `crowdsec`, the alert's scenario, scope, value and simulation flag;
//! * `until = stop_at + duration` (the time of the overflow, so a replay of old logs makes
//!   decisions that may already be expired); `now` if `stop_at` does not parse;
//! * the uuid is a UUID v5 of (scenario, scope, value, type, stop_at): a replayed alert makes the
//!   same decision again, which the store recognises and does not insert twice;
//! * any other alert gets no decision, and is still stored.

use chrono::{DateTime, TimeDelta, Utc};
use palisade_runtime::config::parse_duration;
use palisade_schemas::duration::format_go_duration;
use palisade_schemas::time::{format_rfc3339_nano, parse_rfc3339};
use palisade_schemas::{normalize_scope, Alert, Decision};
use std::time::Duration;
use uuid::Uuid;

/// The namespace of decision uuids (a v5 uuid of `palisade.decision` in the OID namespace).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, b"palisade.decision")
}

/// The default profile: `ban` remediation alerts on an `Ip` or `Range` for 4h.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultProfile {
    /// The decision type (`ban`).
    pub kind: String,
    /// How long the decision lasts (4h).
    pub duration: Duration,
    /// The decisions' origin (`crowdsec`, what CrowdSec's Local API writes for agent alerts).
    pub origin: String,
}

impl Default for DefaultProfile {
    fn default() -> Self {
        DefaultProfile {
            kind: "ban".into(),
            duration: Duration::from_secs(4 * 3600),
            origin: "crowdsec".into(),
        }
    }
}

impl DefaultProfile {
    /// Normalises the alert's scopes and sets its decisions (to an empty list when none apply).
    pub fn apply(&self, alert: &mut Alert, now: DateTime<Utc>) {
        alert.source.scope = normalize_scope(&alert.source.scope);
        let decisions = match alert.decisions.take() {
            Some(mut preset) if !preset.is_empty() => {
                for d in &mut preset {
                    d.scope = normalize_scope(&d.scope);
                    complete_decision(d, &alert.stop_at, now);
                }
                preset
            }
            _ => self.decide(alert, now).into_iter().collect(),
        };
        alert.decisions = Some(decisions);
    }

    /// The decision this profile makes for an alert without decisions, if any.
    pub fn decide(&self, alert: &Alert, now: DateTime<Utc>) -> Option<Decision> {
        let scope = normalize_scope(&alert.source.scope);
        if !alert.remediation || !matches!(scope.as_str(), "Ip" | "Range") {
            return None;
        }
        let duration = TimeDelta::from_std(self.duration).unwrap_or(TimeDelta::MAX);
        let mut d = Decision {
            duration: format_go_duration(duration),
            id: 0,
            origin: self.origin.clone(),
            scenario: alert.scenario.clone(),
            scope,
            simulated: Some(alert.simulated),
            kind: self.kind.clone(),
            until: None,
            uuid: None,
            value: alert.source.value.clone(),
        };
        complete_decision(&mut d, &alert.stop_at, now);
        Some(d)
    }
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
    use palisade_schemas::Source;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn alert(scope: &str, remediation: bool) -> Alert {
        Alert {
            scenario: "crowdsecurity/ssh-bf".into(),
            remediation,
            source: Source {
                scope: scope.into(),
                value: "1.2.3.4".into(),
                ..Source::default()
            },
            stop_at: "2026-02-12T14:10:24.5Z".into(),
            ..Alert::default()
        }
    }

    #[test]
    fn remediation_alerts_on_an_ip_get_a_4h_ban_from_stop_at() {
        let mut a = alert("ip", true);
        DefaultProfile::default().apply(&mut a, now());
        assert_eq!(a.source.scope, "Ip", "the alert's scope is normalised");
        let d = &a.decisions.as_ref().unwrap()[0];
        assert_eq!(a.decisions.as_ref().unwrap().len(), 1);
        assert_eq!(
            (d.kind.as_str(), d.duration.as_str(), d.origin.as_str()),
            ("ban", "4h0m0s", "crowdsec")
        );
        assert_eq!((d.scope.as_str(), d.value.as_str()), ("Ip", "1.2.3.4"));
        assert_eq!(d.scenario, "crowdsecurity/ssh-bf");
        assert_eq!(d.simulated, Some(false));
        let stop = parse_rfc3339("2026-02-12T14:10:24.5Z").unwrap();
        assert_eq!(
            d.until,
            Some(stop + TimeDelta::hours(4)),
            "until counts from the overflow, not from now"
        );
        assert!(
            !d.is_active(now()),
            "a replay of old logs makes an already expired decision"
        );
    }

    #[test]
    fn ranges_are_banned_too_and_the_profile_is_configurable() {
        let profile = DefaultProfile {
            kind: "captcha".into(),
            duration: Duration::from_secs(60),
            origin: "palisade".into(),
        };
        let mut a = alert("Range", true);
        a.source.value = "1.2.3.0/24".into();
        a.simulated = true;
        profile.apply(&mut a, now());
        let d = &a.decisions.unwrap()[0];
        assert_eq!(
            (d.kind.as_str(), d.duration.as_str(), d.origin.as_str()),
            ("captcha", "1m0s", "palisade")
        );
        assert_eq!(
            (d.scope.as_str(), d.value.as_str()),
            ("Range", "1.2.3.0/24")
        );
        assert_eq!(
            d.simulated,
            Some(true),
            "simulated alerts make simulated decisions"
        );
    }

    #[test]
    fn no_decision_without_remediation_or_on_other_scopes() {
        let p = DefaultProfile::default();
        for mut a in [
            alert("Ip", false),
            alert("Country", true),
            alert("username", true),
        ] {
            p.apply(&mut a, now());
            assert_eq!(a.decisions, Some(vec![]), "{}", a.source.scope);
        }
    }

    #[test]
    fn until_falls_back_to_now_when_stop_at_does_not_parse() {
        let mut a = alert("Ip", true);
        a.stop_at = "yesterday".into();
        let d = DefaultProfile::default().decide(&a, now()).unwrap();
        assert_eq!(d.until, Some(now() + TimeDelta::hours(4)));
    }

    #[test]
    fn decision_uuids_are_deterministic() {
        let p = DefaultProfile::default();
        let a = alert("Ip", true);
        let first = p.decide(&a, now()).unwrap().uuid.unwrap();
        let replay = p
            .decide(&a, now() + TimeDelta::days(1))
            .unwrap()
            .uuid
            .unwrap();
        assert_eq!(first, replay, "a replayed alert makes the same decision");
        assert_eq!(Uuid::parse_str(&first).unwrap().get_version_num(), 5);
        let mut later = a.clone();
        later.stop_at = "2026-02-12T14:20:00Z".into();
        assert_ne!(
            p.decide(&later, now()).unwrap().uuid.unwrap(),
            first,
            "a new overflow is a new decision"
        );
        assert_eq!(
            decision_uuid("s", "Ip", "1.2.3.4", "ban", "2026-02-12T15:10:24+01:00"),
            decision_uuid("s", "Ip", "1.2.3.4", "ban", "2026-02-12T14:10:24Z"),
        );
    }

    #[test]
    fn preset_decisions_are_kept_and_completed() {
        let mut a = alert("Ip", false);
        let manual = Decision {
            duration: "1d".into(),
            id: 0,
            origin: "cscli".into(),
            scenario: "manual 'ban' from 'localhost'".into(),
            scope: "range".into(),
            simulated: None,
            kind: "ban".into(),
            until: None,
            uuid: None,
            value: "5.6.7.0/24".into(),
        };
        let pinned = Decision {
            until: Some(now()),
            uuid: Some("kept".into()),
            ..manual.clone()
        };
        a.decisions = Some(vec![manual, pinned]);
        DefaultProfile::default().apply(&mut a, now());
        let ds = a.decisions.unwrap();
        assert_eq!(ds.len(), 2, "no profile decision is added");
        assert_eq!(ds[0].scope, "Range");
        assert_eq!(ds[0].origin, "cscli");
        let stop = parse_rfc3339(&a.stop_at).unwrap();
        assert_eq!(ds[0].until, Some(stop + TimeDelta::days(1)));
        assert_eq!(
            ds[0].uuid.as_deref(),
            Some(decision_uuid(&ds[0].scenario, "Range", "5.6.7.0/24", "ban", &a.stop_at).as_str())
        );
        assert_eq!(
            (ds[1].until, ds[1].uuid.as_deref()),
            (Some(now()), Some("kept"))
        );
    }
}
