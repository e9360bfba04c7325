//! What the Local API keeps in the store besides alerts and decisions: bouncers (API keys,
//! stored as SHA-512 hex, never in clear), machines (watchers) and the change feed of decisions
//! (`seq`), which the decision index and the archive follow from any process.

use super::rows::{self, from_nanos, to_nanos, DECISION_COLUMNS};
use super::Store;
use crate::PublishError;
use chrono::{DateTime, Utc};
use palisade_schemas::{Alert, Decision};
use rusqlite::{params, OptionalExtension};

/// One decision change: a new decision, or one whose `until` moved (deleted, expired early).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionChange {
    /// The change's position in the feed (increases with every write).
    pub seq: i64,
    /// The decision as it is now.
    pub decision: Decision,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// A bouncer (remediation component) known to the Local API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BouncerRecord {
    /// The name (`name@ip` for a key shared from another address).
    pub name: String,
    /// `hex(SHA-512(key))`.
    pub key_hash: String,
    /// The address it last pulled from ('' before its first pull).
    pub ip_address: String,
    /// From the User-Agent (`crowdsec-firewall-bouncer`).
    pub kind: String,
    /// From the User-Agent.
    pub version: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Its last complete stream pull.
    pub last_pull: Option<DateTime<Utc>>,
}

/// A machine (watcher, agent) known to the Local API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineRecord {
    /// The machine id.
    pub machine_id: String,
    /// The password hash (`pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`).
    pub password: String,
    /// The address it last logged in from.
    pub ip_address: String,
    /// From the User-Agent.
    pub version: String,
    /// Its scenarios, comma-joined, as sent at login.
    pub scenarios: String,
    /// Whether it may log in.
    pub validated: bool,
    /// When it registered.
    pub created_at: DateTime<Utc>,
    /// Its last alert push.
    pub last_push: Option<DateTime<Utc>>,
}

fn bouncer(r: &rusqlite::Row<'_>) -> rusqlite::Result<BouncerRecord> {
    Ok(BouncerRecord {
        name: r.get(0)?,
        key_hash: r.get(1)?,
        ip_address: r.get(2)?,
        kind: r.get(3)?,
        version: r.get(4)?,
        created_at: from_nanos(r.get(5)?),
        last_pull: r.get::<_, Option<i64>>(6)?.map(from_nanos),
    })
}

const BOUNCER_COLUMNS: &str = "name, key_hash, ip_address, type, version, created_at, last_pull";
const MACHINE_COLUMNS: &str =
    "machine_id, password, ip_address, version, scenarios, validated, created_at, last_push";

fn machine(r: &rusqlite::Row<'_>) -> rusqlite::Result<MachineRecord> {
    Ok(MachineRecord {
        machine_id: r.get(0)?,
        password: r.get(1)?,
        ip_address: r.get(2)?,
        version: r.get(3)?,
        scenarios: r.get(4)?,
        validated: r.get(5)?,
        created_at: from_nanos(r.get(6)?),
        last_push: r.get::<_, Option<i64>>(7)?.map(from_nanos),
    })
}

