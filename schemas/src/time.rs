//! Timestamps as Go writes them: RFC 3339 with the fraction trimmed of trailing zeros
//! (`time.RFC3339Nano`), and Go's zero time `0001-01-01T00:00:00Z` for "unset".

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Go's zero `time.Time`, as its JSON encoder writes it.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Formats a UTC time like Go's `time.RFC3339Nano`: `2026-02-12T14:10:24.5Z`. Written digit by
/// digit (every parsed line gets one, as its `MarshaledTime`); years outside 0..=9999 go
/// through `format!`.
pub fn format_rfc3339_nano(t: &DateTime<Utc>) -> String {
    let year = t.year();
    let mut out = String::with_capacity(30);
    if (0..=9999).contains(&year) {
        push_digits(&mut out, year as u32, 4);
    } else {
        out.push_str(&format!("{year:04}"));
    }
    for (sep, v) in [
        ('-', t.month()),
        ('-', t.day()),
        ('T', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        out.push(sep);
        push_digits(&mut out, v, 2);
    }
    let mut nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        // Go trims the fraction's trailing zeros.
        let mut width = 9;
        while nanos.is_multiple_of(10) {
            nanos /= 10;
            width -= 1;
        }
        out.push('.');
        push_digits(&mut out, nanos, width);
    }
    out.push('Z');
    out
}

/// Appends `v` in decimal, zero-padded to `width` digits (`v` has at most `width` digits).
fn push_digits(out: &mut String, v: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        out.push(char::from(b'0' + ((v / div) % 10) as u8));
        div /= 10;
    }
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// serde helpers for an optional time that Go encodes as its zero time when unset.
pub mod go_time {
    use super::*;

    /// Writes `None` as Go's zero time.
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_rfc3339_nano(t)),
            None => s.serialize_str(GO_ZERO_TIME),
        }
    }

    /// Reads Go's zero time (or null, or an empty string) as `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        match s.as_deref() {
            None | Some("") | Some(GO_ZERO_TIME) => Ok(None),
            Some(s) => parse_rfc3339(s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 time {s:?}"))),
        }
    }
}

/// serde helpers for a required time in RFC 3339 (nanosecond) form.
pub mod rfc3339 {
    use super::*;

    /// Writes the time like Go's `RFC3339Nano`.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339_nano(t))
    }

    /// Reads any RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 time {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn trims_fraction_like_go() {
        let t = Utc.with_ymd_and_hms(2026, 2, 12, 14, 10, 24).unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2026-02-12T14:10:24Z");
        let t = t + chrono::Duration::milliseconds(500);
        assert_eq!(format_rfc3339_nano(&t), "2026-02-12T14:10:24.5Z");
        let t = t + chrono::Duration::nanoseconds(7);
        assert_eq!(format_rfc3339_nano(&t), "2026-02-12T14:10:24.500000007Z");
    }

    #[test]
    fn pads_every_field_and_agrees_with_chrono() {
        let t = Utc.with_ymd_and_hms(5, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_rfc3339_nano(&t), "0005-01-02T03:04:05Z");
        let t = Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap();
        assert!(format_rfc3339_nano(&t).starts_with("-001-01-01T"));
        // A spread of instants against chrono's own formatting, fraction trimmed as Go does.
        let mut t = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 58).unwrap();
        for i in 0..2000i64 {
            t += chrono::Duration::nanoseconds(i * 7_919_113_337);
            let mut want = t.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
            while want.ends_with('0') {
                want.pop();
            }
            if want.ends_with('.') {
                want.pop();
            }
            want.push('Z');
            assert_eq!(format_rfc3339_nano(&t), want);
        }
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t = parse_rfc3339("2026-02-12T15:10:24+01:00").unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2026-02-12T14:10:24Z");
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
