//! The publish stage: alerts in, decisions out.
//!
//! For each alert: refuse it if malformed (no scenario or no source value: counted, skipped, and
//! the batch reports one [`StageError::User`] once the other alerts are done), give it a uuid if
//! it has none, apply the [`Profiles`] (an evaluation error in a profile without `on_error`
//! refuses the alert the same way, counted in `palisade_publish_profile_errors_total`), store it
//! with its decisions in one transaction, emit the decisions the store did not already hold, and
//! hand a newly stored alert to the [`Notifier`] for the notifications of its matching profiles
//! (never waiting for them). Profile expressions calling `GetDecisionsCount` and the other
//! decision-store helpers read the stage's store. Store failures are retried a few times, then the
//! batch fails with [`StageError::External`] (alerts already stored keep their decisions emitted).
//! Every `prune_interval` the store is pruned with the runner's time.
//!
//! The stage owns its [`Store`]. `run_stage` hands the stage back when it stops, so the caller
//! reads what was stored with [`PublishStage::store`] or [`PublishStage::into_store`]
//! (`palisade replay --output json` prints every alert with its decisions). Readers running at
//! the same time (the Local API) open their own connection to the same file: WAL lets them read
//! while the stage writes.

use crate::metrics::{
    ALERTS_PRUNED, ALERTS_REJECTED, ALERTS_STORED, DECISIONS_CREATED, DECISIONS_PRUNED,
    PROFILE_ERRORS, STORE_ERRORS,
};
use crate::store::{self, Inserted};
use crate::{Notifier, Profiles, StorageConfig, Store};
use chrono::{DateTime, Utc};
use palisade_runtime::clock::{SharedClock, SystemClock};
use palisade_runtime::metrics::{Counter, Registry};
use palisade_runtime::stage::Stage;
use palisade_runtime::StageError;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Alert, Decision};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How many times a store write is tried before the batch fails.
const ATTEMPTS: u32 = 3;
/// The wait before the second attempt; it grows linearly.
const BACKOFF: Duration = Duration::from_millis(50);

/// The publish stage.
pub struct PublishStage {
    store: Store,
    profiles: Profiles,
    notifier: Notifier,
    clock: SharedClock,
    alert_retention: Duration,
    decision_retention: Duration,
    prune_interval: Duration,
    metrics: StageMetrics,
}

struct StageMetrics {
    registry: Registry,
    stored: Counter,
    rejected: Counter,
    profile_errors: Counter,
    store_errors: Counter,
    alerts_pruned: Counter,
    decisions_pruned: Counter,
    created: HashMap<String, Counter>,
}

impl StageMetrics {
    fn created(&mut self, kind: &str) -> &Counter {
        if !self.created.contains_key(kind) {
            let c = self.registry.counter(&DECISIONS_CREATED, &[("type", kind)]);
            self.created.insert(kind.to_string(), c);
        }
        &self.created[kind]
    }
}

impl PublishStage {
    /// A stage writing into `store`, deciding with `profiles`, notifying through `notifier`,
    /// pruning as `cfg` says, on the wall clock (see [`PublishStage::with_clock`]).
    pub fn new(
        store: Store,
        profiles: Profiles,
        notifier: Notifier,
        cfg: &StorageConfig,
        metrics: &Registry,
    ) -> Self {
        PublishStage {
            store,
            profiles,
            notifier,
            clock: Arc::new(SystemClock),
            alert_retention: cfg.alert_retention,
            decision_retention: cfg.decision_retention,
            prune_interval: cfg.prune_interval,
            metrics: StageMetrics {
                registry: metrics.clone(),
                stored: metrics.counter(&ALERTS_STORED, &[]),
                rejected: metrics.counter(&ALERTS_REJECTED, &[]),
                profile_errors: metrics.counter(&PROFILE_ERRORS, &[]),
                store_errors: metrics.counter(&STORE_ERRORS, &[]),
                alerts_pruned: metrics.counter(&ALERTS_PRUNED, &[]),
                decisions_pruned: metrics.counter(&DECISIONS_PRUNED, &[]),
                created: HashMap::new(),
            },
        }
    }

    /// Uses `clock` for the time alerts are stored at and decisions fall back to (give the same
    /// clock as the runner's; a replay gives event time).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The store, to read what was stored.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, once the stage is done (`run_stage` returns the stage when it stops).
    pub fn into_store(self) -> Store {
        self.store
    }

