//! Webhook notifications: an HTTP request (POST unless configured) whose body is the rendered
//! template, with the configured headers, like CrowdSec's http plugin.
//!
//! The client is hyper's HTTP/1.1 connection over a plain TCP stream, one connection per
//! request (`http://` URLs only: put a local TLS proxy in front of an `https://` endpoint).
//! hyper is already in the build for the metrics endpoint, so this adds no dependency. No
//! `Content-Type` is sent unless a header sets it, as CrowdSec does. A status outside 2xx is a
//! failure (retried), where CrowdSec's plugin only logs it.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, HOST, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use tokio::net::TcpStream;

/// A checked webhook target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    url: String,
    host: String,
    port: u16,
    authority: String,
    path: String,
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Webhook {
    /// Checks the URL (`http://host[:port]/path?query`), the method and the headers.
    pub fn new(
        url: &str,
        method: Option<&str>,
        headers: &BTreeMap<String, String>,
    ) -> Result<Webhook, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("invalid url {url:?}: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                "{url:?}: https is not supported; use http:// (a local TLS proxy can forward it)"
            ))
            }
            _ => return Err(format!("invalid url {url:?}: it must start with http://")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("invalid url {url:?}: no host"))?;
        let method = match method.map(str::trim).filter(|m| !m.is_empty()) {
            None => Method::POST,
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("invalid method {m:?}"))?,
        };
        let headers = headers
            .iter()
            .map(|(k, v)| {
                let name = HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| format!("invalid header name {k:?}"))?;
                let value = HeaderValue::from_str(v)
                    .map_err(|_| format!("invalid value for header {k}"))?;
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Webhook {
            url: url.to_string(),
            host: authority.host().trim_matches(['[', ']']).to_string(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
            method,
            headers,
        })
    }

    /// The URL, for logs.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `body`; any status outside 2xx is an error. The caller bounds the time.
    pub async fn send(&self, body: String) -> Result<(), String> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.authority))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {}: {e}", self.authority))?;
        let conn = tokio::spawn(async move {
            // The connection ends when the request is done and `sender` is dropped.
            let _ = conn.await;
        });
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header(HOST, self.authority.as_str())
            .header(USER_AGENT, concat!("palisade/", env!("CARGO_PKG_VERSION")));
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("building the request: {e}"))?;
        let result = sender.send_request(req).await;
        drop(sender);
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                conn.abort();
                return Err(format!("{} {}: {e}", self.method, self.url));
            }
        };
        let status = response.status();
        drop(response);
        conn.abort();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{} {} answered {status}", self.method, self.url))
        }
    }
}
