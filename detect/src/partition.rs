//! Partitioning: which key an event's state lives under. Detection state (buckets, windows) is
//! partitioned by source address, so that sharding the event stream by that key (the Kafka
//! `events` topic is keyed by it) keeps every per-address count on a single instance.

use palisade_schemas::Event;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The partition key of an event: `Meta.source_ip`, or `None` when the parsers found no address
/// (such events are still poured into scenarios whose groupby does not use the address).
pub fn partition_key(event: &Event) -> Option<&str> {
    event.source_ip()
}

/// The partition (out of `partitions`) that owns `key`. Stable across processes and versions:
/// FNV-1a, not the std hasher, whose output may change between Rust releases.
pub fn partition_of(key: &str, partitions: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % partitions.max(1)
}

/// A process-local hash of a key, for in-memory maps.
pub fn local_hash(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_the_source_address() {
        let mut e = Event::default();
        assert_eq!(partition_key(&e), None);
        e.meta.insert("source_ip".into(), "".into());
        assert_eq!(partition_key(&e), None, "an empty address is no address");
        e.meta.insert("source_ip".into(), "10.0.0.1".into());
        assert_eq!(partition_key(&e), Some("10.0.0.1"));
    }

    #[test]
    fn partitions_are_stable_and_spread() {
        assert_eq!(partition_of("1.2.3.4", 8), partition_of("1.2.3.4", 8));
        let mut seen = [0u32; 4];
        for i in 0..1000 {
            seen[partition_of(&format!("10.0.{}.{}", i / 256, i % 256), 4) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
        assert_eq!(partition_of("x", 0), 0);
    }
}
