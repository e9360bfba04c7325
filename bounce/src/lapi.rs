//! The Local API source: CrowdSec's stream protocol, as every stream bouncer speaks it (see
//! `shared/spec/crowdsec-lapi.md` §5). The first pull, and the first after an error, asks for
//! `startup=true` (the whole active set, reconciled against what is held); the next ones, every
//! `interval`, for what changed since. Works with Palisade's Local API and with CrowdSec's own.

use crate::engine::SourceEvent;
use crate::BounceError;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::Decision;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::mpsc;

/// Where the Local API is: `http://host:port/prefix/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`.
    pub authority: String,
    /// The path prefix, ending in `/`.
    pub prefix: String,
}

impl Endpoint {
    /// Parses an `http://` URL (the port defaults to 80).
    pub fn parse(url: &str) -> Option<Endpoint> {
        let rest = url.strip_prefix("http://")?;
        let (auth, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if auth.is_empty() {
            return None;
        }
        let authority = if auth
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            auth.to_string()
        } else {
            format!("{auth}:80")
        };
        let mut prefix = path.to_string();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Some(Endpoint { authority, prefix })
    }
}

/// The stream's answer; either list may be `null`.
#[derive(Debug, Deserialize)]
struct Stream {
    new: Option<Vec<Decision>>,
    deleted: Option<Vec<Decision>>,
}

/// One GET; the body of a 200, else an error.
async fn get(
    ep: &Endpoint,
    path_and_query: &str,
    api_key: &str,
    timeout: Duration,
) -> Result<Bytes, BounceError> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(&ep.authority)
            .await
            .map_err(|e| BounceError::Source(format!("connecting to {}: {e}", ep.authority)))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| BounceError::Source(format!("HTTP handshake: {e}")))?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path_and_query)
            .header("host", &ep.authority)
            .header("x-api-key", api_key)
            .header(
                "user-agent",
                concat!("palisade-bouncer/v", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| BounceError::Source(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| BounceError::Source(format!("request: {e}")))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| BounceError::Source(format!("reading the answer: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(BounceError::Source(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body).trim()
            )));
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| BounceError::Source(format!("no answer within {timeout:?}")))?
}

/// Pulls the stream every `interval` until shutdown, sending what it learns to the engine.
pub async fn run(
    url: String,
    api_key: String,
    scopes: Vec<String>,
    interval: Duration,
    timeout: Duration,
    tx: mpsc::Sender<SourceEvent>,
    shutdown: Shutdown,
) {
    let Some(ep) = Endpoint::parse(&url) else {
        let _ = tx
            .send(SourceEvent::Lost(format!("{url:?} is not an http:// URL")))
            .await;
        return;
    };
    let scopes = scopes.join(",");
    let mut startup = true;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        let q = format!(
            "{}v1/decisions/stream?scopes={scopes}{}",
            ep.prefix,
            if startup { "&startup=true" } else { "" }
        );
        let event = match get(&ep, &q, &api_key, timeout).await.and_then(|body| {
            serde_json::from_slice::<Stream>(&body)
                .map_err(|e| BounceError::Source(format!("not a decision stream: {e}")))
        }) {
            Ok(s) => {
                let new = s.new.unwrap_or_default();
                let deleted = s.deleted.unwrap_or_default();
                if startup {
                    startup = false;
                    SourceEvent::Snapshot(new)
                } else if new.is_empty() && deleted.is_empty() {
                    continue;
                } else {
                    SourceEvent::Stream { new, deleted }
                }
            }
            Err(e) => {
                // Ask for the whole set again once it answers: what was missed is reconciled.
                startup = true;
                SourceEvent::Lost(e.to_string())
            }
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let e = Endpoint::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            (e.authority.as_str(), e.prefix.as_str()),
            ("127.0.0.1:8080", "/")
        );
        let e = Endpoint::parse("http://lapi/api").unwrap();
        assert_eq!(
            (e.authority.as_str(), e.prefix.as_str()),
            ("lapi:80", "/api/")
        );
        assert!(Endpoint::parse("https://x/").is_none());
        assert!(Endpoint::parse("http:///").is_none());
    }
}
