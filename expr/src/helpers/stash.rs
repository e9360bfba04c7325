//! The stash: named in-memory caches that parser `stash:` sections fill and
//! `GetFromStash(cache, key)` / `SetInStash(cache, key, value, ttl)` read and write. Each cache
//! has a size (oldest entry evicted first) and a default TTL (wall clock). Reading an absent
//! key or an unknown cache gives "", writing to an unknown cache does nothing, as in CrowdSec.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Cache {
    size: usize,
    ttl: Duration,
    seq: u64,
    entries: HashMap<String, (String, Instant, u64)>,
}

/// All named caches, shareable between threads.
#[derive(Debug, Default)]
pub struct Stash {
    caches: Mutex<HashMap<String, Cache>>,
}

impl Stash {
    /// No caches.
    pub fn new() -> Self {
        Stash::default()
    }

    /// Creates (or resizes) the cache `name` with at most `size` entries and a default TTL.
    pub fn configure(&self, name: &str, size: usize, ttl: Duration) {
        let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        let c = caches.entry(name.to_string()).or_insert_with(|| Cache {
            size,
            ttl,
            seq: 0,
            entries: HashMap::new(),
        });
        c.size = size.max(1);
        c.ttl = ttl;
    }

    /// Stores `value` under `key` for `ttl` (the cache's default when `None`).
    pub fn set(&self, name: &str, key: &str, value: &str, ttl: Option<Duration>) {
        let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        let Some(c) = caches.get_mut(name) else {
            return;
        };
        let now = Instant::now();
        let expiry = now
            .checked_add(ttl.unwrap_or(c.ttl))
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        c.seq += 1;
        let seq = c.seq;
        c.entries
            .insert(key.to_string(), (value.to_string(), expiry, seq));
        if c.entries.len() > c.size {
            c.entries.retain(|_, (_, exp, _)| *exp > now);
        }
        while c.entries.len() > c.size {
            let oldest = c
                .entries
                .iter()
                .min_by_key(|(_, (_, _, s))| *s)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    c.entries.remove(&k);
                }
                None => break,
            }
        }
    }

    /// The value under `key`, "" when absent or expired.
    pub fn get(&self, name: &str, key: &str) -> String {
        let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        let Some(c) = caches.get_mut(name) else {
            return String::new();
        };
        match c.entries.get(key) {
            Some((v, exp, _)) if *exp > Instant::now() => v.clone(),
            Some(_) => {
                c.entries.remove(key);
                String::new()
            }
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_evict_expire() {
        let s = Stash::new();
        s.set("nope", "k", "v", None);
        assert_eq!(s.get("nope", "k"), "");
        s.configure("c", 2, Duration::from_secs(60));
        s.set("c", "a", "1", None);
        s.set("c", "b", "2", None);
        s.set("c", "c", "3", None);
        assert_eq!(s.get("c", "a"), "", "oldest evicted");
        assert_eq!(s.get("c", "c"), "3");
        s.set("c", "z", "9", Some(Duration::ZERO));
        assert_eq!(s.get("c", "z"), "");
    }
}
