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
