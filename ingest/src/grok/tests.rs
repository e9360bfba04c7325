use super::compile::{self, references, rewrite, Expanded};
use super::*;
use std::collections::{BTreeMap, HashMap};

fn lib(defs: &str) -> GrokLibrary {
    let mut library = GrokLibrary::new();
    library.load_str("test", defs).unwrap();
    library
}

fn caps(grok: &Grok, input: &str) -> Option<BTreeMap<String, String>> {
    grok.captures(input).map(|c| {
        c.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

fn map(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// A small deterministic PRNG (xorshift64*), so the random tests need no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn grok_builtin_loads_and_matches_the_directory() {
    let builtin = GrokLibrary::builtin();
    let mut fresh = GrokLibrary::new();
    for (name, text) in GrokLibrary::builtin_files() {
        fresh
            .load_str(name, text)
            .unwrap_or_else(|e| panic!("built-in patterns: {e}"));
    }
    assert_eq!(builtin.len(), fresh.len());
    let mut dir = GrokLibrary::new();
    let added = dir
        .load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/patterns"))
        .unwrap();
    assert_eq!(added, builtin.len());
    for name in builtin.names() {
        assert_eq!(dir.get(name), builtin.get(name), "{name}");
    }
    for expected in [
        "IP",
        "IPV4",
        "IPV6",
        "HOSTNAME",
        "IPORHOST",
        "INT",
        "NUMBER",
        "WORD",
        "NOTSPACE",
        "DATA",
        "GREEDYDATA",
        "QUOTEDSTRING",
        "URIPATH",
        "URIPARAM",
        "HTTPDATE",
        "SYSLOGTIMESTAMP",
        "TIMESTAMP_ISO8601",
        "LOGLEVEL",
        "SYSLOGLINE",
        "COMBINEDAPACHELOG",
        "NGINXACCESS",
        "NGINXERROR",
        "SSHD_FAILED_PASSWORD",
        "POSTFIX_SASL_FAILED",
        "MYSQL_ACCESS_DENIED",
    ] {
        assert!(
            builtin.contains(expected),
            "{expected} missing from the built-in library"
        );
    }
}

#[test]
fn grok_builtin_every_definition_compiles() {
    let library = GrokLibrary::builtin();
    for name in library.names() {
        let grok = Grok::compile_named(&library, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let wrapped = Grok::compile(&library, &format!("%{{{name}}}")).unwrap();
        let a: Vec<_> = grok.field_names().collect();
        let b: Vec<_> = wrapped.field_names().collect();
        assert_eq!(a, b, "{name}");
    }
}

/// Every semantic name used anywhere in the expansion of `pattern`, with repetitions.
fn all_semantics<'a>(library: &'a GrokLibrary, pattern: &'a str, out: &mut Vec<&'a str>) {
    for r in references(pattern) {
        if let Some(field) = r.field {
            out.push(field);
        }
        if let Some(def) = library.get(r.name) {
            all_semantics(library, def, out);
        }
    }
}

#[test]
fn grok_builtin_never_exports_a_name_twice() {
    let library = GrokLibrary::builtin();
    for name in library.names() {
        let mut names = Vec::new();
        all_semantics(&library, library.get(name).unwrap(), &mut names);
        let mut seen = HashMap::new();
        for n in names {
            *seen.entry(n).or_insert(0) += 1;
        }
        let dups: Vec<_> = seen.into_iter().filter(|(_, c)| *c > 1).collect();
        assert!(dups.is_empty(), "{name} exports {dups:?} more than once");
    }
}

/// The true number of groups a stretch of pattern text opens.
fn true_cap_count(text: &str) -> i64 {
    rewrite(text, &|_| true)
        .map(|r| r.groups as i64)
        .unwrap_or(-1000)
}

/// Expands `pattern` one level like `compile::expand`, but counting literal groups exactly.
fn exact_fields(library: &GrokLibrary, pattern: &str) -> Vec<(String, i64)> {
    let refs = references(pattern);
    let top: Vec<&str> = refs.iter().map(|r| r.field.unwrap_or("")).collect();
    let mut fields: Vec<(String, i64)> = Vec::new();
    let mut set = |name: &str, index: i64| match fields.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = index,
        None => fields.push((name.to_string(), index)),
    };
    let mut order = 1;
    let mut last = 0;
    for r in &refs {
        order += true_cap_count(&pattern[last..r.start]);
        let sub: &Expanded = &library.definition(r.name).unwrap().expanded;
        if let Some(f) = r.field {
            set(f, order);
        }
        for (n, i) in &sub.fields {
            if !top.contains(&n.as_str()) {
                set(n, order + i);
            }
        }
        order += sub.groups as i64 + 1;
        last = r.end;
    }
    fields
}

#[test]
fn grok_builtin_group_indices_are_exact() {
    let library = GrokLibrary::builtin();
    for name in library.names() {
        let def = library.get(name).unwrap();
        let grokky = &library.definition(name).unwrap().expanded.fields;
        assert_eq!(
            grokky,
            &exact_fields(&library, def),
            "{name}: grokky's group count is off"
        );
    }
}

#[test]
fn grok_hub_quirk_is_reproduced() {
    // `|-) +(` fools grokky's textual count: the fields after it read the group before.
    let library = lib("A [a-z]+\nQ (?:%{A:x}|-) +(-|%{A:y}) %{A:z}");
    let grok = Grok::compile_named(&library, "Q").unwrap();
    let fields = &library.definition("Q").unwrap().expanded.fields;
    assert_eq!(
        fields,
        &vec![
            ("x".to_string(), 1),
            ("y".to_string(), 2),
            ("z".to_string(), 3)
        ]
    );
    // Go numbering: 1 = A:x, 2 = (-|…), 3 = A:y, 4 = A:z.
    assert_eq!(
        caps(&grok, "a b c"),
        map(&[("x", "a"), ("y", "b"), ("z", "b")])
    );
}

#[test]
fn grok_duplicate_rules() {
    let library = lib("W [a-z]+\nPAIR %{W:x} %{W:y}\nTRIPLE %{PAIR} %{W:x}");
    // TRIPLE: its own x wins over PAIR's x; PAIR's y is exported.
    let triple = Grok::compile_named(&library, "TRIPLE").unwrap();
    assert_eq!(caps(&triple, "a b c"), map(&[("x", "c"), ("y", "b")]));
    // Top level: `y` and `z` are used at top level, so nested y is dropped; among nested x's
    // (TRIPLE's, then PAIR's) the later wins.
    let grok = Grok::compile(&library, "^%{TRIPLE} %{PAIR:y} %{W:z}$").unwrap();
    assert_eq!(
        caps(&grok, "a b c d e f"),
        map(&[("x", "d"), ("y", "d e"), ("z", "f")])
    );
    // Later top-level wins.
    let grok = Grok::compile(&library, "^%{W:v} %{W:v}$").unwrap();
    assert_eq!(caps(&grok, "a b"), map(&[("v", "b")]));
    // Only one index is kept: the first branch's x is lost.
    let grok = Grok::compile(&library, "^(?:%{W:x} a|b %{W:x})$").unwrap();
    assert_eq!(caps(&grok, "q a"), map(&[("x", "")]));
    assert_eq!(caps(&grok, "b q"), map(&[("x", "q")]));
}

#[test]
fn grok_no_field_means_no_match() {
    let library = lib("W [a-z]+");
    let grok = Grok::compile(&library, "^%{W}$").unwrap();
    assert!(grok.captures("abc").is_none());
    assert!(!grok.is_match("abc"));
    let grok = Grok::compile(&library, "^(?P<native>[a-z]+)$").unwrap();
    assert!(grok.captures("abc").is_none());
    let grok = Grok::compile(&library, "^%{W:w}$").unwrap();
    assert!(grok.is_match("abc"));
    let c = grok.captures("abc").unwrap();
    assert_eq!(
        (c.len(), c.get("w"), c.get("nope"), c.span("w")),
        (1, Some("abc"), None, Some(0..3))
    );
    assert_eq!(c.matched(), "abc");
}

#[test]
fn grok_unknown_and_invalid() {
    let library = lib("W [a-z]+");
    let e = Grok::compile(&library, "%{W:a} %{NOPE:b}").unwrap_err();
    assert!(
        matches!(&e, GrokError::UnknownPattern { name, .. } if name == "NOPE"),
        "{e}"
    );
    assert!(e.to_string().contains("%{NOPE}"), "{e}");
    let e = Grok::compile(&library, "%{W:a}(").unwrap_err();
    assert!(matches!(e, GrokError::InvalidRegex { .. }), "{e}");
    assert!(Grok::compile(&library, "").is_err());
    assert!(Grok::compile_named(&library, "NOPE").is_err());
    // Backreferences and lookarounds are not RE2.
    assert!(Grok::compile(&library, "%{W:a}\\1").is_err());
    assert!(Grok::compile(&library, "(?=a)%{W:a}").is_err());
}

#[test]
fn grok_pattern_syntax_first_wins() {
    let mut library = lib("W [a-z]+");
    assert!(library.add("GREETING", "hello %{W:who}").unwrap());
    assert!(!library.add("GREETING", "bye %{W:who}").unwrap());
    // A redefinition is not even checked (CrowdSec only warns).
    assert!(!library.add("GREETING", "%{MISSING}").unwrap());
    assert_eq!(library.get("GREETING"), Some("hello %{W:who}"));
    // A new definition must be valid, and may only use what exists.
    assert!(library.add("LATER", "%{NOT_YET}").is_err());
    assert!(library.add("", "x").is_err());
    assert!(library.add("EMPTY", "").is_err());
    assert!(!library.contains("LATER"));
    let grok = Grok::compile(&library, "%{GREETING}").unwrap();
    assert_eq!(caps(&grok, "hello bob"), map(&[("who", "bob")]));
}

#[test]
fn grok_load_errors_name_both_places() {
    let mut library = GrokLibrary::new();
    library.load_str("one", "# comment\nX a\n").unwrap();
    let e = library.load_str("two", "\nY b\nX c\n").unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("two:3") && text.contains("one:2") && text.contains('X'),
        "{text}"
    );
    let e = GrokLibrary::new()
        .load_str("f", "A %{B}\nB x\n")
        .unwrap_err();
    assert!(
        matches!(&e, GrokError::UnknownPattern { name, .. } if name == "B"),
        "{e}"
    );
    assert!(e.to_string().contains("f:1"), "{e}");
    let e = GrokLibrary::new().load_str("f", "A (\n").unwrap_err();
    assert!(matches!(e, GrokError::InvalidRegex { .. }), "{e}");
}

#[test]
fn grok_load_dir_skips_dotted_and_sorts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b_second"), "B %{A}x\n").unwrap();
    std::fs::write(dir.path().join("a_first"), "A a\r\nNOT A LINE\n").unwrap();
    std::fs::write(dir.path().join("c.yaml"), "C %{MISSING}\n").unwrap();
    std::fs::create_dir(dir.path().join("d_dir")).unwrap();
    let mut library = GrokLibrary::new();
    assert_eq!(library.load_dir(dir.path()).unwrap(), 3);
    assert_eq!(library.get("A"), Some("a"));
    assert_eq!(library.get("NOT"), Some("A LINE"));
    assert!(!library.contains("C"));
    // On top of existing definitions: the first one stays.
    let mut overlay = lib("A first");
    assert_eq!(overlay.overlay_dir(dir.path()).unwrap(), 2);
    assert_eq!(overlay.get("A"), Some("first"));
    assert_eq!(overlay.get("B"), Some("%{A}x"));
    let e = GrokLibrary::new()
        .load_dir(dir.path().join("nope"))
        .unwrap_err();
    assert!(matches!(e, GrokError::Io { .. }));
}

