//! Scenario files that must not load, with the exact message each problem gives
//! (`file:line:column: field: scenario <name>: message`), and what loads with a warning only.

use palisade_detect::{BucketKind, Loader};

fn errors(text: &str) -> Vec<String> {
    match Loader::new().load_texts(&[("s.yaml", text)]) {
        Ok(s) => panic!("loaded {} scenarios, expected errors", s.len()),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

const HEAD: &str = "name: a/b\ndescription: d\n";

#[test]
fn unknown_type() {
    assert_eq!(
        errors(&format!("{HEAD}type: leakyy\nfilter: 'true'\n")),
        ["s.yaml:3:1: type: scenario a/b: unknown bucket type 'leakyy' (expected leaky, trigger, counter, conditional or bayesian)"]
    );
}

#[test]
fn bad_durations() {
    assert_eq!(
        errors(&format!(
            "{HEAD}type: leaky\nfilter: 'true'\ncapacity: 5\nleakspeed: 10x\nblackhole: soon\n"
        )),
        [
            "s.yaml:6:1: leakspeed: scenario a/b: invalid leakspeed '10x': unknown unit",
            "s.yaml:7:1: blackhole: scenario a/b: blackhole duration not valid 'soon'",
        ]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}type: counter\nfilter: 'true'\ncapacity: -1\nduration: 1d\n"
        )),
        ["s.yaml:6:1: duration: scenario a/b: invalid duration '1d': unknown unit"]
    );
}

#[test]
fn bad_expressions_name_the_field() {
    assert_eq!(
        errors(&format!(
            "{HEAD}type: trigger\nfilter: evt.Foo == 'x'\ngroupby: evt.Meta.ip +\n"
        )),
        [
            "s.yaml:4:1: filter: scenario a/b: invalid filter: type pipeline.Event has no field Foo (line 1, column 4) in expression \"evt.Foo == 'x'\"",
            "s.yaml:5:1: groupby: scenario a/b: invalid groupby: unexpected token end of expression (line 1, column 14) in expression \"evt.Meta.ip +\"",
        ]
    );
    let e = errors(&format!(
        "{HEAD}type: conditional\nfilter: 'true'\ncapacity: -1\nleakspeed: 1m\ncondition: len(queue.Queue) > nope\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("s.yaml:7:1: condition: scenario a/b: invalid condition: "),
        "{e:?}"
    );
    let e = errors(&format!(
        "{HEAD}type: bayesian\nfilter: 'true'\ncapacity: -1\nleakspeed: 1m\nbayesian_prior: 0.5\nbayesian_threshold: 0.9\nbayesian_conditions:\n- condition: x(\n  prob_given_evil: 0.5\n  prob_given_benign: 0.5\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("s.yaml:10:3: bayesian_conditions[0].condition: scenario a/b: invalid bayesian condition: "),
        "{e:?}"
    );
}

#[test]
fn unknown_fields_are_refused() {
    let e = errors(&format!(
        "{HEAD}type: trigger\nfilter: 'true'\nauthor: me\n"
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "s.yaml:5:1: author: scenario a/b: unknown field `author`, expected one of"
        ),
        "{e:?}"
    );
    let e = errors(&format!(
        "{HEAD}type: trigger\nfilter: 'true'\nscope:\n  type: Ip\n  expr: x\n"
    ));
    assert!(
        e[0].starts_with("s.yaml:7:3: scope.expr: scenario a/b: unknown field `expr`"),
        "{e:?}"
    );
}

#[test]
fn required_fields() {
    assert_eq!(
        errors("description: d\ntype: trigger\nfilter: 'true'\n"),
        ["s.yaml:1:1: name: nameless scenario: every scenario needs a name"]
    );
    assert_eq!(
        errors("name: a/b\ntype: trigger\n"),
        [
            "s.yaml:1:1: description: scenario a/b: description is mandatory",
            "s.yaml:1:1: filter: scenario a/b: missing filter directive",
        ]
    );
}

#[test]
fn per_type_validation() {
    let leaky = errors(&format!("{HEAD}type: leaky\nfilter: 'true'\n"));
    assert_eq!(
        leaky,
        [
            "s.yaml:1:1: capacity: scenario a/b: invalid capacity '0': must be > 0",
            "s.yaml:1:1: leakspeed: scenario a/b: leakspeed is required",
        ]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}type: leaky\nfilter: 'true'\ncapacity: 1\nleakspeed: -1s\n"
        )),
        ["s.yaml:6:1: leakspeed: scenario a/b: invalid leakspeed '-1s': must be > 0"]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}type: trigger\nfilter: 'true'\ncapacity: 5\n"
        )),
        ["s.yaml:5:1: capacity: scenario a/b: invalid capacity '5': must be 0"]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}type: counter\nfilter: 'true'\ncapacity: 3\n"
        )),
        [
            "s.yaml:5:1: capacity: scenario a/b: invalid capacity '3': must be -1",
            "s.yaml:1:1: duration: scenario a/b: duration is required",
        ]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}type: conditional\nfilter: 'true'\ncapacity: -1\n"
        )),
        [
            "s.yaml:1:1: condition: scenario a/b: a condition is required",
            "s.yaml:1:1: leakspeed: scenario a/b: leakspeed is required",
        ]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}type: bayesian\nfilter: 'true'\ncapacity: 5\nleakspeed: 1m\nbayesian_prior: 2\n"
        )),
        [
            "s.yaml:1:1: bayesian_conditions: scenario a/b: bayesian conditions are required",
            "s.yaml:7:1: bayesian_prior: scenario a/b: invalid prior: must be > 0 and <= 1",
            "s.yaml:1:1: bayesian_threshold: scenario a/b: invalid threshold: must be > 0 and <= 1",
            "s.yaml:5:1: capacity: scenario a/b: capacity must be -1",
        ]
    );
}

