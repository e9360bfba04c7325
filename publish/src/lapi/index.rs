//! The active-decision set in memory, as the bouncer endpoints read it.
//!
//! [`DecisionIndex`] holds every decision that is active or expired for less than the
//! retention, keyed by a numeric id (the store's id; a decision without one, as a Kafka
//! replica receives them, gets a local id). It is fed through one call, [`DecisionIndex::apply`],
//! with the decision as it is now: a new decision is added, a known one (same uuid, else same id)
//! is updated, so a deletion is the same decision with `until = now`. In the embedded mode the
//! Local API feeds it from the store's change feed (`Store::decision_changes`); in the Kafka
//! mode each API replica feeds it from the compacted decision topic, and replicas share no
//! database.
//!
//! Lookups: single addresses through a hash map (address → decisions), networks wider than one
//! address through a list scanned per lookup, everything else by a scan in id order. Stream
//! deltas use two ordered indexes: by the index sequence at which a decision was first seen
//! ("created since the last pull") and by `until` ("expired since the last pull"). Each entry
//! keeps its JSON minus the duration, so writing a million decisions is string concatenation.

use crate::net::Net;
use chrono::{DateTime, Utc};
use palisade_schemas::duration::format_go_duration;
use palisade_schemas::{normalize_scope, Decision};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

/// An address range: family, first and last address as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) v6: bool,
    pub(crate) start: u128,
    pub(crate) end: u128,
}

impl Span {
    /// Reads an address or a CIDR.
    pub(crate) fn parse(s: &str) -> Option<Span> {
        let n = Net::parse(s)?;
        let (start, end) = n.bounds();
        Some(Span {
            v6: n.is_v6(),
            start,
            end,
        })
    }

    fn single(&self) -> bool {
        self.start == self.end
    }

    /// Whether `other` is inside this span (same family).
    pub(crate) fn holds(&self, other: &Span) -> bool {
        self.v6 == other.v6 && self.start <= other.start && self.end >= other.end
    }
}

/// One decision in the index.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) key: i64,
    pub(crate) uuid: Option<Box<str>>,
    pub(crate) scope: Arc<str>,
    pub(crate) value: Box<str>,
    pub(crate) kind: Arc<str>,
    pub(crate) origin: Arc<str>,
    pub(crate) scenario: Arc<str>,
    pub(crate) simulated: bool,
    /// Unix nanoseconds.
    pub(crate) until: i64,
    pub(crate) span: Option<Span>,
    /// The index sequence at which it was first seen.
    pub(crate) added: u64,
    /// `,"origin":..,"scenario":..,"scope":..,"type":..,` (JSON-escaped), shared by every
    /// decision with the same four fields.
    tail: Arc<str>,
}

/// The keys under one hash: nearly always one, so no allocation for it.
#[derive(Debug)]
enum Keys {
    One(i64),
    Many(Vec<i64>),
}

impl Keys {
    fn push(&mut self, key: i64) {
        match self {
            Keys::One(k) => *self = Keys::Many(vec![*k, key]),
            Keys::Many(v) => v.push(key),
        }
    }

