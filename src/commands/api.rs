//! Starting the Local API next to the pipeline (`palisade run` with `api.listen` set).

use crate::config::Config;
use anyhow::{Context, Result};
use palisade_publish::lapi::{self, auth::Jwt, DecisionIndex, LapiState};
use palisade_publish::{Profiles, Store};
use palisade_runtime::clock::SystemClock;
use palisade_runtime::metrics::Registry;
use palisade_runtime::shutdown::Shutdown;
use std::sync::Arc;

/// Opens the API's own connection to the store, loads the decision index and serves the Local
/// API until shutdown. `None` when the API is not configured; else the server task and the
/// index it serves (a Kafka-mode replica also feeds it from the decision topic).
pub(crate) async fn start(
    cfg: &mut Config,
    metrics: &Registry,
    shutdown: &Shutdown,
) -> Result<Option<(tokio::task::JoinHandle<()>, DecisionIndex)>> {
    let Some(api) = cfg.api.clone() else {
        return Ok(None);
    };
    if cfg.storage.is_in_memory() {
        tracing::warn!("storage.path is \":memory:\": the Local API gets a store of its own and does not see the pipeline's decisions.");
    }
    let store = cfg.storage.open().with_context(|| {
        format!(
            "opening the store {} for the Local API",
            cfg.storage.path.display()
        )
    })?;
    let profiles = cfg
        .api_profiles
        .take()
        .unwrap_or_else(Profiles::default_profiles);
    let jwt = Jwt::from_env_or_random().map_err(anyhow::Error::msg)?;
    let state = Arc::new(LapiState::new(
        store,
        DecisionIndex::new(),
        Arc::new(profiles),
        jwt,
        Arc::new(SystemClock),
        api.clone(),
        cfg.storage.decision_retention,
        metrics,
    ));
    let index = state.index().clone();
    let (bound, handle) = lapi::serve(state, shutdown.clone())
        .await
        .with_context(|| format!("starting the Local API on {}", api.listen))?;
    tracing::info!(%bound, "Local API at http://{bound}/");
    Ok(Some((handle, index)))
}

/// The archive's follower task, and the sender of parsed events when `archive.events` is on.
pub(crate) type ArchiveTask = (
    tokio::task::JoinHandle<()>,
    Option<tokio::sync::mpsc::Sender<palisade_publish::archive::EventRow>>,
);

/// Starts the ClickHouse archive's follower on its own connection to the store. `None` when the
/// archive is not configured.
pub(crate) fn start_archive(
    cfg: &Config,
    metrics: &Registry,
    shutdown: &Shutdown,
) -> Result<Option<ArchiveTask>> {
    let Some(archive) = cfg.archive.clone() else {
        return Ok(None);
    };
    if cfg.storage.is_in_memory() {
        tracing::warn!("storage.path is \":memory:\": the archive gets a store of its own and does not see the pipeline's alerts.");
    }
    let url = archive.url.clone();
    let (events_tx, events_rx) = if archive.events {
        let (tx, rx) = tokio::sync::mpsc::channel(65_536);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let writer = palisade_publish::archive::Archive::new(archive, metrics)?;
    let follower = palisade_publish::archive::ArchiveFollower::new(writer, open_store(cfg)?)?;
    tracing::info!(%url, "ClickHouse archive on.");
    Ok(Some((
        tokio::spawn(follower.run(events_rx, shutdown.clone())),
        events_tx,
    )))
}

/// Opens the configured store for a command-line tool.
pub(crate) fn open_store(cfg: &Config) -> Result<Store> {
    cfg.storage
        .open()
        .with_context(|| format!("opening the store {}", cfg.storage.path.display()))
}
