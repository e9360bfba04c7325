//! Time: `now()`, `duration("10m")` (Go syntax), `date(s[, layout[, tz]])`, CrowdSec's
//! `TimeNow`, `ParseUnix`, `AverageInterval`, `MedianInterval`, Go layouts (`2006-01-02T15:04:05Z07:00`)
//! for `Format` and `date`, and the methods of Go `time.Time` (`Hour()`, `Weekday()`,
//! `Unix()`, `Format()`, `Sub()`, ...), `time.Duration` (`Seconds()`, `String()`, ...) and
//! `time.Weekday` (`String()`).

use super::{arg_int, arg_str, fmt};
use crate::value::Value;
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc,
};

/// Go `time.ParseDuration` in nanoseconds, guarded against overflow on absurd inputs.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let longest_number = s
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    if s.len() > 64 || longest_number > 20 {
        return Err(format!("time: invalid duration {}", fmt::go_quote(s)));
    }
    palisade_schemas::duration::parse_go_duration(s)
        .map_err(|_| format!("time: invalid duration {}", fmt::go_quote(s)))
        .and_then(|d| {
            d.num_nanoseconds()
                .ok_or_else(|| "time: duration out of range".to_string())
        })
}

pub(crate) fn duration<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    parse_duration(arg_str(args, 0)?).map(Value::Duration)
}

pub(crate) fn now<'a>(_args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Time(Utc::now().fixed_offset()))
}

pub(crate) fn time_now<'a>(_args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::string(
        Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    ))
}

/// CrowdSec `ParseUnix`: seconds (fraction ignored) to RFC 3339 in UTC; "" when invalid.
pub(crate) fn parse_unix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    let secs = s
        .split('.')
        .next()
        .unwrap_or("")
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0);
    Ok(Value::string(
        secs.and_then(|i| Utc.timestamp_opt(i, 0).single())
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default(),
    ))
}

fn times(args: &[Value<'_>], name: &str) -> Result<Vec<DateTime<FixedOffset>>, String> {
    let Some(Value::Array(seq)) = args.first() else {
        return Err(format!("{name} expects a slice of times"));
    };
    let mut out = Vec::with_capacity(seq.len());
    for (i, v) in seq.iter().enumerate() {
        match v {
            Value::Time(t) => out.push(t),
            _ => return Err(format!("element at index {i} is not a time.Time")),
        }
    }
    if out.len() < 2 {
        return Err(format!(
            "need at least two times to calculate {}",
            if name == "MedianInterval" {
                "a median"
            } else {
                "an average interval"
            }
        ));
    }
    out.sort();
    Ok(out)
}

fn nanos_between(a: &DateTime<FixedOffset>, b: &DateTime<FixedOffset>) -> i64 {
    (*b - *a).num_nanoseconds().unwrap_or(i64::MAX)
}

pub(crate) fn average_interval<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let ts = times(args, "AverageInterval")?;
    let total: i128 = ts
        .windows(2)
        .map(|w| i128::from(nanos_between(&w[0], &w[1])))
        .sum();
    let avg = total / (ts.len() as i128 - 1);
    Ok(Value::Duration(i64::try_from(avg).unwrap_or(i64::MAX)))
}

pub(crate) fn median_interval<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let ts = times(args, "MedianInterval")?;
    let mut iv: Vec<i64> = ts.windows(2).map(|w| nanos_between(&w[0], &w[1])).collect();
    iv.sort_unstable();
    let n = iv.len();
    Ok(Value::Duration(if n % 2 == 1 {
        iv[n / 2]
    } else {
        ((i128::from(iv[n / 2 - 1]) + i128::from(iv[n / 2])) / 2) as i64
    }))
}

