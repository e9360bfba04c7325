//! Capture extraction.
//!
//! [`Grok::captures`](super::Grok::captures) runs the capture engine here on the whole input:
//! from its start when the pattern is anchored (`^%{SYSLOGLINE}`), else from each start in turn
//! with one memo ([`CaptureEngine::captures_leftmost`]); the first match it reaches is the
//! leftmost-first one. A pattern that often fails instead first finds the match span with the
//! `meta` regex (lazy DFA forward, then backward for the start), and the engine resolves the
//! capture groups on that span only, anchored. The backtracker keeps a memo of the
//! `(state, position)` pairs already explored, `states × (span + 1)` bits.
//!
//! `regex-automata`'s bounded backtracker zeroes its whole memo before every search. That is
//! cheap for small NFAs, but grok expansions can be huge (the hub's sshd patterns reach 26,000
//! states; `IPORHOST` alone brings the whole IPv6 alternation), and then the clearing costs far
//! more than the search: 13 of the 15 µs of an sshd message, where the `meta` regex even falls
//! back to its slower PikeVM because the memo is over its budget. So [`Backtracker`]'s memo is
//! split into blocks that carry the generation (search number) that last wrote them: a block
//! of an older generation counts as zeros and is cleared when first touched, so a search costs
//! what it explores, not the size of the NFA. (Small NFAs used `regex-automata`'s, whose steps
//! are a little cheaper, until the DFA passes were skipped: then this one cost 3% fewer
//! instructions per nginx line, the same on sshd.)
//!
//! Both explore in the NFA's priority order (the first alternate of a union first, the preferred
//! branch of a binary union first), which is leftmost-first (RE2, Perl) semantics: the first
//! match state reached gives the captures, exactly as the `meta` regex gives them (tested against
//! it on every built-in pattern). The search is anchored at the span's start and never reads
//! past its end.
//!
//! [`Backtracker`] takes greedy loops over a class ([`classloop`](super::classloop): `.*`,
//! `[^"]*`, `\S+`…) in one step: it consumes the whole run with a table lookup per byte, marks
//! the loop's union visited at every iteration end at once (a few words of the memo), and leaves
//! one frame that backs off one iteration at a time, only as far as the rest of the pattern
//! needs. A lazy loop (`.*?` of `DATA`) leaves one frame that goes forward an iteration at a
//! time, straight to the next position where what follows the loop can read the next byte.
//! That explores the same `(state, position)` pairs in the same order as stepping through the
//! loop's states would (less those that fail without reading), so the captures are the same.
//!
//! A greedy bounded repetition of a one-byte class (`[0-9A-Fa-f]{1,4}`, `[0-9A-Za-z-]{0,62}`)
//! is taken the same way: up to its bound in one step, then one frame that leaves for what
//! follows at each end, the longest first.
//!
//! It also skips the alternatives that cannot go on with the next byte
//! ([`firstbytes`](super::firstbytes)), which would fail anyway: the wide alternations of grok
//! (`IPORHOST` tries IPv6 first) then cost a table lookup per branch instead of a walk. An
//! alternative that starts with a bounded class run (seven of `IPV6`'s eight start with
//! `[0-9A-Fa-f]{1,4}:`) is skipped as well when nothing can follow the run at any of its ends.
//!
//! A large optional group (the hub nginx pattern's `(%{IPORHOST:target_fqdn}(:%{INT:port})? )?`)
//! is entered only if its [`guard`](super::guard), a lazy DFA of the pattern started at the
//! group, does not die within a few dozen bytes: otherwise the group would match and then fail
//! on what follows in every way it can match before the search skips it.

use super::classloop::{self, ClassLoop, LEAD, ONE};
use super::firstbytes::FirstBytes;
use super::guard::{self, Guard};
use regex_automata::nfa::thompson::{State, NFA};
use regex_automata::util::primitives::{NonMaxUsize, StateID};
use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

