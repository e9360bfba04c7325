//! A small per-thread cache of enrichment results, for the methods whose result depends only on
//! their input and a database that never changes under them (`GeoIpCity`, `GeoIpASN`,
//! `IpToRange`, `GeoIpCountry`), and for `ParseDate` on the inputs whose result depends on
//! nothing else (a date with its year, without `StrTimeFormat`: many lines share a second).
//!
//! A web log names the same client address line after line (a page, then its assets), and each
//! GeoIP method parses the address, walks the database's tree and decodes the record again for
//! each. The cache keeps the last results per thread in a few hundred slots (direct-mapped by a
//! hash of the method instance and the input), so a repeated address costs a hash and a copy
//! of the result. Each method instance has its own id: a database opened again (a reload) comes
//! with new instances, whose results never mix with the old ones. Inputs longer than
//! [`MAX_INPUT`] are not cached.

use crate::Enrichment;
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots per thread, shared by every cached method.
const SLOTS: usize = 512;

/// The longest input cached (an IPv6 address with a zone fits).
pub(crate) const MAX_INPUT: usize = 64;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The cache of one method instance (clones share it: same database, same answers).
#[derive(Debug, Clone)]
pub(crate) struct ResultCache {
    id: u64,
}

struct Slot {
    id: u64,
    input: String,
    out: Enrichment,
}

thread_local! {
    static CACHE: RefCell<Vec<Option<Slot>>> = const { RefCell::new(Vec::new()) };
}

impl ResultCache {
    pub(crate) fn new() -> Self {
        ResultCache {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The result for `input`: the cached one, else `compute()`'s (then cached).
    pub(crate) fn get_or(&self, input: &str, compute: impl FnOnce() -> Enrichment) -> Enrichment {
        self.get_or_maybe(input, || (compute(), true))
    }

    /// As [`get_or`](Self::get_or), for a method whose result depends on more than its input
    /// on some inputs: `compute` also says whether its result may be kept.
    pub(crate) fn get_or_maybe(
        &self,
        input: &str,
        compute: impl FnOnce() -> (Enrichment, bool),
    ) -> Enrichment {
        if input.len() > MAX_INPUT {
            return compute().0;
        }
        let slot =
            (foldhash::fast::FixedState::with_seed(0).hash_one((self.id, input)) as usize) % SLOTS;
        let hit = CACHE.with(|c| {
            c.borrow()
                .get(slot)
                .and_then(Option::as_ref)
                .filter(|s| s.id == self.id && s.input == input)
                .map(|s| s.out.clone())
        });
        if let Some(out) = hit {
            return out;
        }
        let (out, keep) = compute();
        if !keep {
            return out;
        }
        CACHE.with(|c| {
            let mut slots = c.borrow_mut();
            if slots.len() < SLOTS {
                slots.resize_with(SLOTS, || None);
            }
            slots[slot] = Some(Slot {
                id: self.id,
                input: input.to_string(),
                out: out.clone(),
            });
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn answer(v: &str) -> Enrichment {
        Enrichment {
            fields: [("k".to_string(), v.to_string())].into_iter().collect(),
            ..Enrichment::default()
        }
    }

    #[test]
    fn a_repeated_input_is_computed_once_per_instance() {
        let (a, b) = (ResultCache::new(), ResultCache::new());
        let calls = Cell::new(0);
        let compute = |v: &str| {
            calls.set(calls.get() + 1);
            answer(v)
        };
        assert_eq!(a.get_or("1.2.3.4", || compute("a")), answer("a"));
        assert_eq!(a.get_or("1.2.3.4", || compute("again")), answer("a"));
        assert_eq!(calls.get(), 1);
        // Another instance (another database or method) does not see a's results.
        assert_eq!(b.get_or("1.2.3.4", || compute("b")), answer("b"));
        assert_eq!(a.get_or("1.2.3.5", || compute("c")), answer("c"));
        assert_eq!(calls.get(), 3);
        // A clone shares the cache.
        assert_eq!(a.clone().get_or("1.2.3.4", || compute("x")), answer("a"));
        assert_eq!(calls.get(), 3);
        // Long inputs are never cached.
        let long = "x".repeat(MAX_INPUT + 1);
        a.get_or(&long, || compute("l"));
        a.get_or(&long, || compute("l"));
        assert_eq!(calls.get(), 5);
        // A result its method says not to keep is computed again.
        let kept = |keep: bool| {
            calls.set(calls.get() + 1);
            (answer("m"), keep)
        };
        a.get_or_maybe("9.9.9.9", || kept(false));
        a.get_or_maybe("9.9.9.9", || kept(true));
        a.get_or_maybe("9.9.9.9", || kept(true));
        assert_eq!(calls.get(), 7);
    }
}
