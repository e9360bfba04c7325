//! The YAML of a SQL scenario (`type: sql`), decoded strictly: an unknown key is a load error
//! naming the file, the line and the field.
//!
//! ```yaml
//! type: sql
//! name: palisade/sql-ssh-bf
//! description: "Many failed SSH logins from one address in a minute"
//! filter: evt.Meta.log_type == 'ssh_failed-auth'   # optional: the events windowed at all
//! window:
//!   type: tumbling          # tumbling | hopping | session
//!   size: 1m                # tumbling and hopping: the window's length
//!   slide: 10s              # hopping: how far each window starts after the previous one
//!   gap: 5m                 # session: a session ends after this long without an event
//!   key: source_ip          # session: the column sessions are kept per (or meta.K / parsed.K)
//!   allowed_lateness: 30s   # how long after its end a window waits for late events
//! query: |
//!   SELECT source_ip, count(*) AS attempts FROM events
//!   WHERE log_type = 'ssh_failed-auth' GROUP BY source_ip HAVING count(*) >= 5
//! alert:
//!   scope: Ip               # Ip (default), Range, or a custom scope
//!   value: source_ip        # result column: the alert's value (utf8, or a list: one per item)
//!   count: attempts         # optional integer column: the alert's events_count
//! labels: {remediation: true}
//! partition: source_ip      # Kafka mode: source_ip (default), a column, or global
//! ```

use palisade_runtime::config::lenient_string;
use serde::{Deserialize, Deserializer};

fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    lenient_string(d)
}

/// A SQL scenario as written in YAML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlScenarioSpec {
    /// Always `sql`.
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: String,
    /// The scenario's name, unique; alerts carry it.
    #[serde(deserialize_with = "lenient")]
    pub name: String,
    /// Free text.
    #[serde(deserialize_with = "lenient")]
    pub description: String,
    /// Format version (accepted, as in CrowdSec scenarios).
    #[serde(deserialize_with = "lenient")]
    pub format: String,
    /// The scenario version alerts carry.
    #[serde(deserialize_with = "lenient")]
    pub version: String,
    /// Links.
    pub references: Vec<String>,
    /// Optional expression (as a bucket scenario's `filter`): only the events it accepts are
    /// windowed, and, in Kafka mode, re-keyed for this scenario.
    #[serde(deserialize_with = "lenient")]
    pub filter: String,
    /// The window the query runs over.
    pub window: WindowSpec,
    /// The query over the table `events`, run once per window when it closes.
    #[serde(deserialize_with = "lenient")]
    pub query: String,
    /// From result rows to alerts.
    pub alert: AlertSpec,
    /// Free metadata; `remediation: true` makes alerts ask for a decision.
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// Kafka mode: the key events must be partitioned by for this scenario to see every event
    /// it needs (`source_ip`, the default; another column; or `global`).
    #[serde(deserialize_with = "lenient")]
    pub partition: String,
}

/// `window:` of a SQL scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSpec {
    /// `tumbling`, `hopping` or `session`.
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: String,
    /// Go duration: the length of tumbling and hopping windows.
    #[serde(deserialize_with = "lenient")]
    pub size: String,
    /// Go duration: the distance between the starts of two hopping windows; divides `size`.
    #[serde(deserialize_with = "lenient")]
    pub slide: String,
    /// Go duration: a session closes after this long without an event of its key.
    #[serde(deserialize_with = "lenient")]
    pub gap: String,
    /// Session windows: the column sessions are kept per (`source_ip`, `meta.user`, ...).
    #[serde(deserialize_with = "lenient")]
    pub key: String,
    /// Go duration: how long past its end a window stays open for late events (default 0s).
    #[serde(deserialize_with = "lenient")]
    pub allowed_lateness: String,
}

/// `alert:` of a SQL scenario: which result columns make the alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSpec {
    /// The scope of the sources: `Ip` (default), `Range`, or a custom scope.
    #[serde(deserialize_with = "lenient")]
    pub scope: String,
    /// The result column holding the value (utf8, or a list of utf8: one source per item).
    #[serde(deserialize_with = "lenient")]
    pub value: String,
    /// An integer result column giving `events_count` (default: the window's event count).
    #[serde(deserialize_with = "lenient")]
    pub count: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_unknown_fields() {
        let v = serde_json::json!({
            "type": "sql", "name": "a/b", "description": "d", "query": "SELECT 1",
            "window": {"type": "hopping", "size": "10m", "slide": "1m", "allowed_lateness": "5s"},
            "alert": {"scope": "Ip", "value": "source_ip", "count": "n"},
            "labels": {"remediation": true}, "partition": "global"
        });
        let s: SqlScenarioSpec = serde_json::from_value(v).unwrap();
        assert_eq!(s.window.slide, "1m");
        assert_eq!(s.alert.count, "n");
        let bad =
            serde_json::json!({"type": "sql", "window": {"type": "tumbling", "lenght": "1m"}});
        let e = serde_json::from_value::<SqlScenarioSpec>(bad).unwrap_err();
        assert!(e.to_string().contains("unknown field `lenght`"), "{e}");
    }
}
