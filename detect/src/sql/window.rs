//! Event-time windows: which window an event belongs to, the watermark, and when a window closes.
//!
//! * Times are nanoseconds since the epoch. Tumbling and hopping windows are aligned on the
//!   epoch: window `k` is `[k·slide, k·slide + size)` (tumbling: `slide = size`).
//! * Hopping windows are cut into *panes* of `slide` (`size` must be a multiple of `slide`):
//!   pane `p` is `[p·slide, (p+1)·slide)` and window `k` is panes `k .. k + size/slide`. An
//!   event is stored once, in its pane, however many windows it belongs to.
//! * Session windows are kept per key (`window.key`): a session grows while its events are
//!   less than `gap` apart; its window is `[first event, last event + gap)`. An event that falls
//!   within `gap` of two sessions merges them.
//! * The watermark only moves forward, when the detect stage lets time pass ([`Assigner::advance`]):
//!   to the newest event time seen on replays, to the clock live. A window closes, and is
//!   evaluated once, when the watermark reaches its end plus `allowed_lateness`.
//! * An event is late when every window it belongs to is closed: it is counted and dropped.
//! * At the end of a replay (`flush`) every open window closes.
//! * The events held in open windows are capped ([`Assigner::with_cap`]): past the cap an event
//!   is refused ([`Placed::Full`]) until closing windows make room.

use super::accumulate::Pane;
use palisade_schemas::{Event, SchemaError};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

/// A window's bounds, `[start, end)`, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    /// First instant in the window.
    pub start: i64,
    /// First instant after it.
    pub end: i64,
}

/// The column sessions (and Kafka partitions) are keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyColumn {
    /// A `Meta` key (`source_ip`, `log_type`, `service`; `country` is `IsoCode`, `asn` is
    /// `ASNNumber`, `as_org` is `ASNOrg`; `meta.K` is any key).
    Meta(String),
    /// A `Parsed` key (`parsed.K`).
    Parsed(String),
    /// `labels.type` (`label_type`).
    LabelType,
}

impl KeyColumn {
    /// From the name used in YAML: an events column or `meta.K` / `parsed.K`.
    pub fn parse(s: &str) -> Option<KeyColumn> {
        if let Some(k) = s.strip_prefix("meta.") {
            return (!k.is_empty()).then(|| KeyColumn::Meta(k.to_string()));
        }
        if let Some(k) = s.strip_prefix("parsed.") {
            return (!k.is_empty()).then(|| KeyColumn::Parsed(k.to_string()));
        }
        let meta = match s {
            "source_ip" | "log_type" | "service" => s,
            "country" => "IsoCode",
            "asn" => "ASNNumber",
            "as_org" => "ASNOrg",
            "label_type" => return Some(KeyColumn::LabelType),
            _ => return None,
        };
        Some(KeyColumn::Meta(meta.to_string()))
    }

    /// The `events` table column holding this key, when it has one of its own.
    pub fn table_column(&self) -> Option<&'static str> {
        match self {
            KeyColumn::Meta(k) => match k.as_str() {
                "source_ip" => Some("source_ip"),
                "log_type" => Some("log_type"),
                "service" => Some("service"),
                "IsoCode" => Some("country"),
                "ASNNumber" => Some("asn"),
                "ASNOrg" => Some("as_org"),
                _ => None,
            },
            KeyColumn::Parsed(_) => None,
            KeyColumn::LabelType => Some("label_type"),
        }
    }

    /// The key of an event ("" when it has none).
    pub fn of<'a>(&self, e: &'a Event) -> &'a str {
        match self {
            KeyColumn::Meta(k) => e.meta.get(k.as_str()).map_or("", String::as_str),
            KeyColumn::Parsed(k) => e.parsed.get(k.as_str()).map_or("", String::as_str),
            KeyColumn::LabelType => e.log_type().unwrap_or(""),
        }
    }
}

/// The kind of window, with its durations in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowKind {
    /// Back-to-back windows of `size`.
    Tumbling {
        /// Length.
        size: i64,
    },
    /// Windows of `size` starting every `slide`.
    Hopping {
        /// Length.
        size: i64,
        /// Distance between starts; divides `size`.
        slide: i64,
    },
    /// Per-key sessions closed by `gap` without events.
    Session {
        /// Inactivity that ends a session.
        gap: i64,
        /// What sessions are kept per.
        key: KeyColumn,
    },
}

