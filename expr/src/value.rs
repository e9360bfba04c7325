//! Run-time values. A [`Value`] borrows what it can: a `evt.Meta.x` read is a `&str` into the
//! event, `evt.Unmarshaled.a` a reference into the JSON tree, `File('x')` a slice of the loaded
//! lines, a literal array a slice of the program's constants. Only computed values own memory.
//! Equality and ordering follow expr-lang's `runtime.Equal`/`Less`: numbers compare across int
//! and float, `==` between different types is false (never an error), `<` between different
//! types is an error.

use chrono::{DateTime, FixedOffset, Weekday};
use palisade_schemas::Event;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::env::HostObject;

/// A value during evaluation; `'a` is the lifetime of the event, the program and the data files.
#[derive(Clone)]
pub enum Value<'a> {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `float64` (JSON numbers are floats, as with Go's `encoding/json`).
    Float(f64),
    /// A string, borrowed from the event or the program when possible.
    Str(Cow<'a, str>),
    /// Go `time.Time`.
    Time(DateTime<FixedOffset>),
    /// Go `time.Duration`, in nanoseconds.
    Duration(i64),
    /// Go `time.Weekday` (0 = Sunday), what `evt.Time.Weekday()` returns.
    Weekday(Weekday),
    /// An array or slice.
    Array(Seq<'a>),
    /// A map with string keys.
    Map(MapRef<'a>),
    /// A whole pipeline event (`evt`, or an element of a bucket's queue).
    Event(&'a Event),
    /// A host object bound by the caller (an alert, a bucket...).
    Object(&'a dyn HostObject),
}

/// A compile-time constant, stored in the program (it is `Send + Sync`, unlike [`Value`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ConstVal {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    Duration(i64),
    List(Box<[ConstVal]>),
    Map(Box<[(Box<str>, ConstVal)]>),
}

impl ConstVal {
    /// The constant as a value borrowing from it.
    pub fn as_value(&self) -> Value<'_> {
        match self {
            ConstVal::Nil => Value::Nil,
            ConstVal::Bool(b) => Value::Bool(*b),
            ConstVal::Int(i) => Value::Int(*i),
            ConstVal::Float(f) => Value::Float(*f),
            ConstVal::Str(s) => Value::Str(Cow::Borrowed(s)),
            ConstVal::Duration(d) => Value::Duration(*d),
            ConstVal::List(l) => Value::Array(Seq::Const(l)),
            ConstVal::Map(m) => Value::Map(MapRef::Const(m)),
        }
    }
}

/// The array-like things a value can be.
#[derive(Clone)]
pub enum Seq<'a> {
    /// Computed at run time.
    Owned(Rc<Vec<Value<'a>>>),
    /// A literal array of the program.
    Const(&'a [ConstVal]),
    /// `[]string` borrowed from data files or the event.
    Strs(&'a [String]),
    /// A JSON array inside `evt.Unmarshaled`.
    Json(&'a [Json]),
}

impl<'a> Seq<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Seq::Owned(v) => v.len(),
            Seq::Const(v) => v.len(),
            Seq::Strs(v) => v.len(),
            Seq::Json(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at `i` (which must be in range), as a value.
    pub fn get(&self, i: usize) -> Option<Value<'a>> {
        match self {
            Seq::Owned(v) => v.get(i).cloned(),
            Seq::Const(v) => v.get(i).map(ConstVal::as_value),
            Seq::Strs(v) => v.get(i).map(|s| Value::Str(Cow::Borrowed(s.as_str()))),
            Seq::Json(v) => v.get(i).map(Value::from_json),
        }
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = Value<'a>> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// A sub-slice `[from, to)` (both already clamped).
    pub fn slice(&self, from: usize, to: usize) -> Seq<'a> {
        match self {
            Seq::Owned(v) => Seq::Owned(Rc::new(v[from..to].to_vec())),
            Seq::Const(v) => Seq::Const(&v[from..to]),
            Seq::Strs(v) => Seq::Strs(&v[from..to]),
            Seq::Json(v) => Seq::Json(&v[from..to]),
        }
    }

    /// Go's static element type, for `%T`-like messages.
    fn type_name(&self) -> &'static str {
        match self {
            Seq::Strs(_) => "[]string",
            _ => "[]interface {}",
        }
    }
}

/// The map-like things a value can be.
#[derive(Clone)]
pub enum MapRef<'a> {
    /// Computed at run time (map literals, helper results); Go `map[string]any`.
    Owned(Rc<BTreeMap<String, Value<'a>>>),
    /// A literal map of the program.
    Const(&'a [(Box<str>, ConstVal)]),
    /// `evt.Meta`, `evt.Parsed`, `evt.Enriched`: Go `map[string]string`.
    Str(&'a palisade_schemas::FieldMap),
    /// `evt.Line.Labels`: Go `map[string]string`.
    Labels(&'a BTreeMap<String, String>),
    /// `evt.Unmarshaled` and JSON objects inside it: Go `map[string]any`.
    Json(&'a serde_json::Map<String, Json>),
    /// An owned `map[string]string` (ParseKV results read back before the write lands).
    OwnedStr(Rc<BTreeMap<String, String>>),
}

impl<'a> MapRef<'a> {
    /// The value at `key`, `None` when absent.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        match self {
            MapRef::Owned(m) => m.get(key).cloned(),
            MapRef::Const(m) => m
                .iter()
                .find(|(k, _)| &**k == key)
                .map(|(_, v)| v.as_value()),
            MapRef::Str(m) => m.get(key).map(|s| Value::Str(Cow::Borrowed(s.as_str()))),
            MapRef::Labels(m) => m.get(key).map(|s| Value::Str(Cow::Borrowed(s.as_str()))),
            MapRef::Json(m) => m.get(key).map(Value::from_json),
            MapRef::OwnedStr(m) => m.get(key).map(|s| Value::Str(Cow::Owned(s.clone()))),
        }
    }

    /// What a missing key gives: the element type's zero value.
    pub fn zero(&self) -> Value<'a> {
        match self {
            MapRef::Str(_) | MapRef::Labels(_) | MapRef::OwnedStr(_) => {
                Value::Str(Cow::Borrowed(""))
            }
            _ => Value::Nil,
        }
    }

    /// `map[key]` with Go's zero value for a missing key.
    pub fn fetch(&self, key: &str) -> Value<'a> {
        self.get(key).unwrap_or_else(|| self.zero())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        match self {
            MapRef::Owned(m) => m.contains_key(key),
            MapRef::Const(m) => m.iter().any(|(k, _)| &**k == key),
            MapRef::Str(m) => m.contains_key(key),
            MapRef::Labels(m) => m.contains_key(key),
            MapRef::Json(m) => m.contains_key(key),
            MapRef::OwnedStr(m) => m.contains_key(key),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            MapRef::Owned(m) => m.len(),
            MapRef::Const(m) => m.len(),
            MapRef::Str(m) => m.len(),
            MapRef::Labels(m) => m.len(),
            MapRef::Json(m) => m.len(),
            MapRef::OwnedStr(m) => m.len(),
        }
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, sorted by key (Go prints maps sorted).
    pub fn entries(&self) -> Vec<(String, Value<'a>)> {
        let mut out: Vec<(String, Value<'a>)> = match self {
            MapRef::Owned(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            MapRef::Const(m) => m
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_value()))
                .collect(),
            MapRef::Str(m) => m
                .iter()
                .map(|(k, v)| (k.to_string(), Value::Str(Cow::Borrowed(v.as_str()))))
                .collect(),
            MapRef::Labels(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), Value::Str(Cow::Borrowed(v.as_str()))))
                .collect(),
            MapRef::Json(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), Value::from_json(v)))
                .collect(),
            MapRef::OwnedStr(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), Value::Str(Cow::Owned(v.clone()))))
                .collect(),
        };
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn type_name(&self) -> &'static str {
        match self {
            MapRef::Str(_) | MapRef::Labels(_) | MapRef::OwnedStr(_) => "map[string]string",
            _ => "map[string]interface {}",
        }
    }
}

