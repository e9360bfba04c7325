//! # palisade-bounce
//!
//! The remediation end of the pipeline: `palisade bouncer` follows the decisions (the Kafka
//! decision topic, or any CrowdSec-compatible Local API), keeps the active set, and enforces it
//! through backends.
//!
//! ```text
//!  decision topic / Local API ─► source ─► engine (ActiveSet, expiry) ─► backends
//!                                                                        nftables · ipset
//!                                                                        hooks · feeds
//!                                                                        HTTP forward-auth
//! ```
//!
//! * [`config`]: the bouncer's own YAML file, with located errors.
//! * [`set`]: the active set and the batches backends apply.
//! * [`engine`]: source events in, batches out, one thread per backend.
//! * [`backend`]: nftables, ipset, hooks, feeds.
//! * [`http`]: forward-auth (ban 403, throttle 429, captcha 302) and the feed endpoint.
//! * [`lapi`]: the Local API stream source. The Kafka source lives in the binary, the one place
//!   rdkafka is linked, so this crate builds without librdkafka.
//! * [`net`]: addresses, networks, CIDR aggregation.
//!
//! It depends on `palisade-schemas` and `palisade-runtime` only, not on any pipeline stage.

pub mod backend;
pub mod config;
pub mod engine;
mod error;
pub mod http;
pub mod lapi;
pub mod net;
pub mod set;

pub use error::BounceError;

use backend::feed::{Feed, FeedTexts};
use backend::hook::Hook;
use backend::ipset::Ipset;
use backend::nftables::Nftables;
use backend::Backend;
use config::{BackendSpec, BouncerConfig};
use engine::{Engine, Health};
use palisade_runtime::metrics::Registry;

/// An engine and, when `http` is configured, the state of its endpoint, built from a
/// configuration. Nothing runs yet.
pub fn build(
    cfg: &BouncerConfig,
    metrics: Registry,
) -> Result<(Engine, Option<http::HttpState>), BounceError> {
    let health = Health::default();
    let feeds = FeedTexts::default();
    let mut backends: Vec<Box<dyn Backend>> = Vec::new();
    for b in &cfg.backends {
        backends.push(match b {
            BackendSpec::Nftables(s) => Box::new(Nftables::new(s.clone())),
            BackendSpec::Ipset(s) => Box::new(Ipset::new(s.clone())),
            BackendSpec::Hook(s) => Box::new(Hook::new(s.clone())),
            BackendSpec::Feed(s) => Box::new(Feed::new(s.clone(), feeds.clone())),
        });
    }
    let http = match &cfg.http {
        Some(spec) => {
            let lookup = http::SharedLookup::default();
            backends.push(Box::new(http::HttpView(lookup.clone())));
            Some(http::HttpState::new(
                spec.clone(),
                lookup,
                feeds,
                health.clone(),
                cfg.on_source_loss,
                metrics.clone(),
            )?)
        }
        None => None,
    };
    Ok((
        Engine {
            backends,
            health,
            metrics,
            observer: None,
        },
        http,
    ))
}