#[test]
fn grok_re2_semantics() {
    let library = lib("D \\d+\nS \\s\nW \\w+\nB \\bx\\b");
    let grok = Grok::compile(&library, "^%{D:d}%{S:s}%{W:w}$").unwrap();
    assert_eq!(
        caps(&grok, "12\tab_9"),
        map(&[("d", "12"), ("s", "\t"), ("w", "ab_9")])
    );
    assert_eq!(caps(&grok, "١٢ ab"), None);
    assert_eq!(caps(&grok, "12\u{0B}ab"), None);
    assert_eq!(
        caps(&grok, "12\u{0C}ab"),
        map(&[("d", "12"), ("s", "\u{0C}"), ("w", "ab")])
    );
    assert_eq!(caps(&grok, "12 é"), None);
    assert_eq!(caps(&grok, "12\u{A0}ab"), None);
    // ASCII word boundary: é is not a word character, so `éx` has a boundary before x.
    let grok = Grok::compile(&library, "%{B:b}").unwrap();
    assert_eq!(caps(&grok, "éx"), map(&[("b", "x")]));
    assert_eq!(caps(&grok, "ax"), None);
    let grok = Grok::compile(&library, "^%{W:w}\\B%{W:v}$").unwrap();
    assert!(grok.captures("ab").is_some());
    // `\<` and `\>` are literals in Go.
    let grok = Grok::compile(&library, "^\\<%{W:w}\\>$").unwrap();
    assert_eq!(caps(&grok, "<a>"), map(&[("w", "a")]));
    // Case folding is Unicode-aware in both.
    let grok = Grok::compile(&library, "^(?i)k%{W:w}$").unwrap();
    assert_eq!(caps(&grok, "\u{212A}a"), map(&[("w", "a")]));
}

