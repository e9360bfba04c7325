//! The active set: every decision in force, keyed by scope, value and type, with its expiry; and
//! the batches of additions and deletions that backends apply.
//!
//! Sources feed it in two ways: a full snapshot (the Local API's `startup=true`, or the decision
//! topic read from the beginning), which is reconciled against what is held, and incremental
//! changes. Expiry is local: a decision whose `until` passes is removed even while the source is
//! unreachable, so nothing stays banned longer than decided.

use chrono::{DateTime, Utc};
use palisade_schemas::{Decision, DecisionAction, DecisionChange};
use std::collections::{BTreeSet, HashMap};

/// What identifies a decision in the set: `scope:value:type` (`Ip`, `192.0.2.1`, `ban`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// `Ip`, `Range`, ...
    pub scope: String,
    /// The address, CIDR or other value.
    pub value: String,
    /// `ban`, `captcha`, `throttle`, ...
    pub kind: String,
}

impl Key {
    /// The key of a decision (the scope is normalised as the Local API does).
    pub fn of(d: &Decision) -> Key {
        Key {
            scope: palisade_schemas::normalize_scope(&d.scope),
            value: d.value.clone(),
            kind: d.kind.clone(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.scope, self.value, self.kind)
    }
}

/// One decision in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its key.
    pub key: Key,
    /// When it ends.
    pub until: DateTime<Utc>,
    /// The decision as received.
    pub decision: Decision,
}

impl Entry {
    /// Whether `other` is this decision again: same uuid, origin and scenario, and an end within
    /// two seconds (the Local API sends the time left rounded to the second, so the end computed
    /// from it moves a little at every pull).
    pub fn same_as(&self, other: &Entry) -> bool {
        self.decision.uuid == other.decision.uuid
            && self.decision.origin == other.decision.origin
            && self.decision.scenario == other.decision.scenario
            && (self.until - other.until).num_milliseconds().abs() <= 2000
    }

    /// Seconds left at `now`, rounded up, at least 1 (what a firewall element's timeout gets).
    pub fn seconds_left(&self, now: DateTime<Utc>) -> u64 {
        let ms = (self.until - now).num_milliseconds().max(0) as u64;
        ms.div_ceil(1000).max(1)
    }
}

/// Changes for backends. With `full`, `adds` is the whole active set and anything else a backend
/// enforces must go (start, reconnect); otherwise `adds` and `deletes` are changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// `adds` is everything.
    pub full: bool,
    /// Added or extended decisions.
    pub adds: Vec<Entry>,
    /// Removed decisions (deleted, expired, replaced).
    pub deletes: Vec<Entry>,
}

impl Batch {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        !self.full && self.adds.is_empty() && self.deletes.is_empty()
    }

    /// The batch that has the effect of `self` then `next` (a backend that fell behind applies
    /// everything queued at once). The last word on a key wins.
    pub fn merge(self, next: Batch) -> Batch {
        if next.full {
            return next;
        }
        let full = self.full;
        let mut order: Vec<Key> = Vec::new();
        let mut last: HashMap<Key, (bool, Entry)> = HashMap::new();
        for (add, e) in self
            .adds
            .into_iter()
            .map(|e| (true, e))
            .chain(self.deletes.into_iter().map(|e| (false, e)))
            .chain(next.adds.into_iter().map(|e| (true, e)))
            .chain(next.deletes.into_iter().map(|e| (false, e)))
        {
            if !last.contains_key(&e.key) {
                order.push(e.key.clone());
            }
            last.insert(e.key.clone(), (add, e));
        }
        let mut out = Batch {
            full,
            ..Batch::default()
        };
        for k in order {
            let (add, e) = last.remove(&k).expect("every key in order is in last");
            if add {
                out.adds.push(e);
            } else if !full {
                // In a full batch a deleted key is simply absent.
                out.deletes.push(e);
            }
        }
        out
    }
}

/// Every decision in force.
#[derive(Debug, Default)]
pub struct ActiveSet {
    entries: HashMap<Key, Entry>,
    by_until: BTreeSet<(DateTime<Utc>, Key)>,
}

