//! Loops over a character class (`.*`, `[^"]*`, `\S+`, `\d+`…, and the lazy `.*?` of `DATA`) in
//! a Thompson NFA, found once per pattern so that the [backtracker](super::backtrack) can consume
//! their runs in a tight loop instead of stepping through the NFA a byte at a time.
//!
//! Such a loop is a binary union `U` with the class (its *body*) on one branch and the exit on
//! the other: `U → body → U | exit`, the body preferred for a greedy loop, the exit for a lazy
//! one. The body is a small deterministic byte
//! automaton that consumes one element of the class and comes back to `U`. Two shapes qualify:
//!
//! * every transition of the body's first state goes straight back to `U`: each iteration is one
//!   byte (byte classes, and Unicode classes restricted to ASCII);
//! * the body consumes one UTF-8 encoded character per iteration: ASCII bytes go straight back
//!   to `U`, a lead byte (`C0`–`F7`, all of one encoded length in a transition) is followed by
//!   exactly the continuation bytes (`80`–`BF`) of its length. Iteration ends are then the
//!   positions that do not hold a continuation byte, which is how the backtracker steps back.
//!
//! Loops of any other shape (alternations, bodies with captures or looks) are left to the
//! generic search.
//!
//! A greedy bounded repetition of a one-byte class (`[0-9A-Za-z-]{0,62}` of `HOSTNAME`, the
//! `{1,4}` hex digits of `IPV6`) compiles to a chain instead: `U₁ → S₁ → U₂ → S₂ → … → exit`,
//! each `Uₖ` a binary union preferring its class state `Sₖ` over the shared exit, each `Sₖ` the
//! same class. That is a [`ClassLoop`] too, with a bound ([`ClassLoop::max`]): the backtracker
//! consumes up to `max` bytes of the class and leaves for the exit at each end, longest first,
//! which is the order the chain's unions would try them in.

use regex_automata::nfa::thompson::{State, NFA};
use regex_automata::util::primitives::StateID;

/// No class loop starts at this state.
pub(crate) const NO_LOOP: u32 = u32::MAX;

/// What the first byte of an iteration does, in [`ClassLoop::first`].
pub(crate) const STOP: u8 = 0;
/// The byte alone is one iteration: back to the union after it.
pub(crate) const ONE: u8 = 1;
/// The byte starts a multi-byte character: walk the body to find where the iteration ends.
pub(crate) const LEAD: u8 = 2;

/// A loop over a class.
#[derive(Clone, Debug)]
pub(crate) struct ClassLoop {
    /// The first state of the body.
    pub body: StateID,
    /// The union's other branch.
    pub exit: StateID,
    /// Whether the body is preferred to the exit (`*`, `+`), else the exit is (`*?`, `+?`).
    pub greedy: bool,
    /// For each byte at the start of an iteration: [`STOP`], [`ONE`] or [`LEAD`].
    pub first: Box<[u8; 256]>,
    /// Whether an iteration is one UTF-8 character (else one byte).
    pub utf8: bool,
    /// The most iterations: `usize::MAX` for a loop, the chain's length for a bounded
    /// repetition (one byte each, greedy; its unions are not memoized).
    pub max: usize,
}

impl ClassLoop {
    /// Whether this is a bounded chain rather than a loop.
    pub(crate) fn bounded(&self) -> bool {
        self.max != usize::MAX
    }
}

/// The byte transitions of a state that consumes a byte, `None` for other states.
fn transitions(state: &State) -> Option<Vec<(u8, u8, StateID)>> {
    match state {
        State::ByteRange { trans } => Some(vec![(trans.start, trans.end, trans.next)]),
        State::Sparse(sparse) => Some(
            sparse
                .transitions
                .iter()
                .map(|t| (t.start, t.end, t.next))
                .collect(),
        ),
        State::Dense(dense) => Some(
            (0..=255u8)
                .filter_map(|b| dense.matches_byte(b).map(|next| (b, b, next)))
                .collect(),
        ),
        _ => None,
    }
}

/// The length of the UTF-8 encoding that starts with `lead`, for lead bytes only.
fn utf8_len(lead: u8) -> Option<usize> {
    match lead {
        0xC0..=0xDF => Some(2),
        0xE0..=0xEF => Some(3),
        0xF0..=0xF7 => Some(4),
        _ => None,
    }
}

