//! `palisade run`: the live pipeline on the configured sources, until SIGINT/SIGTERM.

use crate::cli::RunArgs;
use crate::pipeline::{self, Embedded};
use anyhow::{bail, Context, Result};
use palisade_publish::Store;
use palisade_runtime::clock::SystemClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use std::process::ExitCode;
use std::sync::Arc;

pub(crate) fn run(args: RunArgs) -> Result<ExitCode> {
    let mut cfg = crate::config::load(args.config.config.as_deref())?;
    palisade_runtime::telemetry::init(&cfg.log);
    if !args.role.is_empty() {
        return super::roles::run(cfg, &args.role);
    }
    if cfg.sources.is_empty() && cfg.api.is_none() && cfg.archive.is_none() {
        bail!(
            "{}: no sources configured: add a `sources:` list (or serve only the Local API with `api.listen`)",
            cfg.origin
        );
    }
    let store = Store::open(&cfg.storage.path)
        .with_context(|| format!("opening the store {}", cfg.storage.path.display()))?;
    super::runtime()?.block_on(async move {
        let metrics = Registry::new();
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        if let Some(addr) = cfg.metrics {
            let (bound, _) =
                palisade_runtime::http::serve_metrics(addr, metrics.clone(), shutdown.clone())
                    .await
                    .with_context(|| format!("binding the metrics endpoint {addr}"))?;
            tracing::info!(%bound, "Metrics at http://{bound}/metrics");
        }
        let api = super::api::start(&mut cfg, &metrics, &shutdown)
            .await?
            .map(|(task, _)| task);
        let (archive, archive_events) = match super::api::start_archive(&cfg, &metrics, &shutdown)?
        {
            Some((task, events)) => (Some(task), events),
            None => (None, None),
        };
        if cfg.sources.is_empty() {
            // Local API only: agents push alerts to it. No pipeline, so no events to archive.
            drop(archive_events);
            tracing::info!(config = %cfg.origin, "Palisade started (Local API only).");
            shutdown.wait().await;
            if let Some(api) = api {
                api.await.context("Local API panicked")?;
            }
            if let Some(archive) = archive {
                archive.await.context("archive panicked")?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        tracing::info!(config = %cfg.origin, sources = cfg.sources.len(), "Palisade started.");
        let report = pipeline::run(Embedded {
            sources: cfg.sources,
            parsers: cfg.parsers,
            postoverflows: cfg.postoverflows,
            scenarios: cfg.scenarios,
            max_buckets: cfg.max_buckets,
            profiles: cfg.profiles,
            notify: true,
            bus: &cfg.bus,
            storage: &cfg.storage,
            store,
            shutdown,
            metrics,
            clock: Arc::new(SystemClock),
            archive_events,
        })
        .await?;
        if let Some(api) = api {
            api.await.context("Local API panicked")?;
        }
        // The archive's last step runs after the pipeline drained into the store.
        if let Some(archive) = archive {
            archive.await.context("archive panicked")?;
        }
        tracing::info!(
            lines = report.lines,
            parsed_in = report.parse.items_in,
            parsed_out = report.parse.items_out,
            events = report.detect.items_in,
            alerts = report.publish.items_in,
            decisions = report.publish.items_out,
            "Palisade stopped; pipeline drained."
        );
        Ok(if report.source_errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