/// Above this many memo bits (`states × (span + 1)`, 4 MiB) the caller falls back to the
/// `meta` regex (which then uses its PikeVM, whose memory does not grow with the span).
const MAX_VISITED_BITS: usize = 32 << 20;

/// The capture engine of one compiled pattern.
#[derive(Clone, Debug)]
pub(crate) struct CaptureEngine(Backtracker);

impl CaptureEngine {
    pub(crate) fn new(nfa: NFA) -> Self {
        CaptureEngine(Backtracker::new(nfa))
    }

    /// The number of class loops the search takes in one step.
    #[cfg(test)]
    pub(crate) fn class_loops(&self) -> usize {
        self.0.loops.len()
    }

    /// The number of optional groups with a look-ahead guard.
    #[cfg(test)]
    pub(crate) fn guards(&self) -> usize {
        self.0.guards.len()
    }

    fn nfa(&self) -> &NFA {
        &self.0.nfa
    }

    /// The number of capture slots the search writes (two per group, group 0 included).
    pub(crate) fn slot_len(&self) -> usize {
        self.nfa().group_info().slot_len()
    }

    /// Whether a search over `span_len` bytes fits the memo bound.
    pub(crate) fn fits(&self, span_len: usize) -> bool {
        span_len
            .checked_add(1)
            .and_then(|n| n.checked_mul(self.nfa().states().len()))
            .is_some_and(|bits| bits <= MAX_VISITED_BITS)
    }

    /// Searches `haystack[span]` anchored at `span.start` and fills `slots`; whether it matched.
    /// The caller checks [`fits`](Self::fits) first.
    pub(crate) fn captures(
        &self,
        haystack: &[u8],
        span: Range<usize>,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        self.0.captures(haystack, span, slots, false)
    }

    /// The leftmost-first match in `haystack[span]`, unanchored: as [`captures`](Self::captures)
    /// at each start from `span.start` on, up to the first that matches, sharing one memo (a
    /// `(state, position)` that failed from one start fails from the next).
    pub(crate) fn captures_leftmost(
        &self,
        haystack: &[u8],
        span: Range<usize>,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        self.0.captures(haystack, span, slots, true)
    }
}

/// A backtracker whose memo is cleared lazily.
///
/// Only join states (states with more than one way in: two or more incoming transitions, or
/// the start state with one) have a row in the memo. A state with a single predecessor is
/// explored at a position at most as often as that predecessor is at the position before it
/// (or the same one, for an epsilon transition), so memoizing the join states alone already
/// explores every `(state, position)` at most once, in the same order, with the same result;
/// and the memo is smaller and touched less often (a `.*` loop memoizes its union, not the
/// byte class it loops through).
#[derive(Clone, Debug)]
pub(crate) struct Backtracker {
    nfa: NFA,
    /// Each state of the NFA with what the search needs about it, in one place (one lookup
    /// per step).
    ops: Arc<[Op]>,
    /// The number of memo rows.
    joins: usize,
    loops: Arc<[ClassLoop]>,
    first: Arc<FirstBytes>,
    guards: Arc<[Guard]>,
}

/// The memo row of a state that is not memoized.
const NO_ROW: u32 = u32::MAX;

/// A state of the NFA as the search reads it.
#[derive(Clone, Debug)]
struct Op {
    state: State,
    /// Its memo row, `NO_ROW` for states that are not joins.
    row: u32,
    /// The index of the class loop at it in `loops`, or [`classloop::NO_LOOP`].
    lp: u32,
    /// For a state that reads one byte of a class into the first union of a bounded chain
    /// (`[0-9A-Fa-f]{1,4}` starts so), that chain's index in `loops`, else `NO_LOOP`: the state
    /// can then only go on if the chain can be left somewhere, which
    /// [`viable_alternative`](Search::viable_alternative) checks before a frame is pushed.
    chain_next: u32,
    /// For a binary union that opens a large optional group, the index of the group's
    /// [`Guard`] in `guards`, else `NO_GUARD`.
    guard: u32,
}

