//! Decisions in the JSON shape of CrowdSec's Local API (`models.Decision`). Fields are declared in
//! alphabetical order, which is the key order Go writes, so Palisade's JSON matches byte for byte.

use crate::duration::format_go_duration;
use crate::time::{format_rfc3339_nano, parse_rfc3339};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A remediation decision: ban, captcha, throttle... an address, a range, a country or an AS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Go duration text. When stored it is the full duration; bouncers are sent the time left.
    pub duration: String,
    /// The store's id (omitted when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: i64,
    /// Who made it: `crowdsec`, `cscli`, `CAPI`, `lists`, `palisade`, ...
    pub origin: String,
    /// The scenario (or list name) behind it.
    pub scenario: String,
    /// `Ip`, `Range`, `Country`, `AS`, or a custom scope.
    pub scope: String,
    /// Whether it was made in simulation mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<bool>,
    /// `ban`, `captcha`, `throttle`, or a custom type.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub until: Option<DateTime<Utc>>,
    /// A unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The banned value: an address, a CIDR, a country code...
    pub value: String,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

mod opt_time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_rfc3339_nano(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        match s.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => parse_rfc3339(s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid until {s:?}"))),
        }
    }
}

impl Decision {
    /// Whether the decision is still in force at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_some_and(|u| u > now)
    }

    /// The same decision as a bouncer sees it at `now`: `duration` is the time left, rounded to the
    /// second, and `until` and `simulated` are left out.
    pub fn for_bouncer(&self, now: DateTime<Utc>) -> Decision {
        let left = self
            .until
            .map(|u| u - now)
            .unwrap_or_else(chrono::TimeDelta::zero);
        let left = chrono::TimeDelta::seconds(left.num_seconds());
        Decision {
            duration: format_go_duration(left),
            until: None,
            simulated: None,
            ..self.clone()
        }
    }
}

/// Normalises a scope name as the Local API does: `ip` → `Ip`, `range` → `Range`,
/// `country` → `Country`, `as` → `AS`; anything else is kept verbatim.
pub fn normalize_scope(scope: &str) -> String {
    match scope.to_ascii_lowercase().as_str() {
        "ip" => "Ip".to_string(),
        "range" => "Range".to_string(),
        "country" => "Country".to_string(),
        "as" => "AS".to_string(),
        _ => scope.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn bouncer_json_matches_the_local_api_byte_for_byte() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let d = Decision {
            duration: "4h".into(),
            id: 1234,
            origin: "crowdsec".into(),
            scenario: "crowdsecurity/ssh-bf".into(),
            scope: "Ip".into(),
            simulated: Some(false),
            kind: "ban".into(),
            until: Some(now + chrono::TimeDelta::seconds(4 * 3600 - 2)),
            uuid: Some("5f2b6c1e-6a3f-4c8e-9a7d-1f0e2b3c4d5e".into()),
            value: "1.2.3.4".into(),
        };
        assert_eq!(
            serde_json::to_string(&d.for_bouncer(now)).unwrap(),
            r#"{"duration":"3h59m58s","id":1234,"origin":"crowdsec","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","uuid":"5f2b6c1e-6a3f-4c8e-9a7d-1f0e2b3c4d5e","value":"1.2.3.4"}"#
        );
        assert!(d.is_active(now));
        assert!(!d.is_active(now + chrono::TimeDelta::hours(5)));
        let back: Decision = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn expired_decisions_show_negative_durations() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let d = Decision {
            duration: "1m".into(),
            id: 0,
            origin: "cscli".into(),
            scenario: "manual".into(),
            scope: "Ip".into(),
            simulated: None,
            kind: "ban".into(),
            until: Some(now - chrono::TimeDelta::seconds(62)),
            uuid: None,
            value: "1.2.3.4".into(),
        };
        assert_eq!(d.for_bouncer(now).duration, "-1m2s");
    }

    #[test]
    fn scopes_are_normalised() {
        assert_eq!(normalize_scope("ip"), "Ip");
        assert_eq!(normalize_scope("RANGE"), "Range");
        assert_eq!(normalize_scope("as"), "AS");
        assert_eq!(normalize_scope("username"), "username");
    }
}

/// What happened to a decision, as published on the decision topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionAction {
    /// A new decision.
    Add,
    /// Deleted before its expiry (an operator, the API).
    Delete,
    /// Its time ran out.
    Expire,
}

/// One message of the decision topic (log-compacted, keyed by [`DecisionChange::key`]): the
/// newest message of a key is the state of that scope and value, so a new subscriber rebuilds
/// the active set from the topic alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionChange {
    /// What happened.
    pub action: DecisionAction,
    /// The decision.
    pub decision: Decision,
}

impl DecisionChange {
    /// The topic key: `scope:value` (`Ip:192.0.2.1`).
    pub fn key(&self) -> String {
        format!("{}:{}", self.decision.scope, self.decision.value)
    }

    /// Whether the decision is in force at `now` (added and not yet expired).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.action == DecisionAction::Add && self.decision.until.is_none_or(|u| u > now)
    }
}
