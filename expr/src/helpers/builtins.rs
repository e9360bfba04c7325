//! expr-lang's builtins (builtin/builtin.go) except the predicate ones: `len`, `type`, `abs`,
//! `ceil`, `floor`, `round`, `int`, `float`, `string`, `trim*`, `split*`, `repeat`, `join`,
//! `lastIndexOf`, `hasPrefix`, `hasSuffix`, `max`, `min`, `mean`, `median`, `toJSON`,
//! `fromJSON`, `toBase64`, `fromBase64`, `first`, `last`, `get`, `take`, `keys`, `values`,
//! `concat`, `flatten`, `uniq`, `reverse`, `sort`; plus CrowdSec's `Flatten`, `Distinct`,
//! `FlattenDistinct`.

use super::strings::{b64_decode_bytes, b64_encode, go_split};
use super::{arg_int, arg_str, fmt, json, sub_str};
use crate::value::{compare, equal, Value};
use std::cmp::Ordering;

/// Refuse to build strings bigger than this (`repeat`).
const MAX_STRING: usize = 64 << 20;

pub(crate) fn len<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Int(match &args[0] {
        Value::Str(s) => s.len() as i64,
        Value::Array(a) => a.len() as i64,
        Value::Map(m) => m.len() as i64,
        other => {
            return Err(format!(
                "invalid argument for len (type {})",
                other.type_name()
            ))
        }
    }))
}

pub(crate) fn type_of<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::str(match &args[0] {
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Weekday(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Time(_) => "time.Time",
        Value::Duration(_) => "time.Duration",
        Value::Event(_) | Value::Object(_) => "struct",
    }))
}

fn number<'a>(name: &str, v: &Value<'a>) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("invalid argument for {name} (type {})", v.type_name()))
}

pub(crate) fn abs<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Int(i) => Ok(Value::Int(i.wrapping_abs())),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(format!(
            "invalid argument for abs (type {})",
            other.type_name()
        )),
    }
}

pub(crate) fn ceil<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Float(number("ceil", &args[0])?.ceil()))
}

pub(crate) fn floor<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Float(number("floor", &args[0])?.floor()))
}

pub(crate) fn round<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Float(number("round", &args[0])?.round()))
}

/// Go `strconv.Atoi`.
pub(crate) fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

pub(crate) fn int<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Float(f) => Ok(Value::Int(*f as i64)),
        Value::Duration(d) => Ok(Value::Int(*d)),
        Value::Weekday(w) => Ok(Value::Int(i64::from(w.num_days_from_sunday()))),
        Value::Str(s) => atoi(s)
            .map(Value::Int)
            .ok_or_else(|| format!("invalid operation: int({s})")),
        other => Err(format!("invalid operation: int({})", other.type_name())),
    }
}

pub(crate) fn float<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Str(s) => super::strings::parse_go_float(s)
            .map(Value::Float)
            .ok_or_else(|| format!("invalid operation: float({s})")),
        other => Err(format!("invalid operation: float({})", other.type_name())),
    }
}

pub(crate) fn string<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        v @ Value::Str(_) => Ok(v.clone()),
        v => Ok(Value::string(fmt::go_value(v))),
    }
}

pub(crate) fn trim<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    if args.len() == 2 {
        let cut = arg_str(args, 1)?.to_string();
        return sub_str(&args[0], |s| s.trim_matches(|c| cut.contains(c)));
    }
    sub_str(&args[0], str::trim)
}

pub(crate) fn trim_prefix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let p = if args.len() == 2 {
        arg_str(args, 1)?.to_string()
    } else {
        " ".to_string()
    };
    sub_str(&args[0], |s| s.strip_prefix(p.as_str()).unwrap_or(s))
}

pub(crate) fn trim_suffix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let p = if args.len() == 2 {
        arg_str(args, 1)?.to_string()
    } else {
        " ".to_string()
    };
    sub_str(&args[0], |s| s.strip_suffix(p.as_str()).unwrap_or(s))
}

pub(crate) fn split<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let n = if args.len() == 3 {
        arg_int(args, 2)?
    } else {
        -1
    };
    Ok(Value::str_array(go_split(
        arg_str(args, 0)?,
        arg_str(args, 1)?,
        n,
        false,
    )))
}

pub(crate) fn split_after<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let n = if args.len() == 3 {
        arg_int(args, 2)?
    } else {
        -1
    };
    Ok(Value::str_array(go_split(
        arg_str(args, 0)?,
        arg_str(args, 1)?,
        n,
        true,
    )))
}

pub(crate) fn repeat<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    let n = arg_int(args, 1)?;
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if s.len().saturating_mul(n) > MAX_STRING {
        return Err("repeat: result too large".into());
    }
    Ok(Value::string(s.repeat(n)))
}

