//! The evaluator: a tree walk over [`crate::ir`] that reads the environment through shared
//! references (so event strings are borrowed, never copied) and records writes (`SetMeta`,
//! `SetParsed`, `UnmarshalJSON`, `ParseKV`) in a log applied to the event when evaluation ends,
//! whether it succeeded or not (CrowdSec's side effects are immediate and survive errors).
//! Reads made after a write in the same expression see it: the log is consulted first, which
//! costs nothing for the expressions that do not write.

use crate::compile::Program;
use crate::env::Env;
use crate::error::EvalError;
use crate::event::{self, EvtMethod, EvtPath, MapField};
use crate::helpers::{self, fmt, kv, Imp, Special};
use crate::ir::{Node, NodeKind, Pred};
use crate::parser::BinOp;
use crate::value::{compare, equal, MapRef, Seq, Value};
use palisade_schemas::Event;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration as StdDuration;

/// A pending write into the event.
#[derive(Debug)]
pub(crate) enum Write {
    Str(MapField, String, String),
    Json {
        path: Vec<Box<str>>,
        key: String,
        value: Json,
    },
    Kv {
        path: Vec<Box<str>>,
        key: String,
        pairs: Vec<(String, String)>,
    },
}

/// Control flow besides values: an error, or a nil met by `?.` that ends the chain.
pub(crate) enum Ex {
    Err(EvalError),
    Short,
}

impl From<EvalError> for Ex {
    fn from(e: EvalError) -> Self {
        Ex::Err(e)
    }
}

type R<'a> = Result<Value<'a>, Ex>;

#[cold]
#[inline(never)]
fn fail<T>(msg: impl Into<String>, pos: u32) -> Result<T, Ex> {
    Err(Ex::Err(EvalError::new(msg, pos)))
}

/// Arguments of a call, inline up to four.
enum Args<'a> {
    Inline([Value<'a>; 4], usize),
    Heap(Vec<Value<'a>>),
}

impl<'a> std::ops::Deref for Args<'a> {
    type Target = [Value<'a>];
    fn deref(&self) -> &[Value<'a>] {
        match self {
            Args::Inline(a, n) => &a[..*n],
            Args::Heap(v) => v,
        }
    }
}

pub(crate) struct Eval<'a, E: Env + ?Sized> {
    prog: &'a Program,
    env: &'a E,
    evt: Option<&'a Event>,
    locals: Vec<Value<'a>>,
    pub(crate) writes: Vec<Write>,
}

fn json_path_mut<'j>(
    root: &'j mut serde_json::Map<String, Json>,
    path: &[Box<str>],
) -> Option<&'j mut serde_json::Map<String, Json>> {
    let mut cur = root;
    for k in path {
        cur = cur.get_mut(&**k)?.as_object_mut()?;
    }
    Some(cur)
}

fn apply_json_write(root: &mut serde_json::Map<String, Json>, w: &Write) {
    match w {
        Write::Json { path, key, value } => {
            if let Some(m) = json_path_mut(root, path) {
                m.insert(key.clone(), value.clone());
            }
        }
        Write::Kv { path, key, pairs } => {
            if let Some(m) = json_path_mut(root, path) {
                let entry = m
                    .entry(key.clone())
                    .or_insert_with(|| Json::Object(serde_json::Map::new()));
                if let Some(obj) = entry.as_object_mut() {
                    for (k, v) in pairs {
                        obj.insert(k.clone(), Json::String(v.clone()));
                    }
                }
            }
        }
        Write::Str(..) => {}
    }
}

/// Applies the write log to the event.
pub(crate) fn apply_writes(e: &mut Event, writes: Vec<Write>) {
    for w in writes {
        match w {
            Write::Str(MapField::Meta, k, v) => {
                e.meta.insert(k.into(), v);
            }
            Write::Str(MapField::Parsed, k, v) => {
                e.parsed.insert(k.into(), v);
            }
            Write::Str(MapField::Enriched, k, v) => {
                e.enriched.insert(k.into(), v);
            }
            Write::Str(MapField::Labels, k, v) => {
                e.line.labels.insert(k, v);
            }
            other => apply_json_write(&mut e.unmarshaled, &other),
        }
    }
}

fn to_index(v: &Value<'_>) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.is_finite() => Some(*f as i64),
        _ => None,
    }
}

/// expr's `runtime.Slice` bounds.
fn slice_bounds(len: usize, from: Option<i64>, to: Option<i64>) -> (usize, usize) {
    let l = len as i64;
    let mut a = from.unwrap_or(0);
    let mut b = to.unwrap_or(l);
    if a < 0 {
        a += l;
    }
    if a < 0 {
        a = 0;
    }
    if b < 0 {
        b += l;
    }
    if b < 0 {
        b = 0;
    }
    if b > l {
        b = l;
    }
    if a > b {
        a = b;
    }
    (a as usize, b as usize)
}

