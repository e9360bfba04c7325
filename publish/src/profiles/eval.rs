//! Evaluating the profiles for one alert, as CrowdSec's Local API does (`CreateAlert` with
//! `csprofiles.EvaluateProfile` and `GenerateDecisionFromProfile`):
//!
//! 1. The source scope is normalised (`ip` → `Ip`).
//! 2. An alert that already carries decisions (`cscli decisions add`) keeps them (scopes
//!    normalised, `until` and `uuid` completed); profiles are evaluated only to pick its
//!    notifications: a profile whose evaluation fails is skipped, a matching one adds its
//!    notifications, and `on_success: break` stops.
//! 3. Otherwise, when simulation mode says the scenario is simulated, the alert is marked
//!    simulated. Profiles are evaluated in order. In a profile, every filter is run in turn
//!    (filters are OR-ed) and **each** true filter makes the profile's decisions again; a false
//!    one with `on_failure: break` stops the profile's later filters. A filter that fails or does
//!    not return a boolean ends the profile's evaluation with an error and no decisions, handled
//!    by `on_error` (see [`super::OnError`]); without `on_error` the alert is refused
//!    ([`ProfileError`]: CrowdSec answers 500 to the batch).
//! 4. The first matching profile that made decisions gives them to the alert; later matching
//!    profiles only add notifications. `on_success: break` stops after a match.
//! 5. A decision has the profile's type; the scope of the profile (normalised) or else the
//!    alert's; the value of the alert's source, or the source's `range` when the profile turns an
//!    alert of another scope into a `Range` decision (no range: no decision, logged, as CrowdSec
//!    up to 1.5 did; later versions store the address as a one-address range); origin
//!    `crowdsec` (or `crowdsec/<origin>`); the alert's scenario; simulated when the profile's
//!    decision or the alert is; the `duration_expr` result when it evaluates to a duration, else
//!    the profile duration. `Ip`/`Range` decisions whose value is not an address or a network
//!    are dropped (logged), as CrowdSec's database layer does.
//! 6. `until = stop_at + duration` and a deterministic uuid ([`crate::profile::complete_decision`]).
//!    Identical decisions (two true filters, or a redelivered alert) share their uuid, so the
//!    store keeps one, where CrowdSec would store duplicates.
//!
//! The alert is stored even when no profile matched, with no decisions.

use super::expr::DecisionHistory;
use super::{OnError, OnFailure, OnSuccess, Profile, Profiles};
use crate::net::Net;
use crate::profile::complete_decision;
use chrono::{DateTime, TimeDelta, Utc};
use palisade_runtime::config::parse_duration;
use palisade_schemas::duration::format_go_duration;
use palisade_schemas::{normalize_scope, Alert, Decision};

/// What the profiles did to an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The names of the profiles that matched, in order.
    pub matched: Vec<String>,
    /// The notifications to send the alert to once stored: each matching profile's list, in
    /// order (a name two matching profiles list is sent twice, as in CrowdSec).
    pub notifications: Vec<String>,
}

/// An evaluation error in a profile without `on_error`: the alert is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile {profile}: {message}")]
pub struct ProfileError {
    /// The profile's name.
    pub profile: String,
    /// What failed.
    pub message: String,
}

/// One profile's verdict (CrowdSec's `EvaluateProfile` results).
#[derive(Debug, Default)]
struct Evaluation {
    decisions: Vec<Decision>,
    matched: bool,
    error: Option<String>,
}