#[test]
fn grok_braces_stay_literal_unless_repetition() {
    let library = GrokLibrary::builtin();
    let grok = Grok::compile(&library, "^{\"ip\":\"%{IP:ip}\",\"n\":%{INT:n}}$").unwrap();
    assert_eq!(
        caps(&grok, "{\"ip\":\"1.2.3.4\",\"n\":5}"),
        map(&[("ip", "1.2.3.4"), ("n", "5")])
    );
    let grok = Grok::compile(&library, "^%{WORD:w}{,2}{x}a{2}$").unwrap();
    assert_eq!(caps(&grok, "ab{,2}{x}aa"), map(&[("w", "ab")]));
    let grok = Grok::compile(&library, "^%{WORD:w} %{INT:n:int}$").unwrap();
    assert_eq!(caps(&grok, "ab %{INT:n:int}"), map(&[("w", "ab")]));
    assert_eq!(caps(&grok, "ab 12"), None);
}

#[test]
fn grok_builtin_network_patterns() {
    let library = GrokLibrary::builtin();
    let ip = Grok::compile(&library, "^%{IP:ip}$").unwrap();
    for good in [
        "1.2.3.4",
        "255.255.255.255",
        "10.0.0.245",
        "::",
        "::1",
        "2001:db8::1",
        "fe80::1%eth0",
        "2001:db8:0:0:1:0:0:1",
        "::ffff:192.0.2.128",
        "64:ff9b::192.0.2.33",
        "1:2:3:4:5:6:7:8",
        "1::8",
        "1:2:3:4:5:6::8",
        "1::3:4:5:6:7:8",
        "2001:DB8::A:B",
    ] {
        assert_eq!(caps(&ip, good), map(&[("ip", good)]), "{good}");
    }
    for bad in [
        "1.2.3",
        "256.1.1.1",
        "1.2.3.4.5",
        "1:2:3:4:5:6:7:8:9",
        "12345::",
        "1:::2",
        "host",
    ] {
        assert_eq!(caps(&ip, bad), None, "{bad}");
    }
    // Unanchored, an address is taken whole.
    let ip = Grok::compile(&library, "from %{IP:ip}").unwrap();
    assert_eq!(
        caps(&ip, "from 2001:db8::1:2 port 2").unwrap()["ip"],
        "2001:db8::1:2"
    );
    assert_eq!(
        caps(&ip, "from 10.0.0.245 port 2").unwrap()["ip"],
        "10.0.0.245"
    );
    let host = Grok::compile(&library, "^%{IPORHOST:h}$").unwrap();
    for good in [
        "example.com",
        "a-b.c_d.example",
        "localhost",
        "1.2.3.4",
        "x1",
    ] {
        assert_eq!(caps(&host, good), map(&[("h", good)]), "{good}");
    }
    assert_eq!(caps(&host, "-bad"), None);
}

