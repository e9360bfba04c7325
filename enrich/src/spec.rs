//! The `enrich:` section of the configuration.
//!
//! ```yaml
//! enrich:
//!   geoip_city: /var/lib/palisade/GeoLite2-City.mmdb
//!   geoip_asn: /var/lib/palisade/GeoLite2-ASN.mmdb
//!   geoip_country: /var/lib/palisade/dbip-country.mmdb
//!   reverse_dns: { enabled: true, ttl: 1h, negative_ttl: 5m, cache_size: 16384 }
//!   year: 2026          # pins the year of year-less timestamps (hubtest --year)
//! ```

use crate::dns::ReverseDnsOptions;
use crate::geoip::GeoIpConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The `enrich:` section; every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichSpec {
    /// GeoLite2-City-layout database for `GeoIpCity`.
    pub geoip_city: Option<PathBuf>,
    /// GeoLite2-ASN-layout database for `GeoIpASN` and `IpToRange`.
    pub geoip_asn: Option<PathBuf>,
    /// GeoLite2-Country-layout database for `GeoIpCountry` (and `GeoIpCity` without a City one).
    pub geoip_country: Option<PathBuf>,
    /// The `reverse_dns` method's settings.
    pub reverse_dns: ReverseDnsSpec,
    /// The year given to year-less timestamps; unset means the current UTC year.
    pub year: Option<i32>,
}

/// `enrich.reverse_dns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReverseDnsSpec {
    /// Off by default: the method is registered but returns nothing.
    pub enabled: bool,
    /// How long a name is cached (Go duration, default `1h`).
    #[serde(with = "go_duration")]
    pub ttl: Duration,
    /// How long "no name" is cached (default `5m`).
    #[serde(with = "go_duration")]
    pub negative_ttl: Duration,
    /// Most addresses cached (default 16384).
    pub cache_size: usize,
}

impl Default for ReverseDnsSpec {
    fn default() -> Self {
        let o = ReverseDnsOptions::default();
        ReverseDnsSpec {
            enabled: false,
            ttl: o.ttl,
            negative_ttl: o.negative_ttl,
            cache_size: o.cache_size,
        }
    }
}

impl ReverseDnsSpec {
    /// The resolver settings.
    pub fn options(&self) -> ReverseDnsOptions {
        ReverseDnsOptions {
            ttl: self.ttl,
            negative_ttl: self.negative_ttl,
            cache_size: self.cache_size,
            ..ReverseDnsOptions::default()
        }
    }
}

impl EnrichSpec {
    /// The GeoIP databases to open.
    pub fn geoip(&self) -> GeoIpConfig {
        GeoIpConfig {
            city: self.geoip_city.clone(),
            asn: self.geoip_asn.clone(),
            country: self.geoip_country.clone(),
        }
    }

    /// Checks the values; returns (field, message) pairs for what is wrong.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errs = Vec::new();
        if let Some(y) = self.year {
            if !(1..=9999).contains(&y) {
                errs.push(("year", format!("must be between 1 and 9999, not {y}")));
            }
        }
        let dns = &self.reverse_dns;
        if dns.cache_size == 0 {
            errs.push(("reverse_dns.cache_size", "must be at least 1".to_string()));
        }
        if dns.ttl.is_zero() {
            errs.push(("reverse_dns.ttl", "must be positive".to_string()));
        }
        if dns.negative_ttl.is_zero() {
            errs.push(("reverse_dns.negative_ttl", "must be positive".to_string()));
        }
        errs
    }
}

/// serde for a [`Duration`] written as a Go duration (`1h`, `90s`, `1m30s`).
mod go_duration {
    use chrono::TimeDelta;
    use palisade_schemas::duration::{format_go_duration, parse_go_duration};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        let d = TimeDelta::from_std(*d).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&format_go_duration(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        let delta = parse_go_duration(&text).map_err(serde::de::Error::custom)?;
        delta.to_std().map_err(|_| {
            serde::de::Error::custom(format!("duration {text:?} must not be negative"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_section_with_defaults() {
        let s: EnrichSpec = serde_json::from_str(
            r#"{"geoip_asn": "/x/asn.mmdb", "reverse_dns": {"enabled": true, "ttl": "30m"}, "year": 2024}"#,
        )
        .unwrap();
        assert_eq!(s.geoip_asn, Some(PathBuf::from("/x/asn.mmdb")));
        assert_eq!(s.geoip_city, None);
        assert!(s.reverse_dns.enabled);
        assert_eq!(s.reverse_dns.ttl, Duration::from_secs(1800));
        assert_eq!(s.reverse_dns.negative_ttl, Duration::from_secs(300));
        assert_eq!(s.reverse_dns.cache_size, 16_384);
        assert_eq!(s.year, Some(2024));
        assert!(s.validate().is_empty());
        assert_eq!(s.geoip().asn, s.geoip_asn);

        let d: EnrichSpec = serde_json::from_str("{}").unwrap();
        assert_eq!(d, EnrichSpec::default());
        assert!(!d.reverse_dns.enabled);
        let back: EnrichSpec = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            serde_json::to_value(&s).unwrap()["reverse_dns"]["ttl"],
            "30m0s"
        );
    }

    #[test]
    fn refuses_unknown_fields_and_bad_values() {
        let err = serde_json::from_str::<EnrichSpec>(r#"{"geoip_cty": "x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `geoip_cty`"), "{err}");
        let err = serde_json::from_str::<EnrichSpec>(r#"{"reverse_dns": {"ttl": "-1m"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must not be negative"), "{err}");
        let s = EnrichSpec {
            year: Some(0),
            reverse_dns: ReverseDnsSpec {
                cache_size: 0,
                ttl: Duration::ZERO,
                ..ReverseDnsSpec::default()
            },
            ..EnrichSpec::default()
        };
        let fields: Vec<_> = s.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["year", "reverse_dns.cache_size", "reverse_dns.ttl"]
        );
    }
}
