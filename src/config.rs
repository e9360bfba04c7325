//! The configuration file: one YAML document whose sections belong to the crates that use them.
//!
//! ```yaml
//! log:      { level: info, format: human }        # palisade_runtime::telemetry::LogSpec
//! metrics:  { enabled: true, listen_addr: ... }    # palisade_runtime::http::MetricsSpec
//! bus:      { capacity: 65536, batch_size: 512 }   # palisade_runtime::bus::BusSpec
//! storage:  { path: ..., alert_retention: 30d }    # palisade_publish::StorageSpec
//! sources:  [ CrowdSec acquisition entries ]      # palisade_ingest::source
//! kafka:    { brokers: [...], topics: ... }       # crate::kafka::KafkaSpec (distributed mode)
//! api:      { listen: 127.0.0.1:8080 }             # palisade_publish::lapi::ApiSpec
//! archive:  { url: http://127.0.0.1:8123 }         # palisade_publish::archive::ArchiveSpec
//! ```
//!
//! Missing sections and fields take their defaults. When no file is given, Palisade reads
//! `$PALISADE_CONFIG`, else `/etc/palisade/palisade.yaml`, else the default embedded in the
//! binary (`deploy/palisade.yaml`). Every error of every section is collected and reported with
//! file, line and field path before anything starts.

use crate::content::{Content, ContentSpec, RuleFile};
use crate::kafka::{KafkaConfig, KafkaSpec};
use palisade_detect::scenario::ScenariosSpec;
use palisade_detect::Scenarios;
use palisade_enrich::EnrichSpec;
use palisade_expr::DataFiles;
use palisade_ingest::parser::{ParserSet, ParsersSpec};
use palisade_ingest::source::{compile_sources, SourceConfig};
use palisade_publish::archive::{ArchiveConfig, ArchiveSpec};
use palisade_publish::lapi::{ApiConfig, ApiSpec};
use palisade_publish::{Profiles, ProfilesConfig, ProfilesSpec, StorageConfig, StorageSpec};
use palisade_runtime::bus::BusSpec;
use palisade_runtime::clock::SystemClock;
use palisade_runtime::config::{join_key, ConfigError, ConfigErrors, YamlDoc};
use palisade_runtime::http::MetricsSpec;
use palisade_runtime::telemetry::LogSpec;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The configuration embedded in the binary.
pub const EMBEDDED_DEFAULT: &str = include_str!("../deploy/palisade.yaml");
/// How the embedded configuration is named in messages.
pub const EMBEDDED_NAME: &str = "<embedded deploy/palisade.yaml>";
/// Where a system-wide configuration is looked for.
pub const SYSTEM_PATH: &str = "/etc/palisade/palisade.yaml";

const SECTIONS: &[&str] = &[
    "log",
    "metrics",
    "bus",
    "storage",
    "sources",
    "content",
    "parsers",
    "enrich",
    "scenarios",
    "postoverflows",
    "profiles",
    "kafka",
    "api",
    "archive",
];

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Where it was read from.
    pub origin: String,
    /// Logging.
    pub log: LogSpec,
    /// The metrics endpoint, when enabled.
    pub metrics: Option<SocketAddr>,
    /// Bus sizing.
    pub bus: BusSpec,
    /// Embedded storage.
    pub storage: StorageConfig,
    /// The sources to run.
    pub sources: Vec<SourceConfig>,
    /// The compiled parsers.
    pub parsers: ParserSet,
    /// The compiled postoverflows.
    pub postoverflows: ParserSet,
    /// The compiled scenarios.
    pub scenarios: Scenarios,
    /// The most live buckets (unset: no limit).
    pub max_buckets: Option<usize>,
    /// `scenarios.sql_max_window_events`: events each SQL scenario holds in open windows.
    pub sql_max_window_events: usize,
    /// Profiles and notifications.
    pub profiles: ProfilesConfig,
    /// The distributed mode's Kafka settings, when the section is present.
    pub kafka: Option<KafkaConfig>,
    /// The Local API, when `api.listen` is set.
    pub api: Option<ApiConfig>,
    /// The profiles again, for the Local API (alerts pushed by agents), when it runs.
    pub api_profiles: Option<Profiles>,
    /// The ClickHouse archive, when `archive.url` is set.
    pub archive: Option<ArchiveConfig>,
}

/// Which file to read: the explicit one, `$PALISADE_CONFIG`, the system one, or the embedded one.
pub fn resolve(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("PALISADE_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    Path::new(SYSTEM_PATH)
        .exists()
        .then(|| PathBuf::from(SYSTEM_PATH))
}

/// Loads and validates the configuration.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigErrors> {
    match resolve(explicit) {
        Some(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
                file: name.clone(),
                line: None,
                column: None,
                path: String::new(),
                message: format!("cannot read: {e}"),
            })?;
            compile(&name, &text)
        }
        None => compile(EMBEDDED_NAME, EMBEDDED_DEFAULT),
    }
}

