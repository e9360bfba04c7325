//! The function table: CrowdSec's helpers (pkg/exprhelpers/expr_lib.go, case-sensitive names)
//! and expr-lang's builtins, each with its parameter types (checked at load time when the
//! argument types are known), its result type and its implementation. Most helpers are pure
//! functions of their arguments; the few that need the program's context (data files, the
//! stash) or write into the event are [`Special`] and handled by the evaluator.

pub(crate) mod builtins;
pub mod files;
pub(crate) mod fmt;
pub(crate) mod ip;
pub(crate) mod json;
pub(crate) mod kv;
pub(crate) mod regex;
pub mod stash;
pub(crate) mod strings;
pub(crate) mod time;
pub(crate) mod url;
pub(crate) mod xml;

use crate::types::Ty;
use crate::value::Value;
use std::borrow::Cow;

/// A helper that only depends on its arguments.
pub(crate) type PureFn = for<'a> fn(&[Value<'a>]) -> Result<Value<'a>, String>;

/// Helpers the evaluator implements itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    File,
    RegexpInFile,
    GetFromStash,
    SetInStash,
    UnmarshalJSON,
    ParseKV,
    ParseKVLax,
}

/// How a function is implemented.
#[derive(Clone, Copy)]
pub(crate) enum Imp {
    Pure(PureFn),
    Special(Special),
}

/// One entry of the function table.
pub(crate) struct FuncSpec {
    pub name: &'static str,
    /// Parameter types; the last `optional` ones may be left out.
    pub params: &'static [Ty],
    pub optional: usize,
    /// Type of any further arguments, for variadic functions.
    pub variadic: Option<Ty>,
    pub ret: Ty,
    pub imp: Imp,
}

impl std::fmt::Debug for FuncSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}()", self.name)
    }
}

impl FuncSpec {
    pub(crate) fn min_args(&self) -> usize {
        self.params.len() - self.optional
    }

    pub(crate) fn param(&self, i: usize) -> Ty {
        self.params
            .get(i)
            .copied()
            .or(self.variadic)
            .unwrap_or(Ty::Unknown)
    }
}

use Ty::{AnyMap, Array, Bool, Duration, Float, Int, Str, StrArray, Unknown as Any};

macro_rules! f {
    ($name:literal, [$($p:expr),*], $ret:expr, $imp:expr) => {
        FuncSpec { name: $name, params: &[$($p),*], optional: 0, variadic: None, ret: $ret, imp: Imp::Pure($imp) }
    };
    ($name:literal, [$($p:expr),*], opt $o:literal, $ret:expr, $imp:expr) => {
        FuncSpec { name: $name, params: &[$($p),*], optional: $o, variadic: None, ret: $ret, imp: Imp::Pure($imp) }
    };
    ($name:literal, [$($p:expr),*], var $v:expr, $ret:expr, $imp:expr) => {
        FuncSpec { name: $name, params: &[$($p),*], optional: 0, variadic: Some($v), ret: $ret, imp: Imp::Pure($imp) }
    };
    ($name:literal, [$($p:expr),*], special $ret:expr, $s:expr) => {
        FuncSpec { name: $name, params: &[$($p),*], optional: 0, variadic: None, ret: $ret, imp: Imp::Special($s) }
    };
}

