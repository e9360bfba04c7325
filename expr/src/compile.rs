//! Load-time work: [`Context`] (which variables exist, the data files, the stash),
//! [`Program::compile`] (parse, resolve, type-check, lower to [`crate::ir`]). Everything CrowdSec
//! rejects when a file loads is rejected here with a line and column: syntax errors, unknown
//! names, fields (`evt.Foo`), methods and functions, wrong arity, type mismatches between known
//! types (`evt.Parsed.x + 1`, `evt.Meta.x == 1`, `Upper(1)`), bad literal regexes.

use crate::error::CompileError;
use crate::event::{self, EvtMethod, EvtPath};
use crate::helpers::files::DataFiles;
use crate::helpers::stash::Stash;
use crate::helpers::{self, Imp, Special};
use crate::ir::{Node, NodeKind, Pred};
use crate::memo::Memo;
use crate::parser::{self, BinOp, Expr, ExprKind, UnOp};
use crate::types::Ty;
use crate::value::ConstVal;
use regex::Regex;
use std::sync::{Arc, Mutex};

/// What an expression may refer to, fixed when it is compiled.
#[derive(Debug, Clone)]
pub struct Context {
    has_event: bool,
    vars: Vec<String>,
    data: Arc<DataFiles>,
    stash: Arc<Stash>,
}

impl Default for Context {
    fn default() -> Self {
        Context::event()
    }
}

impl Context {
    /// The parser/scenario context: `evt` is the typed event.
    pub fn event() -> Self {
        Context {
            has_event: true,
            vars: Vec::new(),
            data: Arc::new(DataFiles::new()),
            stash: Arc::new(Stash::new()),
        }
    }

    /// No `evt` (profiles, `overflow_filter`); declare what exists with [`Context::declare`].
    pub fn without_event() -> Self {
        Context {
            has_event: false,
            ..Context::event()
        }
    }

    /// Declares a variable (`Alert`, `queue`, `leaky`, ...); at run time [`crate::Env::var`]
    /// gets its index, the number of variables declared before it.
    pub fn declare(mut self, name: &str) -> Self {
        self.vars.push(name.to_string());
        self
    }

    /// The data files `File()` and `RegexpInFile()` read.
    pub fn with_data_files(mut self, data: Arc<DataFiles>) -> Self {
        self.data = data;
        self
    }

    /// The stash `GetFromStash()`/`SetInStash()` use.
    pub fn with_stash(mut self, stash: Arc<Stash>) -> Self {
        self.stash = stash;
        self
    }

    /// The index of a declared variable.
    pub fn var_index(&self, name: &str) -> Option<usize> {
        self.vars.iter().position(|v| v == name)
    }
}

/// A compiled expression, shareable between threads.
#[derive(Debug)]
pub struct Program {
    pub(crate) source: String,
    pub(crate) root: Node,
    pub(crate) data: Arc<DataFiles>,
    pub(crate) stash: Arc<Stash>,
    pub(crate) max_locals: usize,
    pub(crate) mutates: bool,
    pub(crate) regex_cache: Mutex<Vec<(String, Regex)>>,
    /// For a pure expression of one event field, its remembered results.
    pub(crate) memo: Option<Memo>,
}

impl Program {
    /// Parses and checks `source` against `ctx`.
    pub fn compile(source: &str, ctx: &Context) -> Result<Program, CompileError> {
        let ast = parser::parse(source)?;
        let mut c = Compiler {
            src: source,
            ctx,
            locals: Vec::new(),
            max_locals: 0,
            mutates: false,
        };
        let (root, _) = c.lower(&ast)?;
        let memo = Memo::of(&root, c.mutates);
        Ok(Program {
            source: source.to_string(),
            memo,
            root,
            data: ctx.data.clone(),
            stash: ctx.stash.clone(),
            max_locals: c.max_locals,
            mutates: c.mutates,
            regex_cache: Mutex::new(Vec::new()),
        })
    }

    /// The expression text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the expression may write into the event (`SetMeta`, `UnmarshalJSON`, ...).
    pub fn mutates(&self) -> bool {
        self.mutates
    }

    /// Whether the expression depends on one event field alone, and so remembers its results
    /// by that field's value ([`crate::memo`]).
    pub fn is_memoized(&self) -> bool {
        self.memo.is_some()
    }

    /// The same program evaluated every time, never from remembered results (the reference the
    /// memo is tested against).
    pub fn without_memo(mut self) -> Program {
        self.memo = None;
        self
    }
}

