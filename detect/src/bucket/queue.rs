//! The events a bucket instance keeps for its alert (CrowdSec's `pipeline.Queue`).
//!
//! `Queue.Add` drops the oldest events while the queue holds more than `L`, then appends: a queue
//! of limit `L` holds up to `L + 1` events. `L` is the capacity, or `cache_size` when
//! `0 < cache_size <= capacity` (or capacity is -1); a negative `L` means unbounded. The queue
//! only decides which events the alert lists; the event count is the bucket's total.
//!
//! Memory: an alert needs, of each kept event, its Meta, its time text, and what the source
//! extraction reads (a few `Enriched` fields, the scope expression's value, an overflow's
//! sources). Scenarios that never show `queue.Queue` to an expression keep exactly that, packed
//! into one byte buffer per bucket ([`Queue::Packed`]): no map, no per-event allocation, Meta
//! keys interned. Scenarios with a `condition`, bayesian conditions or an `overflow_filter` keep
//! whole events ([`Queue::Full`]), since those expressions may read any field.
//!
//! Record layout (`str` = LEB128 length + UTF-8 bytes, `key` = LEB128 interned id + 1, or 0 then
//! a `str`):
//!
//! ```text
//! u32le len | kind u8 | ts: 0 | 1 str (MarshaledTime) | 2 i64le (evt.Time ns)
//!           | n varint | (key str)*n | m u8 | (enriched-index u8 str)*m
//!           | scope: 0 | 1 str (value) | 2 str (error) | [kind = overflow: str (sources JSON)]
//! ```

use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{Event, EventType, Source};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// The `Enriched` keys the source extraction reads.
pub const ENRICHED_KEYS: [&str; 6] = [
    "ASNumber",
    "ASNNumber",
    "IsoCode",
    "ASNOrg",
    "Latitude",
    "Longitude",
];

/// A small multiplicative hasher for the Meta key interner (keys come from parser files, not
/// from attackers, so flooding resistance is not needed there).
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            self.write_u64(word(c));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Interned Meta keys, shared by all buckets of an engine. Keys of up to 16 bytes (nearly all
/// Meta keys) are found by their bytes read as two integers, without hashing or comparing
/// strings; longer ones through a string map.
#[derive(Debug, Default)]
pub struct KeyInterner {
    short: HashMap<(u64, u64, u8), u32, BuildHasherDefault<KeyHasher>>,
    long: HashMap<Box<str>, u32, BuildHasherDefault<KeyHasher>>,
    names: Vec<Box<str>>,
}

/// Keys beyond this many are stored inline rather than interned.
const MAX_INTERNED: usize = 4096;

/// Up to 8 bytes as a little-endian integer (read from the slice, not through a stack copy,
/// which would stall store-to-load forwarding on every key).
fn word(x: &[u8]) -> u64 {
    match x.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => x
            .iter()
            .enumerate()
            .fold(0, |w, (i, b)| w | (u64::from(*b) << (8 * i))),
    }
}

/// The bytes of a key of at most 16 bytes as two little-endian integers and the length.
fn fingerprint(b: &[u8]) -> (u64, u64, u8) {
    let (lo, hi) = b.split_at(b.len().min(8));
    (word(lo), word(hi), b.len() as u8)
}