impl Store {
    /// The decision changes after `after` (a `seq`), oldest first, at most `limit`.
    pub fn decision_changes(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<DecisionChange>, PublishError> {
        let sql = format!(
            "SELECT {DECISION_COLUMNS}, seq, created_at FROM decisions WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![after, limit], |r| {
            Ok(DecisionChange {
                decision: rows::decision(r)?,
                seq: r.get(10)?,
                created_at: from_nanos(r.get(11)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The alerts stored after id `after`, by id, at most `limit`, each with its decisions.
    pub fn alerts_after(&self, after: i64, limit: usize) -> Result<Vec<Alert>, PublishError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, body FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.map(|row| {
            let (id, body): (i64, String) = row?;
            self.read_alert(id, &body)
        })
        .collect()
    }

    /// Expires the active decisions with these uuids (`until = now`). Returns how many.
    pub fn expire_decisions(
        &mut self,
        uuids: &[String],
        now: DateTime<Utc>,
    ) -> Result<usize, PublishError> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE decisions SET until = ?1, seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM decisions)
                 WHERE uuid = ?2 AND until > ?1",
            )?;
            for u in uuids {
                n += stmt.execute(params![to_nanos(now), u])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Adds a bouncer. Returns false (and changes nothing) when the name is taken.
    pub fn add_bouncer(
        &mut self,
        name: &str,
        key_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PublishError> {
        let n = self.conn.execute(
            "INSERT INTO bouncers (name, key_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
            params![name, key_hash, to_nanos(now)],
        )?;
        Ok(n == 1)
    }

    /// Every bouncer, by name.
    pub fn bouncers(&self) -> Result<Vec<BouncerRecord>, PublishError> {
        let sql = format!("SELECT {BOUNCER_COLUMNS} FROM bouncers ORDER BY name");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], bouncer)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The bouncers holding this key hash (the first one added, then its `name@ip` copies).
    pub fn bouncers_by_key(&self, key_hash: &str) -> Result<Vec<BouncerRecord>, PublishError> {
        let sql = format!("SELECT {BOUNCER_COLUMNS} FROM bouncers WHERE key_hash = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([key_hash], bouncer)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes a bouncer and its `name@ip` copies. Returns how many records went.
    pub fn delete_bouncer(&mut self, name: &str) -> Result<usize, PublishError> {
        Ok(self.conn.execute(
            "DELETE FROM bouncers WHERE name = ?1 OR name LIKE ?2 ESCAPE '\\'",
            params![
                name,
                format!("{}@%", name.replace('%', "\\%").replace('_', "\\_"))
            ],
        )?)
    }

    /// Records what a bouncer said about itself (creating the `name` record when missing, as a
    /// shared key seen from a new address does) and, when given, its last pull.
    pub fn touch_bouncer(
        &mut self,
        record: &BouncerRecord,
        now: DateTime<Utc>,
    ) -> Result<(), PublishError> {
        self.conn.execute(
            "INSERT INTO bouncers (name, key_hash, ip_address, type, version, created_at, last_pull)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (name) DO UPDATE SET ip_address = ?3, type = ?4, version = ?5,
               last_pull = COALESCE(?7, last_pull)",
            params![
                record.name,
                record.key_hash,
                record.ip_address,
                record.kind,
                record.version,
                to_nanos(now),
                record.last_pull.map(to_nanos)
            ],
        )?;
        Ok(())
    }

    /// Registers a machine. Returns false (and changes nothing) when the id is taken.
    pub fn add_machine(
        &mut self,
        machine_id: &str,
        password_hash: &str,
        ip: &str,
        validated: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, PublishError> {
        let n = self.conn.execute(
            "INSERT INTO machines (machine_id, password, ip_address, validated, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (machine_id) DO NOTHING",
            params![machine_id, password_hash, ip, validated, to_nanos(now)],
        )?;
        Ok(n == 1)
    }

    /// The machine with this id.
    pub fn machine(&self, machine_id: &str) -> Result<Option<MachineRecord>, PublishError> {
        let sql = format!("SELECT {MACHINE_COLUMNS} FROM machines WHERE machine_id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [machine_id], machine)
            .optional()?)
    }

    /// Every machine, by id.
    pub fn machines(&self) -> Result<Vec<MachineRecord>, PublishError> {
        let sql = format!("SELECT {MACHINE_COLUMNS} FROM machines ORDER BY machine_id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], machine)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Lets a machine log in. Returns false when it does not exist.
    pub fn validate_machine(&mut self, machine_id: &str) -> Result<bool, PublishError> {
        Ok(self.conn.execute(
            "UPDATE machines SET validated = 1 WHERE machine_id = ?1",
            [machine_id],
        )? == 1)
    }

    /// Deletes a machine. Returns false when it does not exist.
    pub fn delete_machine(&mut self, machine_id: &str) -> Result<bool, PublishError> {
        Ok(self
            .conn
            .execute("DELETE FROM machines WHERE machine_id = ?1", [machine_id])?
            == 1)
    }

    /// Records a login: address, version and scenarios.
    pub fn machine_logged_in(
        &mut self,
        machine_id: &str,
        ip: &str,
        version: &str,
        scenarios: &str,
    ) -> Result<(), PublishError> {
        self.conn.execute(
            "UPDATE machines SET ip_address = ?2, version = ?3, scenarios = ?4 WHERE machine_id = ?1",
            params![machine_id, ip, version, scenarios],
        )?;
        Ok(())
    }

    /// Records an alert push.
    pub fn machine_pushed(
        &mut self,
        machine_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PublishError> {
        self.conn.execute(
            "UPDATE machines SET last_push = ?2 WHERE machine_id = ?1",
            params![machine_id, to_nanos(now)],
        )?;
        Ok(())
    }

    /// Runs a read-only SQL statement and returns the column names and rows as text
    /// (`palisade query` in embedded mode). The connection is switched to `query_only` for the
    /// call, so a statement that writes fails.
    pub fn query_text(&self, sql: &str) -> Result<(Vec<String>, Vec<Vec<String>>), PublishError> {
        self.conn.pragma_update(None, "query_only", true)?;
        let result = (|| {
            let mut stmt = self.conn.prepare(sql)?;
            let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
            let n = names.len();
            let rows = stmt.query_map([], |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => "NULL".to_string(),
                            rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                            rusqlite::types::ValueRef::Real(v) => v.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            rusqlite::types::ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<String>>>()
            })?;
            Ok::<_, rusqlite::Error>((names, rows.collect::<Result<Vec<_>, _>>()?))
        })();
        self.conn.pragma_update(None, "query_only", false)?;
        Ok(result?)
    }
}
