//! `blackhole:` — a partition that overflowed cannot overflow again before the blackhole
//! duration has passed. The state is per scenario (shared by its bucket instances) and keyed by
//! the bucket key; time is the overflow time (`Ovflw_ts`), so it works on replayed logs too.
//!
//! CrowdSec keeps a list of (key, expiration) and purges expired entries on every overflow; here
//! the key is looked up directly and expired entries are purged by [`Blackhole::purge`], which
//! the engine calls as time advances, so the list never grows with dead entries.

use std::collections::HashMap;

/// The blackhole of one scenario.
#[derive(Debug, Default)]
pub struct Blackhole {
    hidden: HashMap<Box<str>, i64>,
}

impl Blackhole {
    /// Decides an overflow of `key` at `ovflw_ts` (ns): `true` means discard it (still hidden);
    /// otherwise the key is hidden until `ovflw_ts + duration` and `false` is returned.
    pub fn check(&mut self, key: &str, ovflw_ts: i64, duration: i64) -> bool {
        if let Some(&exp) = self.hidden.get(key) {
            if exp > ovflw_ts {
                return true;
            }
        }
        self.hidden
            .insert(key.into(), ovflw_ts.saturating_add(duration));
        false
    }

    /// Forgets keys whose expiration is at or before `now`.
    pub fn purge(&mut self, now: i64) {
        self.hidden.retain(|_, exp| *exp > now);
    }

    /// Keys currently hidden (expired ones not yet purged included).
    pub fn len(&self) -> usize {
        self.hidden.len()
    }

    /// Whether nothing is hidden.
    pub fn is_empty(&self) -> bool {
        self.hidden.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_a_key_for_the_duration() {
        let mut b = Blackhole::default();
        assert!(!b.check("k", 100, 60));
        assert!(b.check("k", 159, 60));
        assert!(!b.check("other", 159, 60));
        assert!(!b.check("k", 160, 60), "expiration is exclusive");
        assert!(b.check("k", 219, 60));
        b.purge(1000);
        assert!(b.is_empty());
    }
}
