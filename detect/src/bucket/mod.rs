//! One bucket instance: the state a scenario keeps for one partition key between pours.
//!
//! Everything is computed lazily from timestamps at pour time (token level, expiry); there is no
//! task or timer per bucket. The struct is kept small (about a hundred bytes plus the packed
//! queue) so that a million live partitions fit in a few hundred megabytes:
//!
//! * [`leaky`]: the token bucket arithmetic (CrowdSec's `rate.Limiter`);
//! * [`queue`]: the kept events, packed or whole;
//! * [`blackhole`]: per-scenario overflow suppression;
//! * [`bayesian`]: posterior computation;
//! * [`env`]: `queue`, `leaky`, `signal` for expressions;
//! * [`mapkey`]: CrowdSec's bucket key.

pub mod bayesian;
pub mod blackhole;
pub mod env;
pub mod leaky;
pub mod mapkey;
pub mod queue;

use leaky::TokenState;
use palisade_schemas::ExpectMode;
use queue::Queue;
use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Bytes of a key stored inline.
const INLINE: usize = 22;

/// A partition key (the groupby value): inline up to 22 bytes (any IPv4 address, most IPv6
/// ones, user names), shared on the heap beyond. Inline keys cost no allocation and compare
/// without following a pointer, which matters when the bucket map is far larger than the cache.
#[derive(Clone)]
pub enum BucketKey {
    /// Short keys.
    Inline {
        /// Length in bytes.
        len: u8,
        /// The bytes, `len` of them valid UTF-8.
        buf: [u8; INLINE],
    },
    /// Longer keys (shared by the bucket and the map).
    Heap(Arc<str>),
}

impl BucketKey {
    /// The key.
    pub fn new(s: &str) -> Self {
        if s.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            BucketKey::Inline {
                len: s.len() as u8,
                buf,
            }
        } else {
            BucketKey::Heap(s.into())
        }
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        match self {
            BucketKey::Inline { len, buf } => {
                std::str::from_utf8(&buf[..*len as usize]).unwrap_or_default()
            }
            BucketKey::Heap(s) => s,
        }
    }
}

impl std::fmt::Debug for BucketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl PartialEq for BucketKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for BucketKey {}

impl Hash for BucketKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Borrow<str> for BucketKey {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// "No time yet".
pub const NO_TIME: i64 = i64::MIN;

/// "No slot" in the intrusive lists.
pub const NIL: u32 = u32::MAX;

/// Per-instance state only some scenarios need.
#[derive(Debug, Default)]
pub struct Extra {
    /// `distinct` values already seen.
    pub distinct: HashSet<Box<str>>,
    /// Bayesian guillotine flags, one per condition.
    pub fired: Vec<bool>,
}

/// A live bucket instance.
#[derive(Debug)]
pub struct Bucket {
    /// The groupby value (the partition key within the scenario).
    pub key: BucketKey,
    /// The kept events.
    pub queue: Queue,
    /// Distinct set and bayesian state, when the scenario has them.
    pub extra: Option<Box<Extra>>,
    /// The token bucket.
    pub tokens: TokenState,
    /// `First_ts` (ns), [`NO_TIME`] before the first pour.
    pub first_ts: i64,
    /// `Last_ts` (ns), [`NO_TIME`] before the first pour.
    pub last_ts: i64,
    /// Previous bucket of the scenario's recency list.
    pub prev: u32,
    /// Next bucket of the scenario's recency list.
    pub next: u32,
    /// `Total_count`: events poured (distinct duplicates and cancelling events excluded).
    pub total: u32,
    /// Index of the scenario in load order.
    pub scenario: u32,
    /// Live or time machine, from the last event poured.
    pub mode: ExpectMode,
}

impl Bucket {
    /// A fresh, full bucket.
    pub fn new(scenario: u32, key: BucketKey, full_events: bool, extra: bool) -> Self {
        Bucket {
            key,
            queue: Queue::new(full_events),
            extra: extra.then(Box::default),
            tokens: TokenState::full(),
            first_ts: NO_TIME,
            last_ts: NO_TIME,
            prev: NIL,
            next: NIL,
            total: 0,
            scenario,
            mode: ExpectMode::Live,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_state_stays_small() {
        let size = std::mem::size_of::<Bucket>();
        assert!(size <= 120, "Bucket is {size} bytes");
        assert_eq!(std::mem::size_of::<BucketKey>(), 24);
        assert_eq!(
            std::mem::size_of::<Option<Bucket>>(),
            size,
            "free slots cost nothing extra"
        );
    }

    #[test]
    fn keys_are_inline_when_short() {
        let short = BucketKey::new("255.255.255.255");
        assert!(matches!(short, BucketKey::Inline { .. }));
        assert_eq!(short.as_str(), "255.255.255.255");
        let long = BucketKey::new("2001:0db8:85a3:0000:0000:8a2e:0370:7334");
        assert!(matches!(long, BucketKey::Heap(_)));
        assert_eq!(long.as_str(), "2001:0db8:85a3:0000:0000:8a2e:0370:7334");
        let mut m = std::collections::HashMap::new();
        m.insert(short.clone(), 1);
        m.insert(long, 2);
        assert_eq!(m.get("255.255.255.255"), Some(&1));
        assert_eq!(m.get("2001:0db8:85a3:0000:0000:8a2e:0370:7334"), Some(&2));
        assert_eq!(BucketKey::new(""), BucketKey::new(""));
    }
}