impl WindowKind {
    /// `(size, slide)` of pane windows; `None` for sessions.
    fn panes(&self) -> Option<(i64, i64)> {
        match *self {
            WindowKind::Tumbling { size } => Some((size, size)),
            WindowKind::Hopping { size, slide } => Some((size, slide)),
            WindowKind::Session { .. } => None,
        }
    }
}

struct Session {
    start: i64,
    last: i64,
    pane: Pane,
}

/// Assigns events to windows and closes windows as the watermark moves.
pub struct Assigner {
    kind: WindowKind,
    lateness: i64,
    watermark: i64,
    panes: BTreeMap<i64, Pane>,
    /// The first pane window not closed yet.
    closed_below: i64,
    sessions: HashMap<String, Vec<Session>>,
    /// `(last event time, key)` pushed whenever a session of `key` gets a later last event: the
    /// keys to look at when the watermark passes a time, so that closing sessions costs what
    /// closes, not a scan of every open session. An entry whose session went on is stale and
    /// only costs a look.
    expiries: BinaryHeap<Reverse<(i64, String)>>,
    /// Events held in open panes and sessions.
    held: usize,
    /// The most events held.
    cap: usize,
}

/// What an inserted event became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Kept for at least one open window.
    Kept,
    /// Every window it belongs to is closed.
    Late,
    /// The open windows hold the cap already: the event was not kept.
    Full,
}

