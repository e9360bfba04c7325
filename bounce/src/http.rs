//! The HTTP endpoint: forward-auth for reverse proxies (nginx `auth_request`, Traefik
//! `forwardAuth`, Caddy `forward_auth`) and the blocklist feeds.
//!
//! * `GET /auth`: 200 (empty) lets the request through; a `ban` answers 403 with the block page
//!   (from a template), a `throttle` 429 with `Retry-After`, a `captcha` a 302 to the challenge
//!   page. `?mode=nginx` answers 401 instead of 429 and 302, because nginx's `auth_request` only
//!   accepts 2xx, 401 and 403; the nginx configuration then sends 401 and 403 to `GET /page`,
//!   which answers the full response (see docs/BOUNCER.md).
//! * `GET /page`: the response for the client's remediation; 200 `not blocked` without one.
//! * `GET /feeds/<name>`: the blocklist feeds (`blocklist.txt`, `blocklist-cidr.txt`,
//!   `blocklist-nginx.conf`) when a `feed` backend is configured.
//! * `GET /health`: `ok`.
//!
//! The client address is the first of `ip_headers` present (for `X-Forwarded-For`, its last
//! element: the one the nearest proxy added), else the connection's peer. While the source is
//! lost, `on_source_loss: closed` answers 503 to every check.

use crate::backend::feed::FeedTexts;
use crate::backend::Backend;
use crate::config::FailMode;
use crate::engine::Health;
use crate::net::Net;
use crate::set::{Batch, Entry, Key};
use crate::BounceError;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use palisade_runtime::metrics::{MetricDef, Registry};
use palisade_runtime::shutdown::Shutdown;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

static CHECKS: MetricDef = MetricDef::counter(
    "palisade_bounce_http_checks_total",
    "Forward-auth checks, by answer (allow, ban, throttle, captcha, unavailable).",
);

/// The `http:` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSpec {
    /// `host:port` to listen on.
    pub listen: String,
    /// Headers holding the client address, first present wins.
    pub ip_headers: Vec<String>,
    /// The block page template (HTML); `{ip}`, `{scenario}`, `{type}` and `{until}` are
    /// replaced. Default: a built-in page.
    pub block_template: Option<PathBuf>,
    /// Where a captcha decision sends the client (the client's address is appended as `ip=`).
    pub captcha_url: String,
    /// `Retry-After` of a throttle answer, in seconds.
    pub throttle_retry_after_secs: u64,
}

impl Default for HttpSpec {
    fn default() -> Self {
        HttpSpec {
            listen: "127.0.0.1:8081".into(),
            ip_headers: vec!["X-Real-IP".into(), "X-Forwarded-For".into()],
            block_template: None,
            captcha_url: "/palisade/challenge".into(),
            throttle_retry_after_secs: 60,
        }
    }
}

impl HttpSpec {
    /// What is wrong, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.listen.parse::<SocketAddr>().is_err() {
            out.push((
                "listen",
                format!("{:?} is not a host:port address", self.listen),
            ));
        }
        if let Some(t) = &self.block_template {
            if let Err(e) = std::fs::read_to_string(t) {
                out.push(("block_template", format!("{}: {e}", t.display())));
            }
        }
        out
    }
}

const DEFAULT_PAGE: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Access denied</title></head>\n<body><h1>Access denied</h1>\n<p>Your address ({ip}) is blocked by this site's intrusion prevention ({scenario}) until {until}.</p>\n</body></html>\n";

/// Decisions by address, for lookups (the HTTP view of the active set).
#[derive(Debug, Default)]
pub struct Lookup {
    hosts: HashMap<IpAddr, Vec<Entry>>,
    ranges: HashMap<Key, (Net, Entry)>,
}

fn rank(kind: &str) -> u8 {
    match kind {
        "ban" => 3,
        "captcha" => 2,
        "throttle" => 1,
        _ => 0,
    }
}

impl Lookup {
    /// The decision that applies to `ip`: the strongest (ban, then captcha, then throttle).
    pub fn find(&self, ip: IpAddr) -> Option<&Entry> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.hosts
            .get(&ip)
            .into_iter()
            .flatten()
            .chain(
                self.ranges
                    .values()
                    .filter(|(n, _)| n.contains_ip(ip))
                    .map(|(_, e)| e),
            )
            .filter(|e| rank(&e.key.kind) > 0)
            .max_by_key(|e| rank(&e.key.kind))
    }

    fn remove(&mut self, key: &Key) {
        if self.ranges.remove(key).is_some() {
            return;
        }
        if let Ok(ip) = key.value.parse::<IpAddr>() {
            if let Some(v) = self.hosts.get_mut(&ip) {
                v.retain(|e| e.key != *key);
                if v.is_empty() {
                    self.hosts.remove(&ip);
                }
            }
        }
    }

    fn insert(&mut self, e: &Entry) {
        if !matches!(e.key.scope.as_str(), "Ip" | "Range") {
            return;
        }
        let Some(net) = Net::parse(&e.key.value) else {
            return;
        };
        self.remove(&e.key);
        if net.is_host() {
            if let Ok(ip) = e.key.value.parse::<IpAddr>() {
                self.hosts.entry(ip).or_default().push(e.clone());
                return;
            }
        }
        self.ranges.insert(e.key.clone(), (net, e.clone()));
    }
}

