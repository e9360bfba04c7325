//! `palisade bouncer` end to end.
//!
//! * nftables inside a network namespace made here: packets from a banned address are dropped,
//!   other addresses pass, an unban lets them through again, restarts are idempotent, and 100k
//!   decisions are applied in one batch (needs root and `nft`; skipped otherwise, except under CI).
//! * The Kafka decision topic to nftables, through the real binary (needs a broker:
//!   `PALISADE_KAFKA_BROKERS`, set by scripts/test).
//! * Palisade's Local API to a blocklist feed, through the real binaries; the feed keeps the last
//!   known set while the API is down and is reconciled when it is back.

mod common;
mod kafka_support;

use common::free_port;

use palisade_bounce::backend::nftables::{Nftables, NftablesSpec};
use palisade_bounce::backend::Backend;
use palisade_bounce::set::{ActiveSet, Batch};
use palisade_schemas::{Decision, DecisionAction, DecisionChange};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the namespace tests can run: root and `nft`. Under CI a missing piece is a failure.
fn can_use_netns() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let nft = Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let curl = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if root && nft && curl {
        return true;
    }
    let why = format!("root: {root}, nft: {nft}, curl: {curl}");
    assert!(
        std::env::var("CI").is_err(),
        "the nftables tests need root, nft and curl ({why})"
    );
    eprintln!("skipped: the nftables tests need root, nft and curl ({why})");
    false
}

/// A namespace holding the firewall, joined to the host by a veth pair. The host side has the
/// addresses `.1` and `.3` of the test subnet; the namespace `.2`, with a web server on port 8000.
struct Netns {
    name: String,
    veth: String,
    subnet: String,
    server: std::process::Child,
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    fn new(tag: u8) -> Netns {
        let pid = std::process::id();
        let name = format!("pbn-{pid}-{tag}");
        let veth = format!("pb{}{tag}", pid % 100_000);
        let peer = format!("{veth}p");
        let subnet = format!("10.{}.{}", 200 + tag, pid % 250);
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = Command::new("ip").args(["link", "del", &veth]).output();
        sh(&["ip", "netns", "add", &name]);
        sh(&[
            "ip", "link", "add", &veth, "type", "veth", "peer", "name", &peer,
        ]);
        sh(&["ip", "link", "set", &peer, "netns", &name]);
        sh(&["ip", "addr", "add", &format!("{subnet}.1/24"), "dev", &veth]);
        sh(&["ip", "addr", "add", &format!("{subnet}.3/24"), "dev", &veth]);
        sh(&["ip", "link", "set", &veth, "up"]);
        sh(&[
            "ip",
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("{subnet}.2/24"),
            "dev",
            &peer,
        ]);
        sh(&[
            "ip", "netns", "exec", &name, "ip", "link", "set", &peer, "up",
        ]);
        sh(&[
            "ip", "netns", "exec", &name, "ip", "link", "set", "lo", "up",
        ]);
        let python = if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let server = Command::new("ip")
            .args([
                "netns",
                "exec",
                &name,
                python,
                "-m",
                "http.server",
                "8000",
                "--bind",
            ])
            .arg(format!("{subnet}.2"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ns = Netns {
            name,
            veth,
            subnet,
            server,
        };
        let start = Instant::now();
        while !ns.reaches(1) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the web server in the namespace did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        ns
    }

    fn addr(&self, host: u8) -> String {
        format!("{}.{host}", self.subnet)
    }

    /// Whether an HTTP request from the host address `.host` gets an answer within a second.
    fn reaches(&self, host: u8) -> bool {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "--max-time", "1", "--interface"])
            .arg(self.addr(host))
            .arg(format!("http://{}:8000/", self.addr(2)))
            .status()
            .is_ok_and(|s| s.success())
    }