/// Whether every path from `sid` reads exactly `remaining` continuation bytes and then reaches
/// `union`.
fn continuations_reach(states: &[State], sid: StateID, remaining: usize, union: StateID) -> bool {
    if remaining == 0 {
        return sid == union;
    }
    let Some(trans) = states.get(sid.as_usize()).and_then(transitions) else {
        return false;
    };
    !trans.is_empty()
        && trans.iter().all(|&(lo, hi, next)| {
            (0x80..=0xBF).contains(&lo)
                && (0x80..=0xBF).contains(&hi)
                && continuations_reach(states, next, remaining - 1, union)
        })
}

/// The class loop at `union`, if it is one.
///
/// The body may have other ways in (`x+` enters it before the union): the backtracker does not
/// memoize the body's states within a run, which changes nothing, since reaching the body at a
/// position always leads to the union at the next iteration end, which is memoized.
fn class_loop(states: &[State], union: StateID) -> Option<ClassLoop> {
    let State::BinaryUnion { alt1, alt2 } = states.get(union.as_usize())? else {
        return None;
    };
    shaped(states, union, *alt1, *alt2, true).or_else(|| shaped(states, union, *alt2, *alt1, false))
}

/// The class loop at `union` with `body` and `exit`, if the body has the shape of one.
fn shaped(
    states: &[State],
    union: StateID,
    body: StateID,
    exit: StateID,
    greedy: bool,
) -> Option<ClassLoop> {
    if body == union {
        return None;
    }
    let trans = transitions(states.get(body.as_usize())?)?;
    let utf8 = trans.iter().any(|&(_, _, next)| next != union);
    let mut first = Box::new([STOP; 256]);
    for &(lo, hi, next) in &trans {
        let kind = if next == union {
            if utf8 && hi >= 0x80 {
                return None;
            }
            ONE
        } else {
            let len = utf8_len(lo)?;
            if utf8_len(hi) != Some(len) || !continuations_reach(states, next, len - 1, union) {
                return None;
            }
            LEAD
        };
        first[usize::from(lo)..=usize::from(hi)].fill(kind);
    }
    Some(ClassLoop {
        body,
        exit,
        greedy,
        first,
        utf8,
        max: usize::MAX,
    })
}

/// The one-byte class of a state whose every transition goes to the same next state: the
/// byte ranges and that state.
pub(crate) fn one_byte_class(state: &State) -> Option<(Vec<(u8, u8)>, StateID)> {
    let trans = transitions(state)?;
    let next = trans.first()?.2;
    trans
        .iter()
        .all(|t| t.2 == next)
        .then(|| (trans.iter().map(|t| (t.0, t.1)).collect(), next))
}

/// The bounded chain at `union`, if it starts one: `union` prefers a one-byte class state over
/// an exit, the class leads to the exit or to another such union with the same class and exit
/// (and no other way in), and so on. `single_entry` tells the states with one way in.
fn bounded_chain(
    states: &[State],
    union: StateID,
    single_entry: &dyn Fn(StateID) -> bool,
) -> Option<ClassLoop> {
    let State::BinaryUnion { alt1, alt2 } = states.get(union.as_usize())? else {
        return None;
    };
    let (exit, (class, mut next)) = (*alt2, one_byte_class(states.get(alt1.as_usize())?)?);
    if exit == union || next == union {
        return None;
    }
    let mut max = 1;
    while next != exit {
        let Some(State::BinaryUnion { alt1, alt2 }) = states.get(next.as_usize()) else {
            return None;
        };
        if *alt2 != exit || !single_entry(next) || !single_entry(*alt1) {
            return None;
        }
        let (more, after) = one_byte_class(states.get(alt1.as_usize())?)?;
        if more != class {
            return None;
        }
        max += 1;
        next = after;
    }
    let mut first = Box::new([STOP; 256]);
    for (lo, hi) in class {
        first[usize::from(lo)..=usize::from(hi)].fill(ONE);
    }
    Some(ClassLoop {
        body: *alt1,
        exit,
        greedy: true,
        first,
        utf8: false,
        max,
    })
}

/// Every class loop and bounded chain of `nfa`: for each state, the index of its loop in the
/// returned list, or [`NO_LOOP`]. `single_entry` tells the states with one way in.
pub(crate) fn find(
    nfa: &NFA,
    single_entry: &dyn Fn(StateID) -> bool,
) -> (Box<[u32]>, Box<[ClassLoop]>) {
    let states = nfa.states();
    let mut loops = Vec::new();
    let index = (0..states.len())
        .map(|i| {
            let Ok(sid) = StateID::new(i) else {
                return NO_LOOP;
            };
            match class_loop(states, sid).or_else(|| bounded_chain(states, sid, single_entry)) {
                Some(found) => {
                    loops.push(found);
                    (loops.len() - 1) as u32
                }
                None => NO_LOOP,
            }
        })
        .collect();
    (index, loops.into())
}