fn arith<'a>(op: BinOp, l: Value<'a>, r: Value<'a>, pos: u32) -> R<'a> {
    use Value::*;
    let mismatch = |l: &Value<'_>, r: &Value<'_>| {
        fail(
            format!(
                "invalid operation: {} (mismatched types {} and {})",
                op.symbol(),
                l.type_name(),
                r.type_name()
            ),
            pos,
        )
    };
    Ok(match op {
        BinOp::Add => match (l, r) {
            (Int(a), Int(b)) => Int(a.wrapping_add(b)),
            (Str(a), Str(b)) => {
                let mut s = a.into_owned();
                s.push_str(&b);
                Value::string(s)
            }
            (Time(t), Duration(d)) | (Duration(d), Time(t)) => {
                match t.checked_add_signed(chrono::TimeDelta::nanoseconds(d)) {
                    Some(t) => Time(t),
                    None => return fail("time out of range", pos),
                }
            }
            (Duration(a), Duration(b)) => Duration(a.wrapping_add(b)),
            (l, r) => match (l.as_f64(), r.as_f64()) {
                (Some(a), Some(b)) => Float(a + b),
                _ => return mismatch(&l, &r),
            },
        },
        BinOp::Sub => match (l, r) {
            (Int(a), Int(b)) => Int(a.wrapping_sub(b)),
            (Time(a), Time(b)) => Duration((a - b).num_nanoseconds().unwrap_or(i64::MAX)),
            (Time(t), Duration(d)) => match t.checked_sub_signed(chrono::TimeDelta::nanoseconds(d))
            {
                Some(t) => Time(t),
                None => return fail("time out of range", pos),
            },
            (Duration(a), Duration(b)) => Duration(a.wrapping_sub(b)),
            (l, r) => match (l.as_f64(), r.as_f64()) {
                (Some(a), Some(b)) => Float(a - b),
                _ => return mismatch(&l, &r),
            },
        },
        BinOp::Mul => match (l, r) {
            (Int(a), Int(b)) => Int(a.wrapping_mul(b)),
            (Duration(a), Int(b)) | (Int(b), Duration(a)) => Duration(a.wrapping_mul(b)),
            (Duration(a), Duration(b)) => Duration(a.wrapping_mul(b)),
            (l, r) => match (l.as_f64(), r.as_f64()) {
                (Some(a), Some(b)) => Float(a * b),
                _ => return mismatch(&l, &r),
            },
        },
        BinOp::Div => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => Float(a / b),
            _ => return mismatch(&l, &r),
        },
        BinOp::Pow => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => Float(a.powf(b)),
            _ => return mismatch(&l, &r),
        },
        BinOp::Mod => match (l, r) {
            (Int(_), Int(0)) => return fail("integer divide by zero", pos),
            (Int(a), Int(b)) => Int(a.wrapping_rem(b)),
            (l, r) => return mismatch(&l, &r),
        },
        _ => return mismatch(&l, &r),
    })
}

impl<'a, E: Env + ?Sized> Eval<'a, E> {
    pub(crate) fn new(prog: &'a Program, env: &'a E) -> Self {
        Eval {
            prog,
            env,
            evt: env.event(),
            locals: if prog.max_locals > 0 {
                Vec::with_capacity(prog.max_locals)
            } else {
                Vec::new()
            },
            writes: Vec::new(),
        }
    }

