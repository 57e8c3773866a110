//! The error envelope. Every endpoint answers a failed request with the micro
//! headers `Nats-Service-Error: <message>` and `Nats-Service-Error-Code: <code>`
//! AND a JSON body:
//!
//! ```json
//! {"code":400,"kind":"bad_request","message":"invalid request: missing field `symbol`","details":null}
//! ```
//!
//! async-nats' own error path sends an empty body, so we publish the envelope
//! ourselves and count errors in the service's stats handler (`data.errors`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Malformed or invalid request: fix the request.
    BadRequest,
    /// No or bad credentials (the gateway).
    Unauthorized,
    /// Credentials fine, but not allowed: the role or the account (the gateway).
    Forbidden,
    /// The thing asked about does not exist (unknown symbol, order, …).
    NotFound,
    /// Conflicts with current state (already exists, wrong state).
    Conflict,
    /// Well-formed but rejected by validation (e.g. a CSV with bad rows in strict mode).
    Unprocessable,
    /// The request body is beyond the size limit (the gateway).
    PayloadTooLarge,
    /// Rate limited.
    TooManyRequests,
    /// Bug or unexpected failure inside the service.
    Internal,
    /// A dependency (JetStream, another service) is unavailable: retry later.
    Unavailable,
    /// A dependency did not answer in time.
    Timeout,
}

impl ErrorKind {
    /// The numeric code of `Nats-Service-Error-Code` (HTTP-like).
    pub fn code(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Unprocessable => 422,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
            ErrorKind::Timeout => 504,
        }
    }

    pub fn from_code(code: u16) -> ErrorKind {
        match code {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            413 => ErrorKind::PayloadTooLarge,
            409 => ErrorKind::Conflict,
            422 => ErrorKind::Unprocessable,
            429 => ErrorKind::TooManyRequests,
            503 => ErrorKind::Unavailable,
            504 => ErrorKind::Timeout,
            400..=499 => ErrorKind::BadRequest,
            _ => ErrorKind::Internal,
        }
    }
}

/// An error reply. `details` carries machine-readable context (e.g. the rejected
/// rows of an import).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, thiserror::Error,
)]
#[error("{kind:?} ({code}): {message}")]
pub struct ServiceError {
    pub code: u16,
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default)]
    pub details: serde_json::Value,
}

impl ServiceError {
    /// The error reply every endpoint sends (micro error headers, JSON
    /// content type) added to `headers`; the body is [`ServiceError::body`].
    pub fn add_reply_headers(&self, headers: &mut async_nats::HeaderMap) {
        headers.insert(
            crate::headers::SERVICE_ERROR,
            header_safe(&self.message).as_str(),
        );
        headers.insert(
            crate::headers::SERVICE_ERROR_CODE,
            self.code.to_string().as_str(),
        );
        headers.insert(crate::headers::CONTENT_TYPE, crate::codec::JSON);
    }

    /// The JSON error envelope.
    pub fn body(&self) -> bytes::Bytes {
        crate::codec::encode_json(self).unwrap_or_default()
    }

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            code: kind.code(),
            kind,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    pub fn with_details(mut self, details: impl Serialize) -> Self {
        self.details = serde_json::to_value(details).unwrap_or(serde_json::Value::Null);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
}

/// A value beyond the bounds of `trading::money` (400) or money arithmetic
/// that does not fit in a decimal (422). The message starts with the field(s);
/// `details` is `{"code": "overflow" | "too_large" | …, "field": …}`.
pub fn money_error(e: &trading::MoneyError) -> ServiceError {
    let kind = match e.kind {
        trading::MoneyErrorKind::Overflow => ErrorKind::Unprocessable,
        _ => ErrorKind::BadRequest,
    };
    ServiceError::new(kind, e.to_string())
        .with_details(serde_json::json!({"code": e.code(), "field": e.field}))
}

impl From<trading::MoneyError> for ServiceError {
    fn from(e: trading::MoneyError) -> Self {
        money_error(&e)
    }
}

/// An account, client order id or other id that becomes a subject token: 1 to
/// 64 of `A-Z a-z 0-9 - _`, else a bad request naming `what`.
pub fn check_id(what: &str, id: &str) -> Result<(), ServiceError> {
    if trading::valid_id(id) {
        Ok(())
    } else {
        Err(ServiceError::bad_request(format!(
            "invalid {what} {id:?}: use 1 to 64 of A-Z a-z 0-9 - _"
        )))
    }
}

/// Header values cannot hold line breaks; keep them short too.
fn header_safe(message: &str) -> String {
    let mut s: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.len() > 512 {
        let mut cut = 512;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}
