//! The HTTP boundary's one error type. Each variant maps to one of the contract's error
//! codes; internal causes are logged once (with the request's span, so with its request
//! id) and never sent to the client.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reel_core::ports::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `001`: the request could not be parsed or failed validation.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `002`.
    #[error("user authentication failed")]
    Unauthorized,
    /// 401 `002` for the right password of an account an operator disabled.
    #[error("this account is disabled")]
    AccountDisabled,
    /// 500 `003`.
    #[error("DB ops failed")]
    Db(#[source] anyhow::Error),
    /// 500 `004`.
    #[error("internal service error")]
    Internal(#[source] anyhow::Error),
    /// 404 `005`; names what was not found.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409 `006`.
    #[error("{0}")]
    Conflict(&'static str),
    /// 403 `007`.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 429 `008`.
    #[error("{0}")]
    TooManyRequests(&'static str),
    /// 413 `009`.
    #[error("{0}")]
    PayloadTooLarge(&'static str),
    /// 415 `010`.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// 405, `001` in the envelope.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 503 `011`: a bounded resource (password hashing) is saturated; the reply says
    /// when to retry (`Retry-After`).
    #[error("the server is busy; retry in a moment")]
    Busy,
    /// 503 `011`: the disk is down to its free-space floor (`REEL_MIN_FREE_DISK_BYTES`);
    /// uploads resume once space is freed (`Retry-After`).
    #[error("the server is short of storage; retry later")]
    StorageLow,
}

/// Seconds a 503 `011` asks the client to wait.
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;
/// Seconds a 503 `011` for a full disk asks the client to wait: freeing space takes an
/// operator or the deletion pipeline, not a moment.
pub const STORAGE_RETRY_AFTER_SECS: u32 = 60;

/// The error envelope every error reply carries.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A human-readable message; never contains internal details.
    pub error: String,
    /// One of `001`–`011`.
    pub error_code: String,
}

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "001"),
            ApiError::Unauthorized | ApiError::AccountDisabled => (StatusCode::UNAUTHORIZED, "002"),
            ApiError::Db(_) => (StatusCode::INTERNAL_SERVER_ERROR, "003"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "004"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "005"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "006"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "007"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "008"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "009"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "010"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "001"),
            ApiError::Busy | ApiError::StorageLow => (StatusCode::SERVICE_UNAVAILABLE, "011"),
        }
    }

    pub fn bad_request(message: impl std::fmt::Display) -> Self {
        ApiError::BadRequest(message.to_string())
    }
}

impl From<reel_core::domain::ParseError> for ApiError {
    fn from(e: reel_core::domain::ParseError) -> Self {
        ApiError::BadRequest(e.0)
    }
}

/// A store's failure, mapped once for every handler: a conflict is 409 `006`, a
/// missing item 404 `005`, a store that cannot serve now 503 `011` (retry), anything
/// else 500 `003`. A handler that knows better (which item, which conflict) matches
/// the [`StoreError`] itself first.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound("item"),
            StoreError::Conflict => ApiError::Conflict("it already exists"),
            StoreError::Unavailable(cause) => {
                tracing::warn!(cause = format!("{cause:#}"), "store unavailable");
                ApiError::Busy
            }
            StoreError::Other(cause) => ApiError::Db(cause),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("request body is too large")
        } else {
            ApiError::bad_request("request body could not be read")
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::bad_request(e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Db(cause) | ApiError::Internal(cause) => {
                tracing::error!(
                    error_code = code,
                    cause = format!("{cause:#}"),
                    "request failed"
                );
            }
            _ => tracing::debug!(error_code = code, message = %self, "request refused"),
        }
        let body = ErrorBody {
            error: self.to_string(),
            error_code: code.to_owned(),
        };
        let mut response = crate::reply::json(status, &body);
        let retry_after = match self {
            ApiError::Busy => Some(BUSY_RETRY_AFTER_SECS),
            ApiError::StorageLow => Some(STORAGE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

/// Fallback for paths no router knows.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

/// Fallback for known paths with an unsupported method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_503_011_with_retry_after() {
        let response = ApiError::Busy.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "1");
        assert_eq!(
            ApiError::Busy.status_and_code(),
            (StatusCode::SERVICE_UNAVAILABLE, "011")
        );
    }

    #[test]
    fn each_store_error_has_its_own_code() {
        let code = |e: StoreError| ApiError::from(e).status_and_code();
        assert_eq!(code(StoreError::NotFound), (StatusCode::NOT_FOUND, "005"));
        assert_eq!(code(StoreError::Conflict), (StatusCode::CONFLICT, "006"));
        let unavailable = StoreError::Unavailable(anyhow::anyhow!("throttled"));
        assert_eq!(code(unavailable), (StatusCode::SERVICE_UNAVAILABLE, "011"));
        let other = StoreError::Other(anyhow::anyhow!("corrupt item"));
        assert_eq!(code(other), (StatusCode::INTERNAL_SERVER_ERROR, "003"));
    }
}