/// The guard index of a state without a guard.
const NO_GUARD: u32 = u32::MAX;

impl Backtracker {
    fn new(nfa: NFA) -> Self {
        // The number of states each state is reached from (a class state with several ranges
        // to one next state is one way in: its ranges are disjoint, so it reaches that state
        // at most once from a given position).
        let mut incoming = vec![0u8; nfa.states().len()];
        let mut add = |sid: StateID| {
            let n = &mut incoming[sid.as_usize()];
            *n = n.saturating_add(1);
        };
        let distinct = |nexts: &mut Vec<StateID>| {
            nexts.sort_unstable();
            nexts.dedup();
            std::mem::take(nexts)
        };
        let mut nexts = Vec::new();
        add(nfa.start_anchored());
        for state in nfa.states() {
            match state {
                State::ByteRange { trans } => add(trans.next),
                State::Sparse(sparse) => {
                    nexts.extend(sparse.transitions.iter().map(|t| t.next));
                    distinct(&mut nexts).into_iter().for_each(&mut add);
                }
                State::Dense(dense) => {
                    // A transition to state 0 is no transition.
                    nexts.extend(dense.transitions.iter().filter(|n| **n != StateID::ZERO));
                    distinct(&mut nexts).into_iter().for_each(&mut add);
                }
                State::Look { next, .. } | State::Capture { next, .. } => add(*next),
                State::Union { alternates } => alternates.iter().for_each(|&sid| add(sid)),
                State::BinaryUnion { alt1, alt2 } => {
                    add(*alt1);
                    add(*alt2);
                }
                State::Fail | State::Match { .. } => {}
            }
        }
        let mut joins = 0u32;
        let (loop_at, loops) = classloop::find(&nfa, &|sid: StateID| {
            incoming.get(sid.as_usize()) == Some(&1)
        });
        let mut ops = nfa
            .states()
            .iter()
            .zip(incoming)
            .zip(loop_at)
            .map(|((state, n), lp)| Op {
                state: state.clone(),
                row: if n > 1 {
                    joins += 1;
                    joins - 1
                } else {
                    NO_ROW
                },
                lp,
                chain_next: classloop::NO_LOOP,
                guard: NO_GUARD,
            })
            .collect::<Vec<Op>>();
        let mut guards = Vec::new();
        for (i, op) in ops.iter_mut().enumerate() {
            let State::BinaryUnion { alt1, alt2 } = op.state else {
                continue;
            };
            let union = StateID::new(i).unwrap_or(StateID::ZERO);
            if op.lp != classloop::NO_LOOP || !guard::is_large_optional(&nfa, union, alt1, alt2) {
                continue;
            }
            if let Some(g) = Guard::new(&nfa, alt1) {
                op.guard = guards.len() as u32;
                guards.push(g);
            }
        }
        for i in 0..ops.len() {
            let next_chain = classloop::one_byte_class(&ops[i].state)
                .and_then(|(_, next)| ops.get(next.as_usize()))
                .map(|next| next.lp)
                .filter(|&lp| loops.get(lp as usize).is_some_and(ClassLoop::bounded));
            if let Some(lp) = next_chain {
                ops[i].chain_next = lp;
            }
        }
        let ops: Arc<[Op]> = ops.into();
        let first = Arc::new(FirstBytes::new(&nfa));
        Backtracker {
            first,
            nfa,
            ops,
            joins: joins as usize,
            loops: loops.into(),
            guards: guards.into(),
        }
    }
}

/// One pending piece of work of the depth-first search.
#[derive(Clone, Copy)]
enum Frame {
    /// Explore `sid` at haystack offset `at`.
    Explore { sid: StateID, at: usize },
    /// Undo a capture write when the search backs out of it.
    Restore {
        slot: usize,
        offset: Option<NonMaxUsize>,
    },
    /// Go once more through the lazy class loop `lp` at `union` from `at`, then leave it.
    Forward { lp: u32, union: StateID, at: usize },
    /// Leave a class loop for `exit` at `hi`, then at each earlier iteration end down to `lo`.
    Back {
        exit: StateID,
        utf8: bool,
        lo: usize,
        hi: usize,
    },
}

