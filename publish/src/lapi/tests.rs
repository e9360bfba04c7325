//! The Local API against the compatibility rules of `shared/spec/crowdsec-lapi.md`, through the
//! router without a socket.

use super::auth::{hash_key, hash_password};
use super::*;
use crate::{Profiles, Store};
use axum::http::{Method, Request};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use palisade_runtime::clock::ManualClock;
use palisade_runtime::metrics::Registry;
use std::io::Write;
use std::time::Duration;
use tower::ServiceExt;

const KEY: &str = "bouncer-key-1";

struct Api {
    app: Router,
    state: Arc<LapiState>,
    clock: ManualClock,
    registry: Registry,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn api() -> Api {
    let clock = ManualClock::new(t0());
    let mut store = Store::open_in_memory().unwrap();
    store.add_bouncer("fw", &hash_key(KEY), t0()).unwrap();
    store
        .add_machine("agent1", &hash_password("pw"), "", true, t0())
        .unwrap();
    store
        .add_machine("pending", &hash_password("pw"), "", false, t0())
        .unwrap();
    let registry = Registry::new();
    let state = Arc::new(LapiState::new(
        store,
        DecisionIndex::new(),
        Arc::new(Profiles::default_profiles()),
        auth::Jwt::new(vec![1; 64]),
        Arc::new(clock.clone()),
        ApiConfig::new("127.0.0.1:0".parse().unwrap()),
        Duration::from_secs(86_400),
        &registry,
    ));
    state.sync().unwrap();
    Api {
        app: router(state.clone()),
        state,
        clock,
        registry,
    }
}

struct Reply {
    status: u16,
    body: String,
    content_type: String,
}

impl Api {
    async fn call(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            body: String::from_utf8(body.to_vec()).unwrap(),
            content_type,
        }
    }