fn clamp(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl Assigner {
    /// An assigner with no event, watermark at the beginning of time.
    pub fn new(kind: WindowKind, lateness: i64) -> Self {
        Assigner {
            kind,
            lateness,
            watermark: i64::MIN,
            panes: BTreeMap::new(),
            closed_below: i64::MIN,
            sessions: HashMap::new(),
            expiries: BinaryHeap::new(),
            held: 0,
            cap: usize::MAX,
        }
    }

    /// Holds at most `cap` events in open windows.
    pub fn with_cap(mut self, cap: usize) -> Self {
        self.cap = cap;
        self
    }

    /// The watermark.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Events held in open windows.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Puts `e` (at `t`) in its pane or session, building `columns`.
    pub fn insert(&mut self, e: &Event, t: i64, columns: &[usize]) -> Result<Placed, SchemaError> {
        if let Some((_, slide)) = self.kind.panes() {
            let p = t.div_euclid(slide);
            if p < self.closed_below {
                return Ok(Placed::Late);
            }
            if self.held >= self.cap {
                return Ok(Placed::Full);
            }
            self.panes.entry(p).or_default().push(e, t, columns)?;
            self.held += 1;
            return Ok(Placed::Kept);
        }
        let WindowKind::Session { gap, key } = &self.kind else {
            return Ok(Placed::Late);
        };
        let gap = *gap;
        if self.held >= self.cap {
            // Late or not, it is not kept; late is the more useful answer.
            let late = i128::from(t) + i128::from(gap) + i128::from(self.lateness)
                <= i128::from(self.watermark);
            return Ok(if late { Placed::Late } else { Placed::Full });
        }
        let k = key.of(e);
        let list = match self.sessions.get_mut(k) {
            Some(list) => list,
            None => self.sessions.entry(k.to_string()).or_default(),
        };
        let mut joined: Vec<usize> = (0..list.len())
            .filter(|&i| {
                let s = &list[i];
                i128::from(t) > i128::from(s.start) - i128::from(gap)
                    && i128::from(t) < i128::from(s.last) + i128::from(gap)
            })
            .collect();
        if joined.is_empty() {
            if i128::from(t) + i128::from(gap) + i128::from(self.lateness)
                <= i128::from(self.watermark)
            {
                if list.is_empty() {
                    self.sessions.remove(k);
                }
                return Ok(Placed::Late);
            }
            let mut pane = Pane::default();
            pane.push(e, t, columns)?;
            list.push(Session {
                start: t,
                last: t,
                pane,
            });
            self.held += 1;
            self.expiries.push(Reverse((t, k.to_string())));
            return Ok(Placed::Kept);
        }
        let first = joined.remove(0);
        // Merge the other sessions this event bridges into the first (highest index first).
        for &i in joined.iter().rev() {
            let other = list.swap_remove(i);
            let s = &mut list[first];
            s.start = s.start.min(other.start);
            s.last = s.last.max(other.last);
            s.pane.absorb(other.pane)?;
        }
        let s = &mut list[first];
        s.start = s.start.min(t);
        let later = t > s.last;
        s.last = s.last.max(t);
        s.pane.push(e, t, columns)?;
        self.held += 1;
        if later {
            self.expiries.push(Reverse((t, k.to_string())));
        }
        Ok(Placed::Kept)
    }

    /// Moves the watermark to `watermark` (never back) and calls `eval` for every window that
    /// closes, in order of end, with the panes it is made of. `flush` closes every window.
    pub fn advance<E>(
        &mut self,
        watermark: i64,
        flush: bool,
        mut eval: impl FnMut(Window, &mut [&mut Pane]) -> Result<(), E>,
    ) -> Result<(), E> {
        let wm = self.move_watermark(watermark, flush);
        let lateness = i128::from(self.lateness);
        if let Some((size, slide)) = self.kind.panes() {
            let (size, slide) = (i128::from(size), i128::from(slide));
            let n = size / slide;
            let below = clamp((wm - size - lateness).div_euclid(slide) + 1);
            if below <= self.closed_below {
                return Ok(());
            }
            let prev = i128::from(self.closed_below);
            let mut windows = BTreeSet::new();
            for &p in self.panes.keys() {
                let p = i128::from(p);
                let lo = (p - n + 1).max(prev);
                let hi = p.min(i128::from(below) - 1);
                for k in lo..=hi {
                    windows.insert(k);
                }
            }
            self.closed_below = below;
            let mut result = Ok(());
            for k in windows {
                let w = Window {
                    start: clamp(k * slide),
                    end: clamp(k * slide + size),
                };
                let mut panes: Vec<&mut Pane> = self
                    .panes
                    .range_mut(clamp(k)..clamp(k + n))
                    .map(|(_, p)| p)
                    .collect();
                if result.is_ok() {
                    result = eval(w, &mut panes);
                }
            }
            let open = self.panes.split_off(&below);
            let closed: usize = self.panes.values().map(Pane::rows).sum();
            self.held = self.held.saturating_sub(closed);
            self.panes = open;
            return result;
        }
        let mut result = Ok(());
        for (w, mut pane, _) in self.close_sessions(watermark, flush) {
            if result.is_ok() {
                result = eval(w, &mut [&mut pane]);
            }
        }
        result
    }

    /// Moves the watermark to `watermark` (never back); the time windows close against: the
    /// watermark, or the end of time when `flush`.
    fn move_watermark(&mut self, watermark: i64, flush: bool) -> i128 {
        self.watermark = self.watermark.max(watermark);
        if flush {
            i128::MAX / 4
        } else {
            i128::from(self.watermark)
        }
    }

    /// Session windows: moves the watermark like [`Assigner::advance`] and takes the sessions
    /// that close, in order of end, with their windows and keys (nothing for other kinds).
    pub fn close_sessions(&mut self, watermark: i64, flush: bool) -> Vec<(Window, Pane, String)> {
        let wm = self.move_watermark(watermark, flush);
        let lateness = i128::from(self.lateness);
        let WindowKind::Session { gap, .. } = self.kind else {
            return Vec::new();
        };
        // A session closes once `last + gap + lateness <= wm`: the keys whose entries are that
        // old are the only ones that can have one.
        let mut keys = HashSet::new();
        while let Some(Reverse((last, _))) = self.expiries.peek() {
            if i128::from(*last) + i128::from(gap) + lateness > wm {
                break;
            }
            if let Some(Reverse((_, key))) = self.expiries.pop() {
                keys.insert(key);
            }
        }
        let mut closed = Vec::new();
        for key in keys {
            let Some(list) = self.sessions.get_mut(&key) else {
                continue;
            };
            let mut i = 0;
            while i < list.len() {
                let s = &list[i];
                if i128::from(s.last) + i128::from(gap) + lateness <= wm {
                    closed.push((list.swap_remove(i), key.clone()));
                } else {
                    i += 1;
                }
            }
            if list.is_empty() {
                self.sessions.remove(&key);
            }
        }
        let rows: usize = closed.iter().map(|(s, _)| s.pane.rows()).sum();
        self.held = self.held.saturating_sub(rows);
        closed.sort_by_key(|(s, _)| (s.last, s.start));
        closed
            .into_iter()
            .map(|(s, key)| {
                let w = Window {
                    start: s.start,
                    end: clamp(i128::from(s.last) + i128::from(gap)),
                };
                (w, s.pane, key)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn ev(ip: &str) -> Event {
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), ip.into());
        e
    }

    /// Closes what the watermark `wm` closes; returns `(start s, end s, events)`.
    fn close(a: &mut Assigner, wm: i64, flush: bool) -> Vec<(i64, i64, usize)> {
        let mut got = Vec::new();
        a.advance::<()>(wm * S, flush, |w, panes| {
            got.push((w.start / S, w.end / S, panes.iter().map(|p| p.rows()).sum()));
            Ok(())
        })
        .unwrap();
        got
    }

    #[test]
    fn tumbling_windows_close_on_the_watermark_plus_lateness() {
        let mut a = Assigner::new(WindowKind::Tumbling { size: 60 * S }, 10 * S);
        for t in [1, 30, 59, 61] {
            assert_eq!(a.insert(&ev("a"), t * S, &[0]).unwrap(), Placed::Kept);
        }
        assert_eq!(close(&mut a, 65, false), vec![], "60 + 10 not reached");
        assert_eq!(
            a.insert(&ev("a"), 50 * S, &[0]).unwrap(),
            Placed::Kept,
            "late but allowed"
        );
        assert_eq!(close(&mut a, 70, false), vec![(0, 60, 4)]);
        assert_eq!(a.insert(&ev("a"), 59 * S, &[0]).unwrap(), Placed::Late);
        assert_eq!(
            close(&mut a, 0, false),
            vec![],
            "the watermark never goes back"
        );
        assert_eq!(a.watermark(), 70 * S);
        assert_eq!(
            close(&mut a, 0, true),
            vec![(60, 120, 1)],
            "flush closes all"
        );
        assert_eq!(a.held(), 0);
    }

    #[test]
    fn hopping_windows_share_panes() {
        let mut a = Assigner::new(
            WindowKind::Hopping {
                size: 30 * S,
                slide: 10 * S,
            },
            0,
        );
        for t in [5, 15, 25] {
            a.insert(&ev("a"), t * S, &[0]).unwrap();
        }
        assert_eq!(
            close(&mut a, 30, false),
            vec![(-20, 10, 1), (-10, 20, 2), (0, 30, 3)]
        );
        assert_eq!(
            a.insert(&ev("a"), 25 * S, &[0]).unwrap(),
            Placed::Kept,
            "windows 10..40 and 20..50 are open"
        );
        assert_eq!(a.insert(&ev("a"), 9 * S, &[0]).unwrap(), Placed::Late);
        assert_eq!(close(&mut a, 0, true), vec![(10, 40, 3), (20, 50, 2)]);
    }

    #[test]
    fn sessions_are_per_key_and_merge_across_gaps() {
        let key = KeyColumn::parse("source_ip").unwrap();
        let mut a = Assigner::new(WindowKind::Session { gap: 10 * S, key }, 0);
        for (ip, t) in [("a", 0), ("a", 5), ("b", 3), ("a", 30), ("a", 38)] {
            a.insert(&ev(ip), t * S, &[0]).unwrap();
        }
        // a: [0,15) and [30,48); b: [3,13)
        assert_eq!(close(&mut a, 15, false), vec![(3, 13, 1), (0, 15, 2)]);
        assert_eq!(a.insert(&ev("a"), S, &[0]).unwrap(), Placed::Late);
        assert_eq!(a.insert(&ev("c"), 20 * S, &[0]).unwrap(), Placed::Kept);
        // 21 and 25 join a's open session [30, 38] (within the gap before it)
        a.insert(&ev("a"), 21 * S, &[0]).unwrap();
        a.insert(&ev("a"), 25 * S, &[0]).unwrap();
        assert_eq!(a.held(), 5);
        assert_eq!(close(&mut a, 0, true), vec![(20, 30, 1), (21, 48, 4)]);
    }

    #[test]
    fn sessions_close_at_each_watermark_exactly_as_a_scan_of_all_of_them_would() {
        // 200 keys whose sessions go on for different times; after every watermark step the
        // sessions closed are those whose last event is a gap (+ lateness) behind, no more.
        let key = KeyColumn::parse("source_ip").unwrap();
        let mut a = Assigner::new(WindowKind::Session { gap: 10 * S, key }, 2 * S);
        let mut last: HashMap<String, i64> = HashMap::new();
        for k in 0..200i64 {
            let ip = format!("10.0.0.{k}");
            // Events every 5 s (within the gap) for `k % 17` steps from `k`.
            for step in 0..=(k % 17) {
                let t = (k + step * 5) * S;
                assert_eq!(a.insert(&ev(&ip), t, &[0]).unwrap(), Placed::Kept);
                last.insert(ip.clone(), t);
            }
        }
        let mut open = last.clone();
        for wm in (0..320).step_by(7) {
            let closed = a.close_sessions(wm * S, false);
            let want: Vec<String> = {
                let mut w: Vec<(i64, String)> = open
                    .iter()
                    .filter(|(_, &l)| l + 12 * S <= wm * S)
                    .map(|(k, &l)| (l, k.clone()))
                    .collect();
                w.sort();
                w.into_iter().map(|(_, k)| k).collect()
            };
            let got: Vec<String> = closed.iter().map(|(_, _, k)| k.clone()).collect();
            let mut got_sorted = got.clone();
            got_sorted.sort();
            let mut want_sorted = want.clone();
            want_sorted.sort();
            assert_eq!(got_sorted, want_sorted, "at watermark {wm}");
            for (w, _, k) in &closed {
                assert_eq!(w.end, last[k] + 10 * S, "{k}");
                open.remove(k);
            }
        }
        assert!(open.is_empty());
        assert_eq!(a.held(), 0);
    }

    #[test]
    fn the_cap_refuses_events_until_a_window_closes() {
        let mut a = Assigner::new(WindowKind::Tumbling { size: 60 * S }, 0).with_cap(2);
        assert_eq!(a.insert(&ev("a"), S, &[0]).unwrap(), Placed::Kept);
        assert_eq!(a.insert(&ev("a"), 61 * S, &[0]).unwrap(), Placed::Kept);
        assert_eq!(a.insert(&ev("a"), 62 * S, &[0]).unwrap(), Placed::Full);
        assert_eq!(a.held(), 2);
        assert_eq!(close(&mut a, 60, false), vec![(0, 60, 1)]);
        assert_eq!(a.held(), 1);
        assert_eq!(a.insert(&ev("a"), 62 * S, &[0]).unwrap(), Placed::Kept);
        assert_eq!(a.insert(&ev("a"), 63 * S, &[0]).unwrap(), Placed::Full);
        let key = KeyColumn::parse("source_ip").unwrap();
        let mut s = Assigner::new(WindowKind::Session { gap: 10 * S, key }, 0).with_cap(1);
        assert_eq!(s.insert(&ev("a"), 0, &[0]).unwrap(), Placed::Kept);
        assert_eq!(s.insert(&ev("b"), S, &[0]).unwrap(), Placed::Full);
        assert_eq!(close(&mut s, 10, false), vec![(0, 10, 1)]);
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn key_columns() {
        assert_eq!(
            KeyColumn::parse("country"),
            Some(KeyColumn::Meta("IsoCode".into()))
        );
        assert_eq!(
            KeyColumn::parse("parsed.user"),
            Some(KeyColumn::Parsed("user".into()))
        );
        assert_eq!(KeyColumn::parse("meta."), None);
        assert_eq!(KeyColumn::parse("nope"), None);
        let mut e = ev("1.2.3.4");
        e.parsed.insert("user".into(), "root".into());
        assert_eq!(KeyColumn::Parsed("user".into()).of(&e), "root");
        assert_eq!(KeyColumn::parse("source_ip").unwrap().of(&e), "1.2.3.4");
        assert_eq!(KeyColumn::LabelType.of(&e), "");
    }
}
