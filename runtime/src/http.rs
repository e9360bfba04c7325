//! The Prometheus endpoint: `GET /metrics` renders the [`Registry`](crate::metrics::Registry),
//! `GET /health` answers `ok`.

use crate::metrics::Registry;
use crate::shutdown::Shutdown;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;

/// The `metrics:` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSpec {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// `host:port` to listen on.
    pub listen_addr: String,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            enabled: true,
            listen_addr: "127.0.0.1:6060".into(),
        }
    }
}

impl MetricsSpec {
    /// The listen address, or why it is not one.
    pub fn addr(&self) -> Result<SocketAddr, String> {
        self.listen_addr
            .parse()
            .map_err(|e| format!("{:?} is not a host:port address: {e}", self.listen_addr))
    }
}

/// The metrics router (testable without a socket).
pub fn metrics_router(registry: Registry) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let r = registry.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        r.render(),
                    )
                }
            }),
        )
        .route("/health", get(|| async { "ok" }))
}

/// Binds `addr` and serves metrics until shutdown. Returns the bound address (port 0 picks one).
pub async fn serve_metrics(
    addr: SocketAddr,
    registry: Registry,
    shutdown: Shutdown,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = metrics_router(registry);
    let handle = tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await;
        if let Err(error) = r {
            tracing::error!(%error, "Metrics endpoint failed.");
        }
    });
    Ok((local, handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricDef;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    static HITS: MetricDef = MetricDef::counter("palisade_test_hits_total", "Hits.");

    #[tokio::test]
    async fn serves_prometheus_text_over_http() {
        let r = Registry::new();
        r.counter(&HITS, &[]).add(7);
        let s = Shutdown::new();
        let (addr, handle) = serve_metrics("127.0.0.1:0".parse().unwrap(), r, s.clone())
            .await
            .unwrap();
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut body = String::new();
        conn.read_to_string(&mut body).await.unwrap();
        assert!(body.starts_with("HTTP/1.1 200"), "{body}");
        assert!(body.contains("palisade_test_hits_total 7"), "{body}");
        s.trigger();
        handle.await.unwrap();
    }
}