struct Compiler<'s> {
    src: &'s str,
    ctx: &'s Context,
    /// let/closure variables: name and type, index = stack slot
    locals: Vec<(String, Ty)>,
    max_locals: usize,
    mutates: bool,
}

type Lowered = (Node, Ty);

fn boxed(n: Node) -> Box<Node> {
    Box::new(n)
}

fn const_of(n: &Node) -> Option<&ConstVal> {
    match &n.kind {
        NodeKind::Const(c) => Some(c),
        _ => None,
    }
}

const TIME_METHODS: &[&str] = &[
    "Year",
    "Month",
    "Day",
    "Hour",
    "Minute",
    "Second",
    "Nanosecond",
    "YearDay",
    "Weekday",
    "Unix",
    "UnixMilli",
    "UnixMicro",
    "UnixNano",
    "UTC",
    "Local",
    "IsZero",
    "String",
    "Format",
    "Add",
    "Sub",
    "Before",
    "After",
    "Equal",
    "AddDate",
    "Truncate",
];
const DURATION_METHODS: &[&str] = &[
    "Hours",
    "Minutes",
    "Seconds",
    "Milliseconds",
    "Microseconds",
    "Nanoseconds",
    "String",
    "Abs",
];

fn time_method_ty(name: &str) -> Ty {
    match name {
        "Weekday" => Ty::Weekday,
        "String" | "Format" => Ty::Str,
        "UTC" | "Local" | "Add" | "AddDate" | "Truncate" => Ty::Time,
        "Sub" => Ty::Duration,
        "Before" | "After" | "Equal" | "IsZero" => Ty::Bool,
        _ => Ty::Int,
    }
}