#[test]
fn grok_builtin_dates_and_levels() {
    let library = GrokLibrary::builtin();
    let check = |pattern: &str, good: &[&str], bad: &[&str]| {
        let grok = Grok::compile(&library, &format!("^%{{{pattern}:v}}$")).unwrap();
        for g in good {
            assert_eq!(caps(&grok, g), map(&[("v", g)]), "{pattern} {g}");
        }
        for b in bad {
            assert_eq!(caps(&grok, b), None, "{pattern} {b}");
        }
    };
    check(
        "SYSLOGTIMESTAMP",
        &["Feb 12 14:10:21", "Jan  5 04:01:02", "Sep 30 23:59:60"],
        &["Foo 12 14:10:21", "Feb 12 24:10:21"],
    );
    check(
        "TIMESTAMP_ISO8601",
        &[
            "2024-01-05T14:10:21Z",
            "2024-12-31 23:59:59.123456+02:00",
            "2024-01-05T14:10:21.5-0500",
            "2024-01-05T14:10",
        ],
        &["2024-13-05T14:10:21Z", "24-01-05T14:10:21Z"],
    );
    check(
        "HTTPDATE",
        &["10/Oct/2000:13:55:36 -0700", "5/Jan/2024:01:02:03 +0000"],
        &["10/Oct/2000 13:55:36"],
    );
    check(
        "LOGLEVEL",
        &[
            "error", "ERROR", "warn", "Warning", "info", "crit", "emerg", "notice", "debug",
        ],
        &["errors", "nope"],
    );
    check("MONTHNUM", &["1", "01", "10", "12"], &["13", "0"]);
    check(
        "QUOTEDSTRING",
        &["\"a \\\" b\"", "''", "'x'", "`y`"],
        &["\"a", "\"a\" b\""],
    );
}

#[test]
fn grok_prefilter_literals() {
    let library = GrokLibrary::builtin();
    let grok = Grok::compile(&library, "%{SSHD_FAILED_PASSWORD}").unwrap();
    let pre = grok.prefilter().expect("literals");
    assert!(
        pre.literals().iter().any(|l| l.starts_with("Failed ")),
        "{:?}",
        pre.literals()
    );
    assert!(
        pre.literals().iter().any(|l| l.contains(" from ")),
        "{:?}",
        pre.literals()
    );
    assert!(!pre.may_match("Accepted password for bob from 1.2.3.4 port 22"));
    let grok = Grok::compile(&library, "%{NGINXACCESS}").unwrap();
    let pre = grok.prefilter().expect("literals");
    assert!(
        pre.literals().iter().any(|l| l.contains("\" ")),
        "{:?}",
        pre.literals()
    );
    // Alternations contribute only what every branch needs; optional parts nothing.
    let grok = Grok::compile(&library, "^(?:abcd %{INT:x}|efgh %{INT:x})(?: ijkl)?$").unwrap();
    assert!(grok.prefilter().is_none());
    let grok = Grok::compile(&library, "(?i)hello %{WORD:w}").unwrap();
    assert!(grok.prefilter().is_none());
    let grok = Grok::compile(&library, "(?:xyz %{INT:a}|xyz %{WORD:a}) (?:end){2}").unwrap();
    assert_eq!(grok.prefilter().unwrap().literals(), ["xyz ", "end"]);
    // Disabling it changes nothing but speed.
    let plain = grok.clone().without_prefilter();
    assert_eq!(caps(&plain, "xyz 1 endend"), caps(&grok, "xyz 1 endend"));
}

