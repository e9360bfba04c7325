//! The query parameters of the decision endpoints (CrowdSec's `decisionfilter.go`), parsed once
//! per request into a [`DecisionQuery`] that tests index entries without allocating.
//!
//! Unknown parameters are ignored on the bouncer routes (go-cs-bouncer sends
//! `community_pull=false&additional_pull=false`); `DELETE /v1/decisions` refuses them.

use super::error::ApiError;
use super::index::{Entry, Span};
use palisade_schemas::normalize_scope;

/// What a bouncer asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct DecisionQuery {
    pub(crate) span: Option<Span>,
    pub(crate) contains: bool,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) value: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) origins: Option<Vec<String>>,
    pub(crate) scenario: Option<String>,
    pub(crate) uuid: Option<String>,
    pub(crate) containing: Vec<String>,
    pub(crate) not_containing: Vec<String>,
    pub(crate) simulated: bool,
    pub(crate) limit: Option<usize>,
    pub(crate) offset: usize,
    pub(crate) startup: bool,
    pub(crate) dedup: bool,
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Which routes the parameters are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /v1/decisions`.
    Decisions,
    /// `GET /v1/decisions/stream` (default scopes `ip,range`).
    Stream,
    /// `DELETE /v1/decisions` (unknown keys are errors).
    Delete,
}

impl DecisionQuery {
    /// Parses the query string's pairs.
    pub(crate) fn parse(params: &[(String, String)], route: Route) -> Result<Self, ApiError> {
        let mut q = DecisionQuery {
            contains: true,
            dedup: true,
            ..Default::default()
        };
        let mut addr: Option<&str> = None;
        for (k, v) in params {
            match k.as_str() {
                "ip" | "range" if !v.is_empty() => addr = Some(v),
                "contains" => {
                    q.contains = parse_bool(v).ok_or_else(|| {
                        ApiError::internal(format!(
                        "unable to parse '{v}': strconv.ParseBool: parsing \"{v}\": invalid syntax"
                    ))
                    })?
                }
                "scope" | "scopes" => {
                    q.scopes = Some(list(v).iter().map(|s| normalize_scope(s)).collect())
                }
                "value" => q.value = Some(v.clone()),
                "type" => q.kind = Some(v.clone()),
                "origin" | "origins" => q.origins = Some(list(v)),
                "scenario" if route == Route::Delete => q.scenario = Some(v.clone()),
                "uuid" if route == Route::Delete => q.uuid = Some(v.clone()),
                "scenarios_containing" if route != Route::Delete => {
                    q.containing = list(v).iter().map(|s| s.to_lowercase()).collect()
                }
                "scenarios_not_containing" if route != Route::Delete => {
                    q.not_containing = list(v).iter().map(|s| s.to_lowercase()).collect()
                }
                "simulated" if route != Route::Delete => q.simulated = parse_bool(v) == Some(true),
                "limit" | "offset" if route == Route::Decisions => {
                    let n: usize = v.parse().map_err(|_| {
                        ApiError::internal(format!(
                            "unable to convert '{v}' to int: strconv.Atoi: parsing \"{v}\": invalid syntax"
                        ))
                    })?;
                    if k == "limit" {
                        q.limit = Some(n)
                    } else {
                        q.offset = n
                    }
                }
                "startup" => q.startup = v == "true",
                "dedup" => q.dedup = v != "false",
                _ if route == Route::Delete => {
                    return Err(ApiError::internal(format!(
                        "'{k}' doesn't exist: invalid filter"
                    )))
                }
                _ => {}
            }
        }
        if let Some(a) = addr {
            q.span = Some(Span::parse(a).ok_or_else(|| {
                ApiError::internal(format!(
                    "unable to convert '{a}' to int: invalid address: invalid ip address '{a}'"
                ))
            })?);
        }
        if route == Route::Stream && q.scopes.is_none() {
            q.scopes = Some(vec!["Ip".into(), "Range".into()]);
        }
        Ok(q)
    }

    /// Whether an index entry passes every filter but time.
    pub(crate) fn matches(&self, e: &Entry) -> bool {
        if e.simulated && !self.simulated {
            return false;
        }
        if let Some(s) = &self.scopes {
            if !s.iter().any(|s| **s == *e.scope) {
                return false;
            }
        }
        if self.value.as_deref().is_some_and(|v| v != &*e.value) {
            return false;
        }
        if self.kind.as_deref().is_some_and(|v| v != &*e.kind) {
            return false;
        }
        if self.scenario.as_deref().is_some_and(|v| v != &*e.scenario) {
            return false;
        }
        if self.uuid.is_some() && self.uuid.as_deref() != e.uuid.as_deref() {
            return false;
        }
        if let Some(o) = &self.origins {
            if !o.iter().any(|o| **o == *e.origin) {
                return false;
            }
        }
        if !self.containing.is_empty() || !self.not_containing.is_empty() {
            let sc = e.scenario.to_lowercase();
            if !self.containing.is_empty() && !self.containing.iter().any(|w| sc.contains(w)) {
                return false;
            }
            if self.not_containing.iter().any(|w| sc.contains(w)) {
                return false;
            }
        }
        if let Some(q) = &self.span {
            let Some(es) = &e.span else {
                return false;
            };
            let ok = if self.contains {
                es.holds(q)
            } else {
                q.holds(es)
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_like_crowdsec() {
        let q = DecisionQuery::parse(
            &p(&[
                ("scopes", "ip,RANGE,country,as,username"),
                ("contains", "F"),
                ("community_pull", "false"),
            ]),
            Route::Decisions,
        )
        .unwrap();
        assert_eq!(
            q.scopes.unwrap(),
            vec!["Ip", "Range", "Country", "AS", "username"]
        );
        assert!(!q.contains);
        let s = DecisionQuery::parse(&[], Route::Stream).unwrap();
        assert_eq!(s.scopes.unwrap(), vec!["Ip", "Range"]);
        assert!(!s.startup);
        let s = DecisionQuery::parse(&p(&[("startup", "1")]), Route::Stream).unwrap();
        assert!(!s.startup, "only the literal true counts");
        let e = DecisionQuery::parse(&p(&[("ip", "1.2.3")]), Route::Decisions).unwrap_err();
        assert!(matches!(e, ApiError::Message(s, _) if s.as_u16() == 500));
        let e = DecisionQuery::parse(&p(&[("test", "x")]), Route::Delete).unwrap_err();
        assert_eq!(
            e,
            ApiError::internal("'test' doesn't exist: invalid filter")
        );
        assert!(DecisionQuery::parse(&p(&[("test", "x")]), Route::Decisions).is_ok());
    }
}
