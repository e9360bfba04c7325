//! The bytes an NFA state can go on with, so that the [backtracker](super::backtrack) does not
//! explore alternatives that fail on the next byte.
//!
//! Grok expansions are wide alternations: `IPORHOST` tries the whole IPv6 alternation (dozens of
//! branches, each a nest of groups and unions) before `IPv4` and `HOSTNAME`, and the backtracker
//! walks every branch down to its first byte test before it gives up on `sd-126005`. The *first
//! bytes* of a state are the bytes its epsilon closure (the states reachable through unions,
//! captures and looks without reading) can read. A state whose closure holds no match state
//! fails at a position whose byte is not one of them, and at the end of the span; so an
//! alternative that is not [viable](FirstBytes::viable) is not pushed at all. Looks are passed
//! through (they only ever restrict), which keeps the sets supersets: pruning with them never
//! drops a branch that could match, and the branches left are explored in the same order. The
//! end-of-text assertion is the exception: what is behind it reads nothing and can only match at
//! the end of the haystack, so `(\.[^.]*$|$)` is not viable in the middle of a line unless
//! the next byte is a `.` (a lazy `.*?` before it then goes straight to the next `.`).

use regex_automata::nfa::thompson::{State, NFA};
use regex_automata::util::look::Look;
use regex_automata::util::primitives::StateID;
use std::collections::HashMap;

/// A set of bytes, whether a match state is in the closure, and whether one is behind an
/// end-of-text assertion (`$`, which is `\z` in grok as in Go): a match only at the end of the
/// haystack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Set {
    bytes: [u64; 4],
    matches: bool,
    matches_at_end: bool,
}

impl Set {
    const ALL: Set = Set {
        bytes: [u64::MAX; 4],
        matches: true,
        matches_at_end: true,
    };

    fn add_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.bytes[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }

    fn union(&mut self, other: &Set) {
        for (a, b) in self.bytes.iter_mut().zip(other.bytes) {
            *a |= b;
        }
        self.matches |= other.matches;
        self.matches_at_end |= other.matches_at_end;
    }
}

/// Fixpoint passes before giving up on pruning (epsilon cycles converge in a few).
const MAX_PASSES: usize = 64;

/// The first bytes of every state of an NFA, deduplicated.
#[derive(Clone, Debug)]
pub(crate) struct FirstBytes {
    /// For each state, its set in `sets`.
    index: Box<[u32]>,
    sets: Box<[Set]>,
}

impl FirstBytes {
    pub(crate) fn new(nfa: &NFA) -> Self {
        let states = nfa.states();
        let mut sets = vec![Set::default(); states.len()];
        for (set, state) in sets.iter_mut().zip(states) {
            match state {
                State::ByteRange { trans } => set.add_range(trans.start, trans.end),
                State::Sparse(sparse) => sparse
                    .transitions
                    .iter()
                    .for_each(|t| set.add_range(t.start, t.end)),
                State::Dense(dense) => (0..=255u8)
                    .filter(|&b| dense.matches_byte(b).is_some())
                    .for_each(|b| set.add_range(b, b)),
                State::Match { .. } => *set = Set::ALL,
                _ => {}
            }
        }
        // Epsilon states take the union of their successors' sets, until nothing changes.
        // Successors mostly have higher ids, so a pass in reverse order does most of the work.
        let mut converged = false;
        for _ in 0..MAX_PASSES {
            let mut changed = false;
            for i in (0..states.len()).rev() {
                let mut set = sets[i];
                match &states[i] {
                    // At the end of the haystack nothing is read: what follows can only match.
                    State::Look {
                        look: Look::End,
                        next,
                    } => {
                        let after = &sets[next.as_usize()];
                        set.matches_at_end |= after.matches || after.matches_at_end;
                    }
                    State::Look { next, .. } | State::Capture { next, .. } => {
                        set.union(&sets[next.as_usize()])
                    }
                    State::Union { alternates } => alternates
                        .iter()
                        .for_each(|alt| set.union(&sets[alt.as_usize()])),
                    State::BinaryUnion { alt1, alt2 } => {
                        set.union(&sets[alt1.as_usize()]);
                        set.union(&sets[alt2.as_usize()]);
                    }
                    _ => continue,
                }
                if set != sets[i] {
                    sets[i] = set;
                    changed = true;
                }
            }
            if !changed {
                converged = true;
                break;
            }
        }
        if !converged {
            sets.fill(Set::ALL);
        }
        let mut unique: HashMap<Set, u32> = HashMap::new();
        let mut table = Vec::new();
        let index = sets
            .iter()
            .map(|set| {
                *unique.entry(*set).or_insert_with(|| {
                    table.push(*set);
                    (table.len() - 1) as u32
                })
            })
            .collect();
        FirstBytes {
            index,
            sets: table.into(),
        }
    }

    /// Whether exploring `sid` at `at` (in a span ending at `end`) can get anywhere: false means
    /// it fails without reading a byte.
    #[inline(always)]
    pub(crate) fn viable(&self, sid: StateID, haystack: &[u8], at: usize, end: usize) -> bool {
        let Some(set) = self
            .index
            .get(sid.as_usize())
            .and_then(|&i| self.sets.get(i as usize))
        else {
            return true;
        };
        if set.matches || (set.matches_at_end && at == haystack.len()) {
            return true;
        }
        match haystack.get(at) {
            Some(&b) if at < end => (set.bytes[usize::from(b >> 6)] >> (b & 63)) & 1 != 0,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::nfa::thompson;

    #[test]
    fn grok_first_bytes_of_the_start_state() {
        let nfa = thompson::NFA::new("(?:ab|[0-9]c|(d)?e)").unwrap();
        let first = FirstBytes::new(&nfa);
        let start = nfa.start_anchored();
        let viable = |s: &str| first.viable(start, s.as_bytes(), 0, s.len());
        for yes in ["a", "0", "9", "d", "e"] {
            assert!(viable(yes), "{yes}");
        }
        for no in ["b", "c", "", "x"] {
            assert!(!viable(no), "{no}");
        }
        // A state whose closure can match is always viable, even at the end.
        let nfa = thompson::NFA::new("a*").unwrap();
        let first = FirstBytes::new(&nfa);
        assert!(first.viable(nfa.start_anchored(), b"", 0, 0));
        assert!(first.viable(nfa.start_anchored(), b"x", 0, 1));
        // Behind `$` (`\z`), a match only at the end of the haystack, not of the span.
        let nfa = thompson::NFA::new(r"(?:\.[^.]*$|$)").unwrap();
        let first = FirstBytes::new(&nfa);
        let viable = |s: &str, at: usize, end: usize| {
            first.viable(nfa.start_anchored(), s.as_bytes(), at, end)
        };
        assert!(viable("a.b", 1, 3));
        assert!(viable("ab", 2, 2));
        assert!(!viable("ab", 1, 2));
        assert!(!viable("ab", 1, 1));
        assert!(!viable("ab", 0, 2));
    }
}
