//! Node and stage rules, each on a small parser written inline.

use super::*;
use crate::grok::GrokLibrary;
use palisade_schemas::Event;

fn load(texts: &[(&str, &str)]) -> Result<ParserSet, Vec<palisade_runtime::config::ConfigError>> {
    let mut grok = GrokLibrary::builtin();
    let enrichers = palisade_enrich::Registry::new();
    let named: Vec<(&str, String, &str)> = texts
        .iter()
        .enumerate()
        .map(|(i, (stage, text))| (*stage, format!("{stage}/{i}.yaml"), *text))
        .collect();
    let refs: Vec<(&str, &str, &str)> =
        named.iter().map(|(s, n, t)| (*s, n.as_str(), *t)).collect();
    Loader::new(&mut grok, &enrichers).load_texts(&refs)
}

fn event(raw: &str) -> Event {
    let mut e = Event::default();
    e.line.raw = raw.to_string();
    e.line.labels.insert("type".into(), "syslog".into());
    e
}

const RAW: &str = r#"
name: test/raw
filter: evt.Line.Labels.type == 'syslog'
onsuccess: next_stage
grok:
  pattern: '^%{WORD:program}: %{GREEDYDATA:message}$'
  apply_on: Line.Raw
statics:
  - meta: seen
    value: "yes"
"#;

const PARSE: &str = r#"
name: test/login
filter: evt.Parsed.program == 'login'
onsuccess: next_stage
grok:
  pattern: 'failed for %{WORD:user}( from %{IP:ip})?'
  apply_on: message
  statics:
    - meta: user
      expression: evt.Parsed.user
statics:
  - meta: log_type
    value: login_failed
  - meta: source_ip
    expression: evt.Parsed.ip
"#;

#[test]
fn grok_statics_and_promotion_through_two_stages() {
    let set = load(&[("s00-raw", RAW), ("s01-parse", PARSE)]).unwrap();
    assert_eq!(set.stages(), ["s00-raw", "s01-parse"]);
    let mut e = event("login: failed for bob from 10.0.0.1");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert_eq!(e.meta["seen"], "yes");
    assert_eq!(e.meta["user"], "bob");
    assert_eq!(e.meta["source_ip"], "10.0.0.1");
    assert_eq!(e.meta["log_type"], "login_failed");
    assert!(e.process);
    assert_eq!(e.stage, "s01-parse");

    // The optional group did not take part: the key exists with "", and an empty static is skipped.
    let mut e = event("login: failed for bob");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert_eq!(e.parsed.get("ip").map(String::as_str), Some(""));
    assert!(!e.meta.contains_key("source_ip"));
}

#[test]
fn an_event_no_node_of_a_stage_accepts_is_unparsed() {
    let set = load(&[("s00-raw", RAW), ("s01-parse", PARSE)]).unwrap();
    let mut e = event("sshd: something else");
    assert_eq!(set.parse(&mut e), Verdict::Unparsed);
    assert!(!e.process);
    let mut e = event("no colon here");
    assert_eq!(set.parse(&mut e), Verdict::Unparsed);
    assert_eq!(e.stage, "s00-raw");
}

#[test]
fn a_stage_that_succeeds_without_promoting_drops_the_event_at_the_next() {
    let raw = RAW.replace("onsuccess: next_stage", "onsuccess: continue");
    let set = load(&[("s00-raw", &raw), ("s01-parse", PARSE)]).unwrap();
    let mut e = event("login: failed for bob");
    assert_eq!(set.parse(&mut e), Verdict::Unparsed);
    assert_eq!(e.meta["seen"], "yes", "the s00 node ran and succeeded");
}

#[test]
fn a_skeleton_node_with_continue_takes_the_last_childs_result() {
    let skeleton = r#"
name: test/skeleton
nodes:
  - grok: { pattern: 'a%{INT:n}', apply_on: Line.Raw }
  - grok: { pattern: 'b%{INT:m}', apply_on: Line.Raw }
statics:
  - meta: done
    value: "1"
"#;
    let set = load(&[("s00-raw", skeleton)]).unwrap();
    let mut e = event("b1");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert_eq!(e.meta["done"], "1");
    let mut e = event("a1");
    assert_eq!(
        set.parse(&mut e),
        Verdict::Unparsed,
        "the first child matched, the last did not"
    );
    assert_eq!(e.parsed["n"], "1", "what the successful child did stays");
    assert!(!e.meta.contains_key("done"));
}

#[test]
fn a_node_whose_grok_failed_succeeds_through_a_child() {
    let text = r#"
name: test/parent
grok: { pattern: '^never %{WORD:x}$', apply_on: Line.Raw }
nodes:
  - filter: evt.Line.Raw contains 'rescue'
    statics:
      - meta: rescued
        value: "true"
"#;
    let set = load(&[("s00-raw", text)]).unwrap();
    let mut e = event("please rescue me");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert_eq!(e.meta["rescued"], "true");
    let mut e = event("nothing");
    assert_eq!(set.parse(&mut e), Verdict::Unparsed);
}

