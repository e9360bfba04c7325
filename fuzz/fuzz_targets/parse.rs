//! A small parser set (syslog / non-syslog s00, sshd, nginx, JSON and XML s01 with children,
//! stashes and whitelists, enrichment s02) on arbitrary bytes: the first byte picks the
//! `type` label, the rest (lossy UTF-8) is the log line. Must never panic, and the verdict must
//! agree with `evt.Process`.
//!
//! `cargo fuzz run parse` (see ../README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_ingest::grok::GrokLibrary;
use palisade_ingest::parser::{Loader, ParserSet, Verdict};
use palisade_schemas::{Event, ExpectMode, Line};
use std::sync::OnceLock;

const RAW: &str = r#"
name: fuzz/syslog-logs
filter: "evt.Line.Labels.type == 'syslog'"
onsuccess: next_stage
nodes:
  - grok:
      pattern: "^%{SYSLOGLINE}"
      apply_on: Line.Raw
  - grok:
      pattern: '^<%{NUMBER:pri}>%{NUMBER:ver} %{TIMESTAMP_ISO8601:timestamp8601} %{NOTSPACE:logsource} %{DATA:program} (?:%{NUMBER:pid}|-) - (?:-|\[%{DATA:sd}\]) %{GREEDYDATA:message}'
      apply_on: Line.Raw
statics:
  - meta: machine
    expression: evt.Parsed.logsource
  - target: evt.StrTime
    expression: evt.Parsed.timestamp
  - target: evt.StrTime
    expression: evt.Parsed.timestamp8601
---
name: fuzz/non-syslog
filter: "evt.Line.Labels.type not in ['syslog']"
onsuccess: next_stage
statics:
  - parsed: message
    expression: evt.Line.Raw
  - parsed: program
    expression: evt.Line.Labels.type
"#;

const PARSE: &str = r#"
name: fuzz/sshd-logs
filter: "evt.Parsed.program == 'sshd'"
onsuccess: next_stage
nodes:
  - grok:
      name: SSHD_FAILED_PASSWORD
      apply_on: message
  - grok:
      pattern: 'Invalid user %{DATA:user} from %{IP:source_ip}( port %{INT:port})?$'
      apply_on: message
    stash:
      - name: users
        key: evt.Parsed.source_ip
        value: evt.Parsed.user
        ttl: 10s
        size: 10
  - filter: "GetFromStash('users', evt.Parsed.source_ip) != ''"
    statics:
      - meta: seen_before
        value: "true"
statics:
  - meta: service
    value: ssh
  - meta: user
    expression: evt.Parsed.user
  - meta: source_ip
    expression: evt.Parsed.source_ip
---
name: fuzz/nginx-logs
filter: "evt.Parsed.program startsWith 'nginx'"
onsuccess: next_stage
nodes:
  - grok:
      pattern: '(%{IPORHOST:target_fqdn} )?%{IPORHOST:remote_addr} - %{HTTPDUSER:remote_user} \[%{HTTPDATE:time_local}\] "%{WORD:verb} %{DATA:request} HTTP/%{NUMBER:http_version}" %{NUMBER:status} %{NUMBER:body_bytes_sent} "%{NOTDQUOTE:http_referer}" "%{NOTDQUOTE:http_user_agent}"'
      apply_on: message
      statics:
        - target: evt.StrTime
          expression: evt.Parsed.time_local
  - grok:
      pattern: '%{DATA:time} \[%{LOGLEVEL:loglevel}\] %{NONNEGINT:pid}#%{NONNEGINT:tid}: %{GREEDYDATA:message}, client: %{IPORHOST:remote_addr}'
      apply_on: message
    nodes:
      - filter: "evt.Parsed.message contains 'was not found in'"
        grok:
          pattern: 'user "%{DATA:username}" was not found in "%{DATA}"'
          apply_on: message
statics:
  - meta: service
    value: http
  - meta: source_ip
    expression: evt.Parsed.remote_addr
  - meta: http_path
    expression: evt.Parsed.request
---
name: fuzz/json-logs
filter: "evt.Parsed.program == 'json' && UnmarshalJSON(evt.Line.Raw, evt.Unmarshaled, 'x') in ['', nil]"
onsuccess: next_stage
statics:
  - meta: source_ip
    expression: "evt.Unmarshaled.x?.ip ?? ''"
  - meta: level
    expression: "JsonExtract(evt.Line.Raw, 'level')"
  - parsed: kv
    expression: "ParseKV(evt.Line.Raw, evt.Unmarshaled, 'kv') ?? ''"
---
name: fuzz/xml-logs
filter: "evt.Parsed.program == 'xml' && XMLGetNodeValue(evt.Line.Raw, '/Event/System/EventID') != ''"
onsuccess: next_stage
statics:
  - meta: event_id
    expression: "XMLGetNodeValue(evt.Line.Raw, '/Event/System/EventID')"
  - meta: provider
    expression: "XMLGetAttributeValue(evt.Line.Raw, '/Event/System/Provider', 'Name')"
"#;

const ENRICH: &str = r#"
name: fuzz/dateparse
filter: "evt.StrTime != ''"
statics:
  - method: ParseDate
    expression: evt.StrTime
---
name: fuzz/http-logs
filter: "evt.Meta.service == 'http'"
nodes:
  - grok:
      pattern: "^%{GREEDYDATA:request}\\?%{GREEDYDATA:http_args}$"
      apply_on: request
  - grok:
      pattern: "%{URIPATH:file_dir}"
      apply_on: request
      statics:
        - meta: http_args_len
          expression: "len(evt.Parsed.http_args)"
---
name: fuzz/whitelists
whitelist:
  reason: private ranges
  ip:
    - "::1"
  cidr:
    - "10.0.0.0/8"
    - "192.168.0.0/16"
  expression:
    - "evt.Meta.user == 'trusted'"
"#;

const TYPES: &[&str] = &["syslog", "nginx", "json", "xml", "sshd", "other"];

fn parsers() -> &'static ParserSet {
    static SET: OnceLock<ParserSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut grok = GrokLibrary::builtin();
        let enrichers = palisade_enrich::Registry::with_defaults(
            std::sync::Arc::new(palisade_runtime::clock::SystemClock),
            &palisade_enrich::EnrichSpec {
                year: Some(2024),
                ..Default::default()
            },
        )
        .expect("enrichers");
        Loader::new(&mut grok, &enrichers)
            .load_texts(&[
                ("s00-raw", "raw.yaml", RAW),
                ("s01-parse", "parse.yaml", PARSE),
                ("s02-enrich", "enrich.yaml", ENRICH),
            ])
            .unwrap_or_else(|e| panic!("{e:?}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&t, rest)) = data.split_first() else {
        return;
    };
    let raw = String::from_utf8_lossy(rest).into_owned();
    let mut e = Event::from_line(
        Line {
            raw: raw.clone(),
            src: "/var/log/fuzz.log".into(),
            time: None,
            labels: [(
                "type".to_string(),
                TYPES[t as usize % TYPES.len()].to_string(),
            )]
            .into(),
            process: false,
            module: "file".into(),
        },
        ExpectMode::TimeMachine,
    );
    let verdict = parsers().parse(&mut e);
    assert_eq!(e.process, verdict != Verdict::Unparsed);
    assert_eq!(e.line.raw, raw);
});
