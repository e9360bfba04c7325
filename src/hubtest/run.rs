//! Running one hub test folder.

use super::config::{HubIndex, TestConfig};
use super::dump::Dump;
use anyhow::{anyhow, Context as _, Result};
use palisade_detect::stage::DetectStage;
use palisade_detect::BucketEngine;
use palisade_detect::Loader as ScenarioLoader;
use palisade_expr::{Context, Program, Value, Vars};
use palisade_ingest::grok::GrokLibrary;
use palisade_ingest::parser::{collect_dir, Loader, ParserFile, ParserSet};
use palisade_runtime::clock::SystemClock;
use palisade_runtime::metrics::Registry;
use palisade_schemas::{Event, ExpectMode, Line};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

/// Settings shared by every test of a run.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// The hub directory (items, patterns, data).
    pub hub_dir: PathBuf,
    /// The year given to year-less dates (else the current one).
    pub year: Option<i32>,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every assertion held.
    Pass {
        /// How many assertions were evaluated.
        assertions: usize,
    },
    /// An assertion failed, or the test could not run.
    Fail {
        /// Why, starting with the first failing assertion.
        reason: String,
    },
}

/// Runs the test in `dir`.
pub fn run_test(dir: &Path, opts: &HubOptions) -> Outcome {
    match run_inner(dir, opts) {
        Ok(o) => o,
        Err(e) => Outcome::Fail {
            reason: format!("{e:#}"),
        },
    }
}

fn grok_library(hub: &Path) -> Result<GrokLibrary> {
    let base = hub.join("patterns-base");
    let patterns = hub.join("patterns");
    if !base.is_dir() && !patterns.is_dir() {
        return Ok(GrokLibrary::builtin());
    }
    let mut lib = GrokLibrary::new();
    for dir in [base, patterns] {
        if dir.is_dir() {
            lib.load_dir(&dir)
                .with_context(|| format!("loading grok patterns from {}", dir.display()))?;
        }
    }
    Ok(lib)
}

fn enrichers(hub: &Path, year: Option<i32>) -> Result<palisade_enrich::Registry> {
    let data = hub.join("data");
    let existing = |name: &str| Some(data.join(name)).filter(|p| p.is_file());
    let spec = palisade_enrich::EnrichSpec {
        geoip_city: existing("GeoLite2-City.mmdb"),
        geoip_asn: existing("GeoLite2-ASN.mmdb"),
        year,
        ..Default::default()
    };
    Ok(palisade_enrich::Registry::with_defaults(
        Arc::new(SystemClock),
        &spec,
    )?)
}

/// Resolves the parser or postoverflow items of a test, each with the stage directory it sits
/// in, sorted as CrowdSec loads them: by stage, then file name.
fn staged_items(
    index: &HubIndex,
    kind: &str,
    refs: &[String],
    dir: &Path,
) -> Result<Vec<ParserFile>> {
    let mut files = Vec::new();
    for r in TestConfig::items(refs) {
        let item = index.resolve(kind, r, dir)?;
        let stage = item
            .stage
            .ok_or_else(|| anyhow!("{kind} item {r:?} is not under {kind}/<stage>/"))?;
        files.push(ParserFile {
            stage,
            path: item.path,
        });
    }
    files.sort_by(|a, b| (&a.stage, a.path.file_name()).cmp(&(&b.stage, b.path.file_name())));
    Ok(files)
}

