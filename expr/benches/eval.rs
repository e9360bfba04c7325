//! Evaluation cost of typical CrowdSec filters on one event, each next to a hand-written Rust
//! closure doing the same comparisons (the floor any evaluator can reach: the hash lookups).
//! Run with `cargo bench -p palisade-expr --bench eval`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use palisade_expr::{Context, DataFiles, Program};
use palisade_schemas::Event;
use std::sync::Arc;

fn event() -> Event {
    let mut e = Event::default();
    e.line.raw = r#"192.168.1.10 - - [04/Mar/2026:13:14:15 +0000] "GET /wp-login.php HTTP/1.1" 404 153 "-" "Mozilla/5.0""#.into();
    e.line.labels.insert("type".into(), "nginx".into());
    for (k, v) in [
        ("program", "nginx"),
        ("verb", "GET"),
        ("request", "/wp-login.php"),
        ("static_ressource", "false"),
        ("file_name", "wp-login.php"),
        ("http_user_agent", "Mozilla/5.0"),
        ("status", "404"),
    ] {
        e.parsed.insert(k.into(), v.into());
    }
    for (k, v) in [
        ("log_type", "http_access-log"),
        ("service", "http"),
        ("source_ip", "192.168.1.10"),
        ("http_status", "404"),
        ("http_path", "/wp-login.php"),
    ] {
        e.meta.insert(k.into(), v.into());
    }
    e.unmarshaled.insert(
        "k8s".into(),
        serde_json::json!({"ObjectRef": {"Namespace": "kube-system"}, "Verb": "create"}),
    );
    e
}

fn meta<'a>(e: &'a Event, k: &str) -> &'a str {
    e.meta.get(k).map(String::as_str).unwrap_or("")
}

fn parsed<'a>(e: &'a Event, k: &str) -> &'a str {
    e.parsed.get(k).map(String::as_str).unwrap_or("")
}

fn bench(c: &mut Criterion) {
    let mut data = DataFiles::new();
    data.add_strings(
        "backdoors.txt",
        &(0..200)
            .map(|i| format!("shell{i}.php\n"))
            .collect::<String>(),
    );
    let data = Arc::new(data);
    let ctx = Context::event().with_data_files(data.clone());
    let mut evt = event();

    // 1. the http-crawl-non_statics style filter
    let filter = Program::compile(
        "evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Parsed.static_ressource == 'false' && evt.Parsed.verb in ['GET', 'HEAD']",
        &ctx,
    )
    .expect("compiles");
    let baseline = |e: &Event| {
        matches!(meta(e, "log_type"), "http_access-log" | "http_error-log")
            && parsed(e, "static_ressource") == "false"
            && matches!(parsed(e, "verb"), "GET" | "HEAD")
    };
    assert!(filter.eval_bool(&mut evt).unwrap() && baseline(&evt));
    let mut g = c.benchmark_group("scenario_filter");
    g.bench_function("expr", |b| {
        b.iter(|| filter.eval_bool(black_box(&mut evt)).unwrap())
    });
    g.bench_function("rust_closure", |b| b.iter(|| baseline(black_box(&evt))));
    g.finish();

    // 2. ssh-bf style filter that fails on the first test (the common case for most scenarios)
    let ssh = Program::compile(
        "evt.Meta.service == 'ssh' && evt.Meta.log_type == 'ssh_failed-auth'",
        &ctx,
    )
    .expect("compiles");
    let ssh_base =
        |e: &Event| meta(e, "service") == "ssh" && meta(e, "log_type") == "ssh_failed-auth";
    let mut g = c.benchmark_group("non_matching_filter");
    g.bench_function("expr", |b| {
        b.iter(|| ssh.eval_bool(black_box(&mut evt)).unwrap())
    });
    g.bench_function("rust_closure", |b| b.iter(|| ssh_base(black_box(&evt))));
    g.finish();

    // 3. closure over a 200-line data file
    let any = Program::compile(
        "any(File('backdoors.txt'), { evt.Parsed.file_name == # })",
        &ctx,
    )
    .expect("compiles");
    let lines = data.lines("backdoors.txt").cloned().unwrap_or_default();
    let any_base = |e: &Event| lines.iter().any(|l| parsed(e, "file_name") == l);
    let mut g = c.benchmark_group("any_over_data_file");
    g.bench_function("expr", |b| {
        b.iter(|| any.eval_bool(black_box(&mut evt)).unwrap())
    });
    g.bench_function("rust_closure", |b| b.iter(|| any_base(black_box(&evt))));
    g.finish();

    // 4. JSON navigation with optional chaining and a regex literal
    let json = Program::compile(
        "evt.Unmarshaled.k8s.ObjectRef?.Namespace == 'kube-system' && Upper(evt.Parsed.verb) matches '^(GET|POST)$'",
        &ctx,
    )
    .expect("compiles");
    let mut g = c.benchmark_group("json_and_regex");
    g.bench_function("expr", |b| {
        b.iter(|| json.eval_bool(black_box(&mut evt)).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