impl ActiveSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many decisions are in force.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The decision held for a key.
    pub fn get(&self, key: &Key) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    fn insert(&mut self, e: Entry, out: &mut Batch) {
        if let Some(old) = self.entries.get(&e.key) {
            if old.same_as(&e) {
                return;
            }
            self.by_until.remove(&(old.until, old.key.clone()));
        }
        self.by_until.insert((e.until, e.key.clone()));
        self.entries.insert(e.key.clone(), e.clone());
        out.adds.push(e);
    }

    fn remove(&mut self, key: &Key, out: &mut Batch) {
        if let Some(old) = self.entries.remove(key) {
            self.by_until.remove(&(old.until, old.key.clone()));
            out.deletes.push(old);
        }
    }

    /// The entry of a decision at `now`: `until` as given, else `now + duration`. None when the
    /// decision is already over or its duration cannot be read.
    pub fn entry_of(d: &Decision, now: DateTime<Utc>) -> Option<Entry> {
        let until = match d.until {
            Some(u) => u,
            None => now + palisade_schemas::duration::parse_go_duration(&d.duration).ok()?,
        };
        (until > now).then(|| Entry {
            key: Key::of(d),
            until,
            decision: d.clone(),
        })
    }

    /// Applies messages of the decision topic. The newest message of a `scope:value` is the state
    /// of that value: an `add` replaces any decision of another type held for it, and a `delete`
    /// or `expire` removes every decision held for it.
    pub fn apply_topic(&mut self, changes: &[DecisionChange], now: DateTime<Utc>) -> Batch {
        let mut out = Batch::default();
        for c in changes {
            let key = Key::of(&c.decision);
            // The usual types, and the message's own; a custom type held for the value under
            // another message is left to its own delete.
            for kind in ["ban", "captcha", "throttle", key.kind.as_str()] {
                if c.action == DecisionAction::Add && kind == key.kind {
                    continue;
                }
                let other = Key {
                    kind: kind.to_string(),
                    ..key.clone()
                };
                self.remove(&other, &mut out);
            }
            if c.action == DecisionAction::Add {
                match Self::entry_of(&c.decision, now) {
                    Some(e) => self.insert(e, &mut out),
                    None => self.remove(&key, &mut out),
                }
            }
        }
        out.settle(self)
    }

    /// Applies a Local API stream delta: `new` decisions are added (the longest of a key wins),
    /// `deleted` ones removed.
    pub fn apply_stream(
        &mut self,
        new: &[Decision],
        deleted: &[Decision],
        now: DateTime<Utc>,
    ) -> Batch {
        let mut out = Batch::default();
        for d in deleted {
            self.remove(&Key::of(d), &mut out);
        }
        for d in new {
            if let Some(e) = Self::entry_of(d, now) {
                let longer = self.entries.get(&e.key).is_some_and(|o| o.until > e.until);
                if !longer {
                    self.insert(e, &mut out);
                }
            }
        }
        out.settle(self)
    }

    /// Replaces the whole set with a snapshot (reconciliation on start and reconnect). Returns
    /// the changes against what was held.
    pub fn replace(&mut self, snapshot: &[Decision], now: DateTime<Utc>) -> Batch {
        let mut fresh: HashMap<Key, Entry> = HashMap::new();
        for d in snapshot {
            if let Some(e) = Self::entry_of(d, now) {
                match fresh.get(&e.key) {
                    Some(o) if o.until >= e.until => {}
                    _ => {
                        fresh.insert(e.key.clone(), e);
                    }
                }
            }
        }
        let mut out = Batch::default();
        let gone: Vec<Key> = self
            .entries
            .keys()
            .filter(|k| !fresh.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            self.remove(&k, &mut out);
        }
        for (_, e) in fresh {
            self.insert(e, &mut out);
        }
        out
    }

    /// A full batch holding every entry.
    pub fn full_batch(&self) -> Batch {
        Batch {
            full: true,
            adds: self.entries.values().cloned().collect(),
            deletes: Vec::new(),
        }
    }

    /// Removes what ended by `now`.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Batch {
        let mut out = Batch::default();
        while let Some((until, key)) = self.by_until.first().cloned() {
            if until > now {
                break;
            }
            self.remove(&key, &mut out);
        }
        out
    }

    /// When the next entry ends.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.by_until.first().map(|(u, _)| *u)
    }
}

