//! The grok engine on arbitrary text, which must never panic:
//!
//! * first byte 0 or 1 (mod 4): the rest is a grok pattern, expanded against the builtin library
//!   and compiled; if it compiles it is matched on a few real lines and on itself;
//! * 2: the rest is added to the library as a definition and compiled by name;
//! * 3: the rest is an input line, matched by a few fixed patterns (syslog, sshd, nginx, a user
//!   pattern with optional groups) with every capture read back.
//!
//! Checked besides "no panic": `is_match` and `captures` agree, every field's span is its text,
//! and the required-literal prefilter never rejects a line the regex matches.
//!
//! `cargo fuzz run grok` (see ../README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_ingest::grok::{Grok, GrokLibrary};
use std::sync::OnceLock;

const LINES: &[&str] = &[
    "Jun 10 06:00:11 srv-prod-01 sshd[1786]: Failed password for root from 203.0.113.9 port 4242 ssh2",
    r#"203.0.113.9 - - [10/Jun/2024:06:00:03 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.0""#,
    "",
    "\u{0}\u{fffd}é",
];

const FIXED: &[&str] = &[
    "^%{SYSLOGLINE}",
    "%{SSHD_FAILED_PASSWORD}",
    "^%{NGINXACCESS}",
    "(?:%{IPORHOST:host}(:%{INT:port})? )?%{WORD:verb} %{DATA:request}( HTTP/%{NUMBER:v})?$",
    "%{GREEDYDATA:a}\\?%{GREEDYDATA:b}",
];

struct Fixed {
    library: GrokLibrary,
    groks: Vec<Grok>,
}

fn fixed() -> &'static Fixed {
    static FIXED_GROKS: OnceLock<Fixed> = OnceLock::new();
    FIXED_GROKS.get_or_init(|| {
        let library = GrokLibrary::builtin();
        let groks = FIXED
            .iter()
            .map(|p| Grok::compile(&library, p).expect(p))
            .collect();
        Fixed { library, groks }
    })
}

fn exercise(grok: &Grok, input: &str) {
    let matched = grok.is_match(input);
    match grok.captures(input) {
        Some(caps) => {
            assert!(
                matched,
                "captures but no is_match: {:?} on {input:?}",
                grok.pattern()
            );
            for (name, value) in caps.iter() {
                assert_eq!(caps.get(name), Some(value));
                if let Some(span) = caps.span(name) {
                    assert_eq!(&input[span], value);
                }
            }
            let _ = caps.matched();
        }
        None => assert!(
            !matched,
            "is_match but no captures: {:?} on {input:?}",
            grok.pattern()
        ),
    }
    // The prefilter is sound: the regex alone never matches what it rejects.
    if let Some(p) = grok.prefilter() {
        if !p.may_match(input) {
            let plain = grok.clone().without_prefilter();
            assert!(
                !plain.is_match(input),
                "the prefilter {:?} rejects a match of {:?} on {input:?}",
                p.literals(),
                grok.pattern()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let f = fixed();
    match mode % 4 {
        0 | 1 => {
            if let Ok(grok) = Grok::compile(&f.library, &text) {
                let _ = grok.field_names().count();
                for line in LINES {
                    exercise(&grok, line);
                }
                exercise(&grok, &text);
            }
        }
        // As a definition (it may reference the builtins), compiled by name.
        2 => {
            let mut library = f.library.clone();
            if library.add("FUZZ_PATTERN", &text).is_ok() {
                if let Ok(grok) = Grok::compile_named(&library, "FUZZ_PATTERN") {
                    for line in LINES {
                        exercise(&grok, line);
                    }
                }
            }
        }
        _ => {
            for grok in &f.groks {
                exercise(grok, &text);
            }
        }
    }
});
