//! Generic webhook: the notice (or digest) as JSON, with
//! `Idempotency-Key`, `X-Trader-Timestamp` (Unix seconds) and, when the
//! channel has a secret, `X-Trader-Signature: sha256=<hex>`: HMAC-SHA256 with
//! the secret over `<timestamp>.<body>`, so a receiver can verify the body and
//! refuse replays of old ones.

use bus::api::notify::Channel;
use serde_json::json;

use super::{http::post_bytes, Delivery, SendError};
use crate::{Ctx, SecretRef};

pub const SIGNATURE_HEADER: &str = "X-Trader-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Trader-Timestamp";

pub async fn send(
    ctx: &Ctx,
    channel: &Channel,
    secret: &SecretRef,
    delivery: &Delivery,
) -> Result<(), SendError> {
    let url = channel
        .url
        .as_deref()
        .ok_or_else(|| SendError::permanent("a webhook channel needs url"))?;
    let body = if delivery.is_digest() {
        json!({
            "id": delivery.key,
            "kind": "digest",
            "channel": channel.name,
            "title": delivery.title(),
            "count": delivery.items.len(),
            "events": delivery.items.iter().map(|(n, key)| json!({"idempotency_key": key, "notice": &**n})).collect::<Vec<_>>(),
        })
    } else {
        let (notice, key) = &delivery.items[0];
        json!({
            "id": key,
            "kind": "notice",
            "channel": channel.name,
            "title": delivery.title(),
            "events": [{"idempotency_key": key, "notice": &**notice}],
        })
    };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let timestamp = (model::UnixNanos::now().0 / 1_000_000_000).to_string();
    let mut headers = vec![
        ("Idempotency-Key", delivery.key.clone()),
        (TIMESTAMP_HEADER, timestamp.clone()),
    ];
    if let Some(key) = secret.read().map_err(SendError::permanent)? {
        headers.push((SIGNATURE_HEADER, signature(&key, &timestamp, &body)));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_bytes(ctx, url, &headers, body).await?;
    Ok(())
}

/// `sha256=<hex of HMAC-SHA256(key, "<timestamp>.<body>")>`.
pub fn signature(key: &str, timestamp: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", crate::store::hex(ctx.sign().as_ref()))
}
