//! The `api:` configuration section. The Local API runs when `listen` is set.
//!
//! ```yaml
//! api:
//!   listen: 127.0.0.1:8080        # unset: no Local API
//!   sync_interval: 1s             # how often the decision index follows the store
//!   auto_registration_token: ""   # machines registering with this token are validated at once
//!   stream_empty: "[]"            # "[]" (CrowdSec >= 1.7.8) or "null" (<= 1.7.7) for empty stream lists
//! ```

use palisade_runtime::config::{join_key, parse_duration, ConfigError, YamlDoc};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// The `api:` section as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSpec {
    /// `host:port` to serve the Local API on; empty: no API.
    pub listen: String,
    /// How often the decision index reads the store's change feed.
    pub sync_interval: String,
    /// A registration token (32 to 255 characters) that validates machines on registration.
    pub auto_registration_token: String,
    /// How empty stream lists are written: `[]` or `null`.
    pub stream_empty: String,
}

impl Default for ApiSpec {
    fn default() -> Self {
        ApiSpec {
            listen: String::new(),
            sync_interval: "1s".into(),
            auto_registration_token: String::new(),
            stream_empty: "[]".into(),
        }
    }
}

/// The checked `api:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// How often the index follows the store.
    pub sync_interval: Duration,
    /// The auto-registration token, when set.
    pub auto_registration_token: Option<String>,
    /// Whether empty stream lists are written as `null` (CrowdSec <= 1.7.7).
    pub stream_null: bool,
}

impl ApiConfig {
    /// The defaults, listening on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        ApiConfig {
            listen,
            sync_interval: Duration::from_secs(1),
            auto_registration_token: None,
            stream_null: false,
        }
    }
}

impl ApiSpec {
    /// Checks the section found at `path`; `None` without errors when the API is off.
    pub fn compile(
        self,
        doc: &YamlDoc,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ApiConfig> {
        let before = errors.len();
        let listen = if self.listen.trim().is_empty() {
            None
        } else {
            match self.listen.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(doc.error(
                        &join_key(path, "listen"),
                        format!("{:?} is not a host:port address: {e}", self.listen),
                    ));
                    None
                }
            }
        };
        let sync = match parse_duration(&self.sync_interval) {
            Ok(d) if d.is_zero() => {
                errors.push(doc.error(&join_key(path, "sync_interval"), "must be more than zero"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                errors.push(doc.error(&join_key(path, "sync_interval"), e));
                None
            }
        };
        let token = self.auto_registration_token.trim().to_string();
        if !token.is_empty() && !(32..=255).contains(&token.len()) {
            errors.push(doc.error(
                &join_key(path, "auto_registration_token"),
                format!("must be 32 to 255 characters long, not {}", token.len()),
            ));
        }
        let stream_null = match self.stream_empty.as_str() {
            "[]" => false,
            "null" => true,
            other => {
                errors.push(doc.error(
                    &join_key(path, "stream_empty"),
                    format!("must be \"[]\" or \"null\", not {other:?}"),
                ));
                false
            }
        };
        if errors.len() > before {
            return None;
        }
        Some(ApiConfig {
            listen: listen?,
            sync_interval: sync?,
            auto_registration_token: (!token.is_empty()).then_some(token),
            stream_null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> (Option<ApiConfig>, Vec<ConfigError>) {
        let doc = YamlDoc::parse("p.yaml", text).unwrap();
        let mut errors = Vec::new();
        let cfg = doc
            .decode_into::<ApiSpec>("api", &doc.root()["api"], &mut errors)
            .and_then(|s| s.compile(&doc, "api", &mut errors));
        (cfg, errors)
    }

    #[test]
    fn off_by_default_and_located_errors() {
        let (cfg, errors) = compile("api: {}\n");
        assert!(cfg.is_none() && errors.is_empty());
        let (cfg, errors) = compile("api:\n  listen: 127.0.0.1:8080\n");
        assert_eq!(cfg.unwrap().listen.port(), 8080);
        assert!(errors.is_empty());
        let (cfg, errors) = compile(
            "api:\n  listen: nowhere\n  sync_interval: 0s\n  stream_empty: '{}'\n  port: 1\n",
        );
        assert!(cfg.is_none());
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            lines.iter().any(|l| l.starts_with("p.yaml:5:3: api.port")),
            "{lines:#?}"
        );
        let (_, errors) = compile("api:\n  listen: nowhere\n  sync_interval: 0s\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, Some(2));
        assert_eq!(errors[1].path, "api.sync_interval");
        assert_eq!(errors[1].line, Some(3));
    }
}