impl Batch {
    /// Resolves keys that were both removed and added while one batch was made (replaced,
    /// deleted then re-added, added then deleted) by the set's final state: one entry per key.
    fn settle(self, set: &ActiveSet) -> Batch {
        let mut seen = std::collections::HashSet::new();
        let mut out = Batch {
            full: self.full,
            ..Batch::default()
        };
        for e in self.deletes.into_iter().chain(self.adds) {
            if !seen.insert(e.key.clone()) {
                continue;
            }
            match set.get(&e.key) {
                Some(cur) => out.adds.push(cur.clone()),
                None => out.deletes.push(e),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
    }

    fn decision(value: &str, kind: &str, secs: i64) -> Decision {
        Decision {
            duration: format!("{secs}s"),
            id: 0,
            origin: "test".into(),
            scenario: "test/s".into(),
            scope: "Ip".into(),
            simulated: None,
            kind: kind.into(),
            until: Some(now() + chrono::TimeDelta::seconds(secs)),
            uuid: None,
            value: value.into(),
        }
    }

    fn change(action: DecisionAction, d: Decision) -> DecisionChange {
        DecisionChange {
            action,
            decision: d,
        }
    }

    #[test]
    fn topic_messages_add_replace_and_delete() {
        let mut s = ActiveSet::new();
        let b = s.apply_topic(
            &[
                change(DecisionAction::Add, decision("192.0.2.1", "ban", 60)),
                change(DecisionAction::Add, decision("192.0.2.2", "ban", 60)),
            ],
            now(),
        );
        assert_eq!(b.adds.len(), 2);
        assert!(b.deletes.is_empty());
        // A captcha for the same address replaces its ban (one key, one decision on the topic).
        let b = s.apply_topic(
            &[change(
                DecisionAction::Add,
                decision("192.0.2.1", "captcha", 60),
            )],
            now(),
        );
        assert_eq!(b.adds.len(), 1);
        assert_eq!(b.deletes.len(), 1);
        assert_eq!(b.deletes[0].key.kind, "ban");
        assert_eq!(s.len(), 2);
        let b = s.apply_topic(
            &[change(
                DecisionAction::Delete,
                decision("192.0.2.1", "captcha", 60),
            )],
            now(),
        );
        assert_eq!(b.deletes.len(), 1);
        assert_eq!(s.len(), 1);
        // A message that is already over removes the decision instead.
        let b = s.apply_topic(
            &[change(
                DecisionAction::Add,
                decision("192.0.2.2", "ban", -1),
            )],
            now(),
        );
        assert_eq!((b.adds.len(), b.deletes.len()), (0, 1));
        assert!(s.is_empty());
    }

    #[test]
    fn the_same_message_twice_changes_nothing() {
        let mut s = ActiveSet::new();
        let m = [change(
            DecisionAction::Add,
            decision("192.0.2.1", "ban", 60),
        )];
        assert_eq!(s.apply_topic(&m, now()).adds.len(), 1);
        assert!(s.apply_topic(&m, now()).is_empty());
    }

    #[test]
    fn an_address_removed_and_added_in_one_batch_stays() {
        let mut s = ActiveSet::new();
        s.apply_topic(
            &[change(
                DecisionAction::Add,
                decision("192.0.2.1", "ban", 60),
            )],
            now(),
        );
        let b = s.apply_topic(
            &[
                change(DecisionAction::Delete, decision("192.0.2.1", "ban", 60)),
                change(DecisionAction::Add, decision("192.0.2.1", "ban", 120)),
            ],
            now(),
        );
        assert!(b.deletes.is_empty(), "{b:?}");
        assert_eq!(b.adds.len(), 1);
        assert_eq!(b.adds[0].seconds_left(now()), 120);
    }

    #[test]
    fn stream_deltas_keep_the_longest_decision() {
        let mut s = ActiveSet::new();
        s.apply_stream(&[decision("192.0.2.1", "ban", 600)], &[], now());
        let b = s.apply_stream(&[decision("192.0.2.1", "ban", 60)], &[], now());
        assert!(b.is_empty(), "a shorter decision does not shorten the ban");
        let b = s.apply_stream(&[], &[decision("192.0.2.1", "ban", 0)], now());
        assert_eq!(b.deletes.len(), 1);
        // Decisions without `until` (the Local API's) run for their duration.
        let mut d = decision("192.0.2.3", "ban", 0);
        d.until = None;
        d.duration = "3h59m58s".into();
        let b = s.apply_stream(&[d], &[], now());
        assert_eq!(b.adds[0].seconds_left(now()), 4 * 3600 - 2);
    }

    #[test]
    fn snapshots_reconcile_and_expiry_is_local() {
        let mut s = ActiveSet::new();
        s.replace(
            &[
                decision("192.0.2.1", "ban", 60),
                decision("192.0.2.2", "ban", 10),
            ],
            now(),
        );
        let b = s.replace(
            &[
                decision("192.0.2.2", "ban", 10),
                decision("192.0.2.3", "ban", 30),
            ],
            now(),
        );
        assert_eq!(b.deletes.len(), 1);
        assert_eq!(b.deletes[0].key.value, "192.0.2.1");
        assert_eq!(b.adds.len(), 1);
        assert_eq!(b.adds[0].key.value, "192.0.2.3");
        assert_eq!(
            s.next_expiry(),
            Some(now() + chrono::TimeDelta::seconds(10))
        );
        let b = s.expire(now() + chrono::TimeDelta::seconds(10));
        assert_eq!(b.deletes.len(), 1);
        assert_eq!(s.len(), 1);
        assert_eq!(s.full_batch().adds.len(), 1);
    }

    #[test]
    fn merged_batches_keep_the_last_word() {
        let e = |v: &str| ActiveSet::entry_of(&decision(v, "ban", 60), now()).unwrap();
        let a = Batch {
            full: false,
            adds: vec![e("192.0.2.1"), e("192.0.2.2")],
            deletes: vec![],
        };
        let b = Batch {
            full: false,
            adds: vec![e("192.0.2.3")],
            deletes: vec![e("192.0.2.1")],
        };
        let m = a.clone().merge(b);
        assert_eq!(m.adds.len(), 2);
        assert_eq!(m.deletes.len(), 1);
        let full = Batch {
            full: true,
            adds: vec![e("192.0.2.9")],
            deletes: vec![],
        };
        assert_eq!(a.clone().merge(full.clone()), full);
        let m = full.merge(Batch {
            full: false,
            adds: vec![],
            deletes: vec![e("192.0.2.9")],
        });
        assert!(m.full && m.adds.is_empty() && m.deletes.is_empty());
    }
}
