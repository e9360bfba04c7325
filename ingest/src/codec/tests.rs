//! One message per shipper (shaped like the documented outputs), label rules, and bad messages.

use super::*;
use chrono::TimeZone;

const NGINX: &str = r#"203.0.113.7 - - [26/Nov/2026:21:40:01 +0000] "GET /wp-login.php HTTP/1.1" 404 153 "-" "curl/8.5""#;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
}

fn codec(yaml: &str) -> Codec {
    let spec: CodecSpec = serde_saphyr::from_str(yaml).unwrap();
    spec.compile().unwrap()
}

fn nginx_codec() -> Codec {
    codec(
        r#"
labels: {type: syslog}
rules:
  - match: {file: "/var/log/nginx/*access*"}
    labels: {type: nginx}
"#,
    )
}

fn decode(c: &Codec, msg: &str) -> Result<Event, DecodeError> {
    c.decode(msg.as_bytes(), "logs", None, now())
}

#[test]
fn a_raw_line_is_taken_verbatim_with_the_default_labels() {
    let c = codec("labels: {type: nginx}");
    let e = decode(&c, &format!("{NGINX}\n")).unwrap();
    assert_eq!(e.line.raw, NGINX);
    assert_eq!(e.log_type(), Some("nginx"));
    assert_eq!(e.line.module, "kafka");
    assert_eq!(e.line.src, "logs");
    assert_eq!(
        e.line.time,
        Some(now()),
        "no envelope and no Kafka time: now"
    );
    assert_eq!(e.expect_mode, ExpectMode::TimeMachine);
}

#[test]
fn the_kafka_timestamp_is_used_when_the_envelope_has_none() {
    let c = codec("labels: {type: nginx}");
    let t = Utc.with_ymd_and_hms(2026, 11, 26, 21, 40, 1).unwrap();
    let e = c.decode(NGINX.as_bytes(), "logs", Some(t), now()).unwrap();
    assert_eq!(e.line.time, Some(t));
}

#[test]
fn vector_file_json_maps_message_file_host_and_time() {
    let msg =
        serde_json::json!({"file":"/var/log/nginx/access.log","host":"web-01","message":NGINX,
        "source_type":"file","timestamp":"2026-11-26T21:40:01.123456789Z"})
        .to_string();
    let e = decode(&nginx_codec(), &msg).unwrap();
    assert_eq!(e.line.raw, NGINX);
    assert_eq!(e.log_type(), Some("nginx"), "the file rule applies");
    assert_eq!(e.line.src, "/var/log/nginx/access.log");
    assert_eq!(e.get_meta("machine"), "web-01");
    let t = e.line.time.unwrap();
    assert_eq!(t.timestamp(), 1_795_729_201);
    assert_eq!(t.timestamp_subsec_nanos(), 123_456_789);
}

#[test]
fn vector_syslog_json_becomes_a_syslog_line() {
    let msg = r#"{"appname":"sshd","facility":"auth","host":"web-01","hostname":"web-01","message":"Failed password for invalid user admin from 203.0.113.7 port 52214 ssh2","procid":1234,"severity":"info","source_ip":"10.0.0.5","source_type":"syslog","timestamp":"2026-11-26T21:40:01Z"}"#;
    let e = decode(&codec(""), msg).unwrap();
    assert_eq!(
        e.line.raw,
        "Nov 26 21:40:01 web-01 sshd[1234]: Failed password for invalid user admin from 203.0.113.7 port 52214 ssh2"
    );
    assert_eq!(e.log_type(), Some("syslog"), "a program implies syslog");
}

#[test]
fn filebeat_ecs_reads_nested_fields() {
    let msg = serde_json::json!({"@timestamp":"2026-11-26T21:40:01.123Z",
        "@metadata":{"beat":"filebeat","type":"_doc","version":"8.15.0"},
        "log":{"offset":48213,"file":{"path":"/var/log/nginx/access.log"}},
        "message":NGINX,"input":{"type":"filestream"},"ecs":{"version":"8.0.0"},
        "host":{"name":"web-01"},"agent":{"type":"filebeat","name":"web-01"}})
    .to_string();
    let e = decode(&nginx_codec(), &msg).unwrap();
    assert_eq!(e.line.raw, NGINX);
    assert_eq!(e.line.src, "/var/log/nginx/access.log");
    assert_eq!(e.log_type(), Some("nginx"));
    assert_eq!(e.get_meta("machine"), "web-01");
    assert_eq!(e.line.time.unwrap().timestamp_subsec_millis(), 123);
}

