//! `palisade replay`: files through the whole pipeline on their own timestamps (time-machine
//! mode), into a throwaway in-memory store, then a summary or the alerts as JSON lines.

use crate::cli::{Output, ReplayArgs};
use crate::pipeline::{self, Embedded};
use anyhow::{bail, Result};
use palisade_ingest::source::{Mode, SourceConfig};
use palisade_publish::Store;
use palisade_runtime::clock::SystemClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

pub(crate) fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let cfg = crate::config::load(args.config.config.as_deref())?;
    // A replay prints its own summary: only warnings and errors are logged (RUST_LOG overrides).
    palisade_runtime::telemetry::init(&palisade_runtime::telemetry::LogSpec {
        level: "warn".into(),
        ..cfg.log.clone()
    });
    let mut labels: BTreeMap<String, String> = args.labels.into_iter().collect();
    labels.insert("type".into(), args.log_type.clone());
    let (stdin, files): (Vec<String>, Vec<String>) = args.files.into_iter().partition(|f| f == "-");
    let mut sources = Vec::new();
    if !files.is_empty() {
        sources.push(SourceConfig::replay_files(files, labels.clone()));
    }
    if !stdin.is_empty() {
        sources.push(SourceConfig::stdin(labels, Mode::Cat));
    }
    let report = super::runtime()?.block_on(pipeline::run(Embedded {
        sources,
        parsers: cfg.parsers,
        postoverflows: cfg.postoverflows,
        scenarios: cfg.scenarios,
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
        bail!("replay failed: {}", report.source_errors.join("; "));
    }
    let alerts = report.store.alerts(None, None)?;
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        report.lines as f64 / secs
    } else {
        0.0
    };
    let summary = format!(
        "replayed {} lines (type {}) in {:.2}s, {:.0} lines/s\n  parsed: {}  unparsed: {}\n  alerts: {}  decisions: {}",
        report.lines,
        args.log_type,
        secs,
        rate,
        report.parse.items_out,
        report.parse.items_in - report.parse.items_out,
        alerts.len(),
        report.publish.items_out,
    );
    match write_output(args.output, &summary, &alerts) {
        // A reader that went away (`palisade replay ... | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the summary and the alerts: for people, or one alert JSON per line (summary on stderr).
fn write_output(
    output: Output,
    summary: &str,
    alerts: &[palisade_schemas::Alert],
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match output {
        Output::Human => {
            writeln!(out, "{summary}")?;
            for a in alerts {
                writeln!(
                    out,
                    "  - {} (decisions: {})",
                    a.message,
                    a.decisions.as_ref().map_or(0, Vec::len)
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
}
