//! The crate's one error type: what can go wrong while building the enrichers (resolving a
//! method name, opening a GeoIP database, an invalid `enrich:` section). Enrichment itself never
//! fails: a method that cannot enrich returns an empty [`Enrichment`](crate::Enrichment).

use std::path::PathBuf;
use thiserror::Error;

/// Errors of the enrichers.
#[derive(Debug, Error)]
pub enum EnrichError {
    /// A parser names a method nobody registered.
    #[error("unknown enrichment method {name:?} (known: {known})")]
    UnknownMethod {
        /// The requested name.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// A configured GeoIP database cannot be opened (missing file, not a MaxMind DB, ...).
    #[error("cannot open the GeoIP {kind} database {}: {source}", path.display())]
    OpenDatabase {
        /// Which database: `city`, `asn` or `country`.
        kind: &'static str,
        /// The configured path.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    /// A field of the `enrich:` section is invalid.
    #[error("enrich.{field}: {message}")]
    InvalidSpec {
        /// The field, e.g. `reverse_dns.cache_size`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
