//! The compiled form the evaluator walks: the syntax tree with names resolved (event fields to
//! [`EvtPath`]s, `let` and closure variables to stack slots, functions to table entries),
//! constants folded, literal regexes compiled, `x in ['a', 'b']` turned into a string-set test,
//! `File('name')` bound to the loaded lines, constant CIDRs of `IpInRange` parsed (and the
//! ranges of one field's `IpInRange(x, 'a') || IpInRange(x, 'b')` tested in one node).

use crate::event::{EvtMethod, EvtPath, MapField};
use crate::helpers::FuncSpec;
use crate::parser::BinOp;
use crate::value::ConstVal;
use regex::Regex;
use std::net::IpAddr;
use std::sync::Arc;

/// A compiled node and the byte offset it came from (for run-time error positions).
#[derive(Debug)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub pos: u32,
}

/// The predicate builtins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pred {
    All,
    None,
    Any,
    One,
    Filter,
    Map,
    Count,
    Sum,
    Find,
    FindIndex,
    FindLast,
    FindLastIndex,
}

impl Pred {
    pub(crate) fn lookup(name: &str) -> Option<Pred> {
        Some(match name {
            "all" => Pred::All,
            "none" => Pred::None,
            "any" => Pred::Any,
            "one" => Pred::One,
            "filter" => Pred::Filter,
            "map" => Pred::Map,
            "count" => Pred::Count,
            "sum" => Pred::Sum,
            "find" => Pred::Find,
            "findIndex" => Pred::FindIndex,
            "findLast" => Pred::FindLast,
            "findLastIndex" => Pred::FindLastIndex,
            _ => return None,
        })
    }

    /// Whether the closure must return a boolean.
    pub(crate) fn wants_bool(self) -> bool {
        !matches!(self, Pred::Map | Pred::Sum)
    }
}

#[derive(Debug)]
pub(crate) enum NodeKind {
    Const(ConstVal),
    /// A field of `evt` or `evt.Line`.
    Evt(EvtPath),
    /// `evt.Meta.key` and the like.
    EvtMapKey(MapField, Box<str>),
    /// `evt` itself.
    EvtWhole,
    EvtMethod(EvtMethod, Vec<Node>),
    /// A variable declared in the context, by declaration index.
    Var(usize),
    /// A `let` or closure variable, by stack slot.
    Local(usize),
    Array(Vec<Node>),
    MapLit(Vec<(Box<str>, Node)>),
    Member(Box<Node>, Box<str>, bool),
    Index(Box<Node>, Box<Node>, bool),
    Slice(Box<Node>, Option<Box<Node>>, Option<Box<Node>>),
    Method(Box<Node>, Box<str>, Vec<Node>, bool),
    Not(Box<Node>),
    Neg(Box<Node>),
    Plus(Box<Node>),
    /// `a && b && c` flattened (no recursion on long chains).
    And(Vec<Node>),
    /// `a || b || c` flattened.
    Or(Vec<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    /// `x matches 'literal'` (negated when the bool is true).
    MatchesConst(Box<Node>, Box<Regex>, bool),
    /// `evt.Meta.k == 'v'` (negated when the bool is true): one lookup, no value built.
    MapKeyEq(MapField, Box<str>, Box<str>, bool),
    /// `x in ['a', 'b']` with only string literals (negated when the bool is true).
    InStrs(Box<Node>, Box<[Box<str>]>, bool),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Coalesce(Box<Node>, Box<Node>),
    /// End of an optional chain: a nil met by `?.` inside makes this nil.
    Chain(Box<Node>),
    Let(usize, Box<Node>, Box<Node>),
    Seq(Vec<Node>),
    Call(&'static FuncSpec, Vec<Node>),
    Predicate {
        kind: Pred,
        coll: Box<Node>,
        body: Box<Node>,
        slot: usize,
    },
    /// `File('name')` resolved at load time.
    FileConst(Arc<Vec<String>>),
    /// `RegexpInFile(x, 'name')` resolved at load time.
    RegexpInFileConst(Box<Node>, Arc<Vec<Regex>>),
    /// `IpInRange(x, 'cidr')` with the CIDR parsed at load time (`None`: invalid, always false);
    /// several ranges when `IpInRange(x, 'a') || IpInRange(x, 'b') || ...` test one field `x`
    /// (read and parsed once): true if any contains it.
    IpInRangeConst(Box<Node>, Box<[Option<(IpAddr, u8)>]>),
    /// A static path into `evt.Unmarshaled`, as the target of `UnmarshalJSON`/`ParseKV`.
    UnmarshalTarget(Vec<Box<str>>),
}

impl Node {
    pub(crate) fn new(kind: NodeKind, pos: usize) -> Node {
        Node {
            kind,
            pos: u32::try_from(pos).unwrap_or(u32::MAX),
        }
    }
}
