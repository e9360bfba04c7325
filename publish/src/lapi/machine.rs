//! The machine (watcher) endpoints: registration, login, token refresh, heartbeat, self
//! deletion, and the usage metrics that bouncers and machines report.

use super::auth::{hash_password, parse_user_agent, verify_password};
use super::error::{json, ApiError};
use super::state::LapiState;
use super::{read_json, ClientIp, Limit};
use axum::body::Body;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use palisade_schemas::time::format_rfc3339_nano;
use serde_json::Value;
use std::sync::Arc;

/// The machine a request authenticated as (`Authorization: Bearer <jwt>` or cookie `jwt`).
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) id: String,
    pub(crate) orig_iat: i64,
}

impl FromRequestParts<Arc<LapiState>> for Machine {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<LapiState>,
    ) -> Result<Self, Self::Rejection> {
        machine_from_headers(st, &parts.headers)
    }
}

/// Checks a machine's token in `headers`.
pub(crate) fn machine_from_headers(
    st: &LapiState,
    headers: &HeaderMap,
) -> Result<Machine, ApiError> {
    {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .map(str::to_string);
        let cookie = || {
            headers
                .get_all("cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .find_map(|c| c.trim().strip_prefix("jwt=").map(str::to_string))
        };
        let token = bearer
            .or_else(cookie)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("auth header is empty"))?;
        let claims = st
            .jwt
            .verify(&token, st.now())
            .map_err(ApiError::unauthorized)?;
        Ok(Machine {
            id: claims.id,
            orig_iat: claims.orig_iat,
        })
    }
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// `POST /v1/watchers`: register a machine (201, or 202 when auto-registered).
pub(crate) async fn register(
    State(st): State<Arc<LapiState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let v: Value = read_json(&headers, body, Limit::Small).await?;
    let mut missing = Vec::new();
    for k in ["machine_id", "password"] {
        if field(&v, k).is_none() {
            missing.push(format!("{k} in body is required"));
        }
    }
    if !v.is_object() || !missing.is_empty() {
        return Err(ApiError::unprocessable(format!(
            "validation failure list:\n{}",
            missing.join("\n")
        )));
    }
    let id = field(&v, "machine_id").unwrap_or_default();
    let password = field(&v, "password").unwrap_or_default();
    let token = field(&v, "registration_token");
    if let Some(t) = token {
        if !(32..=255).contains(&t.len()) {
            return Err(ApiError::unprocessable(format!(
                "validation failure list:\nregistration_token in body should be at least 32 chars long, got {}",
                t.len()
            )));
        }
    }
    let auto = match (token, &st.config.auto_registration_token) {
        (None, _) => false,
        (Some(t), Some(expected)) if t == expected => true,
        (Some(_), _) => {
            return Err(ApiError::unauthorized("invalid registration token"));
        }
    };
    let hash = hash_password(password);
    let added = st
        .store()
        .add_machine(id, &hash, &ip.to_string(), auto, st.now())?;
    if !added {
        return Err(ApiError::forbidden(format!(
            "user '{id}': user already exist"
        )));
    }
    Ok(if auto {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    }
    .into_response())
}

fn token_response(st: &LapiState, id: &str, orig_iat: Option<i64>) -> Response {
    let (token, expire) = st.jwt.issue(id, st.now(), orig_iat);
    json(
        StatusCode::OK,
        serde_json::json!({"code": 200, "expire": format_rfc3339_nano(&expire), "token": token})
            .to_string(),
    )
}

/// `POST /v1/watchers/login`.
pub(crate) async fn login(
    State(st): State<Arc<LapiState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let v: Value = read_json(&headers, body, Limit::Small)
        .await
        .map_err(|_| ApiError::unauthorized("missing : incorrect Username or Password"))?;
    let ua = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some((_, version)) = parse_user_agent(ua) else {
        return Err(ApiError::unauthorized(format!("bad user agent '{ua}'")));
    };
    let (Some(id), Some(password)) = (field(&v, "machine_id"), field(&v, "password")) else {
        return Err(ApiError::unauthorized(
            "missing : incorrect Username or Password",
        ));
    };
    let machine = st.store().machine(id)?;
    let Some(m) = machine.filter(|m| verify_password(password, &m.password)) else {
        return Err(ApiError::unauthorized("incorrect Username or Password"));
    };
    if !m.validated {
        return Err(ApiError::unauthorized(format!(
            "machine {id} not validated"
        )));
    }
    let scenarios: Vec<&str> = v
        .get("scenarios")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    st.store()
        .machine_logged_in(id, &ip.to_string(), &version, &scenarios.join(","))?;
    Ok(token_response(&st, id, None))
}

/// `GET /v1/refresh_token`.
pub(crate) async fn refresh(State(st): State<Arc<LapiState>>, m: Machine) -> Response {
    token_response(&st, &m.id, Some(m.orig_iat))
}

/// `GET /v1/heartbeat`.
pub(crate) async fn heartbeat(_m: Machine) -> StatusCode {
    StatusCode::OK
}

/// `DELETE /v1/watchers/self`.
pub(crate) async fn delete_self(
    State(st): State<Arc<LapiState>>,
    m: Machine,
) -> Result<StatusCode, ApiError> {
    if st.store().delete_machine(&m.id)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "machine {}: object not found",
            m.id
        )))
    }
}

/// `POST /v1/usage-metrics`, from a bouncer (API key) or a machine (token).
pub(crate) async fn usage_metrics(
    State(st): State<Arc<LapiState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let headers = &headers;
    let as_machine = headers.contains_key("authorization")
        || (!headers.contains_key("x-api-key")
            && headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|u| u.starts_with("crowdsec/")));
    if as_machine {
        machine_from_headers(&st, headers)?;
    } else {
        st.bouncer(headers, ip, false)?;
    }
    let v: Value = read_json(headers, body, Limit::Large).await?;
    let list = |k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (items, kind) = if as_machine {
        (list("log_processors"), "machine")
    } else {
        (list("remediation_components"), "bouncer")
    };
    if items.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "expected exactly one {} item, got {}",
            if as_machine {
                "log_processors"
            } else {
                "remediation_components"
            },
            items.len()
        )));
    }
    let item = &items[0];
    let mut problems = Vec::new();
    if field(item, "version").is_none() {
        problems.push("version in body is required".to_string());
    }
    if item
        .get("utc_startup_timestamp")
        .and_then(Value::as_i64)
        .is_none()
    {
        problems.push("utc_startup_timestamp in body is required".to_string());
    }
    if let Some(os) = item.get("os") {
        for k in ["name", "version"] {
            if field(os, k).is_none() {
                problems.push(format!("os.{k} in body is required"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::unprocessable(format!(
            "validation failure list:\n{}",
            problems.join("\n")
        )));
    }
    st.count_usage(kind);
    Ok(StatusCode::CREATED.into_response())
}