/// Loads `files` with the hub's grok patterns, data files and GeoIP databases.
fn load_with_hub(hub: &Path, year: Option<i32>, files: &[ParserFile]) -> Result<ParserSet> {
    let mut grok = grok_library(hub)?;
    let enrichers = enrichers(hub, year)?;
    let data_dir = hub.join("data");
    let mut loader = Loader::new(&mut grok, &enrichers);
    if data_dir.is_dir() {
        loader.data_dir = Some(&data_dir);
    }
    loader.load(files).map_err(|errs| {
        anyhow!(
            "loading parsers: {}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

/// Every parser of a hub directory (`<hub>/parsers/<stage>/...`), as `explain --hub-dir` uses.
pub fn hub_parsers(hub: &Path, year: Option<i32>) -> Result<ParserSet> {
    let dir = hub.join("parsers");
    let mut files = collect_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
    files.sort_by(|a, b| (&a.stage, a.path.file_name()).cmp(&(&b.stage, b.path.file_name())));
    load_with_hub(hub, year, &files)
}

fn overrides_yaml(statics: &[serde_json::Value]) -> String {
    let node = serde_json::json!({ "name": "overrides", "filter": "1==1", "statics": statics });
    // JSON is YAML.
    node.to_string()
}

fn run_inner(dir: &Path, opts: &HubOptions) -> Result<Outcome> {
    let cfg = TestConfig::read(dir)?;
    let index = HubIndex::build(&opts.hub_dir)?;
    let mut files = Vec::new();
    let tmp = tempfile_dir()?;
    if !cfg.override_statics.is_empty() {
        let p = tmp.join("00_overrides.yaml");
        std::fs::write(&p, overrides_yaml(&cfg.override_statics))?;
        files.push(ParserFile {
            stage: "s00-raw".into(),
            path: p,
        });
    }
    files.extend(staged_items(&index, "parsers", &cfg.parsers, dir)?);

    let mut grok = grok_library(&opts.hub_dir)?;
    let enrichers = enrichers(&opts.hub_dir, opts.year)?;
    let data_dir = opts.hub_dir.join("data");
    let mut loader = Loader::new(&mut grok, &enrichers);
    if data_dir.is_dir() {
        loader.data_dir = Some(&data_dir);
    }
    let parsers = loader.load(&files).map_err(|errs| {
        anyhow!(
            "loading parsers: {}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;

    let log = dir.join(&cfg.log_file);
    let text = std::fs::read(&log).with_context(|| format!("reading {}", log.display()))?;
    let text = String::from_utf8_lossy(&text);
    let src = std::fs::canonicalize(&log)
        .unwrap_or(log.clone())
        .display()
        .to_string();
    let mut labels = cfg.labels.clone();
    labels.insert("type".into(), cfg.log_type.clone());
    let mut dump = Dump::default();
    let mut kept: Vec<Event> = Vec::new();
    for raw in text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
    {
        let mut e = Event::from_line(
            Line {
                raw: raw.to_string(),
                src: src.clone(),
                time: Some(chrono::Utc::now()),
                labels: labels.clone(),
                process: false,
                module: "file".into(),
            },
            ExpectMode::TimeMachine,
        );
        if parsers.parse_traced(&mut e, &mut dump) == palisade_ingest::parser::Verdict::Keep {
            kept.push(e);
        }
    }
    let results = dump.into_results();
    let results = Value::from_json(&results);

    let mut assertions = 0;
    let parser_assert = dir.join("parser.assert");
    if !cfg.ignore_parsers && parser_assert.is_file() {
        assertions += check_asserts(&parser_assert, &results)?;
    }
    let scenario_refs: Vec<&str> = TestConfig::items(&cfg.scenarios).collect();
    if !scenario_refs.is_empty() {
        let overflows = run_scenarios(&index, dir, opts, &cfg, &scenario_refs, kept)?;
        let scenario_assert = dir.join("scenario.assert");
        let values: Vec<Value<'_>> = overflows.iter().map(Value::Event).collect();
        assertions += check_asserts(&scenario_assert, &Value::array(values))?;
    }
    if assertions == 0 {
        return Ok(Outcome::Fail {
            reason: "no assertion was evaluated (cscli fails an empty assert file too)".into(),
        });
    }
    Ok(Outcome::Pass { assertions })
}

fn tempfile_dir() -> Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("palisade-hubtest-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// Pours the parsed events into the test's scenarios (with its postoverflows) and returns every
/// overflow, whitelisted ones included, sorted as cscli sorts its bucket dump: by scenario name
/// followed by the source keys joined with `@`, in descending order.
fn run_scenarios(
    index: &HubIndex,
    dir: &Path,
    opts: &HubOptions,
    cfg: &TestConfig,
    refs: &[&str],
    events: Vec<Event>,
) -> Result<Vec<Event>> {
    let mut paths = Vec::new();
    for r in refs {
        paths.push(index.resolve("scenarios", r, dir)?.path);
    }
    let data_dir = opts.hub_dir.join("data");
    let mut loader = ScenarioLoader::new();
    if data_dir.is_dir() {
        loader = loader.with_data_dir(&data_dir);
    }
    let scenarios = loader.load(&paths).map_err(|errs| {
        anyhow!(
            "loading scenarios: {}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let post_files = staged_items(index, "postoverflows", &cfg.postoverflows, dir)?;
    let post = load_with_hub(&opts.hub_dir, opts.year, &post_files)?;
    let metrics = Registry::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut stage = DetectStage::new(BucketEngine::new(scenarios, &metrics), &metrics)
        .with_postoverflow(move |ov| {
            // A failed postoverflow stage only skips the later ones: the overflow goes on.
            post.parse(ov);
            true
        })
        .with_overflow_observer(move |ov| {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(ov.clone())
        });
    let mut alerts = Vec::new();
    for e in events {
        stage.feed(e, &mut alerts);
    }
    drop(stage);
    let mut overflows = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    let key = |e: &Event| {
        e.overflow.as_ref().map_or_else(String::new, |o| {
            let scenario = o.alert.as_ref().map_or("", |a| a.scenario.as_str());
            format!(
                "{scenario}{}",
                o.sources.keys().cloned().collect::<Vec<_>>().join("@")
            )
        })
    };
    overflows.sort_by_cached_key(|e| std::cmp::Reverse(key(e)));
    Ok(overflows)
}

/// Evaluates every non-empty line of an assert file over `results`; returns how many held, or
/// the first that did not.
fn check_asserts(file: &Path, results: &Value<'_>) -> Result<usize> {
    let text = std::fs::read_to_string(file)?;
    let ctx = Context::without_event().declare("results");
    let name = file
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fixed = with_basename(line);
        let line = fixed.as_str();
        let prog = Program::compile(line, &ctx)
            .map_err(|e| anyhow!("{name}:{}: cannot compile {line:?}: {e}", i + 1))?;
        let mut vars = Vars::new().with_value(results.clone());
        match prog.eval_bool(&mut vars) {
            Ok(true) => n += 1,
            Ok(false) => {
                let actual = left_side(line)
                    .and_then(|l| Program::compile(l, &ctx).ok())
                    .and_then(|p| p.eval(&mut Vars::new().with_value(results.clone())).ok())
                    .map(|v| format!(" (left side is {})", v.to_json()))
                    .unwrap_or_default();
                return Err(anyhow!("{name}:{}: {line}{actual}", i + 1));
            }
            Err(e) => return Err(anyhow!("{name}:{}: {line}: {e}", i + 1)),
        }
    }
    Ok(n)
}

/// Older assert files compare the `datasource_path` meta to a bare file name; cscli wraps the
/// left side in `basename()` before evaluating, and so do we.
fn with_basename(line: &str) -> String {
    const KEYS: [&str; 2] = [
        r#".Evt.Meta["datasource_path"] == "#,
        r#".GetMeta("datasource_path") == "#,
    ];
    for key in KEYS {
        if let Some(i) = line.find(key) {
            if line.starts_with("basename(") {
                break;
            }
            let (left, right) = line.split_at(i + key.len() - 4);
            return format!("basename({left}){right}");
        }
    }
    line.to_string()
}

fn left_side(line: &str) -> Option<&str> {
    line.find(" == ").map(|i| &line[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasource_path_asserts_get_basename() {
        assert_eq!(
            with_basename(r#"results["s"]["n"][0].Evt.Meta["datasource_path"] == "x.log""#),
            r#"basename(results["s"]["n"][0].Evt.Meta["datasource_path"]) == "x.log""#
        );
        let already = r#"basename(results["s"]["n"][0].Evt.Meta["datasource_path"]) == "x.log""#;
        assert_eq!(with_basename(already), already);
        assert_eq!(
            with_basename(
                r#"results[0].Overflow.Alert.Events[0].GetMeta("datasource_path") == "a.log""#
            ),
            r#"basename(results[0].Overflow.Alert.Events[0].GetMeta("datasource_path")) == "a.log""#
        );
    }
}