impl<'a> Value<'a> {
    /// A borrowed string value.
    pub fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    /// An owned string value.
    pub fn string(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }

    /// An owned array.
    pub fn array(items: Vec<Value<'a>>) -> Self {
        Value::Array(Seq::Owned(Rc::new(items)))
    }

    /// An owned array of strings.
    pub fn str_array(items: Vec<String>) -> Self {
        Value::array(items.into_iter().map(Value::string).collect())
    }

    /// An owned map.
    pub fn map(items: BTreeMap<String, Value<'a>>) -> Self {
        Value::Map(MapRef::Owned(Rc::new(items)))
    }

    /// A view of a JSON node (`null` is nil, numbers are floats).
    pub fn from_json(j: &'a Json) -> Self {
        match j {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            Json::String(s) => Value::Str(Cow::Borrowed(s)),
            Json::Array(a) => Value::Array(Seq::Json(a)),
            Json::Object(o) => Value::Map(MapRef::Json(o)),
        }
    }

    /// An owned value made from owned JSON (numbers are floats).
    pub fn from_json_owned(j: Json) -> Value<'static> {
        match j {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            Json::String(s) => Value::Str(Cow::Owned(s)),
            Json::Array(a) => Value::array(a.into_iter().map(Value::from_json_owned).collect()),
            Json::Object(o) => Value::map(
                o.into_iter()
                    .map(|(k, v)| (k, Value::from_json_owned(v)))
                    .collect(),
            ),
        }
    }

    /// Go's name of the value's type (`%T`), used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
            Value::Weekday(_) => "time.Weekday",
            Value::Array(s) => s.type_name(),
            Value::Map(m) => m.type_name(),
            Value::Event(_) => "*pipeline.Event",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Whether the value is nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The string, if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if the value is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float, if the value is an int or a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// A copy that borrows nothing. Events and host objects become their JSON form.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Time(t) => Value::Time(t),
            Value::Duration(d) => Value::Duration(d),
            Value::Weekday(w) => Value::Weekday(w),
            Value::Array(s) => Value::array(s.iter().map(Value::into_owned).collect()),
            Value::Map(m) => Value::map(
                m.entries()
                    .into_iter()
                    .map(|(k, v)| (k, v.into_owned()))
                    .collect(),
            ),
            Value::Event(e) => {
                Value::from_json_owned(serde_json::to_value(e).unwrap_or(Json::Null))
            }
            Value::Object(o) => Value::string(o.type_name().to_string()),
        }
    }

    /// The value as JSON (Go's `json.Marshal` of the equivalent Go value).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Nil => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Str(s) => Json::String(s.to_string()),
            Value::Time(t) => Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            Value::Duration(d) => Json::from(*d),
            Value::Weekday(w) => Json::from(w.num_days_from_sunday()),
            Value::Array(s) => Json::Array(s.iter().map(|v| v.to_json()).collect()),
            Value::Map(m) => Json::Object(
                m.entries()
                    .into_iter()
                    .map(|(k, v)| (k, v.to_json()))
                    .collect(),
            ),
            Value::Event(e) => serde_json::to_value(e).unwrap_or(Json::Null),
            Value::Object(o) => Json::String(o.type_name().to_string()),
        }
    }
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Time(t) => write!(f, "time({})", t.to_rfc3339()),
            Value::Duration(d) => write!(f, "duration({d}ns)"),
            Value::Weekday(w) => write!(f, "{w:?}"),
            Value::Array(s) => f.debug_list().entries(s.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.entries()).finish(),
            Value::Event(_) => write!(f, "<event>"),
            Value::Object(o) => write!(f, "<{}>", o.type_name()),
        }
    }
}

