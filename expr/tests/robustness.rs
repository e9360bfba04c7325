//! Nothing panics: hostile expressions, hostile event data, random token soup.
mod common;
use common::{ctx, sample_event};
use palisade_expr::Program;

#[test]
fn hostile_event_data() {
    let mut e = sample_event();
    e.line.raw = format!("{}\0{}", "é".repeat(10_000), "[{\"".repeat(5_000));
    e.meta.insert("nul".into(), "a\0b".into());
    e.parsed.insert("big".into(), "x".repeat(1 << 20));
    for src in [
        "UnmarshalJSON(evt.Line.Raw, evt.Unmarshaled, 'x')",
        "JsonExtract(evt.Line.Raw, 'a.b[0]')",
        "JsonExtractSlice(evt.Line.Raw, 'a')",
        "XMLGetNodeValue(evt.Line.Raw, '/a')",
        "ParseKV(evt.Line.Raw, evt.Unmarshaled, 'kv')",
        "ParseKVLax(evt.Line.Raw, evt.Unmarshaled, 'kv')",
        "evt.Line.Raw[1:2]",
        "evt.Line.Raw[-3:]",
        "evt.Meta.nul contains '\\x00'",
        "evt.Parsed.big matches '^x+$'",
        "len(Split(evt.Parsed.big, ''))",
        "B64Decode(evt.Line.Raw)",
        "PathUnescape(evt.Line.Raw + '%')",
        "Sprintf(evt.Line.Raw, 1, 2)",
        "Sprintf('%99999999999d', 1)",
        "Match(evt.Parsed.big, evt.Parsed.big)",
        "evt.Line.Raw matches evt.Line.Raw",
        "IpToRange(evt.Line.Raw, evt.Line.Raw)",
        "date(evt.Line.Raw, evt.Line.Raw)",
        "duration(evt.Line.Raw)",
        "int(evt.Line.Raw)",
        "fromJSON(evt.Line.Raw)",
        "repeat(evt.Parsed.big, 1000)",
        "1..100000000",
        "evt.Time.AddDate(100000000, 0, 0)",
        "evt.Time.Add(duration('2562047h'))",
        "-9223372036854775807 - 10",
        "abs(-9223372036854775807 - 1)",
        "9223372036854775807 * 3",
        "int(1e300)",
        "Sprintf('%.9999f', 1.5)",
        "Sprintf('%x %X %c %q %T', -255, 'a', 9999999999, 1114112, nil)",
    ] {
        let p = Program::compile(src, &ctx()).unwrap_or_else(|e| panic!("{src}: {e}"));
        let _ = p.eval(&mut e.clone());
    }
}

#[test]
fn token_soup_never_panics() {
    let atoms = [
        "evt",
        ".",
        "Meta",
        "?.",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        "#",
        "#index",
        "'a'",
        "\"b\"",
        "1",
        "-",
        "+",
        "*",
        "/",
        "%",
        "**",
        "==",
        "!=",
        "<",
        ">=",
        "&&",
        "||",
        "!",
        "not",
        "in",
        "matches",
        "contains",
        "??",
        "?",
        ":",
        ",",
        ";",
        "let",
        "x",
        "=",
        "if",
        "else",
        "nil",
        "true",
        "any",
        "map",
        "Upper",
        "Unmarshaled",
        "Parsed",
        "..",
        "`r`",
        "1.5",
        "0x",
        "1e",
        "'\\",
        "/*",
        "//",
        "startsWith",
        "Line",
        "Raw",
        "len",
        "File",
        "all",
        "filter",
        ".a",
    ];
    // deterministic pseudo-random generator
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut compiled = 0;
    for _ in 0..5_000 {
        let n = (next() % 12) as usize + 1;
        let src: Vec<&str> = (0..n)
            .map(|_| atoms[(next() % atoms.len() as u64) as usize])
            .collect();
        let src = src.join(" ");
        if let Ok(p) = Program::compile(&src, &ctx()) {
            compiled += 1;
            let _ = p.eval(&mut sample_event());
        }
    }
    assert!(compiled > 20, "some soups should compile ({compiled})");
}

#[test]
fn deep_and_long_expressions() {
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    assert!(Program::compile(&deep, &ctx()).is_ok());
    let too_deep = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
    assert!(Program::compile(&too_deep, &ctx()).is_err());
    let nots = format!("{}true", "!".repeat(5_000));
    assert!(Program::compile(&nots, &ctx()).is_err());
    let long = vec!["evt.Meta.source_ip == 'x'"; 5_000].join(" || ");
    let p = Program::compile(&long, &ctx()).unwrap();
    assert!(!p.eval_bool(&mut sample_event()).unwrap());
    let arr = format!("[{}]", vec!["'a'"; 50_000].join(","));
    assert!(Program::compile(&format!("'b' in {arr}"), &ctx()).is_ok());
}