impl Profiles {
    /// Applies the profiles to `alert`: normalises its scope, sets its decisions (an empty list
    /// when none apply) and tells which notifications it goes to. `now` is the stage's time
    /// (for `until` when `stop_at` does not parse, and for the decision-store helpers, which
    /// read `history`).
    pub fn apply(
        &self,
        alert: &mut Alert,
        now: DateTime<Utc>,
        history: &dyn DecisionHistory,
    ) -> Result<Applied, ProfileError> {
        alert.source.scope = normalize_scope(&alert.source.scope);
        let mut applied = Applied::default();
        if let Some(mut preset) = alert.decisions.take().filter(|d| !d.is_empty()) {
            for d in &mut preset {
                d.scope = normalize_scope(&d.scope);
                complete_decision(d, &alert.stop_at, now);
            }
            alert.decisions = Some(preset);
            for p in &self.profiles {
                let ev = p.evaluate(alert, history, now);
                if let Some(e) = ev.error {
                    tracing::warn!(profile = %p.name, error = %e, "Profile evaluation failed; skipping it.");
                    continue;
                }
                if !ev.matched {
                    continue;
                }
                applied.add(p);
                if p.on_success == OnSuccess::Break {
                    break;
                }
            }
            return Ok(applied);
        }

        if self.simulation.is_simulated(&alert.scenario) {
            alert.simulated = true;
        }
        let mut decisions: Vec<Decision> = Vec::new();
        for p in &self.profiles {
            let ev = p.evaluate(alert, history, now);
            let mut matched = ev.matched;
            let mut force_break = false;
            if let Some(e) = ev.error {
                match p.on_error {
                    Some(OnError::Apply) => {
                        tracing::warn!(profile = %p.name, error = %e, "Applying the profile despite an error.");
                        matched = true;
                    }
                    Some(OnError::Continue) => {
                        tracing::warn!(profile = %p.name, error = %e, "Skipping the profile after an error.");
                    }
                    Some(OnError::Ignore) => {
                        tracing::warn!(profile = %p.name, error = %e, "Ignoring a profile error.");
                    }
                    Some(OnError::Break) => force_break = true,
                    None => {
                        return Err(ProfileError {
                            profile: p.name.clone(),
                            message: e,
                        })
                    }
                }
            }
            // As in CrowdSec, `on_error: break` only stops when the profile had matched.
            if !matched {
                continue;
            }
            if decisions.is_empty() {
                decisions = ev.decisions;
            }
            applied.add(p);
            if p.on_success == OnSuccess::Break || force_break {
                break;
            }
        }
        for d in &mut decisions {
            complete_decision(d, &alert.stop_at, now);
        }
        alert.decisions = Some(decisions);
        Ok(applied)
    }
}

impl Applied {
    fn add(&mut self, p: &Profile) {
        self.matched.push(p.name.clone());
        self.notifications.extend(p.notifications.iter().cloned());
    }
}

impl Profile {
    /// Runs the filters (CrowdSec's `EvaluateProfile`).
    fn evaluate(
        &self,
        alert: &Alert,
        history: &dyn DecisionHistory,
        now: DateTime<Utc>,
    ) -> Evaluation {
        let mut ev = Evaluation::default();
        for f in &self.filters {
            let result = f.eval_bool(alert, history, now);
            if self.debug {
                tracing::info!(profile = %self.name, filter = f.source(), result = ?result, "Profile filter evaluated.");
            }
            match result {
                Err(e) => {
                    return Evaluation {
                        decisions: Vec::new(),
                        matched: ev.matched,
                        error: Some(e),
                    }
                }
                Ok(true) => {
                    ev.matched = true;
                    ev.decisions.extend(self.decide(alert, history, now));
                }
                Ok(false) => {
                    if self.on_failure == OnFailure::Break {
                        break;
                    }
                }
            }
        }
        ev
    }

    /// The decisions for a matching alert (CrowdSec's `GenerateDecisionFromProfile`), without
    /// `until` and `uuid`.
    fn decide(
        &self,
        alert: &Alert,
        history: &dyn DecisionHistory,
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        let mut out = Vec::with_capacity(self.decisions.len());
        for t in &self.decisions {
            let mut duration = t.duration;
            if let Some(expr) = &self.duration_expr {
                match expr.eval_text(alert, history, now) {
                    Ok(text) if text.trim().is_empty() => tracing::warn!(profile = %self.name,
                        "The duration_expr gave an empty duration; using the profile duration."),
                    Ok(text) => match parse_duration(&text) {
                        Ok(d) => duration = d,
                        Err(e) => tracing::warn!(profile = %self.name, result = %text, error = %e,
                            "The duration_expr result is not a duration; using the profile duration."),
                    },
                    Err(e) => tracing::warn!(profile = %self.name, error = %e,
                        "The duration_expr failed; using the profile duration."),
                }
            }
            let scope = t
                .scope
                .clone()
                .unwrap_or_else(|| alert.source.scope.clone());
            let value = if scope == "Range" && alert.source.scope != "Range" {
                if alert.source.range.is_empty() {
                    tracing::warn!(profile = %self.name, scenario = %alert.scenario, value = %alert.source.value,
                        "The profile makes a Range decision but the alert's source has no range; no decision.");
                    continue;
                }
                alert.source.range.clone()
            } else {
                alert.source.value.clone()
            };
            if matches!(scope.as_str(), "Ip" | "Range") && Net::parse(&value).is_none() {
                tracing::warn!(profile = %self.name, %scope, %value, "Invalid address or range; no decision.");
                continue;
            }
            out.push(Decision {
                duration: format_go_duration(
                    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX),
                ),
                id: 0,
                origin: t.origin.clone(),
                scenario: alert.scenario.clone(),
                scope,
                simulated: Some(t.simulated || alert.simulated),
                kind: t.kind.clone(),
                until: None,
                uuid: None,
                value,
            });
        }
        out
    }
}
