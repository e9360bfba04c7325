//! `ParseDate`: turns the timestamp text a parser extracted (`evt.StrTime`) into
//! `Enriched.MarshaledTime`, as CrowdSec's `pkg/parser/enrich_date.go` does:
//!
//! 1. if the input is not empty and the event has a `StrTimeFormat`, that Go layout first;
//! 2. then the [`DEFAULT_LAYOUTS`], in order (Go layout semantics, see [`GoLayout`]);
//! 3. then a Unix epoch (the integer part before the first `.`, which must be > 0);
//! 4. else now, from the injected clock (and `evt.Time` is left alone).
//!
//! A parsed time whose year is 0 (a year-less layout such as syslog's `Jan  2 15:04:05`) gets
//! the pinned year if one is configured (hubtest `--year`), else the clock's current UTC year;
//! there is no December/January correction (CrowdSec has none). `MarshaledTime` is Go's
//! `time.MarshalText`: RFC 3339 with nanoseconds, trimmed, keeping the parsed offset
//! (`2026-02-12T14:10:21+01:00`; `Z` for offset 0). In time-machine mode the parsed time is
//! also returned in [`Enrichment::time`] so that the parser engine sets `evt.Time`.

use crate::cache::ResultCache;
use crate::golayout::GoLayout;
use crate::{Enricher, Enrichment};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use palisade_runtime::clock::SharedClock;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Event, ExpectMode, FieldName};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

/// The layouts `ParseDate` tries after `StrTimeFormat`, in CrowdSec's order.
pub const DEFAULT_LAYOUTS: [&str; 16] = [
    "2006-01-02T15:04:05Z07:00",
    "02/Jan/2006:15:04:05 -0700",
    "Mon Jan 2 15:04:05 2006",
    "02-Jan-2006 15:04:05 europe/paris",
    "01/02/2006 15:04:05",
    "2006-01-02 15:04:05.999999999 -0700 MST",
    "Jan  2 15:04:05",
    "Mon Jan 02 15:04:05.000000 2006",
    "2006-01-02T15:04:05Z07:00",
    "2006/01/02",
    "2006/01/02 15:04",
    "2006-01-02",
    "2006-01-02 15:04",
    "2006/01/02 15:04:05",
    "2006-01-02 15:04:05",
    "2006-01-02T15:04:05",
];

/// Most distinct `StrTimeFormat` layouts kept compiled; others are compiled on each use.
const LAYOUT_CACHE_MAX: usize = 256;

fn default_layouts() -> &'static [GoLayout] {
    static LAYOUTS: OnceLock<Vec<GoLayout>> = OnceLock::new();
    LAYOUTS.get_or_init(|| DEFAULT_LAYOUTS.iter().map(|l| GoLayout::new(l)).collect())
}

/// Formats a time like Go's `time.MarshalText`: RFC 3339, nanoseconds trimmed of trailing
/// zeros, the offset kept (`Z` when it is 0; seconds of an offset are dropped, as in Go).
pub fn marshal_time(t: &DateTime<FixedOffset>) -> String {
    let off = t.offset().local_minus_utc();
    if off == 0 {
        return format_rfc3339_nano(&t.with_timezone(&Utc));
    }
    let mut s = format_rfc3339_nano(&Utc.from_utc_datetime(&t.naive_local()));
    s.pop(); // the `Z`
    let minutes = off.unsigned_abs() / 60;
    let sign = if off < 0 { '-' } else { '+' };
    let _ = write!(s, "{sign}{:02}:{:02}", minutes / 60, minutes % 60);
    s
}

/// Go's zero time, which `ParseDate` treats as "not parsed".
fn is_go_zero(t: &DateTime<FixedOffset>) -> bool {
    t.timestamp() == -62_135_596_800 && t.timestamp_subsec_nanos() == 0
}

