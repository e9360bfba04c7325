//! The bouncer's configuration file (its own YAML, separate from palisade.yaml so that a bouncer
//! host needs nothing else). Every error is reported located (`file:line:column: path: message`)
//! and all of them together, as for palisade.yaml.
//!
//! ```yaml
//! log: {level: info}
//! metrics: {enabled: true, listen_addr: 127.0.0.1:6061}
//! source:
//!   kafka: {brokers: [kafka-1:9092], topic: palisade-decisions}
//!   # or: lapi: {url: http://127.0.0.1:8080/, api_key: KEY, interval: 1s}
//! on_source_loss: open            # open | closed (HTTP answers 503 while the source is lost)
//! backends:
//!   - nftables: {hooks: [input]}
//!   - hook: {command: [/usr/local/bin/sync-sg], mode: batch}
//!   - feed: {dir: /var/lib/palisade/feeds}
//! http: {listen: 127.0.0.1:8081}  # forward-auth and feeds
//! ```

use crate::backend::feed::FeedSpec;
use crate::backend::hook::HookSpec;
use crate::backend::ipset::IpsetSpec;
use crate::backend::nftables::NftablesSpec;
use crate::http::HttpSpec;
use palisade_runtime::config::{
    join_index, join_key, parse_duration, ConfigError, ConfigErrors, YamlDoc,
};
use palisade_runtime::http::MetricsSpec;
use palisade_runtime::telemetry::LogSpec;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The decision topic (read with its own consumer, no group: every bouncer reads everything).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceSpec {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// The decision topic.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`, ...).
    #[serde(default)]
    pub client: BTreeMap<String, String>,
}

fn default_topic() -> String {
    "palisade-decisions".into()
}

/// A CrowdSec-compatible Local API (Palisade's or CrowdSec's own), streamed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LapiSourceSpec {
    /// Base URL, `http://host:port/` (plain HTTP; put TLS in front when crossing hosts).
    pub url: String,
    /// The bouncer's API key (`palisade bouncers add` or `cscli bouncers add`).
    pub api_key: String,
    /// Pull interval (Go duration). CrowdSec's bouncers use 10s; shorter is fine for Palisade.
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Scopes asked for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Per-request timeout (Go duration).
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

fn default_interval() -> String {
    "1s".into()
}

fn default_timeout() -> String {
    "10s".into()
}

fn default_scopes() -> Vec<String> {
    vec!["ip".into(), "range".into()]
}

/// Where decisions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The decision topic.
    Kafka(KafkaSourceSpec),
    /// A Local API stream.
    Lapi {
        /// As written.
        spec: LapiSourceSpec,
        /// Pull interval.
        interval: Duration,
        /// Request timeout.
        timeout: Duration,
    },
}

/// What HTTP answers while the source is lost (the firewall keeps the last known set either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Requests are judged on the last known set.
    #[default]
    Open,
    /// Requests are refused (503) until the source is back.
    Closed,
}

/// One backend.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendSpec {
    /// nftables sets.
    Nftables(NftablesSpec),
    /// ipset with iptables.
    Ipset(IpsetSpec),
    /// A command per change or per batch.
    Hook(HookSpec),
    /// Blocklist files (and `/feeds/` over HTTP).
    Feed(FeedSpec),
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct BouncerConfig {
    /// The file it came from.
    pub origin: String,
    /// Logging.
    pub log: LogSpec,
    /// The Prometheus endpoint.
    pub metrics: MetricsSpec,
    /// Where decisions come from.
    pub source: Source,
    /// HTTP behaviour while the source is lost.
    pub on_source_loss: FailMode,
    /// The backends.
    pub backends: Vec<BackendSpec>,
    /// The forward-auth and feed endpoint.
    pub http: Option<HttpSpec>,
}

const TOP: [&str; 6] = [
    "log",
    "metrics",
    "source",
    "on_source_loss",
    "backends",
    "http",
];

/// Reads and validates a bouncer configuration file.
pub fn load(path: &std::path::Path) -> Result<BouncerConfig, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        column: None,
        path: String::new(),
        message: e.to_string(),
    })?;
    compile(&file, &text)
}

