//! `palisade sql-test SCENARIO --type T FILE...`: backtests SQL scenarios (any scenario file,
//! in fact) on logs. The logs go through the configured parsers on their own timestamps, as in
//! `replay`, but only the given scenario files run; every window still open at the end of the
//! logs is evaluated. Prints what the scenarios would have raised.

use crate::cli::{Output, SqlTestArgs};
use crate::pipeline::{self, Embedded};
use anyhow::{bail, Context, Result};
use palisade_ingest::source::SourceConfig;
use palisade_publish::Store;
use palisade_runtime::clock::SystemClock;
use palisade_runtime::config::ConfigErrors;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

pub(crate) fn run(args: SqlTestArgs) -> Result<ExitCode> {
    let cfg = crate::config::load(args.config.config.as_deref())?;
    palisade_runtime::telemetry::init(&palisade_runtime::telemetry::LogSpec {
        level: "warn".into(),
        ..cfg.log.clone()
    });
    let scenarios = palisade_detect::Loader::new()
        .load(std::slice::from_ref(&args.scenario))
        .map_err(ConfigErrors)
        .context("scenario files are invalid")?;
    let names: Vec<String> = scenarios
        .sql()
        .iter()
        .map(|s| s.name().to_string())
        .chain(scenarios.iter().map(|s| s.name().to_string()))
        .collect();
    let mut labels: BTreeMap<String, String> = args.labels.into_iter().collect();
    labels.insert("type".into(), args.log_type.clone());
    let report = super::runtime()?.block_on(pipeline::run(Embedded {
        sources: vec![SourceConfig::replay_files(args.files, labels)],
        parsers: cfg.parsers,
        postoverflows: cfg.postoverflows,
        scenarios,
        max_buckets: cfg.max_buckets,
        profiles: cfg.profiles,
        notify: false,
        bus: &cfg.bus,
        storage: &cfg.storage,
        store: Store::open_in_memory()?,
        shutdown: Shutdown::new(),
        metrics: Registry::new(),
        clock: Arc::new(SystemClock),
        archive_events: None,
    }))?;
    if !report.source_errors.is_empty() {
        bail!("sql-test failed: {}", report.source_errors.join("; "));
    }
    let alerts = report.store.alerts(None, None)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let summary = format!(
        "{}: {} lines (type {}), {} parsed, {} alert{}",
        names.join(", "),
        report.lines,
        args.log_type,
        report.parse.items_out,
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" }
    );
    let written = (|| -> std::io::Result<()> {
        match args.output {
            Output::Human => {
                writeln!(out, "{summary}")?;
                for a in &alerts {
                    let meta: Vec<String> = a
                        .meta
                        .iter()
                        .map(|m| format!("{}={}", m.key, m.value))
                        .collect();
                    writeln!(
                        out,
                        "  {} {} .. {}  {} {}  {} events  {}",
                        a.scenario,
                        a.start_at,
                        a.stop_at,
                        a.source.scope,
                        a.source.value,
                        a.events_count,
                        meta.join(" ")
                    )?;
                }
            }
            Output::Json => {
                for a in &alerts {
                    serde_json::to_writer(&mut out, a)?;
                    out.write_all(b"\n")?;
                }
                eprintln!("{summary}");
            }
        }
        out.flush()
    })();
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(ExitCode::SUCCESS)
}