/// Go's `t.AddDate(years, 0, 0)`: same wall clock, Feb 29 rolling to Mar 1 in common years.
fn add_years(t: DateTime<FixedOffset>, years: i32) -> Option<DateTime<FixedOffset>> {
    let local = t.naive_local();
    let y = local.year().checked_add(years)?;
    let date = NaiveDate::from_ymd_opt(y, local.month(), local.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, 3, 1))?;
    t.offset()
        .from_local_datetime(&date.and_time(local.time()))
        .single()
}

/// CrowdSec's `parseDateWithFormat`: one layout, the zero time refused, year 0 replaced, and
/// only times Go can marshal (year 0 to 9999).
fn with_layout(
    layout: &GoLayout,
    input: &str,
    year: &mut dyn FnMut() -> i32,
) -> Option<DateTime<FixedOffset>> {
    let t = layout.parse(input)?;
    if is_go_zero(&t) {
        return None;
    }
    let t = if t.year() == 0 {
        add_years(t, year())?
    } else {
        t
    };
    (0..=9999).contains(&t.year()).then_some(t)
}

/// CrowdSec's `ParseUnixTime`: the integer part of `s` (before the first `.`), if > 0, as
/// seconds since the epoch.
pub fn parse_unix(s: &str) -> Option<DateTime<Utc>> {
    let secs: i64 = s.split('.').next()?.parse().ok()?;
    if secs <= 0 {
        return None;
    }
    DateTime::from_timestamp(secs, 0)
}

/// Whether `value` starts with an English month abbreviation (any case), as Go's `Jan` reads.
fn starts_with_month(value: &str) -> bool {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    value
        .as_bytes()
        .get(..3)
        .is_some_and(|p| MONTHS.iter().any(|m| p.eq_ignore_ascii_case(m)))
}

/// Whether a Go layout starts with a digit (a number token such as `2006`, `02`, `15`, or a
/// literal digit) or a weekday token (`Mon`, `Monday`): either needs the value to start with a
/// digit or a weekday name, never a month name.
fn starts_with_number_or_weekday(layout: &str) -> bool {
    layout.starts_with(|c: char| c.is_ascii_digit()) || layout.starts_with("Mon")
}

/// Steps 1 to 3 of the algorithm with a compiled hint; `year` is asked only for year-less
/// results.
fn parse_steps(
    input: &str,
    hint: Option<&GoLayout>,
    year: &mut dyn FnMut() -> i32,
) -> Option<DateTime<FixedOffset>> {
    if input.is_empty() {
        return None;
    }
    if let Some(t) = hint.and_then(|l| with_layout(l, input, year)) {
        return Some(t);
    }
    // A value that starts with a month name (syslog's `Jun 10 06:00:11`) cannot match a
    // layout that starts with a number or a weekday: those are skipped without trying them.
    let month_first = starts_with_month(input);
    if let Some(t) = default_layouts()
        .iter()
        .zip(DEFAULT_LAYOUTS)
        .filter(|(_, text)| !(month_first && starts_with_number_or_weekday(text)))
        .find_map(|(l, _)| with_layout(l, input, year))
    {
        return Some(t);
    }
    parse_unix(input).map(|t| t.fixed_offset())
}

/// Parses a timestamp like `ParseDate`, keeping the offset it was written with: the
/// `layout_hint` (a Go layout, as `StrTimeFormat`) first, then [`DEFAULT_LAYOUTS`], then a Unix
/// epoch. Year-less results get `year`. `None` when nothing matched (`ParseDate` then uses now).
pub fn parse_date_with_offset(
    input: &str,
    layout_hint: Option<&str>,
    year: i32,
) -> Option<DateTime<FixedOffset>> {
    let hint = layout_hint.filter(|h| !h.is_empty()).map(GoLayout::new);
    parse_steps(input, hint.as_ref(), &mut || year)
}

/// [`parse_date_with_offset`] in UTC, for direct use: year-less results get the pinned `year`
/// when given, else the UTC year of `now`.
pub fn parse_date(
    input: &str,
    layout_hint: Option<&str>,
    year: Option<i32>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    parse_date_with_offset(input, layout_hint, year.unwrap_or_else(|| now.year()))
        .map(|t| t.with_timezone(&Utc))
}

