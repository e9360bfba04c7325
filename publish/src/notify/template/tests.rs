//! The Go-template subset, on the templates CrowdSec ships and on each construct.

use super::*;
use palisade_schemas::{AlertEvent, Decision, MetaItem, Source};
use serde_json::json;

fn render(template: &str, data: &Json) -> String {
    match Template::parse(template).and_then(|t| t.render(data)) {
        Ok(s) => s,
        Err(e) => panic!("{template:?}: {e}"),
    }
}

fn sample() -> Alert {
    Alert {
        id: 7,
        machine_id: "host1".into(),
        scenario: "crowdsecurity/ssh-bf".into(),
        events_count: 6,
        remediation: true,
        source: Source {
            scope: "Ip".into(),
            value: "1.2.3.4".into(),
            ip: "1.2.3.4".into(),
            cn: "FR".into(),
            latitude: 50.6,
            ..Source::default()
        },
        events: vec![AlertEvent {
            meta: vec![
                MetaItem {
                    key: "target_user".into(),
                    value: "root".into(),
                },
                MetaItem {
                    key: "service".into(),
                    value: "ssh".into(),
                },
            ],
            timestamp: "2026-02-12T14:10:21Z".into(),
        }],
        decisions: Some(vec![Decision {
            duration: "4h0m0s".into(),
            id: 3,
            origin: "crowdsec".into(),
            scenario: "crowdsecurity/ssh-bf".into(),
            scope: "Ip".into(),
            simulated: Some(false),
            kind: "ban".into(),
            until: None,
            uuid: Some("u".into()),
            value: "1.2.3.4".into(),
        }]),
        ..Alert::default()
    }
}

#[test]
fn the_default_format_is_the_json_array_of_alerts() {
    let t = Template::parse(DEFAULT_FORMAT).unwrap();
    let alerts = vec![sample()];
    let out = t.render_alerts(&alerts).unwrap();
    let back: Vec<Alert> = serde_json::from_str(&out).unwrap();
    assert_eq!(back, alerts);
    assert!(out.contains("\"latitude\":50.6"), "{out}");
}

#[test]
fn crowdsecs_slack_template_renders() {
    // The `format` of CrowdSec's slack.yaml.
    let slack = r#"{{range . -}}
{{ $alert := . -}}
{{range .Decisions -}}
{{if $alert.Source.Cn -}}
:flag-{{$alert.Source.Cn | lower}}: <https://www.shodan.io/host/{{.Value}}|{{.Value}}> will get {{.Type}} for next {{.Duration}} for triggering {{.Scenario}} on machine '{{$alert.MachineID}}'.{{end}}
{{if not $alert.Source.Cn -}}
:pirate_flag: <https://www.shodan.io/host/{{.Value}}|{{.Value}}> will get {{.Type}} for next {{.Duration}} for triggering {{.Scenario}} on machine '{{$alert.MachineID}}'.{{end}}
{{end -}}
{{end -}}
"#;
    let t = Template::parse(slack).unwrap();
    let mut anonymous = sample();
    anonymous.source.cn.clear();
    let out = t.render_alerts(&[sample(), anonymous]).unwrap();
    // The blank lines are Go's: the text between the two `if` blocks is kept.
    assert_eq!(
        out,
        ":flag-fr: <https://www.shodan.io/host/1.2.3.4|1.2.3.4> will get ban for next 4h0m0s for triggering crowdsecurity/ssh-bf on machine 'host1'.\n\n\n\
         :pirate_flag: <https://www.shodan.io/host/1.2.3.4|1.2.3.4> will get ban for next 4h0m0s for triggering crowdsecurity/ssh-bf on machine 'host1'.\n"
    );
}