/// Every function callable by name, except the predicate builtins (`all`, `any`, `filter`, ...)
/// which the compiler handles.
pub(crate) static FUNCS: &[FuncSpec] = &[
    // --- CrowdSec helpers ---
    f!("Distance", [Str, Str, Str, Str], Float, strings::distance),
    f!("GetFromStash", [Str, Str], special Str, Special::GetFromStash),
    f!("SetInStash", [Str, Str, Str, Duration], special Any, Special::SetInStash),
    f!("Atof", [Str], Float, strings::atof),
    f!("JsonExtract", [Str, Str], Str, json::json_extract),
    f!("JsonExtractUnescape", [Str], var Str, Str, json::json_extract_unescape),
    f!("JsonExtractLib", [Str], var Str, Str, json::json_extract_lib),
    f!(
        "JsonExtractSlice",
        [Str, Str],
        Array,
        json::json_extract_slice
    ),
    f!(
        "JsonExtractObject",
        [Str, Str],
        AnyMap,
        json::json_extract_object
    ),
    f!("ToJsonString", [Any], Str, json::to_json_string),
    f!("File", [Str], special StrArray, Special::File),
    f!("RegexpInFile", [Str, Str], special Bool, Special::RegexpInFile),
    f!("Upper", [Str], Str, strings::upper),
    f!("Lower", [Str], Str, strings::lower),
    f!("IpInRange", [Str, Str], Bool, ip::ip_in_range),
    f!("TimeNow", [], Str, time::time_now),
    f!("ParseUri", [Str], AnyMap, url::parse_uri),
    f!("ParseQuery", [Str], AnyMap, url::parse_query),
    f!(
        "ExtractQueryParam",
        [Str, Str],
        StrArray,
        url::extract_query_param
    ),
    f!("PathUnescape", [Str], Str, url::path_unescape),
    f!("QueryUnescape", [Str], Str, url::query_unescape),
    f!("PathEscape", [Str], Str, url::path_escape),
    f!("QueryEscape", [Str], Str, url::query_escape),
    f!(
        "XMLGetAttributeValue",
        [Str, Str, Str],
        Str,
        xml::get_attribute_value
    ),
    f!("XMLGetNodeValue", [Str, Str], Str, xml::get_node_value),
    f!("IpToRange", [Str, Str], Str, ip::ip_to_range),
    f!("IsIPV6", [Str], Bool, ip::is_ipv6),
    f!("IsIPV4", [Str], Bool, ip::is_ipv4),
    f!("IsIP", [Str], Bool, ip::is_ip),
    f!("Sprintf", [Str], var Any, Str, fmt::sprintf),
    f!("ParseUnix", [Str], Str, time::parse_unix),
    f!("Fields", [Str], StrArray, strings::fields),
    f!("Index", [Str, Str], Int, strings::index),
    f!("IndexAny", [Str, Str], Int, strings::index_any),
    f!("Join", [StrArray, Str], Str, strings::join_go),
    f!("Split", [Str, Str], StrArray, strings::split),
    f!("SplitAfter", [Str, Str], StrArray, strings::split_after),
    f!(
        "SplitAfterN",
        [Str, Str, Int],
        StrArray,
        strings::split_after_n
    ),
    f!("SplitN", [Str, Str, Int], StrArray, strings::split_n),
    f!("Replace", [Str, Str, Str, Int], Str, strings::replace_n),
    f!("ReplaceAll", [Str, Str, Str], Str, strings::replace_all),
    f!("Trim", [Str, Str], Str, strings::trim_cutset),
    f!("TrimLeft", [Str, Str], Str, strings::trim_left),
    f!("TrimRight", [Str, Str], Str, strings::trim_right),
    f!("TrimSpace", [Str], Str, strings::trim_space),
    // Go's filepath.Base; cscli hubtest binds it for assertions (`basename(...Meta["datasource_path"])`).
    f!("basename", [Str], Str, strings::basename),
    f!("TrimPrefix", [Str, Str], Str, strings::trim_prefix),
    f!("TrimSuffix", [Str, Str], Str, strings::trim_suffix),
    f!("Get", [StrArray, Int], Str, strings::get_go),
    f!("ToString", [Any], Str, strings::to_string),
    f!("Match", [Str, Str], Bool, strings::glob_match),
    f!("KeyExists", [Str, AnyMap], Bool, strings::key_exists),
    f!("LogInfo", [Str], var Any, Bool, strings::log_info),
    f!("B64Decode", [Str], Str, strings::b64_decode),
    f!("UnmarshalJSON", [Str, AnyMap, Str], special Any, Special::UnmarshalJSON),
    f!("ParseKV", [Str, AnyMap, Str], special Any, Special::ParseKV),
    f!("ParseKVLax", [Str, AnyMap, Str], special Any, Special::ParseKVLax),
    f!("Hostname", [], Str, strings::hostname),
    f!(
        "FloatApproxEqual",
        [Float, Float],
        Bool,
        strings::float_approx_equal
    ),
    f!("AverageInterval", [Array], Duration, time::average_interval),
    f!("MedianInterval", [Array], Duration, time::median_interval),
    f!("Flatten", [], var Any, Array, builtins::flatten_go),
    f!("Distinct", [Any], Array, builtins::distinct),
    f!("FlattenDistinct", [], var Any, Array, builtins::flatten_distinct),
    // --- expr-lang builtins ---
    f!("len", [Any], Int, builtins::len),
    f!("type", [Any], Str, builtins::type_of),
    f!("abs", [Any], Any, builtins::abs),
    f!("ceil", [Any], Float, builtins::ceil),
    f!("floor", [Any], Float, builtins::floor),
    f!("round", [Any], Float, builtins::round),
    f!("int", [Any], Int, builtins::int),
    f!("float", [Any], Float, builtins::float),
    f!("string", [Any], Str, builtins::string),
    f!("trim", [Str, Str], opt 1, Str, builtins::trim),
    f!("trimPrefix", [Str, Str], opt 1, Str, builtins::trim_prefix),
    f!("trimSuffix", [Str, Str], opt 1, Str, builtins::trim_suffix),
    f!("upper", [Str], Str, strings::upper),
    f!("lower", [Str], Str, strings::lower),
    f!("split", [Str, Str, Int], opt 1, StrArray, builtins::split),
    f!("splitAfter", [Str, Str, Int], opt 1, StrArray, builtins::split_after),
    f!("replace", [Str, Str, Str], Str, strings::replace_all),
    f!("repeat", [Str, Int], Str, builtins::repeat),
    f!("join", [Array, Str], opt 1, Str, builtins::join),
    f!("indexOf", [Str, Str], Int, strings::index),
    f!("lastIndexOf", [Str, Str], Int, builtins::last_index_of),
    f!("hasPrefix", [Str, Str], Bool, builtins::has_prefix),
    f!("hasSuffix", [Str, Str], Bool, builtins::has_suffix),
    f!("max", [], var Any, Any, builtins::max),
    f!("min", [], var Any, Any, builtins::min),
    f!("mean", [], var Any, Float, builtins::mean),
    f!("median", [], var Any, Float, builtins::median),
    f!("toJSON", [Any], Str, builtins::to_json),
    f!("fromJSON", [Str], Any, builtins::from_json),
    f!("toBase64", [Str], Str, builtins::to_base64),
    f!("fromBase64", [Str], Str, builtins::from_base64),
    f!("now", [], Ty::Time, time::now),
    f!("duration", [Str], Duration, time::duration),
    f!("date", [Any, Str, Str], opt 2, Ty::Time, time::date),
    f!("first", [Any], Any, builtins::first),
    f!("last", [Any], Any, builtins::last),
    f!("get", [Any, Any], Any, builtins::get),
    f!("take", [Array, Int], Array, builtins::take),
    f!("keys", [Any], Array, builtins::keys),
    f!("values", [Any], Array, builtins::values),
    f!("concat", [], var Array, Array, builtins::concat),
    f!("flatten", [Array], Array, builtins::flatten),
    f!("uniq", [Array], Array, builtins::uniq),
    f!("reverse", [Array], Array, builtins::reverse),
    f!("sort", [Array, Str], opt 1, Array, builtins::sort),
];

