//! Go's `time.Parse`, for the layouts CrowdSec parsers use (`Jan  2 15:04:05`,
//! `02/Jan/2006:15:04:05 -0700`, `StrTimeFormat` values, ...).
//!
//! A layout is compiled once into chunks (a literal prefix, then one Go layout token), the way
//! Go's `nextStdChunk` cuts it, and matched with Go's rules:
//!
//! * a space in the layout matches one or more spaces of the value (or none at its very end);
//! * `2`, `1`, `3`, `4`, `5`, `15` accept one or two digits, `02`, `01`, `03`, `04`, `05` exactly two,
//!   `_2` an optional leading space; month and day names are case-insensitive;
//! * a fraction after the seconds is accepted even if the layout has none;
//! * elements missing from the layout are zero (year 0) or one (January, day 1);
//! * without a zone the result is UTC. Go's `Local` is taken to be UTC: a numeric offset gives a
//!   fixed offset, a zone abbreviation without offset gives offset 0 (`GMT+3` gives +03:00), and
//!   `UTC` wins over an offset written next to it, as in Go.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};

/// One Go layout token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    UpperPm,
    LowerPm,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// `.000`: exactly this many digits.
    FracSecond0(usize),
    /// `.999`: any number of digits, or none.
    FracSecond9,
}

/// `01`..`06`.
const STD0X: [Std; 6] = [
    Std::ZeroMonth,
    Std::ZeroDay,
    Std::ZeroHour12,
    Std::ZeroMinute,
    Std::ZeroSecond,
    Std::Year,
];

const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A literal prefix and the token after it (`None` for the layout's tail).
#[derive(Debug, Clone)]
struct Chunk {
    prefix: Box<[u8]>,
    std: Option<Std>,
}

/// A compiled Go time layout.
#[derive(Debug, Clone)]
pub struct GoLayout {
    layout: String,
    chunks: Vec<Chunk>,
}

impl GoLayout {
    /// Compiles a Go layout (`2006-01-02T15:04:05Z07:00`). Every string is a layout: text
    /// that is not a token is literal, as in Go.
    pub fn new(layout: &str) -> Self {
        let mut chunks = Vec::new();
        let mut rest = layout.as_bytes();
        loop {
            let (prefix, std, suffix) = next_std_chunk(rest);
            chunks.push(Chunk {
                prefix: prefix.into(),
                std,
            });
            if std.is_none() {
                break;
            }
            rest = suffix;
        }
        GoLayout {
            layout: layout.to_string(),
            chunks,
        }
    }

    /// The layout text.
    pub fn as_str(&self) -> &str {
        &self.layout
    }

    /// Parses `value` like Go's `time.Parse(layout, value)`. A layout without a year gives year 0.
    pub fn parse(&self, value: &str) -> Option<DateTime<FixedOffset>> {
        let mut st = State::default();
        let mut v = value.as_bytes();
        for (idx, chunk) in self.chunks.iter().enumerate() {
            v = skip(v, &chunk.prefix)?;
            let Some(std) = chunk.std else {
                if !v.is_empty() {
                    return None;
                }
                break;
            };
            let next_is_frac = matches!(
                self.chunks.get(idx + 1).and_then(|c| c.std),
                Some(Std::FracSecond0(_) | Std::FracSecond9)
            );
            v = st.take(std, v, next_is_frac)?;
        }
        st.finish()
    }
}

/// What the tokens captured so far (Go's `parse` locals).
struct State<'a> {
    year: i32,
    month: i32,
    day: i32,
    yday: i32,
    hour: i32,
    min: i32,
    sec: i32,
    nsec: u32,
    pm_set: bool,
    am_set: bool,
    utc: bool,
    zone_offset: Option<i32>,
    zone_name: Option<&'a [u8]>,
}

