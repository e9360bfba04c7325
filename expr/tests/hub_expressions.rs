//! Expressions in the style of hub parsers, scenarios, postoverflows and profiles (written for
//! these tests, not copied), each compiled and evaluated on a matching event.
mod common;
use common::{compile, sample_event};
use palisade_schemas::Event;

fn ssh_event() -> Event {
    let mut e = Event::default();
    e.line.raw = "Jan  1 00:00:01 host sshd[1234]: Failed password for invalid user admin from 1.2.3.4 port 22 ssh2".into();
    e.line.labels.insert("type".into(), "syslog".into());
    e.parsed.insert("program".into(), "sshd".into());
    e.parsed.insert(
        "message".into(),
        "Failed password for invalid user admin from 1.2.3.4 port 22 ssh2".into(),
    );
    e.parsed
        .insert("timestamp".into(), "Jan  1 00:00:01".into());
    e.meta.insert("service".into(), "ssh".into());
    e.meta.insert("log_type".into(), "ssh_failed-auth".into());
    e.meta.insert("source_ip".into(), "1.2.3.4".into());
    e.meta.insert("target_user".into(), "admin".into());
    e
}

fn traefik_event() -> Event {
    let mut e = Event::default();
    e.line.raw = r#"{"ClientHost":"5.6.7.8","RequestMethod":"POST","RequestPath":"/wp-admin/x.php","DownstreamStatus":403,"request_User-Agent":"curl/8"}"#.into();
    e.line.labels.insert("type".into(), "traefik".into());
    e.line.module = "file".into();
    e
}