#[test]
fn scope_rules() {
    assert_eq!(
        errors(&format!(
            "{HEAD}type: trigger\nfilter: 'true'\nscope:\n  type: Ip\n  expression: evt.Meta.x\n"
        )),
        ["s.yaml:7:3: scope.expression: scenario a/b: filter is not allowed for IP scope"]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}type: trigger\nfilter: 'true'\nscope:\n  type: user\n"
        )),
        ["s.yaml:6:3: scope.type: scenario a/b: filter is mandatory for non-IP, non-Range scope"]
    );
    let ok = Loader::new()
        .load_texts(&[(
            "s.yaml",
            &format!("{HEAD}type: trigger\nfilter: 'true'\nscope:\n  type: Range\n"),
        )])
        .unwrap();
    assert_eq!(ok.len(), 1, "Range may go without an expression");
}

#[test]
fn every_error_of_every_document_is_reported_with_file_lines() {
    let text = format!(
        "{HEAD}type: trigger\nfilter: 'true'\n---\nname: c/d\ndescription: d\ntype: leaky\nfilter: 'true'\ncapacity: 2\nleakspeed: 2x\n---\n{HEAD}type: nope\nfilter: 'true'\n"
    );
    assert_eq!(
        errors(&text),
        [
            "s.yaml:11:1: leakspeed: scenario c/d: invalid leakspeed '2x': unknown unit",
            "s.yaml:15:1: type: scenario a/b: unknown bucket type 'nope' (expected leaky, trigger, counter, conditional or bayesian)",
        ]
    );
}

#[test]
fn formats() {
    assert_eq!(
        errors(&format!(
            "{HEAD}format: one\ntype: trigger\nfilter: 'true'\n"
        )),
        ["s.yaml:3:1: format: scenario a/b: invalid format: failed to parse 'one'"]
    );
    let s = Loader::new()
        .load_texts(&[(
            "s.yaml",
            &format!("{HEAD}format: 4.0\ntype: trigger\nfilter: 'true'\n---\nname: c/d\ndescription: d\nformat: 2.0\ntype: trigger\nfilter: 'true'\n"),
        )])
        .unwrap();
    let names: Vec<&str> = s.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        ["c/d"],
        "a format out of range is skipped, not an error"
    );
}

#[test]
fn yaml_syntax_and_unreadable_files() {
    let e = errors("name: [a\n");
    assert!(e[0].starts_with("s.yaml:"), "{e:?}");
    let e = Loader::new()
        .load(&["/nonexistent/scenario.yaml".into()])
        .unwrap_err();
    assert!(
        e[0].to_string()
            .starts_with("/nonexistent/scenario.yaml: cannot read: "),
        "{}",
        e[0]
    );
}

#[test]
fn hash_version_and_simulation() {
    let text = format!("{HEAD}type: trigger\nfilter: 'true'\n");
    let mut loader = Loader::new();
    loader.versions.insert("a/b".into(), "0.4".into());
    loader.simulated.insert("a/b".into());
    let s = loader.load_texts(&[("s.yaml", &text)]).unwrap();
    let sc = s.get("a/b").unwrap();
    assert_eq!(sc.version(), "0.4", "hub version wins");
    assert!(sc.simulated());
    assert_eq!(sc.kind(), BucketKind::Trigger);
    // sha256 of the file bytes
    assert_eq!(sc.hash().len(), 64);
    let s2 = Loader::new().load_texts(&[("other.yaml", &text)]).unwrap();
    let sc2 = s2.get("a/b").unwrap();
    assert_eq!(sc2.hash(), sc.hash(), "same bytes, same hash");
    assert_eq!(sc2.version(), "?");
    assert!(!sc2.simulated());
}

#[test]
fn data_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("words.txt"), "# comment\nalpha\nbeta\n").unwrap();
    std::fs::write(dir.path().join("bad.regex"), "ok.*\n(unclosed\n").unwrap();
    let text = format!(
        "{HEAD}type: trigger\nfilter: \"any(File('words.txt'), {{ evt.Meta.w == # }})\"\ndata:\n  - dest_file: words.txt\n    type: string\n  - dest_file: missing.txt\n    type: string\n"
    );
    let s = Loader::new()
        .with_data_dir(dir.path())
        .load_texts(&[("s.yaml", &text)])
        .expect("a missing data file is only a warning");
    assert_eq!(s.len(), 1);
    let bad = format!(
        "{HEAD}type: trigger\nfilter: 'true'\ndata:\n  - dest_file: bad.regex\n    type: regexp\n"
    );
    let e = Loader::new()
        .with_data_dir(dir.path())
        .load_texts(&[("s.yaml", &bad)])
        .unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].to_string().starts_with(
            "s.yaml:6:5: data[0].dest_file: scenario a/b: data file bad.regex line 2: "
        ),
        "{}",
        e[0]
    );
}
