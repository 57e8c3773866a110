//! `portfolio.protection.set`: stop-loss / take-profit of a position, as a
//! `PROTECTION_SET` event in ORDERS (so a replay restores them too).

use std::sync::Arc;

use bus::api::portfolio::{Position, ProtectionRequest};
use bus::{events, subjects, RequestContext, ServiceError};
use model::Decimal;
use trading::event::OrderEvent;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: ProtectionRequest,
) -> Result<Position, ServiceError> {
    super::known(&ctx, &req.account).await?;
    for (name, level) in [
        ("stop_loss", req.stop_loss),
        ("take_profit", req.take_profit),
    ] {
        if let Some(l) = level {
            if l <= Decimal::ZERO {
                return Err(ServiceError::bad_request(format!(
                    "{name} must be positive, got {l}"
                )));
            }
        }
    }
    let stored = events::publish_order_event(
        &ctx.js,
        &OrderEvent::ProtectionSet(req.clone()),
        &rc.correlation_id,
        subjects::portfolio::SERVICE,
    )
    .await
    .map_err(|e| ServiceError::unavailable(e.to_string()))?;
    if !ctx.wait_applied(stored.sequence).await {
        return Err(ServiceError::unavailable(
            "stored, but not applied here yet; retry",
        ));
    }
    let book = ctx.book.lock();
    book.ledgers
        .get(&req.account)
        .and_then(|l| l.positions.get(&req.symbol))
        .cloned()
        .ok_or_else(|| ServiceError::internal("position missing after setting its protection"))
}
