//! One JSON POST, classified: 2xx is done; 408, 425, 429 and 5xx are worth
//! retrying (after `Retry-After` when given, in the header or in a Telegram or
//! Discord body); other 4xx are not. Errors never carry the URL (Telegram's
//! holds the bot token).

use std::time::Duration;

use serde_json::Value;

use super::SendError;
use crate::Ctx;

/// POSTs `body`; returns the response body (JSON or `Null`).
pub async fn post_json(
    ctx: &Ctx,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Result<Value, SendError> {
    post_bytes(
        ctx,
        url,
        headers,
        serde_json::to_vec(body).unwrap_or_default(),
    )
    .await
}

pub async fn post_bytes(
    ctx: &Ctx,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Value, SendError> {
    let mut request = ctx
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .header(
            "User-Agent",
            concat!("trader-notify/", env!("CARGO_PKG_VERSION")),
        );
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.body(body).send().await.map_err(|e| {
        let e = e.without_url();
        if e.is_builder() {
            SendError::permanent(format!("bad request: {e}"))
        } else {
            SendError::transient(format!("HTTP: {e}"))
        }
    })?;
    let status = response.status().as_u16();
    let header_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let bytes = response.bytes().await.unwrap_or_default();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(json);
    }
    let body_after = json
        .pointer("/parameters/retry_after")
        .or_else(|| json.get("retry_after"))
        .and_then(Value::as_f64);
    let detail = json
        .get("description")
        .or_else(|| json.get("message"))
        .and_then(Value::as_str)
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    let retryable = matches!(status, 408 | 425 | 429) || status >= 500;
    Err(SendError {
        message: format!("HTTP {status}{detail}"),
        retry_after: header_after
            .or(body_after)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(86_400.0))),
        permanent: !retryable,
    })
}
