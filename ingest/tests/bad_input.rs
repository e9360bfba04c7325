//! Hostile and malformed log lines through a small hub-like parser set (syslog and non-syslog
//! s00, sshd / nginx / JSON / XML s01, date and whitelist s02, written inline): huge lines, NUL
//! bytes, invalid UTF-8, malformed JSON and XML, deep nesting, and 2,000 pseudo-random lines.
//! Each one must be processed without a panic and get the expected verdict.

use palisade_ingest::grok::GrokLibrary;
use palisade_ingest::parser::{Loader, ParserSet, Verdict};
use palisade_schemas::{Event, ExpectMode, Line};
use std::sync::Arc;

const RAW: &str = r#"
name: test/syslog-logs
filter: "evt.Line.Labels.type == 'syslog'"
onsuccess: next_stage
nodes:
  - grok:
      pattern: "^%{SYSLOGLINE}"
      apply_on: Line.Raw
statics:
  - meta: machine
    expression: evt.Parsed.logsource
  - target: evt.StrTime
    expression: evt.Parsed.timestamp
---
name: test/non-syslog
filter: "evt.Line.Labels.type not in ['syslog']"
onsuccess: next_stage
statics:
  - parsed: message
    expression: evt.Line.Raw
  - parsed: program
    expression: evt.Line.Labels.type
"#;

const SSHD: &str = r#"
name: test/sshd-logs
filter: "evt.Parsed.program == 'sshd'"
onsuccess: next_stage
nodes:
  - grok:
      name: SSHD_FAILED_PASSWORD
      apply_on: message
  - grok:
      pattern: 'Invalid user %{DATA:user} from %{IP:source_ip}( port %{INT:port})?$'
      apply_on: message
statics:
  - meta: service
    value: ssh
  - meta: user
    expression: evt.Parsed.user
  - meta: source_ip
    expression: evt.Parsed.source_ip
"#;

const NGINX: &str = r#"
name: test/nginx-logs
filter: "evt.Parsed.program startsWith 'nginx'"
onsuccess: next_stage
nodes:
  - grok:
      pattern: '%{IPORHOST:remote_addr} - %{HTTPDUSER:remote_user} \[%{HTTPDATE:time_local}\] "%{WORD:verb} %{DATA:request} HTTP/%{NUMBER:http_version}" %{NUMBER:status} %{NUMBER:body_bytes_sent} "%{NOTDQUOTE:http_referer}" "%{NOTDQUOTE:http_user_agent}"'
      apply_on: message
      statics:
        - target: evt.StrTime
          expression: evt.Parsed.time_local
statics:
  - meta: service
    value: http
  - meta: source_ip
    expression: evt.Parsed.remote_addr
  - meta: http_path
    expression: evt.Parsed.request
"#;

const JSON: &str = r#"
name: test/json-logs
filter: "evt.Parsed.program == 'json' && UnmarshalJSON(evt.Line.Raw, evt.Unmarshaled, 'x') in ['', nil]"
onsuccess: next_stage
statics:
  - meta: source_ip
    expression: "evt.Unmarshaled.x?.ip ?? ''"
  - meta: log_type
    value: json
"#;

const XML: &str = r#"
name: test/xml-logs
filter: "evt.Parsed.program == 'xml' && XMLGetNodeValue(evt.Line.Raw, '/Event/System/EventID') != ''"
onsuccess: next_stage
statics:
  - meta: event_id
    expression: "XMLGetNodeValue(evt.Line.Raw, '/Event/System/EventID')"
"#;

const ENRICH: &str = r#"
name: test/dateparse
filter: "evt.StrTime != ''"
statics:
  - method: ParseDate
    expression: evt.StrTime
---
name: test/whitelists
whitelist:
  reason: private ranges
  cidr:
    - "10.0.0.0/8"
    - "192.168.0.0/16"
---
name: test/always
filter: "true"
statics:
  - meta: enriched
    value: "yes"
"#;