/// The memo is cleared lazily by blocks of this many bits (one cache line of words).
const BLOCK_BITS: usize = 512;

/// Scratch space, one per thread, shared by every pattern: the search stack and the memo.
///
/// A block of the memo is valid only if its generation is the current search's; otherwise it
/// counts as zeros and is cleared on first use. So a search clears nothing up front: it takes
/// a new generation.
#[derive(Default)]
struct Scratch {
    stack: Vec<Frame>,
    visited: Vec<Block>,
    /// The generation of the current search (never 0, the generation of fresh blocks).
    generation: u64,
}

/// A block of the memo and the generation (search) that last wrote it.
#[derive(Clone, Copy, Default)]
struct Block {
    generation: u64,
    words: [u64; BLOCK_BITS / 64],
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Backtracker {
    /// Searches `haystack[span]` anchored at `span.start` (or, `unanchored`, at each start in
    /// turn up to the first that matches) and fills `slots`; whether it matched.
    fn captures(
        &self,
        haystack: &[u8],
        span: Range<usize>,
        slots: &mut [Option<NonMaxUsize>],
        unanchored: bool,
    ) -> bool {
        slots.fill(None);
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let scratch = &mut *scratch;
            let blocks = ((span.len() + 1) * self.joins).div_ceil(BLOCK_BITS);
            if scratch.visited.len() < blocks {
                scratch.visited.resize(blocks, Block::default());
            }
            scratch.generation += 1;
            scratch.stack.clear();
            let begin = self.nfa.start_anchored();
            scratch.stack.push(Frame::Explore {
                sid: begin,
                at: span.start,
            });
            let mut search = Search {
                nfa: &self.nfa,
                states: self.nfa.states(),
                ops: &self.ops,
                loops: &self.loops,
                first: &self.first,
                guards: &self.guards,
                haystack,
                span: &haystack[..span.end],
                start: span.start,
                end: span.end,
                stride: span.len() + 1,
                generation: scratch.generation,
                stack: &mut scratch.stack,
                visited: &mut scratch.visited,
            };
            if search.run(slots) {
                return true;
            }
            if !unanchored {
                return false;
            }
            // Every (state, position) explored so far failed, and stays marked: the next
            // starts only explore what is new. Starts where the pattern cannot read on are
            // skipped.
            let mut at = span.start;
            while at < span.end {
                at += 1;
                if search.viable(begin, at) {
                    search.stack.push(Frame::Explore { sid: begin, at });
                    if search.run(slots) {
                        return true;
                    }
                }
            }
            false
        })
    }
}

struct Search<'a> {
    nfa: &'a NFA,
    /// `nfa.states()`, read once.
    states: &'a [State],
    ops: &'a [Op],
    loops: &'a [ClassLoop],
    first: &'a FirstBytes,
    guards: &'a [Guard],
    haystack: &'a [u8],
    /// `haystack[..end]`: what the search may read.
    span: &'a [u8],
    start: usize,
    end: usize,
    stride: usize,
    /// The scratch space's parts, borrowed apart (one indirection less per step).
    generation: u64,
    stack: &'a mut Vec<Frame>,
    visited: &'a mut [Block],
}

