//! Alerts in the JSON shape of CrowdSec's Local API (`models.Alert`), as agents POST them to
//! `/v1/alerts` and as `GET /v1/alerts` returns them.

use crate::decision::Decision;
use serde::{Deserialize, Serialize};

/// One key/value pair of an event's or an alert's `meta` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaItem {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// One event kept in an alert: its Meta as a list sorted by key, and its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The event's Meta map as a key/value list, sorted by key.
    pub meta: Vec<MetaItem>,
    /// `evt.MarshaledTime`.
    pub timestamp: String,
}

impl AlertEvent {
    /// Builds the alert event from an event's Meta map, sorting keys as CrowdSec does.
    pub fn from_meta<'a>(
        meta: impl IntoIterator<Item = (&'a String, &'a String)>,
        timestamp: String,
    ) -> Self {
        let mut meta: Vec<MetaItem> = meta
            .into_iter()
            .map(|(k, v)| MetaItem {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        meta.sort_by(|a, b| a.key.cmp(&b.key));
        AlertEvent { meta, timestamp }
    }
}

/// The attacker an alert is about (`models.Source`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Autonomous system name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub as_name: String,
    /// Autonomous system number, as a string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub as_number: String,
    /// Country code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cn: String,
    /// The address, for Ip scope.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// Latitude.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latitude: f32,
    /// Longitude.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub longitude: f32,
    /// The network range the address belongs to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub range: String,
    /// `Ip`, `Range`, `Country`, `AS`, or a custom scope.
    pub scope: String,
    /// The value in that scope.
    pub value: String,
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// An alert: a scenario fired for a source (`models.Alert`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The scenario's capacity.
    #[serde(default)]
    pub capacity: i32,
    /// When the Local API stored it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    /// The decisions taken (null when an agent posts it).
    #[serde(default)]
    pub decisions: Option<Vec<Decision>>,
    /// The last events kept by the bucket, oldest first.
    #[serde(default)]
    pub events: Vec<AlertEvent>,
    /// How many events were poured in all.
    #[serde(default)]
    pub events_count: i32,
    /// The store's id (0 until stored).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub id: i64,
    /// The scenario's labels.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// The scenario's leak speed, as written in it.
    #[serde(default)]
    pub leakspeed: String,
    /// The agent that sent it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub machine_id: String,
    /// `"<Scope> <value> performed '<scenario>' (<n> events over <d>) at <time>"`.
    #[serde(default)]
    pub message: String,
    /// The alert context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta: Vec<MetaItem>,
    /// Whether the scenario asks for remediation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub remediation: bool,
    /// The scenario's name.
    #[serde(default)]
    pub scenario: String,
    /// SHA-256 of the scenario file.
    #[serde(default)]
    pub scenario_hash: String,
    /// The scenario's version.
    #[serde(default)]
    pub scenario_version: String,
    /// Whether the scenario runs in simulation mode.
    #[serde(default)]
    pub simulated: bool,
    /// The attacker.
    #[serde(default)]
    pub source: Source,
    /// First event time (RFC 3339).
    #[serde(default)]
    pub start_at: String,
    /// Overflow event time (RFC 3339).
    #[serde(default)]
    pub stop_at: String,
    /// A unique id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uuid: String,
    /// Who made it: `crowdsec`, `cscli`, `capi`, `palisade-sql`, ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

impl Alert {
    /// `Alert.GetScope()` in profile expressions.
    pub fn scope(&self) -> &str {
        &self.source.scope
    }

    /// `Alert.GetValue()` in profile expressions.
    pub fn value(&self) -> &str {
        &self.source.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT_ALERT: &str = r#"{
      "capacity": 5, "decisions": null,
      "events": [{"meta": [{"key":"service","value":"ssh"},{"key":"source_ip","value":"1.2.3.4"}],
                  "timestamp": "2026-02-12T14:10:21Z"}],
      "events_count": 6, "kind": "crowdsec", "labels": null, "leakspeed": "10s",
      "message": "Ip 1.2.3.4 performed 'crowdsecurity/ssh-bf' (6 events over 3.5s) at 2026-02-12 14:10:24 +0000 UTC",
      "meta": [{"key":"target_user","value":"[\"root\"]"}], "remediation": true,
      "scenario": "crowdsecurity/ssh-bf", "scenario_hash": "abc", "scenario_version": "0.3", "simulated": false,
      "source": {"as_name":"OVH SAS","as_number":"16276","cn":"FR","ip":"1.2.3.4","latitude":50.6,"longitude":3.07,
                 "range":"1.2.0.0/16","scope":"Ip","value":"1.2.3.4"},
      "start_at": "2026-02-12T14:10:21Z", "stop_at": "2026-02-12T14:10:24.5Z"}"#;

    #[test]
    fn reads_what_a_crowdsec_agent_posts_and_writes_it_back() {
        let a: Alert = serde_json::from_str(AGENT_ALERT).unwrap();
        assert_eq!(a.scope(), "Ip");
        assert_eq!(a.value(), "1.2.3.4");
        assert_eq!(a.events[0].meta[1].value, "1.2.3.4");
        assert!(a.decisions.is_none());
        let out: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        let input: serde_json::Value = serde_json::from_str(AGENT_ALERT).unwrap();
        assert_eq!(
            out, input,
            "every field survives a round trip with the same JSON"
        );
    }

    #[test]
    fn alert_events_sort_meta_by_key() {
        let mut m = std::collections::HashMap::new();
        m.insert("z".to_string(), "1".to_string());
        m.insert("a".to_string(), "2".to_string());
        let e = AlertEvent::from_meta(&m, "t".into());
        assert_eq!(e.meta[0].key, "a");
        assert_eq!(e.meta[1].key, "z");
    }
}
