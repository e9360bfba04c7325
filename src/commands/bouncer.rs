//! `palisade bouncer -c FILE`: enforces decisions (see docs/BOUNCER.md and `palisade_bounce`).

use crate::cli::BouncerArgs;
use anyhow::{Context, Result};
use palisade_bounce::config::Source;
use palisade_bounce::engine::SourceEvent;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use std::process::ExitCode;

pub(crate) fn run(args: BouncerArgs) -> Result<ExitCode> {
    let cfg = palisade_bounce::config::load(&args.config)?;
    if args.check {
        println!(
            "{}: valid ({} backend{})",
            cfg.origin,
            cfg.backends.len(),
            if cfg.backends.len() == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::SUCCESS);
    }
    palisade_runtime::telemetry::init(&cfg.log);
    super::runtime()?.block_on(async move {
        let metrics = Registry::new();
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        if cfg.metrics.enabled {
            let addr = cfg.metrics.addr().map_err(anyhow::Error::msg)?;
            let (bound, _) =
                palisade_runtime::http::serve_metrics(addr, metrics.clone(), shutdown.clone())
                    .await
                    .with_context(|| format!("binding the metrics endpoint {addr}"))?;
            tracing::info!(%bound, "Metrics at http://{bound}/metrics");
        }
        let (engine, http) = palisade_bounce::build(&cfg, metrics.clone())?;
        let http_task = match http {
            Some(state) => {
                let (bound, task) = palisade_bounce::http::serve(state, shutdown.clone()).await?;
                tracing::info!(%bound, "Forward-auth at http://{bound}/auth");
                Some(task)
            }
            None => None,
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<SourceEvent>(64);
        let source = match cfg.source.clone() {
            Source::Kafka(spec) => {
                let t = crate::kafka::bouncer::spawn(spec, tx, shutdown.clone());
                tokio::task::spawn_blocking(move || {
                    let _ = t.join();
                })
            }
            Source::Lapi {
                spec,
                interval,
                timeout,
            } => tokio::spawn(palisade_bounce::lapi::run(
                spec.url,
                spec.api_key,
                spec.scopes,
                interval,
                timeout,
                tx,
                shutdown.clone(),
            )),
        };
        tracing::info!(config = %cfg.origin, backends = cfg.backends.len(), "Bouncer started.");
        engine.run(rx, shutdown.clone()).await;
        shutdown.trigger();
        let _ = source.await;
        if let Some(t) = http_task {
            let _ = t.await;
        }
        tracing::info!("Bouncer stopped.");
        Ok(ExitCode::SUCCESS)
    })
}
