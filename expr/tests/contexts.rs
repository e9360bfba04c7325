//! Contexts other than parsers: profiles (`Alert`), scenario conditions (`queue`, `leaky`)
//! through declared variables, [`Vars`] and custom [`Env`]/[`HostObject`] implementations.
mod common;
use palisade_expr::{Context, Env, HostObject, Program, Value, Vars};
use palisade_schemas::{Alert, AlertEvent, Event, EventType, MetaItem, RuntimeAlert, Source};

fn alert() -> Alert {
    Alert {
        remediation: true,
        scenario: "crowdsecurity/ssh-bf".into(),
        events_count: 6,
        source: Source {
            scope: "Ip".into(),
            value: "1.2.3.4".into(),
            ip: "1.2.3.4".into(),
            cn: "FR".into(),
            ..Source::default()
        },
        meta: vec![MetaItem {
            key: "service".into(),
            value: "ssh".into(),
        }],
        events: vec![AlertEvent {
            meta: vec![MetaItem {
                key: "source_ip".into(),
                value: "1.2.3.4".into(),
            }],
            timestamp: "2026-01-01T00:00:00Z".into(),
        }],
        ..Alert::default()
    }
}

#[test]
fn profile_filters_on_alert() {
    let ctx = Context::without_event().declare("Alert");
    let a = alert();
    let check = |src: &str| -> String {
        let p = Program::compile(src, &ctx).unwrap_or_else(|e| panic!("{src}: {e}"));
        let mut vars = Vars::new().with_value(Value::Object(&a));
        match p.eval(&mut vars) {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("ERR: {}", e.message()),
        }
    };
    assert_eq!(
        check("Alert.Remediation == true && Alert.GetScope() == 'Ip'"),
        "true"
    );
    assert_eq!(check("Alert.GetValue()"), "\"1.2.3.4\"");
    assert_eq!(
        check("Alert.GetScenario() startsWith 'crowdsecurity/'"),
        "true"
    );
    assert_eq!(check("Alert.GetEventsCount() > 5"), "true");
    assert_eq!(check("Alert.GetMeta('service')"), "\"ssh\"");
    assert_eq!(check("Alert.Source.Cn in ['FR', 'DE']"), "true");
    assert_eq!(check("Alert.Source.GetScope()"), "\"Ip\"");
    assert_eq!(check("Alert.Events[0].GetMeta('source_ip')"), "\"1.2.3.4\"");
    assert_eq!(
        check("Sprintf('%dh', (Alert.GetEventsCount() + 1) * 4)"),
        "\"28h\""
    );
    assert_eq!(
        check("Alert.Nope"),
        "ERR: cannot fetch Nope from *models.Alert"
    );
    assert_eq!(
        check("Alert.Nope()"),
        "ERR: type *models.Alert has no method Nope"
    );
}

#[test]
fn overflow_events() {
    let mut e = Event {
        kind: EventType::Overflow,
        ..Event::default()
    };
    let mut ra = RuntimeAlert {
        mapkey: "abc".into(),
        alert: Some(Box::new(alert())),
        api_alerts: vec![alert()],
        ..RuntimeAlert::default()
    };
    ra.sources.insert("1.2.3.4".into(), alert().source);
    e.overflow = Some(Box::new(ra));
    let ctx = Context::event();
    let run = |src: &str, e: &mut Event| {
        format!(
            "{:?}",
            Program::compile(src, &ctx).unwrap().eval(e).unwrap()
        )
    };
    assert_eq!(
        run("evt.Overflow.Alert.Source.Value", &mut e),
        "\"1.2.3.4\""
    );
    assert_eq!(run("evt.Overflow.Alert.GetScope() == 'Ip'", &mut e), "true");
    assert_eq!(run("evt.Overflow.GetSources()", &mut e), "[\"1.2.3.4\"]");
    assert_eq!(run("evt.Overflow.Sources['1.2.3.4'].Cn", &mut e), "\"FR\"");
    assert_eq!(run("evt.GetMeta('source_ip')", &mut e), "\"1.2.3.4\"");
    assert_eq!(run("evt.ParseIPSources()", &mut e), "[\"1.2.3.4\"]");
    assert_eq!(run("evt.Overflow.Mapkey", &mut e), "\"abc\"");
}