fn random_line(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "Failed password for ",
        "invalid user ",
        "root",
        " from ",
        "1.2.3.4",
        "::1",
        " port ",
        "22",
        " ssh2",
        "sshd[123]: ",
        "Feb 12 14:10:21 ",
        "host ",
        "\"GET / HTTP/1.1\" ",
        "200 ",
        "-",
        "[10/Oct/2000:13:55:36 -0700] ",
        "{",
        "}",
        "%{",
        "\\",
        "é",
        "١",
        "\u{0B}",
        "\t",
        " ",
        ":",
        "[",
        "]",
        "\"",
        "'",
        "a",
        "Z",
        "0",
    ];
    let mut line = String::new();
    for _ in 0..rng.below(24) {
        if rng.below(4) == 0 {
            let bytes: Vec<u8> = (0..rng.below(6)).map(|_| rng.next() as u8).collect();
            line.push_str(&String::from_utf8_lossy(&bytes));
        } else {
            line.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    line
}

#[test]
fn grok_random_input_never_panics_and_prefilter_is_sound() {
    let library = GrokLibrary::builtin();
    let groks: Vec<Grok> = library
        .names()
        .into_iter()
        .filter_map(|name| Grok::compile_named(&library, name).ok())
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let line = random_line(&mut rng);
        for grok in &groks {
            let plain = grok.clone().without_prefilter();
            let full = plain.captures(&line).map(|c| c.iter().count());
            if full.is_some() {
                if let Some(p) = grok.prefilter() {
                    assert!(
                        p.may_match(&line),
                        "{}: prefilter rejects a match: {line:?}",
                        grok.pattern()
                    );
                }
            }
            assert_eq!(grok.captures(&line).map(|c| c.iter().count()), full);
            assert_eq!(grok.is_match(&line), full.is_some());
        }
    }
}

/// The capture engine (lazy DFA span, then a backtracker on it, either kind) gives exactly the
/// slots of the `meta` regex run alone, on random lines and on realistic ones, for every built-in
/// pattern.
#[test]
fn grok_capture_engine_matches_the_reference() {
    let library = GrokLibrary::builtin();
    let groks: Vec<Grok> = library
        .names()
        .into_iter()
        .filter_map(|name| Grok::compile_named(&library, name).ok())
        .chain(
            [
                "%{IPORHOST:a} %{DATA:b} (%{INT:c}|%{WORD:d})?%{GREEDYDATA:e}",
                "(%{IPORHOST:fqdn}(:%{INT:port})? )?%{IPORHOST:addr} - \\[%{HTTPDATE:t}\\]",
                "(?:%{WORD:w} )*%{NUMBER:n}\\b",
            ]
            .iter()
            .map(|p| Grok::compile(&library, p).unwrap()),
        )
        .collect();
    let mut lines: Vec<String> = vec![
        "Feb 12 14:10:21 sd-126005 sshd[16378]: Failed password for invalid user pascal from 35.188.49.176 port 53502 ssh2".into(),
        "192.168.1.20 - - [12/Feb/2024:14:10:21 +0100] \"GET /index.php?id=1 HTTP/1.1\" 200 1534 \"-\" \"curl/8\"".into(),
        "example.org:443 2001:db8::1 - [12/Feb/2024:14:10:21 +0100] x".into(),
        "a b c 12 d 3.5".into(),
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    lines.extend((0..200).map(|_| random_line(&mut rng)));
    for line in &lines {
        for grok in &groks {
            let reference = grok
                .reference_slots(line)
                .filter(|_| !grok.fields.is_empty());
            let plain = grok.clone().without_prefilter();
            let ours = plain.captures(line).map(|c| c.slots());
            assert_eq!(ours, reference, "{} on {line:?}", grok.pattern());
            let on_span = plain.dfa_first();
            let ours = on_span.captures(line).map(|c| c.slots());
            assert_eq!(
                ours,
                reference,
                "on the DFA's span: {} on {line:?}",
                grok.pattern()
            );
        }
    }
}

#[test]
fn grok_random_patterns_never_panic() {
    let library = GrokLibrary::builtin();
    const PIECES: &[&str] = &[
        "%{IP:ip}",
        "%{WORD}",
        "%{NOPE}",
        "%{INT:n:int}",
        "%{",
        "}",
        "{",
        "{2}",
        "{1,",
        "{,3}",
        "(",
        ")",
        "(?:",
        "(?i)",
        "(?P<x>",
        "(?<",
        "[",
        "]",
        "[^",
        "[:alpha:]",
        "\\",
        "\\d",
        "\\S",
        "\\b",
        "\\Q",
        "\\E",
        "\\x",
        "\\x{41}",
        "\\p{Greek}",
        "\\pL",
        "\\1",
        "\\01",
        "-",
        "&&",
        "~~",
        "|",
        "*",
        "+",
        "?",
        ".",
        "^",
        "$",
        "a",
        "é",
        " ",
    ];
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let pattern: String = (0..rng.below(12))
            .map(|_| PIECES[rng.below(PIECES.len())])
            .collect();
        if let Ok(grok) = Grok::compile(&library, &pattern) {
            let _ = grok.captures("a 1.2.3.4 é {x} 12");
        }
        let mut scratch = GrokLibrary::new();
        let _ = scratch.add("X", &pattern);
        let _ = compile::grokky_cap_count(&pattern);
    }
}

#[test]
fn grok_types_are_shareable() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Grok>();
    shareable::<GrokLibrary>();
    shareable::<Prefilter>();
}

