//! `notify.test`: one message to one channel, now, one attempt; the error
//! (never a secret) comes back as a 503.

use std::sync::Arc;

use bus::api::notify::{Notice, Severity, TestRequest, TestResponse};
use bus::{RequestContext, ServiceError};
use model::UnixNanos;

use crate::channels::{self, Delivery};
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: TestRequest,
) -> Result<TestResponse, ServiceError> {
    let channel = ctx
        .store
        .channel(&req.channel)
        .ok_or_else(|| ServiceError::not_found(format!("unknown channel {:?}", req.channel)))?;
    let id = format!("test-{}", model::ids::new_id());
    let notice = Notice {
        id: id.clone(),
        event_type: "TEST".to_string(),
        severity: Severity::Info,
        source: bus::subjects::notify::SERVICE.to_string(),
        subject: bus::subjects::notify::TEST.to_string(),
        ts: UnixNanos::now(),
        correlation_id: rc.correlation_id.clone(),
        account: None,
        symbol: None,
        strategy: None,
        title: "test message".to_string(),
        text: req
            .message
            .unwrap_or_else(|| format!("test message to channel {}", channel.name)),
        data: serde_json::Value::Null,
    };
    let key = crate::dispatch::idempotency_key(&id, &channel.name);
    let delivery = Delivery::new(&channel.name, vec![(Arc::new(notice), key.clone())]);
    channels::send(&ctx, &channel, &delivery)
        .await
        .map_err(|e| {
            ServiceError::unavailable(format!("channel {}: {}", channel.name, e.message))
        })?;
    Ok(TestResponse {
        channel: channel.name,
        delivered: true,
        idempotency_key: key,
    })
}