    async fn bouncer(&self, method: Method, uri: &str) -> Reply {
        self.call(
            Request::builder()
                .method(method)
                .uri(uri)
                .header("x-api-key", KEY)
                .header("user-agent", "crowdsec-firewall-bouncer/-")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn token(&self, id: &str) -> String {
        let r = self
            .call(
                Request::post("/v1/watchers/login")
                    .header("user-agent", "crowdsec/v1.4.6")
                    .body(Body::from(format!(
                        r#"{{"machine_id":"{id}","password":"pw","scenarios":["a/b"]}}"#
                    )))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["code"], 200);
        v["token"].as_str().unwrap().to_string()
    }

    async fn machine(&self, method: Method, uri: &str, body: &str) -> Reply {
        let token = self.token("agent1").await;
        self.call(
            Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Pushes a cscli-style alert with one decision.
    async fn add(&self, scope: &str, value: &str, duration: &str, kind: &str) -> Reply {
        let now = palisade_schemas::time::format_rfc3339_nano(&self.clock_now());
        let body = format!(
            r#"[{{"capacity":0,"decisions":[{{"duration":"{duration}","origin":"cscli","scenario":"manual '{kind}' from 'x'","scope":"{scope}","type":"{kind}","value":"{value}"}}],
            "events":[],"events_count":1,"leakspeed":"0","message":"m","scenario":"manual","scenario_hash":"","scenario_version":"","simulated":false,
            "source":{{"scope":"{scope}","value":"{value}"}},"start_at":"{now}","stop_at":"{now}"}}]"#
        );
        self.machine(Method::POST, "/v1/alerts", &body).await
    }

    fn clock_now(&self) -> DateTime<Utc> {
        self.state.now()
    }
}

fn decisions(body: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<Option<Vec<serde_json::Value>>>(body)
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test]
async fn bouncers_need_a_known_key() {
    let a = api();
    for key in [None, Some("wrong")] {
        let mut req = Request::get("/v1/decisions/stream?startup=true");
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        let r = a.call(req.body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body, r#"{"message":"access forbidden"}"#);
        assert_eq!(r.content_type, "application/json; charset=utf-8");
    }
}

#[tokio::test]
async fn point_lookup_answers_null_then_the_decisions_covering_the_address() {
    let a = api();
    let r = a.bouncer(Method::GET, "/v1/decisions?ip=1.2.3.4").await;
    assert_eq!((r.status, r.body.as_str()), (200, "null"));
    assert_eq!(a.add("Ip", "1.2.3.4", "4h", "ban").await.status, 201);
    assert_eq!(
        a.add("Range", "1.2.3.0/24", "1h", "captcha").await.status,
        201
    );
    assert_eq!(a.add("Ip", "5.6.7.8", "4h", "ban").await.status, 201);
    a.clock.set(t0() + TimeDelta::seconds(2));
    let r = a
        .bouncer(
            Method::GET,
            "/v1/decisions?ip=1.2.3.4&community_pull=false&test=test",
        )
        .await;
    assert_eq!(r.status, 200);
    let ds = decisions(&r.body);
    assert_eq!(ds.len(), 2, "{}", r.body);
    assert_eq!(ds[0]["value"], "1.2.3.4");
    assert_eq!(ds[0]["duration"], "3h59m58s");
    assert_eq!(ds[1]["value"], "1.2.3.0/24");
    assert!(ds[0].get("uuid").is_none(), "no uuid on point lookups");
    assert!(ds[0].get("until").is_none() && ds[0].get("simulated").is_none());
    assert!(r.body.starts_with(r#"[{"duration":"3h59m58s","id":1,"origin":"cscli","scenario":"manual 'ban' from 'x'","scope":"Ip","type":"ban","value":"1.2.3.4"}"#), "{}", r.body);
    // contains=false: decisions inside the range.
    let r = a
        .bouncer(Method::GET, "/v1/decisions?range=1.2.0.0/16&contains=false")
        .await;
    assert_eq!(decisions(&r.body).len(), 2);
    let r = a.bouncer(Method::GET, "/v1/decisions?type=captcha").await;
    assert_eq!(decisions(&r.body).len(), 1);
    let r = a
        .bouncer(Method::GET, "/v1/decisions?scopes=ip&value=5.6.7.8")
        .await;
    assert_eq!(decisions(&r.body)[0]["value"], "5.6.7.8");
    let r = a
        .bouncer(Method::GET, "/v1/decisions?limit=1&offset=1")
        .await;
    assert_eq!(decisions(&r.body)[0]["value"], "1.2.3.0/24");
    // HEAD: 200, empty.
    let r = a.bouncer(Method::HEAD, "/v1/decisions?ip=1.2.3.4").await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    // A bad address or boolean: 500 with a message.
    let r = a.bouncer(Method::GET, "/v1/decisions?ip=1.2.3").await;
    assert_eq!(r.status, 500);
    assert!(
        r.body
            .starts_with(r#"{"message":"unable to convert '1.2.3' to int"#),
        "{}",
        r.body
    );
    let r = a
        .bouncer(Method::GET, "/v1/decisions?ip=1.2.3.4&contains=maybe")
        .await;
    assert_eq!(r.status, 500);
    // Expired decisions are not returned.
    a.clock.set(t0() + TimeDelta::hours(5));
    let r = a.bouncer(Method::GET, "/v1/decisions?ip=1.2.3.4").await;
    assert_eq!(r.body, "null");
}

#[tokio::test]
async fn stream_snapshot_then_deltas_with_dedup_and_deletions() {
    let a = api();
    let r = a
        .bouncer(Method::GET, "/v1/decisions/stream?startup=true")
        .await;
    assert_eq!(r.body, r#"{"new": [], "deleted": []}"#);
    assert_eq!(r.content_type, "application/json");
    a.add("Ip", "1.2.3.4", "1h", "ban").await;
    // Another alert (a second later: the same alert twice would be stored once).
    a.clock.set(t0() + TimeDelta::seconds(1));
    a.add("Ip", "1.2.3.4", "4h", "ban").await;
    a.clock.set(t0());
    a.add("Country", "FR", "4h", "ban").await;
    let r = a
        .bouncer(Method::GET, "/v1/decisions/stream?startup=true")
        .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let new = v["new"].as_array().unwrap();
    assert_eq!(
        new.len(),
        1,
        "dedup keeps the longest, default scopes skip Country: {}",
        r.body
    );
    assert_eq!(new[0]["duration"], "4h0m1s");
    assert!(new[0]["uuid"].is_string(), "the stream carries uuids");
    let r = a
        .bouncer(
            Method::GET,
            "/v1/decisions/stream?startup=true&scopes=country&dedup=false",
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["new"][0]["value"], "FR");
    // Delta: nothing new.
    a.clock.set(t0() + TimeDelta::seconds(10));
    let r = a.bouncer(Method::GET, "/v1/decisions/stream").await;
    assert_eq!(r.body, r#"{"new": [], "deleted": []}"#);
    // The 1h decision expires while the 4h one stands: not reported as deleted.
    a.clock.set(t0() + TimeDelta::minutes(61));
    let r = a
        .bouncer(Method::GET, "/v1/decisions/stream?startup=false")
        .await;
    assert_eq!(
        r.body, r#"{"new": [], "deleted": []}"#,
        "a longer ban still stands"
    );
    // A new decision shows up in the next delta only.
    a.add("Ip", "9.9.9.9", "4h", "ban").await;
    let r = a.bouncer(Method::GET, "/v1/decisions/stream").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["new"][0]["value"], "9.9.9.9");
    assert_eq!(v["deleted"], serde_json::json!([]));
    let r = a.bouncer(Method::GET, "/v1/decisions/stream").await;
    assert_eq!(r.body, r#"{"new": [], "deleted": []}"#);
    // Deleting every decision on 1.2.3.4: the stream reports it once, with a negative duration.
    let r = a
        .machine(Method::DELETE, "/v1/decisions?ip=1.2.3.4", "")
        .await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"nbDeleted":"1"}"#));
    a.clock.set(t0() + TimeDelta::minutes(62));
    let r = a.bouncer(Method::GET, "/v1/decisions/stream").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["deleted"][0]["value"], "1.2.3.4", "{}", r.body);
    assert_eq!(v["deleted"][0]["duration"], "-1m0s");
    assert_eq!(v["new"], serde_json::json!([]));
    a.clock.set(t0() + TimeDelta::minutes(64));
    let r = a.bouncer(Method::GET, "/v1/decisions/stream").await;
    assert_eq!(r.body, r#"{"new": [], "deleted": []}"#, "reported once");
    // HEAD does not move the bouncer's position.
    a.add("Ip", "8.8.8.8", "4h", "ban").await;
    assert_eq!(
        a.bouncer(Method::HEAD, "/v1/decisions/stream").await.body,
        ""
    );
    let r = a.bouncer(Method::GET, "/v1/decisions/stream").await;
    assert!(r.body.contains("8.8.8.8"));
    // The bouncer's User-Agent and last pull reach the store at the next sync.
    a.state.sync().unwrap();
    let b = a.state.store().bouncers().unwrap();
    assert_eq!(b[0].kind, "crowdsec-firewall-bouncer");
    assert_eq!(b[0].version, "-");
    assert_eq!(b[0].ip_address, "127.0.0.1");
    assert_eq!(b[0].last_pull, Some(t0() + TimeDelta::minutes(64)));
}

#[tokio::test]
async fn legacy_stream_writes_null_lists() {
    let a = api();
    let mut cfg = a.state.config.clone();
    cfg.stream_null = true;
    let st = Arc::new(LapiState::new(
        Store::open_in_memory().unwrap(),
        DecisionIndex::new(),
        Arc::new(Profiles::default_profiles()),
        auth::Jwt::new(vec![1; 64]),
        Arc::new(a.clock.clone()),
        cfg,
        Duration::from_secs(60),
        &Registry::new(),
    ));
    st.store().add_bouncer("b", &hash_key(KEY), t0()).unwrap();
    let app = router(st);
    let r = app
        .oneshot(
            Request::get("/v1/decisions/stream?startup=true")
                .header("x-api-key", KEY)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = axum::body::to_bytes(r.into_body(), 1000).await.unwrap();
    assert_eq!(&body[..], br#"{"new": null, "deleted": null}"#);
}

#[tokio::test]
async fn machines_register_log_in_and_push_alerts() {
    let a = api();
    let post = |uri: &str, body: &str| {
        Request::post(uri)
            .header("user-agent", "crowdsec/v1.4.6-debian")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let r = a
        .call(post(
            "/v1/watchers",
            r#"{"machine_id":"m2","password":"x"}"#,
        ))
        .await;
    assert_eq!((r.status, r.body.as_str()), (201, ""));
    let r = a
        .call(post(
            "/v1/watchers",
            r#"{"machine_id":"m2","password":"x"}"#,
        ))
        .await;
    assert_eq!(r.status, 403);
    let r = a.call(post("/v1/watchers", r#"{"machine_id":"m3"}"#)).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body,
        r#"{"message":"validation failure list:\npassword in body is required"}"#
    );
    let r = a.call(post("/v1/watchers", "{not json")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with(r#"{"message":"#));
    // Not validated, wrong password, bad User-Agent: 401 with a code.
    for (body, ua) in [
        (r#"{"machine_id":"pending","password":"pw"}"#, "crowdsec/v1"),
        (
            r#"{"machine_id":"agent1","password":"nope"}"#,
            "crowdsec/v1",
        ),
        (r#"{"machine_id":"agent1","password":"pw"}"#, "curl"),
    ] {
        let r = a
            .call(
                Request::post("/v1/watchers/login")
                    .header("user-agent", ua)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 401, "{body} {ua}");
        assert!(
            r.body.starts_with(r#"{"code":401,"message":"#),
            "{}",
            r.body
        );
    }
    // Without a token.
    let r = a.call(post("/v1/alerts", "[]")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, r#"{"code":401,"message":"auth header is empty"}"#);
    // An agent's alert (replayed from last year's logs): the default profile bans the source for
    // 4h from now, as CrowdSec's Local API does.
    let agent = r#"[{"capacity":5,"decisions":null,"events":[{"meta":[{"key":"source_ip","value":"7.7.7.7"}],"timestamp":"2026-05-01T11:59:58Z"}],
      "events_count":6,"kind":"crowdsec","labels":null,"leakspeed":"10s","message":"Ip 7.7.7.7 performed 'crowdsecurity/ssh-bf' (6 events over 3s)",
      "remediation":true,"scenario":"crowdsecurity/ssh-bf","scenario_hash":"h","scenario_version":"0.3","simulated":false,
      "source":{"ip":"7.7.7.7","range":"7.7.0.0/16","scope":"ip","value":"7.7.7.7"},"start_at":"2025-05-01T11:59:57Z","stop_at":"2025-05-01T12:00:00Z"}]"#;
    let r = a.machine(Method::POST, "/v1/alerts", agent).await;
    assert_eq!((r.status, r.body.as_str()), (201, r#"["1"]"#));
    let r = a.bouncer(Method::GET, "/v1/decisions?ip=7.7.7.7").await;
    let ds = decisions(&r.body);
    assert_eq!(ds[0]["origin"], "crowdsec");
    assert_eq!(ds[0]["scenario"], "crowdsecurity/ssh-bf");
    assert_eq!(ds[0]["duration"], "4h0m0s");
    // The same alert again: stored once, no second decision.
    let r = a.machine(Method::POST, "/v1/alerts", agent).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        decisions(
            &a.bouncer(Method::GET, "/v1/decisions?ip=7.7.7.7")
                .await
                .body
        )
        .len(),
        1
    );
    // gzip bodies are accepted.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(agent.replace("7.7.7.7", "6.6.6.6").as_bytes())
        .unwrap();
    let token = a.token("agent1").await;
    let r = a
        .call(
            Request::post("/v1/alerts")
                .header("authorization", format!("Bearer {token}"))
                .header("content-encoding", "gzip")
                .body(Body::from(gz.finish().unwrap()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Listing and inspecting.
    let r = a
        .machine(
            Method::GET,
            "/v1/alerts?scenario=crowdsecurity/ssh-bf&limit=1",
            "",
        )
        .await;
    let list: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["source"]["value"], "6.6.6.6", "newest first");
    assert_eq!(list[0]["machine_id"], "agent1");
    let r = a.machine(Method::GET, "/v1/alerts/1", "").await;
    let one: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(one["decisions"][0]["value"], "7.7.7.7");
    assert_eq!(
        a.machine(Method::GET, "/v1/alerts/99", "").await.status,
        404
    );
    assert_eq!(
        a.machine(Method::GET, "/v1/alerts?value=none", "")
            .await
            .body,
        "null"
    );
    assert_eq!(
        a.machine(Method::GET, "/v1/heartbeat", "").await.status,
        200
    );
    let r = a.machine(Method::GET, "/v1/refresh_token", "").await;
    assert!(r.body.contains("\"token\""));
    assert_eq!(
        a.registry
            .total("palisade_publish_api_alerts_received_total"),
        3
    );
}

#[tokio::test]
async fn bad_input_gets_crowdsec_codes_and_nothing_crashes() {
    let a = api();
    // Schema validation: 500 with the list.
    let r = a
        .machine(Method::POST, "/v1/alerts", r#"[{"source":{}}]"#)
        .await;
    assert_eq!(r.status, 500);
    assert!(
        r.body
            .contains(r#"validation failure list:\n0.scenario in body is required"#),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("0.source.scope in body is required"),
        "{}",
        r.body
    );
    // Malformed JSON, wrong shape, wrong types: 400.
    for bad in [
        "[{",
        "{}",
        r#"[{"scenario":1,"scenario_hash":"","scenario_version":"","message":"","events_count":1,"start_at":"","stop_at":"","capacity":0,"leakspeed":"","simulated":false,"events":[],"source":{"scope":"Ip","value":"1.1.1.1"}}]"#,
    ] {
        let r = a.machine(Method::POST, "/v1/alerts", bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    // A bad duration: 500.
    let r = a.add("Ip", "1.1.1.1", "4x", "ban").await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("decision duration '4x'"), "{}", r.body);
    let r = a.add("Ip", "1.1.1.1", "4d", "ban").await;
    assert_eq!(r.status, 500, "Go durations have no days");
    // Oversized bodies: 413.
    let big = "x".repeat(3 << 20);
    let r = a
        .call(Request::post("/v1/watchers").body(Body::from(big)).unwrap())
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body, r#"{"message":"http: request body too large"}"#);
    // Deletion filters: unknown keys are errors, ids must be integers, unknown ids 404.
    let r = a.machine(Method::DELETE, "/v1/decisions?test=1", "").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, r#"{"message":"'test' doesn't exist: invalid filter"}"#)
    );
    let r = a.machine(Method::DELETE, "/v1/decisions/abc", "").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"message":"decision_id must be valid integer"}"#)
    );
    assert_eq!(
        a.machine(Method::DELETE, "/v1/decisions/42", "")
            .await
            .status,
        404
    );
    let r = a
        .machine(Method::DELETE, "/v1/decisions?scopes=Ip&value=nothing", "")
        .await;
    assert_eq!(r.body, r#"{"nbDeleted":"0"}"#);
    // Unknown route: 404, empty. Wrong method: 405, empty.
    let r = a.bouncer(Method::GET, "/v1/nothing").await;
    assert_eq!((r.status, r.body.as_str()), (404, ""));
    let r = a.bouncer(Method::PUT, "/v1/decisions/stream").await;
    assert_eq!((r.status, r.body.as_str()), (405, ""));
    // A forged token.
    let r = a
        .call(
            Request::get("/v1/alerts")
                .header("authorization", "Bearer a.b.c")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 401);
    // Health.
    let r = a
        .call(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"up"}"#));
    assert!(a
        .registry
        .render()
        .contains("palisade_publish_api_requests_total{"));
}

#[tokio::test]
async fn usage_metrics_are_accepted_from_bouncers_and_machines() {
    let a = api();
    let rc = r#"{"remediation_components":[{"version":"v0.0.19","utc_startup_timestamp":1724000000,"type":"crowdsec-firewall-bouncer","os":{"name":"debian","version":"12"},"metrics":[]}]}"#;
    let r = a
        .call(
            Request::post("/v1/usage-metrics")
                .header("x-api-key", KEY)
                .body(Body::from(rc))
                .unwrap(),
        )
        .await;
    assert_eq!((r.status, r.body.as_str()), (201, ""));
    let r = a
        .call(
            Request::post("/v1/usage-metrics")
                .header("x-api-key", KEY)
                .body(Body::from(r#"{"remediation_components":[{"type":"x"}]}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = a
        .call(
            Request::post("/v1/usage-metrics")
                .header("x-api-key", KEY)
                .body(Body::from(r#"{"log_processors":[]}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 400);
    let lp = r#"{"log_processors":[{"version":"v1.7.0","utc_startup_timestamp":1}]}"#;
    let r = a.machine(Method::POST, "/v1/usage-metrics", lp).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        a.registry
            .total("palisade_publish_usage_metrics_received_total"),
        2
    );
}

#[tokio::test]
async fn the_index_follows_the_store_written_by_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let mut writer = Store::open(&path).unwrap();
    writer.add_bouncer("late", &hash_key("k2"), t0()).unwrap();
    let clock = ManualClock::new(t0());
    let st = Arc::new(LapiState::new(
        Store::open(&path).unwrap(),
        DecisionIndex::new(),
        Arc::new(Profiles::default_profiles()),
        auth::Jwt::new(vec![1; 64]),
        Arc::new(clock),
        ApiConfig::new("127.0.0.1:0".parse().unwrap()),
        Duration::from_secs(60),
        &Registry::new(),
    ));
    st.sync().unwrap();
    let mut alert = palisade_schemas::Alert {
        scenario: "s".into(),
        remediation: true,
        source: palisade_schemas::Source {
            scope: "Ip".into(),
            value: "4.4.4.4".into(),
            ..Default::default()
        },
        stop_at: "2026-05-01T12:00:00Z".into(),
        ..Default::default()
    };
    Profiles::default_profiles()
        .apply(&mut alert, t0(), &crate::NoHistory)
        .unwrap();
    writer.insert_alert(&alert, t0()).unwrap();
    assert_eq!(st.index().active(t0()), 0);
    assert_eq!(st.sync().unwrap(), 1);
    assert_eq!(st.index().active(t0()), 1);
    writer
        .delete_decisions(
            &crate::DecisionFilter::default(),
            t0() + TimeDelta::seconds(1),
        )
        .unwrap();
    assert_eq!(st.sync().unwrap(), 1, "the expiry is a change too");
    assert_eq!(st.index().active(t0() + TimeDelta::seconds(2)), 0);
    // A bouncer added by another process is known without a restart.
    let app = router(st);
    let r = app
        .oneshot(
            Request::get("/v1/decisions/stream?startup=true")
                .header("x-api-key", "k2")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn the_index_applies_kafka_style_events_by_uuid() {
    let idx = DecisionIndex::new();
    let d = palisade_schemas::Decision {
        duration: "4h".into(),
        id: 0,
        origin: "crowdsec".into(),
        scenario: "s".into(),
        scope: "Ip".into(),
        simulated: None,
        kind: "ban".into(),
        until: Some(t0() + TimeDelta::hours(4)),
        uuid: Some("u-1".into()),
        value: "1.1.1.1".into(),
    };
    assert!(idx.apply(&d));
    assert!(!idx.apply(&d), "the same event twice changes nothing");
    assert_eq!(idx.active(t0()), 1);
    let deleted = palisade_schemas::Decision {
        until: Some(t0()),
        ..d.clone()
    };
    assert!(idx.apply(&deleted));
    assert_eq!(idx.len(), 1);
    assert_eq!(idx.active(t0()), 0);
    assert_eq!(idx.prune(t0() + TimeDelta::seconds(1)), 1);
    assert!(idx.is_empty());
}

#[test]
fn addresses_with_several_decisions_stay_findable_as_they_expire() {
    let idx = DecisionIndex::new();
    let mk = |uuid: &str, hours: i64| palisade_schemas::Decision {
        duration: format!("{hours}h"),
        id: 0,
        origin: "crowdsec".into(),
        scenario: "s".into(),
        scope: "Ip".into(),
        simulated: None,
        kind: "ban".into(),
        until: Some(t0() + TimeDelta::hours(hours)),
        uuid: Some(uuid.into()),
        value: "1.1.1.1".into(),
    };
    assert_eq!(idx.apply_all(&[mk("a", 1), mk("b", 2), mk("c", 3)]), 3);
    let span = index::Span::parse("1.1.1.1").unwrap();
    assert_eq!(idx.read().candidates_for(&span).len(), 3);
    assert_eq!(idx.prune(t0() + TimeDelta::minutes(150)), 2);
    let left = idx.read().candidates_for(&span);
    assert_eq!(left.len(), 1);
    assert_eq!(idx.read().entries[&left[0]].uuid.as_deref(), Some("c"));
    assert!(!idx.apply(&mk("c", 3)), "still known by uuid");
    assert_eq!(idx.prune(t0() + TimeDelta::hours(4)), 1);
    assert!(idx.read().candidates_for(&span).is_empty());
}

#[tokio::test]
async fn simulated_alerts_and_decisions_are_shown_only_on_request() {
    let a = api();
    let sim = r#"[{"capacity":5,"decisions":null,"events":[],"events_count":6,"leakspeed":"10s","message":"m",
      "remediation":true,"scenario":"crowdsecurity/ssh-bf","scenario_hash":"h","scenario_version":"0.3","simulated":true,
      "source":{"scope":"Ip","value":"3.3.3.3"},"start_at":"2026-05-01T11:59:57Z","stop_at":"2026-05-01T12:00:00Z"}]"#;
    assert_eq!(a.machine(Method::POST, "/v1/alerts", sim).await.status, 201);
    assert_eq!(a.machine(Method::GET, "/v1/alerts", "").await.body, "null");
    let r = a
        .machine(Method::GET, "/v1/alerts?simulated=true", "")
        .await;
    assert!(r.body.contains("3.3.3.3"), "{}", r.body);
    assert_eq!(
        a.bouncer(Method::GET, "/v1/decisions?ip=3.3.3.3")
            .await
            .body,
        "null"
    );
    let r = a
        .bouncer(Method::GET, "/v1/decisions?ip=3.3.3.3&simulated=true")
        .await;
    assert_eq!(decisions(&r.body).len(), 1, "{}", r.body);
    let r = a
        .bouncer(Method::GET, "/v1/decisions/stream?startup=true")
        .await;
    assert!(!r.body.contains("3.3.3.3"));
}
