//! GeoIP enrichers over MaxMind DB files (`.mmdb`): `GeoIpCity`, `GeoIpASN`, `IpToRange`
//! (CrowdSec's `pkg/parser/enrich_geoip.go`) and Palisade's `GeoIpCountry`.
//!
//! Each database is read into memory once and shared through an [`Arc`] by every method
//! that uses it (`GeoIpASN` and `IpToRange` share the ASN database).
//!
//! Outputs, exactly CrowdSec's keys:
//!
//! | method | keys |
//! |---|---|
//! | `GeoIpCity` | `IsoCode` (country, else registered, else represented country), `IsInEU` (`true`/`false`), `Latitude`, `Longitude` (Go `%f`: 6 decimals) |
//! | `GeoIpASN` | `ASNNumber`, `ASNumber` (same value), `ASNOrg` |
//! | `IpToRange` | `SourceRange`: the CIDR of the ASN database's network containing the IP |
//! | `GeoIpCountry` | `IsoCode`, `IsInEU` (Palisade's; from a Country database, else the City one) |
//!
//! As in CrowdSec (geoip2-golang v1), an address that parses but is not in the database still
//! gives the zero record: `IsoCode` "", `IsInEU` "false", coordinates `0.000000`, ASN `0` and
//! `ASNOrg` "". An input that is not an IP, or a lookup error (an IPv6 address in an IPv4-only
//! database), gives an empty result, and so does `IpToRange` for an address outside every
//! network. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are looked up as IPv4, as Go does.
//!
//! With a Country database and no City database, `GeoIpCity` answers from the Country one
//! (`IsoCode`, `IsInEU`; no coordinates), so hub parsers calling `GeoIpCity` still get a
//! country. A Country database that does not carry `is_in_european_union` (DB-IP's) gets
//! `IsInEU` from the ISO code and the list of EU member states.

use crate::cache::ResultCache;
use crate::{EnrichError, Enricher, Enrichment, Registry};
use maxminddb::Reader;
use palisade_schemas::FieldName;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The 27 member states of the European Union (ISO 3166-1 alpha-2).
const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// An opened MaxMind database, held in memory.
pub struct GeoIpDb {
    path: PathBuf,
    reader: Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIpDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIpDb")
            .field("path", &self.path)
            .field("database_type", &self.database_type())
            .finish()
    }
}

impl GeoIpDb {
    /// Reads the database at `path`; `kind` (`city`, `asn`, `country`) names it in errors.
    pub fn open(kind: &'static str, path: &Path) -> Result<Arc<Self>, EnrichError> {
        let reader = Reader::open_readfile(path).map_err(|source| EnrichError::OpenDatabase {
            kind,
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Arc::new(GeoIpDb {
            path: path.to_path_buf(),
            reader,
        }))
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database's `database_type` metadata (`GeoLite2-ASN`, ...).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Decodes the record of `ip`: `Ok(None)` when the address is in no network.
    fn decode<'a, T: Deserialize<'a>>(&'a self, ip: IpAddr) -> Result<Option<T>, String> {
        let found = self.reader.lookup(ip).map_err(|e| e.to_string())?;
        found.decode::<T>().map_err(|e| e.to_string())
    }
}

/// Parses an enricher input as an IP address, IPv4-mapped IPv6 addresses made IPv4.
pub fn parse_ip(input: &str) -> Option<IpAddr> {
    input.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[derive(Deserialize, Default)]
struct CountryFields<'a> {
    #[serde(default)]
    iso_code: Option<&'a str>,
    #[serde(default)]
    is_in_european_union: Option<bool>,
}

#[derive(Deserialize, Default)]
struct Location {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

/// The fields of a City or Country record that the enrichers read.
#[derive(Deserialize, Default)]
struct GeoRecord<'a> {
    #[serde(borrow, default)]
    country: CountryFields<'a>,
    #[serde(borrow, default)]
    registered_country: CountryFields<'a>,
    #[serde(borrow, default)]
    represented_country: CountryFields<'a>,
    #[serde(default)]
    location: Location,
}

impl<'a> GeoRecord<'a> {
    /// The first non-empty of country, registered country, represented country.
    fn pick_country(&self) -> Option<&CountryFields<'a>> {
        [
            &self.country,
            &self.registered_country,
            &self.represented_country,
        ]
        .into_iter()
        .find(|c| c.iso_code.is_some_and(|s| !s.is_empty()))
    }
}

#[derive(Deserialize, Default)]
struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(default)]
    autonomous_system_organization: Option<&'a str>,
}