/// Validates a bouncer configuration text.
pub fn compile(file: &str, text: &str) -> Result<BouncerConfig, ConfigErrors> {
    let doc = YamlDoc::parse(file, text)?;
    let mut errors = Vec::new();
    let empty = serde_json::Map::new();
    let root = match doc.root() {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => &empty,
        _ => return Err(doc.error("", "expected a mapping").into()),
    };
    for k in root.keys() {
        if !TOP.contains(&k.as_str()) {
            errors.push(doc.error(
                k,
                format!("unknown section `{k}`, expected one of {}", TOP.join(", ")),
            ));
        }
    }
    let section = |name: &str| root.get(name).cloned().unwrap_or(serde_json::Value::Null);
    let or_default = |v: serde_json::Value| {
        if v.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            v
        }
    };
    let log: LogSpec = doc
        .decode_into("log", &or_default(section("log")), &mut errors)
        .unwrap_or_default();
    if let Err(m) = log.validate() {
        errors.push(doc.error("log", m));
    }
    let metrics: MetricsSpec = doc
        .decode_into("metrics", &or_default(section("metrics")), &mut errors)
        .unwrap_or_default();
    if metrics.enabled {
        if let Err(m) = metrics.addr() {
            errors.push(doc.error("metrics.listen_addr", m));
        }
    }
    let on_source_loss: FailMode = match section("on_source_loss") {
        serde_json::Value::Null => FailMode::Open,
        v => doc
            .decode_into("on_source_loss", &v, &mut errors)
            .unwrap_or_default(),
    };
    let source = decode_source(&doc, &section("source"), &mut errors);
    let mut backends = Vec::new();
    match section("backends") {
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(b) = decode_backend(&doc, &join_index("backends", i), item, &mut errors)
                {
                    backends.push(b);
                }
            }
        }
        serde_json::Value::Null => {}
        _ => errors.push(doc.error("backends", "expected a list of backends")),
    }
    let http: Option<HttpSpec> = match section("http") {
        serde_json::Value::Null => None,
        v => doc.decode_into("http", &v, &mut errors),
    };
    if let Some(h) = &http {
        for (field, m) in h.problems() {
            errors.push(doc.error(&join_key("http", field), m));
        }
    }
    if backends.is_empty() && http.is_none() && errors.is_empty() {
        errors.push(doc.error(
            "backends",
            "nothing to enforce: configure at least one backend or `http`",
        ));
    }
    match (source, errors.is_empty()) {
        (Some(source), true) => Ok(BouncerConfig {
            origin: file.to_string(),
            log,
            metrics,
            source,
            on_source_loss,
            backends,
            http,
        }),
        _ => Err(ConfigErrors(errors)),
    }
}

fn decode_source(
    doc: &YamlDoc,
    v: &serde_json::Value,
    errors: &mut Vec<ConfigError>,
) -> Option<Source> {
    let Some(m) = v.as_object() else {
        errors.push(doc.error(
            "source",
            "required: `kafka: {brokers, topic}` or `lapi: {url, api_key}`",
        ));
        return None;
    };
    if m.len() != 1 {
        errors.push(doc.error("source", "give exactly one of `kafka` or `lapi`"));
        return None;
    }
    let (kind, body) = m.iter().next().expect("one entry");
    let path = join_key("source", kind);
    match kind.as_str() {
        "kafka" => {
            let k: KafkaSourceSpec = doc.decode_into(&path, body, errors)?;
            if k.brokers.is_empty() {
                errors.push(doc.error(&join_key(&path, "brokers"), "at least one broker"));
                return None;
            }
            Some(Source::Kafka(k))
        }
        "lapi" => {
            let spec: LapiSourceSpec = doc.decode_into(&path, body, errors)?;
            let mut ok = true;
            if crate::lapi::Endpoint::parse(&spec.url).is_none() {
                errors.push(doc.error(
                    &join_key(&path, "url"),
                    format!("{:?} is not an http://host:port/ URL", spec.url),
                ));
                ok = false;
            }
            let mut dur = |field: &str, s: &str| match parse_duration(s) {
                Ok(d) if !d.is_zero() => Some(d),
                Ok(_) => {
                    errors.push(doc.error(&join_key(&path, field), "must be more than 0"));
                    None
                }
                Err(m) => {
                    errors.push(doc.error(&join_key(&path, field), m));
                    None
                }
            };
            let interval = dur("interval", &spec.interval);
            let timeout = dur("timeout", &spec.timeout);
            match (interval, timeout, ok) {
                (Some(interval), Some(timeout), true) => Some(Source::Lapi {
                    spec,
                    interval,
                    timeout,
                }),
                _ => None,
            }
        }
        other => {
            errors.push(doc.error(
                &path,
                format!("unknown source `{other}`, expected kafka or lapi"),
            ));
            None
        }
    }
}

