//! Load-time errors with 1-based line/column inside the expression.
mod common;
use common::ctx;
use palisade_expr::{Context, Program};

fn err(src: &str) -> (u32, u32, String) {
    match Program::compile(src, &ctx()) {
        Ok(_) => panic!("{src:?} compiled"),
        Err(e) => (e.line, e.column, e.message),
    }
}

#[test]
fn errors_with_positions() {
    let cases: &[(&str, u32, u32, &str)] = &[
        // syntax
        ("evt.Meta.x ==", 1, 14, "unexpected token end of expression"),
        ("evt.Meta.x == 'a", 1, 15, "literal not terminated"),
        ("(1 + 2", 1, 7, "expected ')'"),
        ("1 +* 2", 1, 4, "unexpected token '*'"),
        ("a b", 1, 3, "unexpected token"),
        ("'\\d'", 1, 2, "unable to unescape string"),
        ("1 @ 2", 1, 3, "unrecognized character"),
        ("[1, 2", 1, 6, "expected ',' or ']'"),
        ("{a 1}", 1, 4, "expected ':'"),
        ("#", 1, 1, "outside predicate"),
        ("let x = 1 x", 1, 11, "expected ';'"),
        ("if true { 1 }", 1, 14, "expected else"),
        ("evt.\nMeta.\n", 2, 5, "expected name after '.'"),
        // names, fields, functions
        (
            "evt.Foo == 'a'",
            1,
            4,
            "type pipeline.Event has no field Foo",
        ),
        ("evt.Line.Nope", 1, 9, "type types.Line has no field Nope"),
        ("evt.Meta.x.y", 1, 11, "type string has no field y"),
        ("foo == 1", 1, 1, "unknown name foo"),
        ("Foo('a')", 1, 1, "unknown name Foo"),
        ("upper", 1, 1, "function upper must be called"),
        ("Alert.GetScope()", 1, 1, "unknown name Alert"),
        (
            "evt.Nope()",
            1,
            4,
            "type *pipeline.Event has no method Nope",
        ),
        ("evt.Time.Nope()", 1, 9, "type time.Time has no method Nope"),
        (
            "evt.Meta.x.Upper()",
            1,
            11,
            "type string has no method Upper",
        ),
        // arity
        ("Upper()", 1, 1, "not enough arguments to call Upper"),
        ("Upper('a', 'b')", 1, 1, "too many arguments to call Upper"),
        (
            "evt.GetMeta()",
            1,
            4,
            "not enough arguments to call GetMeta",
        ),
        (
            "evt.SetMeta('a')",
            1,
            4,
            "not enough arguments to call SetMeta",
        ),
        ("any([1])", 1, 1, "not enough arguments to call any"),
        ("IpInRange('1.2.3.4')", 1, 1, "not enough arguments"),
        // types
        (
            "evt.Parsed.x + 1",
            1,
            14,
            "invalid operation: + (mismatched types string and int)",
        ),
        (
            "evt.Meta.x == 1",
            1,
            12,
            "invalid operation: == (mismatched types string and int)",
        ),
        ("evt.Meta.x < 1", 1, 12, "mismatched types string and int"),
        (
            "Upper(1)",
            1,
            7,
            "cannot use int as argument (type string) to call Upper",
        ),
        (
            "IpInRange(evt.Meta.x, 24)",
            1,
            23,
            "cannot use int as argument",
        ),
        (
            "evt.Meta.x contains 1",
            1,
            12,
            "mismatched types string and int",
        ),
        (
            "evt.Meta.x and true",
            1,
            12,
            "mismatched types string and bool",
        ),
        ("not evt.Meta.x", 1, 1, "invalid operation: !"),
        ("evt.Meta.x ? 1 : 2", 1, 9, "used as condition"),
        ("'a' in 'abc'", 1, 5, "mismatched types string and string"),
        (
            "1 in evt.Meta",
            1,
            3,
            "mismatched types int and map[string]string",
        ),
        ("all([1], {'x'})", 1, 10, "predicate should return boolean"),
        ("any(1, {# > 0})", 1, 5, "builtin any takes only array"),
        (
            "UnmarshalJSON(evt.Line.Raw, evt.Meta, 'x')",
            1,
            32,
            "cannot use map[string]string as argument",
        ),
        ("-'a'", 1, 1, "invalid operation: -"),
        ("'a' % 2", 1, 5, "mismatched types string and int"),
        ("evt.Time + 1", 1, 10, "mismatched types time.Time and int"),
        // regex literals are compiled at load time
        ("evt.Meta.x matches '('", 1, 20, "error parsing regexp"),
        ("evt.Meta.x matches 'a{2,1}'", 1, 20, "error parsing regexp"),
    ];
    let mut failures = Vec::new();
    for (src, line, col, msg) in cases {
        let (l, c, m) = err(src);
        if (l, c) != (*line, *col) || !m.contains(msg) {
            failures.push(format!(
                "{src:?}: want {line}:{col} {msg:?}, got {l}:{c} {m:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn display_includes_position() {
    let e = Program::compile("evt.Foo", &ctx()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "type pipeline.Event has no field Foo (line 1, column 4)"
    );
}

#[test]
fn evt_is_unknown_without_an_event_context() {
    let c = Context::without_event().declare("Alert");
    assert!(Program::compile("evt.Meta.x == ''", &c).is_err());
    assert!(Program::compile("Alert.Remediation == true", &c).is_ok());
}

#[test]
fn valid_expressions_compile() {
    for src in [
        "evt.Meta.x == nil",
        "evt.Unmarshaled.a.b + 1 > 2",
        "evt.Unmarshaled.a contains 'x'",
        "evt.Meta['a-b'] == ''",
        "let evt2 = evt; evt2.Meta.x == ''",
        "len(evt.Meta) > 0 && 'x' in evt.Meta",
        "evt.Parsed.x matches evt.Parsed.y",
        "evt.Time.Weekday().String() in ['Saturday', 'Sunday']",
    ] {
        if let Err(e) = Program::compile(src, &ctx()) {
            panic!("{src:?}: {e}");
        }
    }
}