#[test]
fn grok_many_groups_use_heap_slots() {
    let mut defs = String::from("W [a-z]\n");
    let pattern: String = (0..40).map(|i| format!("%{{W:f{i}}}")).collect();
    defs.push_str(&format!("MANY {pattern}\n"));
    let library = lib(&defs);
    let grok = Grok::compile_named(&library, "MANY").unwrap();
    let input: String = (0..40).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let c = grok.captures(&input).unwrap();
    assert_eq!(c.len(), 40);
    assert_eq!(c.get("f39"), Some("n"));
}

/// Class loops (`.*`, `[^"]*`, `\S+`, `\d+`, Unicode classes, lazy `.*?` and `[^ ]+?`), which
/// the lazily cleared backtracker consumes in one step, give the reference's slots: runs that must back off (one
/// byte, one multi-byte character, several times), empty runs, runs cut by a character outside
/// the class (`\n` for `.`), anchors, and loops that follow each other.
#[test]
fn grok_class_loops_match_the_reference() {
    let library = lib(concat!(
        "ANY .*\n",
        "SOME .+\n",
        "NOQUOTE [^\"]*\n",
        "NOSPACE \\S+\n",
        "DIGITS \\d+\n",
        "LETTERS \\p{L}*\n",
        "ASCII [\\x00-\\x7F]*\n",
        "SOMEACCENTS [a-zé]*\n",
        "LAZY .*?\n",
        "LAZYWORD [^ ]+?\n",
    ));
    let patterns = [
        "%{ANY:a}",
        "^%{ANY:a}$",
        "%{ANY:a}%{ANY:b}",
        "%{ANY:a}é%{ANY:b}",
        "%{ANY:a}x",
        "^%{SOME:a} %{SOME:b}$",
        "%{ANY:a}\\b%{DIGITS:n}",
        "%{ANY:a}(?:%{DIGITS:n}|%{LETTERS:l})$",
        "\"%{NOQUOTE:q}\" %{NOSPACE:s} %{ANY:rest}",
        "%{NOQUOTE:q}\"%{NOQUOTE:r}$",
        "%{NOSPACE:s}%{DIGITS:n}",
        "%{LETTERS:l}%{ANY:rest}",
        "%{LETTERS:l}é",
        "(?:%{NOSPACE:w} )*%{DIGITS:n}",
        "%{ASCII:b}",
        "%{ASCII:b}z",
        "%{SOMEACCENTS:w}é%{ANY:rest}",
        "%{LAZY:a}",
        "%{LAZY:a}$",
        "%{LAZY:a} %{LAZY:b}$",
        "%{LAZY:a}x%{LAZY:b}",
        "%{LAZY:a}é%{ANY:b}",
        "^%{LAZY:a}%{DIGITS:n}",
        "\"%{LAZY:q}\" %{LAZYWORD:w} %{ANY:rest}",
        "%{LAZYWORD:w}%{DIGITS:n}\\b",
        "(?:%{LAZYWORD:w} )*?%{DIGITS:n}$",
    ];
    let lines = [
        "",
        "x",
        "abc",
        "abcx",
        "abcxdefx",
        "a\nb x",
        "\nx",
        "é",
        "aéb",
        "éééx",
        "日本語x",
        "😀😀 x é😀",
        "1 2 3 é 45",
        "word 12 word34",
        "abc123",
        "héllo wörld 42",
        "\"quoted é\" token rest of line",
        "a\"b\"c\"d",
        "\"\" - -",
        "Feb 12 14:10:21 host sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
    ];
    for pattern in patterns {
        let grok = Grok::compile(&library, pattern).unwrap();
        assert!(grok.engine.class_loops() > 0, "{pattern}");
        assert_captures_as_the_reference(&grok, lines);
    }
}

/// `grok` gives the reference's slots on every line, directly and on the DFA's span (a
/// pattern that exports no field gives none).
fn assert_captures_as_the_reference<'l>(grok: &Grok, lines: impl IntoIterator<Item = &'l str>) {
    let on_span = grok.clone().dfa_first();
    let pattern = grok.pattern();
    for line in lines {
        let reference = grok
            .reference_slots(line)
            .filter(|_| !grok.fields.is_empty());
        let ours = grok.captures(line).map(|c| c.slots());
        assert_eq!(ours, reference, "{pattern} on {line:?}");
        let ours = on_span.captures(line).map(|c| c.slots());
        assert_eq!(ours, reference, "on the DFA's span: {pattern} on {line:?}");
    }
}

