//! The Local API's error responses, shaped as CrowdSec's: `{"message": "..."}` almost
//! everywhere, `{"code": 401, "message": "..."}` from the machine authentication, and an empty
//! body for unknown routes (404) and wrong methods (405).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// `Content-Type` of every JSON answer (gin's `c.JSON`).
pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// `{"message": ...}` with this status.
    Message(StatusCode, String),
    /// `{"code": N, "message": ...}` (gin-jwt).
    Coded(StatusCode, String),
}

impl ApiError {
    pub(crate) fn bad_request(m: impl Into<String>) -> Self {
        ApiError::Message(StatusCode::BAD_REQUEST, m.into())
    }
    pub(crate) fn forbidden(m: impl Into<String>) -> Self {
        ApiError::Message(StatusCode::FORBIDDEN, m.into())
    }
    pub(crate) fn not_found(m: impl Into<String>) -> Self {
        ApiError::Message(StatusCode::NOT_FOUND, m.into())
    }
    pub(crate) fn internal(m: impl Into<String>) -> Self {
        ApiError::Message(StatusCode::INTERNAL_SERVER_ERROR, m.into())
    }
    pub(crate) fn unprocessable(m: impl Into<String>) -> Self {
        ApiError::Message(StatusCode::UNPROCESSABLE_ENTITY, m.into())
    }
    pub(crate) fn unauthorized(m: impl Into<String>) -> Self {
        ApiError::Coded(StatusCode::UNAUTHORIZED, m.into())
    }
    /// The bouncer answer to a missing or wrong API key.
    pub(crate) fn access_forbidden() -> Self {
        Self::forbidden("access forbidden")
    }
}

impl From<crate::PublishError> for ApiError {
    fn from(e: crate::PublishError) -> Self {
        ApiError::internal(e.to_string())
    }
}

/// A JSON answer with gin's content type.
pub(crate) fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Message(s, m) => json(s, serde_json::json!({ "message": m }).to_string()),
            ApiError::Coded(s, m) => json(
                s,
                serde_json::json!({ "code": s.as_u16(), "message": m }).to_string(),
            ),
        }
    }
}