/// The lookup shared by the engine's HTTP backend and the endpoint.
pub type SharedLookup = Arc<RwLock<Lookup>>;

/// The backend that keeps the [`Lookup`] up to date.
pub struct HttpView(pub SharedLookup);

impl Backend for HttpView {
    fn name(&self) -> &'static str {
        "http"
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), BounceError> {
        let mut l = self.0.write().unwrap_or_else(|e| e.into_inner());
        if batch.full {
            *l = Lookup::default();
        }
        for e in &batch.deletes {
            l.remove(&e.key);
        }
        for e in &batch.adds {
            l.insert(e);
        }
        Ok(())
    }
}

/// What the endpoint needs.
#[derive(Clone)]
pub struct HttpState {
    /// Settings.
    pub spec: Arc<HttpSpec>,
    /// The block page template.
    pub template: Arc<String>,
    /// Decisions by address.
    pub lookup: SharedLookup,
    /// The feeds.
    pub feeds: FeedTexts,
    /// Source health.
    pub health: Health,
    /// Fail open or closed.
    pub fail: FailMode,
    /// Metrics.
    pub metrics: Registry,
}

impl HttpState {
    /// The state for `spec` (reads the template).
    pub fn new(
        spec: HttpSpec,
        lookup: SharedLookup,
        feeds: FeedTexts,
        health: Health,
        fail: FailMode,
        metrics: Registry,
    ) -> Result<HttpState, BounceError> {
        let template = match &spec.block_template {
            Some(p) => std::fs::read_to_string(p).map_err(|source| BounceError::Io {
                path: p.display().to_string(),
                source,
            })?,
            None => DEFAULT_PAGE.to_string(),
        };
        Ok(HttpState {
            spec: Arc::new(spec),
            template: Arc::new(template),
            lookup,
            feeds,
            health,
            fail,
            metrics,
        })
    }

    fn client_ip(&self, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
        for h in &self.spec.ip_headers {
            if let Some(v) = headers.get(h.as_str()).and_then(|v| v.to_str().ok()) {
                let last = v.rsplit(',').next().unwrap_or(v).trim();
                if let Ok(ip) = last.parse() {
                    return ip;
                }
            }
        }
        peer.ip()
    }

    fn count(&self, answer: &'static str) {
        self.metrics.counter(&CHECKS, &[("answer", answer)]).inc();
    }

    fn answer(&self, headers: &HeaderMap, peer: SocketAddr, nginx: bool, page: bool) -> Response {
        if self.fail == FailMode::Closed && !self.health.load(Ordering::Relaxed) {
            self.count("unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("5"))],
                "decision source unavailable\n",
            )
                .into_response();
        }
        let ip = self.client_ip(headers, peer);
        let found = self
            .lookup
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .find(ip)
            .cloned();
        let Some(e) = found else {
            self.count("allow");
            return if page {
                (StatusCode::OK, "not blocked\n").into_response()
            } else {
                StatusCode::OK.into_response()
            };
        };
        let kind = e.key.kind.as_str();
        let tag = [(
            "x-palisade-remediation",
            HeaderValue::from_str(kind).unwrap_or(HeaderValue::from_static("ban")),
        )];
        match kind {
            "ban" => {
                self.count("ban");
                let body = self
                    .template
                    .replace("{ip}", &ip.to_string())
                    .replace("{scenario}", &html_escape(&e.decision.scenario))
                    .replace("{type}", kind)
                    .replace(
                        "{until}",
                        &e.until.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    );
                (
                    StatusCode::FORBIDDEN,
                    tag,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    body,
                )
                    .into_response()
            }
            "throttle" => {
                self.count("throttle");
                let status = if nginx {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                };
                (
                    status,
                    tag,
                    [(
                        header::RETRY_AFTER,
                        self.spec.throttle_retry_after_secs.to_string(),
                    )],
                    "too many requests\n",
                )
                    .into_response()
            }
            _ => {
                self.count("captcha");
                let sep = if self.spec.captcha_url.contains('?') {
                    '&'
                } else {
                    '?'
                };
                let to = format!("{}{sep}ip={ip}", self.spec.captcha_url);
                let status = if nginx {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::FOUND
                };
                (
                    status,
                    tag,
                    [(header::LOCATION, to.clone())],
                    format!("challenge required: {to}\n"),
                )
                    .into_response()
            }
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Deserialize)]
struct AuthQuery {
    mode: Option<String>,
}

/// The router (testable without a socket).
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route(
            "/auth",
            get(
                |State(s): State<HttpState>,
                 ConnectInfo(peer): ConnectInfo<SocketAddr>,
                 Query(q): Query<AuthQuery>,
                 headers: HeaderMap| async move {
                    s.answer(&headers, peer, q.mode.as_deref() == Some("nginx"), false)
                },
            ),
        )
        .route(
            "/page",
            get(
                |State(s): State<HttpState>,
                 ConnectInfo(peer): ConnectInfo<SocketAddr>,
                 headers: HeaderMap| async move {
                    s.answer(&headers, peer, false, true)
                },
            ),
        )
        .route(
            "/feeds/{name}",
            get(
                |State(s): State<HttpState>, Path(name): Path<String>| async move {
                    let text = s
                        .feeds
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&name)
                        .cloned();
                    match text {
                        Some(t) => (
                            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                            t.as_str().to_string(),
                        )
                            .into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                },
            ),
        )
        .route("/health", get(|| async { "ok\n" }))
        .with_state(state)
}