pub(crate) fn join<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let sep = if args.len() == 2 {
        arg_str(args, 1)?
    } else {
        ""
    };
    let Value::Array(seq) = &args[0] else {
        return Err(format!(
            "invalid argument for join (type {})",
            args[0].type_name()
        ));
    };
    let mut out = String::new();
    for (i, v) in seq.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match v {
            Value::Str(s) => out.push_str(&s),
            other => {
                return Err(format!(
                    "invalid argument for join (element type {})",
                    other.type_name()
                ))
            }
        }
    }
    Ok(Value::string(out))
}

pub(crate) fn last_index_of<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    Ok(Value::Int(
        s.rfind(arg_str(args, 1)?).map(|i| i as i64).unwrap_or(-1),
    ))
}

pub(crate) fn has_prefix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Bool(
        arg_str(args, 0)?.starts_with(arg_str(args, 1)?),
    ))
}

pub(crate) fn has_suffix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Bool(arg_str(args, 0)?.ends_with(arg_str(args, 1)?)))
}

/// The numbers among the arguments, arrays flattened one level deep or more.
fn numbers<'a>(
    name: &str,
    args: &[Value<'a>],
    out: &mut Vec<Value<'a>>,
    depth: usize,
) -> Result<(), String> {
    if depth > 32 {
        return Err(format!("{name}: nesting too deep"));
    }
    for a in args {
        match a {
            Value::Int(_) | Value::Float(_) => out.push(a.clone()),
            Value::Array(seq) => numbers(name, &seq.iter().collect::<Vec<_>>(), out, depth + 1)?,
            other => {
                return Err(format!(
                    "invalid argument for {name} (type {})",
                    other.type_name()
                ))
            }
        }
    }
    Ok(())
}

fn min_max<'a>(name: &str, args: &[Value<'a>], want: Ordering) -> Result<Value<'a>, String> {
    if args.is_empty() {
        return Err(format!("not enough arguments to call {name}"));
    }
    let mut nums = Vec::new();
    numbers(name, args, &mut nums, 0)?;
    let mut best: Option<Value<'a>> = None;
    for n in nums {
        best = match best {
            Some(b) if compare(&n, &b) != Some(want) => Some(b),
            _ => Some(n),
        };
    }
    Ok(best.unwrap_or(Value::Nil))
}

pub(crate) fn max<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    min_max("max", args, Ordering::Greater)
}

pub(crate) fn min<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    min_max("min", args, Ordering::Less)
}

pub(crate) fn mean<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut nums = Vec::new();
    numbers("mean", args, &mut nums, 0)?;
    if nums.is_empty() {
        return Ok(Value::Float(0.0));
    }
    let sum: f64 = nums.iter().filter_map(Value::as_f64).sum();
    Ok(Value::Float(sum / nums.len() as f64))
}

pub(crate) fn median<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut nums = Vec::new();
    numbers("median", args, &mut nums, 0)?;
    let mut v: Vec<f64> = nums.iter().filter_map(Value::as_f64).collect();
    if v.is_empty() {
        return Ok(Value::Float(0.0));
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    let n = v.len();
    Ok(Value::Float(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }))
}

pub(crate) fn to_json<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    json::marshal(&args[0]).map(Value::string)
}

pub(crate) fn from_json<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    serde_json::from_str::<serde_json::Value>(arg_str(args, 0)?)
        .map(Value::from_json_owned)
        .map_err(|e| e.to_string())
}

pub(crate) fn to_base64<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::string(b64_encode(arg_str(args, 0)?.as_bytes())))
}

pub(crate) fn from_base64<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let bytes = b64_decode_bytes(arg_str(args, 0)?)?;
    Ok(Value::string(String::from_utf8_lossy(&bytes).into_owned()))
}

pub(crate) fn first<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Array(a) => Ok(a.get(0).unwrap_or(Value::Nil)),
        Value::Nil => Ok(Value::Nil),
        other => Err(format!(
            "cannot get first element from {}",
            other.type_name()
        )),
    }
}

pub(crate) fn last<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Array(a) if !a.is_empty() => Ok(a.get(a.len() - 1).unwrap_or(Value::Nil)),
        Value::Array(_) | Value::Nil => Ok(Value::Nil),
        other => Err(format!(
            "cannot get last element from {}",
            other.type_name()
        )),
    }
}

