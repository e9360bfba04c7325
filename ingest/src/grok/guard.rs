//! Look-ahead guards for large optional groups.
//!
//! The backtracker enters an optional group first (`(X)?` is greedy) and, when nothing after it
//! can follow, explores every way `X` matches before it gives up and skips the group. For a
//! small `X` that is cheap, and [`firstbytes`](super::firstbytes) already rejects a group that
//! cannot read the next byte. The hub's nginx pattern starts with
//! `(%{IPORHOST:target_fqdn}(:%{INT:port})? )?%{IPORHOST:remote_addr} - ...`: on an ordinary
//! access line the group matches the client address, then `remote_addr` cannot read the `-`
//! that follows, and the search walks all of `IPORHOST`'s ways through the address (IPv4,
//! hostname labels and their back-offs) before skipping the group: 40% of that pattern's cost.
//!
//! A guard answers, before the group is entered at a position, whether the pattern can still
//! match from there with the group taken: a lazy DFA of the whole NFA, started at the group,
//! reads at most [`LOOKAHEAD`] bytes and says no only when it dies. It dies exactly when no
//! path from the group's first state at that position matches (a match ending earlier is seen
//! as a match state first), so skipping the group then changes no result, only the work. A
//! guard that is still alive after the look-ahead, or that cannot decide (a cache full, a byte
//! its DFA quits on), lets the group be entered as before.
//!
//! Only greedy optional groups of at least [`MIN_GROUP`] states get a guard
//! ([`is_large_optional`]).

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::{self, State, Transition, NFA};
use regex_automata::util::pool::Pool;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

/// How many bytes a guard reads at most before it lets the group be entered.
pub(crate) const LOOKAHEAD: usize = 48;

/// The smallest group (in NFA states) worth a guard; smaller ones fail fast enough.
pub(crate) const MIN_GROUP: usize = 64;

type CachePool = Pool<Cache, Box<dyn Fn() -> Cache + Send + Sync>>;

/// The guard of one optional group.
pub(crate) struct Guard {
    dfa: DFA,
    caches: CachePool,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

impl Guard {
    /// The guard of the group that starts at `group` in `nfa`; `None` if the NFA cannot be
    /// rebuilt from there or its DFA cannot be built (then the group has no guard).
    pub(crate) fn new(nfa: &NFA, group: StateID) -> Option<Guard> {
        let from_group = restart(nfa, group)?;
        let config = DFA::config()
            .unicode_word_boundary(true)
            .skip_cache_capacity_check(true);
        let dfa = DFA::builder()
            .configure(config)
            .build_from_nfa(from_group)
            .ok()?;
        let for_caches = dfa.clone();
        let caches: CachePool = Pool::new(Box::new(move || for_caches.create_cache()));
        Some(Guard { dfa, caches })
    }

