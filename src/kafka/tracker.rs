//! Per-partition bookkeeping of a consumer: what is assigned, which messages only rebuild state,
//! and the offset to restart from.
//!
//! A detect instance keeps bucket state in memory, so a partition's new owner (after a crash,
//! restart or rebalance) must re-read the history that state was built from. The instance
//! therefore commits two offsets per partition:
//!
//! * to its consumer group, the **restart point** `R`: the first offset of the events whose time
//!   is within the rebuild window of the newest event seen (checkpoints of (message time,
//!   offset) are kept about once a second of event time). A new owner starts reading there.
//! * to a companion progress group (`<group>.progress`), the **progress** `C`: the next offset
//!   not yet processed. The new owner reads it when it first sees the partition, and marks the
//!   messages below `C` as rebuild-only: they refill the buckets, and what they make overflow is
//!   not raised again (it was raised before).
//!
//! Kafka's commit metadata would hold `C` in one commit, but tansu does not keep it, hence the
//! second group. Without the progress offset everything is processed live, and the
//! deterministic alert and decision uuids keep a re-raised alert from banning twice.

use std::collections::{HashMap, HashSet, VecDeque};

type Tp = (String, i32);

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Process it.
    Live,
    /// Process it to rebuild state only (below the committed offset).
    Rebuild,
    /// First message of a newly assigned partition: look up its progress offset first.
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

    /// The progress offset of a newly assigned partition was read (`None`: none committed):
    /// messages below it only rebuild state.
    pub fn initialise(&mut self, topic: &str, partition: i32, progress: Option<i64>) {
        let tp = (topic.to_string(), partition);
        self.uninitialised.remove(&tp);
        if let Some(c) = progress.filter(|&c| c > 0) {
            self.rebuild_below.insert(tp, c);
        }
    }

    /// The offset to commit to the consumer group for a partition whose progress is `next`:
    /// the restart point, never after `next`.
    pub fn restart_point(&self, topic: &str, partition: i32, next: i64) -> i64 {
        self.checkpoints
            .get(&(topic.to_string(), partition))
            .and_then(|cps| cps.front())
            .map_or(next, |&(_, o)| o.min(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_window_everything_is_live_and_restarts_at_the_progress() {
        let mut t = Tracker::new(0);
        t.assign(vec![("e".into(), 0)]);
        assert_eq!(t.see("e", 0, 5, Some(1000)), Seen::Live);
        assert_eq!(t.restart_point("e", 0, 6), 6);
    }

    #[test]
    fn a_new_partition_is_initialised_then_rebuilt_below_the_progress() {
        let mut t = Tracker::new(60_000);
        t.assign(vec![("e".into(), 0)]);
        assert_eq!(t.see("e", 0, 40, Some(0)), Seen::NeedsInit);
        t.initialise("e", 0, Some(100));
        assert_eq!(t.see("e", 0, 40, Some(0)), Seen::Rebuild);
        assert_eq!(t.see("e", 0, 99, Some(0)), Seen::Rebuild);
        assert_eq!(t.see("e", 0, 100, Some(0)), Seen::Live);
    }

    #[test]
    fn no_progress_means_everything_is_live() {
        let mut t = Tracker::new(60_000);
        t.assign(vec![("e".into(), 0)]);
        t.initialise("e", 0, None);
        assert_eq!(t.see("e", 0, 10, None), Seen::Live);
    }

    #[test]
    fn the_restart_point_covers_the_window_of_event_time() {
        let mut t = Tracker::new(10_000);
        t.assign(vec![("e".into(), 0)]);
        t.initialise("e", 0, None);
        // One message every 500 ms of event time, offsets 0..100 (50 s).
        for i in 0..100 {
            t.see("e", 0, i, Some(i * 500));
        }
        // Newest time 49.5 s: the restart point is at or before 39.5 s, and not much before.
        let r = t.restart_point("e", 0, 100);
        assert!(r * 500 <= 39_500, "{r}");
        assert!(r * 500 >= 38_000, "{r}");
        assert_eq!(t.restart_point("e", 0, 10), 10, "never after the progress");
    }

    #[test]
    fn revoking_forgets_the_partition() {
        let mut t = Tracker::new(1000);
        t.assign(vec![("e".into(), 0)]);
        t.initialise("e", 0, Some(5));
        t.revoke(&[("e".into(), 0)]);
        assert_eq!(t.assigned(), 0);
        t.assign(vec![("e".into(), 0)]);
        assert_eq!(t.see("e", 0, 1, Some(0)), Seen::NeedsInit);
    }
}
