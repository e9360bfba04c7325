//! The `profiles:` configuration section: which profiles file, simulation mode and the
//! notifications profiles can name. [`ProfilesSpec`] is what the YAML says; [`ProfilesConfig`]
//! is the checked result.
//!
//! ```yaml
//! profiles:
//!   path: /etc/crowdsec/profiles.yaml   # default: CrowdSec's shipped profiles, built in
//!   simulation: false                   # simulate every scenario
//!   simulation_exclusions: []           # scenarios for which `simulation` is reversed
//!   notifications:                      # see palisade_publish::notify::spec
//!     - {name: http_default, type: webhook, url: "http://127.0.0.1:8080/alerts"}
//! ```
//!
//! As in CrowdSec, a `<path>.local` file beside the profiles file, if present, is read first
//! (its profiles come before the file's). A relative path is relative to the working directory.
//! Every notification a profile names must be configured here.

use super::compile::{DEFAULT_PROFILES, DEFAULT_PROFILES_FILE};
use super::{Profiles, Simulation};
use crate::notify::{NotificationConfig, NotificationSpec};
use palisade_runtime::config::{join_index, join_key, ConfigError, YamlDoc};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The `profiles:` section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfilesSpec {
    /// The CrowdSec `profiles.yaml`; the built-in default profiles when missing.
    pub path: Option<PathBuf>,
    /// Simulation mode for every scenario.
    pub simulation: bool,
    /// Scenarios for which `simulation` is reversed (CrowdSec's `simulation.yaml` exclusions).
    pub simulation_exclusions: Vec<String>,
    /// The notifications.
    pub notifications: Vec<NotificationSpec>,
}

/// The checked `profiles:` section.
#[derive(Debug)]
pub struct ProfilesConfig {
    /// The profiles, with the simulation mode.
    pub profiles: Profiles,
    /// The notifications, for [`crate::Notifier::new`].
    pub notifications: Vec<NotificationConfig>,
}

impl Default for ProfilesConfig {
    /// CrowdSec's default profiles, no notification.
    fn default() -> Self {
        ProfilesConfig {
            profiles: Profiles::default_profiles(),
            notifications: Vec::new(),
        }
    }
}

impl ProfilesSpec {
    /// Checks the section found at `path` in `doc`, reading the profiles file, and pushes every
    /// problem into `errors` (those of the profiles file name that file).
    pub fn compile(
        self,
        doc: &YamlDoc,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ProfilesConfig> {
        self.compile_with_default(doc, path, None, errors)
    }

    /// Like [`ProfilesSpec::compile`], with `default` (file name, text) used when no `path` is
    /// set, instead of CrowdSec's default profiles.
    pub fn compile_with_default(
        self,
        doc: &YamlDoc,
        path: &str,
        default: Option<(&str, &str)>,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ProfilesConfig> {
        let before = errors.len();
        let mut names = BTreeSet::new();
        let mut notifications = Vec::new();
        for (i, n) in self.notifications.into_iter().enumerate() {
            let at = join_index(&join_key(path, "notifications"), i);
            if !n.name.is_empty() && !names.insert(n.name.clone()) {
                errors.push(doc.error(
                    &join_key(&at, "name"),
                    format!("notification {:?} is defined twice", n.name),
                ));
                continue;
            }
            notifications.extend(n.compile(doc, &at, errors));
        }

        let loaded = match &self.path {
            None => {
                let (file, text) = default.unwrap_or((DEFAULT_PROFILES_FILE, DEFAULT_PROFILES));
                Profiles::load(file, text)
            }
            Some(file) => match read_profiles(file) {
                Ok(files) => {
                    let refs: Vec<(&str, &str)> = files
                        .iter()
                        .map(|(f, t)| (f.as_str(), t.as_str()))
                        .collect();
                    Profiles::load_all(&refs)
                }
                Err(e) => Err(vec![doc.error(&join_key(path, "path"), e)]),
            },
        };
        let profiles = match loaded {
            Ok(p) => Some(p),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        for p in profiles.iter().flat_map(Profiles::profiles) {
            for (name, at) in p.notifications.iter().zip(&p.notification_at) {
                if !names.contains(name) {
                    errors.push(ConfigError {
                        message: format!(
                            "profile {}: notification {name:?} is not configured in {}",
                            p.name,
                            join_key(path, "notifications")
                        ),
                        ..at.clone()
                    });
                }
            }
        }
        if errors.len() > before {
            return None;
        }
        let simulation = Simulation {
            enabled: self.simulation,
            exclusions: self.simulation_exclusions.into_iter().collect(),
        };
        Some(ProfilesConfig {
            profiles: profiles?.with_simulation(simulation),
            notifications,
        })
    }
}

/// The `.local` file (if any) then the file, as (name, text).
fn read_profiles(file: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut local = file.as_os_str().to_owned();
    local.push(".local");
    let local = PathBuf::from(local);
    match std::fs::read_to_string(&local) {
        Ok(text) => out.push((local.display().to_string(), text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", local.display())),
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    out.push((file.display().to_string(), text));
    Ok(out)
}