    /// Removes `key`; true when none is left.
    fn remove(&mut self, key: i64) -> bool {
        match self {
            Keys::One(k) => *k == key,
            Keys::Many(v) => {
                v.retain(|x| *x != key);
                match v.as_slice() {
                    [] => true,
                    [one] => {
                        *self = Keys::One(*one);
                        false
                    }
                    _ => false,
                }
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        let (one, many) = match self {
            Keys::One(k) => (Some(*k), &[][..]),
            Keys::Many(v) => (None, &v[..]),
        };
        one.into_iter().chain(many.iter().copied())
    }
}

impl Entry {
    /// Writes the bouncer JSON at `now` (duration = time left, to the second), with or without
    /// the uuid (the stream has it, `GET /v1/decisions` does not).
    pub(crate) fn write_json(&self, out: &mut String, now_ns: i64, with_uuid: bool) {
        let left = self.until.saturating_sub(now_ns) / 1_000_000_000;
        out.push_str("{\"duration\":\"");
        out.push_str(&format_go_duration(chrono::TimeDelta::seconds(left)));
        out.push_str("\",\"id\":");
        out.push_str(&self.key.to_string());
        out.push_str(&self.tail);
        if with_uuid {
            if let Some(u) = &self.uuid {
                out.push_str("\"uuid\":");
                push_json_str(out, u);
                out.push(',');
            }
        }
        out.push_str("\"value\":");
        push_json_str(out, &self.value);
        out.push('}');
    }

    /// The decision as a [`Decision`] (full fields, `until` set).
    pub(crate) fn to_decision(&self) -> Decision {
        Decision {
            duration: String::new(),
            id: self.key,
            origin: self.origin.to_string(),
            scenario: self.scenario.to_string(),
            scope: self.scope.to_string(),
            simulated: Some(self.simulated),
            kind: self.kind.to_string(),
            until: Some(DateTime::from_timestamp_nanos(self.until)),
            uuid: self.uuid.as_deref().map(str::to_string),
            value: self.value.to_string(),
        }
    }

    fn group(&self) -> u64 {
        group_hash(&self.scope, &self.value, &self.kind)
    }

    fn same_group(&self, o: &Entry) -> bool {
        self.scope == o.scope && self.value == o.value && self.kind == o.kind
    }
}

fn group_hash(scope: &str, value: &str, kind: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (scope, value, kind).hash(&mut h);
    h.finish()
}

fn uuid_hash(u: &str) -> u64 {
    let mut h = DefaultHasher::new();
    u.hash(&mut h);
    h.finish()
}

/// Appends `s` as a JSON string.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

/// The index's contents (behind the lock).
#[derive(Debug, Default)]
pub(crate) struct Inner {
    seq: u64,
    next_local: i64,
    pub(crate) entries: BTreeMap<i64, Entry>,
    by_uuid: HashMap<u64, Keys>,
    by_addr: HashMap<(bool, u128), Keys>,
    pub(crate) wide: BTreeSet<i64>,
    pub(crate) by_until: BTreeSet<(i64, i64)>,
    pub(crate) by_added: BTreeMap<u64, i64>,
    groups: HashMap<u64, Keys>,
    strings: HashSet<Arc<str>>,
}

impl Inner {
    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(a.clone());
        a
    }

    /// The current sequence (the last one handed out).
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The addresses' decisions: single-address ones for `span` (when it is one address), and
    /// every wide one; the caller filters.
    pub(crate) fn candidates_for(&self, span: &Span) -> Vec<i64> {
        let mut keys: Vec<i64> = Vec::new();
        if span.single() {
            if let Some(v) = self.by_addr.get(&(span.v6, span.start)) {
                keys.extend(v.iter());
            }
            keys.extend(self.wide.iter().copied());
            keys.sort_unstable();
        } else {
            keys.extend(self.entries.keys().copied());
        }
        keys
    }

    /// The longest `until` among the decisions of `e`'s (scope, value, type), restricted to
    /// those `keep` accepts.
    pub(crate) fn group_max_until(&self, e: &Entry, keep: &dyn Fn(&Entry) -> bool) -> i64 {
        self.groups
            .get(&e.group())
            .into_iter()
            .flat_map(Keys::iter)
            .filter_map(|k| self.entries.get(&k))
            .filter(|o| o.same_group(e) && keep(o))
            .map(|o| o.until)
            .max()
            .unwrap_or(e.until)
    }

    fn find(&self, d: &Decision) -> Option<i64> {
        if let Some(u) = d.uuid.as_deref().filter(|u| !u.is_empty()) {
            return self
                .by_uuid
                .get(&uuid_hash(u))?
                .iter()
                .find(|k| self.entries[k].uuid.as_deref() == Some(u));
        }
        (d.id != 0 && self.entries.contains_key(&d.id)).then_some(d.id)
    }

    fn remove(&mut self, key: i64) -> Option<Entry> {
        let e = self.entries.remove(&key)?;
        if let Some(u) = &e.uuid {
            remove_from(&mut self.by_uuid, &uuid_hash(u), key);
        }
        match e.span {
            Some(s) if s.single() => remove_from(&mut self.by_addr, &(s.v6, s.start), key),
            Some(_) => {
                self.wide.remove(&key);
            }
            None => {}
        }
        self.by_until.remove(&(e.until, key));
        self.by_added.remove(&e.added);
        remove_from(&mut self.groups, &e.group(), key);
        Some(e)
    }

    fn upsert(&mut self, d: &Decision) -> bool {
        let until = d
            .until
            .map_or(0, |u| u.timestamp_nanos_opt().unwrap_or(i64::MAX));
        if let Some(key) = self.find(d) {
            let e = self.entries.get_mut(&key).expect("found");
            if e.until == until {
                return false;
            }
            self.by_until.remove(&(e.until, key));
            e.until = until;
            self.by_until.insert((until, key));
            return true;
        }
        let key = if d.id != 0 && !self.entries.contains_key(&d.id) {
            d.id
        } else {
            self.next_local = self
                .next_local
                .max(self.entries.keys().last().copied().unwrap_or(0));
            self.next_local += 1;
            self.next_local
        };
        self.seq += 1;
        let scope = self.intern(&normalize_scope(&d.scope));
        let span = if matches!(&*scope, "Ip" | "Range") {
            Span::parse(&d.value)
        } else {
            None
        };
        let mut tail = String::with_capacity(96);
        tail.push_str(",\"origin\":");
        push_json_str(&mut tail, &d.origin);
        tail.push_str(",\"scenario\":");
        push_json_str(&mut tail, &d.scenario);
        tail.push_str(",\"scope\":");
        push_json_str(&mut tail, &scope);
        tail.push_str(",\"type\":");
        push_json_str(&mut tail, &d.kind);
        tail.push(',');
        let tail = self.intern(&tail);
        let e = Entry {
            key,
            uuid: d.uuid.as_deref().filter(|u| !u.is_empty()).map(Box::from),
            kind: self.intern(&d.kind),
            origin: self.intern(&d.origin),
            scenario: self.intern(&d.scenario),
            scope,
            value: Box::from(d.value.as_str()),
            simulated: d.simulated.unwrap_or(false),
            until,
            span,
            added: self.seq,
            tail,
        };
        if let Some(u) = &e.uuid {
            add_key(&mut self.by_uuid, uuid_hash(u), key);
        }
        match span {
            Some(s) if s.single() => add_key(&mut self.by_addr, (s.v6, s.start), key),
            Some(_) => {
                self.wide.insert(key);
            }
            None => {}
        }
        self.by_until.insert((until, key));
        self.by_added.insert(e.added, key);
        add_key(&mut self.groups, e.group(), key);
        self.entries.insert(key, e);
        true
    }
}

fn add_key<K: Eq + Hash>(m: &mut HashMap<K, Keys>, k: K, key: i64) {
    match m.entry(k) {
        std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().push(key),
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(Keys::One(key));
        }
    }
}