    pub(crate) fn run(&mut self) -> Result<Value<'a>, EvalError> {
        match self.eval(&self.prog.root) {
            Ok(v) => Ok(v),
            Err(Ex::Err(e)) => Err(e),
            Err(Ex::Short) => Ok(Value::Nil),
        }
    }

    fn evt(&self, pos: u32) -> Result<&'a Event, Ex> {
        match self.evt {
            Some(e) => Ok(e),
            None => fail("evt is not set", pos),
        }
    }

    fn pending_str(&self, f: MapField, key: &str) -> Option<&String> {
        self.writes.iter().rev().find_map(|w| match w {
            Write::Str(g, k, v) if *g == f && k == key => Some(v),
            _ => None,
        })
    }

    fn has_pending(&self, f: Option<MapField>) -> bool {
        self.writes.iter().any(|w| match (w, f) {
            (Write::Str(g, ..), Some(f)) => *g == f,
            (Write::Json { .. } | Write::Kv { .. }, None) => true,
            _ => false,
        })
    }

    /// `evt.Unmarshaled` as it is once the pending writes land.
    fn unmarshaled_view(&self, e: &'a Event) -> Value<'a> {
        if !self.has_pending(None) {
            return Value::Map(MapRef::Json(&e.unmarshaled));
        }
        let mut copy = e.unmarshaled.clone();
        for w in &self.writes {
            apply_json_write(&mut copy, w);
        }
        Value::from_json_owned(Json::Object(copy))
    }

    fn read_evt(&self, e: &'a Event, p: EvtPath) -> Value<'a> {
        if !self.writes.is_empty() {
            match p {
                EvtPath::Map(f) if self.has_pending(Some(f)) => {
                    let mut m: BTreeMap<String, String> = match event::map_field(e, f) {
                        MapRef::Str(h) => {
                            h.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
                        }
                        MapRef::Labels(b) => b.clone(),
                        _ => BTreeMap::new(),
                    };
                    for w in &self.writes {
                        if let Write::Str(g, k, v) = w {
                            if *g == f {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    return Value::Map(MapRef::OwnedStr(Rc::new(m)));
                }
                EvtPath::Unmarshaled => return self.unmarshaled_view(e),
                _ => {}
            }
        }
        event::read(e, p)
    }

    fn eval_str(&mut self, n: &'a Node, what: &str) -> Result<Cow<'a, str>, Ex> {
        match self.eval(n)? {
            Value::Str(s) => Ok(s),
            other => fail(
                format!("cannot use {} as {what} (type string)", other.type_name()),
                n.pos,
            ),
        }
    }

    fn eval_args(&mut self, nodes: &'a [Node]) -> Result<Args<'a>, Ex> {
        if nodes.len() <= 4 {
            let mut a = [Value::Nil, Value::Nil, Value::Nil, Value::Nil];
            for (i, n) in nodes.iter().enumerate() {
                a[i] = self.eval(n)?;
            }
            Ok(Args::Inline(a, nodes.len()))
        } else {
            let mut v = Vec::with_capacity(nodes.len());
            for n in nodes {
                v.push(self.eval(n)?);
            }
            Ok(Args::Heap(v))
        }
    }

    fn member(&self, o: Value<'a>, name: &str, optional: bool, pos: u32) -> R<'a> {
        match o {
            Value::Nil if optional => Err(Ex::Short),
            Value::Map(m) => Ok(m.fetch(name)),
            Value::Event(e) => {
                if Some(e).is_some_and(|e| self.evt.is_some_and(|b| std::ptr::eq(e, b))) {
                    if let Some(p) = event::event_member(name) {
                        return Ok(self.read_evt(e, p));
                    }
                }
                match event::dyn_member(e, name) {
                    Some(v) => Ok(v),
                    None => fail(format!("cannot fetch {name} from *pipeline.Event"), pos),
                }
            }
            Value::Object(obj) => match obj.field(name) {
                Some(v) => Ok(v),
                None => fail(format!("cannot fetch {name} from {}", obj.type_name()), pos),
            },
            other => fail(
                format!("cannot fetch {name} from {}", other.type_name()),
                pos,
            ),
        }
    }

    fn index(&self, o: Value<'a>, i: Value<'a>, optional: bool, pos: u32) -> R<'a> {
        match (o, i) {
            (Value::Nil, _) if optional => Err(Ex::Short),
            (Value::Array(a), idx) => {
                let Some(i) = to_index(&idx) else {
                    return fail(
                        format!("cannot use {} as array index", idx.type_name()),
                        pos,
                    );
                };
                let len = a.len() as i64;
                let j = if i < 0 { i + len } else { i };
                if j < 0 || j >= len {
                    return fail(
                        format!("index out of range: {j} (array length is {len})"),
                        pos,
                    );
                }
                Ok(a.get(j as usize).unwrap_or(Value::Nil))
            }
            (Value::Str(s), idx) => {
                let Some(i) = to_index(&idx) else {
                    return fail(
                        format!("cannot use {} as string index", idx.type_name()),
                        pos,
                    );
                };
                let len = s.len() as i64;
                let j = if i < 0 { i + len } else { i };
                if j < 0 || j >= len {
                    return fail(
                        format!("index out of range: {j} (array length is {len})"),
                        pos,
                    );
                }
                Ok(Value::Int(i64::from(s.as_bytes()[j as usize])))
            }
            (Value::Map(m), Value::Str(k)) => Ok(m.fetch(&k)),
            (Value::Map(m), Value::Nil) => Ok(m.fetch("")),
            (Value::Map(m), k) => fail(
                format!(
                    "cannot use {} as key of {}",
                    k.type_name(),
                    Value::Map(m).type_name()
                ),
                pos,
            ),
            (o @ (Value::Event(_) | Value::Object(_)), Value::Str(k)) => {
                self.member(o, &k, optional, pos)
            }
            (o, k) => fail(
                format!("cannot fetch {} from {}", fmt::go_value(&k), o.type_name()),
                pos,
            ),
        }
    }

    fn in_op(&self, needle: &Value<'a>, hay: Value<'a>, pos: u32) -> Result<bool, Ex> {
        match hay {
            Value::Nil => Ok(false),
            Value::Array(a) => Ok(a.iter().any(|v| equal(&v, needle))),
            Value::Map(m) => match needle {
                Value::Str(k) => Ok(m.contains_key(k)),
                Value::Nil => Ok(m.contains_key("")),
                other => fail(format!("cannot use {} as map key", other.type_name()), pos),
            },
            Value::Event(e) => match needle {
                Value::Str(k) => Ok({
                    let _ = e;
                    event::event_member(k).is_some()
                }),
                other => fail(
                    format!(
                        "cannot use {} as field name of *pipeline.Event",
                        other.type_name()
                    ),
                    pos,
                ),
            },
            Value::Object(o) => match needle {
                Value::Str(k) => Ok(o.field(k).is_some()),
                other => fail(
                    format!(
                        "cannot use {} as field name of {}",
                        other.type_name(),
                        o.type_name()
                    ),
                    pos,
                ),
            },
            other => fail(
                format!("operator \"in\" not defined on {}", other.type_name()),
                pos,
            ),
        }
    }

    fn regex(&self, pattern: &str, pos: u32) -> Result<regex::Regex, Ex> {
        let mut cache = self
            .prog
            .regex_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, re)) = cache.iter().find(|(p, _)| p == pattern) {
            return Ok(re.clone());
        }
        let re = match helpers::regex::compile(pattern) {
            Ok(re) => re,
            Err(m) => return fail(m, pos),
        };
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((pattern.to_string(), re.clone()));
        Ok(re)
    }

    fn as_bool(v: &Value<'a>, what: &str, pos: u32) -> Result<bool, Ex> {
        match v {
            Value::Bool(b) => Ok(*b),
            other => fail(
                format!("invalid operation: {what} (non-bool {})", other.type_name()),
                pos,
            ),
        }
    }

    /// The hot node kinds, kept small so the recursive frame stays small; the rest goes to
    /// [`Eval::eval_cold`].
    #[inline]
    pub(crate) fn eval(&mut self, n: &'a Node) -> R<'a> {
        match &n.kind {
            NodeKind::Const(c) => Ok(c.as_value()),
            NodeKind::EvtMapKey(f, key) => match self.evt {
                Some(e) if self.writes.is_empty() => {
                    Ok(Value::Str(Cow::Borrowed(event::map_get(e, *f, key))))
                }
                _ => self.eval_cold(n),
            },
            NodeKind::MapKeyEq(f, key, want, negate) => match self.evt {
                Some(e) if self.writes.is_empty() => Ok(Value::Bool(
                    (event::map_get(e, *f, key) == &**want) != *negate,
                )),
                _ => self.eval_cold(n),
            },
            NodeKind::Local(i) => Ok(self.locals.get(*i).cloned().unwrap_or(Value::Nil)),
            NodeKind::And(items) => {
                let (last, init) = match items.split_last() {
                    Some(x) => x,
                    None => return Ok(Value::Bool(true)),
                };
                for it in init {
                    match self.eval(it)? {
                        Value::Bool(true) => {}
                        Value::Bool(false) => return Ok(Value::Bool(false)),
                        other => return Self::not_bool(&other, "&&", it.pos),
                    }
                }
                self.eval(last)
            }
            NodeKind::Or(items) => {
                let (last, init) = match items.split_last() {
                    Some(x) => x,
                    None => return Ok(Value::Bool(false)),
                };
                for it in init {
                    match self.eval(it)? {
                        Value::Bool(false) => {}
                        Value::Bool(true) => return Ok(Value::Bool(true)),
                        other => return Self::not_bool(&other, "||", it.pos),
                    }
                }
                self.eval(last)
            }
            NodeKind::Binary(op @ (BinOp::Eq | BinOp::Ne), l, r) => {
                let lv = self.eval(l)?;
                let rv = self.eval(r)?;
                Ok(Value::Bool(equal(&lv, &rv) == (*op == BinOp::Eq)))
            }
            NodeKind::InStrs(l, items, negate) => {
                let v = self.eval(l)?;
                let found = match &v {
                    Value::Str(s) => items.iter().any(|i| **i == **s),
                    _ => false,
                };
                Ok(Value::Bool(found != *negate))
            }
            _ => self.eval_cold(n),
        }
    }

    #[cold]
    #[inline(never)]
    fn not_bool<T>(v: &Value<'_>, what: &str, pos: u32) -> Result<T, Ex> {
        fail(
            format!("invalid operation: {what} (non-bool {})", v.type_name()),
            pos,
        )
    }

    /// Every node kind (the hot ones included, for when their fast path does not apply).
    #[inline(never)]
    fn eval_cold(&mut self, n: &'a Node) -> R<'a> {
        let pos = n.pos;
        match &n.kind {
            NodeKind::Const(c) => Ok(c.as_value()),
            NodeKind::EvtMapKey(f, key) => {
                let e = self.evt(pos)?;
                if !self.writes.is_empty() {
                    if let Some(v) = self.pending_str(*f, key) {
                        return Ok(Value::string(v.clone()));
                    }
                }
                Ok(Value::Str(Cow::Borrowed(event::map_get(e, *f, key))))
            }
            NodeKind::Evt(p) => {
                let e = self.evt(pos)?;
                Ok(self.read_evt(e, *p))
            }
            NodeKind::MapKeyEq(f, key, want, negate) => {
                let e = self.evt(pos)?;
                let equal = match self.pending_str(*f, key) {
                    Some(v) => v == &**want,
                    None => event::map_get(e, *f, key) == &**want,
                };
                Ok(Value::Bool(equal != *negate))
            }
            NodeKind::EvtWhole => Ok(Value::Event(self.evt(pos)?)),
            NodeKind::EvtMethod(m, args) => {
                let e = self.evt(pos)?;
                self.evt_method(e, *m, args, pos)
            }
            NodeKind::Var(i) => Ok(self.env.var(*i)),
            NodeKind::Local(i) => Ok(self.locals.get(*i).cloned().unwrap_or(Value::Nil)),
            NodeKind::Array(items) => {
                let mut v = Vec::with_capacity(items.len());
                for it in items {
                    v.push(self.eval(it)?);
                }
                Ok(Value::array(v))
            }
            NodeKind::MapLit(items) => {
                let mut m = BTreeMap::new();
                for (k, it) in items {
                    let v = self.eval(it)?;
                    m.insert(k.to_string(), v);
                }
                Ok(Value::map(m))
            }
            NodeKind::Member(obj, name, optional) => {
                let o = self.eval(obj)?;
                if o.is_nil() && !optional {
                    return fail(format!("cannot fetch {name} from <nil>"), pos);
                }
                self.member(o, name, *optional, pos)
            }
            NodeKind::Index(obj, idx, optional) => {
                let o = self.eval(obj)?;
                if o.is_nil() && *optional {
                    return Err(Ex::Short);
                }
                let i = self.eval(idx)?;
                if o.is_nil() {
                    return fail(
                        format!("cannot fetch {} from <nil>", fmt::go_value(&i)),
                        pos,
                    );
                }
                self.index(o, i, *optional, pos)
            }
            NodeKind::Slice(obj, from, to) => {
                let o = self.eval(obj)?;
                let bound =
                    |b: &'a Option<Box<Node>>, this: &mut Self| -> Result<Option<i64>, Ex> {
                        match b {
                            None => Ok(None),
                            Some(b) => {
                                let v = this.eval(b)?;
                                match to_index(&v) {
                                    Some(i) => Ok(Some(i)),
                                    None => fail(
                                        format!("cannot use {} as slice index", v.type_name()),
                                        b.pos,
                                    ),
                                }
                            }
                        }
                    };
                let f = bound(from, self)?;
                let t = bound(to, self)?;
                match o {
                    Value::Str(s) => {
                        let (a, b) = slice_bounds(s.len(), f, t);
                        Ok(match s {
                            Cow::Borrowed(s) => match s.get(a..b) {
                                Some(sub) => Value::Str(Cow::Borrowed(sub)),
                                None => Value::string(
                                    String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned(),
                                ),
                            },
                            Cow::Owned(s) => match s.get(a..b) {
                                Some(sub) => Value::string(sub.to_string()),
                                None => Value::string(
                                    String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned(),
                                ),
                            },
                        })
                    }
                    Value::Array(seq) => {
                        let (a, b) = slice_bounds(seq.len(), f, t);
                        Ok(Value::Array(seq.slice(a, b)))
                    }
                    other => fail(format!("cannot slice {}", other.type_name()), pos),
                }
            }
            NodeKind::Method(obj, name, args, optional) => {
                let o = self.eval(obj)?;
                if o.is_nil() {
                    if *optional {
                        return Err(Ex::Short);
                    }
                    return fail(format!("cannot fetch {name} from <nil>"), pos);
                }
                let args = self.eval_args(args)?;
                self.method(o, name, &args, pos)
            }
            NodeKind::Not(x) => {
                let v = self.eval(x)?;
                Ok(Value::Bool(!Self::as_bool(&v, "!", pos)?))
            }
            NodeKind::Neg(x) => match self.eval(x)? {
                Value::Int(i) => Ok(Value::Int(i.wrapping_neg())),
                Value::Float(f) => Ok(Value::Float(-f)),
                Value::Duration(d) => Ok(Value::Duration(d.wrapping_neg())),
                other => fail(format!("invalid operation: - {}", other.type_name()), pos),
            },
            NodeKind::Plus(x) => match self.eval(x)? {
                v @ (Value::Int(_) | Value::Float(_) | Value::Duration(_)) => Ok(v),
                other => fail(format!("invalid operation: + {}", other.type_name()), pos),
            },
            NodeKind::And(items) => {
                let (last, init) = match items.split_last() {
                    Some(x) => x,
                    None => return Ok(Value::Bool(true)),
                };
                for it in init {
                    let v = self.eval(it)?;
                    if !Self::as_bool(&v, "&&", it.pos)? {
                        return Ok(Value::Bool(false));
                    }
                }
                self.eval(last)
            }
            NodeKind::Or(items) => {
                let (last, init) = match items.split_last() {
                    Some(x) => x,
                    None => return Ok(Value::Bool(false)),
                };
                for it in init {
                    let v = self.eval(it)?;
                    if Self::as_bool(&v, "||", it.pos)? {
                        return Ok(Value::Bool(true));
                    }
                }
                self.eval(last)
            }
            NodeKind::Binary(op, l, r) => {
                let lv = self.eval(l)?;
                let rv = self.eval(r)?;
                self.binary(*op, lv, rv, pos)
            }
            NodeKind::MatchesConst(l, re, negate) => match self.eval(l)? {
                Value::Str(s) => Ok(Value::Bool(re.is_match(&s) != *negate)),
                other => fail(
                    format!(
                        "invalid operation: matches (mismatched type {})",
                        other.type_name()
                    ),
                    pos,
                ),
            },
            NodeKind::InStrs(l, items, negate) => {
                let v = self.eval(l)?;
                let found = match &v {
                    Value::Str(s) => items.iter().any(|i| **i == **s),
                    _ => false,
                };
                Ok(Value::Bool(found != *negate))
            }
            NodeKind::Cond(c, a, b) => {
                let cv = self.eval(c)?;
                if Self::as_bool(&cv, "?:", pos)? {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            NodeKind::Coalesce(l, r) => match self.eval(l)? {
                Value::Nil => self.eval(r),
                v => Ok(v),
            },
            NodeKind::Chain(inner) => match self.eval(inner) {
                Err(Ex::Short) => Ok(Value::Nil),
                other => other,
            },
            NodeKind::Let(slot, v, body) => {
                let val = self.eval(v)?;
                self.locals.truncate(*slot);
                self.locals.push(val);
                let r = self.eval(body);
                self.locals.truncate(*slot);
                r
            }
            NodeKind::Seq(items) => {
                let mut last = Value::Nil;
                for it in items {
                    last = self.eval(it)?;
                }
                Ok(last)
            }
            NodeKind::Call(spec, args) => match spec.imp {
                Imp::Pure(f) => {
                    let args = self.eval_args(args)?;
                    f(&args).map_err(|m| Ex::Err(EvalError::new(m, pos)))
                }
                Imp::Special(s) => self.special(s, args, pos),
            },
            NodeKind::Predicate {
                kind,
                coll,
                body,
                slot,
            } => self.predicate(*kind, coll, body, *slot, pos),
            NodeKind::FileConst(lines) => Ok(Value::Array(Seq::Strs(lines))),
            NodeKind::RegexpInFileConst(subject, res) => {
                let s = self.eval_str(subject, "argument")?;
                Ok(Value::Bool(res.iter().any(|re| re.is_match(&s))))
            }
            NodeKind::IpInRangeConst(subject, ranges) => {
                // As the `IpInRange` helper: the subject must be a string, then any invalid
                // input is false.
                let args = [self.eval(subject)?];
                let ip = helpers::arg_str(&args, 0).map_err(|m| Ex::Err(EvalError::new(m, pos)))?;
                Ok(Value::Bool(helpers::ip::parse_ip(ip).is_some_and(|ip| {
                    ranges
                        .iter()
                        .flatten()
                        .any(|(net, len)| helpers::ip::contains(*net, *len, ip))
                })))
            }
            NodeKind::UnmarshalTarget(path) => {
                let e = self.evt(pos)?;
                let mut v = self.unmarshaled_view(e);
                for k in path {
                    v = self.member(v, k, false, pos)?;
                }
                Ok(v)
            }
        }
    }

    fn binary(&self, op: BinOp, lv: Value<'a>, rv: Value<'a>, pos: u32) -> R<'a> {
        use BinOp::*;
        let str_op =
            |l: &Value<'a>, r: &Value<'a>, f: fn(&str, &str) -> bool| -> Result<bool, Ex> {
                match (l, r) {
                    (Value::Str(a), Value::Str(b)) => Ok(f(a, b)),
                    _ => fail(
                        format!(
                            "invalid operation: {} (mismatched types {} and {})",
                            op.symbol(),
                            l.type_name(),
                            r.type_name()
                        ),
                        pos,
                    ),
                }
            };
        Ok(match op {
            Eq => Value::Bool(equal(&lv, &rv)),
            Ne => Value::Bool(!equal(&lv, &rv)),
            Lt | Gt | Le | Ge => match compare(&lv, &rv) {
                Some(o) => Value::Bool(match op {
                    Lt => o == Ordering::Less,
                    Gt => o == Ordering::Greater,
                    Le => o != Ordering::Greater,
                    _ => o != Ordering::Less,
                }),
                None => {
                    return fail(
                        format!(
                            "invalid operation: {} (mismatched types {} and {})",
                            op.symbol(),
                            lv.type_name(),
                            rv.type_name()
                        ),
                        pos,
                    )
                }
            },
            In => Value::Bool(self.in_op(&lv, rv, pos)?),
            NotIn => Value::Bool(!self.in_op(&lv, rv, pos)?),
            Matches | NotMatches => match (&lv, &rv) {
                (Value::Str(s), Value::Str(p)) => {
                    let re = self.regex(p, pos)?;
                    Value::Bool(re.is_match(s) != (op == NotMatches))
                }
                _ => {
                    return fail(
                        format!(
                            "invalid operation: matches (mismatched types {} and {})",
                            lv.type_name(),
                            rv.type_name()
                        ),
                        pos,
                    )
                }
            },
            Contains => Value::Bool(str_op(&lv, &rv, |a, b| a.contains(b))?),
            NotContains => Value::Bool(!str_op(&lv, &rv, |a, b| a.contains(b))?),
            StartsWith => Value::Bool(str_op(&lv, &rv, |a, b| a.starts_with(b))?),
            NotStartsWith => Value::Bool(!str_op(&lv, &rv, |a, b| a.starts_with(b))?),
            EndsWith => Value::Bool(str_op(&lv, &rv, |a, b| a.ends_with(b))?),
            NotEndsWith => Value::Bool(!str_op(&lv, &rv, |a, b| a.ends_with(b))?),
            Range => match (&lv, &rv) {
                (Value::Int(a), Value::Int(b)) => {
                    let count = i128::from(*b) - i128::from(*a) + 1;
                    if count > 10_000_000 {
                        return fail("range too large", pos);
                    }
                    if count <= 0 {
                        Value::array(Vec::new())
                    } else {
                        Value::array((*a..=*b).map(Value::Int).collect())
                    }
                }
                _ => return fail("invalid operation: .. (operands must be int)", pos),
            },
            Or | And | Coalesce => return fail("internal: unexpected operator", pos),
            Add | Sub | Mul | Div | Mod | Pow => return arith(op, lv, rv, pos),
        })
    }

    fn method(&mut self, o: Value<'a>, name: &str, args: &[Value<'a>], pos: u32) -> R<'a> {
        let res = match &o {
            Value::Time(t) => helpers::time::time_method(t, name, args),
            Value::Duration(d) => helpers::time::duration_method(*d, name, args),
            Value::Weekday(w) if name == "String" => Some(Ok(Value::str(fmt::weekday_string(*w)))),
            Value::Object(obj) => obj.call(name, args),
            Value::Event(e) => {
                let e: &'a Event = e;
                match EvtMethod::lookup(name) {
                    Some(m) if m.mutates() && !self.evt.is_some_and(|b| std::ptr::eq(e, b)) => {
                        Some(Err(format!(
                            "cannot call {name} on an event other than evt"
                        )))
                    }
                    Some(m) => {
                        return self.evt_method_values(e, m, args, pos);
                    }
                    None => None,
                }
            }
            _ => None,
        };
        match res {
            Some(Ok(v)) => Ok(v),
            Some(Err(m)) => fail(m, pos),
            None => fail(format!("type {} has no method {name}", o.type_name()), pos),
        }
    }

    fn evt_method(&mut self, e: &'a Event, m: EvtMethod, args: &'a [Node], pos: u32) -> R<'a> {
        let args = self.eval_args(args)?;
        self.evt_method_values(e, m, &args, pos)
    }

    fn evt_method_values(
        &mut self,
        e: &'a Event,
        m: EvtMethod,
        args: &[Value<'a>],
        pos: u32,
    ) -> R<'a> {
        if args.len() != m.arity() {
            return fail(format!("wrong number of arguments to call {m:?}"), pos);
        }
        let s = |i: usize| -> Result<&str, Ex> {
            match &args[i] {
                Value::Str(s) => Ok(s),
                other => fail(
                    format!("cannot use {} as argument (type string)", other.type_name()),
                    pos,
                ),
            }
        };
        match m {
            EvtMethod::GetType => Ok(Value::str(event::get_type(e))),
            EvtMethod::GetMeta => {
                let k = s(0)?;
                if e.kind == palisade_schemas::EventType::Log {
                    if let Some(v) = self.pending_str(MapField::Meta, k) {
                        return Ok(Value::string(v.clone()));
                    }
                }
                Ok(Value::str(event::get_meta(e, k)))
            }
            EvtMethod::SetMeta | EvtMethod::SetParsed => {
                let (k, v) = (s(0)?.to_string(), s(1)?.to_string());
                let f = if m == EvtMethod::SetMeta {
                    MapField::Meta
                } else {
                    MapField::Parsed
                };
                self.writes.push(Write::Str(f, k, v));
                Ok(Value::Bool(true))
            }
            EvtMethod::ParseIPSources => Ok(Value::str_array(event::parse_ip_sources(e))),
        }
    }

    fn special(&mut self, s: Special, args: &'a [Node], pos: u32) -> R<'a> {
        match s {
            Special::File => {
                let name = self.eval_str(&args[0], "argument")?;
                let data: &'a crate::helpers::files::DataFiles = &self.prog.data;
                Ok(match data.lines(&name) {
                    Some(lines) => Value::Array(Seq::Strs(lines)),
                    None => Value::Array(Seq::Strs(&[])),
                })
            }
            Special::RegexpInFile => {
                let subject = self.eval_str(&args[0], "argument")?;
                let name = self.eval_str(&args[1], "argument")?;
                Ok(Value::Bool(self.prog.data.regexps(&name).is_some_and(
                    |res| res.iter().any(|re| re.is_match(&subject)),
                )))
            }
            Special::GetFromStash => {
                let cache = self.eval_str(&args[0], "argument")?;
                let key = self.eval_str(&args[1], "argument")?;
                Ok(Value::string(self.prog.stash.get(&cache, &key)))
            }
            Special::SetInStash => {
                let cache = self.eval_str(&args[0], "argument")?;
                let key = self.eval_str(&args[1], "argument")?;
                let value = self.eval_str(&args[2], "argument")?;
                let ttl = match self.eval(&args[3])? {
                    Value::Nil => None,
                    Value::Duration(d) => {
                        Some(StdDuration::from_nanos(u64::try_from(d).unwrap_or(0)))
                    }
                    other => {
                        return fail(
                            format!(
                                "cannot use {} as argument (type *time.Duration)",
                                other.type_name()
                            ),
                            pos,
                        )
                    }
                };
                self.prog.stash.set(&cache, &key, &value, ttl);
                Ok(Value::Nil)
            }
            Special::UnmarshalJSON | Special::ParseKV | Special::ParseKVLax => {
                let text = self.eval_str(&args[0], "argument")?;
                let target = self.eval(&args[1])?;
                let key = self.eval_str(&args[2], "argument")?.into_owned();
                let Value::Map(target_map) = &target else {
                    return fail(
                        format!(
                            "cannot use {} as argument (type map[string]interface {{}})",
                            target.type_name()
                        ),
                        args[1].pos,
                    );
                };
                let write = match s {
                    Special::UnmarshalJSON => match serde_json::from_str::<Json>(&text) {
                        Ok(value) => Some(value),
                        Err(e) => return fail(format!("UnmarshalJSON : {e}"), pos),
                    },
                    _ => None,
                };
                let path = match &args[1].kind {
                    NodeKind::UnmarshalTarget(p) => Some(p.clone()),
                    _ => None,
                };
                match write {
                    Some(value) => {
                        if let Some(path) = path {
                            self.writes.push(Write::Json { path, key, value });
                        }
                    }
                    None => {
                        let pairs = if s == Special::ParseKV {
                            kv::parse_kv(&text)
                        } else {
                            kv::parse_kv_lax(&text)
                        };
                        let pairs = match pairs {
                            Ok(p) => p,
                            Err(m) => return fail(m, pos),
                        };
                        if let Some(existing) = target_map.get(&key) {
                            let all_strings = match &existing {
                                Value::Map(m) => {
                                    m.entries().iter().all(|(_, v)| matches!(v, Value::Str(_)))
                                }
                                _ => false,
                            };
                            if !all_strings {
                                return fail("target is not a map[string]string", pos);
                            }
                        }
                        if let Some(path) = path {
                            self.writes.push(Write::Kv { path, key, pairs });
                        }
                    }
                }
                Ok(Value::Nil)
            }
        }
    }

    fn predicate(
        &mut self,
        kind: Pred,
        coll: &'a Node,
        body: &'a Node,
        slot: usize,
        pos: u32,
    ) -> R<'a> {
        let seq = match self.eval(coll)? {
            Value::Array(s) => s,
            other => return fail(format!("cannot iterate over {}", other.type_name()), pos),
        };
        self.locals.truncate(slot);
        self.locals.push(Value::Nil);
        self.locals.push(Value::Int(0));
        let r = self.predicate_loop(kind, &seq, body, slot);
        self.locals.truncate(slot);
        r
    }

    fn predicate_loop(&mut self, kind: Pred, seq: &Seq<'a>, body: &'a Node, slot: usize) -> R<'a> {
        let len = seq.len();
        let mut count = 0i64;
        let mut out: Vec<Value<'a>> = Vec::new();
        let mut sum_i: i64 = 0;
        let mut sum_f: f64 = 0.0;
        let mut is_float = false;
        let order: Box<dyn Iterator<Item = usize>> =
            if matches!(kind, Pred::FindLast | Pred::FindLastIndex) {
                Box::new((0..len).rev())
            } else {
                Box::new(0..len)
            };
        for i in order {
            let item = seq.get(i).unwrap_or(Value::Nil);
            self.locals[slot] = item.clone();
            self.locals[slot + 1] = Value::Int(i as i64);
            let r = self.eval(body)?;
            if kind.wants_bool() {
                let b = match r {
                    Value::Bool(b) => b,
                    other => {
                        return fail(
                            format!(
                                "predicate should return boolean (got {})",
                                other.type_name()
                            ),
                            body.pos,
                        )
                    }
                };
                match kind {
                    Pred::All if !b => return Ok(Value::Bool(false)),
                    Pred::Any if b => return Ok(Value::Bool(true)),
                    Pred::None if b => return Ok(Value::Bool(false)),
                    Pred::One if b => {
                        count += 1;
                        if count > 1 {
                            return Ok(Value::Bool(false));
                        }
                    }
                    Pred::Count if b => count += 1,
                    Pred::Filter if b => out.push(item),
                    Pred::Find | Pred::FindLast if b => return Ok(item),
                    Pred::FindIndex | Pred::FindLastIndex if b => return Ok(Value::Int(i as i64)),
                    _ => {}
                }
            } else if kind == Pred::Map {
                out.push(r);
            } else {
                match r {
                    Value::Int(v) => sum_i = sum_i.wrapping_add(v),
                    Value::Float(f) => {
                        is_float = true;
                        sum_f += f;
                    }
                    other => {
                        return fail(
                            format!(
                                "invalid operation: + (mismatched type {})",
                                other.type_name()
                            ),
                            body.pos,
                        )
                    }
                }
            }
        }
        Ok(match kind {
            Pred::All | Pred::None => Value::Bool(true),
            Pred::Any => Value::Bool(false),
            Pred::One => Value::Bool(count == 1),
            Pred::Count => Value::Int(count),
            Pred::Filter | Pred::Map => Value::array(out),
            Pred::Find | Pred::FindLast => Value::Nil,
            Pred::FindIndex | Pred::FindLastIndex => Value::Int(-1),
            Pred::Sum => {
                if is_float {
                    Value::Float(sum_f + sum_i as f64)
                } else {
                    Value::Int(sum_i)
                }
            }
        })
    }
}

impl Program {
    /// Evaluates against `env` and returns the result with nothing borrowed. The event writes
    /// (`SetMeta`, `UnmarshalJSON`, ...) are applied before returning, even on error.
    pub fn eval<E: Env + ?Sized>(&self, env: &mut E) -> Result<Value<'static>, EvalError> {
        self.eval_with(env, |v| v.clone().into_owned())
    }

    /// Evaluates and hands the (possibly borrowed) result to `f` before the event writes are
    /// applied; no copy of event strings is made.
    pub fn eval_with<E: Env + ?Sized, T>(
        &self,
        env: &mut E,
        f: impl FnOnce(&Value<'_>) -> T,
    ) -> Result<T, EvalError> {
        if let (Some(memo), Some(e)) = (&self.memo, env.event()) {
            // Nothing is written: a remembered result, or one evaluation to remember.
            let input = memo.input(e);
            if let Some(v) = memo.get(input) {
                return Ok(f(&v));
            }
            let shared: &E = env;
            let mut ev = Eval::new(self, shared);
            return ev.run().map(|v| {
                memo.put(input, v.clone().into_owned());
                f(&v)
            });
        }
        let (out, writes) = {
            let shared: &E = env;
            let mut ev = Eval::new(self, shared);
            let out = ev.run().map(|v| f(&v));
            (out, std::mem::take(&mut ev.writes))
        };
        if !writes.is_empty() {
            if let Some(e) = env.event_mut() {
                apply_writes(e, writes);
            }
        }
        out
    }

    /// Evaluates a boolean expression; a result that is not a bool is [`EvalError::NotBool`].
    pub fn eval_bool<E: Env + ?Sized>(&self, env: &mut E) -> Result<bool, EvalError> {
        self.eval_with(env, |v| match v {
            Value::Bool(b) => Ok(*b),
            other => Err(EvalError::NotBool {
                type_name: other.type_name(),
            }),
        })?
    }

    /// A parser node's `filter`, as CrowdSec runs it: an error or a non-bool result counts as
    /// false (CrowdSec logs a warning). Scenario filters, which are fatal on non-bool in
    /// CrowdSec, should use [`Program::eval_bool`].
    pub fn eval_filter<E: Env + ?Sized>(&self, env: &mut E) -> bool {
        matches!(self.eval_bool(env), Ok(true))
    }

    /// Evaluates to a string the way CrowdSec converts static and groupby results: strings as
    /// they are, ints in decimal, floats with `%f`, booleans as `true`/`false`, nil as "".
    /// Arrays, maps and other values are [`EvalError::NotString`].
    pub fn eval_string<E: Env + ?Sized>(&self, env: &mut E) -> Result<String, EvalError> {
        self.eval_with(env, |v| match v {
            Value::Str(s) => Ok(s.to_string()),
            Value::Int(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(format!("{f:.6}")),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Nil => Ok(String::new()),
            other => Err(EvalError::NotString {
                type_name: other.type_name(),
            }),
        })?
    }
}
