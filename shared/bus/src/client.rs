//! Typed requests. [`request`] sends a JSON request with a correlation id, the
//! current trace context (`traceparent`, [`crate::trace`]) and a timeout and turns a micro error reply back into a [`ServiceError`].

use std::time::Duration;

use async_nats::{Client, HeaderMap};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{ErrorKind, ServiceError};
use crate::headers;

#[derive(Debug, Clone)]
pub struct RequestOptions {
    pub timeout: Duration,
    /// Sent as `Correlation-Id`; a new one is made when `None`.
    pub correlation_id: Option<String>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            timeout: Duration::from_secs(5),
            correlation_id: None,
        }
    }
}

impl RequestOptions {
    pub fn timeout(timeout: Duration) -> Self {
        RequestOptions {
            timeout,
            ..Default::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The service answered with an error reply.
    #[error("{0}")]
    Service(ServiceError),
    #[error("no service is listening on {0}")]
    NoResponders(String),
    #[error("request to {0} timed out")]
    Timeout(String),
    #[error("request to {subject} failed: {message}")]
    Transport { subject: String, message: String },
    #[error("cannot decode the reply from {subject}: {message}")]
    Decode { subject: String, message: String },
}

impl RequestError {
    /// The service's error, when it answered with one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            RequestError::Service(e) => Some(e),
            _ => None,
        }
    }
}

/// Sends `req` as JSON to `subject` and decodes the JSON reply.
pub async fn request<Req, Resp>(
    client: &Client,
    subject: &str,
    req: &Req,
    options: RequestOptions,
) -> Result<Resp, RequestError>
where
    Req: Serialize + ?Sized,
    Resp: DeserializeOwned,
{
    let payload = serde_json::to_vec(req).map_err(|e| RequestError::Transport {
        subject: subject.to_string(),
        message: format!("cannot encode request: {e}"),
    })?;
    let reply = request_raw(client, subject, payload.into(), options).await?;
    serde_json::from_slice(&reply.payload).map_err(|e| RequestError::Decode {
        subject: subject.to_string(),
        message: e.to_string(),
    })
}

/// Sends raw bytes with a correlation id; returns the reply message, or the
/// service error it carries.
pub async fn request_raw(
    client: &Client,
    subject: &str,
    payload: bytes::Bytes,
    options: RequestOptions,
) -> Result<async_nats::Message, RequestError> {
    let mut hdrs = HeaderMap::new();
    let cid = options
        .correlation_id
        .unwrap_or_else(model::ids::new_correlation_id);
    hdrs.insert(headers::CORRELATION_ID, cid.as_str());
    request_with_headers(client, subject, hdrs, payload, options.timeout).await
}

/// The lowest level: caller-supplied headers (e.g. `Content-Type` for protobuf);
/// the current trace context is added unless `hdrs` has a `traceparent`.
pub async fn request_with_headers(
    client: &Client,
    subject: &str,
    hdrs: HeaderMap,
    payload: bytes::Bytes,
    timeout: Duration,
) -> Result<async_nats::Message, RequestError> {
    let mut hdrs = hdrs;
    if hdrs.get(headers::TRACEPARENT).is_none() {
        crate::trace::inject(&mut hdrs);
    }
    let request = async_nats::Request::new()
        .payload(payload)
        .headers(hdrs)
        .timeout(Some(timeout));
    let reply = client
        .send_request(subject.to_string(), request)
        .await
        .map_err(|e| match e.kind() {
            async_nats::RequestErrorKind::NoResponders => {
                RequestError::NoResponders(subject.to_string())
            }
            async_nats::RequestErrorKind::TimedOut => RequestError::Timeout(subject.to_string()),
            _ => RequestError::Transport {
                subject: subject.to_string(),
                message: e.to_string(),
            },
        })?;
    if let Some(err) = service_error(&reply) {
        return Err(RequestError::Service(err));
    }
    Ok(reply)
}

/// Reads a micro error reply: the JSON envelope when present, else the headers.
pub fn service_error(reply: &async_nats::Message) -> Option<ServiceError> {
    let hdrs = reply.headers.as_ref()?;
    let code = hdrs
        .get(headers::SERVICE_ERROR_CODE)?
        .as_str()
        .parse::<u16>()
        .unwrap_or(500);
    if let Ok(envelope) = serde_json::from_slice::<ServiceError>(&reply.payload) {
        return Some(envelope);
    }
    let message = hdrs
        .get(headers::SERVICE_ERROR)
        .map(|v| v.as_str().to_string())
        .unwrap_or_default();
    let kind = ErrorKind::from_code(code);
    Some(ServiceError {
        code,
        kind,
        message,
        details: serde_json::Value::Null,
    })
}
