//! The embedded store: alerts and their decisions in one SQLite file, in WAL mode so that readers
//! (the Local API, `cscli`) never wait for the writer.
//!
//! * Writes are idempotent for at-least-once delivery: an alert whose uuid is already stored is
//!   not stored again, and a decision whose uuid is already stored is not inserted again.
//! * Deleting a decision expires it (`until = now`) instead of removing the row, so that the
//!   decision stream can tell bouncers about it. [`Store::prune`] removes the rows later.
//! * The API is synchronous. Calls are short; call them directly or from `spawn_blocking`.

mod history;
mod lapi;
mod rows;
mod schema;
#[cfg(test)]
mod tests;

use crate::profile::complete_decision;
use crate::PublishError;
use chrono::{DateTime, Utc};
use palisade_schemas::time::{format_rfc3339_nano, parse_rfc3339};
use palisade_schemas::{normalize_scope, Alert, Decision};
use rows::{cutoff, to_nanos, DECISION_COLUMNS};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

pub use lapi::{BouncerRecord, DecisionChange, MachineRecord};
pub use schema::SCHEMA_VERSION;

/// The SQLite store of alerts and decisions.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

/// Which active decisions [`Store::delete_decisions`] expires: every field that is set must match
/// exactly (the scope after normalisation). An empty filter matches every active decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionFilter {
    /// The decision's store id.
    pub id: Option<i64>,
    /// The decision's uuid.
    pub uuid: Option<String>,
    /// `Ip`, `Range`, ... (`ip` is accepted).
    pub scope: Option<String>,
    /// The banned value.
    pub value: Option<String>,
    /// The decision type (`ban`).
    pub kind: Option<String>,
    /// `crowdsec`, `cscli`, ...
    pub origin: Option<String>,
    /// The scenario.
    pub scenario: Option<String>,
}

/// What [`Store::insert`] did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inserted {
    /// The alert's id (the existing one if the alert was already stored).
    pub(crate) id: i64,
    /// The decisions inserted by this call, with their ids.
    pub(crate) decisions: Vec<Decision>,
    /// Whether the alert was new.
    pub(crate) new: bool,
}

/// Refuses alerts that cannot be stored or acted upon.
pub(crate) fn validate(alert: &Alert) -> Result<(), PublishError> {
    if alert.scenario.trim().is_empty() {
        return Err(PublishError::InvalidAlert(
            "the alert has no scenario".into(),
        ));
    }
    if alert.source.value.trim().is_empty() {
        return Err(PublishError::InvalidAlert(format!(
            "the alert for {} has no source value",
            alert.scenario
        )));
    }
    Ok(())
}

