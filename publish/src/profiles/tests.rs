//! Profile loading and evaluation, table-driven where it helps.

use super::*;
use crate::profile::decision_uuid;
use crate::Store;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use palisade_schemas::time::{format_rfc3339_nano, parse_rfc3339};
use palisade_schemas::{Alert, Decision, Source};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

const STOP: &str = "2026-02-12T14:10:24.5Z";

fn alert(scope: &str, value: &str, remediation: bool) -> Alert {
    Alert {
        scenario: "crowdsecurity/ssh-bf".into(),
        remediation,
        source: Source {
            scope: scope.into(),
            value: value.into(),
            ..Source::default()
        },
        stop_at: STOP.into(),
        ..Alert::default()
    }
}

fn load(text: &str) -> Profiles {
    match Profiles::load("profiles.yaml", text) {
        Ok(p) => p,
        Err(e) => panic!("{e:#?}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match Profiles::load("profiles.yaml", text) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

/// Applies and returns (decisions as (type, duration, scope, value), matched, notifications).
fn run(p: &Profiles, a: &mut Alert) -> (Vec<(String, String, String, String)>, Applied) {
    let applied = p.apply(a, now(), &NoHistory).unwrap();
    let ds = a
        .decisions
        .iter()
        .flatten()
        .map(|d| {
            (
                d.kind.clone(),
                d.duration.clone(),
                d.scope.clone(),
                d.value.clone(),
            )
        })
        .collect();
    (ds, applied)
}

fn d(kind: &str, duration: &str, scope: &str, value: &str) -> (String, String, String, String) {
    (kind.into(), duration.into(), scope.into(), value.into())
}

/// A history with fixed answers.
struct Fixed(u64);

impl DecisionHistory for Fixed {
    fn count_decisions(
        &self,
        _: &str,
        _: Option<DateTime<Utc>>,
        _: Option<DateTime<Utc>>,
    ) -> Result<u64, String> {
        Ok(self.0)
    }

    fn latest_until(&self, _: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        Ok(Some(now + TimeDelta::minutes(90)))
    }
}

#[test]
fn the_default_profiles_ban_ips_and_ranges_for_4h_from_stop_at() {
    let p = Profiles::default_profiles();
    let names: Vec<&str> = p.profiles().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["default_ip_remediation", "default_range_remediation"]
    );
    let mut a = alert("ip", "1.2.3.4", true);
    let (ds, applied) = run(&p, &mut a);
    assert_eq!(a.source.scope, "Ip", "the alert's scope is normalised");
    assert_eq!(ds, [d("ban", "4h0m0s", "Ip", "1.2.3.4")]);
    assert_eq!(applied.matched, ["default_ip_remediation"]);
    assert!(applied.notifications.is_empty());
    let dec = &a.decisions.as_ref().unwrap()[0];
    assert_eq!(
        (dec.origin.as_str(), dec.scenario.as_str(), dec.simulated),
        ("crowdsec", "crowdsecurity/ssh-bf", Some(false))
    );
    assert_eq!(
        dec.until,
        Some(parse_rfc3339(STOP).unwrap() + TimeDelta::hours(4)),
        "until counts from the overflow, not from now"
    );
    assert_eq!(
        dec.uuid.as_deref(),
        Some(decision_uuid("crowdsecurity/ssh-bf", "Ip", "1.2.3.4", "ban", STOP).as_str())
    );

    let mut a = alert("Range", "1.2.3.0/24", true);
    assert_eq!(
        run(&p, &mut a).0,
        [d("ban", "4h0m0s", "Range", "1.2.3.0/24")]
    );

    for mut a in [
        alert("Ip", "1.2.3.4", false),
        alert("Country", "FR", true),
        alert("username", "root", true),
    ] {
        let (ds, applied) = run(&p, &mut a);
        assert!(ds.is_empty() && applied.matched.is_empty(), "{a:?}");
        assert_eq!(a.decisions, Some(vec![]), "stored with no decisions");
    }

    let mut a = alert("Ip", "1.2.3.4", true);
    a.stop_at = "yesterday".into();
    run(&p, &mut a);
    assert_eq!(
        a.decisions.unwrap()[0].until,
        Some(now() + TimeDelta::hours(4)),
        "until falls back to now when stop_at does not parse"
    );
}

#[test]
fn the_shipped_text_is_crowdsecs_file() {
    assert!(compile::DEFAULT_PROFILES.contains(
        "name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\ndecisions:\n - type: ban\n   duration: 4h\non_success: break\n"
    ));
}

const TWO: &str = r#"
name: first
filters: [Alert.Remediation == true]
decisions: [{type: ban, duration: 1h}]
notifications: [slack]
on_success: ON_SUCCESS
---
name: second
filters: [Alert.GetScope() == "Ip"]
decisions: [{type: captcha, duration: 2h}]
notifications: [http]
"#;

#[test]
fn on_success_break_stops_and_continue_only_adds_notifications() {
    let cases = [
        ("break", vec!["first"], vec!["slack"]),
        ("continue", vec!["first", "second"], vec!["slack", "http"]),
        ("\"\"", vec!["first", "second"], vec!["slack", "http"]),
    ];
    for (on_success, matched, notifications) in cases {
        let p = load(&TWO.replace("ON_SUCCESS", on_success));
        let mut a = alert("Ip", "1.2.3.4", true);
        let (ds, applied) = run(&p, &mut a);
        assert_eq!(
            ds,
            [d("ban", "1h0m0s", "Ip", "1.2.3.4")],
            "{on_success}: only the first matching profile's decisions"
        );
        assert_eq!(applied.matched, matched, "{on_success}");
        assert_eq!(applied.notifications, notifications, "{on_success}");
    }
    // The first profile does not match: the second decides.
    let p = load(&TWO.replace("ON_SUCCESS", "break"));
    let mut a = alert("Ip", "1.2.3.4", false);
    let (ds, applied) = run(&p, &mut a);
    assert_eq!(ds, [d("captcha", "2h0m0s", "Ip", "1.2.3.4")]);
    assert_eq!(applied.notifications, ["http"]);
}

#[test]
fn a_matching_profile_without_decisions_leaves_them_to_the_next() {
    let p = load(
        "name: notify-only\nfilters: ['true']\nnotifications: [mail]\n---\n\
         name: decide\nfilters: ['true']\ndecisions: [{type: ban}]\n",
    );
    let mut a = alert("Ip", "1.2.3.4", false);
    let (ds, applied) = run(&p, &mut a);
    assert_eq!(ds, [d("ban", "4h0m0s", "Ip", "1.2.3.4")], "no duration: 4h");
    assert_eq!(applied.matched, ["notify-only", "decide"]);
}

#[test]
fn filters_are_ored_and_each_true_filter_decides_again() {
    let p = load("name: p\nfilters: ['false', 'true', 'Alert.Remediation']\ndecisions: [{type: ban, duration: 1m}]\n");
    let mut a = alert("Ip", "1.2.3.4", true);
    let (ds, _) = run(&p, &mut a);
    assert_eq!(ds.len(), 2, "two true filters, two decisions (as CrowdSec)");
    let mut a = alert("Ip", "1.2.3.4", false);
    assert_eq!(run(&p, &mut a).0.len(), 1);
}

#[test]
fn on_failure_break_stops_the_profiles_later_filters() {
    let text = "name: p\nfilters: ['false', 'true']\ndecisions: [{type: ban}]\non_failure: ON_FAILURE\n---\nname: next\nfilters: ['true']\n";
    for (on_failure, matched) in [
        ("break", vec!["next"]),
        ("continue", vec!["p", "next"]),
        ("apply", vec!["p", "next"]),
    ] {
        let p = load(&text.replace("ON_FAILURE", on_failure));
        let mut a = alert("Ip", "1.2.3.4", true);
        let (ds, applied) = run(&p, &mut a);
        assert_eq!(applied.matched, matched, "{on_failure}");
        assert_eq!(ds.len(), matched.len() - 1, "{on_failure}");
    }
}

#[test]
fn on_error_decides_what_a_failing_filter_does() {
    // The second filter returns a string: an error. The first one matched already.
    let text = "name: p\nfilters: ['ALERT_MATCHES', 'Alert.GetScope()']\ndecisions: [{type: ban}]\nnotifications: [n1]\nON_ERROR\n---\nname: next\nfilters: ['true']\ndecisions: [{type: captcha}]\nnotifications: [n2]\n";
    let cases = [
        // (first filter, on_error, matched, decisions)
        (
            "true",
            "on_error: apply",
            vec!["p", "next"],
            vec!["captcha"],
        ),
        (
            "false",
            "on_error: apply",
            vec!["p", "next"],
            vec!["captcha"],
        ),
        (
            "true",
            "on_error: continue",
            vec!["p", "next"],
            vec!["captcha"],
        ),
        ("false", "on_error: continue", vec!["next"], vec!["captcha"]),
        (
            "true",
            "on_error: ignore",
            vec!["p", "next"],
            vec!["captcha"],
        ),
        ("true", "on_error: break", vec!["p"], vec![]),
        ("false", "on_error: break", vec!["next"], vec!["captcha"]),
    ];
    for (first, on_error, matched, kinds) in cases {
        let p = load(
            &text
                .replace("ALERT_MATCHES", first)
                .replace("ON_ERROR", on_error),
        );
        let mut a = alert("Ip", "1.2.3.4", true);
        let applied = p.apply(&mut a, now(), &NoHistory).unwrap();
        assert_eq!(applied.matched, matched, "{first} {on_error}");
        let got: Vec<&str> = a
            .decisions
            .iter()
            .flatten()
            .map(|d| d.kind.as_str())
            .collect();
        assert_eq!(
            got, kinds,
            "{first} {on_error}: no decisions from a failed profile"
        );
    }
    let p = load(
        &text
            .replace("ALERT_MATCHES", "true")
            .replace("ON_ERROR", ""),
    );
    let err = p
        .apply(&mut alert("Ip", "1.2.3.4", true), now(), &NoHistory)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile p: unexpected type string while running 'Alert.GetScope()'"
    );
    // Alerts with decisions only skip a failing profile.
    let mut manual = alert("Ip", "1.2.3.4", false);
    manual.decisions = Some(vec![manual_decision()]);
    let applied = p.apply(&mut manual, now(), &NoHistory).unwrap();
    assert_eq!(applied.matched, ["next"]);
}

fn manual_decision() -> Decision {
    Decision {
        duration: "1d".into(),
        id: 0,
        origin: "cscli".into(),
        scenario: "manual 'ban' from 'localhost'".into(),
        scope: "range".into(),
        simulated: None,
        kind: "ban".into(),
        until: None,
        uuid: None,
        value: "5.6.7.0/24".into(),
    }
}

#[test]
fn alerts_with_decisions_keep_them_and_only_pick_notifications() {
    let p = load(
        "name: all\nfilters: ['true']\ndecisions: [{type: captcha}]\nnotifications: [slack]\non_success: break\n---\nname: never\nfilters: ['true']\nnotifications: [http]\n",
    );
    let mut a = alert("Ip", "1.2.3.4", false);
    let pinned = Decision {
        until: Some(now()),
        uuid: Some("kept".into()),
        ..manual_decision()
    };
    a.decisions = Some(vec![manual_decision(), pinned]);
    let applied = p.apply(&mut a, now(), &NoHistory).unwrap();
    assert_eq!(applied.notifications, ["slack"]);
    let ds = a.decisions.unwrap();
    assert_eq!(ds.len(), 2, "no profile decision is added");
    assert_eq!(
        (ds[0].scope.as_str(), ds[0].origin.as_str()),
        ("Range", "cscli")
    );
    assert_eq!(
        ds[0].until,
        Some(parse_rfc3339(STOP).unwrap() + TimeDelta::days(1))
    );
    assert_eq!(
        (ds[1].until, ds[1].uuid.as_deref()),
        (Some(now()), Some("kept"))
    );
}

#[test]
fn duration_expr_overrides_and_falls_back_to_the_static_duration() {
    let text = |expr: &str| {
        format!("name: p\nfilters: ['true']\ndecisions: [{{type: ban, duration: 3h}}]\nduration_expr: {expr}\n")
    };
    let repeat = "Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)";
    let cases = [
        (repeat, 0, "4h0m0s"),
        (repeat, 2, "12h0m0s"),
        ("\"'1d2h'\"", 0, "26h0m0s"),
        (
            "GetActiveDecisionsTimeLeft(Alert.GetValue()) * 2",
            0,
            "3h0m0s",
        ),
        ("Alert.Source.Cn", 0, "3h0m0s"),
        ("\"'soon'\"", 0, "3h0m0s"),
        ("Alert.Events[3]", 0, "3h0m0s"),
        // An int prints as a number: "0" is a duration for Go, any other number is not.
        ("GetDecisionsSinceCount(Alert.GetValue(), '24h')", 0, "0s"),
        ("GetDecisionsCount(Alert.GetValue())", 2, "3h0m0s"),
    ];
    for (expr, count, want) in cases {
        let p = load(&text(expr));
        let mut a = alert("Ip", "1.2.3.4", true);
        p.apply(&mut a, now(), &Fixed(count)).unwrap();
        let dec = &a.decisions.unwrap()[0];
        assert_eq!(dec.duration, want, "{expr} with {count}");
    }
}

#[test]
fn get_decisions_count_reads_the_store() {
    let mut store = Store::open_in_memory().unwrap();
    let defaults = Profiles::default_profiles();
    let two_days_ago = now() - TimeDelta::days(2);
    for (i, (scope, value)) in [
        ("Ip", "1.2.3.4"),
        ("Ip", "1.2.3.4"),
        ("Range", "1.2.0.0/16"),
        ("Ip", "9.9.9.9"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut a = alert(scope, value, true);
        let at = two_days_ago + TimeDelta::minutes(i as i64);
        a.stop_at = format_rfc3339_nano(&at);
        a.uuid = format!("past-{i}");
        defaults.apply(&mut a, at, &store).unwrap();
        store.insert_alert(&a, at).unwrap();
    }
    let p = load(
        "name: repeat\nfilters: ['true']\ndecisions: [{type: ban}]\n\
         duration_expr: \"Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)\"\n",
    );
    let mut a = alert("Ip", "1.2.3.4", true);
    p.apply(&mut a, now(), &store).unwrap();
    assert_eq!(
        a.decisions.unwrap()[0].duration,
        "16h0m0s",
        "two bans of the address and one of its /16: (3 + 1) * 4h"
    );
    let counts = |expr: &str| {
        let p = load(&format!(
            "name: c\nfilters: ['true']\ndecisions: [{{type: ban}}]\nduration_expr: \"Sprintf('%dh', {expr})\"\n"
        ));
        let mut a = alert("Ip", "1.2.3.4", true);
        p.apply(&mut a, now(), &store).unwrap();
        a.decisions.unwrap()[0].duration.clone()
    };
    assert_eq!(counts("GetDecisionsCount('9.9.9.9')"), "1h0m0s");
    assert_eq!(counts("GetDecisionsCount('8.8.8.8')"), "0s");
    assert_eq!(
        counts("GetActiveDecisionsCount('1.2.3.4') + 1"),
        "1h0m0s",
        "the 4h bans of two days ago are expired"
    );
    assert_eq!(
        counts("GetDecisionsSinceCount('1.2.3.4', '1d') + 1"),
        "1h0m0s",
        "created two days ago"
    );
    assert_eq!(counts("GetDecisionsSinceCount('1.2.3.4', '3d')"), "3h0m0s");
}

#[test]
fn simulation_mode_marks_alerts_and_decisions() {
    let p = |enabled: bool, exclusions: &[&str]| {
        Profiles::default_profiles().with_simulation(Simulation {
            enabled,
            exclusions: exclusions.iter().map(|s| s.to_string()).collect(),
        })
    };
    let cases = [
        (false, vec![], false),
        (true, vec![], true),
        (true, vec!["crowdsecurity/ssh-bf"], false),
        (false, vec!["crowdsecurity/ssh-bf"], true),
        (false, vec!["crowdsecurity/http-probing"], false),
    ];
    for (enabled, exclusions, simulated) in cases {
        let mut a = alert("Ip", "1.2.3.4", true);
        p(enabled, &exclusions)
            .apply(&mut a, now(), &NoHistory)
            .unwrap();
        assert_eq!(a.simulated, simulated, "{enabled} {exclusions:?}");
        assert_eq!(
            a.decisions.unwrap()[0].simulated,
            Some(simulated),
            "{enabled} {exclusions:?}"
        );
    }
    let mut a = alert("Ip", "1.2.3.4", true);
    a.simulated = true;
    p(false, &[]).apply(&mut a, now(), &NoHistory).unwrap();
    assert_eq!(
        a.decisions.unwrap()[0].simulated,
        Some(true),
        "a simulated alert stays so"
    );
    let per_decision = load(
        "name: p\nfilters: ['true']\ndecisions: [{type: ban, simulated: true}, {type: captcha}]\n",
    );
    let mut a = alert("Ip", "1.2.3.4", true);
    per_decision.apply(&mut a, now(), &NoHistory).unwrap();
    let sims: Vec<Option<bool>> = a.decisions.unwrap().iter().map(|d| d.simulated).collect();
    assert_eq!(sims, [Some(true), Some(false)]);
}

#[test]
fn scope_overrides_origins_and_ranges() {
    let p = load("name: p\nfilters: ['true']\ndecisions: [{type: ban, scope: range, origin: lists}, {type: captcha}]\n");
    let mut a = alert("Ip", "1.2.3.4", true);
    a.source.range = "1.2.3.0/24".into();
    let (ds, _) = run(&p, &mut a);
    assert_eq!(
        ds,
        [
            d("ban", "4h0m0s", "Range", "1.2.3.0/24"),
            d("captcha", "4h0m0s", "Ip", "1.2.3.4")
        ]
    );
    let origins: Vec<String> = a
        .decisions
        .unwrap()
        .iter()
        .map(|d| d.origin.clone())
        .collect();
    assert_eq!(origins, ["crowdsec/lists", "crowdsec"]);

    let mut no_range = alert("Ip", "1.2.3.4", true);
    assert_eq!(
        run(&p, &mut no_range).0,
        [d("captcha", "4h0m0s", "Ip", "1.2.3.4")],
        "no range known: no Range decision"
    );
    let mut bad_ip = alert("Ip", "not-an-ip", true);
    assert!(
        run(&p, &mut bad_ip).0.is_empty(),
        "Ip decisions need an address"
    );
    let mut user = alert("username", "root", true);
    user.source.range = String::new();
    let q = load("name: p\nfilters: ['true']\ndecisions: [{type: ban}]\n");
    assert_eq!(
        run(&q, &mut user).0,
        [d("ban", "4h0m0s", "username", "root")],
        "other scopes take any value"
    );
}

#[test]
fn load_errors_are_located_with_file_line_column_and_profile() {
    let text = "name: ok\nfilters: [\"true\"]\n---\nname: bad\nfilters:\n - Alertt.Remediation == true\n - \"Alert.GetScope() == 'Ip' &&& true\"\n - |\n   Alert.Remediation\n     and nope\ndecisions:\n - type: ban\n   duration: 4x\n - duration: 1h\nduration_expr: Sprintf('%dh', GetDecisionsCount())\non_success: stop\n---\nname: typo\nfilter: [\"true\"]\n";
    let errs = errors(text);
    assert_eq!(
        errs,
        [
            "profiles.yaml:16:1: on_success: profile bad: invalid on_success \"stop\" (break or continue)",
            "profiles.yaml:13:4: decisions[0].duration: profile bad: invalid duration: invalid duration \"4x\": unknown unit",
            "profiles.yaml:14:4: decisions[1]: profile bad: a decision needs a type (ban, captcha, ...)",
            "profiles.yaml:6:4: filters[0]: profile bad: unknown name Alertt (line 1, column 1) in expression \"Alertt.Remediation == true\"",
            "profiles.yaml:7:32: filters[1]: profile bad: unrecognized character: U+0026 '&' (line 1, column 28) in expression \"Alert.GetScope() == 'Ip' &&& true\"",
            "profiles.yaml:10:10: filters[2]: profile bad: unknown name nope (line 2, column 7) in expression \"Alert.Remediation\\n  and nope\\n\"",
            "profiles.yaml:15:31: duration_expr: profile bad: not enough arguments to call GetDecisionsCount (line 1, column 16) in expression \"Sprintf('%dh', GetDecisionsCount())\"",
            "profiles.yaml:19:1: filter: profile typo: unknown field `filter`, expected one of `name`, `debug`, `filters`, `decisions`, `duration_expr`, `on_success`, `on_failure`, `on_error`, `notifications`",
        ]
    );
    assert_eq!(
        errors("# nothing\n"),
        ["profiles.yaml: no profile in the file; at least one is required"]
    );
    assert!(
        errors("name: [\n")[0].starts_with("profiles.yaml:"),
        "syntax errors are located"
    );
}

#[test]
fn compile_errors_after_a_rewritten_helper_keep_their_column() {
    let e =
        ProfileExpr::compile("GetDecisionsCount(Alert.GetValue()) + GetDecisionsCount('x') + nope")
            .unwrap_err();
    assert_eq!((e.line, e.column), (1, 64), "{e}");
    let ok = ProfileExpr::compile("GetActiveDecisionsCount(Alert.GetValue()) > 0").unwrap();
    assert_eq!(ok.source(), "GetActiveDecisionsCount(Alert.GetValue()) > 0");
    let e = ProfileExpr::compile("GetDecisionsSinceCount('1.2.3.4')").unwrap_err();
    assert_eq!(
        e.message,
        "not enough arguments to call GetDecisionsSinceCount"
    );
}

fn section(text: &str) -> (Option<ProfilesConfig>, Vec<String>) {
    let doc = palisade_runtime::config::YamlDoc::parse("palisade.yaml", text).unwrap();
    let mut errors = Vec::new();
    let cfg = doc
        .decode_into::<ProfilesSpec>("profiles", &doc.root()["profiles"], &mut errors)
        .and_then(|spec| spec.compile(&doc, "profiles", &mut errors));
    (cfg, errors.iter().map(ToString::to_string).collect())
}

#[test]
fn the_profiles_section_defaults_to_the_shipped_profiles() {
    let (cfg, errors) = section("profiles: {}\n");
    assert!(errors.is_empty(), "{errors:?}");
    let cfg = cfg.unwrap();
    assert_eq!(cfg.profiles.profiles().len(), 2);
    assert!(cfg.notifications.is_empty());
    assert_eq!(cfg.profiles.simulation(), &Simulation::default());
    assert_eq!(ProfilesSpec::default().path, None);
}

#[test]
fn the_profiles_section_reads_the_file_its_local_patch_and_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profiles.yaml");
    std::fs::write(
        &file,
        "name: main\nfilters: ['true']\ndecisions: [{type: ban}]\nnotifications: [hook]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("profiles.yaml.local"),
        "name: local\nfilters: ['false']\n",
    )
    .unwrap();
    let text = format!(
        "profiles:\n  path: {}\n  simulation: true\n  simulation_exclusions: [crowdsecurity/ssh-bf]\n  notifications:\n    - {{name: hook, type: webhook, url: 'http://127.0.0.1:1/'}}\n",
        file.display()
    );
    let (cfg, errors) = section(&text);
    assert!(errors.is_empty(), "{errors:?}");
    let cfg = cfg.unwrap();
    let names: Vec<&str> = cfg
        .profiles
        .profiles()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["local", "main"], "the .local file comes first");
    assert!(cfg
        .profiles
        .simulation()
        .is_simulated("crowdsecurity/http-probing"));
    assert!(!cfg
        .profiles
        .simulation()
        .is_simulated("crowdsecurity/ssh-bf"));
    assert_eq!(cfg.notifications[0].name, "hook");
    assert_eq!(
        cfg.profiles
            .notification_names()
            .into_iter()
            .collect::<Vec<_>>(),
        ["hook"]
    );

    // A profile naming an unknown notification, a missing file, a duplicate notification.
    let (cfg, errors) = section(&text.replace("name: hook", "name: other"));
    assert!(cfg.is_none());
    assert_eq!(
        errors,
        [format!(
            "{}:4:17: notifications[0]: profile main: notification \"hook\" is not configured in profiles.notifications",
            file.display()
        )]
    );
    let (_, errors) = section("profiles:\n  path: /nonexistent/profiles.yaml\n");
    assert_eq!(
        errors,
        ["palisade.yaml:2:3: profiles.path: cannot read /nonexistent/profiles.yaml: No such file or directory (os error 2)"]
    );
    let (_, errors) = section(
        "profiles:\n  notifications:\n    - {name: a, type: command, command: x}\n    - {name: a, type: command, command: y}\n  simulate: true\n",
    );
    assert_eq!(
        errors,
        ["palisade.yaml:5:3: profiles.simulate: unknown field `simulate`, expected one of `path`, `simulation`, `simulation_exclusions`, `notifications`"]
    );
    let (_, errors) = section(
        "profiles:\n  notifications:\n    - {name: a, type: command, command: x}\n    - {name: a, type: command, command: y}\n",
    );
    assert_eq!(
        errors,
        ["palisade.yaml:4:8: profiles.notifications[1].name: notification \"a\" is defined twice"]
    );
    std::fs::write(&file, "name: broken\nfilters: ['Alert.Nope(']\n").unwrap();
    let (_, errors) = section(
        "profiles:\n  path: PATH\n"
            .replace("PATH", &file.display().to_string())
            .as_str(),
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!("{}:2:", file.display())),
        "errors in the profiles file name it: {errors:?}"
    );
}

#[test]
fn empty_keys_read_as_empty_and_profiles_without_filters_never_match() {
    let p =
        load("name: quiet\nfilters:\ndecisions:\nnotifications:\nduration_expr:\non_success:\n");
    let mut a = alert("Ip", "1.2.3.4", true);
    let (ds, applied) = run(&p, &mut a);
    assert!(ds.is_empty() && applied.matched.is_empty());
}
