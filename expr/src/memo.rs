//! Results of pure expressions of one event field, remembered per thread.
//!
//! Many hub expressions are functions of a single field of the event: the geoip-enrich filter
//! of `evt.Meta.source_ip` (an `IsIPV6` and seven `IpInRange`), http-logs'
//! `Upper(evt.Parsed.file_ext) in [...]` and `evt.Meta.http_status in [...] ? ... : ...`,
//! `len(evt.Parsed.http_args)`. A log repeats those values line after line (one client's
//! address, a few extensions and statuses), so such a program keeps its last results by input
//! in a small per-thread table and answers a repeated input without evaluating.
//!
//! [`Memo::of`] accepts a program only when nothing but that field can change its result: it
//! writes nothing, reads no other part of the event and no variable, and calls only helpers
//! that depend on their arguments alone (string and IP functions; not `TimeNow`, the stash, data
//! files or logging), and only when it is big enough for a lookup to be cheaper than
//! evaluating ([`MIN_NODES`]). The key is the field's value, or its absence (`"k" in evt.Meta` sees the
//! difference between a missing key and an empty one). Errors are never remembered. Each
//! program has its own id, so results never mix between programs; inputs longer than
//! [`MAX_INPUT`] are not remembered.

use crate::event::{self, EvtPath, MapField};
use crate::ir::{Node, NodeKind};
use crate::parser::BinOp;
use crate::value::{ConstVal, Value};
use palisade_schemas::Event;
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots per thread, shared by every memoized program.
const SLOTS: usize = 1024;

/// The longest field value remembered.
pub(crate) const MAX_INPUT: usize = 64;

/// Helpers whose result depends on their arguments alone.
const PURE_HELPERS: &[&str] = &[
    "Upper",
    "Lower",
    "IpInRange",
    "IsIP",
    "IsIPV4",
    "IsIPV6",
    "len",
    "Atof",
    "ToString",
    "Trim",
    "TrimLeft",
    "TrimRight",
    "TrimSpace",
    "TrimPrefix",
    "TrimSuffix",
    "basename",
];

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The memo of one program: the field it reads.
#[derive(Debug)]
pub(crate) struct Memo {
    id: u64,
    field: MapField,
    key: Box<str>,
}

struct Slot {
    id: u64,
    input: Option<Box<str>>,
    out: Value<'static>,
}

thread_local! {
    static SLOTS_OF_THREAD: RefCell<Vec<Option<Slot>>> = const { RefCell::new(Vec::new()) };
}

/// Programs smaller than this many nodes evaluate about as fast as a memo lookup.
const MIN_NODES: usize = 5;

/// The one field a pure expression reads, while walking it, and the nodes walked.
#[derive(Default)]
struct Reads<'n> {
    field: Option<(MapField, &'n str)>,
    nodes: usize,
}

impl<'n> Reads<'n> {
    /// Records a read of `(f, key)`; false if the expression already read another field.
    fn field(&mut self, f: MapField, key: &'n str) -> bool {
        match self.field {
            None => {
                self.field = Some((f, key));
                true
            }
            Some((g, k)) => g == f && k == key,
        }
    }

    /// Whether `n` depends on nothing but the one field (and its locals).
    fn pure(&mut self, n: &'n Node) -> bool {
        self.nodes += 1;
        match &n.kind {
            NodeKind::Const(_) | NodeKind::Local(_) => true,
            NodeKind::EvtMapKey(f, key) | NodeKind::MapKeyEq(f, key, ..) => self.field(*f, key),
            // `'k' in evt.Meta`: whether that very key is there.
            NodeKind::Binary(BinOp::In | BinOp::NotIn, l, r) => match (&l.kind, &r.kind) {
                (NodeKind::Const(ConstVal::Str(key)), NodeKind::Evt(EvtPath::Map(f))) => {
                    self.field(*f, key)
                }
                _ => self.pure(l) && self.pure(r),
            },
            NodeKind::Binary(_, l, r) | NodeKind::Coalesce(l, r) | NodeKind::Let(_, l, r) => {
                self.pure(l) && self.pure(r)
            }
            NodeKind::Not(a) | NodeKind::Neg(a) | NodeKind::Plus(a) => self.pure(a),
            NodeKind::And(items) | NodeKind::Or(items) | NodeKind::Array(items) => {
                items.iter().all(|i| self.pure(i))
            }
            NodeKind::Cond(a, b, c) => self.pure(a) && self.pure(b) && self.pure(c),
            NodeKind::InStrs(a, ..)
            | NodeKind::MatchesConst(a, ..)
            | NodeKind::IpInRangeConst(a, ..) => self.pure(a),
            NodeKind::Call(spec, args) => {
                PURE_HELPERS.contains(&spec.name) && args.iter().all(|a| self.pure(a))
            }
            _ => false,
        }
    }
}

impl Memo {
    /// The memo of a program whose result depends on one event field alone, else `None`.
    pub(crate) fn of(root: &Node, mutates: bool) -> Option<Memo> {
        if mutates {
            return None;
        }
        let mut reads = Reads::default();
        if !reads.pure(root) || reads.nodes < MIN_NODES {
            return None;
        }
        let (field, key) = reads.field?;
        Some(Memo {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            field,
            key: key.into(),
        })
    }

    /// The field's value in `e` (`None`: absent).
    pub(crate) fn input<'e>(&self, e: &'e Event) -> Option<&'e str> {
        event::map_lookup(e, self.field, &self.key)
    }

    fn slot(&self, input: Option<&str>) -> usize {
        (foldhash::fast::FixedState::with_seed(0).hash_one((self.id, input)) as usize) % SLOTS
    }

    /// Whether `v` is a value worth remembering (not a collection).
    fn scalar(v: &Value<'_>) -> bool {
        matches!(
            v,
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_)
        )
    }

    /// The remembered result for `input`.
    pub(crate) fn get(&self, input: Option<&str>) -> Option<Value<'static>> {
        if input.is_some_and(|i| i.len() > MAX_INPUT) {
            return None;
        }
        let slot = self.slot(input);
        SLOTS_OF_THREAD.with(|s| {
            s.borrow()
                .get(slot)
                .and_then(Option::as_ref)
                .filter(|s| s.id == self.id && s.input.as_deref() == input)
                .map(|s| s.out.clone())
        })
    }

    /// Remembers `out` as the result for `input`.
    pub(crate) fn put(&self, input: Option<&str>, out: Value<'static>) {
        if input.is_some_and(|i| i.len() > MAX_INPUT) || !Self::scalar(&out) {
            return;
        }
        let slot = self.slot(input);
        SLOTS_OF_THREAD.with(|s| {
            let mut slots = s.borrow_mut();
            if slots.len() < SLOTS {
                slots.resize_with(SLOTS, || None);
            }
            slots[slot] = Some(Slot {
                id: self.id,
                input: input.map(Box::from),
                out,
            });
        });
    }
}
