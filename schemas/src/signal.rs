//! Signals: what Palisade shares with the community reputation service. The shape follows
//! CrowdSec's `POST /v3/signals` body. Sharing is anonymised the way CrowdSec does it: the raw
//! log data (events, with user names, URLs and paths), labels and counts are left out, and the
//! alert context only goes out when the operator asks for it.

use crate::alert::{Alert, MetaItem, Source};
use crate::decision::Decision;
use serde::{Deserialize, Serialize};

/// One shared detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The scenario's name.
    pub scenario: String,
    /// SHA-256 of the scenario file.
    pub scenario_hash: String,
    /// The scenario's version.
    pub scenario_version: String,
    /// `certified`, `custom` (no hash), `tainted` (no version) or `manual`.
    pub scenario_trust: String,
    /// The alert message.
    pub message: String,
    /// The attacker.
    pub source: Source,
    /// First event time.
    pub start_at: String,
    /// Overflow time.
    pub stop_at: String,
    /// When the alert was stored.
    #[serde(default)]
    pub created_at: String,
    /// The sharing instance's pseudonymous id.
    pub machine_id: String,
    /// The alert's uuid.
    pub uuid: String,
    /// Who made the alert.
    pub kind: String,
    /// The decisions taken.
    #[serde(default)]
    pub decisions: Vec<Decision>,
    /// The alert context, only when context sharing is on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<MetaItem>,
}

impl Signal {
    /// Builds the signal for an alert. Returns `None` for simulated alerts, which are never shared.
    pub fn from_alert(alert: &Alert, machine_id: &str, share_context: bool) -> Option<Signal> {
        if alert.simulated {
            return None;
        }
        let decisions = alert.decisions.clone().unwrap_or_default();
        let scenario_trust = if decisions.first().is_some_and(|d| d.origin == "cscli") {
            "manual"
        } else if alert.scenario_hash.is_empty() {
            "custom"
        } else if alert.scenario_version.is_empty() || alert.scenario_version == "?" {
            "tainted"
        } else {
            "certified"
        };
        Some(Signal {
            scenario: alert.scenario.clone(),
            scenario_hash: alert.scenario_hash.clone(),
            scenario_version: alert.scenario_version.clone(),
            scenario_trust: scenario_trust.to_string(),
            message: alert.message.clone(),
            source: alert.source.clone(),
            start_at: alert.start_at.clone(),
            stop_at: alert.stop_at.clone(),
            created_at: alert.created_at.clone(),
            machine_id: machine_id.to_string(),
            uuid: alert.uuid.clone(),
            kind: alert.kind.clone(),
            decisions,
            context: if share_context {
                alert.meta.clone()
            } else {
                Vec::new()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertEvent;

    fn alert() -> Alert {
        Alert {
            scenario: "palisade/ssh-bf".into(),
            scenario_hash: "h".into(),
            scenario_version: "1.0".into(),
            source: Source {
                scope: "Ip".into(),
                value: "1.2.3.4".into(),
                ip: "1.2.3.4".into(),
                ..Source::default()
            },
            events: vec![AlertEvent {
                meta: vec![MetaItem {
                    key: "target_user".into(),
                    value: "alice".into(),
                }],
                timestamp: "t".into(),
            }],
            meta: vec![MetaItem {
                key: "target_user".into(),
                value: "[\"alice\"]".into(),
            }],
            labels: Some(vec!["ssh".into()]),
            uuid: "u".into(),
            ..Alert::default()
        }
    }

    #[test]
    fn leaves_out_raw_log_data() {
        let s = Signal::from_alert(&alert(), "m", false).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            !json.contains("alice"),
            "user names must not be shared: {json}"
        );
        assert_eq!(s.scenario_trust, "certified");
        let back: Signal = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn shares_context_only_when_asked_and_never_simulations() {
        let s = Signal::from_alert(&alert(), "m", true).unwrap();
        assert_eq!(s.context.len(), 1);
        let mut a = alert();
        a.simulated = true;
        assert!(Signal::from_alert(&a, "m", true).is_none());
        a.simulated = false;
        a.scenario_hash.clear();
        assert_eq!(
            Signal::from_alert(&a, "m", false).unwrap().scenario_trust,
            "custom"
        );
    }
}
