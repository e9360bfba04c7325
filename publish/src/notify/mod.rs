//! Notifications: once an alert is stored, the notifications its matching profiles name are
//! sent, off the pipeline's path.
//!
//! ```text
//! PublishStage ──notify(names, alert)──► bounded queue ──► NotifierWorker ──► webhook / command
//!                 (never waits: a full                      (a few deliveries at once, each
//!                  queue drops and counts)                   retried with backoff)
//! ```
//!
//! * [`Notifier`]: the stage's handle. [`Notifier::notify`] never blocks: when the queue is full
//!   the notification is dropped, logged and counted in
//!   `palisade_publish_notifications_dropped_total`.
//! * [`NotifierWorker`]: the task that delivers (spawn [`NotifierWorker::run`]; it ends once
//!   every [`Notifier`] is dropped and the queued notifications are delivered). Each delivery
//!   renders the template for the alert (a one-alert list), then tries `max_retry + 1` times,
//!   each attempt bounded by `timeout`, waiting between attempts from `initial_backoff`
//!   doubling up to `max_backoff`. Successes count in
//!   `palisade_publish_notifications_sent_total{type}`, deliveries that failed every attempt (or
//!   whose template failed) in `palisade_publish_notifications_failed_total{type}`.
//! * [`spec`]: the configuration; [`template`]: the Go-template subset; [`webhook`] and
//!   [`command`]: the two kinds.
//!
//! Differences with CrowdSec's plugin broker: no `group_wait`/`group_threshold` (each alert is
//! sent alone), kinds are built in (no plugin binaries), and a webhook answering outside 2xx
//! is a failure.

pub mod command;
pub mod spec;
pub mod template;
#[cfg(test)]
mod tests;
pub mod webhook;

pub use spec::{Channel, NotificationConfig, NotificationSpec};
pub use template::{Template, TemplateError};

use crate::metrics::{NOTIFICATIONS_DROPPED, NOTIFICATIONS_FAILED, NOTIFICATIONS_SENT};
use palisade_runtime::metrics::{Counter, Registry};
use palisade_schemas::Alert;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How the notifier queues and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierOptions {
    /// Notifications waiting for delivery before new ones are dropped.
    pub queue: usize,
    /// Deliveries in progress at once.
    pub concurrency: usize,
    /// The wait after the first failed attempt.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue: 1024,
            concurrency: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// One notification to deliver.
struct Job {
    target: usize,
    alert: Arc<Alert>,
}

/// A configured notification with its counters.
struct Target {
    config: NotificationConfig,
    sent: Counter,
    failed: Counter,
}

/// The stage's handle on the notifications.
pub struct Notifier {
    tx: Option<mpsc::Sender<Job>>,
    index: HashMap<String, usize>,
    dropped: Option<Counter>,
}

/// The task delivering notifications.
pub struct NotifierWorker {
    rx: mpsc::Receiver<Job>,
    targets: Arc<[Target]>,
    options: NotifierOptions,
}

impl Notifier {
    /// A notifier without notifications: [`Notifier::notify`] does nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            tx: None,
            index: HashMap::new(),
            dropped: None,
        }
    }

    /// A notifier for `notifications` and the worker that delivers them (to spawn:
    /// `tokio::spawn(worker.run())`).
    pub fn new(
        notifications: Vec<NotificationConfig>,
        options: NotifierOptions,
        metrics: &Registry,
    ) -> (Notifier, NotifierWorker) {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let index = notifications
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let targets: Arc<[Target]> = notifications
            .into_iter()
            .map(|config| {
                let kind = config.channel.kind();
                Target {
                    sent: metrics.counter(&NOTIFICATIONS_SENT, &[("type", kind)]),
                    failed: metrics.counter(&NOTIFICATIONS_FAILED, &[("type", kind)]),
                    config,
                }
            })
            .collect();
        let notifier = Notifier {
            tx: Some(tx),
            index,
            dropped: Some(metrics.counter(&NOTIFICATIONS_DROPPED, &[])),
        };
        (
            notifier,
            NotifierWorker {
                rx,
                targets,
                options,
            },
        )
    }

    /// Whether any notification is configured.
    pub fn is_enabled(&self) -> bool {
        self.tx.is_some() && !self.index.is_empty()
    }

    /// Queues `alert` (stored, with its decisions) for each notification in `names`, without
    /// waiting. Unknown names are logged; a full queue drops and counts.
    pub fn notify(&self, names: &[String], alert: &Alert) {
        if names.is_empty() {
            return;
        }
        let Some(tx) = &self.tx else {
            tracing::debug!(?names, "Notifications are not configured; not sent.");
            return;
        };
        let alert = Arc::new(alert.clone());
        for name in names {
            let Some(&target) = self.index.get(name) else {
                tracing::error!(notification = %name, "Notification is not configured; not sent.");
                continue;
            };
            let job = Job {
                target,
                alert: alert.clone(),
            };
            match tx.try_send(job) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    if let Some(c) = &self.dropped {
                        c.inc();
                    }
                    tracing::warn!(notification = %name, alert = %alert.uuid,
                        "Notification queue full; notification dropped.");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    if let Some(c) = &self.dropped {
                        c.inc();
                    }
                    tracing::warn!(notification = %name, "Notifier stopped; notification dropped.");
                }
            }
        }
    }
}

impl NotifierWorker {
    /// Delivers notifications until every [`Notifier`] is dropped, then finishes the queued and
    /// running deliveries.
    pub async fn run(mut self) {
        let mut running = JoinSet::new();
        let limit = self.options.concurrency.max(1);
        while let Some(job) = self.rx.recv().await {
            while running.len() >= limit {
                running.join_next().await;
            }
            let targets = self.targets.clone();
            let options = self.options.clone();
            running.spawn(async move {
                if let Some(target) = targets.get(job.target) {
                    deliver(target, &job.alert, &options).await;
                }
            });
        }
        while running.join_next().await.is_some() {}
    }
}

/// Renders and sends one notification, retrying as configured.
async fn deliver(target: &Target, alert: &Alert, options: &NotifierOptions) {
    let cfg = &target.config;
    let body = match cfg.template.render_alerts(std::slice::from_ref(alert)) {
        Ok(body) => body,
        Err(e) => {
            target.failed.inc();
            tracing::error!(notification = %cfg.name, error = %e, "Notification template failed.");
            return;
        }
    };
    let attempts = cfg.max_retry.saturating_add(1);
    let mut wait = options.initial_backoff;
    for attempt in 1..=attempts {
        let send = async {
            match &cfg.channel {
                Channel::Webhook(w) => w.send(body.clone()).await,
                Channel::Command(c) => c.run(body.clone()).await,
            }
        };
        let result = match tokio::time::timeout(cfg.timeout, send).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {:?}", cfg.timeout)),
        };
        match result {
            Ok(()) => {
                target.sent.inc();
                tracing::debug!(notification = %cfg.name, alert = %alert.uuid, "Notification sent.");
                return;
            }
            Err(e) if attempt == attempts => {
                target.failed.inc();
                tracing::error!(notification = %cfg.name, alert = %alert.uuid, attempts, error = %e,
                    "Notification failed; giving up.");
                return;
            }
            Err(e) => {
                tracing::warn!(notification = %cfg.name, attempt, error = %e, next = ?wait,
                    "Notification attempt failed; retrying.");
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2).min(options.max_backoff);
            }
        }
    }
}