fn parsers() -> ParserSet {
    let mut grok = GrokLibrary::builtin();
    let clock = Arc::new(palisade_runtime::clock::SystemClock);
    let spec = palisade_enrich::EnrichSpec {
        year: Some(2024),
        ..Default::default()
    };
    let enrichers = palisade_enrich::Registry::with_defaults(clock, &spec).unwrap();
    Loader::new(&mut grok, &enrichers)
        .load_texts(&[
            ("s00-raw", "raw.yaml", RAW),
            ("s01-parse", "sshd.yaml", SSHD),
            ("s01-parse", "nginx.yaml", NGINX),
            ("s01-parse", "json.yaml", JSON),
            ("s01-parse", "xml.yaml", XML),
            ("s02-enrich", "enrich.yaml", ENRICH),
        ])
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn event(raw: &str, log_type: &str) -> Event {
    Event::from_line(
        Line {
            raw: raw.to_string(),
            src: "/var/log/test.log".into(),
            time: Some(chrono::Utc::now()),
            labels: [("type".to_string(), log_type.to_string())].into(),
            process: false,
            module: "file".into(),
        },
        ExpectMode::TimeMachine,
    )
}

fn parse(set: &ParserSet, raw: &str, log_type: &str) -> (Verdict, Event) {
    let mut e = event(raw, log_type);
    let v = set.parse(&mut e);
    assert_eq!(e.process, v != Verdict::Unparsed, "{v:?}");
    (v, e)
}

const SSHD_LINE: &str =
    "Jun 10 06:00:11 srv sshd[1786]: Failed password for root from 203.0.113.9 port 4242 ssh2";
const NGINX_LINE: &str = r#"203.0.113.9 - - [10/Jun/2024:06:00:03 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.0""#;

#[test]
fn well_formed_lines_are_kept() {
    let set = parsers();
    let (v, e) = parse(&set, SSHD_LINE, "syslog");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.meta["source_ip"], "203.0.113.9");
    assert_eq!(e.meta["user"], "root");
    assert_eq!(e.meta["enriched"], "yes");
    assert!(
        e.enriched["MarshaledTime"].starts_with("2024-06-10T06:00:11"),
        "ParseDate ran: {:?}",
        e.enriched
    );
    let (v, e) = parse(&set, NGINX_LINE, "nginx");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.meta["http_path"], "/index.html");
    let (v, e) = parse(&set, r#"{"ip": "198.51.100.7"}"#, "json");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.meta["source_ip"], "198.51.100.7");
    let xml = "<Event><System><EventID>4625</EventID></System></Event>";
    let (v, e) = parse(&set, xml, "xml");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.meta["event_id"], "4625");
    let private = SSHD_LINE.replace("203.0.113.9", "10.1.2.3");
    assert_eq!(parse(&set, &private, "syslog").0, Verdict::Whitelisted);
}

#[test]
fn a_one_megabyte_line() {
    let set = parsers();
    let mb = "A".repeat(1 << 20);
    // A syslog line whose sshd message is 1 MB of garbage: s00 parses it, no sshd grok matches.
    let line = format!("Jun 10 06:00:11 srv sshd[1786]: {mb}");
    let (v, e) = parse(&set, &line, "syslog");
    assert_eq!(v, Verdict::Unparsed);
    assert_eq!(e.parsed["message"].len(), 1 << 20);
    // The same with a valid sshd message at the end: the huge user name is captured whole.
    let line =
        format!("Jun 10 06:00:11 srv sshd[1786]: Invalid user {mb} from 203.0.113.9 port 22");
    let (v, e) = parse(&set, &line, "syslog");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.meta["user"].len(), 1 << 20);
    // An nginx line with a 1 MB user agent.
    let line = NGINX_LINE.replace("curl/8.0", &mb);
    let (v, e) = parse(&set, &line, "nginx");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.parsed["http_user_agent"].len(), 1 << 20);
    // 1 MB of nothing useful as every type.
    for t in ["syslog", "nginx", "json", "xml", "other"] {
        assert_eq!(parse(&set, &mb, t).0, Verdict::Unparsed, "{t}");
    }
}

#[test]
fn a_line_of_nul_bytes() {
    let set = parsers();
    let nuls = "\0".repeat(10_000);
    for t in ["syslog", "nginx", "json", "xml", "other"] {
        assert_eq!(parse(&set, &nuls, t).0, Verdict::Unparsed, "{t}");
    }
    // NULs inside an otherwise valid line: NOTSPACE takes them.
    let line = SSHD_LINE.replace("root", "ro\0\0ot");
    let (v, e) = parse(&set, &line, "syslog");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.meta["user"], "ro\0\0ot");
}

#[test]
fn invalid_utf8_converted_lossily() {
    let set = parsers();
    let mut bytes = SSHD_LINE.replace("root", "ro@ot").into_bytes();
    let at = bytes.iter().position(|b| *b == b'@').unwrap();
    bytes[at] = 0xff;
    bytes.extend_from_slice(&[0xc3, 0x28, 0xe2, 0x82]);
    let line = String::from_utf8_lossy(&bytes).into_owned();
    let (v, e) = parse(&set, &line, "syslog");
    assert_eq!(v, Verdict::Keep);
    assert_eq!(e.meta["user"], "ro\u{fffd}ot");
    // Pure garbage.
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 37 % 256) as u8).collect();
    let line = String::from_utf8_lossy(&garbage).into_owned();
    for t in ["syslog", "nginx", "json", "xml"] {
        assert_eq!(parse(&set, &line, t).0, Verdict::Unparsed, "{t}");
    }
}

