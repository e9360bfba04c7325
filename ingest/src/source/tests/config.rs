//! `compile_sources`: what a valid configuration gives, and the exact, located errors of an
//! invalid one.

use crate::source::{compile_sources, Mode, SourceConfig};
use palisade_runtime::config::YamlDoc;
use palisade_schemas::event::ExpectMode;

fn compile(text: &str) -> (Vec<SourceConfig>, Vec<String>) {
    let doc = YamlDoc::parse("palisade.yaml", text).unwrap();
    let mut errors = Vec::new();
    let sources = compile_sources(&doc, "sources", &doc.root()["sources"], &mut errors);
    (sources, errors.iter().map(ToString::to_string).collect())
}

#[test]
fn compiles_every_kind_with_crowdsec_keys() {
    let (s, errors) = compile(
        r#"sources:
  - filename: /var/log/auth.log
    labels:
      type: syslog
  - source: file
    filenames: [/var/log/nginx/*.log, /srv/*/access.log]
    exclude_regexps: ['\.gz$']
    poll_interval: 2s
    mode: cat
    labels:
      type: nginx
      prio: 1
  - source: syslog
    listen_port: 5514
    protocol: both
    labels: {type: syslog}
  - journalctl_filter: [_SYSTEMD_UNIT=ssh.service]
    log_level: info
    labels: {type: syslog}
  - source: stdin
    name: from-a-pipe
    use_time_machine: true
    labels: {type: 123}
"#,
    );
    assert_eq!(errors, Vec::<String>::new());
    let names: Vec<&str> = s.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "file:/var/log/auth.log",
            "file:/var/log/nginx/*.log (+1 more)",
            "syslog:127.0.0.1:5514",
            "journalctl:_SYSTEMD_UNIT=ssh.service",
            "from-a-pipe",
        ]
    );
    let modules: Vec<&str> = s.iter().map(SourceConfig::module).collect();
    assert_eq!(
        modules,
        vec!["file", "file", "syslog", "journalctl", "stdin"]
    );
    assert_eq!(s[1].mode, Mode::Cat);
    assert_eq!(s[1].expect_mode(), ExpectMode::TimeMachine);
    assert_eq!(s[0].expect_mode(), ExpectMode::Live);
    assert_eq!(
        s[4].expect_mode(),
        ExpectMode::TimeMachine,
        "use_time_machine"
    );
    assert_eq!(s[1].labels.get("prio").map(String::as_str), Some("1"));
    assert_eq!(
        s[4].labels.get("type").map(String::as_str),
        Some("123"),
        "lenient label values"
    );
}

#[test]
fn an_unknown_field_is_located_and_lists_the_known_ones() {
    let (s, errors) = compile(
        "sources:\n  - filename: /var/log/a.log\n    labels:\n      type: syslog\n    polling: 1s\n",
    );
    assert!(s.is_empty());
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("palisade.yaml:5:5: sources[0].polling: unknown field `polling`, expected one of `source`, `labels`, `mode`, `name`,"),
        "{}",
        errors[0]
    );
}

#[test]
fn labels_and_type_are_required() {
    let (_, errors) = compile(
        "sources:\n  - filename: /a.log\n  - filename: /b.log\n    labels:\n      program: x\n  - filename: /c.log\n    labels:\n      type: ''\n",
    );
    assert_eq!(
        errors,
        vec![
            "palisade.yaml:2:5: sources[0].labels: `labels` is required and must contain `type`",
            "palisade.yaml:4:5: sources[1].labels: `type` is required",
            "palisade.yaml:7:5: sources[2].labels: `type` is required",
        ]
    );
}