/// A scenario-condition environment: `evt`, plus `queue` and `leaky` host objects.
struct Bucket {
    events: Vec<Event>,
    total: i64,
}

impl HostObject for Bucket {
    fn type_name(&self) -> &'static str {
        "*types.Queue"
    }
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "Queue" => Some(Value::array(self.events.iter().map(Value::Event).collect())),
            "Total_count" => Some(Value::Int(self.total)),
            _ => None,
        }
    }
}

struct ConditionEnv {
    evt: Event,
    bucket: Bucket,
}

impl Env for ConditionEnv {
    fn event(&self) -> Option<&Event> {
        Some(&self.evt)
    }
    fn event_mut(&mut self) -> Option<&mut Event> {
        Some(&mut self.evt)
    }
    fn var(&self, index: usize) -> Value<'_> {
        match index {
            0 | 1 => Value::Object(&self.bucket),
            _ => Value::Nil,
        }
    }
}

#[test]
fn scenario_conditions_over_the_queue() {
    let ctx = Context::event().declare("queue").declare("leaky");
    let mut events = Vec::new();
    for user in ["root", "admin", "root", "guest"] {
        let mut e = Event::default();
        e.meta.insert("target_user".into(), user.into());
        events.push(e);
    }
    let mut env = ConditionEnv {
        evt: events[0].clone(),
        bucket: Bucket { events, total: 4 },
    };
    let run = |src: &str, env: &mut ConditionEnv| {
        format!(
            "{:?}",
            Program::compile(src, &ctx)
                .unwrap_or_else(|e| panic!("{src}: {e}"))
                .eval(env)
                .unwrap()
        )
    };
    assert_eq!(run("len(queue.Queue)", &mut env), "4");
    assert_eq!(
        run(
            "count(queue.Queue, {.Meta.target_user == 'root'})",
            &mut env
        ),
        "2"
    );
    assert_eq!(
        run(
            "len(uniq(map(queue.Queue, {#.Meta.target_user}))) >= 3",
            &mut env
        ),
        "true"
    );
    assert_eq!(
        run(
            "all(queue.Queue, {#.GetMeta('target_user') != ''})",
            &mut env
        ),
        "true"
    );
    assert_eq!(
        run(
            "leaky.Total_count > 3 && evt.Meta.target_user == 'root'",
            &mut env
        ),
        "true"
    );
    assert_eq!(run("evt.SetMeta('flag', 'x')", &mut env), "true");
    assert_eq!(env.evt.meta["flag"], "x");
    let p = Program::compile("queue.Queue[1].SetMeta('a', 'b')", &ctx).unwrap();
    assert!(
        p.eval(&mut env).is_err(),
        "only the bound event can be written"
    );
}

#[test]
fn vars_with_event_and_values() {
    let ctx = Context::event().declare("limit");
    let mut e = common::sample_event();
    let p = Program::compile("len(evt.Meta) >= limit", &ctx).unwrap();
    let mut vars = Vars::new().with_event(&mut e).with_value(Value::Int(3));
    assert!(p.eval_bool(&mut vars).unwrap());
    let p2 = Program::compile("evt.SetParsed('k', 'v')", &ctx).unwrap();
    let mut vars = Vars::new().with_event(&mut e);
    assert!(p2.eval_bool(&mut vars).unwrap());
    assert_eq!(e.parsed["k"], "v");
    // no event bound: evt reads are errors, not panics
    let mut none = Vars::new();
    assert!(Program::compile("evt.Meta.x == ''", &ctx)
        .unwrap()
        .eval(&mut none)
        .is_err());
}
