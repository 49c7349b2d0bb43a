//! Errors of the core: what Asterisk refused, what the transport lost, and
//! what the caller asked for wrongly.

use crate::Version;
use std::time::Duration;

/// Asterisk answered a request with an error status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Asterisk answered {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Asterisk's `{"message": ...}`, when the body has one.
    pub message: Option<String>,
    /// The whole body as text (lossy for non-UTF-8 bytes).
    pub body: String,
}

/// What an error status means, for the statuses ARI documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400: a parameter is invalid or missing.
    BadRequest,
    /// 401: no or wrong credentials.
    Unauthorized,
    /// 403: the user may not do this.
    Forbidden,
    /// 404: the object or resource does not exist.
    NotFound,
    /// 409: the object is in a state that forbids this (e.g. not in Stasis).
    Conflict,
    /// 412: a precondition failed (e.g. channel not answered).
    PreconditionFailed,
    /// 422: a referenced object (in the body or query) does not exist.
    Unprocessable,
    /// 500: Asterisk failed internally.
    Internal,
    /// 501: not implemented by this Asterisk or channel driver.
    NotImplemented,
    /// 503: Asterisk is not ready (e.g. still starting).
    Unavailable,
    /// Any other status.
    Other,
}

impl ApiError {
    /// Builds the error from a status and body, reading Asterisk's `message`.
    pub fn from_response(status: u16, body: &[u8]) -> ApiError {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| Some(v.get("message")?.as_str()?.to_string()));
        ApiError {
            status,
            message,
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// The status's meaning.
    pub fn kind(&self) -> ApiErrorKind {
        match self.status {
            400 => ApiErrorKind::BadRequest,
            401 => ApiErrorKind::Unauthorized,
            403 => ApiErrorKind::Forbidden,
            404 => ApiErrorKind::NotFound,
            409 => ApiErrorKind::Conflict,
            412 => ApiErrorKind::PreconditionFailed,
            422 => ApiErrorKind::Unprocessable,
            500 => ApiErrorKind::Internal,
            501 => ApiErrorKind::NotImplemented,
            503 => ApiErrorKind::Unavailable,
            _ => ApiErrorKind::Other,
        }
    }
}

/// Why a request produced no typed answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Asterisk answered with an error status.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No answer came within the configured request timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection carrying the request closed before its answer.
    #[error("the connection closed before the answer came")]
    ConnectionLost,
    /// The driver could not send the request or read its answer.
    #[error("transport failed: {0}")]
    Transport(String),
    /// A success answer whose body is not what the operation returns.
    #[error("undecodable answer: {0}")]
    Decode(String),
    /// The server's Asterisk release does not have this operation.
    #[error("{operation} needs Asterisk {since}; the server runs {server}")]
    Unsupported {
        /// `resource.name` of the operation.
        operation: String,
        /// The releases that have it, e.g. `20.17.0, 22.7.0, 23.1.0`.
        since: String,
        /// The server's release.
        server: Version,
    },
    /// The operation cannot be sent this way (e.g. the WebSocket upgrade as a
    /// REST call).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The session was closed.
    #[error("the session is closed")]
    Closed,
}

impl RequestError {
    /// True for errors the caller caused without the server being asked
    /// (unsupported operation, invalid request, closed session).
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            RequestError::Unsupported { .. } | RequestError::Invalid(_) | RequestError::Closed
        )
    }
}

/// A configuration the core cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL does not parse, or is not `http://` or `https://` with a host.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No Stasis application was named.
    #[error("at least one application name is needed")]
    NoApplication,
    /// A numeric setting is out of range.
    #[error("invalid setting {0}")]
    Setting(&'static str),
}
