//! A Local API compatible with CrowdSec's, so that unmodified bouncers (firewall, custom, nginx,
//! pycrowdsec...) and agents (`crowdsec`, `cscli`) talk to Palisade as they talk to CrowdSec.
//!
//! ```text
//!  bouncers ── X-Api-Key ──► GET|HEAD /v1/decisions, /v1/decisions/stream ──► DecisionIndex (memory)
//!  agents ─── JWT ─────────► POST /v1/alerts ──► profiles ──► Store ──┐          ▲
//!                            DELETE /v1/decisions ──────────► Store ──┤   sync: change feed
//!  publish stage (pipeline) ────────────────────────────────► Store ──┘   (or, in Kafka mode,
//!                                                                           the decision topic)
//! ```
//!
//! * [`index`]: the in-memory decision set ([`DecisionIndex`]); its one input is
//!   [`DecisionIndex::apply`], so a Kafka-mode replica can feed it from the decision topic.
//! * [`bouncer`]: the bouncer routes; [`query`]: their parameters.
//! * [`machine`]: watcher registration and login (JWT), heartbeat, usage metrics.
//! * [`alerts`]: alerts pushed by machines, alert listing, decision deletion.
//! * [`auth`]: API key hashes, passwords, tokens. [`error`]: CrowdSec's error bodies.
//! * [`state`]: what the handlers share, and the sync with the store. [`spec`]: the `api:`
//!   section.
//!
//! The compatibility rules (status codes, `null` versus `[]`, durations as time left) follow
//! `shared/spec/crowdsec-lapi.md`; the module tests check them one by one.

pub mod alerts;
pub mod auth;
pub mod bouncer;
mod error;
pub mod index;
pub mod machine;
pub mod query;
pub mod spec;
pub mod state;
#[cfg(test)]
mod tests;

pub use index::DecisionIndex;
pub use spec::{ApiConfig, ApiSpec};
pub use state::LapiState;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use error::ApiError;
use palisade_runtime::shutdown::Shutdown;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Body limits: 2 MiB on the unauthenticated routes, 50 MiB elsewhere (CrowdSec's).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    Small,
    Large,
}

impl Limit {
    fn bytes(self) -> usize {
        match self {
            Limit::Small => 2 << 20,
            Limit::Large => 50 << 20,
        }
    }
}

/// The client's address (127.0.0.1 when served without connection info, as in tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub(crate) IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip()),
        ))
    }
}

fn too_large() -> ApiError {
    ApiError::Message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "http: request body too large".into(),
    )
}

/// Reads a JSON body within `limit`, gunzipping it when `Content-Encoding: gzip` (the Go client
/// compresses bodies over 5 KiB). Malformed JSON is a 400, too big a body a 413.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: Limit,
) -> Result<T, ApiError> {
    let max = limit.bytes();
    let bytes = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())?;
    let gzip = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let plain = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| ApiError::bad_request(format!("gzip: {e}")))?;
        if out.len() > max {
            return Err(too_large());
        }
        out
    } else {
        bytes.to_vec()
    };
    serde_json::from_slice(&plain).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Counts every answer by route template, method and status.
async fn count(State(st): State<Arc<LapiState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let resp = next.run(req).await;
    st.count_request(&route, &method, resp.status().as_u16());
    resp
}

async fn health() -> Response {
    error::json(StatusCode::OK, r#"{"status":"up"}"#.into())
}

/// The Local API's routes (testable without a socket).
pub fn router(state: Arc<LapiState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route(
            "/v1/decisions",
            get(bouncer::decisions).delete(alerts::delete_many),
        )
        .route("/v1/decisions/stream", get(bouncer::stream))
        .route("/v1/decisions/{id}", delete(alerts::delete_one))
        .route("/v1/watchers", post(machine::register))
        .route("/v1/watchers/login", post(machine::login))
        .route("/v1/watchers/self", delete(machine::delete_self))
        .route("/v1/refresh_token", get(machine::refresh))
        .route("/v1/heartbeat", get(machine::heartbeat))
        .route("/v1/alerts", get(alerts::list).post(alerts::push))
        .route("/v1/alerts/{id}", get(alerts::one))
        .route("/v1/usage-metrics", post(machine::usage_metrics))
        .fallback(|| async { StatusCode::NOT_FOUND.into_response() })
        .method_not_allowed_fallback(|| async { StatusCode::METHOD_NOT_ALLOWED.into_response() })
        .layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// Binds `addr`, syncs the index with the store once, then serves the Local API and keeps the
/// index in sync every `sync_interval` until shutdown. Returns the bound address.
pub async fn serve(
    state: Arc<LapiState>,
    shutdown: Shutdown,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(state.config.listen).await?;
    let local = listener.local_addr()?;
    let s = state.clone();
    let loaded = tokio::task::spawn_blocking(move || s.sync())
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
    tracing::info!(decisions = loaded, "Local API decision index loaded.");
    let app = router(state.clone());
    let stop = shutdown.clone();
    let handle = tokio::spawn(async move {
        let every = state.config.sync_interval;
        let syncer = {
            let state = state.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        _ = stop.wait() => break,
                        _ = tick.tick() => {
                            let s = state.clone();
                            match tokio::task::spawn_blocking(move || s.sync()).await {
                                Ok(Ok(_)) => {}
                                Ok(Err(error)) => tracing::warn!(%error, "Local API sync failed; retrying at the next tick."),
                                Err(error) => tracing::error!(%error, "Local API sync panicked."),
                            }
                        }
                    }
                }
                // Write the last pulls once more before stopping.
                let _ = tokio::task::spawn_blocking(move || state.sync()).await;
            })
        };
        let r = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.wait().await })
        .await;
        if let Err(error) = r {
            tracing::error!(%error, "Local API failed.");
        }
        let _ = syncer.await;
    });
    Ok((local, handle))
}
