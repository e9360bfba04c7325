//! `palisade run --role ...`: the distributed mode's roles, until SIGINT/SIGTERM.

use crate::config::Config;
use crate::kafka::roles::{self, Role, Roles};
use anyhow::{Context, Result};
use palisade_publish::Store;
use palisade_runtime::clock::SystemClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use std::process::ExitCode;
use std::sync::Arc;

pub(crate) fn run(mut cfg: Config, role: &[Role]) -> Result<ExitCode> {
    let kafka = cfg.kafka.clone().with_context(|| {
        format!(
            "{}: --role needs a `kafka:` section (brokers and topics)",
            cfg.origin
        )
    })?;
    let wanted = Role::expand(role);
    if role.contains(&Role::Api) && cfg.api.is_none() {
        anyhow::bail!("{}: --role api needs an `api:` section", cfg.origin);
    }
    let store = if wanted.contains(&Role::Publish) {
        Some(
            Store::open(&cfg.storage.path)
                .with_context(|| format!("opening the store {}", cfg.storage.path.display()))?,
        )
    } else {
        None
    };
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
        tracing::info!(roles = ?wanted, brokers = %kafka.spec.brokers.join(","), "Palisade roles starting.");
        let clock: palisade_runtime::clock::SharedClock = Arc::new(SystemClock);
        let api = match super::api::start(&mut cfg, &metrics, &shutdown).await? {
            Some((task, index)) => {
                // A replica's decisions come from the decision topic.
                tokio::spawn(crate::kafka::decisions::follow(
                    kafka.clone(),
                    index,
                    clock.clone(),
                    shutdown.clone(),
                    metrics.clone(),
                ));
                Some(task)
            }
            None => None,
        };
        let report = roles::run(Roles {
            kafka: &kafka,
            roles: wanted,
            parsers: Some(cfg.parsers),
            postoverflows: Some(cfg.postoverflows),
            scenarios: Some(cfg.scenarios),
            max_buckets: cfg.max_buckets,
            store,
            storage: &cfg.storage,
            profiles: Some(cfg.profiles),
            shutdown: shutdown.clone(),
            metrics,
            clock,
        })
        .await?;
        if let Some(api) = api {
            api.await.context("Local API panicked")?;
        }
        tracing::info!(?report, "Palisade roles stopped; offsets committed.");
        Ok(ExitCode::SUCCESS)
    })
}