/// expr `get(from, key)`: like indexing, but nil instead of an error for anything missing.
pub(crate) fn get<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(match (&args[0], &args[1]) {
        (Value::Nil, _) => Value::Nil,
        (Value::Array(a), idx) => {
            let Some(i) = idx.as_f64().map(|f| f as i64) else {
                return Err(format!("cannot use {} as index", idx.type_name()));
            };
            let len = a.len() as i64;
            let i = if i < 0 { i + len } else { i };
            if (0..len).contains(&i) {
                a.get(i as usize).unwrap_or(Value::Nil)
            } else {
                Value::Nil
            }
        }
        (Value::Str(s), idx) => {
            let i = idx.as_f64().map(|f| f as i64).unwrap_or(-1);
            let len = s.len() as i64;
            let i = if i < 0 { i + len } else { i };
            if (0..len).contains(&i) {
                Value::Int(i64::from(s.as_bytes()[i as usize]))
            } else {
                Value::Nil
            }
        }
        (Value::Map(m), Value::Str(k)) => m.get(k).unwrap_or(Value::Nil),
        (Value::Map(_), _) => Value::Nil,
        (Value::Event(e), Value::Str(k)) => crate::event::dyn_member(e, k).unwrap_or(Value::Nil),
        (Value::Object(o), Value::Str(k)) => o.field(k).unwrap_or(Value::Nil),
        (other, _) => {
            return Err(format!(
                "cannot fetch {} from {}",
                fmt::go_value(&args[1]),
                other.type_name()
            ))
        }
    })
}

fn seq_arg<'a>(name: &str, v: &Value<'a>) -> Result<Vec<Value<'a>>, String> {
    match v {
        Value::Array(a) => Ok(a.iter().collect()),
        Value::Nil => Ok(Vec::new()),
        other => Err(format!("cannot {name} {}", other.type_name())),
    }
}

pub(crate) fn take<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut v = seq_arg("take from", &args[0])?;
    let n = arg_int(args, 1)?.max(0);
    v.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    Ok(Value::array(v))
}

pub(crate) fn keys<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Map(m) => Ok(Value::array(
            m.entries()
                .into_iter()
                .map(|(k, _)| Value::string(k))
                .collect(),
        )),
        other => Err(format!("cannot get keys from {}", other.type_name())),
    }
}

pub(crate) fn values<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Map(m) => Ok(Value::array(
            m.entries().into_iter().map(|(_, v)| v).collect(),
        )),
        other => Err(format!("cannot get values from {}", other.type_name())),
    }
}

pub(crate) fn concat<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut out = Vec::new();
    for a in args {
        out.extend(seq_arg("concat", a)?);
    }
    Ok(Value::array(out))
}

fn flatten_into<'a>(v: &Value<'a>, out: &mut Vec<Value<'a>>, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("flatten: nesting too deep".into());
    }
    match v {
        Value::Array(a) => {
            for item in a.iter() {
                flatten_into(&item, out, depth + 1)?;
            }
        }
        other => out.push(other.clone()),
    }
    Ok(())
}

pub(crate) fn flatten<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut out = Vec::new();
    flatten_into(&args[0], &mut out, 0)?;
    Ok(Value::array(out))
}

pub(crate) fn flatten_go<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut out = Vec::new();
    for a in args {
        flatten_into(a, &mut out, 0)?;
    }
    Ok(Value::array(out))
}

fn dedup<'a>(items: Vec<Value<'a>>) -> Vec<Value<'a>> {
    let mut out: Vec<Value<'a>> = Vec::with_capacity(items.len());
    for v in items {
        if !out
            .iter()
            .any(|o| equal(o, &v) && o.type_name() == v.type_name())
        {
            out.push(v);
        }
    }
    out
}

pub(crate) fn distinct<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        Value::Array(a) => Ok(Value::array(dedup(a.iter().collect()))),
        _ => Ok(Value::Nil),
    }
}

pub(crate) fn flatten_distinct<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut out = Vec::new();
    for a in args {
        flatten_into(a, &mut out, 0)?;
    }
    Ok(Value::array(dedup(out)))
}

pub(crate) fn uniq<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::array(dedup(seq_arg("uniq", &args[0])?)))
}

pub(crate) fn reverse<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut v = seq_arg("reverse", &args[0])?;
    v.reverse();
    Ok(Value::array(v))
}

pub(crate) fn sort<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut v = seq_arg("sort", &args[0])?;
    let desc = match args.get(1) {
        Some(Value::Str(s)) if s == "desc" => true,
        Some(Value::Str(s)) if s == "asc" => false,
        None => false,
        Some(other) => return Err(format!("unknown order {}", fmt::go_value(other))),
    };
    let mut err = None;
    v.sort_by(|a, b| {
        compare(a, b).unwrap_or_else(|| {
            err = Some(format!(
                "cannot compare {} and {}",
                a.type_name(),
                b.type_name()
            ));
            Ordering::Equal
        })
    });
    if let Some(e) = err {
        return Err(e);
    }
    if desc {
        v.reverse();
    }
    Ok(Value::array(v))
}