/// Where one iteration of the body starting at `at` ends, if it matches within `end`.
#[inline]
pub(crate) fn step(
    states: &[State],
    body: StateID,
    haystack: &[u8],
    at: usize,
    end: usize,
) -> Option<usize> {
    let (mut sid, mut at) = (body, at);
    // The body's states have been checked to only consume bytes; at most 4 of them.
    for _ in 0..4 {
        if at >= end {
            return None;
        }
        sid = match states.get(sid.as_usize())? {
            State::ByteRange { trans } => trans.matches(haystack, at).then_some(trans.next)?,
            State::Sparse(sparse) => sparse.matches(haystack, at)?,
            State::Dense(dense) => dense.matches(haystack, at)?,
            _ => return None,
        };
        at += 1;
        if !matches!(
            states.get(sid.as_usize()),
            Some(State::ByteRange { .. } | State::Sparse(_) | State::Dense(_))
        ) {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::nfa::thompson;

    fn loops_of(pattern: &str) -> Vec<(bool, usize, usize)> {
        greedy_loops_of(pattern)
            .into_iter()
            .map(|(_, shape)| shape)
            .collect()
    }

    fn greedy_loops_of(pattern: &str) -> Vec<(bool, (bool, usize, usize))> {
        let nfa = thompson::NFA::new(pattern).unwrap();
        let (_, loops) = find(&nfa, &|_| true);
        loops
            .iter()
            .map(|l| {
                let ones = l.first.iter().filter(|&&k| k == ONE).count();
                let leads = l.first.iter().filter(|&&k| k == LEAD).count();
                (l.greedy, (l.utf8, ones, leads))
            })
            // The unanchored start's `(?s-u:.)*?`, a lazy loop over every byte.
            .filter(|&shape| shape != (false, (false, 256, 0)))
            .collect()
    }

    /// The bound and class size of each bounded chain of `pattern`.
    fn chains_of(pattern: &str) -> Vec<(usize, usize)> {
        let nfa = thompson::NFA::new(pattern).unwrap();
        let (_, loops) = find(&nfa, &|_| true);
        let mut chains: Vec<_> = loops
            .iter()
            .filter(|l| l.bounded())
            .map(|l| (l.max, l.first.iter().filter(|&&k| k == ONE).count()))
            .collect();
        chains.sort();
        chains
    }

    #[test]
    fn bounded_repetitions_of_a_byte_class_are_chains() {
        // Each union of the chain starts one, with what is left of the bound.
        assert_eq!(
            chains_of("[0-9A-Fa-f]{1,4}:"),
            vec![(1, 22), (2, 22), (3, 22)]
        );
        assert_eq!(chains_of("a{0,2}b"), vec![(1, 1), (2, 1)]);
        // Not chains: lazy, over an alternation, a multi-byte class, unbounded.
        assert!(chains_of("a{0,3}?b").is_empty());
        assert!(chains_of("(?:ab){0,3}c").is_empty());
        assert!(chains_of("é{0,3}").is_empty());
        assert!(chains_of("a{2,}").is_empty());
    }

    #[test]
    fn grok_class_loops_are_recognised() {
        // `.` in Unicode mode: every ASCII byte but `\n`, and the UTF-8 lead bytes.
        assert_eq!(loops_of(".*"), vec![(true, 127, 0xF4 - 0xC2 + 1)]);
        assert_eq!(loops_of("[0-9]+"), vec![(false, 10, 0)]);
        assert_eq!(loops_of(".+").len(), 1);
        assert_eq!(loops_of(r"[\x00-\x7F]*"), vec![(false, 128, 0)]);
        assert_eq!(loops_of("[^\"]*").len(), 1);
        assert!(loops_of(r"\p{L}*")[0].0);
        assert!(greedy_loops_of("[0-9]+")[0].0);
        // Lazy loops too, with the exit preferred.
        assert_eq!(
            greedy_loops_of(".*?"),
            vec![(false, (true, 127, 0xF4 - 0xC2 + 1))]
        );
        assert_eq!(greedy_loops_of("[a-z]+?"), vec![(false, (false, 26, 0))]);
        // Loops over alternations are not class loops.
        assert!(loops_of("(?:ab)*").is_empty());
        assert!(loops_of("(?:ab)*?").is_empty());
    }
}
