//! `palisade sql-test SCENARIO --type T FILE...` and `palisade sql-test SCENARIO --archive
//! --since S [--until U]`: backtests SQL scenarios (any scenario file, in fact).
//!
//! * On logs: the logs go through the configured parsers on their own timestamps, as in
//!   `replay`, but only the given scenario files run.
//! * On the archive: the parsed events ClickHouse keeps (`archive:` with `events: true`) between
//!   `--since` and `--until` are read back, oldest first, and poured into the scenarios at their
//!   own times (no parsing: they were parsed when archived), with the configured postoverflows.
//!
//! Either way every window still open at the end is evaluated, and what the scenarios would
//! have raised is printed.

use crate::cli::{Output, SqlTestArgs};
use crate::config::Config;
use crate::pipeline::{self, Embedded};
use anyhow::{bail, Context, Result};
use palisade_detect::{BucketEngine, DetectStage, EngineConfig, Scenarios};
use palisade_ingest::source::SourceConfig;
use palisade_publish::archive::ArchivedEvents;
use palisade_publish::Store;
use palisade_runtime::clock::{Clock, SystemClock};
use palisade_runtime::config::ConfigErrors;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use palisade_runtime::stage::Stage;
use palisade_schemas::Alert;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

/// Events read from the archive per detect batch.
const ARCHIVE_BATCH: usize = 10_000;

pub(crate) fn run(args: SqlTestArgs) -> Result<ExitCode> {
    let cfg = crate::config::load(args.config.config.as_deref())?;
    palisade_runtime::telemetry::init(&palisade_runtime::telemetry::LogSpec {
        level: "warn".into(),
        ..cfg.log.clone()
    });
    let mut scenarios = palisade_detect::Loader::new()
        .load(std::slice::from_ref(&args.scenario))
        .map_err(ConfigErrors)
        .context("scenario files are invalid")?;
    scenarios.set_sql_max_window_events(cfg.sql_max_window_events);
    let names: Vec<String> = scenarios
        .sql()
        .iter()
        .map(|s| s.name().to_string())
        .chain(scenarios.iter().map(|s| s.name().to_string()))
        .collect();
    let (alerts, summary) = if args.archive {
        let (alerts, read) = super::runtime()?.block_on(on_archive(&args, cfg, scenarios))?;
        let s = format!(
            "{}: {read} archived events, {} alert{}",
            names.join(", "),
            alerts.len(),
            plural(alerts.len())
        );
        (alerts, s)
    } else {
        on_logs(&args, cfg, scenarios, &names)?
    };
    print(&alerts, &summary, args.output)?;
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Backtests on log files through the embedded pipeline; the alerts it stored.
fn on_logs(
    args: &SqlTestArgs,
    cfg: Config,
    scenarios: Scenarios,
    names: &[String],
) -> Result<(Vec<Alert>, String)> {
    let log_type = args.log_type.clone().context("--type is required")?;
    let mut labels: BTreeMap<String, String> = args.labels.iter().cloned().collect();
    labels.insert("type".into(), log_type.clone());
    let report = super::runtime()?.block_on(pipeline::run(Embedded {
        sources: vec![SourceConfig::replay_files(args.files.clone(), labels)],
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
    let summary = format!(
        "{}: {} lines (type {log_type}), {} parsed, {} alert{}",
        names.join(", "),
        report.lines,
        report.parse.items_out,
        alerts.len(),
        plural(alerts.len())
    );
    Ok((alerts, summary))
}

/// Backtests on the archived events of `--since .. --until`; the alerts raised and the number
/// of events read.
async fn on_archive(
    args: &SqlTestArgs,
    cfg: Config,
    scenarios: Scenarios,
) -> Result<(Vec<Alert>, usize)> {
    let archive = cfg.archive.as_ref().context(
        "--archive reads ClickHouse's events table: configure an `archive:` section (with events: true)",
    )?;
    let now = SystemClock.now();
    let since = args.since.context("--archive needs --since")?.at(now);
    let until = args.until.map_or(now, |u| u.at(now));
    if since >= until {
        bail!("--since ({since}) must be before --until ({until})");
    }
    let metrics = Registry::new();
    let engine = BucketEngine::new(scenarios, &metrics).with_config(EngineConfig {
        max_buckets: cfg.max_buckets,
    });
    let post = cfg.postoverflows;
    let mut stage = DetectStage::new(engine, &metrics)
        .with_tick_interval(None)
        .with_postoverflow(move |ov| {
            post.parse(ov);
            true
        });
    let mut events = ArchivedEvents::open(archive, since, until)
        .with_context(|| format!("reading {}'s events table", archive.url))?;
    let (mut alerts, mut read) = (Vec::new(), 0);
    loop {
        let mut batch = events
            .next_batch(ARCHIVE_BATCH)
            .await
            .with_context(|| format!("reading {}'s events table", archive.url))?;
        if batch.is_empty() {
            break;
        }
        read += batch.len();
        stage.process(&mut batch, &mut alerts).await?;
    }
    stage.on_close(&mut alerts).await?;
    Ok((alerts, read))
}

fn print(alerts: &[Alert], summary: &str, output: Output) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = (|| -> std::io::Result<()> {
        match output {
            Output::Human => {
                writeln!(out, "{summary}")?;
                for a in alerts {
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
                for a in alerts {
                    serde_json::to_writer(&mut out, a)?;
                    out.write_all(b"\n")?;
                }
                eprintln!("{summary}");
            }
        }
        out.flush()
    })();
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