/// Converts a Go layout into a chrono format string.
pub(crate) fn go_layout_to_chrono(layout: &str) -> String {
    const TOKENS: &[(&str, &str)] = &[
        ("January", "%B"),
        ("Monday", "%A"),
        ("Jan", "%b"),
        ("Mon", "%a"),
        ("2006", "%Y"),
        ("Z07:00", "%:z"),
        ("-07:00", "%:z"),
        ("Z0700", "%z"),
        ("-0700", "%z"),
        ("-07", "%z"),
        ("MST", "%Z"),
        (".000000000", "%.9f"),
        (".000000", "%.6f"),
        (".000", "%.3f"),
        (".999999999", "%.f"),
        (".999999", "%.f"),
        (".999", "%.f"),
        ("002", "%j"),
        ("01", "%m"),
        ("02", "%d"),
        ("_2", "%e"),
        ("03", "%I"),
        ("04", "%M"),
        ("05", "%S"),
        ("06", "%y"),
        ("15", "%H"),
        ("PM", "%p"),
        ("pm", "%P"),
        ("1", "%-m"),
        ("2", "%-d"),
        ("3", "%-I"),
        ("4", "%-M"),
        ("5", "%-S"),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, ch) in TOKENS {
            if rest.starts_with(go) {
                out.push_str(ch);
                rest = &rest[go.len()..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Go `Time.Format(layout)`.
pub(crate) fn format_go(t: &DateTime<FixedOffset>, layout: &str) -> String {
    use std::fmt::Write;
    let mut fmt_str = go_layout_to_chrono(layout);
    if t.offset().local_minus_utc() == 0 && layout.contains("Z07:00") {
        fmt_str = fmt_str.replacen("%:z", "Z", 1);
    }
    if layout.contains("MST") {
        let zone = if t.offset().local_minus_utc() == 0 {
            "UTC".to_string()
        } else {
            t.format("%z").to_string()
        };
        fmt_str = fmt_str.replace("%Z", &zone.replace('%', "%%"));
    }
    let mut out = String::new();
    if write!(out, "{}", t.format(&fmt_str)).is_err() {
        return layout.to_string();
    }
    out
}

fn parse_with(s: &str, layout: &str) -> Option<DateTime<FixedOffset>> {
    let f = go_layout_to_chrono(layout).replace("%-", "%");
    if let Ok(t) = DateTime::parse_from_str(s, &f) {
        return Some(t);
    }
    let g = f.replace("%:z", "Z");
    if let Ok(t) = NaiveDateTime::parse_from_str(s, &g) {
        return Some(Utc.from_utc_datetime(&t).fixed_offset());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, &f) {
        return Some(Utc.from_utc_datetime(&t).fixed_offset());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, &f) {
        return Some(
            Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
                .fixed_offset(),
        );
    }
    if let Ok(tm) = NaiveTime::parse_from_str(s, &f) {
        let d = NaiveDate::from_ymd_opt(0, 1, 1)?;
        return Some(Utc.from_utc_datetime(&d.and_time(tm)).fixed_offset());
    }
    None
}

/// `date(s)`, `date(s, layout)`, `date(s, layout, tz)` (only `UTC`/`Local`/fixed offsets as tz).
pub(crate) fn date<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    if args.len() >= 2 {
        let layout = arg_str(args, 1)?;
        if args.len() == 3 {
            let tz = arg_str(args, 2)?;
            if !matches!(tz, "UTC" | "Local" | "") {
                return Err(format!("unknown time zone {tz}"));
            }
        }
        return parse_with(s, layout).map(Value::Time).ok_or_else(|| {
            format!(
                "parsing time {} as {}: cannot parse",
                fmt::go_quote(s),
                fmt::go_quote(layout)
            )
        });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Value::Time(t));
    }
    for layout in [
        "2006-01-02",
        "15:04:05",
        "2006-01-02 15:04:05",
        "02 Jan 06 15:04 MST",
        "Monday, 02-Jan-06 15:04:05 MST",
    ] {
        if let Some(t) = parse_with(s, layout) {
            return Ok(Value::Time(t));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Ok(Value::Time(t));
    }
    Err(format!("invalid date {s}"))
}

fn no_args<'a>(args: &[Value<'a>], name: &str, v: Value<'a>) -> Result<Value<'a>, String> {
    if args.is_empty() {
        Ok(v)
    } else {
        Err(format!("too many arguments to call {name}"))
    }
}

/// Methods of `time.Time`; `None` if there is no such method.
pub(crate) fn time_method<'a>(
    t: &DateTime<FixedOffset>,
    name: &str,
    args: &[Value<'a>],
) -> Option<Result<Value<'a>, String>> {
    let int = |v: i64| Value::Int(v);
    Some(match name {
        "Year" => no_args(args, name, int(i64::from(t.year()))),
        "Month" => no_args(args, name, int(i64::from(t.month()))),
        "Day" => no_args(args, name, int(i64::from(t.day()))),
        "Hour" => no_args(args, name, int(i64::from(t.hour()))),
        "Minute" => no_args(args, name, int(i64::from(t.minute()))),
        "Second" => no_args(args, name, int(i64::from(t.second()))),
        "Nanosecond" => no_args(args, name, int(i64::from(t.nanosecond() % 1_000_000_000))),
        "YearDay" => no_args(args, name, int(i64::from(t.ordinal()))),
        "Weekday" => no_args(args, name, Value::Weekday(t.weekday())),
        "Unix" => no_args(args, name, int(t.timestamp())),
        "UnixMilli" => no_args(args, name, int(t.timestamp_millis())),
        "UnixMicro" => no_args(args, name, int(t.timestamp_micros())),
        "UnixNano" => no_args(args, name, int(t.timestamp_nanos_opt().unwrap_or(i64::MIN))),
        "UTC" | "Local" => no_args(
            args,
            name,
            Value::Time(t.with_timezone(&Utc).fixed_offset()),
        ),
        "IsZero" => no_args(args, name, Value::Bool(*t == crate::event::zero_time())),
        "String" => no_args(args, name, Value::string(fmt::time_string(t))),
        "Format" => arg_str(args, 0).map(|l| Value::string(format_go(t, l))),
        "Add" => match args {
            [Value::Duration(d)] => t
                .checked_add_signed(TimeDelta::nanoseconds(*d))
                .map(Value::Time)
                .ok_or_else(|| "time out of range".to_string()),
            _ => Err("Add expects a time.Duration".into()),
        },
        "Sub" => match args {
            [Value::Time(u)] => Ok(Value::Duration(
                (*t - *u).num_nanoseconds().unwrap_or(i64::MAX),
            )),
            _ => Err("Sub expects a time.Time".into()),
        },
        "Before" | "After" | "Equal" => match args {
            [Value::Time(u)] => Ok(Value::Bool(match name {
                "Before" => t < u,
                "After" => t > u,
                _ => t == u,
            })),
            _ => Err(format!("{name} expects a time.Time")),
        },
        "AddDate" => (|| {
            let (y, m, d) = (arg_int(args, 0)?, arg_int(args, 1)?, arg_int(args, 2)?);
            let total_months = i64::from(t.year()) * 12 + i64::from(t.month0()) + y * 12 + m;
            let year =
                i32::try_from(total_months.div_euclid(12)).map_err(|_| "year out of range")?;
            let month0 = total_months.rem_euclid(12) as u32;
            let first = NaiveDate::from_ymd_opt(year, month0 + 1, 1).ok_or("date out of range")?;
            let date = first
                .checked_add_signed(TimeDelta::days(i64::from(t.day()) - 1 + d))
                .ok_or("date out of range")?;
            let naive = date.and_time(t.time());
            t.offset()
                .from_local_datetime(&naive)
                .single()
                .map(Value::Time)
                .ok_or_else(|| "date out of range".to_string())
        })(),
        "Truncate" => match args {
            [Value::Duration(d)] if *d > 0 => {
                let ns = i128::from(t.timestamp()) * 1_000_000_000
                    + i128::from(t.timestamp_subsec_nanos());
                let rem = ns.rem_euclid(i128::from(*d));
                let delta = i64::try_from(rem).unwrap_or(0);
                Ok(Value::Time(*t - TimeDelta::nanoseconds(delta)))
            }
            [Value::Duration(_)] => Ok(Value::Time(*t)),
            _ => Err("Truncate expects a time.Duration".into()),
        },
        _ => return None,
    })
}

/// Methods of `time.Duration`.
pub(crate) fn duration_method<'a>(
    d: i64,
    name: &str,
    args: &[Value<'a>],
) -> Option<Result<Value<'a>, String>> {
    let f = d as f64;
    Some(match name {
        "Hours" => no_args(args, name, Value::Float(f / 3.6e12)),
        "Minutes" => no_args(args, name, Value::Float(f / 6e10)),
        "Seconds" => no_args(args, name, Value::Float(f / 1e9)),
        "Milliseconds" => no_args(args, name, Value::Int(d / 1_000_000)),
        "Microseconds" => no_args(args, name, Value::Int(d / 1_000)),
        "Nanoseconds" => no_args(args, name, Value::Int(d)),
        "String" => no_args(args, name, Value::string(fmt::duration_string(d))),
        "Abs" => no_args(
            args,
            name,
            Value::Duration(d.checked_abs().unwrap_or(i64::MAX)),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_layouts() {
        assert_eq!(parse_duration("1m30s").unwrap(), 90_000_000_000);
        assert!(parse_duration("10d").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration(&"9".repeat(40)).is_err());
        assert!(parse_duration("1h99999999999999999999.5h99999999999999999999.5h").is_err());
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(
            format_go(&t, "2006-01-02T15:04:05Z07:00"),
            "2026-01-02T03:04:05Z"
        );
        assert_eq!(format_go(&t, "Jan _2 15:04:05"), "Jan  2 03:04:05");
        assert_eq!(fmt::time_string(&t), "2026-01-02 03:04:05 +0000 UTC");
        assert!(matches!(
            date(&[Value::str("2026-01-02")]),
            Ok(Value::Time(_))
        ));
        assert!(matches!(
            date(&[Value::str("02/01/2026 10:00"), Value::str("02/01/2006 15:04")]),
            Ok(Value::Time(x)) if x.format("%Y-%m-%d %H:%M").to_string() == "2026-01-02 10:00"
        ));
        assert!(date(&[Value::str("nope")]).is_err());
    }
}