impl Default for State<'_> {
    fn default() -> Self {
        State {
            year: 0,
            month: -1,
            day: -1,
            yday: -1,
            hour: 0,
            min: 0,
            sec: 0,
            nsec: 0,
            pm_set: false,
            am_set: false,
            utc: false,
            zone_offset: None,
            zone_name: None,
        }
    }
}

impl<'a> State<'a> {
    /// Consumes one token's text from `v`; `None` when it does not match.
    fn take(&mut self, std: Std, v: &'a [u8], next_is_frac: bool) -> Option<&'a [u8]> {
        use Std::*;
        let rest = match std {
            Year => {
                let (y, rest) = getnum(v, true)?;
                self.year = if y >= 69 { y + 1900 } else { y + 2000 };
                rest
            }
            LongYear => {
                if v.len() < 4 || !v[..4].iter().all(u8::is_ascii_digit) {
                    return None;
                }
                self.year = digits(&v[..4]) as i32;
                &v[4..]
            }
            Month | LongMonth => {
                let table: &[&str] = if std == Month {
                    &SHORT_MONTHS
                } else {
                    &LONG_MONTHS
                };
                let (i, rest) = lookup(table, v)?;
                self.month = i as i32 + 1;
                rest
            }
            NumMonth | ZeroMonth => {
                let (m, rest) = getnum(v, std == ZeroMonth)?;
                if !(1..=12).contains(&m) {
                    return None;
                }
                self.month = m;
                rest
            }
            WeekDay => lookup(&SHORT_DAYS, v)?.1,
            LongWeekDay => lookup(&LONG_DAYS, v)?.1,
            Day | UnderDay | ZeroDay => {
                let v = if std == UnderDay && v.first() == Some(&b' ') {
                    &v[1..]
                } else {
                    v
                };
                let (d, rest) = getnum(v, std == ZeroDay)?;
                self.day = d;
                rest
            }
            UnderYearDay | ZeroYearDay => {
                let mut v = v;
                for _ in 0..2 {
                    if std == UnderYearDay && v.first() == Some(&b' ') {
                        v = &v[1..];
                    }
                }
                let (d, rest) = getnum3(v, std == ZeroYearDay)?;
                self.yday = d;
                rest
            }
            Hour => {
                let (h, rest) = getnum(v, false)?;
                if h >= 24 {
                    return None;
                }
                self.hour = h;
                rest
            }
            Hour12 | ZeroHour12 => {
                let (h, rest) = getnum(v, std == ZeroHour12)?;
                if h > 12 {
                    return None;
                }
                self.hour = h;
                rest
            }
            Minute | ZeroMinute => {
                let (m, rest) = getnum(v, std == ZeroMinute)?;
                if m >= 60 {
                    return None;
                }
                self.min = m;
                rest
            }
            Second | ZeroSecond => {
                let (s, mut rest) = getnum(v, std == ZeroSecond)?;
                if s >= 60 {
                    return None;
                }
                self.sec = s;
                // A fraction in the value but not in the layout is accepted (Go does the same).
                if !next_is_frac
                    && rest.len() >= 2
                    && comma_or_period(rest[0])
                    && rest[1].is_ascii_digit()
                {
                    let n = 2 + rest[2..].iter().take_while(|c| c.is_ascii_digit()).count();
                    self.nsec = parse_nanoseconds(rest, n)?;
                    rest = &rest[n..];
                }
                rest
            }
            UpperPm | LowerPm => {
                if v.len() < 2 {
                    return None;
                }
                let (am, pm): (&[u8], &[u8]) = if std == UpperPm {
                    (b"AM", b"PM")
                } else {
                    (b"am", b"pm")
                };
                match &v[..2] {
                    p if p == pm => self.pm_set = true,
                    p if p == am => self.am_set = true,
                    _ => return None,
                }
                &v[2..]
            }
            Iso8601Tz
            | Iso8601SecondsTz
            | Iso8601ShortTz
            | Iso8601ColonTz
            | Iso8601ColonSecondsTz
                if v.first() == Some(&b'Z') =>
            {
                self.utc = true;
                &v[1..]
            }
            Iso8601Tz
            | Iso8601SecondsTz
            | Iso8601ShortTz
            | Iso8601ColonTz
            | Iso8601ColonSecondsTz
            | NumTz
            | NumSecondsTz
            | NumShortTz
            | NumColonTz
            | NumColonSecondsTz => {
                let (sign, hh, mm, ss, rest): (u8, &[u8], &[u8], &[u8], &[u8]) = match std {
                    Iso8601ColonTz | NumColonTz => {
                        if v.len() < 6 || v[3] != b':' {
                            return None;
                        }
                        (v[0], &v[1..3], &v[4..6], b"00", &v[6..])
                    }
                    Iso8601ShortTz | NumShortTz => {
                        if v.len() < 3 {
                            return None;
                        }
                        (v[0], &v[1..3], b"00", b"00", &v[3..])
                    }
                    Iso8601ColonSecondsTz | NumColonSecondsTz => {
                        if v.len() < 9 || v[3] != b':' || v[6] != b':' {
                            return None;
                        }
                        (v[0], &v[1..3], &v[4..6], &v[7..9], &v[9..])
                    }
                    Iso8601SecondsTz | NumSecondsTz => {
                        if v.len() < 7 {
                            return None;
                        }
                        (v[0], &v[1..3], &v[3..5], &v[5..7], &v[7..])
                    }
                    _ => {
                        if v.len() < 5 {
                            return None;
                        }
                        (v[0], &v[1..3], &v[3..5], b"00", &v[5..])
                    }
                };
                let (hr, _) = getnum(hh, true)?;
                let (mi, _) = getnum(mm, true)?;
                let (se, _) = getnum(ss, true)?;
                if hr > 24 || mi > 60 || se > 60 {
                    return None;
                }
                let off = (hr * 60 + mi) * 60 + se;
                self.zone_offset = Some(match sign {
                    b'+' => off,
                    b'-' => -off,
                    _ => return None,
                });
                rest
            }
            Tz => {
                if v.starts_with(b"UTC") {
                    self.utc = true;
                    &v[3..]
                } else {
                    let n = parse_time_zone(v)?;
                    self.zone_name = Some(&v[..n]);
                    &v[n..]
                }
            }
            FracSecond0(n) => {
                let ndigit = 1 + n;
                if v.len() < ndigit {
                    return None;
                }
                self.nsec = parse_nanoseconds(v, ndigit)?;
                &v[ndigit..]
            }
            FracSecond9 => {
                if v.len() < 2 || !comma_or_period(v[0]) || !v[1].is_ascii_digit() {
                    v // fraction omitted
                } else {
                    let n = 1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    self.nsec = parse_nanoseconds(v, n)?;
                    &v[n..]
                }
            }
        };
        Some(rest)
    }

    /// Validates the captured fields and builds the time.
    fn finish(mut self) -> Option<DateTime<FixedOffset>> {
        if self.pm_set && self.hour < 12 {
            self.hour += 12;
        } else if self.am_set && self.hour == 12 {
            self.hour = 0;
        }
        let date = if self.yday >= 0 {
            let d = NaiveDate::from_yo_opt(self.year, u32::try_from(self.yday).ok()?)?;
            use chrono::Datelike;
            if (self.month >= 0 && self.month as u32 != d.month())
                || (self.day >= 0 && self.day as u32 != d.day())
            {
                return None;
            }
            d
        } else {
            let month = if self.month < 0 { 1 } else { self.month };
            let day = if self.day < 0 { 1 } else { self.day };
            NaiveDate::from_ymd_opt(self.year, month as u32, u32::try_from(day).ok()?)?
        };
        let time = NaiveTime::from_hms_nano_opt(
            self.hour as u32,
            self.min as u32,
            self.sec as u32,
            self.nsec,
        )?;
        let offset = if self.utc {
            0
        } else if let Some(off) = self.zone_offset {
            off
        } else if let Some(name) = self.zone_name {
            // Unknown abbreviation: Go fabricates a zone with offset 0, except GMT±h.
            if name.len() > 3 && name.starts_with(b"GMT") {
                let (neg, num) = (name[3] == b'-', &name[4..]);
                let h = digits(num) as i32;
                if neg {
                    -h * 3600
                } else {
                    h * 3600
                }
            } else {
                0
            }
        } else {
            0
        };
        FixedOffset::east_opt(offset)?
            .from_local_datetime(&date.and_time(time))
            .single()
    }
}

/// Go's `nextStdChunk`: the literal before the next token, the token, and the rest.
fn next_std_chunk(layout: &[u8]) -> (&[u8], Option<Std>, &[u8]) {
    let n = layout.len();
    let at = |i: usize, s: &[u8]| layout[i..].starts_with(s);
    let mut i = 0;
    while i < n {
        let found: Option<(usize, Std, usize)> = match layout[i] {
            b'J' if at(i, b"Jan") => {
                if at(i, b"January") {
                    Some((i, Std::LongMonth, i + 7))
                } else if !starts_with_lower(&layout[i + 3..]) {
                    Some((i, Std::Month, i + 3))
                } else {
                    None
                }
            }
            b'M' if at(i, b"Mon") => {
                if at(i, b"Monday") {
                    Some((i, Std::LongWeekDay, i + 6))
                } else if !starts_with_lower(&layout[i + 3..]) {
                    Some((i, Std::WeekDay, i + 3))
                } else {
                    None
                }
            }
            b'M' if at(i, b"MST") => Some((i, Std::Tz, i + 3)),
            b'0' if i + 1 < n && (b'1'..=b'6').contains(&layout[i + 1]) => {
                Some((i, STD0X[usize::from(layout[i + 1] - b'1')], i + 2))
            }
            b'0' if at(i, b"002") => Some((i, Std::ZeroYearDay, i + 3)),
            b'1' if at(i, b"15") => Some((i, Std::Hour, i + 2)),
            b'1' => Some((i, Std::NumMonth, i + 1)),
            b'2' if at(i, b"2006") => Some((i, Std::LongYear, i + 4)),
            b'2' => Some((i, Std::Day, i + 1)),
            // `_2006` is a literal `_` then the year.
            b'_' if at(i, b"_2006") => Some((i + 1, Std::LongYear, i + 5)),
            b'_' if at(i, b"_2") => Some((i, Std::UnderDay, i + 2)),
            b'_' if at(i, b"__2") => Some((i, Std::UnderYearDay, i + 3)),
            b'3' => Some((i, Std::Hour12, i + 1)),
            b'4' => Some((i, Std::Minute, i + 1)),
            b'5' => Some((i, Std::Second, i + 1)),
            b'P' if at(i, b"PM") => Some((i, Std::UpperPm, i + 2)),
            b'p' if at(i, b"pm") => Some((i, Std::LowerPm, i + 2)),
            b'-' | b'Z' => {
                let iso = layout[i] == b'Z';
                let tail = &layout[i + 1..];
                let pick = |num: Std, iso_std: Std| if iso { iso_std } else { num };
                if tail.starts_with(b"070000") {
                    Some((i, pick(Std::NumSecondsTz, Std::Iso8601SecondsTz), i + 7))
                } else if tail.starts_with(b"07:00:00") {
                    Some((
                        i,
                        pick(Std::NumColonSecondsTz, Std::Iso8601ColonSecondsTz),
                        i + 9,
                    ))
                } else if tail.starts_with(b"0700") {
                    Some((i, pick(Std::NumTz, Std::Iso8601Tz), i + 5))
                } else if tail.starts_with(b"07:00") {
                    Some((i, pick(Std::NumColonTz, Std::Iso8601ColonTz), i + 6))
                } else if tail.starts_with(b"07") {
                    Some((i, pick(Std::NumShortTz, Std::Iso8601ShortTz), i + 3))
                } else {
                    None
                }
            }
            b'.' | b',' if i + 1 < n && (layout[i + 1] == b'0' || layout[i + 1] == b'9') => {
                let ch = layout[i + 1];
                let j = i + 1 + layout[i + 1..].iter().take_while(|&&c| c == ch).count();
                // The run must end the number: `.000` is a fraction, `.0001` is literal text.
                if j < n && layout[j].is_ascii_digit() {
                    None
                } else if ch == b'0' {
                    Some((i, Std::FracSecond0(j - i - 1), j))
                } else {
                    Some((i, Std::FracSecond9, j))
                }
            }
            _ => None,
        };
        if let Some((end, std, next)) = found {
            return (&layout[..end], Some(std), &layout[next..]);
        }
        i += 1;
    }
    (layout, None, &[])
}

fn starts_with_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `skip`: matches the literal `prefix`, where a run of spaces matches any run of spaces.
fn skip<'a>(mut v: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    while let Some(&c) = prefix.first() {
        if c == b' ' {
            if v.first().is_some_and(|&b| b != b' ') {
                return None;
            }
            prefix = cut_spaces(prefix);
            v = cut_spaces(v);
            continue;
        }
        if v.first() != Some(&c) {
            return None;
        }
        prefix = &prefix[1..];
        v = &v[1..];
    }
    Some(v)
}