fn decode_backend(
    doc: &YamlDoc,
    path: &str,
    v: &serde_json::Value,
    errors: &mut Vec<ConfigError>,
) -> Option<BackendSpec> {
    let m = v.as_object().filter(|m| m.len() == 1);
    let Some((kind, body)) = m.and_then(|m| m.iter().next()) else {
        errors.push(doc.error(
            path,
            "a backend is one of `nftables: {...}`, `ipset: {...}`, `hook: {...}`, `feed: {...}`",
        ));
        return None;
    };
    let p = join_key(path, kind);
    let body = if body.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        body.clone()
    };
    match kind.as_str() {
        "nftables" => {
            let s: NftablesSpec = doc.decode_into(&p, &body, errors)?;
            let problems = s.problems();
            for (field, m) in &problems {
                errors.push(doc.error(&join_key(&p, field), m.clone()));
            }
            problems.is_empty().then_some(BackendSpec::Nftables(s))
        }
        "ipset" => doc.decode_into(&p, &body, errors).map(BackendSpec::Ipset),
        "hook" => {
            let s: HookSpec = doc.decode_into(&p, &body, errors)?;
            if s.command.is_empty() {
                errors.push(doc.error(&join_key(&p, "command"), "must name a program"));
                return None;
            }
            Some(BackendSpec::Hook(s))
        }
        "feed" => doc.decode_into(&p, &body, errors).map(BackendSpec::Feed),
        other => {
            errors.push(doc.error(
                &p,
                format!("unknown backend `{other}`, expected nftables, ipset, hook or feed"),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_file_compiles() {
        let c = compile(
            "b.yaml",
            "source:\n  lapi: {url: 'http://127.0.0.1:8080/', api_key: k, interval: 200ms}\non_source_loss: closed\nbackends:\n  - nftables: {hooks: [input, forward]}\n  - hook: {command: [/bin/true], mode: batch}\n  - feed: {dir: /tmp/f}\n  - ipset: {}\nhttp: {listen: '127.0.0.1:0'}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.backends.len(), 4);
        assert_eq!(c.on_source_loss, FailMode::Closed);
        assert!(
            matches!(c.source, Source::Lapi { interval, .. } if interval == Duration::from_millis(200))
        );
    }

    #[test]
    fn every_error_is_located() {
        let e = compile(
            "b.yaml",
            "source:\n  kafka: {brokers: [], topic: t}\nbackends:\n  - nftables: {hook: [input]}\n  - firewall: {}\n  - hook: {command: []}\n  - nftables: {action: accept}\nextra: 1\n",
        )
        .unwrap_err();
        let text: Vec<String> = e.0.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 6, "{text:#?}");
        assert!(
            text.iter()
                .any(|t| t.starts_with("b.yaml:8:1: extra: unknown section")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with("b.yaml:2:"))
                && text
                    .iter()
                    .any(|t| t.contains("source.kafka.brokers: at least one broker")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t
                    .starts_with("b.yaml:4:16: backends[0].nftables.hook: unknown field `hook`")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("b.yaml:5:5: backends[1].firewall: unknown backend")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("backends[2].hook.command: must name a program")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("backends[3].nftables.action: \"accept\": drop or reject")),
            "{text:#?}"
        );
    }

    #[test]
    fn the_example_is_valid() {
        let c = compile(
            "deploy/palisade-bouncer.yaml",
            include_str!("../../deploy/palisade-bouncer.yaml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.backends.len(), 2);
        assert!(matches!(c.source, Source::Kafka(_)));
        assert!(c.http.is_some());
    }

    #[test]
    fn a_source_is_required() {
        let e = compile("b.yaml", "backends: [{feed: {}}]\n").unwrap_err();
        assert!(e.to_string().contains("source: required"), "{e}");
    }
}
