//! The ClickHouse archive: every alert and decision (and, when asked, every parsed event) kept
//! for analysts, in the tables of `deploy/clickhouse/`.
//!
//! ```text
//!  Store ──(alerts by id, decisions by change seq)──► ArchiveFollower ──batch──► Archive::deliver
//!                                                       cursor file            │ retries with backoff
//!                                                                              ├─► ClickHouse (HTTP, RowBinary)
//!                                                                              └─► spool/*.json while it is down,
//!                                                                                  drained in order when it is back
//! ```
//!
//! * The follower reads the store's change feed, like the Local API's index does, so the archive
//!   sees what the pipeline, the Local API and the command line write, from any process. Its
//!   cursor moves (and is saved) only once a batch is in ClickHouse or in the spool: no row is
//!   lost across a crash or an outage.
//! * Rows carry uuids and the tables are `ReplacingMergeTree`s keyed by uuid, so a batch
//!   delivered twice (a retry after a lost answer, a spool file replayed after a crash) is one
//!   row per uuid: read with `FINAL` (or after merges) there are no duplicates.
//! * The schema is created at the first delivery: `deploy/clickhouse/18.16.sql` on old servers
//!   (Debian 12's 18.16), `current.sql` on 20.1 and later (LowCardinality, TTL, IPv6 column).
//!   The `clickhouse` crate's schema validation is off: 18.16 lacks the format it needs.
//! * [`ArchivedEvents`] reads the events of a time range back (`palisade sql-test --archive`).

mod read;
mod rows;
mod spec;
mod spool;

pub use read::ArchivedEvents;
pub use rows::{AlertRow, DecisionRow, EventRow};
pub use spec::{ArchiveConfig, ArchiveSpec};
pub use spool::Spool;

use crate::metrics::{ARCHIVE_ERRORS, ARCHIVE_ROWS, ARCHIVE_SPOOLED, ARCHIVE_SPOOL_FILES};
use crate::{PublishError, Store};
use palisade_runtime::metrics::{Counter, Gauge, Registry};
use palisade_runtime::shutdown::Shutdown;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The DDL for servers without LowCardinality, TTL or IPv6 (ClickHouse 18.16).
pub const DDL_18_16: &str = include_str!("../../../deploy/clickhouse/18.16.sql");
/// The DDL for ClickHouse 20.1 and later.
pub const DDL_CURRENT: &str = include_str!("../../../deploy/clickhouse/current.sql");

/// Rows for each table, delivered together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Alerts.
    pub alerts: Vec<AlertRow>,
    /// Decisions (a deletion is the same uuid with a later `until` and `version`).
    pub decisions: Vec<DecisionRow>,
    /// Events.
    #[serde(default)]
    pub events: Vec<EventRow>,
}

impl Batch {
    /// Whether it holds no row.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.decisions.is_empty() && self.events.is_empty()
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.alerts.len() + self.decisions.len() + self.events.len()
    }
}

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// In ClickHouse.
    Inserted,
    /// In the spool, waiting for ClickHouse.
    Spooled,
}

/// The statements of a DDL file, comments removed.
pub fn statements(ddl: &str) -> Vec<String> {
    let text: String = ddl
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a server version (`18.16.1`, `24.3.2.23`) has LowCardinality, TTL and IPv6.
pub fn is_current(version: &str) -> bool {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .is_some_and(|m| m >= 20)
}

struct Metrics {
    rows: [Counter; 3],
    errors: Counter,
    spooled: Counter,
    files: Gauge,
}

/// The writer: batches to ClickHouse, with retries and the spool.
pub struct Archive {
    client: clickhouse::Client,
    root: clickhouse::Client,
    cfg: ArchiveConfig,
    spool: Spool,
    schema_ready: bool,
    metrics: Metrics,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("url", &self.cfg.url)
            .field("database", &self.cfg.database)
            .finish_non_exhaustive()
    }
}

/// A client for `url` as the archive uses it: no schema validation, no compression.
pub fn client(cfg: &ArchiveConfig) -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(&cfg.url)
        .with_user(&cfg.user)
        .with_password(&cfg.password)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None)
}

