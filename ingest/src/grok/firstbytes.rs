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
//! drops a branch that could match, and the branches left are explored in the same order.

use regex_automata::nfa::thompson::{State, NFA};
use regex_automata::util::primitives::StateID;
use std::collections::HashMap;

/// A set of bytes, and whether a match state is in the closure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Set {
    bytes: [u64; 4],
    matches: bool,
}

impl Set {
    const ALL: Set = Set {
        bytes: [u64::MAX; 4],
        matches: true,
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
    }
}

/// Fixpoint passes before giving up on pruning (epsilon cycles converge in a few).
const MAX_PASSES: usize = 64;

/// How many bytes ahead a state is checked. Four is what an IPv4 address needs to rule out the
/// IPv6 alternation that `IP` and `IPORHOST` try first: every branch that starts with a hex digit
/// reads hex digits or `:` at each of its first four bytes, and the first octet of an IPv4
/// address ends in a `.` within them (`1.`, `45.`, `192.`).
pub(crate) const DEPTH: usize = 4;

/// The bytes every state can read at each of its next [`DEPTH`] positions, deduplicated.
#[derive(Clone, Debug)]
pub(crate) struct FirstBytes {
    /// For state `s`, its set at depth `d` (0 = the next byte) in `sets`: `index[s * DEPTH + d]`.
    index: Box<[u32]>,
    sets: Box<[Set]>,
}

impl FirstBytes {
    pub(crate) fn new(nfa: &NFA) -> Self {
        let states = nfa.states();
        // Depth 0: the byte states' own ranges, and the match states.
        let mut level = vec![Set::default(); states.len()];
        for (set, state) in level.iter_mut().zip(states) {
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
        close(states, &mut level);
        let mut levels = vec![level];
        // Depth d + 1: a byte state reads, at its (d + 1)-th byte, what its successor reads at
        // its d-th; a match state still matches. A match reachable within d bytes makes the
        // set ALL, so no deeper byte is ever held against it.
        for _ in 1..DEPTH {
            let prev = levels.last().expect("depth 0 is computed");
            let mut level: Vec<Set> = states
                .iter()
                .map(|state| match state {
                    State::ByteRange { trans } => prev[trans.next.as_usize()],
                    State::Sparse(sparse) => {
                        let mut set = Set::default();
                        for t in sparse.transitions.iter() {
                            set.union(&prev[t.next.as_usize()]);
                        }
                        set
                    }
                    State::Dense(dense) => {
                        let mut set = Set::default();
                        for next in dense.transitions.iter() {
                            if *next != StateID::ZERO {
                                set.union(&prev[next.as_usize()]);
                            }
                        }
                        set
                    }
                    State::Match { .. } => Set::ALL,
                    _ => Set::default(),
                })
                .collect();
            close(states, &mut level);
            levels.push(level);
        }
        let mut unique: HashMap<Set, u32> = HashMap::new();
        let mut table = Vec::new();
        let mut index = Vec::with_capacity(states.len() * DEPTH);
        for sid in 0..states.len() {
            for level in &levels {
                let set = level[sid];
                index.push(*unique.entry(set).or_insert_with(|| {
                    table.push(set);
                    (table.len() - 1) as u32
                }));
            }
        }
        FirstBytes {
            index: index.into(),
            sets: table.into(),
        }
    }

    /// Whether exploring `sid` at `at` (in a span ending at `end`) can get anywhere: false means
    /// it fails within its next [`DEPTH`] bytes.
    #[inline(always)]
    pub(crate) fn viable(&self, sid: StateID, haystack: &[u8], at: usize, end: usize) -> bool {
        let base = sid.as_usize() * DEPTH;
        let Some(index) = self.index.get(base..base + DEPTH) else {
            return true;
        };
        for (d, &i) in index.iter().enumerate() {
            let Some(set) = self.sets.get(i as usize) else {
                return true;
            };
            if set.matches {
                return true;
            }
            let pos = at + d;
            match haystack.get(pos) {
                Some(&b) if pos < end => {
                    if (set.bytes[usize::from(b >> 6)] >> (b & 63)) & 1 == 0 {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        true
    }
}

/// Epsilon states (looks, captures, unions) take the union of their successors' sets, until
/// nothing changes; if that does not converge, every set becomes ALL (no pruning).
fn close(states: &[State], sets: &mut [Set]) {
    // Successors mostly have higher ids, so a pass in reverse order does most of the work.
    for _ in 0..MAX_PASSES {
        let mut changed = false;
        for i in (0..states.len()).rev() {
            let mut set = sets[i];
            match &states[i] {
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
            return;
        }
    }
    sets.fill(Set::ALL);
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
    }

    #[test]
    fn bytes_further_ahead_rule_out_a_branch() {
        // The IPv6-like branch reads hex digits or `:` at each of its first four bytes.
        let nfa = thompson::NFA::new("[0-9a-f]{1,4}:[0-9a-f]{1,4}:").unwrap();
        let first = FirstBytes::new(&nfa);
        let start = nfa.start_anchored();
        let viable = |s: &str| first.viable(start, s.as_bytes(), 0, s.len());
        for yes in ["45:1", "abcd", "1:2:"] {
            assert!(viable(yes), "{yes}");
        }
        // A `.` at the second, third or fourth byte; a span ending too early.
        for no in ["4.1.", "45.1", "192.", "45"] {
            assert!(!viable(no), "{no}");
        }
        // A match reachable within the depth stops the look-ahead there.
        let nfa = thompson::NFA::new("ab").unwrap();
        let first = FirstBytes::new(&nfa);
        assert!(first.viable(nfa.start_anchored(), b"ab.", 0, 3));
        assert!(!first.viable(nfa.start_anchored(), b"a", 0, 1));
    }
}