/// Looks up `input` in `db`: `None` for a bad IP or a lookup error (logged), else the record
/// (the zero record when not found).
fn lookup_record<'a, T: Deserialize<'a> + Default>(
    db: &'a GeoIpDb,
    method: &str,
    input: &str,
) -> Option<T> {
    let ip = parse_ip(input)?;
    match db.decode::<T>(ip) {
        Ok(rec) => Some(rec.unwrap_or_default()),
        Err(e) => {
            tracing::debug!(method, input, error = %e, "unable to enrich ip");
            None
        }
    }
}

fn fields<const N: usize>(pairs: [(&'static str, String); N]) -> Enrichment {
    Enrichment {
        fields: pairs
            .into_iter()
            .map(|(k, v)| (FieldName::from_static(k), v))
            .collect(),
        ..Enrichment::default()
    }
}

/// `IsoCode` and `IsInEU` from a Country-database record.
fn country_fields(rec: &GeoRecord<'_>) -> Enrichment {
    let (iso, eu) = match rec.pick_country() {
        Some(c) => {
            let iso = c.iso_code.unwrap_or_default();
            (
                iso,
                c.is_in_european_union
                    .unwrap_or_else(|| EU_MEMBERS.contains(&iso)),
            )
        }
        None => ("", false),
    };
    fields([("IsoCode", iso.to_string()), ("IsInEU", eu.to_string())])
}

/// Where `GeoIpCity` reads from.
#[derive(Debug, Clone)]
enum CitySource {
    City(Arc<GeoIpDb>),
    Country(Arc<GeoIpDb>),
    Absent,
}

/// The `GeoIpCity` method.
#[derive(Debug, Clone)]
pub struct GeoIpCity {
    source: CitySource,
    cache: ResultCache,
}

impl GeoIpCity {
    /// Over a City database.
    pub fn new(db: Arc<GeoIpDb>) -> Self {
        GeoIpCity {
            source: CitySource::City(db),
            cache: ResultCache::new(),
        }
    }

    /// Over a Country database: `IsoCode` and `IsInEU` only.
    pub fn from_country_db(db: Arc<GeoIpDb>) -> Self {
        GeoIpCity {
            source: CitySource::Country(db),
            cache: ResultCache::new(),
        }
    }

    /// Without a database: always empty, as CrowdSec when the file is absent.
    pub fn absent() -> Self {
        GeoIpCity {
            source: CitySource::Absent,
            cache: ResultCache::new(),
        }
    }
}

impl GeoIpCity {
    /// The result for `input`, looked up (the cache aside).
    fn lookup(&self, input: &str) -> Enrichment {
        match &self.source {
            CitySource::City(db) => {
                let Some(rec) = lookup_record::<GeoRecord>(db, self.name(), input) else {
                    return Enrichment::default();
                };
                let (iso, eu) = rec
                    .pick_country()
                    .map(|c| {
                        (
                            c.iso_code.unwrap_or_default(),
                            c.is_in_european_union == Some(true),
                        )
                    })
                    .unwrap_or(("", false));
                fields([
                    ("IsoCode", iso.to_string()),
                    ("IsInEU", eu.to_string()),
                    (
                        "Latitude",
                        format!("{:.6}", rec.location.latitude.unwrap_or(0.0)),
                    ),
                    (
                        "Longitude",
                        format!("{:.6}", rec.location.longitude.unwrap_or(0.0)),
                    ),
                ])
            }
            CitySource::Country(db) => lookup_record::<GeoRecord>(db, self.name(), input)
                .map(|rec| country_fields(&rec))
                .unwrap_or_default(),
            CitySource::Absent => Enrichment::default(),
        }
    }
}

impl Enricher for GeoIpCity {
    fn name(&self) -> &'static str {
        "GeoIpCity"
    }

    fn enrich(&self, input: &str, _: &palisade_schemas::Event) -> Enrichment {
        self.cache.get_or(input, || self.lookup(input))
    }
}

/// The `GeoIpCountry` method (Palisade's): `IsoCode` and `IsInEU`.
#[derive(Debug, Clone)]
pub struct GeoIpCountry {
    db: Option<Arc<GeoIpDb>>,
    cache: ResultCache,
}

impl GeoIpCountry {
    /// Over a Country (or City) database; `None` is always empty.
    pub fn new(db: Option<Arc<GeoIpDb>>) -> Self {
        GeoIpCountry {
            db,
            cache: ResultCache::new(),
        }
    }
}

impl GeoIpCountry {
    /// The result for `input`, looked up (the cache aside).
    fn lookup(&self, input: &str) -> Enrichment {
        self.db
            .as_ref()
            .and_then(|db| lookup_record::<GeoRecord>(db, self.name(), input))
            .map(|rec| country_fields(&rec))
            .unwrap_or_default()
    }
}

impl Enricher for GeoIpCountry {
    fn name(&self) -> &'static str {
        "GeoIpCountry"
    }

    fn enrich(&self, input: &str, _: &palisade_schemas::Event) -> Enrichment {
        self.cache.get_or(input, || self.lookup(input))
    }
}

