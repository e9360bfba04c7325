//! CrowdSec profiles (`profiles.yaml`): which alerts become which decisions, and which
//! notifications hear about them.
//!
//! * [`spec`]: one document as written ([`ProfileSpec`]), strict keys.
//! * [`compile`]: loading a multi-document file into [`Profiles`], every problem reported with
//!   file, line, column, field and profile name; [`Profiles::default_profiles`] is the file
//!   CrowdSec ships (`default.yaml` beside this file: remediation alerts on an `Ip` or a `Range`
//!   get a 4h `ban`).
//! * [`expr`]: filters and `duration_expr` over `Alert`, with the decision-store helpers
//!   (`GetDecisionsCount`, ...) read through [`DecisionHistory`].
//! * [`eval`]: [`Profiles::apply`], CrowdSec's Local API loop (`CreateAlert` +
//!   `csprofiles.EvaluateProfile`), and simulation mode ([`Simulation`]).
//! * [`section`]: the `profiles:` configuration section ([`ProfilesSpec`] → [`ProfilesConfig`]).

pub mod compile;
pub mod eval;
pub mod expr;
pub mod section;
pub mod spec;
#[cfg(test)]
mod tests;

pub use eval::{Applied, ProfileError};
pub use expr::{DecisionHistory, NoHistory, ProfileExpr};
pub use section::{ProfilesConfig, ProfilesSpec};
pub use spec::{DecisionSpec, ProfileSpec};

use palisade_runtime::config::ConfigError;
use std::collections::BTreeSet;
use std::time::Duration;

/// `on_success`: what a matching profile does to the profiles after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnSuccess {
    /// Evaluate the next profiles too (the default). Only the first matching profile with
    /// decisions gives the alert its decisions; later ones add their notifications.
    #[default]
    Continue,
    /// Stop here.
    Break,
}

/// `on_failure`: what a false filter does to the profile's later filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Go on with the next filter (the default).
    #[default]
    Continue,
    /// Stop evaluating this profile's filters (the next profiles are still evaluated).
    Break,
    /// Accepted by CrowdSec; behaves as `continue`.
    Apply,
}

/// `on_error`: what an evaluation error (a filter failing or not returning a boolean) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The profile counts as matched (without decisions: they were not made).
    Apply,
    /// Log and go on (the profile counts as matched only if a filter before the error did).
    Continue,
    /// Log and stop at this profile if a filter before the error matched; otherwise go on.
    Break,
    /// As `continue`.
    Ignore,
}

/// One decision a profile makes (`decisions[]`), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionTemplate {
    /// The decision type (`ban`).
    pub kind: String,
    /// The duration when there is no `duration_expr` or it fails (4h when not written).
    pub duration: Duration,
    /// The scope, normalised (`Range`), overriding the alert's source scope.
    pub scope: Option<String>,
    /// `crowdsec`, or `crowdsec/<origin>`.
    pub origin: String,
    /// Whether the decision is simulated whatever the alert says.
    pub simulated: bool,
}

/// A compiled profile.
#[derive(Debug)]
pub struct Profile {
    /// The profile's name.
    pub name: String,
    /// The filters, OR-ed.
    pub filters: Vec<ProfileExpr>,
    /// The decisions made for each filter that matches.
    pub decisions: Vec<DecisionTemplate>,
    /// The duration expression, if any.
    pub duration_expr: Option<ProfileExpr>,
    /// `on_success`.
    pub on_success: OnSuccess,
    /// `on_failure`.
    pub on_failure: OnFailure,
    /// `on_error`; `None` refuses the alert on an evaluation error.
    pub on_error: Option<OnError>,
    /// The notifications a matching alert is sent to.
    pub notifications: Vec<String>,
    /// Log every filter result at info level.
    pub debug: bool,
    /// Where each notification name is written, to report one that is not configured.
    pub(crate) notification_at: Vec<ConfigError>,
}

/// Simulation mode (CrowdSec's `simulation.yaml`): decisions made for a simulated alert are
/// stored with `simulated: true`, and bouncers are not given them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simulation {
    /// Every scenario is simulated.
    pub enabled: bool,
    /// Scenarios for which `enabled` is reversed: simulated when `enabled` is false, not
    /// simulated when it is true.
    pub exclusions: BTreeSet<String>,
}

impl Simulation {
    /// Whether alerts of `scenario` are simulated (CrowdSec's `SimulationConfig.IsSimulated`).
    pub fn is_simulated(&self, scenario: &str) -> bool {
        self.enabled != self.exclusions.contains(scenario)
    }
}

/// The profiles, in order, with the simulation mode.
#[derive(Debug)]
pub struct Profiles {
    profiles: Vec<Profile>,
    simulation: Simulation,
}

impl Profiles {
    /// Profiles from compiled parts (at least one profile is expected).
    pub fn new(profiles: Vec<Profile>) -> Profiles {
        Profiles {
            profiles,
            simulation: Simulation::default(),
        }
    }

    /// Sets the simulation mode.
    pub fn with_simulation(mut self, simulation: Simulation) -> Profiles {
        self.simulation = simulation;
        self
    }

    /// The profiles, in evaluation order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The simulation mode.
    pub fn simulation(&self) -> &Simulation {
        &self.simulation
    }

    /// Every notification name a profile uses.
    pub fn notification_names(&self) -> BTreeSet<&str> {
        self.profiles
            .iter()
            .flat_map(|p| p.notifications.iter().map(String::as_str))
            .collect()
    }
}
