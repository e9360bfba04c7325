//! The notifications of the `profiles:` section, as written ([`NotificationSpec`]) and checked
//! ([`NotificationConfig`]). CrowdSec's notification plugin configuration, with the plugin
//! binaries replaced by two built-in kinds:
//!
//! ```yaml
//! profiles:
//!   notifications:
//!     - name: http_default          # what profiles name in `notifications:`
//!       type: webhook               # or `http` (CrowdSec's name)
//!       url: http://127.0.0.1:8080/alerts
//!       method: POST                # default POST
//!       headers: {Authorization: "token 0x64312313"}
//!       format: "{{.|toJson}}"      # the default (see notify::template)
//!       timeout: 5s                 # per attempt, default 5s
//!       max_retry: 3                # retries after a failure, default 3
//!     - name: local_script
//!       type: command
//!       command: /usr/local/bin/on-alert
//!       args: [--json]
//! ```

use super::command::CommandHook;
use super::template::{Template, DEFAULT_FORMAT};
use super::webhook::Webhook;
use palisade_runtime::config::{join_key, parse_duration, ConfigError, YamlDoc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The per-attempt timeout when none is written (CrowdSec's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The retries after a failed attempt when none is written.
pub const DEFAULT_MAX_RETRY: u32 = 3;

/// One notification as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSpec {
    /// The name profiles use.
    pub name: String,
    /// `webhook` (or `http`) or `command`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The template of the body or standard input ([`DEFAULT_FORMAT`] when missing).
    #[serde(default)]
    pub format: Option<String>,
    /// The time one attempt may take.
    #[serde(default)]
    pub timeout: Option<String>,
    /// How many times a failed delivery is retried.
    #[serde(default)]
    pub max_retry: Option<u32>,
    /// Webhook: the `http://` URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Webhook: the method (POST).
    #[serde(default)]
    pub method: Option<String>,
    /// Webhook: extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Command: the program.
    #[serde(default)]
    pub command: Option<String>,
    /// Command: its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// An HTTP request.
    Webhook(Webhook),
    /// A local program.
    Command(CommandHook),
}

impl Channel {
    /// `webhook` or `command`, the `type` label of the metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook(_) => "webhook",
            Channel::Command(_) => "command",
        }
    }
}

/// A checked notification.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationConfig {
    /// The name profiles use.
    pub name: String,
    /// Where it goes.
    pub channel: Channel,
    /// What is sent.
    pub template: Template,
    /// The time one attempt may take.
    pub timeout: Duration,
    /// Retries after a failed attempt.
    pub max_retry: u32,
}

impl NotificationSpec {
    /// Checks the notification found at `path` in `doc`, pushing every problem into `errors`.
    pub fn compile(
        self,
        doc: &YamlDoc,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Option<NotificationConfig> {
        let before = errors.len();
        let mut fail =
            |field: &str, msg: String| errors.push(doc.error(&join_key(path, field), msg));
        if self.name.trim().is_empty() {
            fail("name", "a notification needs a name".into());
        }
        let needs = |field: &str, v: &Option<String>, fail: &mut dyn FnMut(&str, String)| {
            let v = v.as_deref().unwrap_or_default();
            if v.trim().is_empty() {
                fail(field, format!("a {} notification needs {field}", self.kind));
            }
            v.to_string()
        };
        let channel = match self.kind.as_str() {
            "webhook" | "http" => {
                let url = needs("url", &self.url, &mut fail);
                if url.is_empty() {
                    None
                } else {
                    match Webhook::new(&url, self.method.as_deref(), &self.headers) {
                        Ok(w) => Some(Channel::Webhook(w)),
                        Err(e) => {
                            let field = if e.contains("method") {
                                "method"
                            } else if e.contains("header") {
                                "headers"
                            } else {
                                "url"
                            };
                            fail(field, e);
                            None
                        }
                    }
                }
            }
            "command" => {
                let program = needs("command", &self.command, &mut fail);
                CommandHook::new(&program, &self.args)
                    .ok()
                    .map(Channel::Command)
            }
            other => {
                fail(
                    "type",
                    format!("unknown notification type {other:?} (webhook or command)"),
                );
                None
            }
        };
        let template = match Template::parse(self.format.as_deref().unwrap_or(DEFAULT_FORMAT)) {
            Ok(t) => Some(t),
            Err(e) => {
                fail("format", e.to_string());
                None
            }
        };
        let timeout = match self.timeout.as_deref() {
            None => Some(DEFAULT_TIMEOUT),
            Some(t) => match parse_duration(t) {
                Ok(d) if d > Duration::ZERO => Some(d),
                Ok(_) => {
                    fail("timeout", "must be more than zero".into());
                    None
                }
                Err(e) => {
                    fail("timeout", e);
                    None
                }
            },
        };
        if errors.len() > before {
            return None;
        }
        Some(NotificationConfig {
            name: self.name,
            channel: channel?,
            template: template?,
            timeout: timeout?,
            max_retry: self.max_retry.unwrap_or(DEFAULT_MAX_RETRY),
        })
    }
}