    /// Whether the pattern may still match from the group at `at`, reading `haystack[at..end]`
    /// (false only when it certainly cannot).
    pub(crate) fn allows(&self, haystack: &[u8], at: usize, end: usize) -> bool {
        let mut cache = self.caches.get();
        let look_behind = at.checked_sub(1).and_then(|i| haystack.get(i).copied());
        let config = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(look_behind);
        let Ok(mut sid) = self.dfa.start_state(&mut cache, &config) else {
            return true;
        };
        let stop = end.min(at.saturating_add(LOOKAHEAD)).min(haystack.len());
        for &byte in haystack.get(at..stop).unwrap_or_default() {
            if sid.is_tagged() {
                if sid.is_dead() {
                    return false;
                }
                if sid.is_match() || sid.is_quit() {
                    return true;
                }
            }
            sid = match self.dfa.next_state(&mut cache, sid, byte) {
                Ok(next) => next,
                Err(_) => return true,
            };
        }
        !sid.is_dead()
    }
}

/// Whether the binary union at `union` (`alt1` preferred) is a greedy optional group of at
/// least [`MIN_GROUP`] states. The compiler lays out `X?` as the union, then the states of
/// `X`, then what follows (`alt2`), and ids keep that order: so every state that `alt1`
/// reaches without passing `alt2` must lie between the two, which also rules out loops (back
/// to the union), alternations (`X|Y` leads past `Y`'s first state) and lazy `X??`.
pub(crate) fn is_large_optional(nfa: &NFA, union: StateID, alt1: StateID, alt2: StateID) -> bool {
    let (lo, hi) = (alt1.as_usize(), alt2.as_usize());
    if union.as_usize() >= lo || hi < lo + MIN_GROUP {
        return false;
    }
    let states = nfa.states();
    let mut seen = vec![false; hi - lo];
    let mut stack = vec![alt1];
    while let Some(sid) = stack.pop() {
        if sid == alt2 {
            continue;
        }
        let Some(was) = sid.as_usize().checked_sub(lo).and_then(|i| seen.get_mut(i)) else {
            return false;
        };
        if std::mem::replace(was, true) {
            continue;
        }
        match &states[sid.as_usize()] {
            State::ByteRange { trans } => stack.push(trans.next),
            State::Sparse(sparse) => stack.extend(sparse.transitions.iter().map(|t| t.next)),
            State::Dense(dense) => stack.extend(
                dense
                    .transitions
                    .iter()
                    .copied()
                    .filter(|&n| n != StateID::ZERO),
            ),
            State::Look { next, .. } | State::Capture { next, .. } => stack.push(*next),
            State::Union { alternates } => stack.extend(alternates.iter().copied()),
            State::BinaryUnion { alt1, alt2 } => stack.extend([*alt1, *alt2]),
            State::Fail => {}
            State::Match { .. } => return false,
        }
    }
    seen.iter().filter(|&&s| s).count() >= MIN_GROUP
}

/// `nfa` with the same states (same ids) but started at `start`, anchored. Capture states stay
/// (a DFA ignores them) without their names.
fn restart(nfa: &NFA, start: StateID) -> Option<NFA> {
    if nfa.pattern_len() != 1 || nfa.is_reverse() {
        return None;
    }
    let mut b = thompson::Builder::new();
    b.set_utf8(nfa.is_utf8());
    b.set_look_matcher(nfa.look_matcher().clone());
    b.start_pattern().ok()?;
    for (i, state) in nfa.states().iter().enumerate() {
        let added = match state {
            State::ByteRange { trans } => b.add_range(*trans),
            State::Sparse(sparse) => b.add_sparse(sparse.transitions.to_vec()),
            State::Dense(dense) => b.add_sparse(dense_ranges(&dense.transitions)),
            State::Look { look, next } => b.add_look(*next, *look),
            State::Union { alternates } => b.add_union(alternates.to_vec()),
            State::BinaryUnion { alt1, alt2 } => b.add_union(vec![*alt1, *alt2]),
            State::Capture {
                next,
                group_index,
                slot,
                ..
            } => {
                let group = group_index.as_u32();
                if slot.as_usize() % 2 == 0 {
                    b.add_capture_start(*next, group, None)
                } else {
                    b.add_capture_end(*next, group)
                }
            }
            State::Fail => b.add_fail(),
            State::Match { .. } => b.add_match(),
        }
        .ok()?;
        // Each state must keep its id for the transitions to stay right.
        if added.as_usize() != i {
            return None;
        }
    }
    b.finish_pattern(start).ok()?;
    b.build(start, start).ok()
}

/// The transitions of a dense state (`to[byte]`, 0 for none) as sorted ranges.
fn dense_ranges(to: &[StateID]) -> Vec<Transition> {
    let mut ranges: Vec<Transition> = Vec::new();
    for (byte, &next) in to.iter().enumerate() {
        if next == StateID::ZERO {
            continue;
        }
        let Ok(byte) = u8::try_from(byte) else {
            break;
        };
        match ranges.last_mut() {
            Some(last) if last.next == next && usize::from(last.end) + 1 == usize::from(byte) => {
                last.end = byte;
            }
            _ => ranges.push(Transition {
                start: byte,
                end: byte,
                next,
            }),
        }
    }
    ranges
}