#[test]
fn hub_style_expressions() {
    let mut cases: Vec<(&str, Event, &str)> = vec![
        ("evt.Line.Labels.type == 'syslog'", ssh_event(), "true"),
        ("evt.Parsed.program in ['sshd', 'sshd-session']", ssh_event(), "true"),
        ("evt.Meta.service == 'ssh' && evt.Meta.log_type == 'ssh_failed-auth'", ssh_event(), "true"),
        ("evt.Meta.log_type in ['ssh_failed-auth', 'ssh_preauth_disconnect'] && evt.Meta.target_user != ''", ssh_event(), "true"),
        ("evt.Meta.source_ip", ssh_event(), "\"1.2.3.4\""),
        ("evt.Meta.source_ip + '/' + evt.Meta.target_user", ssh_event(), "\"1.2.3.4/admin\""),
        ("evt.Parsed.message contains 'invalid user' ? 'invalid' : 'valid'", ssh_event(), "\"invalid\""),
        ("evt.Parsed.timestamp != '' ? evt.Parsed.timestamp : evt.Parsed.timestamp8601", ssh_event(), "\"Jan  1 00:00:01\""),
        (
            "evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Parsed.static_ressource == 'false' && evt.Parsed.verb in ['GET', 'HEAD']",
            sample_event(),
            "true",
        ),
        ("evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Meta.http_status in ['404', '403', '502']", sample_event(), "true"),
        ("any(File('backdoors.txt'), { evt.Parsed.file_name == # })", sample_event(), "true"),
        ("any(File('sensitive_data.txt'), { evt.Meta.http_path contains # })", sample_event(), "false"),
        ("RegexpInFile(evt.Parsed.http_user_agent, 'bad_user_agents.regex.txt')", sample_event(), "true"),
        ("Upper(evt.Parsed.method) matches '^(GET|POST)$'", sample_event(), "true"),
        ("len(evt.Parsed.request) > 3 && evt.Parsed.request[0:1] == '/'", sample_event(), "true"),
        ("evt.Parsed.request[-4:] == '.php'", sample_event(), "true"),
        ("Lower(PathUnescape(evt.Meta.http_path)) contains '/wp-login'", sample_event(), "true"),
        ("evt.Meta.http_path matches '(?i)\\\\.(env|git)' || evt.Parsed.request endsWith '.php'", sample_event(), "true"),
        ("int(evt.Meta.http_status) >= 400 and int(evt.Meta.http_status) < 500", sample_event(), "true"),
        ("evt.Meta.source_ip + '/' + evt.Parsed.target_fqdn", sample_event(), "\"192.168.1.10/example.com\""),
        ("IpInRange(evt.Meta.source_ip, '192.168.0.0/16') || IpInRange(evt.Meta.source_ip, '10.0.0.0/8')", sample_event(), "true"),
        ("evt.Meta.source_ip startsWith '192.168.' || evt.Meta.source_ip == '127.0.0.1'", sample_event(), "true"),
        ("'source_ip' in evt.Meta && evt.Meta.source_ip != ''", sample_event(), "true"),
        ("evt.Line.Module == 'file' && evt.Line.Src endsWith 'access.log'", sample_event(), "true"),
        ("evt.Unmarshaled.k8s.Verb in ['create', 'update'] && evt.Unmarshaled.k8s.ObjectRef?.Resource == 'pods'", sample_event(), "true"),
        ("evt.Unmarshaled.k8s.ObjectRef?.Subresource ?? '' == ''", sample_event(), "true"),
        ("(evt.Unmarshaled.k8s.ObjectRef?.Subresource ?? 'none') == 'none'", sample_event(), "true"),
        ("evt.Time.Hour() >= 12 && evt.Time.Weekday().String() not in ['Saturday', 'Sunday']", sample_event(), "true"),
        ("UnmarshalJSON(evt.Line.Raw, evt.Unmarshaled, 'traefik') in ['', nil]", traefik_event(), "true"),
        (
            "UnmarshalJSON(evt.Line.Raw, evt.Unmarshaled, 'traefik') in ['', nil] && evt.Unmarshaled.traefik.RequestMethod == 'POST' && evt.Unmarshaled.traefik.DownstreamStatus == 403",
            traefik_event(),
            "true",
        ),
        ("JsonExtract(evt.Line.Raw, 'ClientHost')", traefik_event(), "\"5.6.7.8\""),
        ("JsonExtract(evt.Line.Raw, 'request_User-Agent') contains 'curl'", traefik_event(), "true"),
        ("{Jan: '01', Feb: '02', Mar: '03'}[evt.Parsed.month] ?? '00'", {
            let mut e = sample_event();
            e.parsed.insert("month".into(), "Feb".into());
            e
        }, "\"02\""),
        (
            "let path = Lower(evt.Meta.http_path); if path endsWith '.php' { 'php' } else if path endsWith '.asp' { 'asp' } else { 'other' }",
            sample_event(),
            "\"php\"",
        ),
        (
            "any(map(split(evt.Parsed.request, '/'), { Lower(#) }), { # in ['wp-login.php', 'xmlrpc.php'] })",
            sample_event(),
            "true",
        ),
        ("count(File('backdoors.txt'), { evt.Parsed.request contains # }) > 0", sample_event(), "true"),
        ("evt.SetMeta('http_verb', evt.Parsed.verb) && evt.Meta.http_verb == 'GET'", sample_event(), "true"),
        ("evt.GetType() == 'log' and evt.Meta.service == 'http'", sample_event(), "true"),
        ("Sprintf('%s:%s', evt.Meta.source_ip, evt.Meta.service)", sample_event(), "\"192.168.1.10:http\""),
        ("Match('*.php', evt.Parsed.file_name) && not Match('*.css', evt.Parsed.file_name)", sample_event(), "true"),
        ("evt.Parsed.remote_addr == evt.Meta.source_ip ? 'direct' : 'proxied'", sample_event(), "\"direct\""),
    ];
    let mut failures = Vec::new();
    for (src, ev, want) in cases.iter_mut() {
        let got = common::run_on(src, ev);
        if got != *want {
            failures.push(format!("{src}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(cases.len() >= 30);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // compile() is exercised above through run_on; keep the import used
    let _ = compile("true");
}