impl PartialEq for Value<'_> {
    fn eq(&self, other: &Self) -> bool {
        equal(self, other)
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value<'_> {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value<'_> {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }
}

/// expr-lang's `runtime.Equal`: numbers across int/float, same-type comparison otherwise,
/// different types are unequal.
pub fn equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::Duration(x), Value::Duration(y)) => x == y,
        (Value::Weekday(x), Value::Weekday(y)) => x == y,
        (Value::Weekday(w), Value::Int(i)) | (Value::Int(i), Value::Weekday(w)) => {
            i64::from(w.num_days_from_sunday()) == *i
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(&p, &q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.entries()
                    .iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equal(v, &w)))
        }
        (Value::Event(x), Value::Event(y)) => std::ptr::eq(*x, *y),
        _ => false,
    }
}

/// expr-lang's `runtime.Less`/`More` family: numbers, strings, times and durations; `None` when
/// the operands cannot be ordered.
pub fn compare(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => a
            .as_f64()
            .and_then(|x| b.as_f64().and_then(|y| x.partial_cmp(&y))),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Time(x), Value::Time(y)) => Some(x.cmp(y)),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Duration(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Duration(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_expr_lang_equal() {
        assert!(equal(&Value::Int(1), &Value::Float(1.0)));
        assert!(!equal(&Value::str(""), &Value::Nil));
        assert!(!equal(&Value::str("1"), &Value::Int(1)));
        assert!(equal(&Value::Nil, &Value::Nil));
        let l = [ConstVal::Str("a".into())];
        assert!(equal(
            &Value::Array(Seq::Const(&l)),
            &Value::str_array(vec!["a".into()])
        ));
        assert_eq!(
            compare(&Value::str("a"), &Value::str("b")),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&Value::str("a"), &Value::Int(1)), None);
    }

    #[test]
    fn json_numbers_are_floats_and_maps_give_zero_values() {
        let j = serde_json::json!({"a": 1, "b": "x", "c": null});
        let v = Value::from_json(&j);
        let Value::Map(m) = v else {
            panic!("map expected")
        };
        assert!(matches!(m.fetch("a"), Value::Float(f) if f == 1.0));
        assert!(m.fetch("zz").is_nil());
        let meta = palisade_schemas::FieldMap::default();
        assert_eq!(MapRef::Str(&meta).fetch("x"), Value::str(""));
    }
}
