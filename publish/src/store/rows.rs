//! Conversions between the store's rows and the shared types.

use chrono::{DateTime, TimeDelta, Utc};
use palisade_schemas::Decision;
use rusqlite::Row;
use std::time::Duration;

/// The decision columns, in the order [`decision`] reads them.
pub(super) const DECISION_COLUMNS: &str =
    "id, uuid, origin, scenario, scope, value, type, duration, until, simulated";

/// Reads a decision selected with [`DECISION_COLUMNS`].
pub(super) fn decision(row: &Row<'_>) -> rusqlite::Result<Decision> {
    Ok(Decision {
        id: row.get(0)?,
        uuid: Some(row.get(1)?),
        origin: row.get(2)?,
        scenario: row.get(3)?,
        scope: row.get(4)?,
        value: row.get(5)?,
        kind: row.get(6)?,
        duration: row.get(7)?,
        until: Some(from_nanos(row.get(8)?)),
        simulated: Some(row.get(9)?),
    })
}

/// A time as Unix nanoseconds, clamped to what fits (years 1677 to 2262).
pub(super) fn to_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The time of a Unix nanosecond count.
pub(super) fn from_nanos(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(n)
}

/// `now - age` in nanoseconds; `i64::MIN` (nothing is older) when it does not fit.
pub(super) fn cutoff(now: DateTime<Utc>, age: Duration) -> i64 {
    TimeDelta::from_std(age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .map_or(i64::MIN, to_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_round_trip_and_clamp() {
        let t = Utc.with_ymd_and_hms(2026, 2, 12, 14, 10, 24).unwrap() + TimeDelta::nanoseconds(5);
        assert_eq!(from_nanos(to_nanos(t)), t);
        assert_eq!(to_nanos(DateTime::<Utc>::MAX_UTC), i64::MAX);
        assert_eq!(to_nanos(DateTime::<Utc>::MIN_UTC), i64::MIN);
        assert_eq!(
            cutoff(t, Duration::from_secs(1)),
            to_nanos(t) - 1_000_000_000
        );
        assert_eq!(cutoff(t, Duration::MAX), i64::MIN);
    }
}