#[test]
fn each_construct() {
    let data = json!({
        "name": "x", "n": 3, "items": ["a", "b"], "map": {"k2": 2, "k1": 1},
        "empty": [], "machine_id": "m", "nested": {"deep": {"v": "ok"}}, "zero": 0
    });
    let cases = [
        ("a {{.name}} b", "a x b"),
        ("a  {{- .name -}}  b", "axb"),
        ("{{/* note */}}x{{- /* trimmed */ -}} y", "xy"),
        ("{{.MachineID}}|{{.machine_id}}|{{.Missing}}|{{.nested.deep.v}}", "m|m||ok"),
        ("{{range $i, $e := .items}}{{$i}}={{$e}};{{end}}", "0=a;1=b;"),
        ("{{range .empty}}x{{else}}none{{end}}", "none"),
        ("{{range $k, $v := .map}}{{$k}}:{{$v}} {{end}}", "k1:1 k2:2 "),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{if .zero}}a{{else if .n}}b{{else}}c{{end}}", "b"),
        ("{{with .nested.deep}}{{.v}}{{else}}no{{end}}", "ok"),
        ("{{with .nope}}{{.v}}{{else with .name}}{{.}}{{end}}", "x"),
        ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
        ("{{len .items}} {{index .items 1}} {{index .map \"k2\"}}", "2 b 2"),
        ("{{printf \"%s-%03d-%.1f-%q-%v%%\" .name .n 2.25 .name .items}}", "x-003-2.2-\"x\"-[a b]%"),
        ("{{eq .n 3}} {{eq .name \"y\" \"x\"}} {{ne .n 3}} {{lt 1 2}} {{ge \"b\" \"a\"}}", "true true false true true"),
        ("{{and .n .name}} {{or .zero .empty \"d\"}} {{not .empty}}", "x d true"),
        ("{{.name | upper | printf \"<%s>\"}}", "<X>"),
        ("{{join \", \" .items}} {{default \"none\" .missing}} {{.items}}", "a, b none [a b]"),
        ("{{\"a.b\" | replace \".\" \"-\"}} {{trim \"  t \"}} {{quote .name}} {{title \"ab cd\"}}", "a-b t \"x\" Ab Cd"),
        ("{{html \"<a&b>\"}} {{urlquery \"a b&c\"}}", "&lt;a&amp;b&gt; a+b%26c"),
        ("{{toJson .map}} {{(index .items 0) | upper}} {{add 1 2}} {{sub 5 2}}", "{\"k1\":1,\"k2\":2} A 3 3"),
        ("{{`raw {{ x }}`}}", "raw {{ x }}"),
        ("{{$}}", "map[empty:[] items:[a b] machine_id:m map:map[k1:1 k2:2] n:3 name:x nested:map[deep:map[v:ok]] zero:0]"),
    ];
    for (template, want) in cases {
        assert_eq!(render(template, &data), want, "{template}");
    }
}

#[test]
fn get_meta_reads_the_events_meta() {
    let t = Template::parse(
        "{{range .}}{{GetMeta . \"target_user\"}} {{index (GetMeta . \"service\") 0}}{{end}}",
    )
    .unwrap();
    assert_eq!(t.render_alerts(&[sample()]).unwrap(), "[root] ssh");
}

#[test]
fn errors_name_the_line() {
    let parse_errors = [
        ("a\n{{.x", "template line 2: unclosed action"),
        (
            "{{if .x}}a",
            "template line 1: unexpected EOF: missing {{end}}",
        ),
        (
            "a\n\n{{end}}",
            "template line 3: unexpected {{end}} or {{else}}",
        ),
        (
            "{{template \"x\"}}",
            "template line 1: {{template}} is not supported",
        ),
        ("{{.a | }}", "template line 1: missing command after |"),
        ("{{\"open}}", "template line 1: unclosed action"),
        (
            "{{range .a}}{{else}}{{else}}{{end}}",
            "template line 1: more than one {{else}}",
        ),
    ];
    for (template, want) in parse_errors {
        match Template::parse(template) {
            Err(e) => assert_eq!(e.to_string(), want, "{template}"),
            Ok(_) => panic!("{template} parsed"),
        }
    }
    let data = json!({"s": "text", "n": 1});
    let render_errors = [
        (
            "{{nope .s}}",
            "template line 1: nope: function \"nope\" not defined",
        ),
        (
            "x\n{{.s.Field}}",
            "template line 2: can't evaluate field Field in type string",
        ),
        (
            "{{range .n}}{{end}}{{range .s}}{{end}}",
            "template line 1: range can't iterate over string",
        ),
        ("{{$y}}", "template line 1: undefined variable: $y"),
        (
            "{{.s 1}}",
            "template line 1: can't give argument to non-function",
        ),
        (
            "{{lt .s 1}}",
            "template line 1: lt: incompatible types for comparison: string and int",
        ),
    ];
    for (template, want) in render_errors {
        let t = Template::parse(template).unwrap();
        assert_eq!(t.render(&data).unwrap_err().to_string(), want, "{template}");
    }
}

#[test]
fn go_names_become_json_names() {
    for (go, json) in [
        ("MachineID", "machine_id"),
        ("EventsCount", "events_count"),
        ("UUID", "uuid"),
        ("ID", "id"),
        ("AsName", "as_name"),
        ("IP", "ip"),
        ("ScenarioHash", "scenario_hash"),
        ("HTTPServer", "http_server"),
        ("Cn", "cn"),
    ] {
        assert_eq!(exec::snake_case(go), json);
    }
}