fn cut_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

/// Go's `getnum`: one or two digits; exactly two when `fixed`.
fn getnum(s: &[u8], fixed: bool) -> Option<(i32, &[u8])> {
    let d0 = *s.first().filter(|c| c.is_ascii_digit())?;
    match s.get(1).filter(|c| c.is_ascii_digit()) {
        Some(&d1) => Some((i32::from(d0 - b'0') * 10 + i32::from(d1 - b'0'), &s[2..])),
        None if fixed => None,
        None => Some((i32::from(d0 - b'0'), &s[1..])),
    }
}

/// Go's `getnum3`: one to three digits; exactly three when `fixed`.
fn getnum3(s: &[u8], fixed: bool) -> Option<(i32, &[u8])> {
    let n = s.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((digits(&s[..n]) as i32, &s[n..]))
}

/// The value of a run of ASCII digits (saturating; callers pass short runs).
fn digits(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u64, |acc, &c| {
            acc.saturating_mul(10).saturating_add(u64::from(c - b'0'))
        })
}

fn comma_or_period(c: u8) -> bool {
    c == b'.' || c == b','
}

/// Go's `parseNanoseconds`: `v[0]` is the separator, `v[1..nbytes]` the digits.
fn parse_nanoseconds(v: &[u8], nbytes: usize) -> Option<u32> {
    if !comma_or_period(*v.first()?) {
        return None;
    }
    let nbytes = nbytes.min(10);
    let frac = &v[1..nbytes];
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut ns = digits(frac) as u32;
    for _ in 0..(10 - nbytes) {
        ns *= 10;
    }
    Some(ns)
}