impl Archive {
    /// An archive writing to `cfg.url`, spooling into `cfg.spool_dir` (created). Nothing is
    /// sent until the first delivery.
    pub fn new(cfg: ArchiveConfig, registry: &Registry) -> Result<Archive, PublishError> {
        let spool = Spool::open(&cfg.spool_dir)?;
        let root = client(&cfg);
        let metrics = Metrics {
            rows: ["alerts", "decisions", "events"]
                .map(|t| registry.counter(&ARCHIVE_ROWS, &[("table", t)])),
            errors: registry.counter(&ARCHIVE_ERRORS, &[]),
            spooled: registry.counter(&ARCHIVE_SPOOLED, &[]),
            files: registry.gauge(&ARCHIVE_SPOOL_FILES, &[]),
        };
        metrics.files.set(spool.files()?.len() as i64);
        Ok(Archive {
            client: root.clone().with_database(&cfg.database),
            root,
            cfg,
            spool,
            schema_ready: false,
            metrics,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ArchiveConfig {
        &self.cfg
    }

    /// The spool.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// Creates the database and tables if missing, with the DDL the server supports. Returns
    /// the server's version.
    pub async fn ensure_schema(&mut self) -> Result<String, clickhouse::error::Error> {
        let version: String = self
            .root
            .query("SELECT version()")
            .fetch_one::<String>()
            .await?;
        self.root
            .query(&format!(
                "CREATE DATABASE IF NOT EXISTS {}",
                self.cfg.database
            ))
            .execute()
            .await?;
        let ddl = if is_current(&version) {
            DDL_CURRENT
        } else {
            DDL_18_16
        };
        for stmt in statements(ddl) {
            self.client.query(&stmt).execute().await?;
        }
        self.schema_ready = true;
        Ok(version)
    }

    async fn insert_rows<T: clickhouse::RowOwned + clickhouse::RowWrite>(
        &self,
        table: &str,
        rows: &[T],
    ) -> Result<(), clickhouse::error::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.client.insert::<T>(table).await?;
        for r in rows {
            insert.write(r).await?;
        }
        insert.end().await
    }

    /// One attempt at inserting a batch (creating the schema first if needed).
    pub async fn insert(&mut self, b: &Batch) -> Result<(), clickhouse::error::Error> {
        if !self.schema_ready {
            self.ensure_schema().await?;
        }
        self.insert_rows("alerts", &b.alerts).await?;
        self.insert_rows("decisions", &b.decisions).await?;
        self.insert_rows("events", &b.events).await?;
        for (i, n) in [b.alerts.len(), b.decisions.len(), b.events.len()]
            .into_iter()
            .enumerate()
        {
            self.metrics.rows[i].add(n as u64);
        }
        Ok(())
    }

    /// Sends the spooled batches, oldest first, until one fails. Returns how many were sent.
    pub async fn drain(&mut self) -> Result<usize, PublishError> {
        let mut sent = 0;
        for path in self.spool.files()? {
            let batch = Spool::read(&path)?;
            match self.insert(&batch).await {
                Ok(()) => {
                    Spool::remove(&path)?;
                    sent += 1;
                }
                Err(error) => {
                    self.metrics.errors.inc();
                    tracing::debug!(%error, "ClickHouse still unreachable; the spool waits.");
                    break;
                }
            }
        }
        if sent > 0 {
            tracing::info!(batches = sent, "Archive spool drained into ClickHouse.");
        }
        self.metrics.files.set(self.spool.files()?.len() as i64);
        Ok(sent)
    }

    /// Delivers a batch: after the spool has drained, up to `retries` attempts with doubling
    /// backoff; then, or while older batches still wait, into the spool (order is kept).
    pub async fn deliver(&mut self, batch: Batch) -> Result<Delivery, PublishError> {
        if batch.is_empty() {
            return Ok(Delivery::Inserted);
        }
        if !self.spool.is_empty()? {
            self.drain().await?;
        }
        if self.spool.is_empty()? {
            let mut wait = self.cfg.backoff;
            for attempt in 1..=self.cfg.retries {
                match self.insert(&batch).await {
                    Ok(()) => return Ok(Delivery::Inserted),
                    Err(error) => {
                        self.metrics.errors.inc();
                        tracing::warn!(%error, attempt, rows = batch.len(), "Archive insert failed.");
                        if attempt < self.cfg.retries {
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_secs(30));
                        }
                    }
                }
            }
        }
        let path = self.spool.push(&batch)?;
        self.metrics.spooled.inc();
        self.metrics.files.set(self.spool.files()?.len() as i64);
        tracing::warn!(file = %path.display(), rows = batch.len(), "ClickHouse unreachable; batch spooled.");
        Ok(Delivery::Spooled)
    }

    /// Runs a query and returns ClickHouse's `TabSeparatedWithNames` answer (`palisade query`).
    pub async fn query_text(&self, sql: &str) -> Result<String, clickhouse::error::Error> {
        let bytes = self
            .client
            .query(sql)
            .fetch_bytes("TabSeparatedWithNames")?
            .collect()
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Runs a query on the archive's database and returns ClickHouse's `TabSeparatedWithNames`
/// answer (`palisade query`).
pub async fn query(cfg: &ArchiveConfig, sql: &str) -> Result<String, PublishError> {
    let bytes = client(cfg)
        .with_database(&cfg.database)
        .query(sql)
        .fetch_bytes("TabSeparatedWithNames")?
        .collect()
        .await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Where the follower stands in the store's feeds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The last alert id archived.
    pub alerts: i64,
    /// The last decision change archived.
    pub decisions: i64,
}

/// Follows the store into the archive.
#[derive(Debug)]
pub struct ArchiveFollower {
    archive: Archive,
    store: Store,
    cursor: Cursor,
    cursor_path: PathBuf,
}

impl ArchiveFollower {
    /// A follower of `store` (its own connection) into `archive`, resuming from the cursor saved
    /// in the spool directory.
    pub fn new(archive: Archive, store: Store) -> Result<ArchiveFollower, PublishError> {
        let cursor_path = archive.cfg.spool_dir.join("cursor.json");
        let cursor = match std::fs::read(&cursor_path) {
            Ok(b) => serde_json::from_slice(&b)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Cursor::default(),
            Err(source) => {
                return Err(PublishError::Io {
                    path: cursor_path,
                    source,
                })
            }
        };
        Ok(ArchiveFollower {
            archive,
            store,
            cursor,
            cursor_path,
        })
    }

    /// The archive.
    pub fn archive(&mut self) -> &mut Archive {
        &mut self.archive
    }

    /// The cursor.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    fn save_cursor(&self) -> Result<(), PublishError> {
        let tmp = self.cursor_path.with_extension("tmp");
        let io = |source| PublishError::Io {
            path: tmp.clone(),
            source,
        };
        std::fs::write(&tmp, serde_json::to_vec(&self.cursor)?).map_err(io)?;
        std::fs::rename(&tmp, &self.cursor_path).map_err(io)?;
        Ok(())
    }

    /// Archives everything new in the store (and `events`), batch by batch. Returns the rows
    /// handed over (inserted or spooled).
    pub async fn step(&mut self, mut events: Vec<EventRow>) -> Result<usize, PublishError> {
        let n = self.archive.cfg.batch_size;
        let mut total = 0;
        loop {
            let alerts = self.store.alerts_after(self.cursor.alerts, n)?;
            let changes = self.store.decision_changes(self.cursor.decisions, n)?;
            let take = events.len().min(n);
            let batch = Batch {
                alerts: alerts.iter().map(AlertRow::from_alert).collect(),
                decisions: changes
                    .iter()
                    .map(|c| DecisionRow::from_decision(&c.decision, c.seq, c.created_at))
                    .collect(),
                events: events.drain(..take).collect(),
            };
            if batch.is_empty() {
                if !self.archive.spool.is_empty()? {
                    self.archive.drain().await?;
                }
                return Ok(total);
            }
            total += batch.len();
            self.archive.deliver(batch).await?;
            if let Some(a) = alerts.last() {
                self.cursor.alerts = a.id;
            }
            if let Some(c) = changes.last() {
                self.cursor.decisions = c.seq;
            }
            self.save_cursor()?;
        }
    }

    /// Runs until shutdown: a step every `flush_interval`, events taken from `events` when given,
    /// and a last step after the shutdown signal. With `events`, it goes on after the signal until
    /// every sender is gone (the pipeline drained), so that no event read is left unarchived.
    pub async fn run(
        mut self,
        mut events: Option<tokio::sync::mpsc::Receiver<EventRow>>,
        shutdown: Shutdown,
    ) {
        let mut tick = tokio::time::interval(self.archive.cfg.flush_interval);
        let mut stopping = false;
        loop {
            if !stopping {
                stopping = tokio::select! {
                    _ = shutdown.wait() => true,
                    _ = tick.tick() => false,
                };
            } else {
                tick.tick().await;
            }
            let mut pending = Vec::new();
            let mut closed = true;
            if let Some(rx) = events.as_mut() {
                loop {
                    match rx.try_recv() {
                        Ok(e) => pending.push(e),
                        Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                            closed = false;
                            break;
                        }
                        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => break,
                    }
                }
            }
            if let Err(error) = self.step(pending).await {
                tracing::error!(%error, "Archive step failed; retrying at the next tick.");
            }
            if stopping && closed {
                break;
            }
        }
    }
}