/// The `GeoIpASN` method.
#[derive(Debug, Clone)]
pub struct GeoIpAsn {
    db: Option<Arc<GeoIpDb>>,
    cache: ResultCache,
}

impl GeoIpAsn {
    /// Over an ASN database; `None` is always empty.
    pub fn new(db: Option<Arc<GeoIpDb>>) -> Self {
        GeoIpAsn {
            db,
            cache: ResultCache::new(),
        }
    }
}

impl GeoIpAsn {
    /// The result for `input`, looked up (the cache aside).
    fn lookup(&self, input: &str) -> Enrichment {
        let Some(rec) = self
            .db
            .as_ref()
            .and_then(|db| lookup_record::<AsnRecord>(db, self.name(), input))
        else {
            return Enrichment::default();
        };
        let number = rec.autonomous_system_number.unwrap_or(0).to_string();
        fields([
            ("ASNNumber", number.clone()),
            ("ASNumber", number),
            (
                "ASNOrg",
                rec.autonomous_system_organization
                    .unwrap_or_default()
                    .to_string(),
            ),
        ])
    }
}

impl Enricher for GeoIpAsn {
    fn name(&self) -> &'static str {
        "GeoIpASN"
    }

    fn enrich(&self, input: &str, _: &palisade_schemas::Event) -> Enrichment {
        self.cache.get_or(input, || self.lookup(input))
    }
}

/// The `IpToRange` method.
#[derive(Debug, Clone)]
pub struct IpToRange {
    db: Option<Arc<GeoIpDb>>,
    cache: ResultCache,
}

impl IpToRange {
    /// Over an ASN database; `None` is always empty.
    pub fn new(db: Option<Arc<GeoIpDb>>) -> Self {
        IpToRange {
            db,
            cache: ResultCache::new(),
        }
    }

    /// The CIDR of the network containing `input`, if the database has one.
    pub fn range(&self, input: &str) -> Option<String> {
        let db = self.db.as_ref()?;
        let ip = parse_ip(input)?;
        let found = db.reader.lookup(ip).ok().filter(|r| r.has_data())?;
        found.network().ok().map(|n| n.to_string())
    }
}

impl IpToRange {
    /// The result for `input`, looked up (the cache aside).
    fn lookup(&self, input: &str) -> Enrichment {
        match self.range(input) {
            Some(r) => fields([("SourceRange", r)]),
            None => Enrichment::default(),
        }
    }
}

impl Enricher for IpToRange {
    fn name(&self) -> &'static str {
        "IpToRange"
    }

    fn enrich(&self, input: &str, _: &palisade_schemas::Event) -> Enrichment {
        self.cache.get_or(input, || self.lookup(input))
    }
}

/// Which GeoIP databases to load. Every GeoIP method is registered whatever is configured,
/// as CrowdSec does: a method whose database is not configured returns empty results, so hub
/// parsers that call it still load. A configured path that cannot be opened is an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoIpConfig {
    /// City database (GeoLite2-City layout).
    pub city: Option<PathBuf>,
    /// ASN database (GeoLite2-ASN layout), for `GeoIpASN` and `IpToRange`.
    pub asn: Option<PathBuf>,
    /// Country database (GeoLite2-Country layout).
    pub country: Option<PathBuf>,
}

