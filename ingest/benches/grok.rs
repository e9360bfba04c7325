//! Grok matching cost per line: Palisade's own patterns on an sshd and an nginx line, matching
//! and not matching, with and without the required-literal prefilter; and, as a same-run
//! reference for the capture engine, the same regexes (`Grok::regex_source`) captured by the
//! `regex` crate alone (`*/match/regex_crate`); and the capture engine's fast paths (greedy
//! class loops, alternatives skipped on their first byte) on their own.
//!
//! `cargo bench -p palisade-ingest --bench grok`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use palisade_ingest::grok::{Grok, GrokLibrary};

const SYSLOG_SSHD: &str = "Feb 12 14:10:21 sd-126005 sshd[16378]: Failed password for invalid user pascal from 35.188.49.176 port 53502 ssh2";
const SSHD_MESSAGE: &str =
    "Failed password for invalid user pascal from 35.188.49.176 port 53502 ssh2";
const NGINX: &str = "192.168.1.20 - - [12/Feb/2024:14:10:21 +0100] \"GET /index.php?id=1 HTTP/1.1\" 200 1534 \"https://example.com/\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\"";
/// Lines the patterns above do not match (other services' messages).
const OTHER_MESSAGES: &[&str] = &[
    "Accepted publickey for deploy from 10.0.0.3 port 40022 ssh2: ED25519 SHA256:abcdefghijkl",
    "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "connect from unknown[203.0.113.9]",
    "2024/02/12 14:10:21 [error] 1234#1234: *5 open() \"/usr/share/nginx/html/favicon.ico\" failed (2: No such file or directory), client: 10.0.0.1",
];

fn bench(c: &mut Criterion) {
    let library = GrokLibrary::builtin();
    let sshd = Grok::compile(&library, "%{SSHD_FAILED_PASSWORD}").unwrap();
    let syslog = Grok::compile(&library, "^%{SYSLOGLINE}").unwrap();
    let nginx = Grok::compile(&library, "^%{NGINXACCESS}").unwrap();
    assert!(sshd.captures(SSHD_MESSAGE).is_some());
    assert!(syslog.captures(SYSLOG_SSHD).is_some());
    assert!(nginx.captures(NGINX).is_some());
    for grok in [&sshd, &syslog, &nginx] {
        eprintln!(
            "{}: prefilter {:?}",
            grok.pattern(),
            grok.prefilter().map(|p| p.literals())
        );
    }

    let mut group = c.benchmark_group("grok");
    group.throughput(Throughput::Elements(1));
    group.bench_function("syslogline/match", |b| {
        b.iter(|| syslog.captures(black_box(SYSLOG_SSHD)).map(|c| c.len()))
    });
    group.bench_function("sshd_failed_password/match", |b| {
        b.iter(|| sshd.captures(black_box(SSHD_MESSAGE)).map(|c| c.len()))
    });
    group.bench_function("nginxaccess/match", |b| {
        b.iter(|| nginx.captures(black_box(NGINX)).map(|c| c.len()))
    });
    // The capture engine's fast paths: greedy class loops (`DATA` backing off to the literal
    // after it, `GREEDYDATA` to the end) and `IP` on an IPv4 address (IPv6 branches that cannot
    // read the next byte are skipped).
    let loops = Grok::compile(
        &library,
        "%{DATA:what} from %{IP:ip} port %{INT:port} %{GREEDYDATA:rest}",
    )
    .unwrap();
    assert!(loops.captures(SSHD_MESSAGE).is_some());
    group.bench_function("class_loops_and_ip/match", |b| {
        b.iter(|| loops.captures(black_box(SSHD_MESSAGE)).map(|c| c.len()))
    });
    for (name, grok, line) in [
        ("syslogline", &syslog, SYSLOG_SSHD),
        ("sshd_failed_password", &sshd, SSHD_MESSAGE),
        ("nginxaccess", &nginx, NGINX),
    ] {
        let reference = regex::RegexBuilder::new(grok.regex_source())
            .nest_limit(1000)
            .size_limit(256 << 20)
            .build()
            .unwrap();
        let mut locations = reference.capture_locations();
        group.bench_function(format!("{name}/match/regex_crate"), |b| {
            b.iter(|| {
                reference
                    .captures_read(&mut locations, black_box(line))
                    .is_some()
            })
        });
    }
    let sshd_prefilter = sshd.prefilter().unwrap();
    group.bench_function("sshd_failed_password/prefilter_only", |b| {
        b.iter(|| sshd_prefilter.may_match(black_box(SSHD_MESSAGE)))
    });
    let sshd_plain = sshd.clone().without_prefilter();
    let nginx_plain = nginx.clone().without_prefilter();
    group.bench_function("sshd_failed_password/match/no_prefilter", |b| {
        b.iter(|| {
            sshd_plain
                .captures(black_box(SSHD_MESSAGE))
                .map(|c| c.len())
        })
    });
    group.bench_function("nginxaccess/match/no_prefilter", |b| {
        b.iter(|| nginx_plain.captures(black_box(NGINX)).map(|c| c.len()))
    });

    // Non-matching lines: what most (pattern, line) pairs are in a parser stage.
    let mut others: Vec<&str> = OTHER_MESSAGES.to_vec();
    others.push(NGINX);
    let sshd_miss = others.clone();
    let mut nginx_miss = OTHER_MESSAGES.to_vec();
    nginx_miss.push(SYSLOG_SSHD);
    group.throughput(Throughput::Elements(OTHER_MESSAGES.len() as u64 + 1));
    for (name, grok, plain, lines) in [
        ("sshd_failed_password", &sshd, &sshd_plain, &sshd_miss),
        ("nginxaccess", &nginx, &nginx_plain, &nginx_miss),
    ] {
        group.bench_function(format!("{name}/miss/prefilter"), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .filter(|l| grok.captures(black_box(l)).is_some())
                    .count()
            })
        });
        group.bench_function(format!("{name}/miss/no_prefilter"), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .filter(|l| plain.captures(black_box(l)).is_some())
                    .count()
            })
        });
    }

    // A parser node with one child per sshd message kind tries them in order until one matches:
    // every sshd pattern of the library (in name order) on a PAM line, matched late.
    let sshd_patterns: Vec<Grok> = library
        .names()
        .into_iter()
        .filter(|n| n.starts_with("SSHD_"))
        .map(|n| Grok::compile_named(&library, n).unwrap())
        .collect();
    let plain_patterns: Vec<Grok> = sshd_patterns
        .iter()
        .map(|g| g.clone().without_prefilter())
        .collect();
    let pam = "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root";
    let position = sshd_patterns
        .iter()
        .position(|g| g.captures(pam).is_some())
        .unwrap();
    eprintln!(
        "the pam line matches pattern {} of {}",
        position + 1,
        sshd_patterns.len()
    );
    group.throughput(Throughput::Elements(1));
    for (name, groks) in [
        ("prefilter", &sshd_patterns),
        ("no_prefilter", &plain_patterns),
    ] {
        group.bench_function(
            format!("sshd_{}_patterns_first_match/{name}", groks.len()),
            |b| {
                b.iter(|| {
                    groks
                        .iter()
                        .find_map(|g| g.captures(black_box(pam)).map(|c| c.len()))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