/// Go's `lookup`: the first name of `table` that prefixes `v`, ignoring ASCII case.
fn lookup<'a>(table: &[&str], v: &'a [u8]) -> Option<(usize, &'a [u8])> {
    table.iter().enumerate().find_map(|(i, name)| {
        let name = name.as_bytes();
        (v.len() >= name.len() && v[..name.len()].eq_ignore_ascii_case(name))
            .then(|| (i, &v[name.len()..]))
    })
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of `v`.
fn parse_time_zone(v: &[u8]) -> Option<usize> {
    if v.len() < 3 {
        return None;
    }
    if v.starts_with(b"ChST") || v.starts_with(b"MeST") {
        return Some(4);
    }
    if v.starts_with(b"GMT") {
        return Some(3 + parse_signed_offset(&v[3..]));
    }
    if v[0] == b'+' || v[0] == b'-' {
        let n = parse_signed_offset(v);
        return (n > 0).then_some(n);
    }
    let upper = v
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if v[3] == b'T' || v.starts_with(b"WITA") => Some(4),
        5 if v[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `parseSignedOffset`: `+h`/`-h` with h ≤ 23, or 0 when absent.
fn parse_signed_offset(v: &[u8]) -> usize {
    match v.first() {
        Some(b'+' | b'-') => {}
        _ => return 0,
    }
    let n = v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || digits(&v[1..1 + n]) > 23 {
        return 0;
    }
    1 + n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (layout, value, expected RFC 3339 with offset, or None for a parse error).
    const CASES: &[(&str, &str, Option<&str>)] = &[
        (
            "Jan  2 15:04:05",
            "Feb 12 14:10:21",
            Some("0000-02-12T14:10:21+00:00"),
        ),
        (
            "Jan  2 15:04:05",
            "Feb  2 14:10:21",
            Some("0000-02-02T14:10:21+00:00"),
        ),
        (
            "Jan  2 15:04:05",
            "FEB 2 14:10:21",
            Some("0000-02-02T14:10:21+00:00"),
        ),
        ("Jan  2 15:04:05", "Feb2 14:10:21", None),
        (
            "Jan _2 15:04:05",
            "Feb  2 14:10:21",
            Some("0000-02-02T14:10:21+00:00"),
        ),
        ("Jan 02 15:04:05", "Feb 2 14:10:21", None),
        ("Jan  2 15:04:05", "Feb 30 14:10:21", None),
        (
            "Jan  2 15:04:05",
            "Feb 29 14:10:21",
            Some("0000-02-29T14:10:21+00:00"),
        ),
        ("Jan  2 15:04:05", "Feb 12 14:10:21 extra", None),
        (
            "Jan  2 15:04:05",
            "Feb 12 14:10:21.250",
            Some("0000-02-12T14:10:21.250+00:00"),
        ),
        ("Jan  2 15:04:05", "Feb 12 24:10:21", None),
        (
            "02/Jan/2006:15:04:05 -0700",
            "12/Feb/2026:14:10:21 +0100",
            Some("2026-02-12T14:10:21+01:00"),
        ),
        (
            "02/Jan/2006:15:04:05 -0700",
            "12/Feb/2026:14:10:21 0100",
            None,
        ),
        (
            "2006-01-02T15:04:05Z07:00",
            "2019-10-12T07:20:50.52Z",
            Some("2019-10-12T07:20:50.520+00:00"),
        ),
        (
            "2006-01-02T15:04:05Z07:00",
            "2019-10-12T07:20:50-03:30",
            Some("2019-10-12T07:20:50-03:30"),
        ),
        (
            "2006-01-02 15:04:05.999999999 -0700 MST",
            "2026-02-12 14:10:21.5 +0200 EET",
            Some("2026-02-12T14:10:21.500+02:00"),
        ),
        // Go quirk: a `UTC` abbreviation wins over the numeric offset.
        (
            "2006-01-02 15:04:05.999999999 -0700 MST",
            "2026-02-12 14:10:21 +0200 UTC",
            Some("2026-02-12T14:10:21+00:00"),
        ),
        (
            "2006-01-02 15:04:05 MST",
            "2026-02-12 14:10:21 GMT+3",
            Some("2026-02-12T14:10:21+03:00"),
        ),
        (
            "2006-01-02 15:04:05 MST",
            "2026-02-12 14:10:21 CEST",
            Some("2026-02-12T14:10:21+00:00"),
        ),
        ("2006-01-02 15:04:05 MST", "2026-02-12 14:10:21 cet", None),
        (
            "Mon Jan 02 15:04:05.000000 2006",
            "Thu Feb 12 14:10:21.123456 2026",
            Some("2026-02-12T14:10:21.123456+00:00"),
        ),
        (
            "Mon Jan 02 15:04:05.000000 2006",
            "Thu Feb 12 14:10:21.123 2026",
            None,
        ),
        (
            "Monday, 02-Jan-06 15:04:05 MST",
            "Thursday, 12-Feb-26 14:10:21 UTC",
            Some("2026-02-12T14:10:21+00:00"),
        ),
        ("02-Jan-06", "12-Feb-69", Some("1969-02-12T00:00:00+00:00")),
        ("02-Jan-06", "12-Feb-68", Some("2068-02-12T00:00:00+00:00")),
        ("3:04PM", "2:10PM", Some("0000-01-01T14:10:00+00:00")),
        ("3:04pm", "12:10am", Some("0000-01-01T00:10:00+00:00")),
        ("03:04PM", "2:10PM", None),
        ("2006 002", "2026 043", Some("2026-02-12T00:00:00+00:00")),
        ("2006 __2", "2026  43", Some("2026-02-12T00:00:00+00:00")),
        ("2006-01-02 002", "2026-02-13 043", None),
        (
            "2006-01-02T15:04:05,999",
            "2026-02-12T14:10:21,5",
            Some("2026-02-12T14:10:21.500+00:00"),
        ),
        (
            "2006-01-02T15:04:05.000Z0700",
            "2026-02-12T14:10:21.123-0130",
            Some("2026-02-12T14:10:21.123-01:30"),
        ),
        (
            "2006-01-02T15:04:05-07",
            "2026-02-12T14:10:21+05",
            Some("2026-02-12T14:10:21+05:00"),
        ),
        // chrono prints the offset without its seconds; they are checked below.
        (
            "2006-01-02T15:04:05-07:00:00",
            "2026-02-12T14:10:21+05:30:15",
            Some("2026-02-12T14:10:21+05:30"),
        ),
        ("_2006", "_2026", Some("2026-01-01T00:00:00+00:00")),
        (
            "2006/01/02",
            "2026/02/12",
            Some("2026-02-12T00:00:00+00:00"),
        ),
        ("2006/1/2", "2026/2/3", Some("2026-02-03T00:00:00+00:00")),
        (
            "January 2, 2006",
            "february 3, 2026",
            Some("2026-02-03T00:00:00+00:00"),
        ),
        // Trailing layout spaces match the end of the value.
        (
            "2006-01-02 ",
            "2026-02-12",
            Some("2026-02-12T00:00:00+00:00"),
        ),
        (
            "2006 X 2 zz 15X04X05 oneone Jan",
            "2011 X 17 zz 08X17X43 oneone Dec",
            Some("2011-12-17T08:17:43+00:00"),
        ),
    ];

    #[test]
    fn parses_like_go_time_parse() {
        for (layout, value, want) in CASES {
            let got = GoLayout::new(layout)
                .parse(value)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false));
            assert_eq!(got.as_deref(), *want, "layout {layout:?} value {value:?}");
        }
        let t = GoLayout::new("15:04:05 -070000")
            .parse("14:10:21 -053015")
            .unwrap();
        assert_eq!(t.offset().local_minus_utc(), -(5 * 3600 + 30 * 60 + 15));
    }

    #[test]
    fn cuts_layouts_like_go() {
        let l = GoLayout::new("Mon Jan _2 15:04:05.000 -0700 MST 2006");
        let stds: Vec<_> = l.chunks.iter().filter_map(|c| c.std).collect();
        assert_eq!(
            stds,
            vec![
                Std::WeekDay,
                Std::Month,
                Std::UnderDay,
                Std::Hour,
                Std::ZeroMinute,
                Std::ZeroSecond,
                Std::FracSecond0(3),
                Std::NumTz,
                Std::Tz,
                Std::LongYear
            ]
        );
        // `Janet` and `Month` are literal text; `.0001` is not a fraction but ends in `01`.
        let l = GoLayout::new("Janet Month .0001");
        let stds: Vec<_> = l.chunks.iter().filter_map(|c| c.std).collect();
        assert_eq!(stds, vec![Std::ZeroMonth]);
        assert_eq!(l.as_str(), "Janet Month .0001");
    }
}