#[test]
fn fluent_bit_tail_uses_log_and_float_seconds() {
    let msg = serde_json::json!({"@timestamp":1795729201.5,"log":NGINX,
        "filename":"/var/log/nginx/access.log"})
    .to_string();
    let e = decode(&nginx_codec(), &msg).unwrap();
    assert_eq!(e.line.raw, NGINX);
    assert_eq!(e.log_type(), Some("nginx"));
    let t = e.line.time.unwrap();
    assert_eq!(
        (t.timestamp(), t.timestamp_subsec_millis()),
        (1_795_729_201, 500)
    );
}

#[test]
fn rsyslog_json_template_trims_the_leading_space_of_msg() {
    let msg = r#"{"@timestamp":"2026-11-26T21:40:01.123456+00:00","host":"web-01","program":"sshd","pid":"1234","message":" Failed password for invalid user admin from 203.0.113.7 port 52214 ssh2"}"#;
    let e = decode(&codec(""), msg).unwrap();
    assert_eq!(
        e.line.raw,
        "Nov 26 21:40:01 web-01 sshd[1234]: Failed password for invalid user admin from 203.0.113.7 port 52214 ssh2"
    );
}

#[test]
fn rsyslog_file_format_text_is_a_raw_syslog_line() {
    let msg = "2026-11-26T21:40:01.123456+00:00 web-01 sshd[1234]: Failed password for root from 203.0.113.7 port 1 ssh2";
    let e = decode(&codec("labels: {type: syslog}"), msg).unwrap();
    assert_eq!(e.line.raw, msg);
    assert_eq!(e.log_type(), Some("syslog"));
}

#[test]
fn a_field_mapping_overrides_the_format() {
    let c =
        codec("format: json\nfields: {message: payload.text, timestamp: ts}\nlabels: {type: app}");
    let e = decode(&c, r#"{"payload":{"text":"hello"},"ts":1795729201}"#).unwrap();
    assert_eq!(e.line.raw, "hello");
    assert_eq!(e.line.time.unwrap().timestamp(), 1_795_729_201);
}

#[test]
fn program_rules_choose_the_type_and_the_first_match_wins() {
    let c = codec(
        r#"
rules:
  - match: {program: nginx}
    labels: {type: nginx}
  - match: {host: "web-*"}
    labels: {type: syslog, env: prod}
"#,
    );
    let e = decode(
        &c,
        &serde_json::json!({"program":"nginx","host":"web-1","message":NGINX}).to_string(),
    )
    .unwrap();
    assert_eq!(e.log_type(), Some("nginx"));
    assert_eq!(
        e.line.raw, NGINX,
        "not rebuilt as syslog when the type is not syslog"
    );
    let e = decode(&c, r#"{"program":"sshd","host":"web-1","message":"x"}"#).unwrap();
    assert_eq!(e.line.labels.get("env").map(String::as_str), Some("prod"));
}

#[test]
fn bad_messages_give_reasons() {
    let c = codec("labels: {type: nginx}");
    assert_eq!(decode(&c, "  \n"), Err(DecodeError::Empty));
    assert_eq!(
        c.decode(&[0xff, 0xfe], "logs", None, now()),
        Err(DecodeError::NotUtf8)
    );
    let j = codec("format: vector\nlabels: {type: nginx}");
    assert!(matches!(
        decode(&j, "{not json"),
        Err(DecodeError::BadJson(_))
    ));
    let err = decode(&j, r#"{"host":"a"}"#).unwrap_err();
    assert!(matches!(err, DecodeError::NoLine { .. }));
    assert!(err.to_string().contains("message"), "{err}");
    let untyped = codec("");
    assert!(matches!(
        decode(&untyped, NGINX),
        Err(DecodeError::NoType { .. })
    ));
}

#[test]
fn auto_keeps_a_line_that_only_looks_like_json_raw() {
    let c = codec("labels: {type: app}");
    let e = decode(&c, "{oops} something happened").unwrap();
    assert_eq!(e.line.raw, "{oops} something happened");
}

#[test]
fn bad_globs_and_empty_rules_are_config_errors() {
    let spec: CodecSpec =
        serde_saphyr::from_str("rules:\n  - match: {file: '[x'}\n    labels: {}\n").unwrap();
    let errs = spec.compile().unwrap_err();
    let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["rules[0].match.file", "rules[0].labels"]);
}
