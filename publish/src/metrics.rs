//! The publish stage's metrics, one `static` per metric (see `palisade_runtime::metrics`).

use palisade_runtime::metrics::MetricDef;

/// Alerts newly written to the store (a re-delivered alert is not counted twice).
pub static ALERTS_STORED: MetricDef = MetricDef::counter(
    "palisade_publish_alerts_stored_total",
    "Alerts written to the store.",
);

/// Decisions created, by decision type (`ban`, `captcha`, ...).
pub static DECISIONS_CREATED: MetricDef = MetricDef::counter(
    "palisade_publish_decisions_created_total",
    "Decisions created and stored, by type.",
);

/// Alerts refused as malformed (no scenario, no source value).
pub static ALERTS_REJECTED: MetricDef = MetricDef::counter(
    "palisade_publish_alerts_rejected_total",
    "Alerts refused because they were malformed.",
);

/// Failed store operations (each failed attempt counts, retries included).
pub static STORE_ERRORS: MetricDef = MetricDef::counter(
    "palisade_publish_store_errors_total",
    "Store operations that failed, retries included.",
);

/// Alerts removed by retention pruning.
pub static ALERTS_PRUNED: MetricDef = MetricDef::counter(
    "palisade_publish_alerts_pruned_total",
    "Alerts removed from the store by retention pruning.",
);

/// Expired decisions removed by retention pruning.
pub static DECISIONS_PRUNED: MetricDef = MetricDef::counter(
    "palisade_publish_decisions_pruned_total",
    "Expired decisions removed from the store by retention pruning.",
);

/// Alerts refused because a profile failed to evaluate and has no `on_error`.
pub static PROFILE_ERRORS: MetricDef = MetricDef::counter(
    "palisade_publish_profile_errors_total",
    "Alerts refused because a profile filter failed and the profile has no on_error.",
);

/// Notifications delivered, by type (`webhook`, `command`).
pub static NOTIFICATIONS_SENT: MetricDef = MetricDef::counter(
    "palisade_publish_notifications_sent_total",
    "Notifications delivered, by type.",
);

/// Notifications given up after every attempt failed (or whose template failed), by type.
pub static NOTIFICATIONS_FAILED: MetricDef = MetricDef::counter(
    "palisade_publish_notifications_failed_total",
    "Notifications that failed every attempt, by type.",
);

/// Notifications dropped because the queue was full.
pub static NOTIFICATIONS_DROPPED: MetricDef = MetricDef::counter(
    "palisade_publish_notifications_dropped_total",
    "Notifications dropped because the notification queue was full.",
);

/// Local API requests, by route, method and status code.
pub static API_REQUESTS: MetricDef = MetricDef::counter(
    "palisade_publish_api_requests_total",
    "Local API requests, by route, method and status code.",
);

/// Decisions in force in the Local API's decision index.
pub static API_DECISIONS_ACTIVE: MetricDef = MetricDef::gauge(
    "palisade_publish_api_decisions_active",
    "Decisions in force in the Local API's decision index (updated at each sync).",
);

/// Usage-metrics reports received (`POST /v1/usage-metrics`), by sender kind.
pub static USAGE_METRICS_RECEIVED: MetricDef = MetricDef::counter(
    "palisade_publish_usage_metrics_received_total",
    "Usage-metrics reports received from bouncers and agents, by kind.",
);

/// Alerts received from machines through the Local API.
pub static API_ALERTS_RECEIVED: MetricDef = MetricDef::counter(
    "palisade_publish_api_alerts_received_total",
    "Alerts pushed by machines (agents, cscli) to the Local API.",
);

/// Rows inserted into the ClickHouse archive, by table.
pub static ARCHIVE_ROWS: MetricDef = MetricDef::counter(
    "palisade_publish_archive_rows_total",
    "Rows inserted into the ClickHouse archive, by table.",
);

/// Failed ClickHouse operations (each attempt counts).
pub static ARCHIVE_ERRORS: MetricDef = MetricDef::counter(
    "palisade_publish_archive_errors_total",
    "ClickHouse inserts or spool drains that failed, each attempt counted.",
);

/// Batches written to the spool because ClickHouse was unreachable.
pub static ARCHIVE_SPOOLED: MetricDef = MetricDef::counter(
    "palisade_publish_archive_spooled_batches_total",
    "Archive batches written to the on-disk spool while ClickHouse was unreachable.",
);

/// Batches waiting in the spool.
pub static ARCHIVE_SPOOL_FILES: MetricDef = MetricDef::gauge(
    "palisade_publish_archive_spool_batches",
    "Archive batches waiting in the on-disk spool.",
);
