//! The store's SQLite schema and its migrations, tracked with `PRAGMA user_version`.
//!
//! Migration `n` (1-based) takes the database from version `n - 1` to `n`. Add a migration to
//! change the schema; never edit one that has shipped.
//!
//! Times are stored as Unix nanoseconds (`INTEGER`), which sort and compare as times do.

use crate::PublishError;
use rusqlite::Connection;

/// The migrations, in order.
const MIGRATIONS: &[&str] = &[
    // 1: alerts and the decisions taken for them.
    "CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT    NOT NULL UNIQUE,
        scenario    TEXT    NOT NULL,
        scope       TEXT    NOT NULL,
        value       TEXT    NOT NULL,
        simulated   INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        stop_at     INTEGER NOT NULL,
        body        TEXT    NOT NULL
    );
    CREATE INDEX alerts_scope_value ON alerts (scope, value);
    CREATE INDEX alerts_scenario ON alerts (scenario);
    CREATE INDEX alerts_created_at ON alerts (created_at);
    CREATE INDEX alerts_stop_at ON alerts (stop_at);
    CREATE TABLE decisions (
        id          INTEGER PRIMARY KEY,
        uuid        TEXT    NOT NULL UNIQUE,
        alert_id    INTEGER NOT NULL REFERENCES alerts (id),
        origin      TEXT    NOT NULL,
        scenario    TEXT    NOT NULL,
        scope       TEXT    NOT NULL,
        value       TEXT    NOT NULL,
        type        TEXT    NOT NULL,
        duration    TEXT    NOT NULL,
        until       INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        simulated   INTEGER NOT NULL
    );
    CREATE INDEX decisions_scope_value ON decisions (scope, value);
    CREATE INDEX decisions_until ON decisions (until);
    CREATE INDEX decisions_alert_id ON decisions (alert_id);",
    // 2: the Local API. `seq` orders every change to a decision (insert or expiry) so that
    // readers in other processes (the Local API's decision index, the ClickHouse archive)
    // follow the table with `seq > last_seen`; bouncers (API keys stored as SHA-512 hex) and
    // machines (watchers, passwords as salted PBKDF2-HMAC-SHA256).
    "ALTER TABLE decisions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE decisions SET seq = id;
    CREATE INDEX decisions_seq ON decisions (seq);
    CREATE TABLE bouncers (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL UNIQUE,
        key_hash    TEXT    NOT NULL,
        ip_address  TEXT    NOT NULL DEFAULT '',
        type        TEXT    NOT NULL DEFAULT '',
        version     TEXT    NOT NULL DEFAULT '',
        auth_type   TEXT    NOT NULL DEFAULT 'api-key',
        created_at  INTEGER NOT NULL,
        last_pull   INTEGER
    );
    CREATE INDEX bouncers_key_hash ON bouncers (key_hash);
    CREATE TABLE machines (
        id          INTEGER PRIMARY KEY,
        machine_id  TEXT    NOT NULL UNIQUE,
        password    TEXT    NOT NULL,
        ip_address  TEXT    NOT NULL DEFAULT '',
        version     TEXT    NOT NULL DEFAULT '',
        scenarios   TEXT    NOT NULL DEFAULT '',
        validated   INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL,
        last_push   INTEGER
    );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Sets the connection up (WAL, `synchronous=NORMAL`, foreign keys, a busy timeout) and brings
/// the schema up to date.
pub(crate) fn prepare(conn: &mut Connection) -> Result<(), PublishError> {
    // In-memory databases answer "memory": there is no file to journal.
    let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(conn)
}

/// The schema version of the open database.
pub(crate) fn version(conn: &Connection) -> Result<i64, PublishError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

fn migrate(conn: &mut Connection) -> Result<(), PublishError> {
    // IMMEDIATE takes the write lock first, so two processes opening a new file do not both
    // create the tables.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(PublishError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tracing::debug!(version = i + 1, "Store schema migrated.");
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_databases() {
        let mut conn = Connection::open_in_memory().unwrap();
        prepare(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        prepare(&mut conn).unwrap();
        assert_eq!(
            version(&conn).unwrap(),
            SCHEMA_VERSION,
            "reopening does not migrate again"
        );
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = prepare(&mut conn).unwrap_err();
        assert!(matches!(err, PublishError::SchemaTooNew { .. }), "{err}");
    }
}