#[test]
fn malformed_json_fails_the_unmarshal_filter() {
    let set = parsers();
    for raw in [
        r#"{"ip": "198.51.100.7""#,
        r#"{"ip": }"#,
        "{",
        "}",
        "",
        "null",
        r#"{"ip": "\ud800"}"#,
        r#"{"a": 1e999999}"#,
        "[1, 2,",
        "\u{feff}{}",
    ] {
        let (v, e) = parse(&set, raw, "json");
        // Valid JSON that is not an object still unmarshals (kept, no source_ip); malformed
        // JSON fails the filter.
        let valid = serde_json::from_str::<serde_json::Value>(raw).is_ok();
        if valid {
            assert_eq!(v, Verdict::Keep, "{raw:?}");
            assert_eq!(e.meta.get("source_ip"), None, "{raw:?}");
        } else {
            assert_eq!(v, Verdict::Unparsed, "{raw:?}");
            assert!(e.unmarshaled.is_empty(), "{raw:?}");
        }
    }
}

#[test]
fn malformed_xml_gives_an_empty_node_value() {
    let set = parsers();
    for raw in [
        "<Event><System><EventID>4625</EventID></System>",
        "<Event><System><EventID>4625</System></Event>",
        "<Event><System><EventID>4625",
        "<<<>>>",
        "<Event attr='x><System/></Event>",
        "<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]><Event><System><EventID>&b;</EventID></System></Event>",
        "",
    ] {
        assert_eq!(parse(&set, raw, "xml").0, Verdict::Unparsed, "{raw:?}");
    }
}

#[test]
fn deeply_nested_brackets() {
    let set = parsers();
    for depth in [100, 10_000, 100_000] {
        let brackets = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let braces = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let tags = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        for raw in [&brackets, &braces, &tags] {
            for t in ["json", "xml", "nginx"] {
                let (v, _) = parse(&set, raw, t);
                // serde_json stops at 128 levels: only the shallow brackets unmarshal.
                let expected = if t == "json" && raw == &brackets && depth <= 100 {
                    Verdict::Keep
                } else {
                    Verdict::Unparsed
                };
                assert_eq!(v, expected, "{t} depth {depth}: {}", &raw[..10]);
            }
        }
        // In a syslog message: parsed at s00, no sshd grok matches.
        let line = format!("Jun 10 06:00:11 srv sshd[1]: {brackets}");
        assert_eq!(parse(&set, &line, "syslog").0, Verdict::Unparsed);
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces of real lines, glued at random, with random bytes in between.
const PIECES: &[&str] = &[
    "Jun 10 06:00:11 ",
    "2024-06-10T06:00:11.123+02:00 ",
    "srv-prod-01 ",
    "sshd[1786]: ",
    "nginx: ",
    "Failed password for ",
    "invalid user ",
    "root ",
    "from ",
    "203.0.113.9 ",
    "10.0.0.1",
    "::1 ",
    "port 22 ",
    "ssh2",
    "Invalid user admin from 198.51.100.7",
    "- - [10/Jun/2024:06:00:03 +0000] ",
    "\"GET /index.php?id=1 HTTP/1.1\" ",
    "200 512 ",
    "\"-\" \"curl/8.0\"",
    "{\"ip\": \"198.51.100.7\"}",
    "{\"x\": [",
    "<Event><System><EventID>",
    "4625",
    "</EventID></System></Event>",
    "%{IP:x}",
    "\\",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "\0",
    "\u{fffd}",
    "é",
    "\u{202e}",
    " ",
    "\t",
    "\r",
    "\n",
];

const TYPES: &[&str] = &["syslog", "nginx", "json", "xml", "other"];

fn random_line(rng: &mut Rng) -> String {
    match rng.below(4) {
        // Random bytes, lossily.
        0 => {
            let n = rng.below(300);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // A real line with a few bytes replaced.
        1 => {
            let base = [SSHD_LINE, NGINX_LINE][rng.below(2)];
            let mut bytes = base.as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let i = rng.below(bytes.len());
                bytes[i] = rng.next() as u8;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // A real line cut short.
        2 => {
            let base = [SSHD_LINE, NGINX_LINE][rng.below(2)];
            let mut end = rng.below(base.len() + 1);
            while !base.is_char_boundary(end) {
                end -= 1;
            }
            base[..end].to_string()
        }
        // Pieces.
        _ => (0..rng.below(12))
            .map(|_| PIECES[rng.below(PIECES.len())])
            .collect(),
    }
}

#[test]
fn two_thousand_random_lines() {
    let set = parsers();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut verdicts = [0usize; 3];
    for i in 0..2_000 {
        let line = random_line(&mut rng);
        let t = TYPES[rng.below(TYPES.len())];
        let (v, e) = parse(&set, &line, t);
        verdicts[v as usize] += 1;
        assert_eq!(e.line.raw, line, "line {i} changed");
    }
    // Some lines of each kind get through: the generator is not trivially rejected.
    assert!(verdicts[Verdict::Keep as usize] > 0, "{verdicts:?}");
    assert!(verdicts[Verdict::Unparsed as usize] > 0, "{verdicts:?}");
}