/// What `ParseDate` gives for a parsed time: `MarshaledTime`, and the time (kept only in
/// time-machine mode).
fn parsed(t: &DateTime<FixedOffset>) -> Enrichment {
    let mut out = Enrichment::default();
    out.fields
        .insert(FieldName::from_static("MarshaledTime"), marshal_time(t));
    out.time = Some(t.with_timezone(&Utc));
    out
}

/// The `ParseDate` method.
pub struct ParseDate {
    clock: SharedClock,
    year: Option<i32>,
    layouts: RwLock<HashMap<String, Arc<GoLayout>>>,
    /// Results that depend on the input alone (see [`Enricher::enrich`] below).
    cache: ResultCache,
}

impl std::fmt::Debug for ParseDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseDate")
            .field("year", &self.year)
            .finish()
    }
}

impl ParseDate {
    /// `ParseDate` reading "now" (and the current year) from `clock`.
    pub fn new(clock: SharedClock) -> Self {
        ParseDate {
            clock,
            year: None,
            layouts: RwLock::new(HashMap::new()),
            cache: ResultCache::new(),
        }
    }

    /// Pins the year given to year-less timestamps (hubtest `--year`); `None` uses the
    /// clock's current UTC year.
    pub fn with_year(mut self, year: Option<i32>) -> Self {
        self.year = year;
        self
    }

    /// The compiled `StrTimeFormat` layout, cached.
    fn layout(&self, layout: &str) -> Arc<GoLayout> {
        if let Some(l) = self
            .layouts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(layout)
        {
            return l.clone();
        }
        let compiled = Arc::new(GoLayout::new(layout));
        let mut cache = self.layouts.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() < LAYOUT_CACHE_MAX {
            cache.insert(layout.to_string(), compiled.clone());
        }
        compiled
    }

    /// The parsed time (with its offset), or `None` when `ParseDate` falls back to now.
    pub fn parse(&self, input: &str, str_time_format: &str) -> Option<DateTime<FixedOffset>> {
        self.parse_noting_year(input, str_time_format).0
    }

    /// [`parse`](Self::parse), and whether the year had to be supplied (a year-less layout).
    fn parse_noting_year(
        &self,
        input: &str,
        str_time_format: &str,
    ) -> (Option<DateTime<FixedOffset>>, bool) {
        let hint = (!input.is_empty() && !str_time_format.is_empty())
            .then(|| self.layout(str_time_format));
        let mut supplied = false;
        let mut year = || {
            supplied = true;
            self.year.unwrap_or_else(|| self.clock.now().year())
        };
        let t = parse_steps(input, hint.as_deref(), &mut year);
        (t, supplied)
    }

    /// `MarshaledTime` and the time of `input` parsed without `StrTimeFormat`, and whether
    /// that depends on the input alone (it was parsed, with its own year).
    fn parse_plain(&self, input: &str) -> (Enrichment, bool) {
        let (t, supplied) = self.parse_noting_year(input, "");
        match t {
            Some(t) => (parsed(&t), !supplied),
            None => (self.fallback(input), false),
        }
    }

    /// Now, for an input no layout parses.
    fn fallback(&self, input: &str) -> Enrichment {
        tracing::debug!(input, "no suitable date format found, falling back to now");
        let mut out = Enrichment::default();
        out.fields.insert(
            FieldName::from_static("MarshaledTime"),
            format_rfc3339_nano(&self.clock.now()),
        );
        out
    }
}