/// Bounded repetitions of a one-byte class, which the backtracker takes in one step (up to the
/// bound, then backing off), give the reference's slots: runs longer and shorter than the
/// bound, runs that must back off for what follows, and bounded runs next to each other.
#[test]
fn grok_bounded_chains_match_the_reference() {
    let mut library = GrokLibrary::builtin();
    library
        .load_str(
            "test",
            concat!(
                "HEX4 [0-9A-Fa-f]{1,4}\n",
                "LABEL [0-9A-Za-z][0-9A-Za-z-]{0,6}\n",
                "UPTO3 a{0,3}\n",
            ),
        )
        .unwrap();
    let patterns = [
        "%{HEX4:h}:",
        "^%{HEX4:a}%{HEX4:b}$",
        "(?:%{HEX4:g}:){2}%{HEX4:last}",
        "%{LABEL:l}(?:\\.%{LABEL:m})*\\b",
        "^%{UPTO3:a}%{UPTO3:b}a$",
        "%{UPTO3:a}b",
        "x%{UPTO3:a}(?:a|b)",
        "%{IPORHOST:host} %{HEX4:h}",
    ];
    let lines = [
        "",
        "a",
        "aaaaab",
        "aab",
        "xaaab",
        "xaaaab",
        "dead:beef:1",
        "12345:6",
        "fe80::1 a",
        "66.249.71.62 - -",
        "sub-domain.example-1.org cafe",
        "a-very-long-label.x",
    ];
    for pattern in patterns {
        let grok = Grok::compile(&library, pattern).unwrap();
        assert_captures_as_the_reference(&grok, lines);
    }
}

/// Large optional groups get a look-ahead guard (and nothing else does: small groups,
/// alternations, loops, lazy `??`); with the guards the captures are still the reference's:
/// groups that match and are kept, groups that match but must be skipped for the rest to
/// match, groups longer than the look-ahead, and matches that start later in the line.
#[test]
fn grok_guarded_optional_groups_match_the_reference() {
    let library = GrokLibrary::builtin();
    let guarded = [
        "(%{IPORHOST:fqdn}(:%{INT:port})? )?%{IPORHOST:addr} - %{WORD:w}",
        "^(%{IPORHOST:fqdn} )?%{IPORHOST:addr} %{NOTSPACE:rest}$",
        "x(?:%{IPV6:v6}|%{IPV4:v4})?( %{HOSTNAME:h})?\\b",
        "(?:\\[%{IPORHOST:inner}\\] )?%{INT:n}",
    ];
    // Each with the same pattern without the group's operator: as many guards (those inside
    // `IPORHOST`'s own expansion), none for the operator.
    let unguarded = [
        ("(%{INT:a} )?%{WORD:w}", "%{INT:a} %{WORD:w}"),
        ("(?:%{IPORHOST:x}|%{WORD:y}) z", "%{IPORHOST:x}%{WORD:y} z"),
        ("(?:%{IPORHOST:x} )*%{WORD:w}", "%{IPORHOST:x} %{WORD:w}"),
        ("(?:%{IPORHOST:x} )??%{WORD:w}", "%{IPORHOST:x} %{WORD:w}"),
    ];
    let lines = [
        "",
        "-",
        "1.2.3.4 - GET",
        "example.org 1.2.3.4 - GET",
        "example.org:8080 1.2.3.4 - GET",
        "example.org:80 - - GET",
        "fe80::1 2001:db8::2 - x",
        "a.very-long-host-name.with-many-labels.example-domain.org 10.0.0.1 - y",
        "a.very-long-host-name.with-many-labels.example-domain.org - - y",
        "junk 1.2.3.4 - GET",
        "x10.0.0.1 host.example b",
        "x2001:db8::1 b",
        "x host",
        "[10.0.0.1] 42",
        "[10.0.0.1 42",
        "[a-host-name-that-is-longer-than-the-look-ahead-of-a-guard.example] 7",
    ];
    for pattern in guarded {
        let grok = Grok::compile(&library, pattern).unwrap();
        let without = pattern.replace(")?", ")");
        let base = Grok::compile(&library, &without).unwrap();
        assert!(
            grok.engine.guards() > base.engine.guards(),
            "{pattern}: no guard"
        );
        assert_captures_as_the_reference(&grok, lines);
    }
    for (pattern, without) in unguarded {
        let grok = Grok::compile(&library, pattern).unwrap();
        let base = Grok::compile(&library, without).unwrap();
        assert_eq!(grok.engine.guards(), base.engine.guards(), "{pattern}");
        assert_captures_as_the_reference(&grok, lines);
    }
}

/// Random patterns made of bounded repetitions, class loops (greedy and lazy), alternations and
/// optional groups, on random short lines over a small alphabet: the capture engine, with and
/// without the DFA pass, gives exactly the reference's slots.
#[test]
fn grok_random_patterns_capture_as_the_reference() {
    let mut library = GrokLibrary::builtin();
    library
        .load_str(
            "test",
            concat!(
                "HEX [0-9a-f]{1,3}\n",
                "LOW [a-z]{0,2}\n",
                "DIG \\d{2,4}\n",
                "ALT (?:ab|a){0,2}\n",
                "ANY .*\n",
                "LAZY [a-c]*?\n",
                "OPT x?\n",
                "WRD \\b\\w+\\b\n",
            ),
        )
        .unwrap();
    const ITEMS: &[&str] = &[
        "%{HEX:f}",
        "%{LOW:f}",
        "%{DIG:f}",
        "%{ALT:f}",
        "%{ANY:f}",
        "%{LAZY:f}",
        "%{OPT:f}",
        "%{WRD:f}",
        "(?:%{HEX:f}:)?",
        "(?:%{DIG:f}|%{HEX:f})",
        "(%{LOW:f} )?",
        "(?:%{HEX:f}:|%{DIG:f} |a)",
        "(?:%{HEX:f}:|x)",
        "(?:\\.%{LOW:f}$|$)",
        "a",
        ":",
        " ",
        "1",
        "$",
    ];
    const ALPHABET: &[&str] = &["a", "b", "c", "f", "x", "0", "1", "9", ":", ".", " ", "é"];
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    let lines: Vec<String> = (0..60)
        .map(|_| {
            (0..rng.below(14))
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect()
        })
        .collect();
    let mut compared = 0;
    for _ in 0..400 {
        let mut pattern = String::from(["", "^"][rng.below(2)]);
        for i in 0..1 + rng.below(5) {
            // Each field its own name.
            pattern.push_str(&ITEMS[rng.below(ITEMS.len())].replace(":f}", &format!(":f{i}}}")));
        }
        let Ok(grok) = Grok::compile(&library, &pattern) else {
            continue;
        };
        assert_captures_as_the_reference(&grok, lines.iter().map(String::as_str));
        compared += lines.len();
    }
    assert!(compared > 10_000, "only {compared} comparisons");
}

