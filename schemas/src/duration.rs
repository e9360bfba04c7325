//! Go's `time.Duration` text form, which the CrowdSec Local API uses for decision durations
//! (`4h0m0s`, `3h59m58s`, `-1m2s`) and CrowdSec YAML uses for leak speeds (`10s`, `1m`).

use crate::SchemaError;
use chrono::TimeDelta;

const NS: u128 = 1;
const US: u128 = 1_000 * NS;
const MS: u128 = 1_000 * US;
const SEC: u128 = 1_000 * MS;
const MIN: u128 = 60 * SEC;
const HOUR: u128 = 60 * MIN;

/// Writes a duration exactly as Go's `time.Duration.String()` does.
pub fn format_go_duration(d: TimeDelta) -> String {
    let nanos: i128 = i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos());
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < SEC {
        let (prec, unit) = match u {
            0 => return "0s".to_string(),
            u if u < US => (0, "ns"),
            u if u < MS => (3, "µs"),
            _ => (6, "ms"),
        };
        out.push_str(&frac(u, prec));
        out.push_str(unit);
        return out;
    }
    let hours = u / HOUR;
    let mins = (u % HOUR) / MIN;
    let secs_ns = u % MIN;
    if hours > 0 {
        out.push_str(&format!("{hours}h{mins}m"));
    } else if mins > 0 {
        out.push_str(&format!("{mins}m"));
    }
    out.push_str(&frac(secs_ns, 9));
    out.push('s');
    out
}

/// `v / 10^prec` with the fraction printed without trailing zeros, as Go's `fmtFrac`.
fn frac(v: u128, prec: u32) -> String {
    let div = 10u128.pow(prec);
    let int = v / div;
    let rem = v % div;
    if rem == 0 {
        return int.to_string();
    }
    let f = format!("{:0width$}", rem, width = prec as usize);
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// Parses Go's `time.ParseDuration` syntax: `[-+]?([0-9]*(\.[0-9]*)?unit)+` with units
/// `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`; a bare `0` is accepted.
pub fn parse_go_duration(input: &str) -> Result<TimeDelta, SchemaError> {
    let err = |reason| SchemaError::Duration {
        input: input.to_string(),
        reason,
    };
    let mut s = input;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(TimeDelta::zero());
    }
    if s.is_empty() {
        return Err(err("empty duration"));
    }
    let mut total: f64 = 0.0;
    let mut exact: u128 = 0;
    while !s.is_empty() {
        let num_len = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| err("missing unit"))?;
        let num = &s[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(err("expected a number"));
        }
        s = &s[num_len..];
        let unit_len = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = match &s[..unit_len] {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            "" => return Err(err("missing unit")),
            _ => return Err(err("unknown unit")),
        };
        s = &s[unit_len..];
        if let Ok(n) = num.parse::<u128>() {
            exact = exact
                .checked_add(n.checked_mul(unit).ok_or_else(|| err("overflow"))?)
                .ok_or_else(|| err("overflow"))?;
        } else {
            let n: f64 = num.parse().map_err(|_| err("expected a number"))?;
            total += n * unit as f64;
        }
    }
    let nanos = exact + total.round() as u128;
    if nanos > i64::MAX as u128 {
        return Err(err("overflow"));
    }
    let d = TimeDelta::nanoseconds(nanos as i64);
    Ok(if neg { -d } else { d })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ns: i64) -> String {
        format_go_duration(TimeDelta::nanoseconds(ns))
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(fmt(0), "0s");
        assert_eq!(fmt(4 * 3600 * 1_000_000_000), "4h0m0s");
        assert_eq!(fmt((3 * 3600 + 59 * 60 + 58) * 1_000_000_000), "3h59m58s");
        assert_eq!(fmt((59 * 60 + 58) * 1_000_000_000), "59m58s");
        assert_eq!(fmt(58 * 1_000_000_000), "58s");
        assert_eq!(fmt(-62 * 1_000_000_000), "-1m2s");
        assert_eq!(
            fmt(167 * 3600 * 1_000_000_000 + 3599 * 1_000_000_000),
            "167h59m59s"
        );
        assert_eq!(fmt(1_500_000_000), "1.5s");
        assert_eq!(fmt(1_500_000), "1.5ms");
        assert_eq!(fmt(1_000), "1µs");
        assert_eq!(fmt(7), "7ns");
        assert_eq!(
            fmt((3 * 3600 + 59 * 60 + 58) * 1_000_000_000 + 123_456_789),
            "3h59m58.123456789s"
        );
    }

    #[test]
    fn parses_like_go() {
        let p = |s| parse_go_duration(s).unwrap().num_nanoseconds().unwrap();
        assert_eq!(p("4h"), 4 * 3600 * 1_000_000_000);
        assert_eq!(p("1h30m"), 5400 * 1_000_000_000);
        assert_eq!(p("-1m2s"), -62 * 1_000_000_000);
        assert_eq!(p("1.5s"), 1_500_000_000);
        assert_eq!(p("10us"), 10_000);
        assert_eq!(p("10µs"), 10_000);
        assert_eq!(p("0"), 0);
        for bad in ["", "4", "4d", "h", "1..5s", "-"] {
            assert!(parse_go_duration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn round_trips() {
        for ns in [
            0i64,
            1,
            999,
            1_000_001,
            61_000_000_000,
            14_400_000_000_000,
            -5_000_000_000,
        ] {
            let s = fmt(ns);
            assert_eq!(
                parse_go_duration(&s).unwrap().num_nanoseconds().unwrap(),
                ns,
                "{s}"
            );
        }
    }
}