impl GeoIpConfig {
    /// Opens the configured databases, then registers `GeoIpCity`, `GeoIpASN`, `IpToRange` and
    /// `GeoIpCountry`. Nothing is registered if a database fails to open.
    pub fn register_into(&self, registry: &mut Registry) -> Result<(), EnrichError> {
        let open =
            |kind, p: &Option<PathBuf>| p.as_deref().map(|p| GeoIpDb::open(kind, p)).transpose();
        let city = open("city", &self.city)?;
        let asn = open("asn", &self.asn)?;
        let country = open("country", &self.country)?;
        let city_method = match (&city, &country) {
            (Some(c), _) => GeoIpCity::new(c.clone()),
            (None, Some(c)) => GeoIpCity::from_country_db(c.clone()),
            (None, None) => GeoIpCity::absent(),
        };
        registry.register(Arc::new(city_method));
        registry.register(Arc::new(GeoIpCountry::new(country.or(city))));
        registry.register(Arc::new(GeoIpAsn::new(asn.clone())));
        registry.register(Arc::new(IpToRange::new(asn)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_schemas::Event;
    use std::collections::HashMap;

    const TEST_DIR: &str = "/work/shared/geoip/test";
    const REAL_DIR: &str = "/work/shared/geoip/real";

    fn path(dir: &str, file: &str) -> Option<PathBuf> {
        let p = Path::new(dir).join(file);
        if p.exists() {
            Some(p)
        } else {
            eprintln!("skipping: {} is absent", p.display());
            None
        }
    }

    fn db(dir: &str, kind: &'static str, file: &str) -> Option<Arc<GeoIpDb>> {
        path(dir, file).map(|p| GeoIpDb::open(kind, &p).unwrap())
    }

    /// Runs `e` over a table of (input, expected fields), twice: the second answers come from
    /// the per-thread cache.
    fn check(e: &dyn Enricher, cases: &[(&str, &[(&str, &str)])]) {
        for round in ["looked up", "cached"] {
            for (input, want) in cases {
                let got = e.enrich(input, &Event::default());
                let want: HashMap<String, String> = want
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                assert_eq!(got.fields, want, "{} on {input:?}, {round}", e.name());
                assert!(got.time.is_none() && got.unmarshaled.is_none());
            }
        }
    }

    /// Two instances of a method over different databases, on the same input in one thread:
    /// each keeps its own answers.
    #[test]
    fn cached_answers_do_not_mix_between_databases() {
        let (Some(city), Some(country)) = (
            db(TEST_DIR, "city", "GeoIP2-City-Test.mmdb"),
            db(TEST_DIR, "country", "GeoIP2-Country-Test.mmdb"),
        ) else {
            return;
        };
        let (a, b) = (GeoIpCity::new(city), GeoIpCity::from_country_db(country));
        for _ in 0..3 {
            let from_city = a.enrich("81.2.69.142", &Event::default());
            let from_country = b.enrich("81.2.69.142", &Event::default());
            assert_eq!(from_city.fields.len(), 4);
            assert_eq!(from_country.fields.len(), 2);
            assert_eq!(from_city.fields["IsoCode"], from_country.fields["IsoCode"]);
        }
    }

    #[test]
    fn city_from_the_maxmind_test_database() {
        let Some(db) = db(TEST_DIR, "city", "GeoIP2-City-Test.mmdb") else {
            return;
        };
        let zero: &[(&str, &str)] = &[
            ("IsoCode", ""),
            ("IsInEU", "false"),
            ("Latitude", "0.000000"),
            ("Longitude", "0.000000"),
        ];
        check(
            &GeoIpCity::new(db),
            &[
                (
                    "81.2.69.142",
                    &[
                        ("IsoCode", "GB"),
                        ("IsInEU", "false"),
                        ("Latitude", "51.514200"),
                        ("Longitude", "-0.093100"),
                    ],
                ),
                (
                    "::ffff:81.2.69.142",
                    &[
                        ("IsoCode", "GB"),
                        ("IsInEU", "false"),
                        ("Latitude", "51.514200"),
                        ("Longitude", "-0.093100"),
                    ],
                ),
                (
                    "2.125.160.216",
                    &[
                        ("IsoCode", "GB"),
                        ("IsInEU", "false"),
                        ("Latitude", "51.750000"),
                        ("Longitude", "-1.250000"),
                    ],
                ),
                (
                    "89.160.20.112",
                    &[
                        ("IsoCode", "SE"),
                        ("IsInEU", "true"),
                        ("Latitude", "58.416700"),
                        ("Longitude", "15.616700"),
                    ],
                ),
                (
                    "216.160.83.56",
                    &[
                        ("IsoCode", "US"),
                        ("IsInEU", "false"),
                        ("Latitude", "47.251300"),
                        ("Longitude", "-122.314900"),
                    ],
                ),
                (
                    "2001:218::1",
                    &[
                        ("IsoCode", "JP"),
                        ("IsInEU", "false"),
                        ("Latitude", "35.685360"),
                        ("Longitude", "139.753090"),
                    ],
                ),
                // No country at all, coordinates only.
                (
                    "2a02:d500::1",
                    &[
                        ("IsoCode", ""),
                        ("IsInEU", "false"),
                        ("Latitude", "48.690960"),
                        ("Longitude", "9.140620"),
                    ],
                ),
                // Not in the database: CrowdSec's zero record.
                ("192.168.0.1", zero),
                ("", &[]),
                ("not an ip", &[]),
                ("1.2.3.4.5", &[]),
            ],
        );
    }

    #[test]
    fn iso_code_falls_back_to_registered_then_represented_country() {
        let rec = GeoRecord {
            registered_country: CountryFields {
                iso_code: Some("FR"),
                is_in_european_union: Some(true),
            },
            represented_country: CountryFields {
                iso_code: Some("US"),
                is_in_european_union: None,
            },
            ..GeoRecord::default()
        };
        let c = rec.pick_country().unwrap();
        assert_eq!(
            (c.iso_code, c.is_in_european_union),
            (Some("FR"), Some(true))
        );
        let rec = GeoRecord {
            country: CountryFields {
                iso_code: Some(""),
                is_in_european_union: None,
            },
            represented_country: CountryFields {
                iso_code: Some("US"),
                is_in_european_union: None,
            },
            ..GeoRecord::default()
        };
        assert_eq!(rec.pick_country().unwrap().iso_code, Some("US"));
        assert!(GeoRecord::default().pick_country().is_none());
        // A country record without the EU flag derives it from the ISO code.
        let rec = GeoRecord {
            country: CountryFields {
                iso_code: Some("FR"),
                is_in_european_union: None,
            },
            ..GeoRecord::default()
        };
        assert_eq!(country_fields(&rec).fields["IsInEU"], "true");
    }

    #[test]
    fn asn_and_range_from_the_maxmind_test_database() {
        let Some(db) = db(TEST_DIR, "asn", "GeoLite2-ASN-Test.mmdb") else {
            return;
        };
        check(
            &GeoIpAsn::new(Some(db.clone())),
            &[
                (
                    "1.0.0.1",
                    &[
                        ("ASNNumber", "15169"),
                        ("ASNumber", "15169"),
                        ("ASNOrg", "Google Inc."),
                    ],
                ),
                (
                    "::ffff:1.0.0.1",
                    &[
                        ("ASNNumber", "15169"),
                        ("ASNumber", "15169"),
                        ("ASNOrg", "Google Inc."),
                    ],
                ),
                (
                    "1.128.0.1",
                    &[
                        ("ASNNumber", "1221"),
                        ("ASNumber", "1221"),
                        ("ASNOrg", "Telstra Pty Ltd"),
                    ],
                ),
                // A record without an organisation.
                (
                    "12.81.96.5",
                    &[("ASNNumber", "7018"), ("ASNumber", "7018"), ("ASNOrg", "")],
                ),
                // Not in the database: CrowdSec's zero record.
                (
                    "192.168.0.1",
                    &[("ASNNumber", "0"), ("ASNumber", "0"), ("ASNOrg", "")],
                ),
                ("bogus", &[]),
            ],
        );
        check(
            &IpToRange::new(Some(db)),
            &[
                ("1.0.0.1", &[("SourceRange", "1.0.0.0/24")]),
                ("::ffff:1.0.0.1", &[("SourceRange", "1.0.0.0/24")]),
                ("12.81.96.5", &[("SourceRange", "12.81.96.0/19")]),
                ("192.168.0.1", &[]),
                ("bogus", &[]),
            ],
        );
    }

    #[test]
    fn country_from_the_maxmind_test_database() {
        let Some(db) = db(TEST_DIR, "country", "GeoIP2-Country-Test.mmdb") else {
            return;
        };
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("81.2.69.142", &[("IsoCode", "GB"), ("IsInEU", "false")]),
            ("89.160.20.112", &[("IsoCode", "SE"), ("IsInEU", "true")]),
            ("192.168.0.1", &[("IsoCode", ""), ("IsInEU", "false")]),
            ("x", &[]),
        ];
        check(&GeoIpCountry::new(Some(db.clone())), cases);
        check(&GeoIpCity::from_country_db(db), cases);
    }

    #[test]
    fn real_dbip_databases() {
        let (Some(country), Some(asn)) = (
            db(
                REAL_DIR,
                "country",
                "dbip-country-lite-geolite2-layout.mmdb",
            ),
            db(REAL_DIR, "asn", "asn-routeviews-dbip-geolite2-layout.mmdb"),
        ) else {
            return;
        };
        check(
            &GeoIpCountry::new(Some(country.clone())),
            &[
                ("8.8.8.8", &[("IsoCode", "US"), ("IsInEU", "false")]),
                ("::ffff:8.8.8.8", &[("IsoCode", "US"), ("IsInEU", "false")]),
            ],
        );
        // DB-IP records carry no EU flag: it is derived from the member list.
        check(
            &GeoIpCountry::new(Some(country)),
            &[("90.1.1.1", &[("IsoCode", "FR"), ("IsInEU", "true")])],
        );
        let got = GeoIpAsn::new(Some(asn.clone())).enrich("8.8.8.8", &Event::default());
        assert_eq!(got.fields["ASNNumber"], "15169");
        assert_eq!(got.fields["ASNumber"], "15169");
        assert!(got.fields["ASNOrg"].contains("Google"), "{:?}", got.fields);
        let range = IpToRange::new(Some(asn)).range("8.8.8.8").unwrap();
        assert!(range.starts_with("8.8.") && range.contains('/'), "{range}");
    }

    #[test]
    fn config_registers_every_method_and_names_a_missing_file() {
        let mut r = Registry::new();
        GeoIpConfig::default().register_into(&mut r).unwrap();
        for m in ["GeoIpCity", "GeoIpASN", "IpToRange", "GeoIpCountry"] {
            let e = r.resolve(m).unwrap();
            assert!(
                e.enrich("1.0.0.1", &Event::default()).fields.is_empty(),
                "{m}"
            );
        }

        let mut r = Registry::new();
        let err = GeoIpConfig {
            asn: Some(PathBuf::from("/nonexistent/GeoLite2-ASN.mmdb")),
            ..GeoIpConfig::default()
        }
        .register_into(&mut r)
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("cannot open the GeoIP asn database /nonexistent/GeoLite2-ASN.mmdb:"),
            "{err}"
        );
        assert!(
            r.resolve("GeoIpASN").is_err(),
            "nothing registered on error"
        );

        let (Some(city), Some(asn)) = (
            path(TEST_DIR, "GeoIP2-City-Test.mmdb"),
            path(TEST_DIR, "GeoLite2-ASN-Test.mmdb"),
        ) else {
            return;
        };
        let mut r = Registry::new();
        GeoIpConfig {
            city: Some(city),
            asn: Some(asn),
            country: None,
        }
        .register_into(&mut r)
        .unwrap();
        let ev = Event::default();
        assert_eq!(
            r.resolve("GeoIpCity")
                .unwrap()
                .enrich("81.2.69.142", &ev)
                .fields["IsoCode"],
            "GB"
        );
        assert_eq!(
            r.resolve("GeoIpCountry")
                .unwrap()
                .enrich("81.2.69.142", &ev)
                .fields["IsoCode"],
            "GB",
            "GeoIpCountry reads the City database when there is no Country one"
        );
        assert_eq!(
            r.resolve("IpToRange")
                .unwrap()
                .enrich("1.0.0.1", &ev)
                .fields["SourceRange"],
            "1.0.0.0/24"
        );
    }
}
