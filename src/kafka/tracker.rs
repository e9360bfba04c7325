//! Per-partition bookkeeping of a consumer: what is assigned, where a newly assigned partition
//! must rewind to rebuild state, and the offset to rewind to next time.
//!
//! A detect instance keeps bucket state in memory. When it commits offset `C` of a partition,
//! it also writes, in the commit's metadata, `rebuild_from=R`: the first offset of the events
//! whose time is within the rebuild window of the newest event seen (checkpoints of (message
//! time, offset) are kept about once a second of event time). The instance that gets the
//! partition next (after a crash, restart or rebalance) reads `C` and `R`, seeks to `R`, and
//! marks the messages below `C` as rebuild-only: they refill the buckets, and what they make
//! overflow is not raised again (it was raised before the commit).

use std::collections::{HashMap, HashSet, VecDeque};

/// Metadata key in committed offsets.
pub const REBUILD_KEY: &str = "rebuild_from=";

type Tp = (String, i32);

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Process it.
    Live,
    /// Process it to rebuild state only (below the committed offset).
    Rebuild,
    /// First message of a newly assigned partition: look up its committed offset first.
    NeedsInit,
}

/// The bookkeeping.
#[derive(Debug, Default)]
pub struct Tracker {
    window_ms: i64,
    assigned: HashSet<Tp>,
    uninitialised: HashSet<Tp>,
    /// Messages below this offset only rebuild state.
    rebuild_below: HashMap<Tp, i64>,
    checkpoints: HashMap<Tp, VecDeque<(i64, i64)>>,
}

impl Tracker {
    /// Keeps `window_ms` of history per partition (0: no rebuild, no checkpoints).
    pub fn new(window_ms: i64) -> Self {
        Tracker {
            window_ms,
            ..Tracker::default()
        }
    }

    /// Whether this consumer rebuilds state.
    pub fn rebuilds(&self) -> bool {
        self.window_ms > 0
    }

    /// Partitions were assigned.
    pub fn assign(&mut self, parts: Vec<Tp>) {
        for tp in parts {
            if self.assigned.insert(tp.clone()) && self.rebuilds() {
                self.uninitialised.insert(tp.clone());
                self.checkpoints.remove(&tp);
                self.rebuild_below.remove(&tp);
            }
        }
    }

    /// Partitions were revoked.
    pub fn revoke(&mut self, parts: &[Tp]) {
        for tp in parts {
            self.assigned.remove(tp);
            self.uninitialised.remove(tp);
            self.rebuild_below.remove(tp);
            self.checkpoints.remove(tp);
        }
    }

    /// How many partitions are assigned.
    pub fn assigned(&self) -> usize {
        self.assigned.len()
    }

    /// Classifies a message and records a checkpoint for it.
    pub fn see(&mut self, topic: &str, partition: i32, offset: i64, time_ms: Option<i64>) -> Seen {
        if !self.rebuilds() {
            return Seen::Live;
        }
        let tp = (topic.to_string(), partition);
        if self.uninitialised.contains(&tp) {
            return Seen::NeedsInit;
        }
        if let Some(t) = time_ms {
            let cps = self.checkpoints.entry(tp.clone()).or_default();
            if cps.back().is_none_or(|&(last, _)| t >= last + 1000) {
                cps.push_back((t, offset));
            }
            // Keep the newest checkpoint older than the window: rewinding there covers it.
            while cps.len() > 1 && cps[1].0 <= t - self.window_ms {
                cps.pop_front();
            }
        }
        match self.rebuild_below.get(&tp) {
            Some(&c) if offset < c => Seen::Rebuild,
            _ => Seen::Live,
        }
    }

    /// The committed offset `committed` and its metadata were read for a newly assigned
    /// partition: returns the offset to seek to when state must be rebuilt.
    pub fn initialise(
        &mut self,
        topic: &str,
        partition: i32,
        committed: Option<i64>,
        metadata: &str,
    ) -> Option<i64> {
        let tp = (topic.to_string(), partition);
        self.uninitialised.remove(&tp);
        let c = committed?;
        let r = metadata
            .split(';')
            .find_map(|kv| kv.strip_prefix(REBUILD_KEY))
            .and_then(|v| v.parse::<i64>().ok())?;
        if r >= c || r < 0 {
            return None;
        }
        self.rebuild_below.insert(tp, c);
        Some(r)
    }

    /// The metadata to commit with a partition's offset.
    pub fn commit_metadata(&self, topic: &str, partition: i32) -> Option<String> {
        let cps = self.checkpoints.get(&(topic.to_string(), partition))?;
        cps.front().map(|&(_, o)| format!("{REBUILD_KEY}{o}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_window_everything_is_live() {
        let mut t = Tracker::new(0);
        t.assign(vec![("e".into(), 0)]);
        assert_eq!(t.see("e", 0, 5, Some(1000)), Seen::Live);
        assert_eq!(t.commit_metadata("e", 0), None);
    }

    #[test]
    fn a_new_partition_is_initialised_then_rebuilt_below_the_committed_offset() {
        let mut t = Tracker::new(60_000);
        t.assign(vec![("e".into(), 0)]);
        assert_eq!(t.see("e", 0, 100, Some(0)), Seen::NeedsInit);
        assert_eq!(t.initialise("e", 0, Some(100), "rebuild_from=40"), Some(40));
        assert_eq!(t.see("e", 0, 40, Some(0)), Seen::Rebuild);
        assert_eq!(t.see("e", 0, 99, Some(0)), Seen::Rebuild);
        assert_eq!(t.see("e", 0, 100, Some(0)), Seen::Live);
    }

    #[test]
    fn no_metadata_or_no_commit_means_no_rewind() {
        let mut t = Tracker::new(60_000);
        t.assign(vec![("e".into(), 0), ("e".into(), 1)]);
        assert_eq!(t.initialise("e", 0, None, ""), None);
        assert_eq!(t.initialise("e", 1, Some(10), ""), None);
        assert_eq!(t.see("e", 1, 10, None), Seen::Live);
    }

    #[test]
    fn checkpoints_cover_the_window_of_event_time() {
        let mut t = Tracker::new(10_000);
        t.assign(vec![("e".into(), 0)]);
        t.initialise("e", 0, None, "");
        // One message every 500 ms of event time, offsets 0..100 (50 s).
        for i in 0..100 {
            t.see("e", 0, i, Some(i * 500));
        }
        // Newest time 49.5 s: the rewind point is at or before 39.5 s, and not much before.
        let m = t.commit_metadata("e", 0).unwrap();
        let r: i64 = m.strip_prefix(REBUILD_KEY).unwrap().parse().unwrap();
        assert!(r * 500 <= 39_500, "{m}");
        assert!(r * 500 >= 38_000, "{m}");
    }

    #[test]
    fn revoking_forgets_the_partition() {
        let mut t = Tracker::new(1000);
        t.assign(vec![("e".into(), 0)]);
        t.initialise("e", 0, Some(5), "rebuild_from=1");
        t.revoke(&[("e".into(), 0)]);
        assert_eq!(t.assigned(), 0);
        t.assign(vec![("e".into(), 0)]);
        assert_eq!(t.see("e", 0, 1, Some(0)), Seen::NeedsInit);
    }
}