/// Binds and serves until shutdown; returns the bound address.
pub async fn serve(
    state: HttpState,
    shutdown: Shutdown,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), BounceError> {
    let addr: SocketAddr = state
        .spec
        .listen
        .parse()
        .map_err(|e| BounceError::Source(format!("http.listen: {e}")))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| BounceError::Io {
            path: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| BounceError::Io {
        path: addr.to_string(),
        source,
    })?;
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await
        {
            tracing::error!(%error, "Bouncer HTTP endpoint failed.");
        }
    });
    Ok((local, handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::ActiveSet;
    use axum::body::Body;
    use axum::http::Request;
    use palisade_schemas::Decision;
    use tower::ServiceExt;

    fn entry(scope: &str, value: &str, kind: &str) -> Entry {
        let now = chrono::Utc::now();
        ActiveSet::entry_of(
            &Decision {
                duration: "1h".into(),
                id: 0,
                origin: "t".into(),
                scenario: "palisade/<http-probing>".into(),
                scope: scope.into(),
                simulated: None,
                kind: kind.into(),
                until: None,
                uuid: None,
                value: value.into(),
            },
            now,
        )
        .unwrap()
    }

    fn state(fail: FailMode, healthy: bool) -> HttpState {
        let lookup = SharedLookup::default();
        HttpView(lookup.clone())
            .apply(&Batch {
                full: true,
                adds: vec![
                    entry("Ip", "192.0.2.1", "ban"),
                    entry("Ip", "192.0.2.2", "throttle"),
                    entry("Range", "198.51.100.0/24", "captcha"),
                    entry("Ip", "198.51.100.9", "ban"),
                ],
                deletes: vec![],
            })
            .unwrap();
        let health = Health::default();
        health.store(healthy, Ordering::Relaxed);
        HttpState::new(
            HttpSpec::default(),
            lookup,
            FeedTexts::default(),
            health,
            fail,
            Registry::new(),
        )
        .unwrap()
    }

    async fn call(s: &HttpState, uri: &str, ip: &str) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::get(uri)
            .header("X-Forwarded-For", format!("203.0.113.250, {ip}"))
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
        let resp = router(s.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn each_remediation_has_its_answer() {
        let s = state(FailMode::Open, true);
        let (st, _, body) = call(&s, "/auth", "192.0.2.1").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(
            body.contains("192.0.2.1") && body.contains("palisade/&lt;http-probing&gt;"),
            "{body}"
        );
        let (st, h, _) = call(&s, "/auth", "192.0.2.2").await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(h["retry-after"], "60");
        let (st, h, _) = call(&s, "/auth", "198.51.100.7").await;
        assert_eq!(st, StatusCode::FOUND);
        assert_eq!(h["location"], "/palisade/challenge?ip=198.51.100.7");
        // A ban inside a captcha range wins.
        assert_eq!(
            call(&s, "/auth", "198.51.100.9").await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(call(&s, "/auth", "192.0.2.200").await.0, StatusCode::OK);
        // nginx's auth_request only takes 401 and 403; /page then gives the real answer.
        assert_eq!(
            call(&s, "/auth?mode=nginx", "192.0.2.2").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&s, "/auth?mode=nginx", "198.51.100.7").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&s, "/page", "192.0.2.2").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            call(&s, "/feeds/nope", "192.0.2.2").await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn fail_closed_refuses_while_the_source_is_lost() {
        let s = state(FailMode::Closed, false);
        assert_eq!(
            call(&s, "/auth", "192.0.2.200").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let s = state(FailMode::Open, false);
        assert_eq!(call(&s, "/auth", "192.0.2.200").await.0, StatusCode::OK);
        assert_eq!(
            call(&s, "/auth", "192.0.2.1").await.0,
            StatusCode::FORBIDDEN,
            "the last known set applies"
        );
    }
}
