//! The store as the decision-store helpers of profile expressions see it
//! ([`DecisionHistory`]): decisions "for a value" are those whose value contains it, as
//! CrowdSec's `CountDecisionsByValue` finds them: the same value, or a `Range` decision whose
//! network holds the address or range. Expired decisions count until pruned.

use super::rows::to_nanos;
use super::Store;
use crate::net::Net;
use crate::profiles::DecisionHistory;
use chrono::{DateTime, Utc};
use rusqlite::params;

impl Store {
    /// The `until` (Unix nanoseconds) of each decision for `value`, created after
    /// `created_after`, in force at `active_at`.
    fn untils_for(
        &self,
        value: &str,
        created_after: Option<DateTime<Utc>>,
        active_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<i64>, String> {
        let net = Net::parse(value);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT value, until FROM decisions
                 WHERE (value = ?1 OR (?2 AND scope = 'Range')) AND created_at > ?3 AND until > ?4",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(
                params![
                    value,
                    net.is_some(),
                    created_after.map_or(i64::MIN, to_nanos),
                    active_at.map_or(i64::MIN, to_nanos)
                ],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in rows {
            let (v, until) = row.map_err(|e| e.to_string())?;
            let matches = v == value
                || net.is_some_and(|n| Net::parse(&v).is_some_and(|range| range.contains(&n)));
            if matches {
                out.push(until);
            }
        }
        Ok(out)
    }
}

impl DecisionHistory for Store {
    fn count_decisions(
        &self,
        value: &str,
        created_after: Option<DateTime<Utc>>,
        active_at: Option<DateTime<Utc>>,
    ) -> Result<u64, String> {
        self.untils_for(value, created_after, active_at)
            .map(|u| u.len() as u64)
    }

    fn latest_until(
        &self,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, String> {
        Ok(self
            .untils_for(value, None, Some(now))?
            .into_iter()
            .max()
            .map(DateTime::from_timestamp_nanos))
    }
}
