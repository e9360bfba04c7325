//! Reading archived events back from ClickHouse's `events` table, for backtesting
//! (`palisade sql-test --archive`): the rows of a time range, oldest first, streamed in
//! batches and turned back into events as the detect stage sees them after parsing.
//!
//! ```text
//! ClickHouse events (FINAL: one row per uuid) ──EventRow──► Event (Meta, line, time) ──► detect
//! ```
//!
//! What the archive keeps is what comes back: `Meta` (with GeoIP), the raw line, its module
//! and source, and the event time to the second. `Parsed` is not archived, so scenarios
//! reading `parsed['...']` see nothing there.

use super::rows::EventRow;
use super::{client, ArchiveConfig};
use crate::PublishError;
use chrono::{DateTime, Utc};
use clickhouse::query::RowCursor;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Event, EventType, ExpectMode, FieldName};

/// The archived events of a time range, read as a stream.
pub struct ArchivedEvents {
    cursor: RowCursor<EventRow>,
}

impl std::fmt::Debug for ArchivedEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchivedEvents").finish_non_exhaustive()
    }
}

impl ArchivedEvents {
    /// The events with `since <= time < until`, oldest first (by time, then uuid).
    pub fn open(
        cfg: &ArchiveConfig,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ArchivedEvents, PublishError> {
        let secs = |t: DateTime<Utc>| t.timestamp().clamp(0, i64::from(u32::MAX)) as u32;
        let cursor = client(cfg)
            .with_database(&cfg.database)
            .query(
                "SELECT ?fields FROM events FINAL WHERE ts >= toDateTime(?) AND ts < toDateTime(?) \
                 ORDER BY ts, uuid",
            )
            .bind(secs(since))
            .bind(secs(until))
            .fetch::<EventRow>()?;
        Ok(ArchivedEvents { cursor })
    }

    /// Up to `n` more events; empty at the end.
    pub async fn next_batch(&mut self, n: usize) -> Result<Vec<Event>, PublishError> {
        let mut out = Vec::with_capacity(n.min(10_000));
        while out.len() < n {
            match self.cursor.next().await? {
                Some(row) => out.push(row.to_event()),
                None => break,
            }
        }
        Ok(out)
    }
}

impl EventRow {
    /// The event this row archived, replayed at its own time (`TimeMachine`).
    pub fn to_event(&self) -> Event {
        let t = DateTime::from_timestamp(i64::from(self.ts), 0);
        let mut e = Event {
            kind: EventType::Log,
            expect_mode: ExpectMode::TimeMachine,
            time: t,
            marshaled_time: t.as_ref().map(format_rfc3339_nano).unwrap_or_default(),
            meta: serde_json::from_str(&self.meta).unwrap_or_default(),
            ..Event::default()
        };
        e.line.raw = self.raw.clone();
        e.line.module = self.module.clone();
        e.line.src = self.src.clone();
        e.line.time = t;
        e.process = true;
        for (k, v) in [("source_ip", &self.source_ip), ("log_type", &self.log_type)] {
            if !v.is_empty() {
                e.meta
                    .entry(FieldName::from_static(k))
                    .or_insert_with(|| v.clone());
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_becomes_the_event_it_archived() {
        let mut src = Event::default();
        src.meta.insert("source_ip".into(), "192.0.2.1".into());
        src.meta.insert("log_type".into(), "ssh_failed-auth".into());
        src.meta.insert("target_user".into(), "deploy".into());
        src.line.raw = "Failed password for deploy".into();
        src.line.src = "auth.log".into();
        src.time = DateTime::from_timestamp(1_700_000_000, 0);
        let e = EventRow::from_event(&src).to_event();
        assert_eq!(e.meta, src.meta);
        assert_eq!(e.line.raw, src.line.raw);
        assert_eq!(e.time, src.time);
        assert_eq!(e.marshaled_time, "2023-11-14T22:13:20Z");
        assert_eq!(e.expect_mode, ExpectMode::TimeMachine);
    }
}