fn decode_section<T: serde::de::DeserializeOwned + Default>(
    doc: &YamlDoc,
    key: &str,
    errors: &mut Vec<ConfigError>,
) -> T {
    match doc.root().get(key) {
        None | Some(serde_json::Value::Null) => T::default(),
        Some(v) => doc.decode_into(key, v, errors).unwrap_or_default(),
    }
}

/// Validates a configuration text. All errors are returned together.
pub fn compile(file: &str, text: &str) -> Result<Config, ConfigErrors> {
    let doc = YamlDoc::parse(file, text)?;
    let mut errors = Vec::new();
    match doc.root() {
        serde_json::Value::Object(m) => {
            for k in m.keys().filter(|k| !SECTIONS.contains(&k.as_str())) {
                errors.push(doc.error(
                    k,
                    format!(
                        "unknown field `{k}`, expected one of `{}`",
                        SECTIONS.join("`, `")
                    ),
                ));
            }
        }
        serde_json::Value::Null => {}
        _ => errors.push(doc.error("", "the configuration must be a mapping of sections")),
    }

    let log: LogSpec = decode_section(&doc, "log", &mut errors);
    if let Err(e) = log.validate() {
        errors.push(doc.error("log.level", format!("invalid log filter: {e}")));
    }
    let metrics_spec: MetricsSpec = decode_section(&doc, "metrics", &mut errors);
    let metrics = match metrics_spec.addr() {
        Ok(a) => metrics_spec.enabled.then_some(a),
        Err(e) => {
            errors.push(doc.error("metrics.listen_addr", e));
            None
        }
    };
    let bus: BusSpec = decode_section(&doc, "bus", &mut errors);
    for (field, msg) in bus.validate() {
        errors.push(doc.error(&join_key("bus", field), msg));
    }
    let storage_spec: StorageSpec = decode_section(&doc, "storage", &mut errors);
    let storage = storage_spec.compile(&doc, "storage", &mut errors);
    let sources = match doc.root().get("sources") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(v) => compile_sources(&doc, "sources", v, &mut errors),
    };

    let enrich: EnrichSpec = decode_section(&doc, "enrich", &mut errors);
    for (field, msg) in enrich.validate() {
        errors.push(doc.error(&join_key("enrich", field), msg));
    }
    let enrichers = match palisade_enrich::Registry::with_defaults(Arc::new(SystemClock), &enrich) {
        Ok(r) => r,
        Err(e) => {
            errors.push(doc.error("enrich", e.to_string()));
            palisade_enrich::Registry::new()
        }
    };
    let content_spec: ContentSpec = decode_section(&doc, "content", &mut errors);
    let content = Content::gather(&content_spec, &doc, "content", &mut errors);
    let data = || {
        let mut d = DataFiles::new();
        for (name, text) in &content.data {
            d.add_strings(name, text);
        }
        d
    };
    let texts = |files: &[RuleFile]| -> Vec<(String, String, String)> {
        files
            .iter()
            .map(|f| (f.stage.clone(), f.name.clone(), f.text.clone()))
            .collect()
    };
    let parsers_spec: ParsersSpec = decode_section(&doc, "parsers", &mut errors);
    let parsers = parsers_spec.build(
        &doc,
        "parsers",
        texts(&content.parsers),
        data(),
        &enrichers,
        &mut errors,
    );
    let post_spec: ParsersSpec = decode_section(&doc, "postoverflows", &mut errors);
    let postoverflows = post_spec.build(
        &doc,
        "postoverflows",
        texts(&content.postoverflows),
        data(),
        &enrichers,
        &mut errors,
    );

    let scenarios_spec: ScenariosSpec = decode_section(&doc, "scenarios", &mut errors);
    let mut scenario_files = content.scenarios.clone();
    Content::add_dirs(
        &mut scenario_files,
        &scenarios_spec.dirs,
        false,
        &doc,
        "scenarios",
        &mut errors,
    );
    Content::sort(&mut scenario_files);
    let mut loader = palisade_detect::Loader::new();
    loader.data = data();
    loader.data_dir = scenarios_spec.data_dir.clone();
    loader.simulated = scenarios_spec.simulated.iter().cloned().collect();
    let refs: Vec<(&str, &str)> = scenario_files
        .iter()
        .map(|f| (f.name.as_str(), f.text.as_str()))
        .collect();
    let sql_max_window_events = match scenarios_spec.sql_max_window_events {
        Some(0) => {
            errors.push(doc.error(
                "scenarios.sql_max_window_events",
                "must be at least 1".to_string(),
            ));
            palisade_detect::sql::DEFAULT_MAX_WINDOW_EVENTS
        }
        Some(n) => n,
        None => palisade_detect::sql::DEFAULT_MAX_WINDOW_EVENTS,
    };
    let scenarios = match loader.load_texts(&refs) {
        Ok(mut s) => {
            s.set_sql_max_window_events(sql_max_window_events);
            Some(s)
        }
        Err(e) => {
            errors.extend(e);
            None
        }
    };

    let kafka = match doc.root().get("kafka") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => doc
            .decode_into::<KafkaSpec>("kafka", v, &mut errors)
            .and_then(|spec| spec.compile(&doc, "kafka", &mut errors)),
    };

    let profiles_spec: ProfilesSpec = decode_section(&doc, "profiles", &mut errors);
    let default_profiles = content
        .profiles
        .as_ref()
        .map(|(n, t)| (n.as_str(), t.as_str()));
    let api_profiles_spec = profiles_spec.clone();
    let profiles =
        profiles_spec.compile_with_default(&doc, "profiles", default_profiles, &mut errors);
    let api_spec: ApiSpec = decode_section(&doc, "api", &mut errors);
    let api = api_spec.compile(&doc, "api", &mut errors);
    let archive_spec: ArchiveSpec = decode_section(&doc, "archive", &mut errors);
    let archive = archive_spec.compile(&doc, "archive", &mut errors);
    // The Local API applies the same profiles to the alerts agents push; compiled profiles are
    // not shared between the stage and the API, so compile them a second time.
    let api_profiles = api.as_ref().and_then(|_| {
        api_profiles_spec
            .compile_with_default(&doc, "profiles", default_profiles, &mut Vec::new())
            .map(|p| p.profiles)
    });

    match (storage, parsers, postoverflows, scenarios, profiles) {
        (Some(storage), Some(parsers), Some(postoverflows), Some(scenarios), Some(profiles))
            if errors.is_empty() =>
        {
            Ok(Config {
                origin: file.to_string(),
                log,
                metrics,
                bus,
                storage,
                sources,
                parsers,
                postoverflows,
                scenarios,
                max_buckets: scenarios_spec.max_buckets,
                sql_max_window_events,
                profiles,
                kafka,
                api,
                api_profiles,
                archive,
            })
        }
        _ => Err(ConfigErrors(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_is_valid() {
        let c = compile(EMBEDDED_NAME, EMBEDDED_DEFAULT).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !c.sources.is_empty(),
            "the default watches the usual log files"
        );
        assert!(c.metrics.is_some());
    }

    #[test]
    fn the_distributed_example_is_valid() {
        let text = include_str!("../deploy/palisade-kafka.yaml");
        let c = compile("deploy/palisade-kafka.yaml", text).unwrap_or_else(|e| panic!("{e}"));
        let k = c.kafka.expect("a kafka section");
        assert_eq!(k.spec.topics.events.name, "palisade-events");
        assert_eq!(k.commit_interval, std::time::Duration::from_secs(1));
        assert!(compile(EMBEDDED_NAME, EMBEDDED_DEFAULT)
            .unwrap()
            .kafka
            .is_none());
    }

    #[test]
    fn kafka_errors_name_line_and_field() {
        let text = "kafka:\n  brokers: []\n  commit_interval: soon\n  topics:\n    events: {name: palisade-logs, partitions: 0}\n  logs:\n    rules:\n      - match: {file: '[x'}\n        labels: {type: nginx}\n";
        let errs = compile("k.yaml", text).unwrap_err().to_string();
        for want in [
            "k.yaml:2:3: kafka.brokers: at least one broker is needed",
            "k.yaml:3:3: kafka.commit_interval",
            "k.yaml:5:14: kafka.topics.events.name: \"palisade-logs\" is already used",
            "k.yaml:5:35: kafka.topics.events.partitions: must be at least 1",
            "k.yaml:8:17: kafka.logs.rules[0].match.file: bad glob",
        ] {
            assert!(errs.contains(want), "missing {want:?} in\n{errs}");
        }
    }

    #[test]
    fn an_empty_file_takes_every_default() {
        let c = compile("empty.yaml", "").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.sources.is_empty());
        assert_eq!(c.bus, BusSpec::default());
    }

    #[test]
    fn reports_every_error_with_file_line_and_path() {
        let text = "\
log:
  level: info
  colour: true
metrics:
  listen_addr: nowhere
bus:
  capacity: 0
storage:
  alert_retention: forever
sourcez: []
";
        let errs = compile("p.yaml", text).unwrap_err().0;
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        let has = |needle: &str| lines.iter().any(|l| l.starts_with(needle));
        assert!(
            has("p.yaml:10:1: sourcez: unknown field `sourcez`, expected one of `log`"),
            "{lines:#?}"
        );
        assert!(
            has("p.yaml:3:3: log.colour: unknown field `colour`"),
            "{lines:#?}"
        );
        assert!(
            has("p.yaml:5:3: metrics.listen_addr: \"nowhere\" is not a host:port address"),
            "{lines:#?}"
        );
        assert!(
            has("p.yaml:7:3: bus.capacity: must be at least 1"),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("p.yaml:9:3: storage.alert_retention")),
            "{lines:#?}"
        );
        assert_eq!(errs.len(), 5, "{lines:#?}");
    }

    #[test]
    fn a_syntax_error_stops_with_its_location() {
        let errs = compile("s.yaml", "log:\n  level: [info\n").unwrap_err().0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].file, "s.yaml");
        assert!(errs[0].line.is_some());
    }
}