    fn nft(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.name, "nft"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn list(&self) -> String {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &self.name, "nft", "list", "table", "inet", "palisade",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_until(&self, what: &str, mut f: impl FnMut(&Netns) -> bool) {
        let start = Instant::now();
        while !f(self) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}; table:\n{}",
                self.list()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
    }
}

fn decision(scope: &str, value: &str, secs: i64) -> Decision {
    Decision {
        duration: format!("{secs}s"),
        id: 0,
        origin: "test".into(),
        scenario: "test/bouncer".into(),
        scope: scope.into(),
        simulated: None,
        kind: "ban".into(),
        until: Some(chrono::Utc::now() + chrono::TimeDelta::seconds(secs)),
        uuid: None,
        value: value.into(),
    }
}

fn batch(full: bool, adds: &[Decision], deletes: &[Decision]) -> Batch {
    let now = chrono::Utc::now();
    Batch {
        full,
        adds: adds
            .iter()
            .map(|d| ActiveSet::entry_of(d, now).unwrap())
            .collect(),
        deletes: deletes
            .iter()
            .map(|d| ActiveSet::entry_of(d, now).unwrap())
            .collect(),
    }
}

#[test]
fn nftables_drops_banned_addresses_in_a_namespace_and_unbans() {
    if !can_use_netns() {
        return;
    }
    let ns = Netns::new(1);
    let spec = NftablesSpec {
        command: ns.nft(),
        ..NftablesSpec::default()
    };
    let mut fw = Nftables::new(spec.clone());
    assert!(ns.reaches(3), "before any ban");
    let banned = decision("Ip", &ns.addr(3), 3600);
    fw.apply(&batch(
        true,
        &[banned.clone(), decision("Ip", "2001:db8::7", 60)],
        &[],
    ))
    .unwrap();
    assert!(
        !ns.reaches(3),
        "packets from the banned address are dropped"
    );
    assert!(ns.reaches(1), "other addresses pass");
    let table = ns.list();
    assert!(
        table.contains(&format!("{} timeout 1h", ns.addr(3)))
            || table.contains(&format!("{} timeout 59m", ns.addr(3))),
        "{table}"
    );
    assert!(table.contains("2001:db8::7"), "{table}");
    fw.apply(&batch(false, &[], std::slice::from_ref(&banned)))
        .unwrap();
    assert!(ns.reaches(3), "the unban lets it through again");
    // Deleting what is already gone (the kernel expired it) does not fail the batch.
    fw.apply(&batch(
        false,
        &[decision("Ip", "192.0.2.99", 60)],
        std::slice::from_ref(&banned),
    ))
    .unwrap();

    // A range covering the address, and an address inside it: both sets, no interval conflict.
    let range = decision("Range", &format!("{}.0/24", ns.subnet), 600);
    fw.apply(&batch(false, &[range.clone(), banned.clone()], &[]))
        .unwrap();
    assert!(
        !ns.reaches(1) && !ns.reaches(3),
        "the range drops the whole subnet"
    );
    fw.apply(&batch(false, &[], std::slice::from_ref(&range)))
        .unwrap();
    assert!(
        ns.reaches(1) && !ns.reaches(3),
        "the address stays banned after the range goes"
    );

    // A restart (a new backend, a full batch) replaces what the previous run left, twice over.
    for _ in 0..2 {
        let mut again = Nftables::new(spec.clone());
        again
            .apply(&batch(true, &[decision("Ip", "192.0.2.1", 60)], &[]))
            .unwrap();
    }
    assert!(
        ns.reaches(3),
        "the restart's set no longer holds the address"
    );
    let table = ns.list();
    assert_eq!(table.matches("table inet palisade").count(), 1, "{table}");
    assert_eq!(
        table.matches("ip saddr @ipv4 counter").count(),
        1,
        "one rule per set: {table}"
    );
    assert!(
        table.contains("192.0.2.1") && !table.contains("192.0.2.99"),
        "{table}"
    );

    // 100k decisions in one batch, as at the start of a big installation.
    let many: Vec<Decision> = (0..100_000u32)
        .map(|i| {
            decision(
                "Ip",
                &std::net::Ipv4Addr::from(0x2800_0000 + i).to_string(),
                3600,
            )
        })
        .collect();
    let b = batch(true, &many, &[]);
    let start = Instant::now();
    Nftables::new(spec.clone()).apply(&b).unwrap();
    let took = start.elapsed();
    eprintln!("100000 decisions applied to nftables in {took:?}");
    assert!(
        took < Duration::from_secs(20),
        "100k decisions took {took:?}"
    );
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "nft",
            "get",
            "element",
            "inet",
            "palisade",
            "ipv4",
            "{ 40.1.134.159 }",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the last of the 100k is in the set: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_bouncer_follows_the_decision_topic_into_nftables() {
    if !can_use_netns() {
        return;
    }
    let Some(brokers) = kafka_support::brokers("PALISADE_KAFKA_BROKERS") else {
        return;
    };
    let ns = Netns::new(2);
    let topic = kafka_support::unique("bouncer-decisions");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer = kafka_support::producer(&brokers);
    let send = |c: DecisionChange| {
        let payload = serde_json::to_string(&c).unwrap();
        let key = c.key();
        rt.block_on(async {
            producer
                .send(
                    rdkafka::producer::FutureRecord::to(&topic)
                        .key(&key)
                        .payload(&payload),
                    rdkafka::util::Timeout::After(Duration::from_secs(30)),
                )
                .await
                .map_err(|(e, _)| e)
                .expect("producing a decision");
        });
    };
    // A decision already on the topic before the bouncer starts: the rebuild finds it.
    send(DecisionChange {
        action: DecisionAction::Add,
        decision: decision("Ip", "192.0.2.50", 3600),
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bouncer.yaml");
    let nft: Vec<String> = ns.nft().iter().map(|s| format!("'{s}'")).collect();
    std::fs::write(
        &cfg,
        format!(
            "log: {{level: info}}\nmetrics: {{enabled: false}}\nsource:\n  kafka: {{brokers: ['{brokers}'], topic: {topic}}}\nbackends:\n  - nftables: {{command: [{}]}}\n",
            nft.join(", ")
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["bouncer", "-c", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("bouncer.log")).unwrap())
        .spawn()
        .unwrap();
    let _bouncer = kafka_support::Killed(child);
    ns.wait_until("the decision already on the topic", |ns| {
        ns.list().contains("192.0.2.50")
    });
    assert!(ns.reaches(3));
    send(DecisionChange {
        action: DecisionAction::Add,
        decision: decision("Ip", &ns.addr(3), 3600),
    });
    ns.wait_until("the ban to drop packets", |ns| !ns.reaches(3));
    assert!(ns.reaches(1), "other addresses pass");
    send(DecisionChange {
        action: DecisionAction::Delete,
        decision: decision("Ip", &ns.addr(3), 3600),
    });
    ns.wait_until("the unban to let packets through", |ns| ns.reaches(3));
    assert!(ns.list().contains("192.0.2.50"));
}

fn palisade(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "palisade {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One GET; (status, body), or None while nothing listens.
fn http_get(port: u16, path: &str, headers: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    c.read_to_string(&mut resp).ok()?;
    let status = resp.get(9..12)?.parse().ok()?;
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn the_bouncer_streams_the_local_api_into_feeds_hooks_and_forward_auth_and_survives_its_loss() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let api_port = free_port();
    let http_port = free_port();
    let pcfg = d.join("palisade.yaml");
    std::fs::write(
        &pcfg,
        format!(
            "log: {{format: json}}\nmetrics: {{enabled: false}}\nstorage: {{path: '{}'}}\napi: {{listen: '127.0.0.1:{api_port}', sync_interval: 100ms}}\n",
            d.join("state.db").display()
        ),
    )
    .unwrap();
    let pc = pcfg.to_str().unwrap();
    palisade(&[
        "bouncers",
        "add",
        "fw",
        "--key",
        "bouncer-key-0123456789",
        "-c",
        pc,
    ]);
    palisade(&[
        "decisions",
        "add",
        "--ip",
        "192.0.2.10",
        "--duration",
        "1h",
        "--reason",
        "test/one",
        "-c",
        pc,
    ]);
    let start_api = || {
        let child = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["run", "-c", pc])
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let api = kafka_support::Killed(child);
        wait_for("the Local API", || {
            http_get(api_port, "/health", "").is_some()
        });
        api
    };
    let api = start_api();
    let bcfg = d.join("bouncer.yaml");
    let hook_out = d.join("hook.jsonl");
    std::fs::write(
        &bcfg,
        format!(
            "metrics: {{enabled: false}}\nsource:\n  lapi: {{url: 'http://127.0.0.1:{api_port}/', api_key: bouncer-key-0123456789, interval: 100ms}}\non_source_loss: open\nbackends:\n  - feed: {{dir: '{feeds}'}}\n  - hook: {{command: [sh, -c, 'cat >> {hook}'], mode: each}}\nhttp: {{listen: '127.0.0.1:{http_port}'}}\n",
            feeds = d.join("feeds").display(),
            hook = hook_out.display(),
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["bouncer", "-c", bcfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("bouncer.log")).unwrap())
        .spawn()
        .unwrap();
    let _bouncer = kafka_support::Killed(child);
    let feed = |name: &str| std::fs::read_to_string(d.join("feeds").join(name)).unwrap_or_default();
    let hooks = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&hook_out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let auth =
        |ip: &str| http_get(http_port, "/auth", &format!("X-Real-IP: {ip}\r\n")).map(|r| r.0);
    wait_for("the startup set in the feed", || {
        feed("blocklist.txt") == "192.0.2.10\n"
    });
    palisade(&[
        "decisions",
        "add",
        "--ip",
        "192.0.2.11",
        "--duration",
        "1h",
        "--reason",
        "test/two",
        "-c",
        pc,
    ]);
    wait_for("a new decision in the feeds", || {
        feed("blocklist-cidr.txt") == "192.0.2.10/31\n"
    });
    assert!(feed("blocklist-nginx.conf").contains("deny 192.0.2.10/31;"));
    assert_eq!(
        http_get(http_port, "/feeds/blocklist.txt", "").unwrap().1,
        "192.0.2.10\n192.0.2.11\n"
    );
    // Each backend applies the batch on its own thread: the HTTP view may follow the files.
    wait_for("the forward-auth view to deny the new address", || {
        auth("192.0.2.11") == Some(403)
    });
    assert_eq!(auth("192.0.2.99"), Some(200));
    wait_for("the hook to hear of both", || hooks().len() == 2);
    assert!(hooks().iter().all(|h| h["action"] == "add"));

    // The Local API goes away: the last known set stays (fail-open), then changes made meanwhile
    // are reconciled when it is back.
    drop(api);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(feed("blocklist.txt"), "192.0.2.10\n192.0.2.11\n");
    assert_eq!(auth("192.0.2.10"), Some(403));
    palisade(&["decisions", "delete", "--ip", "192.0.2.10", "-c", pc]);
    palisade(&[
        "decisions",
        "add",
        "--ip",
        "198.51.100.1",
        "--duration",
        "1h",
        "--reason",
        "test/three",
        "-c",
        pc,
    ]);
    let _api = start_api();
    wait_for("the reconciliation", || {
        feed("blocklist.txt") == "192.0.2.11\n198.51.100.1\n"
    });
    wait_for(
        "the forward-auth view to let the unbanned address in",
        || auth("192.0.2.10") == Some(200),
    );
    wait_for("the hook to hear of the reconciliation", || {
        hooks().len() == 4
    });
    let h = hooks();
    assert!(
        h[2..]
            .iter()
            .any(|h| h["action"] == "delete" && h["decision"]["value"] == "192.0.2.10"),
        "{h:?}"
    );
    assert!(
        h[2..]
            .iter()
            .any(|h| h["action"] == "add" && h["decision"]["value"] == "198.51.100.1"),
        "{h:?}"
    );
}

/// Serves `answer(path)` to every request on a thread until the process ends; returns the port.
fn tiny_server(answer: impl Fn(&str) -> String + Send + 'static) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = answer(&path);
            let _ = write!(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    port
}

/// A Local API that knows a ban, a throttle and a captcha decision (for 127.0.0.2, .3 and .4), an
/// upstream application, and a bouncer with a block page template pulling from that API. Returns
/// the bouncer's HTTP port, the upstream's port and the bouncer process. `http_extra` is more of
/// the bouncer's `http:` section (indented lines).
fn forward_auth_setup(d: &std::path::Path, http_extra: &str) -> (u16, u16, kafka_support::Killed) {
    // A Local API that knows three decisions, and an upstream application.
    let lapi = tiny_server(|path| {
        let d = |v: &str, t: &str| serde_json::json!({"duration":"1h","origin":"cscli","scenario":"test/nginx","scope":"Ip","type":t,"value":v});
        if path.contains("startup=true") {
            serde_json::json!({"new": [d("127.0.0.2", "ban"), d("127.0.0.3", "throttle"), d("127.0.0.4", "captcha")], "deleted": []}).to_string()
        } else {
            r#"{"new": null, "deleted": null}"#.to_string()
        }
    });
    let upstream = tiny_server(|_| "hello from upstream\n".to_string());
    let bport = free_port();
    std::fs::write(
        d.join("block.html"),
        "<h1>Blocked: {ip} by {scenario}</h1>\n",
    )
    .unwrap();
    let bcfg = d.join("bouncer.yaml");
    std::fs::write(
        &bcfg,
        format!(
            "metrics: {{enabled: false}}\nsource:\n  lapi: {{url: 'http://127.0.0.1:{lapi}/', api_key: k, interval: 1s}}\nhttp:\n  listen: '127.0.0.1:{bport}'\n  block_template: '{}'\n  captcha_url: 'https://challenge.example/'\n  throttle_retry_after_secs: 30\n{http_extra}",
            d.join("block.html").display()
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["bouncer", "-c", bcfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("bouncer.log")).unwrap())
        .spawn()
        .unwrap();
    (bport, upstream, kafka_support::Killed(child))
}

/// A request from a loopback address through a proxy on `port`: its status and its whole text
/// (status line, headers, body).
fn get_via(port: u16, from: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "5", "--interface", from])
        .arg(format!("http://127.0.0.1:{port}/app"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// What a proxy in front of the bouncer must do for the decisions of [`forward_auth_setup`].
fn check_forward_auth(proxy: &str, port: u16) {
    let get = |from: &str| get_via(port, from);
    wait_for(&format!("{proxy} and the bouncer's first pull"), || {
        get("127.0.0.2").0 == 403
    });
    let (status, text) = get("127.0.0.1");
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("hello from upstream\n"), "{text}");
    let (_, text) = get("127.0.0.2");
    assert!(
        text.contains("<h1>Blocked: 127.0.0.2 by test/nginx</h1>"),
        "the block page from the template: {text}"
    );
    assert!(!text.contains("upstream"));
    let (status, text) = get("127.0.0.3");
    assert_eq!(status, 429, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 30"),
        "{text}"
    );
    let (status, text) = get("127.0.0.4");
    assert_eq!(status, 302, "{text}");
    assert!(
        text.contains("https://challenge.example/?ip=127.0.0.4"),
        "{text}"
    );
}

#[test]
fn nginx_auth_request_blocks_throttles_and_challenges_through_the_bouncer() {
    if !std::path::Path::new("/usr/sbin/nginx").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "the nginx test needs Debian's nginx (apt-get install nginx-light)"
        );
        eprintln!("skipped: /usr/sbin/nginx is missing (apt-get install nginx-light)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bport, upstream, _bouncer) = forward_auth_setup(d, "");
    let nport = free_port();
    let conf = format!(
        r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{}}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{nport};
    location / {{
      auth_request /_palisade;
      error_page 401 403 = @palisade;
      proxy_pass http://127.0.0.1:{upstream};
    }}
    location = /_palisade {{
      internal;
      proxy_pass http://127.0.0.1:{bport}/auth?mode=nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Real-IP $remote_addr;
    }}
    location @palisade {{
      rewrite ^ /page break;
      proxy_pass http://127.0.0.1:{bport};
      proxy_set_header X-Real-IP $remote_addr;
    }}
  }}
}}
"#,
        d = d.display()
    );
    std::fs::write(d.join("nginx.conf"), conf).unwrap();
    let child = Command::new("/usr/sbin/nginx")
        .args([
            "-c",
            d.join("nginx.conf").to_str().unwrap(),
            "-p",
            d.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _nginx = kafka_support::Killed(child);
    check_forward_auth("nginx", nport);
}

#[test]
fn caddy_forward_auth_blocks_throttles_and_challenges_through_the_bouncer() {
    if !std::path::Path::new("/usr/bin/caddy").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "the Caddy test needs Debian's caddy (apt-get install caddy)"
        );
        eprintln!("skipped: /usr/bin/caddy is missing (apt-get install caddy)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Caddy hands the client's own headers to the bouncer too: only the X-Forwarded-For that
    // Caddy sets may name the client (docs/BOUNCER.md).
    let (bport, upstream, _bouncer) = forward_auth_setup(d, "  ip_headers: [X-Forwarded-For]\n");
    let cport = free_port();
    // Caddy's forward_auth passes the client address in X-Forwarded-For and, when the bouncer
    // does not answer 2xx, hands its answer (status, headers, body) to the client.
    let conf = format!(
        "{{\n  admin off\n  auto_https off\n}}\nhttp://127.0.0.1:{cport} {{\n  forward_auth 127.0.0.1:{bport} {{\n    uri /auth\n  }}\n  reverse_proxy 127.0.0.1:{upstream}\n}}\n"
    );
    std::fs::write(d.join("Caddyfile"), conf).unwrap();
    let child = Command::new("/usr/bin/caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(d.join("Caddyfile"))
        .env("XDG_DATA_HOME", d.join("data"))
        .env("XDG_CONFIG_HOME", d.join("config"))
        .env("HOME", d)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("caddy.log")).unwrap())
        .spawn()
        .unwrap();
    let _caddy = kafka_support::Killed(child);
    check_forward_auth("caddy", cport);
    // A banned client cannot pass by naming another address itself.
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(["--interface", "127.0.0.2", "-H", "X-Real-IP: 127.0.0.1"])
        .args(["-H", "X-Forwarded-For: 127.0.0.1"])
        .arg(format!("http://127.0.0.1:{cport}/app"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "403");
}

#[test]
fn ipset_with_iptables_drops_banned_addresses_in_a_namespace() {
    if !can_use_netns() {
        return;
    }
    let have = |c: &str| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("ipset") && have("iptables")) {
        assert!(
            std::env::var("CI").is_err(),
            "the ipset test needs ipset and iptables"
        );
        eprintln!("skipped: ipset or iptables is missing (apt-get install ipset iptables)");
        return;
    }
    use palisade_bounce::backend::ipset::{Ipset, IpsetSpec};
    let ns = Netns::new(3);
    let prefix = |c: &str| -> Vec<String> {
        ["ip", "netns", "exec", &ns.name, c]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let spec = IpsetSpec {
        ipset: prefix("ipset"),
        iptables: prefix("iptables"),
        ip6tables: prefix("ip6tables"),
        ..IpsetSpec::default()
    };
    let banned = decision("Ip", &ns.addr(3), 3600);
    let mut fw = Ipset::new(spec.clone());
    fw.apply(&batch(
        true,
        &[banned.clone(), decision("Range", "198.51.100.0/24", 60)],
        &[],
    ))
    .unwrap();
    assert!(
        !ns.reaches(3),
        "packets from the banned address are dropped"
    );
    assert!(ns.reaches(1), "other addresses pass");
    fw.apply(&batch(
        false,
        &[],
        &[banned.clone(), decision("Ip", "192.0.2.77", 60)],
    ))
    .unwrap();
    assert!(ns.reaches(3), "the unban lets it through again");
    // A restart: the rule is not inserted twice, the set is replaced.
    Ipset::new(spec.clone())
        .apply(&batch(true, std::slice::from_ref(&banned), &[]))
        .unwrap();
    Ipset::new(spec)
        .apply(&batch(true, &[banned], &[]))
        .unwrap();
    assert!(!ns.reaches(3));
    let rules = Command::new("ip")
        .args(["netns", "exec", &ns.name, "iptables", "-S", "INPUT"])
        .output()
        .unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
    assert_eq!(rules.matches("palisade-v4").count(), 1, "{rules}");
}

#[test]
fn a_lost_broker_makes_fail_closed_refuse_and_its_return_is_followed() {
    // A durable broker, as Kafka is: after the restart the topic and its offsets are there.
    let Some(bin) = kafka_support::brokers("PALISADE_TANSU_SQLITE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("broker");
    std::fs::create_dir_all(&data).unwrap();
    let port = free_port();
    let broker = kafka_support::start_broker(&bin, "sqlite://tansu.db", port, &data);
    let brokers = format!("127.0.0.1:{port}");
    let topic = kafka_support::unique("bouncer-loss");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(kafka_support::create_topic(&brokers, &topic, 4));
    let produce = |ip: &str| {
        let c = DecisionChange {
            action: DecisionAction::Add,
            decision: decision("Ip", ip, 3600),
        };
        let producer = kafka_support::producer(&brokers);
        rt.block_on(async {
            producer
                .send(
                    rdkafka::producer::FutureRecord::to(&topic)
                        .key(&c.key())
                        .payload(&serde_json::to_string(&c).unwrap()),
                    rdkafka::util::Timeout::After(Duration::from_secs(30)),
                )
                .await
                .map_err(|(e, _)| e)
                .expect("producing a decision");
        });
    };
    produce("192.0.2.1");
    let http_port = free_port();
    let cfg = d.join("bouncer.yaml");
    std::fs::write(
        &cfg,
        format!("metrics: {{enabled: false}}\nsource:\n  kafka: {{brokers: ['{brokers}'], topic: {topic}}}\non_source_loss: closed\nhttp: {{listen: '127.0.0.1:{http_port}'}}\n"),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["bouncer", "-c", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("bouncer.log")).unwrap())
        .spawn()
        .unwrap();
    let _bouncer = kafka_support::Killed(child);
    let auth =
        |ip: &str| http_get(http_port, "/auth", &format!("X-Real-IP: {ip}\r\n")).map(|r| r.0);
    let log = || std::fs::read_to_string(d.join("bouncer.log")).unwrap_or_default();
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; log:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait("the ban from the topic", &|| auth("192.0.2.1") == Some(403));
    assert_eq!(auth("192.0.2.2"), Some(200));
    drop(broker);
    wait("fail-closed once the broker is gone", &|| {
        auth("192.0.2.2") == Some(503)
    });
    // (fail-closed answers 503 to every address, banned or not, until the source is back)
    let _broker = kafka_support::start_broker(&bin, "sqlite://tansu.db", port, &data);
    wait("the broker to be back", &|| auth("192.0.2.2") == Some(200));
    // The topic is followed again: a decision produced after the outage is enforced.
    produce("192.0.2.3");
    wait("the ban produced after the outage", &|| {
        auth("192.0.2.3") == Some(403)
    });
    assert_eq!(auth("192.0.2.1"), Some(403));
    assert_eq!(auth("192.0.2.2"), Some(200));
}