impl KeyInterner {
    fn id(&mut self, key: &str) -> Option<u32> {
        let found = if key.len() <= 16 {
            self.short.get(&fingerprint(key.as_bytes())).copied()
        } else {
            self.long.get(key).copied()
        };
        if found.is_some() || self.names.len() >= MAX_INTERNED {
            return found;
        }
        let id = self.names.len() as u32;
        self.names.push(key.into());
        if key.len() <= 16 {
            self.short.insert(fingerprint(key.as_bytes()), id);
        } else {
            self.long.insert(key.into(), id);
        }
        Some(id)
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// What the source extraction of a kept event needs besides Meta: the scope expression's
/// result, computed when the event is poured (`None`: the scenario has no scope expression).
pub type ScopeValue = Option<Result<String, String>>;

/// Appends one packed record for `event` to `buf`.
pub fn encode(
    buf: &mut Vec<u8>,
    event: &Event,
    keys: &mut KeyInterner,
    enriched: bool,
    scope: &ScopeValue,
) {
    let start = buf.len();
    // Interned keys take 1-2 bytes, lengths 1 byte for short values.
    let approx =
        12 + event.marshaled_time.len() + event.meta.values().map(|v| v.len() + 3).sum::<usize>();
    buf.reserve(approx);
    buf.extend_from_slice(&[0; 4]);
    buf.push(u8::from(event.kind));
    if !event.marshaled_time.is_empty() {
        buf.push(1);
        put_str(buf, &event.marshaled_time);
    } else if let Some(ns) = event.time.and_then(|t| t.timestamp_nanos_opt()) {
        buf.push(2);
        buf.extend_from_slice(&ns.to_le_bytes());
    } else {
        buf.push(0);
    }
    put_varint(buf, event.meta.len() as u64);
    for (k, v) in &event.meta {
        match keys.id(k) {
            Some(id) => put_varint(buf, u64::from(id) + 1),
            None => {
                buf.push(0);
                put_str(buf, k);
            }
        }
        put_str(buf, v);
    }
    let count_at = buf.len();
    buf.push(0);
    if enriched && !event.enriched.is_empty() {
        let mut m = 0u8;
        for (i, k) in ENRICHED_KEYS.iter().enumerate() {
            if let Some(v) = event.enriched.get(*k) {
                buf.push(i as u8);
                put_str(buf, v);
                m += 1;
            }
        }
        buf[count_at] = m;
    }
    match scope {
        None => buf.push(0),
        Some(Ok(v)) => {
            buf.push(1);
            put_str(buf, v);
        }
        Some(Err(e)) => {
            buf.push(2);
            put_str(buf, e);
        }
    }
    if event.kind == EventType::Overflow {
        let sources = event
            .overflow
            .as_ref()
            .and_then(|o| serde_json::to_string(&o.sources).ok())
            .unwrap_or_else(|| "{}".into());
        put_str(buf, &sources);
    }
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// A kept event as the alert builder reads it, whichever way it was stored.
#[derive(Debug, Clone)]
pub struct KeptEvent<'a> {
    /// Log or overflow.
    pub kind: EventType,
    /// `MarshaledTime`, else `evt.Time` in RFC 3339, else "".
    pub timestamp: Cow<'a, str>,
    /// The Meta map, unsorted.
    pub meta: Vec<(&'a str, &'a str)>,
    /// The values of [`ENRICHED_KEYS`] present on the event.
    pub enriched: [Option<&'a str>; 6],
    /// The scope expression's result, if the scenario has one.
    pub scope: Option<Result<Cow<'a, str>, Cow<'a, str>>>,
    /// An overflow event's sources.
    pub sources: Option<BTreeMap<String, Source>>,
}

impl<'a> KeptEvent<'a> {
    /// `evt.Meta[key]`, if present.
    pub fn meta(&self, key: &str) -> Option<&'a str> {
        self.meta.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The view of a whole event; `scope` is the scope expression's result on it.
    pub fn of_event(e: &'a Event, scope: &'a ScopeValue) -> Self {
        let timestamp = if !e.marshaled_time.is_empty() {
            Cow::Borrowed(e.marshaled_time.as_str())
        } else {
            e.time
                .map(|t| Cow::Owned(format_rfc3339_nano(&t)))
                .unwrap_or(Cow::Borrowed(""))
        };
        let mut enriched = [None; 6];
        for (i, k) in ENRICHED_KEYS.iter().enumerate() {
            enriched[i] = e.enriched.get(*k).map(String::as_str);
        }
        KeptEvent {
            kind: e.kind,
            timestamp,
            meta: e
                .meta
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            enriched,
            scope: scope.as_ref().map(|r| match r {
                Ok(v) => Ok(Cow::Borrowed(v.as_str())),
                Err(m) => Err(Cow::Borrowed(m.as_str())),
            }),
            sources: e.overflow.as_ref().map(|o| o.sources.clone()),
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> u8 {
        let v = self.b.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        v
    }

    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.u8();
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 || shift > 56 {
                return v;
            }
            shift += 7;
        }
    }

    fn str(&mut self) -> &'a str {
        let len = self.varint() as usize;
        let end = (self.at + len).min(self.b.len());
        let s = std::str::from_utf8(&self.b[self.at.min(end)..end]).unwrap_or("");
        self.at = end;
        s
    }

    fn i64(&mut self) -> i64 {
        let mut w = [0u8; 8];
        let end = (self.at + 8).min(self.b.len());
        w[..end - self.at.min(end)].copy_from_slice(&self.b[self.at.min(end)..end]);
        self.at = end;
        i64::from_le_bytes(w)
    }
}

fn decode<'a>(rec: &'a [u8], keys: &'a KeyInterner) -> KeptEvent<'a> {
    let mut r = Reader { b: rec, at: 0 };
    let kind = EventType::from(r.u8());
    let timestamp = match r.u8() {
        1 => Cow::Borrowed(r.str()),
        2 => {
            let ns = r.i64();
            Cow::Owned(format_rfc3339_nano(
                &chrono::DateTime::from_timestamp_nanos(ns),
            ))
        }
        _ => Cow::Borrowed(""),
    };
    let n = r.varint() as usize;
    let mut meta = Vec::with_capacity(n);
    for _ in 0..n {
        let key = match r.varint() {
            0 => r.str(),
            id => keys.name((id - 1) as u32),
        };
        meta.push((key, r.str()));
    }
    let mut enriched = [None; 6];
    for _ in 0..r.u8() {
        let i = r.u8() as usize;
        let v = r.str();
        if let Some(slot) = enriched.get_mut(i) {
            *slot = Some(v);
        }
    }
    let scope = match r.u8() {
        1 => Some(Ok(Cow::Borrowed(r.str()))),
        2 => Some(Err(Cow::Borrowed(r.str()))),
        _ => None,
    };
    let sources =
        (kind == EventType::Overflow).then(|| serde_json::from_str(r.str()).unwrap_or_default());
    KeptEvent {
        kind,
        timestamp,
        meta,
        enriched,
        scope,
        sources,
    }
}

/// The kept events of one bucket instance.
#[derive(Debug)]
pub enum Queue {
    /// Packed records, oldest first, from byte `start` of `bytes` (dropped records before it are
    /// reclaimed once they make up half the buffer, so dropping the oldest costs no copy).
    Packed {
        /// The records.
        bytes: Vec<u8>,
        /// Where the oldest kept record starts.
        start: u32,
        /// How many.
        len: u32,
    },
    /// Whole events, oldest first, with the scope expression's result on each.
    Full(Box<VecDeque<(Event, ScopeValue)>>),
}

fn record_len(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
}

impl Queue {
    /// An empty queue of the given kind.
    pub fn new(full: bool) -> Self {
        if full {
            Queue::Full(Box::default())
        } else {
            Queue::Packed {
                bytes: Vec::new(),
                start: 0,
                len: 0,
            }
        }
    }

    /// Number of events kept.
    pub fn len(&self) -> usize {
        match self {
            Queue::Packed { len, .. } => *len as usize,
            Queue::Full(q) => q.len(),
        }
    }

    /// Whether no event is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Queue.Add`: appends `event`, then drops the oldest while more than `limit + 1` are kept.
    pub fn add(
        &mut self,
        event: &Event,
        limit: Option<usize>,
        keys: &mut KeyInterner,
        enriched: bool,
        scope: ScopeValue,
    ) {
        let max = limit.map_or(usize::MAX, |l| l.saturating_add(1));
        match self {
            Queue::Packed { bytes, start, len } => {
                if *len as usize >= max && *start as usize * 2 >= bytes.len() && *start > 0 {
                    // Reclaim dropped records before the buffer grows.
                    bytes.drain(..*start as usize);
                    *start = 0;
                }
                encode(bytes, event, keys, enriched, &scope);
                *len += 1;
                let mut at = *start as usize;
                while *len as usize > max {
                    at += 4 + record_len(bytes, at);
                    *len -= 1;
                }
                *start = at as u32;
            }
            Queue::Full(q) => {
                q.push_back((event.clone(), scope));
                while q.len() > max {
                    q.pop_front();
                }
            }
        }
    }

    /// The kept events, oldest first.
    pub fn kept<'a>(&'a self, keys: &'a KeyInterner) -> Vec<KeptEvent<'a>> {
        match self {
            Queue::Packed { bytes, start, len } => {
                let mut out = Vec::with_capacity(*len as usize);
                let mut at = *start as usize;
                while at + 4 <= bytes.len() {
                    let end = (at + 4 + record_len(bytes, at)).min(bytes.len());
                    out.push(decode(&bytes[at + 4..end], keys));
                    at = end;
                }
                out
            }
            Queue::Full(q) => q.iter().map(|(e, s)| KeptEvent::of_event(e, s)).collect(),
        }
    }

    /// The whole events, for expressions reading `queue.Queue` (empty for packed queues).
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        let q = match self {
            Queue::Full(q) => Some(q),
            Queue::Packed { .. } => None,
        };
        q.into_iter().flat_map(|q| q.iter().map(|(e, _)| e))
    }

    /// Heap bytes held (an estimate for packed queues, exact enough for metrics and tests).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Queue::Packed { bytes, .. } => bytes.capacity(),
            Queue::Full(q) => q.capacity() * std::mem::size_of::<(Event, ScopeValue)>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use palisade_schemas::RuntimeAlert;

    fn ev(i: usize) -> Event {
        let mut e = Event::default();
        e.meta.insert("source_ip".into(), "1.2.3.4".into());
        e.meta.insert("n".into(), i.to_string());
        e.enriched.insert("IsoCode".into(), "FR".into());
        e.enriched.insert("Other".into(), "x".into());
        e.marshaled_time = format!("2020-01-01T10:00:0{i}+00:00");
        e
    }

    #[test]
    fn keeps_limit_plus_one_events_in_both_forms() {
        for full in [false, true] {
            let mut keys = KeyInterner::default();
            let mut q = Queue::new(full);
            for i in 0..5 {
                q.add(&ev(i), Some(2), &mut keys, true, Some(Ok(format!("v{i}"))));
            }
            assert_eq!(q.len(), 3);
            let kept = q.kept(&keys);
            let ns: Vec<&str> = kept.iter().map(|k| k.meta("n").unwrap()).collect();
            assert_eq!(ns, ["2", "3", "4"], "full={full}");
            assert_eq!(kept[0].timestamp, "2020-01-01T10:00:02+00:00");
            assert_eq!(kept[0].enriched[2], Some("FR"));
            assert_eq!(kept[0].enriched[0], None);
            assert_eq!(kept[2].scope.as_ref().unwrap().as_deref().ok(), Some("v4"));
        }
    }

    #[test]
    fn dropping_the_oldest_keeps_the_buffer_bounded() {
        let mut keys = KeyInterner::default();
        let mut q = Queue::new(false);
        let one = {
            let mut b = Vec::new();
            encode(&mut b, &ev(0), &mut keys, true, &None);
            b.len()
        };
        for i in 0..1000 {
            q.add(&ev(i % 10), Some(2), &mut keys, true, None);
        }
        assert_eq!(q.len(), 3);
        assert!(q.heap_bytes() <= 8 * one, "{} > 8 * {one}", q.heap_bytes());
        let kept = q.kept(&keys);
        let ns: Vec<&str> = kept.iter().map(|k| k.meta("n").unwrap()).collect();
        assert_eq!(ns, ["7", "8", "9"]);
    }

    #[test]
    fn unbounded_queues_and_times_and_overflow_sources() {
        let mut keys = KeyInterner::default();
        let mut q = Queue::new(false);
        let mut e = Event {
            time: Some(chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
            kind: EventType::Overflow,
            ..Event::default()
        };
        let mut ra = RuntimeAlert::default();
        ra.sources.insert(
            "1.2.3.4".into(),
            Source {
                scope: "Ip".into(),
                value: "1.2.3.4".into(),
                ..Source::default()
            },
        );
        e.overflow = Some(Box::new(ra));
        for _ in 0..10 {
            q.add(&e, None, &mut keys, false, Some(Err("boom".into())));
        }
        assert_eq!(q.len(), 10);
        let k = &q.kept(&keys)[9];
        assert_eq!(k.timestamp, "2026-01-02T03:04:05Z");
        assert_eq!(k.sources.as_ref().unwrap()["1.2.3.4"].scope, "Ip");
        assert_eq!(
            k.scope.as_ref().unwrap().as_ref().map_err(|e| e.as_ref()),
            Err("boom")
        );
        assert!(k.meta.is_empty());
    }

    #[test]
    fn keys_beyond_the_interner_cap_are_inline() {
        let mut keys = KeyInterner::default();
        let mut q = Queue::new(false);
        let mut e = Event::default();
        for i in 0..(MAX_INTERNED + 10) {
            e.meta.insert(format!("k{i}").into(), format!("v{i}"));
        }
        q.add(&e, None, &mut keys, false, None);
        let kept = q.kept(&keys);
        assert_eq!(kept[0].meta.len(), MAX_INTERNED + 10);
        assert_eq!(kept[0].meta("k4100"), Some("v4100"));
    }

    #[test]
    fn interned_keys_round_trip() {
        let mut keys = KeyInterner::default();
        let mut q = Queue::new(false);
        let mut e = Event::default();
        for k in [
            "datasource_path",
            "datasource_type",
            "a_meta_key_longer_than_sixteen",
            "a_meta_key_longer_than_sixteeN",
            "",
            "x",
            "0123456789abcdef",
        ] {
            e.meta.insert(k.into(), format!("v-{k}"));
        }
        q.add(&e, None, &mut keys, false, None);
        q.add(&e, None, &mut keys, false, None);
        for k in q.kept(&keys) {
            assert_eq!(k.meta.len(), 7);
            for (key, value) in &k.meta {
                assert_eq!(*value, format!("v-{key}"));
            }
        }
        assert_eq!(keys.names.len(), 7);
    }
}