impl Search<'_> {
    /// Marks `(sid, at)` explored; false if it already was. States that are not joins are
    /// not memoized (always true).
    #[inline(always)]
    fn first_visit(&mut self, sid: StateID, at: usize) -> bool {
        let row = self.ops.get(sid.as_usize()).map_or(NO_ROW, |op| op.row);
        self.first_visit_row(row, at)
    }

    /// [`first_visit`](Self::first_visit) of the state whose memo row is `row`.
    #[inline(always)]
    fn first_visit_row(&mut self, row: u32, at: usize) -> bool {
        if row == NO_ROW {
            return true;
        }
        let bit = row as usize * self.stride + (at - self.start);
        let Some(words) = self.block(bit / BLOCK_BITS) else {
            return false;
        };
        let (word, mask) = (
            &mut words[(bit / 64) % (BLOCK_BITS / 64)],
            1u64 << (bit % 64),
        );
        if *word & mask != 0 {
            return false;
        }
        *word |= mask;
        true
    }

    /// Whether exploring `sid` at `at` can get past `at` (else it fails).
    #[inline(always)]
    fn viable(&self, sid: StateID, at: usize) -> bool {
        self.first.viable(sid, self.haystack, at, self.end)
    }

    /// The words of memo block `block`, cleared first if an older search wrote them.
    #[inline(always)]
    fn block(&mut self, block: usize) -> Option<&mut [u64; BLOCK_BITS / 64]> {
        let generation = self.generation;
        let block = self.visited.get_mut(block)?;
        if block.generation != generation {
            block.generation = generation;
            block.words = [0; BLOCK_BITS / 64];
        }
        Some(&mut block.words)
    }

    /// Marks `(sid, from..=to)` explored, in order, up to the first position that already was;
    /// the last position marked (`from - 1` if none). As [`first_visit`](Self::first_visit) on
    /// each position, a word at a time.
    fn mark_run(&mut self, sid: StateID, from: usize, to: usize) -> usize {
        let row = self.ops.get(sid.as_usize()).map_or(NO_ROW, |op| op.row);
        if row == NO_ROW {
            return to;
        }
        let base = row as usize * self.stride;
        let mut at = from;
        while at <= to {
            let bit = base + (at - self.start);
            let Some(words) = self.block(bit / BLOCK_BITS) else {
                return at - 1;
            };
            let shift = bit % 64;
            let n = (64 - shift).min(to - at + 1);
            let mask = (u64::MAX >> (64 - n)) << shift;
            let word = &mut words[(bit / 64) % (BLOCK_BITS / 64)];
            let seen = *word & mask;
            if seen != 0 {
                let first = seen.trailing_zeros() as usize;
                *word |= mask & ((1u64 << first) - 1);
                return at + (first - shift) - 1;
            }
            *word |= mask;
            at += n;
        }
        to
    }

    /// The lazy class loop `lp` at `union`, left at `from`: goes through the body as many times
    /// as it takes to reach an iteration end where leaving can get anywhere ([`viable`]), marking
    /// the union visited at each; that end, with the frame to go on from it pushed, or `None`
    /// when the body no longer matches or reaches an end already explored. Iteration ends where
    /// leaving is not viable would fail at once, so skipping them changes nothing.
    ///
    /// [`viable`]: Self::viable
    fn lazy_step(&mut self, lp: u32, union: StateID, from: usize) -> Option<usize> {
        let l = self.loops.get(lp as usize)?;
        let haystack = &self.haystack[..self.end];
        let mut at = from;
        loop {
            let next = match l.first[usize::from(*haystack.get(at)?)] {
                ONE => at + 1,
                LEAD => classloop::step(self.states, l.body, haystack, at, self.end)?,
                _ => return None,
            };
            if !self.first_visit(union, next) {
                return None;
            }
            at = next;
            if self.viable(l.exit, at) {
                self.stack.push(Frame::Forward { lp, union, at });
                return Some(at);
            }
        }
    }

    /// At `union`, visited at `from`, the class loop `lp`: consumes the longest run of
    /// iterations whose ends are not yet explored, marks them, and pushes the frame that
    /// leaves the loop at each of them, the last first.
    fn run_loop(&mut self, lp: u32, union: StateID, from: usize) {
        let Some(lp) = self.loops.get(lp as usize) else {
            return;
        };
        let haystack = &self.haystack[..self.end];
        let mut hi = from;
        loop {
            let ones = haystack[hi..]
                .iter()
                .position(|&b| lp.first[usize::from(b)] != ONE)
                .unwrap_or(haystack.len() - hi);
            if ones > 0 {
                let marked = self.mark_run(union, hi + 1, hi + ones);
                let complete = marked == hi + ones;
                hi = marked;
                if !complete {
                    break;
                }
            }
            if haystack
                .get(hi)
                .is_some_and(|&b| lp.first[usize::from(b)] == LEAD)
            {
                match classloop::step(self.states, lp.body, haystack, hi, self.end) {
                    Some(next) if self.first_visit(union, next) => {
                        hi = next;
                        continue;
                    }
                    _ => {}
                }
            }
            break;
        }
        self.stack.push(Frame::Back {
            exit: lp.exit,
            utf8: lp.utf8,
            lo: from,
            hi,
        });
    }

    /// At the first union of the bounded chain `chain`, at `from`: consumes up to `max` bytes
    /// of its class and pushes the frame that leaves it for its exit at each end, the last
    /// first. The first union was marked on entry; the others have one way in each, so no
    /// memo rows: nothing is marked here.
    fn run_chain(&mut self, chain: &ClassLoop, from: usize) {
        let run = self.chain_run(chain, from);
        self.stack.push(Frame::Back {
            exit: chain.exit,
            utf8: false,
            lo: from,
            hi: from + run,
        });
    }

    /// The last iteration end from `hi` down to `lo` where leaving for `exit` can read on, if
    /// any. The others would each fail at once: passing over them here saves a frame each.
    #[inline(always)]
    fn viable_end(&self, exit: StateID, utf8: bool, lo: usize, mut hi: usize) -> Option<usize> {
        while !self.viable(exit, hi) {
            if hi <= lo {
                return None;
            }
            hi = self.previous_end(hi, lo, utf8);
        }
        Some(hi)
    }

    /// [`viable`](Self::viable) for an alternative about to be pushed, looking further when it
    /// starts with one byte of a class and a bounded chain of it (the hex groups that start
    /// seven of the eight `IPV6` alternatives): whether the chain can then be left at one of its
    /// ends. An IPv4 address then rejects those alternatives here, without exploring them.
    #[inline(always)]
    fn viable_alternative(&self, sid: StateID, at: usize) -> bool {
        if !self.viable(sid, at) {
            return false;
        }
        let Some(chain) = self
            .ops
            .get(sid.as_usize())
            .and_then(|op| self.loops.get(op.chain_next as usize))
        else {
            return true;
        };
        let from = at + 1;
        let run = self.chain_run(chain, from);
        self.viable_end(chain.exit, false, from, from + run)
            .is_some()
    }

    /// Whether the optional group whose guard is `guard` may be entered at `at` (always, for a
    /// group without a guard).
    #[inline(always)]
    fn guard_allows(&self, guard: u32, at: usize) -> bool {
        self.guards
            .get(guard as usize)
            .is_none_or(|g| g.allows(self.haystack, at, self.end))
    }

    /// How many bytes of the bounded chain's class follow `from`, up to its bound.
    #[inline(always)]
    fn chain_run(&self, chain: &ClassLoop, from: usize) -> usize {
        let limit = self.end.min(from.saturating_add(chain.max));
        self.haystack[from.min(limit)..limit]
            .iter()
            .take_while(|&&b| chain.first[usize::from(b)] == ONE)
            .count()
    }

    /// The iteration end before `hi` (`hi > lo`) of a loop entered at `lo`: one byte back, or
    /// back to the first byte of the character for a loop over UTF-8 characters.
    #[inline(always)]
    fn previous_end(&self, hi: usize, lo: usize, utf8: bool) -> usize {
        let mut prev = hi - 1;
        if utf8 {
            // Back over the continuation bytes to the character's first byte.
            while prev > lo && self.haystack[prev] & 0xC0 == 0x80 {
                prev -= 1;
            }
        }
        prev
    }

    fn run(&mut self, slots: &mut [Option<NonMaxUsize>]) -> bool {
        while let Some(frame) = self.stack.pop() {
            // Every frame that is not a capture restore ends in one exploration, made at a
            // single call site so that `explore` is inlined here (no call per frame).
            let (sid, at) = match frame {
                Frame::Explore { sid, at } => (sid, at),
                Frame::Restore { slot, offset } => {
                    slots[slot] = offset;
                    continue;
                }
                Frame::Back { exit, utf8, lo, hi } => {
                    let Some(hi) = self.viable_end(exit, utf8, lo, hi) else {
                        continue;
                    };
                    if hi > lo {
                        let prev = self.previous_end(hi, lo, utf8);
                        self.stack.push(Frame::Back {
                            exit,
                            utf8,
                            lo,
                            hi: prev,
                        });
                    }
                    (exit, hi)
                }
                Frame::Forward { lp, union, at } => {
                    let Some(at) = self.lazy_step(lp, union, at) else {
                        continue;
                    };
                    let Some(l) = self.loops.get(lp as usize) else {
                        continue;
                    };
                    (l.exit, at)
                }
            };
            if self.explore(sid, at, slots) {
                return true;
            }
        }
        false
    }

    /// Follows the preferred path from `(sid, at)`, pushing the alternatives; true on a match.
    #[inline(always)]
    fn explore(
        &mut self,
        mut sid: StateID,
        mut at: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        let nfa = self.nfa;
        let ops = self.ops;
        loop {
            let Some(op) = ops.get(sid.as_usize()) else {
                return false;
            };
            if !self.first_visit_row(op.row, at) {
                return false;
            }
            match &op.state {
                State::ByteRange { trans } => match self.span.get(at) {
                    Some(&b) if trans.start <= b && b <= trans.end => {
                        sid = trans.next;
                        at += 1;
                    }
                    _ => return false,
                },
                State::Sparse(sparse) => {
                    let Some(next) = self.span.get(at).and_then(|&b| sparse.matches_byte(b)) else {
                        return false;
                    };
                    sid = next;
                    at += 1;
                }
                State::Dense(dense) => {
                    let Some(next) = self.span.get(at).and_then(|&b| dense.matches_byte(b)) else {
                        return false;
                    };
                    sid = next;
                    at += 1;
                }
                State::Look { look, next } => {
                    if !nfa.look_matcher().matches(*look, self.haystack, at) {
                        return false;
                    }
                    sid = *next;
                }
                State::Union { alternates } => {
                    let Some((first, rest)) = alternates.split_first() else {
                        return false;
                    };
                    for &alt in rest.iter().rev() {
                        if self.viable_alternative(alt, at) {
                            self.stack.push(Frame::Explore { sid: alt, at });
                        }
                    }
                    if !self.viable_alternative(*first, at) {
                        return false;
                    }
                    sid = *first;
                }
                State::BinaryUnion { alt1, alt2 } => {
                    let lp = op.lp;
                    if let Some(l) = self.loops.get(lp as usize) {
                        if l.bounded() {
                            self.run_chain(l, at);
                            return false;
                        }
                        if l.greedy {
                            self.run_loop(lp, sid, at);
                            return false;
                        }
                        // Lazy: leave the loop now, come back for one more iteration after.
                        self.stack.push(Frame::Forward { lp, union: sid, at });
                        if !self.viable(l.exit, at) {
                            return false;
                        }
                        sid = l.exit;
                        continue;
                    }
                    if self.viable(*alt2, at) {
                        self.stack.push(Frame::Explore { sid: *alt2, at });
                    }
                    if !self.viable(*alt1, at) || !self.guard_allows(op.guard, at) {
                        return false;
                    }
                    sid = *alt1;
                }
                State::Capture { next, slot, .. } => {
                    let slot = slot.as_usize();
                    if let Some(current) = slots.get_mut(slot) {
                        self.stack.push(Frame::Restore {
                            slot,
                            offset: *current,
                        });
                        *current = NonMaxUsize::new(at);
                    }
                    sid = *next;
                }
                State::Fail => return false,
                State::Match { .. } => return true,
            }
        }
    }
}
