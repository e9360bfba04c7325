//! Nil semantics, event field addressing, mutation through helpers, eval_bool/eval_string.
mod common;
use common::{check_table, compile, ctx, run_on, sample_event};
use palisade_expr::{EvalError, Program};
use palisade_schemas::{EventType, ExpectMode};

#[test]
fn nil_and_zero_values() {
    check_table(&[
        ("evt.Meta.missing == ''", "true"),
        ("evt.Meta.missing", "\"\""),
        ("evt.Parsed.missing == nil", "false"),
        ("evt.Enriched.missing", "\"\""),
        ("evt.Line.Labels.missing", "\"\""),
        ("evt.Unmarshaled.missing", "nil"),
        ("evt.Unmarshaled.missing == nil", "true"),
        ("evt.Unmarshaled.missing == ''", "false"),
        (
            "evt.Unmarshaled.missing.x",
            "ERR: cannot fetch x from <nil>",
        ),
        (
            "evt.Unmarshaled.missing.x.y",
            "ERR: cannot fetch x from <nil>",
        ),
        ("evt.Unmarshaled.missing?.x.y", "nil"),
        ("evt.Unmarshaled.missing?.x ?? 'd'", "\"d\""),
        ("evt.Unmarshaled.missing ?? 'd'", "\"d\""),
        (
            "evt.Unmarshaled.k8s.ObjectRef?.Namespace",
            "\"kube-system\"",
        ),
        ("evt.Unmarshaled.k8s.missing?.Namespace ?? ''", "\"\""),
        (
            "evt.Unmarshaled.missing[0]",
            "ERR: cannot fetch 0 from <nil>",
        ),
        ("evt.Unmarshaled.missing?.[0]", "nil"),
        (
            "evt.Unmarshaled.missing.Method()",
            "ERR: cannot fetch Method from <nil>",
        ),
        ("evt.Unmarshaled.missing?.Method()", "nil"),
        ("evt.Unmarshaled.k8s.Verb == nil", "false"),
        ("evt.Unmarshaled.k8s.Verb == 'create'", "true"),
        ("evt.Unmarshaled.k8s.code == '201'", "false"),
        ("'' == nil", "false"),
        (
            "evt.Unmarshaled.k8s.Verb.x",
            "ERR: cannot fetch x from string",
        ),
    ]);
}

#[test]
fn event_fields() {
    check_table(&[
        ("evt.Line.Raw contains 'request'", "true"),
        ("evt.Line.Src", "\"/var/log/nginx/access.log\""),
        ("evt.Line.Module", "\"file\""),
        ("evt.Line.Labels.type", "\"nginx\""),
        ("evt.Line.Process", "false"),
        ("evt.Parsed.program", "\"nginx\""),
        ("evt.Enriched.IsoCode", "\"FR\""),
        ("evt.StrTime", "\"04/Mar/2026:13:14:15 +0000\""),
        ("evt.MarshaledTime", "\"2026-03-04T13:14:15Z\""),
        ("evt.Stage", "\"s01-parse\""),
        ("evt.Whitelisted", "false"),
        ("evt.Process", "false"),
        ("evt.Type", "0"),
        ("evt.ExpectMode", "0"),
        ("evt.WhitelistReason", "\"\""),
        ("evt.StrTimeFormat", "\"\""),
        ("evt.GetType()", "\"log\""),
        ("evt.GetMeta('source_ip')", "\"192.168.1.10\""),
        ("evt.GetMeta('nope')", "\"\""),
        ("evt.ParseIPSources()", "[\"192.168.1.10\"]"),
        ("evt.Overflow.Alert", "nil"),
        ("evt.Overflow.Mapkey", "\"\""),
        ("evt.Overflow.GetSources()", "[]"),
        ("evt.Line['Raw'] == evt.Line.Raw", "true"),
        ("'Meta' in evt", "true"),
        ("evt.Time.Year()", "2026"),
    ]);
}

#[test]
fn event_kinds_and_modes() {
    let mut e = sample_event();
    e.kind = EventType::Overflow;
    e.expect_mode = ExpectMode::TimeMachine;
    e.whitelisted = true;
    assert_eq!(run_on("evt.GetType()", &mut e), "\"overflow\"");
    assert_eq!(
        run_on(
            "evt.Type == 1 && evt.ExpectMode == 1 && evt.Whitelisted",
            &mut e
        ),
        "true"
    );
    assert_eq!(
        run_on("evt.GetMeta('source_ip')", &mut e),
        "\"\"",
        "overflows search their alerts' events"
    );
}

#[test]
fn set_meta_and_parsed() {
    let mut e = sample_event();
    assert_eq!(
        run_on(
            "evt.SetMeta('new', 'v1') && evt.SetParsed('p', evt.Meta.service)",
            &mut e
        ),
        "true"
    );
    assert_eq!(e.meta["new"], "v1");
    assert_eq!(e.parsed["p"], "http");
    // read-after-write inside one expression
    assert_eq!(
        run_on("evt.SetMeta('a', 'x') && evt.Meta.a == 'x' && evt.GetMeta('a') == 'x' && 'a' in evt.Meta", &mut e),
        "true"
    );
    // a write survives a later error
    assert!(run_on(
        "evt.SetMeta('b', 'kept') && evt.Unmarshaled.nope.x == 1",
        &mut e
    )
    .starts_with("ERR"));
    assert_eq!(e.meta["b"], "kept");
    assert!(Program::compile("evt.SetMeta('c', 1)", &ctx()).is_err());
    assert!(run_on("evt.SetMeta('c', evt.Unmarshaled.k8s.code)", &mut e).starts_with("ERR"));
    assert!(!e.meta.contains_key("c"));
}