#[test]
fn whitelists_mark_the_event_and_gate_the_statics() {
    let text = r#"
name: test/wl
whitelist:
  reason: private
  cidr: [10.0.0.0/8]
  expression: ["evt.Meta.user == 'ci'"]
statics:
  - meta: wl_static
    value: "applied"
"#;
    let set = load(&[("s02-enrich", text)]).unwrap();
    let mut e = event("x");
    e.meta.insert("source_ip".into(), "10.1.2.3".into());
    assert_eq!(set.parse(&mut e), Verdict::Whitelisted);
    assert_eq!(e.whitelist_reason, "private");
    assert_eq!(e.meta["wl_static"], "applied");
    let mut e = event("x");
    e.meta.insert("source_ip".into(), "8.8.8.8".into());
    assert_eq!(
        set.parse(&mut e),
        Verdict::Keep,
        "a node with only a whitelist always succeeds"
    );
    assert!(!e.whitelisted);
    assert!(
        !e.meta.contains_key("wl_static"),
        "statics of a whitelist node need a match"
    );
    let mut e = event("x");
    e.meta.insert("user".into(), "ci".into());
    assert_eq!(set.parse(&mut e), Verdict::Whitelisted);
}

#[test]
fn a_failing_filter_has_no_side_effect_and_the_next_node_runs() {
    let a = r#"
name: test/a
filter: evt.SetMeta('touched', 'yes') && false
statics: [{meta: a, value: "1"}]
---
name: test/b
statics: [{meta: b, value: "1"}]
"#;
    let set = load(&[("s00-raw", a)]).unwrap();
    let mut e = event("x");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert!(!e.meta.contains_key("a"));
    assert_eq!(e.meta["b"], "1");
}

#[test]
fn pattern_syntax_is_global_and_order_free() {
    let text = r#"
name: test/ps
pattern_syntax:
  OUTER: 'x%{INNER:v}'
  INNER: '[0-9]+'
grok: { name: OUTER, apply_on: Line.Raw }
"#;
    let set = load(&[("s00-raw", text)]).unwrap();
    let mut e = event("x42");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert_eq!(e.parsed["v"], "42");
}

#[test]
fn load_errors_name_file_line_field_node_and_column() {
    let bad = r#"
name: test/bad
filter: evt.Parsed.x == 'a' &&& true
onsuccess: later
grok:
  pattern: '%{NOPE:x}'
  apply_on: Line.Raw
statics:
  - meta: a
    parsed: b
    value: c
  - target: evt.Nope
    value: x
colour: red
"#;
    let errs = load(&[("s01-parse", bad)]).unwrap_err();
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        text.len(),
        1,
        "an unknown key stops the document: {text:#?}"
    );
    assert!(
        text[0].starts_with("s01-parse/0.yaml:14:1: colour: unknown field `colour`"),
        "{text:#?}"
    );

    let bad = bad.replace("colour: red\n", "");
    let errs = load(&[("s01-parse", &bad)]).unwrap_err();
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    let has = |p: &str| text.iter().any(|t| t.starts_with(p));
    assert!(
        has("s01-parse/0.yaml:3:1: filter: node test/bad: "),
        "{text:#?}"
    );
    assert!(text.iter().any(|t| t.contains("column")), "{text:#?}");
    assert!(
        has("s01-parse/0.yaml:4:1: onsuccess: unknown onsuccess \"later\""),
        "{text:#?}"
    );
    assert!(has("s01-parse/0.yaml:6:3: grok.pattern: "), "{text:#?}");
    assert!(
        has("s01-parse/0.yaml:9:5: statics[0]: a static needs exactly one"),
        "{text:#?}"
    );
    assert!(
        has("s01-parse/0.yaml:12:5: statics[1].target: target \"evt.Nope\""),
        "{text:#?}"
    );
    assert_eq!(text.len(), 5, "{text:#?}");
}

#[test]
fn documents_without_name_description_or_author_are_skipped() {
    let set = load(&[(
        "s00-raw",
        "filter: 'true'\nstatics: [{meta: a, value: b}]\n",
    )])
    .unwrap();
    assert!(set.is_empty());
}

/// A grok on a `Parsed` field may export that very field (the hub's http-logs splits `request`
/// into `request` and `http_args`): on a match the capture replaces it, otherwise it is kept; a
/// grok that does not export its input leaves it as it was.
#[test]
fn grok_on_a_parsed_field_that_it_exports() {
    const SPLIT: &str = r#"
name: test/split
filter: evt.Parsed.program == 'web'
nodes:
  - grok:
      pattern: '^%{DATA:message}\?%{GREEDYDATA:args}$'
      apply_on: message
  - grok:
      pattern: '^/%{WORD:first}'
      apply_on: message
"#;
    let set = load(&[("s00-raw", RAW), ("s01-parse", SPLIT)]).unwrap();
    let mut e = event("web: /index?id=1");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert_eq!(e.parsed["message"], "/index");
    assert_eq!(e.parsed["args"], "id=1");
    assert_eq!(e.parsed["first"], "index");

    let mut e = event("web: /plain");
    assert_eq!(set.parse(&mut e), Verdict::Keep);
    assert_eq!(e.parsed["message"], "/plain");
    assert!(!e.parsed.contains_key("args"));
    assert_eq!(e.parsed["first"], "plain");
}
