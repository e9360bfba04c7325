//! Programs of one event field remember their results by that field's value: which programs
//! do, and that a remembered answer is always the one a fresh evaluation gives.

mod common;

use common::sample_event;
use palisade_expr::{Context, Program};
use palisade_schemas::Event;

fn compile(src: &str) -> Program {
    Program::compile(src, &Context::event()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

const GEOIP_FILTER: &str = r#"let ipv6Check = IsIPV6(evt.Meta.source_ip);
"source_ip" in evt.Meta &&
(
  not ipv6Check &&
  not (IpInRange(evt.Meta.source_ip, "127.0.0.0/8") || IpInRange(evt.Meta.source_ip, "192.168.0.0/16") || IpInRange(evt.Meta.source_ip, "172.16.0.0/12") || IpInRange(evt.Meta.source_ip, "10.0.0.0/8"))
) ||
(
  ipv6Check &&
  not (IpInRange(evt.Meta.source_ip, "::1/128") || IpInRange(evt.Meta.source_ip, "fd00::/8") || IpInRange(evt.Meta.source_ip, "fc00::/7"))
)"#;

const MEMOIZED: &[&str] = &[
    GEOIP_FILTER,
    "Upper(evt.Parsed.file_ext) in ['.JPG', '.CSS', '.JS'] ? 'true' : 'false'",
    "evt.Meta.http_status in ['404', '403', '502'] ? 'false' : 'true'",
    "len(evt.Parsed.http_args) > 0 ? 'args' : 'none'",
    "not ('source_ip' in evt.Meta) || evt.Meta.source_ip == '' || evt.Meta.source_ip == '-'",
    "Lower(evt.Parsed.verb) + '!' + Upper(evt.Parsed.verb)",
    "evt.Line.Labels.type startsWith 'ngi' ? Upper(evt.Line.Labels.type) : ''",
];

const NOT_MEMOIZED: &[&str] = &[
    // Two fields.
    "evt.Parsed.file_frag + evt.Parsed.file_ext",
    "evt.Meta.service == 'http' && evt.Meta.log_type == 'x'",
    // Other parts of the event, the clock, the stash, writes, the whole map.
    "evt.StrTime != '' && evt.Meta.source_ip != ''",
    "TimeNow() != '' && evt.Meta.source_ip != ''",
    "GetFromStash('s', evt.Meta.source_ip)",
    "evt.SetMeta('seen', evt.Meta.source_ip)",
    "len(evt.Meta)",
    "'x' in evt.Meta && evt.Parsed.verb == 'GET'",
    // No field at all.
    "1 + 1 + 2 + 3 + 4",
    // Too small to be worth it.
    "len(evt.Parsed.http_args)",
    "'source_ip' in evt.Meta",
];

/// Events whose `source_ip`, `file_ext`, `http_status`, `http_args`, `verb` and label type
/// vary, repeat, are empty, absent, or longer than what is remembered.
fn events() -> Vec<Event> {
    let values = [
        Some("192.168.1.10"),
        Some("8.8.8.8"),
        Some("192.168.1.10"),
        Some(""),
        None,
        Some("2001:db8::1"),
        Some("::1"),
        Some("not an ip"),
        Some("8.8.8.8"),
        None,
        Some(""),
        Some(".css"),
        Some(".CSS"),
        Some("404"),
    ];
    let long = "x".repeat(100);
    let mut out = Vec::new();
    for round in 0..3 {
        for (i, v) in values.iter().chain([&Some(long.as_str())]).enumerate() {
            let mut e = sample_event();
            for (in_meta, key) in [
                (true, "source_ip"),
                (true, "http_status"),
                (false, "file_ext"),
                (false, "http_args"),
                (false, "verb"),
            ] {
                let map = if in_meta { &mut e.meta } else { &mut e.parsed };
                map.remove(key);
                // Each key its own rotation of the values.
                if let Some(v) = values[(i + round + key.len()) % values.len()].or(*v) {
                    map.insert(key.into(), v.to_string());
                }
            }
            match v {
                Some(t) => e.line.labels.insert("type".into(), t.to_string()),
                None => e.line.labels.remove("type"),
            };
            out.push(e);
        }
    }
    out
}

#[test]
fn programs_of_one_field_remember_and_others_do_not() {
    for src in MEMOIZED {
        assert!(compile(src).is_memoized(), "{src}");
    }
    for src in NOT_MEMOIZED {
        assert!(!compile(src).is_memoized(), "{src}");
    }
}

/// Every program, interleaved over the same events three times (so that answers come from the
/// memo after the first round), answers as the same program evaluated afresh each time.
#[test]
fn remembered_answers_are_fresh_answers() {
    let programs: Vec<(Program, Program)> = MEMOIZED
        .iter()
        .map(|src| (compile(src), compile(src).without_memo()))
        .collect();
    let mut compared = 0;
    for mut e in events() {
        for (memo, fresh) in &programs {
            let got = memo.eval(&mut e).map_err(|err| err.to_string());
            let want = fresh.eval(&mut e).map_err(|err| err.to_string());
            assert_eq!(
                got,
                want,
                "{} on {:?}",
                memo.source(),
                e.meta.get("source_ip")
            );
            compared += 1;
        }
    }
    assert!(compared > 300, "{compared}");
}