impl Store {
    /// Opens the database file at `path` (created if missing; `:memory:` for an in-memory store),
    /// switches it to WAL and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, PublishError> {
        let mut conn = Connection::open(path)?;
        schema::prepare(&mut conn)?;
        Ok(Store { conn })
    }

    /// An in-memory store: nothing survives the process.
    pub fn open_in_memory() -> Result<Store, PublishError> {
        let mut conn = Connection::open_in_memory()?;
        schema::prepare(&mut conn)?;
        Ok(Store { conn })
    }

    /// The connection, for tests that need to break it.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The database's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, PublishError> {
        schema::version(&self.conn)
    }

    /// The journal mode: `wal` for a file, `memory` in memory.
    pub fn journal_mode(&self) -> Result<String, PublishError> {
        Ok(self
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?)
    }

    /// Stores `alert` and its `decisions` in one transaction, stamped `created_at = now`.
    ///
    /// Returns the alert's id and the decisions this call inserted, with their ids. An alert
    /// whose uuid is already stored is not stored again (its id is returned with no decisions),
    /// and a decision whose uuid is already stored is skipped. An alert without uuid gets a
    /// random one; a decision without `uuid` or `until` is completed as the profile does.
    pub fn insert_alert(
        &mut self,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<(i64, Vec<Decision>), PublishError> {
        let done = self.insert(alert, now)?;
        Ok((done.id, done.decisions))
    }

    /// [`Store::insert_alert`], also telling whether the alert was new.
    pub(crate) fn insert(
        &mut self,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<Inserted, PublishError> {
        validate(alert)?;
        let uuid = if alert.uuid.is_empty() {
            crate::profile::alert_uuid(alert)
        } else {
            alert.uuid.clone()
        };
        let tx = self.conn.transaction()?;
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM alerts WHERE uuid = ?1", [&uuid], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(id) = existing {
            return Ok(Inserted {
                id,
                decisions: Vec::new(),
                new: false,
            });
        }
        let created = to_nanos(now);
        let stop_at = parse_rfc3339(&alert.stop_at).map_or(created, to_nanos);
        let body = Alert {
            id: 0,
            uuid: uuid.clone(),
            created_at: format_rfc3339_nano(&now),
            decisions: None,
            ..alert.clone()
        };
        tx.execute(
            "INSERT INTO alerts (uuid, scenario, scope, value, simulated, created_at, stop_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                uuid,
                alert.scenario,
                alert.source.scope,
                alert.source.value,
                alert.simulated,
                created,
                stop_at,
                serde_json::to_string(&body)?
            ],
        )?;
        let id = tx.last_insert_rowid();
        let mut decisions = Vec::new();
        for d in alert.decisions.iter().flatten() {
            let mut d = d.clone();
            complete_decision(&mut d, &alert.stop_at, now);
            let until = d.until.map_or(created, to_nanos);
            let inserted = tx.execute(
                "INSERT INTO decisions
                   (uuid, alert_id, origin, scenario, scope, value, type, duration, until, created_at, simulated, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                         (SELECT COALESCE(MAX(seq), 0) + 1 FROM decisions))
                 ON CONFLICT (uuid) DO NOTHING",
                params![
                    d.uuid,
                    id,
                    d.origin,
                    d.scenario,
                    d.scope,
                    d.value,
                    d.kind,
                    d.duration,
                    until,
                    created,
                    d.simulated.unwrap_or(alert.simulated)
                ],
            )?;
            if inserted == 1 {
                d.id = tx.last_insert_rowid();
                d.simulated = Some(d.simulated.unwrap_or(alert.simulated));
                decisions.push(d);
            }
        }
        tx.commit()?;
        Ok(Inserted {
            id,
            decisions,
            new: true,
        })
    }

    /// Every decision in force at `now` (`until > now`), simulated ones included, by id.
    pub fn active_decisions(&self, now: DateTime<Utc>) -> Result<Vec<Decision>, PublishError> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE until > ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([to_nanos(now)], rows::decision)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The decisions in force at `now` on exactly this scope (normalised) and value, by id.
    pub fn decisions_for_value(
        &self,
        scope: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>, PublishError> {
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE scope = ?1 AND value = ?2 AND until > ?3 ORDER BY id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![normalize_scope(scope), value, to_nanos(now)],
            rows::decision,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Expires the active decisions matching `filter` (`until = now`; the rows stay until pruned,
    /// so the decision stream can report them as deleted). Returns how many were expired.
    pub fn delete_decisions(
        &mut self,
        filter: &DecisionFilter,
        now: DateTime<Utc>,
    ) -> Result<usize, PublishError> {
        let now = to_nanos(now);
        let mut sql = String::from(
            "UPDATE decisions SET until = ?1, seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM decisions)
             WHERE until > ?1",
        );
        let mut args = vec![Value::Integer(now)];
        let mut add = |column: &str, v: Value| {
            args.push(v);
            sql.push_str(&format!(" AND {column} = ?{}", args.len()));
        };
        if let Some(id) = filter.id {
            add("id", Value::Integer(id));
        }
        let text = [
            ("uuid", filter.uuid.clone()),
            ("scope", filter.scope.as_deref().map(normalize_scope)),
            ("value", filter.value.clone()),
            ("type", filter.kind.clone()),
            ("origin", filter.origin.clone()),
            ("scenario", filter.scenario.clone()),
        ];
        for (column, v) in text {
            if let Some(v) = v {
                add(column, Value::Text(v));
            }
        }
        Ok(self.conn.execute(&sql, rusqlite::params_from_iter(args))?)
    }

    /// The newest `limit` alerts (all when `None`) stored at or after `since`, oldest first, each
    /// with its decisions (`Some(vec![])` when it has none).
    pub fn alerts(
        &self,
        limit: Option<usize>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Alert>, PublishError> {
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let since = since.map_or(i64::MIN, to_nanos);
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, body FROM alerts WHERE created_at >= ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![since, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut alerts = rows
            .map(|row| {
                let (id, body): (i64, String) = row?;
                self.read_alert(id, &body)
            })
            .collect::<Result<Vec<_>, PublishError>>()?;
        alerts.reverse();
        Ok(alerts)
    }

    /// The alert with this id, with its decisions.
    pub fn alert(&self, id: i64) -> Result<Option<Alert>, PublishError> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM alerts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        body.map(|b| self.read_alert(id, &b)).transpose()
    }

    pub(crate) fn read_alert(&self, id: i64, body: &str) -> Result<Alert, PublishError> {
        let mut alert: Alert = serde_json::from_str(body)?;
        alert.id = id;
        let sql =
            format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE alert_id = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let decisions = stmt
            .query_map([id], rows::decision)?
            .collect::<Result<_, _>>()?;
        alert.decisions = Some(decisions);
        Ok(alert)
    }

    /// Removes decisions expired for longer than `decision_retention`, then alerts older than
    /// `alert_retention` (by the later of `stop_at` and `created_at`) that have no decision left:
    /// an alert stays while any of its decisions is active or still kept for the decision stream.
    /// Returns `(alerts_removed, decisions_removed)`.
    pub fn prune(
        &mut self,
        now: DateTime<Utc>,
        alert_retention: Duration,
        decision_retention: Duration,
    ) -> Result<(usize, usize), PublishError> {
        let tx = self.conn.transaction()?;
        let decisions = tx.execute(
            "DELETE FROM decisions WHERE until < ?1 AND until <= ?2",
            params![cutoff(now, decision_retention), to_nanos(now)],
        )?;
        let alerts = tx.execute(
            "DELETE FROM alerts WHERE MAX(stop_at, created_at) < ?1
               AND NOT EXISTS (SELECT 1 FROM decisions WHERE decisions.alert_id = alerts.id)",
            [cutoff(now, alert_retention)],
        )?;
        tx.commit()?;
        Ok((alerts, decisions))
    }
}