impl Enricher for ParseDate {
    fn name(&self) -> &'static str {
        "ParseDate"
    }

    /// Without `StrTimeFormat`, a date that carries its year parses the same whatever the
    /// clock says: those results are cached (lines of one second share their date); year-less
    /// dates and inputs that fall back to now are parsed each time.
    fn enrich(&self, input: &str, event: &Event) -> Enrichment {
        let mut out = if event.str_time_format.is_empty() {
            self.cache.get_or_maybe(input, || self.parse_plain(input))
        } else {
            match self.parse(input, &event.str_time_format) {
                Some(t) => parsed(&t),
                None => self.fallback(input),
            }
        };
        if event.expect_mode != ExpectMode::TimeMachine {
            out.time = None;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_first_values_skip_only_layouts_that_cannot_match_them() {
        let skipped: Vec<&str> = DEFAULT_LAYOUTS
            .iter()
            .copied()
            .filter(|l| starts_with_number_or_weekday(l))
            .collect();
        // Every skipped layout fails on a month-first value when tried.
        for value in ["Jun 10 06:00:11", "jan  2 15:04:05", "Dec 31 23:59:59 2024"] {
            assert!(starts_with_month(value));
            for l in &skipped {
                assert!(GoLayout::new(l).parse(value).is_none(), "{l} on {value}");
            }
        }
        assert!(!starts_with_month("10/Jun/2024:06:00:03 +0000"));
        assert!(!starts_with_month("Mon Jan 2 15:04:05 2006"));
        assert!(!starts_with_month("Ju"));
    }
    use palisade_runtime::clock::ManualClock;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + chrono::TimeDelta::milliseconds(250)
    }

    fn enricher(year: Option<i32>) -> ParseDate {
        ParseDate::new(Arc::new(ManualClock::new(now()))).with_year(year)
    }

    fn event(format: &str, mode: ExpectMode) -> Event {
        Event {
            str_time_format: format.to_string(),
            expect_mode: mode,
            ..Event::default()
        }
    }

    const NOW: &str = "2026-03-01T10:00:00.25Z";

    /// (input, StrTimeFormat, pinned year, expected MarshaledTime, expected evt.Time in
    /// time-machine mode).
    #[allow(clippy::type_complexity)]
    const CASES: &[(&str, &str, Option<i32>, &str, Option<&str>)] = &[
        (
            "Feb 12 14:10:21",
            "",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        (
            "Feb 12 14:10:21",
            "",
            Some(2024),
            "2024-02-12T14:10:21Z",
            Some("2024-02-12T14:10:21Z"),
        ),
        (
            "Feb  2 14:10:21",
            "",
            None,
            "2026-02-02T14:10:21Z",
            Some("2026-02-02T14:10:21Z"),
        ),
        (
            "Feb 29 14:10:21",
            "",
            None,
            "2026-03-01T14:10:21Z",
            Some("2026-03-01T14:10:21Z"),
        ),
        (
            "Feb 29 14:10:21",
            "",
            Some(2024),
            "2024-02-29T14:10:21Z",
            Some("2024-02-29T14:10:21Z"),
        ),
        (
            "12/Feb/2026:14:10:21 +0100",
            "",
            None,
            "2026-02-12T14:10:21+01:00",
            Some("2026-02-12T13:10:21Z"),
        ),
        (
            "02/Jan/2006:15:04:05 -0700",
            "",
            None,
            "2006-01-02T15:04:05-07:00",
            Some("2006-01-02T22:04:05Z"),
        ),
        (
            "2019-10-12T07:20:50.52Z",
            "",
            None,
            "2019-10-12T07:20:50.52Z",
            Some("2019-10-12T07:20:50.52Z"),
        ),
        (
            "2026-02-12T14:10:21.123456789+02:00",
            "",
            None,
            "2026-02-12T14:10:21.123456789+02:00",
            Some("2026-02-12T12:10:21.123456789Z"),
        ),
        (
            "2026-02-12 14:10:21",
            "",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        (
            "2024-11-26T20:13:32.123",
            "",
            None,
            "2024-11-26T20:13:32.123Z",
            Some("2024-11-26T20:13:32.123Z"),
        ),
        (
            "Thu Feb 12 14:10:21 2026",
            "",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        (
            "Thu Feb  2 14:10:21 2026",
            "",
            None,
            "2026-02-02T14:10:21Z",
            Some("2026-02-02T14:10:21Z"),
        ),
        (
            "2026-02-12 14:10:21.5 +0200 EET",
            "",
            None,
            "2026-02-12T14:10:21.5+02:00",
            Some("2026-02-12T12:10:21.5Z"),
        ),
        (
            "12-Feb-2026 14:10:21 europe/paris",
            "",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        (
            "02/12/2026 14:10:21",
            "",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        (
            "2026/02/12",
            "",
            None,
            "2026-02-12T00:00:00Z",
            Some("2026-02-12T00:00:00Z"),
        ),
        (
            "2026-02-12 14:10",
            "",
            None,
            "2026-02-12T14:10:00Z",
            Some("2026-02-12T14:10:00Z"),
        ),
        (
            "1770905421",
            "",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        (
            "1770905421.123",
            "",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        // Explicit StrTimeFormat (CrowdSec's own test case).
        (
            "2011 X 17 zz 08X17X43 oneone Dec",
            "2006 X 2 zz 15X04X05 oneone Jan",
            None,
            "2011-12-17T08:17:43Z",
            Some("2011-12-17T08:17:43Z"),
        ),
        (
            "12.02.2026 14h10",
            "02.01.2006 15h04",
            None,
            "2026-02-12T14:10:00Z",
            Some("2026-02-12T14:10:00Z"),
        ),
        (
            "Feb 12 14:10",
            "Jan _2 15:04",
            Some(2020),
            "2020-02-12T14:10:00Z",
            Some("2020-02-12T14:10:00Z"),
        ),
        // A StrTimeFormat that does not match falls back to the list.
        (
            "2026-02-12 14:10:21",
            "02.01.2006",
            None,
            "2026-02-12T14:10:21Z",
            Some("2026-02-12T14:10:21Z"),
        ),
        // Fallback to now: garbage, empty, zero or negative epochs, Go's zero time.
        ("garbage", "", None, NOW, None),
        ("", "", None, NOW, None),
        ("", "2006", None, NOW, None),
        ("0", "", None, NOW, None),
        ("-5", "", None, NOW, None),
        ("0001-01-01T00:00:00Z", "", None, NOW, None),
        ("Feb 30 14:10:21", "", None, NOW, None),
    ];

    #[test]
    fn parse_date_enricher_matches_crowdsec() {
        for (input, format, year, want, want_time) in CASES {
            let e = enricher(*year);
            let tm = e.enrich(input, &event(format, ExpectMode::TimeMachine));
            assert_eq!(
                tm.fields.get("MarshaledTime").map(String::as_str),
                Some(*want),
                "input {input:?} format {format:?}"
            );
            assert_eq!(tm.fields.len(), 1);
            assert_eq!(
                tm.time.map(|t| format_rfc3339_nano(&t)).as_deref(),
                *want_time,
                "time of {input:?}"
            );
            let live = e.enrich(input, &event(format, ExpectMode::Live));
            assert_eq!(live.fields, tm.fields);
            assert_eq!(live.time, None, "live mode keeps evt.Time for {input:?}");
            assert!(live.unmarshaled.is_none() && live.error.is_none());
        }
    }

    #[test]
    fn year_comes_from_the_clock_when_not_pinned() {
        let clock = Arc::new(ManualClock::new(now()));
        let e = ParseDate::new(clock.clone());
        let ev = Event::default();
        assert_eq!(
            e.enrich("Dec 31 23:59:59", &ev).fields["MarshaledTime"],
            "2026-12-31T23:59:59Z"
        );
        clock.set(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 1).unwrap());
        assert_eq!(
            e.enrich("Dec 31 23:59:59", &ev).fields["MarshaledTime"],
            "2027-12-31T23:59:59Z",
            "no December/January correction, like CrowdSec"
        );
    }

    #[test]
    fn direct_parse_functions() {
        let n = now();
        assert_eq!(
            parse_date("Feb 12 14:10:21", None, None, n).map(|t| format_rfc3339_nano(&t)),
            Some("2026-02-12T14:10:21Z".to_string())
        );
        assert_eq!(
            parse_date("Feb 12 14:10:21", Some(""), Some(1999), n).map(|t| format_rfc3339_nano(&t)),
            Some("1999-02-12T14:10:21Z".to_string())
        );
        assert_eq!(
            parse_date("12/Feb/2026:14:10:21 +0100", None, None, n)
                .map(|t| format_rfc3339_nano(&t)),
            Some("2026-02-12T13:10:21Z".to_string())
        );
        assert_eq!(parse_date("garbage", None, None, n), None);
        assert_eq!(parse_date("", Some("2006"), None, n), None);
        let t = parse_date_with_offset("14:10 12/02", Some("15:04 02/01"), 2025).unwrap();
        assert_eq!(marshal_time(&t), "2025-02-12T14:10:00Z");
        assert_eq!(
            parse_unix("1770905421.999").map(|t| t.timestamp()),
            Some(1_770_905_421)
        );
        assert_eq!(parse_unix("+12"), DateTime::from_timestamp(12, 0));
        assert_eq!(parse_unix("abc"), None);
    }

    #[test]
    fn marshals_like_go() {
        let t = FixedOffset::east_opt(-(3 * 3600 + 30 * 60))
            .unwrap()
            .with_ymd_and_hms(2026, 2, 12, 14, 10, 21)
            .unwrap();
        assert_eq!(marshal_time(&t), "2026-02-12T14:10:21-03:30");
        let t = FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(2026, 2, 12, 14, 10, 21)
            .unwrap()
            + chrono::TimeDelta::nanoseconds(1_500);
        assert_eq!(marshal_time(&t), "2026-02-12T14:10:21.0000015Z");
    }

    #[test]
    fn caches_str_time_formats() {
        let e = enricher(None);
        let ev = event("02.01.2006", ExpectMode::Live);
        for _ in 0..3 {
            assert_eq!(
                e.enrich("12.02.2026", &ev).fields["MarshaledTime"],
                "2026-02-12T00:00:00Z"
            );
        }
        assert_eq!(e.layouts.read().unwrap().len(), 1);
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use palisade_runtime::clock::ManualClock;

    fn at(year: i32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, 3, 1, 10, 0, 0).unwrap()
    }

    fn event(mode: ExpectMode) -> Event {
        Event {
            expect_mode: mode,
            ..Event::default()
        }
    }

    /// Repeated inputs give what a first parse gives: the time only in time-machine mode
    /// whichever mode came first, a year-less date the clock's year of the moment, an
    /// unparsable one the clock's now of the moment.
    #[test]
    fn repeated_dates_parse_as_the_first_time() {
        let clock = Arc::new(ManualClock::new(at(2025)));
        let p = ParseDate::new(clock.clone());
        let full = "10/Jun/2024:06:00:03 +0000";
        let live = p.enrich(full, &event(ExpectMode::Live));
        let replay = p.enrich(full, &event(ExpectMode::TimeMachine));
        let live_again = p.enrich(full, &event(ExpectMode::Live));
        assert_eq!(live.fields["MarshaledTime"], "2024-06-10T06:00:03Z");
        assert_eq!(live.time, None);
        assert_eq!(live_again, live);
        assert_eq!(replay.fields, live.fields);
        assert_eq!(
            replay.time,
            Some(Utc.with_ymd_and_hms(2024, 6, 10, 6, 0, 3).unwrap())
        );

        let yearless = "Feb 12 14:10:21";
        let first = p.enrich(yearless, &event(ExpectMode::Live));
        clock.set(at(2026));
        let second = p.enrich(yearless, &event(ExpectMode::Live));
        assert_eq!(first.fields["MarshaledTime"], "2025-02-12T14:10:21Z");
        assert_eq!(second.fields["MarshaledTime"], "2026-02-12T14:10:21Z");

        let junk = "not a date";
        let first = p.enrich(junk, &event(ExpectMode::Live));
        clock.set(at(2027));
        let second = p.enrich(junk, &event(ExpectMode::Live));
        assert_eq!(first.fields["MarshaledTime"], "2026-03-01T10:00:00Z");
        assert_eq!(second.fields["MarshaledTime"], "2027-03-01T10:00:00Z");
    }
}
