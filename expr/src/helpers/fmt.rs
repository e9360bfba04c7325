//! Go's `fmt` as far as expressions need it: the `%v` form of every value (what `string(x)`
//! and `Sprintf('%v')` print: `<nil>`, `[a b]`, `map[k:v]`, floats as `%g` shortest, durations
//! as `1h0m0s`), float formatting for `%v` and for JSON, and `Sprintf` with the verbs
//! `%v %s %d %q %f %e %g %x %X %t %T %c %%`, flags `- + 0 space #`, width and precision, and
//! Go's `%!d(string=x)` / `%!d(MISSING)` / `%!(EXTRA ...)` markers.

use super::arg_str;
use crate::value::Value;
use chrono::{DateTime, FixedOffset, Weekday};

/// Shortest decimal digits and exponent of a finite non-zero float: (negative, digits, exp)
/// where the value is `0.digits × 10^(exp+1)`, i.e. `d.ddd × 10^exp`.
fn shortest(f: f64) -> (bool, String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (f.is_sign_negative(), digits, exp.parse().unwrap_or(0))
}

fn e_form(neg: bool, digits: &str, exp: i32, min_exp_digits: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:0w$}", exp.unsigned_abs(), w = min_exp_digits));
    out
}

fn f_form(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else if f == 0.0 {
        Some(if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        })
    } else {
        None
    }
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)`, what `%v` prints.
pub(crate) fn format_float_g(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let (neg, digits, exp) = shortest(f);
    if !(-4..6).contains(&exp) {
        e_form(neg, &digits, exp, 2)
    } else {
        f_form(neg, &digits, exp)
    }
}

/// Go's `encoding/json` float form.
pub(crate) fn format_float_json(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let (neg, digits, exp) = shortest(f);
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        e_form(neg, &digits, exp, 1)
    } else {
        f_form(neg, &digits, exp)
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// Go `time.Weekday.String()`.
pub(crate) fn weekday_string(w: Weekday) -> &'static str {
    weekday_name(w)
}

/// Go `time.Time.String()`.
pub(crate) fn time_string(t: &DateTime<FixedOffset>) -> String {
    let base = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    let off = t.format("%z").to_string();
    let zone = if t.offset().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        off.clone()
    };
    format!("{base}{frac} {off} {zone}")
}

/// Go `time.Duration.String()`.
pub(crate) fn duration_string(nanos: i64) -> String {
    palisade_schemas::duration::format_go_duration(chrono::TimeDelta::nanoseconds(nanos))
}

/// The `%v` form of a value.
pub(crate) fn go_value(v: &Value<'_>) -> String {
    let mut out = String::new();
    write_value(v, &mut out, 0);
    out
}

fn write_value(v: &Value<'_>, out: &mut String, depth: usize) {
    if depth > 64 {
        out.push_str("...");
        return;
    }
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::Time(t) => out.push_str(&time_string(t)),
        Value::Duration(d) => out.push_str(&duration_string(*d)),
        Value::Weekday(w) => out.push_str(weekday_name(*w)),
        Value::Array(seq) => {
            out.push('[');
            for (i, item) in seq.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(&item, out, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.entries().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(item, out, depth + 1);
            }
            out.push(']');
        }
        Value::Event(_) => out.push_str("&{event}"),
        Value::Object(o) => {
            out.push_str("&{");
            out.push_str(o.type_name());
            out.push('}');
        }
    }
}

/// Go `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(s: String, spec: &Spec, numeric: bool) -> String {
    let Some(w) = spec.width else { return s };
    let len = s.chars().count();
    if len >= w {
        return s;
    }
    let fill = w - len;
    if spec.minus {
        format!("{s}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        let (sign, rest) = if s.starts_with(['-', '+']) {
            s.split_at(1)
        } else {
            ("", s.as_str())
        };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

fn bad_verb(verb: char, v: &Value<'_>) -> String {
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", v.type_name(), go_value(v)),
    }
}

fn sign(s: String, spec: &Spec, neg: bool) -> String {
    if neg {
        s
    } else if spec.plus {
        format!("+{s}")
    } else if spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn fixed(f: f64, prec: usize) -> String {
    if let Some(s) = special(f).filter(|_| !f.is_finite()) {
        return s;
    }
    format!("{:.*}", prec.min(1000), f)
}

fn exp_form(f: f64, prec: usize, upper: bool) -> String {
    if !f.is_finite() {
        return special(f).unwrap_or_default();
    }
    let s = format!("{:.*e}", prec.min(1000), f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = exp.parse().unwrap_or(0);
    let out = format!(
        "{mant}e{}{:02}",
        if e < 0 { '-' } else { '+' },
        e.unsigned_abs()
    );
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

fn format_one(verb: char, spec: &Spec, v: &Value<'_>) -> String {
    match verb {
        'v' => {
            let s = match v {
                Value::Str(s) if spec.sharp => go_quote(s),
                Value::Int(i) if spec.plus => format!("{i:+}"),
                _ => go_value(v),
            };
            pad(s, spec, matches!(v, Value::Int(_) | Value::Float(_)))
        }
        's' => match v {
            Value::Str(s) => {
                let s: String = match spec.prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.to_string(),
                };
                pad(s, spec, false)
            }
            Value::Array(_) | Value::Duration(_) | Value::Time(_) | Value::Weekday(_) => {
                pad(go_value(v), spec, false)
            }
            _ => bad_verb(verb, v),
        },
        'q' => match v {
            Value::Str(s) => pad(go_quote(s), spec, false),
            Value::Int(i) => match u32::try_from(*i).ok().and_then(char::from_u32) {
                Some(c) => pad(format!("'{c}'"), spec, false),
                None => bad_verb(verb, v),
            },
            _ => bad_verb(verb, v),
        },
        'd' => match v {
            Value::Int(i) => pad(sign(i.to_string(), spec, *i < 0), spec, true),
            Value::Duration(d) => pad(sign(d.to_string(), spec, *d < 0), spec, true),
            Value::Array(seq) => {
                let parts: Vec<String> = seq
                    .iter()
                    .map(|x| format_one('d', &Spec::default(), &x))
                    .collect();
                pad(format!("[{}]", parts.join(" ")), spec, false)
            }
            _ => bad_verb(verb, v),
        },
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => match v {
            Value::Float(f) => {
                let s = match verb {
                    'f' | 'F' => fixed(*f, spec.prec.unwrap_or(6)),
                    'e' | 'E' => exp_form(*f, spec.prec.unwrap_or(6), verb == 'E'),
                    _ => match spec.prec {
                        None => format_float_g(*f),
                        Some(p) => {
                            let p = p.max(1);
                            let e = if *f == 0.0 {
                                0
                            } else {
                                f.abs().log10().floor() as i64
                            };
                            if e < -4 || e >= p as i64 {
                                exp_form(*f, p - 1, verb == 'G')
                            } else {
                                let decimals = usize::try_from(p as i64 - 1 - e).unwrap_or(0);
                                let s = fixed(*f, decimals);
                                if s.contains('.') {
                                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                                } else {
                                    s
                                }
                            }
                        }
                    },
                };
                pad(sign(s, spec, f.is_sign_negative()), spec, true)
            }
            _ => bad_verb(verb, v),
        },
        'x' | 'X' => {
            let s = match v {
                Value::Int(i) => {
                    let h = if *i < 0 {
                        format!("-{:x}", i.unsigned_abs())
                    } else {
                        format!("{i:x}")
                    };
                    if spec.sharp {
                        if *i < 0 {
                            format!("-0x{}", &h[1..])
                        } else {
                            format!("0x{h}")
                        }
                    } else {
                        h
                    }
                }
                Value::Str(s) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                _ => return bad_verb(verb, v),
            };
            let s = if verb == 'X' { s.to_uppercase() } else { s };
            pad(s, spec, matches!(v, Value::Int(_)))
        }
        't' => match v {
            Value::Bool(b) => pad(b.to_string(), spec, false),
            _ => bad_verb(verb, v),
        },
        'T' => pad(v.type_name().to_string(), spec, false),
        'c' => match v {
            Value::Int(i) => pad(
                u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}')
                    .to_string(),
                spec,
                false,
            ),
            _ => bad_verb(verb, v),
        },
        _ => format!("%!{verb}({}={})", v.type_name(), go_value(v)),
    }
}

/// Go `fmt.Sprintf`.
pub(crate) fn go_sprintf(format: &str, args: &[Value<'_>]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut next = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&(_, d)) = chars.peek() {
            if d.is_ascii_digit() {
                width.push(d);
                chars.next();
            } else {
                break;
            }
        }
        spec.width = width.parse().ok().map(|w: usize| w.min(10_000));
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            let mut p = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if d.is_ascii_digit() {
                    p.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            spec.prec = Some(p.parse().unwrap_or(0usize).min(1000));
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            Some(v) => out.push_str(&format_one(verb, &spec, v)),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
        next += 1;
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|v| format!("{}={}", v.type_name(), go_value(v)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

pub(crate) fn sprintf<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let format = arg_str(args, 0)?;
    Ok(Value::string(go_sprintf(format, &args[1..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float_g(200.0), "200");
        assert_eq!(format_float_g(0.1), "0.1");
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(123456.0), "123456");
        assert_eq!(format_float_g(1234567.0), "1.234567e+06");
        assert_eq!(format_float_g(0.0001), "0.0001");
        assert_eq!(format_float_g(0.00001), "1e-05");
        assert_eq!(format_float_g(-2.5), "-2.5");
        assert_eq!(format_float_json(1.0), "1");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(1e-7), "1e-7");
        assert_eq!(format_float_json(123456789.0), "123456789");
    }

    #[test]
    fn sprintf_like_go() {
        let s = |f: &str, a: &[Value<'_>]| go_sprintf(f, a);
        assert_eq!(s("%dh", &[Value::Int(8)]), "8h");
        assert_eq!(s("%s-%v", &[Value::str("a"), Value::Float(1.5)]), "a-1.5");
        assert_eq!(s("%q", &[Value::str("a\"b")]), "\"a\\\"b\"");
        assert_eq!(s("%.2f", &[Value::Float(1.0 / 3.0)]), "0.33");
        assert_eq!(
            s("%05d|%-3d|", &[Value::Int(42), Value::Int(7)]),
            "00042|7  |"
        );
        assert_eq!(s("%d", &[Value::str("x")]), "%!d(string=x)");
        assert_eq!(s("%d %d", &[Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(s("%d", &[Value::Int(1), Value::Int(2)]), "1%!(EXTRA int=2)");
        assert_eq!(s("100%%", &[]), "100%");
        assert_eq!(s("%x %X", &[Value::Int(255), Value::str("hi")]), "ff 6869");
        assert_eq!(
            s("%v", &[Value::str_array(vec!["a".into(), "b".into()])]),
            "[a b]"
        );
        assert_eq!(s("%t %v", &[Value::Bool(true), Value::Nil]), "true <nil>");
        assert_eq!(s("%", &[]), "%!(NOVERB)");
        assert_eq!(s("%e", &[Value::Float(1234.5)]), "1.234500e+03");
        assert_eq!(s("%g", &[Value::Float(1e6)]), "1e+06");
    }
}