#[test]
fn unmarshal_json_side_effects() {
    let mut e = sample_event();
    let p = compile("UnmarshalJSON(evt.Line.Raw, evt.Unmarshaled, 'traefik') in ['', nil]");
    assert!(p.mutates());
    assert!(p.eval_bool(&mut e).unwrap());
    assert_eq!(e.unmarshaled["traefik"]["request"]["method"], "GET");
    assert_eq!(
        run_on("evt.Unmarshaled.traefik.status == 404", &mut e),
        "true"
    );
    // read-after-write in the same expression
    let mut e2 = sample_event();
    assert_eq!(
        run_on(
            "UnmarshalJSON(evt.Line.Raw, evt.Unmarshaled, 'j') == nil && evt.Unmarshaled.j.request.method == 'GET'",
            &mut e2
        ),
        "true"
    );
    // nested target
    assert_eq!(
        run_on(
            "UnmarshalJSON('{\"x\":1}', evt.Unmarshaled.k8s, 'sub')",
            &mut e2
        ),
        "nil"
    );
    assert_eq!(e2.unmarshaled["k8s"]["sub"]["x"], 1);
    // bad JSON: error, nothing written
    let mut e3 = sample_event();
    assert!(
        run_on("UnmarshalJSON('{bad', evt.Unmarshaled, 'x')", &mut e3)
            .starts_with("ERR: UnmarshalJSON")
    );
    assert!(!e3.unmarshaled.contains_key("x"));
    assert!(
        !compile("UnmarshalJSON('{bad', evt.Unmarshaled, 'x') in ['', nil]").eval_filter(&mut e3)
    );
    // target that is nil / not a map
    assert!(run_on("UnmarshalJSON('{}', evt.Unmarshaled.nope, 'x')", &mut e3).starts_with("ERR"));
    assert!(run_on(
        "UnmarshalJSON('{}', evt.Unmarshaled.k8s.Verb, 'x')",
        &mut e3
    )
    .starts_with("ERR"));
    // a map that is not part of the event: accepted, the write goes nowhere
    assert_eq!(run_on("UnmarshalJSON('{}', {}, 'x')", &mut e3), "nil");
}

#[test]
fn parse_kv_side_effects() {
    let mut e = sample_event();
    e.line.raw = r#"time=1 msg="hello world" user=bob"#.into();
    assert_eq!(
        run_on(
            "ParseKV(evt.Line.Raw, evt.Unmarshaled, 'kv') in ['', nil]",
            &mut e
        ),
        "true"
    );
    assert_eq!(e.unmarshaled["kv"]["msg"], "hello world");
    assert_eq!(run_on("evt.Unmarshaled.kv.user", &mut e), "\"bob\"");
    // merging into an existing string map works, into a JSON object with non-strings fails
    assert_eq!(
        run_on("ParseKV('a=1', evt.Unmarshaled, 'kv')", &mut e),
        "nil"
    );
    assert_eq!(e.unmarshaled["kv"]["a"], "1");
    assert_eq!(e.unmarshaled["kv"]["user"], "bob");
    assert!(run_on("ParseKV('a=1', evt.Unmarshaled, 'k8s')", &mut e)
        .starts_with("ERR: target is not a map"));
    assert!(
        run_on("ParseKV('nothing here', evt.Unmarshaled, 'z')", &mut e)
            .starts_with("ERR: invalid input format")
    );
    assert_eq!(
        run_on(
            "ParseKVLax('msg=a b c id=2', evt.Unmarshaled, 'lax')",
            &mut e
        ),
        "nil"
    );
    assert_eq!(e.unmarshaled["lax"]["msg"], "a b c");
    assert!(run_on("ParseKVLax('', evt.Unmarshaled, 'lax2')", &mut e).starts_with("ERR"));
}

#[test]
fn eval_bool_filter_string() {
    let mut e = sample_event();
    assert!(compile("evt.Meta.service == 'http'")
        .eval_bool(&mut e)
        .unwrap());
    assert_eq!(
        compile("evt.Meta.service").eval_bool(&mut e),
        Err(EvalError::NotBool {
            type_name: "string"
        })
    );
    assert!(!compile("evt.Meta.service").eval_filter(&mut e));
    assert!(!compile("evt.Unmarshaled.nope.x == 1").eval_filter(&mut e));
    assert!(compile("evt.Meta.service == 'http'").eval_filter(&mut e));
    assert_eq!(
        compile("evt.Meta.source_ip").eval_string(&mut e).unwrap(),
        "192.168.1.10"
    );
    assert_eq!(compile("1 + 2").eval_string(&mut e).unwrap(), "3");
    assert_eq!(compile("1.5").eval_string(&mut e).unwrap(), "1.500000");
    assert_eq!(compile("nil").eval_string(&mut e).unwrap(), "");
    assert!(matches!(
        compile("[1]").eval_string(&mut e),
        Err(EvalError::NotString { .. })
    ));
    let n = compile("evt.Meta.service")
        .eval_with(&mut e, |v| v.as_str().map(str::len))
        .unwrap();
    assert_eq!(n, Some(4));
}

#[test]
fn runtime_errors_carry_positions() {
    let mut e = sample_event();
    match compile("1 == 1 &&\n evt.Unmarshaled.nope.x").eval(&mut e) {
        Err(EvalError::Runtime { message, offset }) => {
            assert_eq!(message, "cannot fetch x from <nil>");
            assert_eq!(offset, 31);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn programs_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Program>();
    let p = std::sync::Arc::new(compile("evt.Meta.service == 'http'"));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut e = sample_event();
                p.eval_bool(&mut e).unwrap()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
    let _ = ctx();
}