impl Compiler<'_> {
    fn err(&self, pos: usize, msg: impl Into<String>) -> CompileError {
        CompileError::at(self.src, pos, msg)
    }

    fn push_local(&mut self, name: &str, ty: Ty) -> usize {
        self.locals.push((name.to_string(), ty));
        self.max_locals = self.max_locals.max(self.locals.len());
        self.locals.len() - 1
    }

    fn lower(&mut self, e: &Expr) -> Result<Lowered, CompileError> {
        let pos = e.pos;
        let n = |kind| Node::new(kind, pos);
        Ok(match &e.kind {
            ExprKind::Nil => (n(NodeKind::Const(ConstVal::Nil)), Ty::Nil),
            ExprKind::Bool(b) => (n(NodeKind::Const(ConstVal::Bool(*b))), Ty::Bool),
            ExprKind::Int(i) => (n(NodeKind::Const(ConstVal::Int(*i))), Ty::Int),
            ExprKind::Float(f) => (n(NodeKind::Const(ConstVal::Float(*f))), Ty::Float),
            ExprKind::Str(s) => (
                n(NodeKind::Const(ConstVal::Str(s.as_str().into()))),
                Ty::Str,
            ),
            ExprKind::Ident(name) => self.ident(name, pos)?,
            ExprKind::Pointer(name) => {
                let key = format!("#{name}");
                match self.locals.iter().rposition(|(n, _)| *n == key) {
                    Some(slot) => (n(NodeKind::Local(slot)), self.locals[slot].1),
                    None => return Err(self.err(pos, format!("unknown pointer #{name}"))),
                }
            }
            ExprKind::Array(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                let mut all_str = true;
                for it in items {
                    let (node, ty) = self.lower(it)?;
                    all_str &= ty == Ty::Str;
                    nodes.push(node);
                }
                let ty = if all_str && !nodes.is_empty() {
                    Ty::StrArray
                } else {
                    Ty::Array
                };
                if nodes.iter().all(|x| const_of(x).is_some()) {
                    let consts: Vec<ConstVal> =
                        nodes.iter().filter_map(|x| const_of(x).cloned()).collect();
                    (n(NodeKind::Const(ConstVal::List(consts.into()))), ty)
                } else {
                    (n(NodeKind::Array(nodes)), ty)
                }
            }
            ExprKind::Map(items) => {
                let mut nodes: Vec<(Box<str>, Node)> = Vec::with_capacity(items.len());
                for (k, v) in items {
                    let (node, _) = self.lower(v)?;
                    nodes.push((k.as_str().into(), node));
                }
                if nodes.iter().all(|(_, x)| const_of(x).is_some()) {
                    let consts: Vec<(Box<str>, ConstVal)> = nodes
                        .iter()
                        .rev()
                        .filter_map(|(k, x)| const_of(x).map(|c| (k.clone(), c.clone())))
                        .collect();
                    // last duplicate wins: keep the first seen from the end
                    let mut dedup: Vec<(Box<str>, ConstVal)> = Vec::new();
                    for (k, c) in consts {
                        if !dedup.iter().any(|(d, _)| *d == k) {
                            dedup.push((k, c));
                        }
                    }
                    dedup.reverse();
                    (n(NodeKind::Const(ConstVal::Map(dedup.into()))), Ty::AnyMap)
                } else {
                    (n(NodeKind::MapLit(nodes)), Ty::AnyMap)
                }
            }
            ExprKind::Member {
                obj,
                name,
                optional,
            } => {
                let (o, ty) = self.lower(obj)?;
                self.member(o, ty, name, *optional, pos)?
            }
            ExprKind::Index {
                obj,
                index,
                optional,
            } => {
                let (o, oty) = self.lower(obj)?;
                let (i, ity) = self.lower(index)?;
                // constant string keys on evt maps become direct lookups
                if let (NodeKind::Evt(EvtPath::Map(f)), Some(ConstVal::Str(k))) =
                    (&o.kind, const_of(&i))
                {
                    return Ok((n(NodeKind::EvtMapKey(*f, k.clone())), Ty::Str));
                }
                if let (NodeKind::EvtWhole | NodeKind::Evt(EvtPath::Line), Some(ConstVal::Str(k))) =
                    (&o.kind, const_of(&i))
                {
                    let k = k.to_string();
                    return self.member(o, oty, &k, *optional, pos);
                }
                let ty = match oty {
                    Ty::StrArray => Ty::Str,
                    Ty::StrMap => Ty::Str,
                    Ty::Str => Ty::Int,
                    Ty::Array
                    | Ty::AnyMap
                    | Ty::Unknown
                    | Ty::Object
                    | Ty::Event
                    | Ty::Line
                    | Ty::Nil => Ty::Unknown,
                    other => {
                        return Err(self.err(pos, format!("cannot use [] on type {}", other.name())))
                    }
                };
                if (oty.is_array() || oty == Ty::Str) && !(ity.is_number() || ity.is_unknown()) {
                    return Err(self.err(
                        index.pos,
                        format!(
                            "array elements can only be selected using an integer (got {})",
                            ity.name()
                        ),
                    ));
                }
                if oty.is_map() && !(ity == Ty::Str || ity.is_unknown() || ity == Ty::Nil) {
                    return Err(self.err(
                        index.pos,
                        format!(
                            "cannot use {} to get an element from {}",
                            ity.name(),
                            oty.name()
                        ),
                    ));
                }
                (n(NodeKind::Index(boxed(o), boxed(i), *optional)), ty)
            }
            ExprKind::Slice { obj, from, to } => {
                let (o, ty) = self.lower(obj)?;
                if !(ty.is_array() || ty == Ty::Str || ty.is_unknown()) {
                    return Err(self.err(pos, format!("cannot slice {}", ty.name())));
                }
                let mut bound = |b: &Option<Box<Expr>>| -> Result<Option<Box<Node>>, CompileError> {
                    match b {
                        None => Ok(None),
                        Some(b) => {
                            let (node, bty) = self.lower(b)?;
                            if !(bty.is_number() || bty.is_unknown()) {
                                return Err(self.err(
                                    b.pos,
                                    format!("non-integer slice index {}", bty.name()),
                                ));
                            }
                            Ok(Some(boxed(node)))
                        }
                    }
                };
                let f = bound(from)?;
                let t = bound(to)?;
                (
                    n(NodeKind::Slice(boxed(o), f, t)),
                    if ty == Ty::Str { Ty::Str } else { ty },
                )
            }
            ExprKind::MethodCall {
                obj,
                name,
                args,
                optional,
            } => {
                let (o, ty) = self.lower(obj)?;
                let mut lowered = Vec::with_capacity(args.len());
                let mut tys = Vec::with_capacity(args.len());
                for a in args {
                    let (node, t) = self.lower(a)?;
                    lowered.push(node);
                    tys.push(t);
                }
                if matches!(o.kind, NodeKind::EvtWhole) {
                    let m = EvtMethod::lookup(name).ok_or_else(|| {
                        self.err(pos, format!("type *pipeline.Event has no method {name}"))
                    })?;
                    self.check_arity(name, m.arity(), m.arity(), args.len(), pos)?;
                    for (i, t) in tys.iter().enumerate() {
                        if !t.assignable_to(Ty::Str) {
                            return Err(self.err(
                                args[i].pos,
                                format!(
                                    "cannot use {} as argument (type string) to call {name}",
                                    t.name()
                                ),
                            ));
                        }
                    }
                    self.mutates |= m.mutates();
                    return Ok((n(NodeKind::EvtMethod(m, lowered)), m.ret()));
                }
                let ret =
                    match ty {
                        Ty::Time => {
                            if !TIME_METHODS.contains(&name.as_str()) {
                                return Err(
                                    self.err(pos, format!("type time.Time has no method {name}"))
                                );
                            }
                            time_method_ty(name)
                        }
                        Ty::Duration => {
                            if !DURATION_METHODS.contains(&name.as_str()) {
                                return Err(self
                                    .err(pos, format!("type time.Duration has no method {name}")));
                            }
                            match name.as_str() {
                                "String" => Ty::Str,
                                "Abs" => Ty::Duration,
                                "Hours" | "Minutes" | "Seconds" => Ty::Float,
                                _ => Ty::Int,
                            }
                        }
                        Ty::Weekday => {
                            if name != "String" {
                                return Err(self
                                    .err(pos, format!("type time.Weekday has no method {name}")));
                            }
                            Ty::Str
                        }
                        Ty::Unknown | Ty::Object | Ty::Event | Ty::Line => Ty::Unknown,
                        other => {
                            return Err(self
                                .err(pos, format!("type {} has no method {name}", other.name())))
                        }
                    };
                (
                    n(NodeKind::Method(
                        boxed(o),
                        name.as_str().into(),
                        lowered,
                        *optional,
                    )),
                    ret,
                )
            }
            ExprKind::Call { name, args } => self.call(name, args, pos)?,
            ExprKind::Closure(_) => return Err(self.err(pos, "unexpected predicate")),
            ExprKind::Unary { op, expr } => {
                let (x, ty) = self.lower(expr)?;
                match op {
                    UnOp::Not => {
                        if !(ty == Ty::Bool || ty.is_unknown()) {
                            return Err(self.err(
                                pos,
                                format!("invalid operation: ! (mismatched type {})", ty.name()),
                            ));
                        }
                        if let Some(ConstVal::Bool(b)) = const_of(&x) {
                            return Ok((n(NodeKind::Const(ConstVal::Bool(!b))), Ty::Bool));
                        }
                        (n(NodeKind::Not(boxed(x))), Ty::Bool)
                    }
                    UnOp::Neg | UnOp::Plus => {
                        if !(ty.is_number() || ty == Ty::Duration || ty.is_unknown()) {
                            let sym = if *op == UnOp::Neg { "-" } else { "+" };
                            return Err(self.err(
                                pos,
                                format!("invalid operation: {sym} (mismatched type {})", ty.name()),
                            ));
                        }
                        let kind = if *op == UnOp::Neg {
                            NodeKind::Neg(boxed(x))
                        } else {
                            NodeKind::Plus(boxed(x))
                        };
                        (n(kind), ty)
                    }
                }
            }
            ExprKind::Binary {
                op: op @ (BinOp::Or | BinOp::And),
                ..
            } => self.logic_chain(*op, e)?,
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right, pos)?,
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                let (c, cty) = self.lower(cond)?;
                if !(cty == Ty::Bool || cty.is_unknown()) {
                    return Err(self.err(
                        cond.pos,
                        format!(
                            "non-bool expression (type {}) used as condition",
                            cty.name()
                        ),
                    ));
                }
                let (a, aty) = self.lower(then)?;
                let (b, bty) = self.lower(otherwise)?;
                let ty = if aty == bty { aty } else { Ty::Unknown };
                (n(NodeKind::Cond(boxed(c), boxed(a), boxed(b))), ty)
            }
            ExprKind::Let { name, value, body } => {
                let (v, vty) = self.lower(value)?;
                let slot = self.push_local(name, vty);
                let r = self.lower(body);
                self.locals.truncate(slot);
                let (b, bty) = r?;
                (n(NodeKind::Let(slot, boxed(v), boxed(b))), bty)
            }
            ExprKind::Seq(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                let mut ty = Ty::Unknown;
                for it in items {
                    let (node, t) = self.lower(it)?;
                    nodes.push(node);
                    ty = t;
                }
                (n(NodeKind::Seq(nodes)), ty)
            }
            ExprKind::Chain(inner) => {
                let (x, ty) = self.lower(inner)?;
                (n(NodeKind::Chain(boxed(x))), ty)
            }
        })
    }

    fn ident(&mut self, name: &str, pos: usize) -> Result<Lowered, CompileError> {
        if let Some(slot) = self.locals.iter().rposition(|(n, _)| n == name) {
            return Ok((Node::new(NodeKind::Local(slot), pos), self.locals[slot].1));
        }
        if name == "evt" && self.ctx.has_event {
            return Ok((Node::new(NodeKind::EvtWhole, pos), Ty::Event));
        }
        if let Some(i) = self.ctx.var_index(name) {
            return Ok((Node::new(NodeKind::Var(i), pos), Ty::Unknown));
        }
        if helpers::lookup(name).is_some() || Pred::lookup(name).is_some() {
            return Err(self.err(pos, format!("function {name} must be called")));
        }
        Err(self.err(pos, format!("unknown name {name}")))
    }

    fn member(
        &mut self,
        o: Node,
        ty: Ty,
        name: &str,
        optional: bool,
        pos: usize,
    ) -> Result<Lowered, CompileError> {
        let n = |kind| Node::new(kind, pos);
        match &o.kind {
            NodeKind::EvtWhole => {
                let p = event::event_member(name).ok_or_else(|| {
                    self.err(pos, format!("type pipeline.Event has no field {name}"))
                })?;
                return Ok((n(NodeKind::Evt(p)), p.ty()));
            }
            NodeKind::Evt(EvtPath::Line) => {
                let p = event::line_member(name)
                    .ok_or_else(|| self.err(pos, format!("type types.Line has no field {name}")))?;
                return Ok((n(NodeKind::Evt(p)), p.ty()));
            }
            NodeKind::Evt(EvtPath::Map(f)) => {
                return Ok((n(NodeKind::EvtMapKey(*f, name.into())), Ty::Str))
            }
            _ => {}
        }
        let rty = match ty {
            Ty::StrMap => Ty::Str,
            Ty::AnyMap | Ty::Unknown | Ty::Object | Ty::Nil => Ty::Unknown,
            Ty::Event => event::event_member(name)
                .map(EvtPath::ty)
                .ok_or_else(|| self.err(pos, format!("type pipeline.Event has no field {name}")))?,
            Ty::Line => event::line_member(name)
                .map(EvtPath::ty)
                .ok_or_else(|| self.err(pos, format!("type types.Line has no field {name}")))?,
            other => {
                return Err(self.err(pos, format!("type {} has no field {name}", other.name())))
            }
        };
        Ok((n(NodeKind::Member(boxed(o), name.into(), optional)), rty))
    }

    fn check_arity(
        &self,
        name: &str,
        min: usize,
        max: usize,
        got: usize,
        pos: usize,
    ) -> Result<(), CompileError> {
        if got < min {
            return Err(self.err(pos, format!("not enough arguments to call {name}")));
        }
        if got > max {
            return Err(self.err(pos, format!("too many arguments to call {name}")));
        }
        Ok(())
    }

    /// The static path of `evt.Unmarshaled[.k...]`, for mutating helpers' target argument.
    fn unmarshal_target(e: &Expr) -> Option<Vec<Box<str>>> {
        match &e.kind {
            ExprKind::Member {
                obj,
                name,
                optional: false,
            } => {
                if matches!(&obj.kind, ExprKind::Ident(i) if i == "evt") {
                    return (name == "Unmarshaled").then(Vec::new);
                }
                let mut p = Self::unmarshal_target(obj)?;
                p.push(name.as_str().into());
                Some(p)
            }
            ExprKind::Index {
                obj,
                index,
                optional: false,
            } => {
                let ExprKind::Str(k) = &index.kind else {
                    return None;
                };
                if matches!(&obj.kind, ExprKind::Ident(i) if i == "evt") {
                    return (k == "Unmarshaled").then(Vec::new);
                }
                let mut p = Self::unmarshal_target(obj)?;
                p.push(k.as_str().into());
                Some(p)
            }
            _ => None,
        }
    }

    fn call(&mut self, name: &str, args: &[Expr], pos: usize) -> Result<Lowered, CompileError> {
        let n = |kind| Node::new(kind, pos);
        if let Some(pred) = Pred::lookup(name) {
            return self.predicate(pred, name, args, pos);
        }
        let spec =
            helpers::lookup(name).ok_or_else(|| self.err(pos, format!("unknown name {name}")))?;
        let max = if spec.variadic.is_some() {
            usize::MAX
        } else {
            spec.params.len()
        };
        self.check_arity(name, spec.min_args(), max, args.len(), pos)?;
        let special = match spec.imp {
            Imp::Special(s) => Some(s),
            Imp::Pure(_) => None,
        };
        let mut lowered = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let target_arg = i == 1
                && matches!(
                    special,
                    Some(Special::UnmarshalJSON | Special::ParseKV | Special::ParseKVLax)
                )
                && self.ctx.has_event
                && !self.locals.iter().any(|(n, _)| n == "evt");
            if target_arg {
                if let Some(path) = Self::unmarshal_target(a) {
                    lowered.push(Node::new(NodeKind::UnmarshalTarget(path), a.pos));
                    continue;
                }
            }
            let (node, ty) = self.lower(a)?;
            let want = spec.param(i);
            if !ty.assignable_to(want) {
                return Err(self.err(
                    a.pos,
                    format!(
                        "cannot use {} as argument (type {}) to call {name}",
                        ty.name(),
                        want.name()
                    ),
                ));
            }
            lowered.push(node);
        }
        match special {
            Some(Special::UnmarshalJSON | Special::ParseKV | Special::ParseKVLax) => {
                self.mutates = true
            }
            Some(Special::File) => {
                if let Some(ConstVal::Str(file)) = const_of(&lowered[0]) {
                    let lines = self.ctx.data.lines(file).cloned().unwrap_or_default();
                    return Ok((n(NodeKind::FileConst(lines)), Ty::StrArray));
                }
            }
            Some(Special::RegexpInFile) => {
                if let Some(ConstVal::Str(file)) = const_of(&lowered[1]) {
                    let res = self.ctx.data.regexps(file).cloned().unwrap_or_default();
                    let subject = lowered.swap_remove(0);
                    return Ok((
                        n(NodeKind::RegexpInFileConst(boxed(subject), res)),
                        Ty::Bool,
                    ));
                }
            }
            _ => {}
        }
        if spec.name == "IpInRange" {
            if let Some(ConstVal::Str(cidr)) = lowered.get(1).and_then(const_of) {
                let cidr = helpers::ip::parse_cidr(cidr);
                let subject = lowered.swap_remove(0);
                return Ok((
                    n(NodeKind::IpInRangeConst(boxed(subject), Box::new([cidr]))),
                    Ty::Bool,
                ));
            }
        }
        Ok((n(NodeKind::Call(spec, lowered)), spec.ret))
    }

    fn predicate(
        &mut self,
        kind: Pred,
        name: &str,
        args: &[Expr],
        pos: usize,
    ) -> Result<Lowered, CompileError> {
        let n = |k| Node::new(k, pos);
        let (min, max) = if kind == Pred::Sum { (1, 2) } else { (2, 2) };
        self.check_arity(name, min, max, args.len(), pos)?;
        let (coll, cty) = self.lower(&args[0])?;
        if !(cty.is_array() || cty.is_unknown() || cty == Ty::Nil) {
            return Err(self.err(
                args[0].pos,
                format!("builtin {name} takes only array (got {})", cty.name()),
            ));
        }
        let slot = self.push_local("#", cty.elem());
        self.push_local("#index", Ty::Int);
        let body = match args.get(1) {
            Some(Expr {
                kind: ExprKind::Closure(b),
                ..
            }) => self.lower(b),
            Some(other) => Err(self.err(other.pos, format!("{name} expects a predicate"))),
            None => Ok((Node::new(NodeKind::Local(slot), pos), cty.elem())),
        };
        self.locals.truncate(slot);
        let (body, bty) = body?;
        if kind.wants_bool() && !(bty == Ty::Bool || bty.is_unknown()) {
            return Err(self.err(
                args[1].pos,
                format!("predicate should return boolean (got {})", bty.name()),
            ));
        }
        let ty = match kind {
            Pred::All | Pred::None | Pred::Any | Pred::One => Ty::Bool,
            Pred::Filter => cty,
            Pred::Map => Ty::Array,
            Pred::Count | Pred::FindIndex | Pred::FindLastIndex => Ty::Int,
            Pred::Sum => Ty::Unknown,
            Pred::Find | Pred::FindLast => cty.elem(),
        };
        Ok((
            n(NodeKind::Predicate {
                kind,
                coll: boxed(coll),
                body: boxed(body),
                slot,
            }),
            ty,
        ))
    }

    /// `a || b || c` (or `&&`): the left spine is walked in a loop, so chains of thousands of
    /// operands (Sigma rules) need no deep recursion.
    fn logic_chain(&mut self, op: BinOp, e: &Expr) -> Result<Lowered, CompileError> {
        let mut operands: Vec<&Expr> = Vec::new();
        let mut op_pos: Vec<usize> = Vec::new();
        let mut cur = e;
        while let ExprKind::Binary { op: o, left, right } = &cur.kind {
            if *o != op {
                break;
            }
            operands.push(right);
            op_pos.push(cur.pos);
            cur = left;
        }
        operands.push(cur);
        operands.reverse();
        op_pos.reverse();
        let mut nodes = Vec::with_capacity(operands.len());
        for (i, x) in operands.iter().enumerate() {
            let (node, ty) = self.lower(x)?;
            if !(ty == Ty::Bool || ty.is_unknown()) {
                let (l, r) = if i == 0 {
                    (ty, Ty::Bool)
                } else {
                    (Ty::Bool, ty)
                };
                let at = op_pos.get(i.max(1) - 1).copied().unwrap_or(e.pos);
                return Err(self.err(
                    at,
                    format!(
                        "invalid operation: {} (mismatched types {} and {})",
                        op.symbol(),
                        l.name(),
                        r.name()
                    ),
                ));
            }
            nodes.push(node);
        }
        let kind = if op == BinOp::Or {
            NodeKind::Or(fuse_ip_ranges(nodes))
        } else {
            NodeKind::And(nodes)
        };
        Ok((Node::new(kind, e.pos), Ty::Bool))
    }

    fn binary(
        &mut self,
        op: BinOp,
        left: &Expr,
        right: &Expr,
        pos: usize,
    ) -> Result<Lowered, CompileError> {
        use BinOp::*;
        let n = |k| Node::new(k, pos);
        let (l, lt) = self.lower(left)?;
        let (r, rt) = self.lower(right)?;
        let mismatch = |c: &Self| {
            c.err(
                pos,
                format!(
                    "invalid operation: {} (mismatched types {} and {})",
                    op.symbol(),
                    lt.name(),
                    rt.name()
                ),
            )
        };
        let unknown = lt.is_unknown() || rt.is_unknown();
        let ty = match op {
            Or | And => {
                if !((lt == Ty::Bool || lt.is_unknown()) && (rt == Ty::Bool || rt.is_unknown())) {
                    return Err(mismatch(self));
                }
                let kind = if op == Or {
                    NodeKind::Or(vec![l, r])
                } else {
                    NodeKind::And(vec![l, r])
                };
                return Ok((n(kind), Ty::Bool));
            }
            Eq | Ne => {
                if !lt.comparable(rt) {
                    return Err(mismatch(self));
                }
                let fused = match (&l.kind, &r.kind) {
                    (NodeKind::EvtMapKey(f, k), NodeKind::Const(ConstVal::Str(v)))
                    | (NodeKind::Const(ConstVal::Str(v)), NodeKind::EvtMapKey(f, k)) => {
                        Some((*f, k.clone(), v.clone()))
                    }
                    _ => None,
                };
                if let Some((f, k, v)) = fused {
                    return Ok((n(NodeKind::MapKeyEq(f, k, v, op == Ne)), Ty::Bool));
                }
                Ty::Bool
            }
            Lt | Gt | Le | Ge => {
                let ok = unknown
                    || (lt.is_number() && rt.is_number())
                    || (lt == rt && matches!(lt, Ty::Str | Ty::Time | Ty::Duration));
                if !ok {
                    return Err(mismatch(self));
                }
                Ty::Bool
            }
            In | NotIn => {
                let ok = match rt {
                    Ty::StrArray
                    | Ty::Array
                    | Ty::AnyMap
                    | Ty::Unknown
                    | Ty::Object
                    | Ty::Nil
                    | Ty::Event
                    | Ty::Line => true,
                    Ty::StrMap => lt == Ty::Str || lt.is_unknown() || lt == Ty::Nil,
                    _ => false,
                };
                if !ok {
                    return Err(mismatch(self));
                }
                if let Some(ConstVal::List(items)) = const_of(&r) {
                    if !items.is_empty() && items.iter().all(|c| matches!(c, ConstVal::Str(_))) {
                        let strs: Vec<Box<str>> = items
                            .iter()
                            .filter_map(|c| match c {
                                ConstVal::Str(s) => Some(s.clone()),
                                _ => None,
                            })
                            .collect();
                        return Ok((
                            n(NodeKind::InStrs(boxed(l), strs.into(), op == NotIn)),
                            Ty::Bool,
                        ));
                    }
                }
                Ty::Bool
            }
            Matches | NotMatches => {
                if !((lt == Ty::Str || lt.is_unknown()) && (rt == Ty::Str || rt.is_unknown())) {
                    return Err(mismatch(self));
                }
                if let Some(ConstVal::Str(p)) = const_of(&r) {
                    let re = helpers::regex::compile(p).map_err(|m| self.err(right.pos, m))?;
                    return Ok((
                        n(NodeKind::MatchesConst(
                            boxed(l),
                            Box::new(re),
                            op == NotMatches,
                        )),
                        Ty::Bool,
                    ));
                }
                Ty::Bool
            }
            Contains | NotContains | StartsWith | NotStartsWith | EndsWith | NotEndsWith => {
                if !((lt == Ty::Str || lt.is_unknown()) && (rt == Ty::Str || rt.is_unknown())) {
                    return Err(mismatch(self));
                }
                Ty::Bool
            }
            Range => {
                if !((lt == Ty::Int || lt.is_unknown()) && (rt == Ty::Int || rt.is_unknown())) {
                    return Err(mismatch(self));
                }
                Ty::Array
            }
            Add => match (lt, rt) {
                _ if unknown => Ty::Unknown,
                (Ty::Int, Ty::Int) => Ty::Int,
                (a, b) if a.is_number() && b.is_number() => Ty::Float,
                (Ty::Str, Ty::Str) => Ty::Str,
                (Ty::Time, Ty::Duration) | (Ty::Duration, Ty::Time) => Ty::Time,
                (Ty::Duration, Ty::Duration) => Ty::Duration,
                _ => return Err(mismatch(self)),
            },
            Sub => match (lt, rt) {
                _ if unknown => Ty::Unknown,
                (Ty::Int, Ty::Int) => Ty::Int,
                (a, b) if a.is_number() && b.is_number() => Ty::Float,
                (Ty::Time, Ty::Time) => Ty::Duration,
                (Ty::Time, Ty::Duration) => Ty::Time,
                (Ty::Duration, Ty::Duration) => Ty::Duration,
                _ => return Err(mismatch(self)),
            },
            Mul => match (lt, rt) {
                _ if unknown => Ty::Unknown,
                (Ty::Int, Ty::Int) => Ty::Int,
                (a, b) if a.is_number() && b.is_number() => Ty::Float,
                (Ty::Duration, Ty::Int)
                | (Ty::Int, Ty::Duration)
                | (Ty::Duration, Ty::Duration) => Ty::Duration,
                _ => return Err(mismatch(self)),
            },
            Div | Pow => {
                if !(unknown || (lt.is_number() && rt.is_number())) {
                    return Err(mismatch(self));
                }
                Ty::Float
            }
            Mod => {
                if !(unknown || (lt == Ty::Int && rt == Ty::Int)) {
                    return Err(mismatch(self));
                }
                Ty::Int
            }
            Coalesce => {
                let ty = if lt == rt {
                    lt
                } else if lt == Ty::Nil {
                    rt
                } else {
                    Ty::Unknown
                };
                return Ok((n(NodeKind::Coalesce(boxed(l), boxed(r))), ty));
            }
        };
        Ok((n(NodeKind::Binary(op, boxed(l), boxed(r))), ty))
    }
}

/// `IpInRange(x, 'a') || IpInRange(x, 'b') || ...` over one event field `x`, next to each other
/// in an `||` chain, become one node that reads and parses `x` once (the hub's geoip filter
/// tests 4 ranges this way). The same result and the same error, at the first of them.
fn fuse_ip_ranges(nodes: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    for node in nodes {
        if let (
            Some(Node {
                kind: NodeKind::IpInRangeConst(prev_subject, prev_ranges),
                ..
            }),
            NodeKind::IpInRangeConst(subject, ranges),
        ) = (out.last_mut(), &node.kind)
        {
            if same_field(prev_subject, subject) {
                *prev_ranges = prev_ranges.iter().chain(ranges.iter()).copied().collect();
                continue;
            }
        }
        out.push(node);
    }
    out
}

/// Whether two nodes read the same event map field (`evt.Meta.source_ip` twice).
fn same_field(a: &Node, b: &Node) -> bool {
    matches!(
        (&a.kind, &b.kind),
        (NodeKind::EvtMapKey(fa, ka), NodeKind::EvtMapKey(fb, kb)) if fa == fb && ka == kb
    )
}