/// The function named `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static FuncSpec> {
    FUNCS.iter().find(|f| f.name == name)
}

// ---- argument access shared by the helper modules ----

/// The string argument `i` (the checker and arity check guarantee it exists).
pub(crate) fn arg_str<'b>(args: &'b [Value<'_>], i: usize) -> Result<&'b str, String> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(format!(
            "cannot use {} as argument (type string) at position {}",
            other.type_name(),
            i + 1
        )),
        None => Err(format!("missing argument {}", i + 1)),
    }
}

/// The integer argument `i` (floats are truncated, as expr converts them).
pub(crate) fn arg_int(args: &[Value<'_>], i: usize) -> Result<i64, String> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Float(f)) if f.is_finite() => Ok(*f as i64),
        Some(other) => Err(format!(
            "cannot use {} as argument (type int) at position {}",
            other.type_name(),
            i + 1
        )),
        None => Err(format!("missing argument {}", i + 1)),
    }
}

/// The float argument `i`.
pub(crate) fn arg_f64(args: &[Value<'_>], i: usize) -> Result<f64, String> {
    match args.get(i) {
        Some(v) => v.as_f64().ok_or_else(|| {
            format!(
                "cannot use {} as argument (type float64) at position {}",
                v.type_name(),
                i + 1
            )
        }),
        None => Err(format!("missing argument {}", i + 1)),
    }
}

/// The `[]string` argument `i` (an array whose elements are all strings).
pub(crate) fn arg_strs(args: &[Value<'_>], i: usize) -> Result<Vec<String>, String> {
    match args.get(i) {
        Some(Value::Array(seq)) => seq
            .iter()
            .map(|v| match v {
                Value::Str(s) => Ok(s.into_owned()),
                other => Err(format!(
                    "cannot use {} as element of []string",
                    other.type_name()
                )),
            })
            .collect(),
        Some(Value::Nil) => Ok(Vec::new()),
        Some(other) => Err(format!(
            "cannot use {} as argument (type []string) at position {}",
            other.type_name(),
            i + 1
        )),
        None => Err(format!("missing argument {}", i + 1)),
    }
}

/// Applies a borrowing transformation to a string argument, keeping the borrow when the input
/// was borrowed (no allocation for `TrimSpace(evt.Parsed.x)`).
pub(crate) fn sub_str<'a>(v: &Value<'a>, f: impl Fn(&str) -> &str) -> Result<Value<'a>, String> {
    match v {
        Value::Str(Cow::Borrowed(s)) => Ok(Value::Str(Cow::Borrowed(f(s)))),
        Value::Str(Cow::Owned(s)) => Ok(Value::string(f(s).to_string())),
        other => Err(format!(
            "cannot use {} as argument (type string)",
            other.type_name()
        )),
    }
}