#[test]
fn unknown_and_unsupported_kinds_name_the_known_ones() {
    let (_, errors) = compile(
        "sources:\n  - source: dockr\n    labels: {type: x}\n  - source: docker\n    labels: {type: x}\n  - labels: {type: x}\n  - source: [file]\n",
    );
    assert_eq!(
        errors,
        vec![
            "palisade.yaml:2:5: sources[0].source: unknown source `dockr` (known: file, stdin, syslog, journalctl)",
            "palisade.yaml:4:5: sources[1].source: source `docker` is not supported by Palisade (supported: file, stdin, syslog, journalctl)",
            "palisade.yaml:6:5: sources[2]: `source` is required (one of file, stdin, syslog, journalctl) unless `filename`, `filenames` or `journalctl_filter` is set",
            "palisade.yaml:7:5: sources[3].source: expected a string, one of file, stdin, syslog, journalctl",
        ]
    );
}

#[test]
fn every_bad_entry_is_reported_and_good_ones_kept() {
    let (s, errors) = compile(
        r#"sources:
  - source: syslog
    listen_addr: not-an-ip
    mode: cat
    max_message_len: 0
    labels: {type: syslog}
  - filename: /ok.log
    labels: {type: ok}
  - source: file
    filenames: ['/var/log/[.log']
    exclude_regexps: ['(']
    poll_interval: soon
    labels: {type: x}
  - source: syslog
    protocol: quic
    labels: {type: x}
  - journalctl_filter: []
    transform: evt.Line.Raw
    labels: {type: x}
  - source: stdin
    mode: replay
    labels: {type: x}
"#,
    );
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].name, "file:/ok.log");
    assert_eq!(
        errors,
        vec![
            "palisade.yaml:4:5: sources[0].mode: the syslog source only supports `mode: tail`",
            "palisade.yaml:3:5: sources[0].listen_addr: `not-an-ip` is not an IP address",
            "palisade.yaml:5:5: sources[0].max_message_len: must be greater than zero",
            "palisade.yaml:10:17: sources[2].filenames[0]: invalid glob `/var/log/[.log`: invalid range pattern",
            "palisade.yaml:11:23: sources[2].exclude_regexps[0]: invalid regular expression `(`: unclosed group",
            "palisade.yaml:12:5: sources[2].poll_interval: invalid duration \"soon\": expected a number",
            "palisade.yaml:15:5: sources[3].protocol: unknown variant `quic`, expected one of `udp`, `tcp`, `both`",
            "palisade.yaml:18:5: sources[4].transform: `transform` is not supported yet",
            "palisade.yaml:17:5: sources[4].journalctl_filter: `journalctl_filter` is required (for example `_SYSTEMD_UNIT=ssh.service`)",
            "palisade.yaml:21:5: sources[5].mode: unknown variant `replay`, expected `tail` or `cat`",
        ]
    );
}

#[test]
fn duplicate_names_are_errors() {
    let (s, errors) = compile(
        "sources:\n  - filename: /a.log\n    labels: {type: x}\n  - filename: /a.log\n    labels: {type: y}\n  - source: stdin\n    name: file:/a.log\n    labels: {type: z}\n",
    );
    assert_eq!(s.len(), 1);
    assert_eq!(
        errors,
        vec![
            "palisade.yaml:4:5: sources[1]: source name `file:/a.log` is already used by sources[0]; set a distinct `name`",
            "palisade.yaml:7:5: sources[2].name: source name `file:/a.log` is already used by sources[0]; set a distinct `name`",
        ]
    );
}

#[test]
fn a_missing_or_empty_list_is_no_source_and_a_mapping_is_an_error() {
    let (s, errors) = compile("other: 1\n");
    assert!(s.is_empty() && errors.is_empty());
    let (_, errors) = compile("sources:\n  filename: /a.log\n");
    assert_eq!(
        errors,
        vec!["palisade.yaml:1:1: sources: expected a list of sources"]
    );
    let (_, errors) = compile("sources:\n  - just a string\n");
    assert_eq!(
        errors,
        vec!["palisade.yaml:2:5: sources[0]: expected a mapping (one source)"]
    );
}