fn remove_from<K: Eq + Hash>(m: &mut HashMap<K, Keys>, k: &K, key: i64) {
    if let Some(v) = m.get_mut(k) {
        if v.remove(key) {
            m.remove(k);
        }
    }
}

/// The in-memory decision set shared by the Local API's handlers (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct DecisionIndex {
    pub(crate) inner: Arc<RwLock<Inner>>,
}

impl DecisionIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or updates one decision (see the module docs). Returns whether anything changed.
    pub fn apply(&self, decision: &Decision) -> bool {
        self.write().upsert(decision)
    }

    /// [`DecisionIndex::apply`] for a batch, under one lock.
    pub fn apply_all<'a>(&self, decisions: impl IntoIterator<Item = &'a Decision>) -> usize {
        let mut w = self.write();
        decisions.into_iter().filter(|d| w.upsert(d)).count()
    }

    /// Forgets decisions that expired before `before`. Returns how many.
    pub fn prune(&self, before: DateTime<Utc>) -> usize {
        let cut = before.timestamp_nanos_opt().unwrap_or(i64::MIN);
        let mut w = self.write();
        let old: Vec<i64> = w
            .by_until
            .range(..(cut, i64::MIN))
            .map(|(_, k)| *k)
            .collect();
        for k in &old {
            w.remove(*k);
        }
        old.len()
    }

    /// How many decisions it holds (active and recently expired).
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many are active at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> usize {
        let n = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
        self.read().by_until.range((n, i64::MAX)..).count()
    }

    /// The active decisions at `now` matching `filter` (see [`crate::lapi::query`]), by id.
    pub fn find(&self, now: DateTime<Utc>, filter: &dyn Fn(&Decision) -> bool) -> Vec<Decision> {
        let n = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
        self.read()
            .entries
            .values()
            .filter(|e| e.until > n)
            .map(Entry::to_decision)
            .filter(|d| filter(d))
            .collect()
    }

    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}
