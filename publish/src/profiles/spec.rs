//! One document of a CrowdSec `profiles.yaml`, as written ([`ProfileSpec`]). Keys are strict
//! (CrowdSec decodes with yaml.v3 `KnownFields`): an unknown key is a load error.
//!
//! ```yaml
//! name: default_ip_remediation
//! debug: false
//! filters:
//!  - Alert.Remediation == true && Alert.GetScope() == "Ip"
//! decisions:
//!  - type: ban
//!    duration: 4h
//! duration_expr: Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)
//! notifications: [http_default]
//! on_success: break
//! on_failure: continue
//! on_error: continue
//! ```

use serde::{Deserialize, Deserializer};

/// Reads `key:` with no value (null) as the default, as Go's YAML decoder does.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// One profile as written in `profiles.yaml` (CrowdSec's `csconfig.ProfileCfg`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileSpec {
    /// The profile's name, for logs and error messages.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Log every filter result at info level.
    pub debug: Option<bool>,
    /// Expressions over `Alert`, OR-ed: each one that is true makes the decisions again.
    #[serde(deserialize_with = "nullable")]
    pub filters: Vec<String>,
    /// The decisions made when a filter matches.
    #[serde(deserialize_with = "nullable")]
    pub decisions: Vec<DecisionSpec>,
    /// An expression over `Alert` giving the decisions' duration as a Go duration string; when it
    /// fails or does not parse, the decision's own `duration` is used.
    #[serde(deserialize_with = "nullable")]
    pub duration_expr: String,
    /// `break` (stop at this profile when it matched) or `continue` (the default).
    #[serde(deserialize_with = "nullable")]
    pub on_success: String,
    /// `break` (a false filter stops evaluating this profile's later filters), `continue` or
    /// `apply` (both: go on with the next filter).
    #[serde(deserialize_with = "nullable")]
    pub on_failure: String,
    /// What an evaluation error does: `apply` (treat the profile as matched), `continue` and
    /// `ignore` (go on), `break` (stop if the profile had matched already). Unset: the alert is
    /// refused (CrowdSec's Local API answers 500 to the whole batch).
    #[serde(deserialize_with = "nullable")]
    pub on_error: String,
    /// The notifications (from the `profiles.notifications` configuration) the alert is sent to
    /// when the profile matches.
    #[serde(deserialize_with = "nullable")]
    pub notifications: Vec<String>,
}

/// A decision template of a profile (CrowdSec's `models.Decision` read from YAML). CrowdSec's
/// decoder accepts every field of `models.Decision`; profiles use `type`, `duration`, `scope`,
/// `origin` and `simulated`; `value`, `scenario`, `until`, `uuid` and `id` are accepted and
/// ignored, as in CrowdSec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionSpec {
    /// `ban`, `captcha`, ... (required).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Go duration syntax plus days (`4h`, `1d12h`); 4h when missing.
    pub duration: Option<String>,
    /// Overrides the alert's source scope (`Range` bans the source's range).
    pub scope: Option<String>,
    /// Makes the decisions' origin `crowdsec/<origin>`.
    pub origin: Option<String>,
    /// Makes the decisions simulated.
    pub simulated: Option<bool>,
    /// Ignored.
    pub value: Option<String>,
    /// Ignored.
    pub scenario: Option<String>,
    /// Ignored.
    pub until: Option<String>,
    /// Ignored.
    pub uuid: Option<String>,
    /// Ignored.
    pub id: Option<i64>,
}