#[test]
fn patterns_capture_without_the_dfa_pass_exactly_as_with_it() {
    let library = GrokLibrary::builtin();
    let patterns = [
        "^%{SYSLOGLINE}",
        "^%{SYSLOGBASE} %{GREEDYDATA:message}$",
        "^(%{IPORHOST:fqdn}(:%{INT:port})? )?%{IPORHOST:addr} - \\[%{HTTPDATE:t}\\]",
        "^%{IPORHOST:a} %{DATA:b} (%{INT:c}|%{WORD:d})?%{GREEDYDATA:e}",
        // Unanchored: every start in turn, the leftmost that matches.
        "(%{IPORHOST:fqdn}(:%{INT:port})? )?%{IPORHOST:addr} - \\[%{HTTPDATE:t}\\]",
        "%{IPORHOST:a} %{DATA:b} (%{INT:c}|%{WORD:d})?%{GREEDYDATA:e}",
        "Failed %{WORD:m} for (invalid user )?%{USERNAME:u} from %{IPORHOST:ip} port %{NUMBER:p}",
        "%{SYSLOGTIMESTAMP:ts} %{IPORHOST:h}$",
        // Anchored in one branch only: not anchored (every start is tried).
        "^%{IPORHOST:x} z|%{INT:n} tail",
    ];
    let mut lines: Vec<String> = vec![
        "Feb 12 14:10:21 sd-126005 sshd[16378]: Failed password for invalid user pascal from 35.188.49.176 port 53502 ssh2".into(),
        "<13>Feb  2 04:05:06 host prog: message".into(),
        "example.org:443 2001:db8::1 - [12/Feb/2024:14:10:21 +0100] x".into(),
        "192.168.1.20 - - [12/Feb/2024:14:10:21 +0100] \"GET / HTTP/1.1\" 200 1".into(),
        "xx [garbage] 10.0.0.1 - [12/Feb/2024:14:10:21 +0100] tail".into(),
        "message repeated: Failed password for root from ::1 port 22 ssh2".into(),
        "prefix Feb  2 04:05:06 a Feb  2 04:05:07 host-b".into(),
        "q 42 tail".into(),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    lines.extend((0..200).map(|_| random_line(&mut rng)));
    for p in patterns {
        let grok = Grok::compile(&library, p).unwrap();
        assert!(grok.runs_direct(), "{p}: no DFA pass");
        let dfa = grok.clone().dfa_first();
        assert!(!dfa.runs_direct());
        for line in &lines {
            let direct = grok.captures(line).map(|c| c.slots());
            let reference = dfa.captures(line).map(|c| c.slots());
            assert_eq!(direct, reference, "{p} on {line:?}");
            assert_eq!(
                direct,
                grok.reference_slots(line)
                    .filter(|_| !grok.fields.is_empty()),
                "{p} on {line:?}"
            );
        }
    }
}

#[test]
fn an_anchored_pattern_that_keeps_failing_goes_back_to_the_dfa_pass() {
    let library = GrokLibrary::builtin();
    let grok = Grok::compile(&library, "^%{SYSLOGLINE}").unwrap();
    let good = "Feb 12 14:10:21 host sshd[1]: hello";
    let bad = "not a syslog line at all";
    // One failure in ten: stays direct.
    for i in 0..5_000 {
        let line = if i % 10 == 0 { bad } else { good };
        assert_eq!(grok.captures(line).is_some(), line == good);
    }
    assert!(
        grok.runs_direct(),
        "a pattern that mostly matches keeps skipping the DFA"
    );
    // One failure in two: gives up, and still answers the same.
    for i in 0..1_000 {
        let line = if i % 2 == 0 { bad } else { good };
        assert_eq!(grok.captures(line).is_some(), line == good);
    }
    assert!(
        !grok.runs_direct(),
        "a pattern that often fails goes back to the DFA pass"
    );
    assert_eq!(
        grok.captures(good).and_then(|c| c.get("program")),
        Some("sshd")
    );
}