    /// Stores one alert, retrying a failing store; counts every failed attempt.
    async fn insert(&mut self, alert: &Alert, now: DateTime<Utc>) -> Result<Inserted, StageError> {
        let mut attempt = 1;
        loop {
            let result = self.store.insert(alert, now);
            match result {
                Ok(done) => return Ok(done),
                Err(e) => {
                    self.metrics.store_errors.inc();
                    if attempt >= ATTEMPTS {
                        return Err(StageError::External(format!(
                            "storing alert {} failed {attempt} times: {e}",
                            alert.uuid
                        )));
                    }
                    tracing::warn!(error = %e, attempt, "Store write failed; retrying.");
                    tokio::time::sleep(BACKOFF * attempt).await;
                    attempt += 1;
                }
            }
        }
    }
}

impl Stage for PublishStage {
    type In = Alert;
    type Out = Decision;

    fn name(&self) -> &'static str {
        "publish"
    }

    /// Alerts are taken from the front of `items`; when the store stays down, the alert that
    /// failed and those after it are left in `items` for the runner to retry after a backoff.
    async fn process(
        &mut self,
        items: &mut Vec<Alert>,
        out: &mut Vec<Decision>,
    ) -> Result<(), StageError> {
        let now = self.clock.now();
        let mut rejected: Vec<String> = Vec::new();
        // Reverse once so that taking the next alert is a cheap pop; restored on failure.
        items.reverse();
        while let Some(mut alert) = items.pop() {
            if let Err(e) = store::validate(&alert) {
                self.metrics.rejected.inc();
                rejected.push(e.to_string());
                continue;
            }
            if alert.uuid.is_empty() {
                alert.uuid = crate::profile::alert_uuid(&alert);
            }
            let applied = match self.profiles.apply(&mut alert, now, &self.store) {
                Ok(applied) => applied,
                Err(e) => {
                    self.metrics.profile_errors.inc();
                    tracing::warn!(alert = %alert.uuid, error = %e, "Profile evaluation failed; alert refused.");
                    rejected.push(format!("alert {}: {e}", alert.uuid));
                    continue;
                }
            };
            let done = match self.insert(&alert, now).await {
                Ok(done) => done,
                Err(e) => {
                    items.push(alert);
                    items.reverse();
                    return Err(e);
                }
            };
            if done.new {
                self.metrics.stored.inc();
            }
            for d in &done.decisions {
                self.metrics.created(&d.kind).inc();
            }
            if done.new && !applied.notifications.is_empty() {
                self.notifier
                    .notify(&applied.notifications, &stored(alert, &done, now));
            }
            out.extend(done.decisions);
        }
        match rejected.first() {
            None => Ok(()),
            Some(first) => Err(StageError::User(format!(
                "{} alert(s) refused, first: {first}",
                rejected.len()
            ))),
        }
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(self.prune_interval)
    }

    /// Prunes the store. A failure is logged and counted, never fatal: the next tick retries.
    async fn on_tick(
        &mut self,
        now: DateTime<Utc>,
        _out: &mut Vec<Decision>,
    ) -> Result<(), StageError> {
        let result = self
            .store
            .prune(now, self.alert_retention, self.decision_retention);
        match result {
            Ok((alerts, decisions)) => {
                self.metrics.alerts_pruned.add(alerts as u64);
                self.metrics.decisions_pruned.add(decisions as u64);
                if alerts + decisions > 0 {
                    tracing::debug!(alerts, decisions, "Store pruned.");
                }
            }
            Err(e) => {
                self.metrics.store_errors.inc();
                tracing::warn!(error = %e, "Store pruning failed; will retry at the next tick.");
            }
        }
        Ok(())
    }
}

/// The alert as stored, for notifications: its store id, storage time and decisions with ids.
fn stored(mut alert: Alert, done: &Inserted, now: DateTime<Utc>) -> Alert {
    alert.id = done.id;
    alert.created_at = format_rfc3339_nano(&now);
    for d in alert.decisions.iter_mut().flatten() {
        if let Some(s) = done.decisions.iter().find(|s| s.uuid == d.uuid) {
            *d = s.clone();
        }
    }
    alert
}

#[cfg(test)]
mod tests;
