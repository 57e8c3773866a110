//! `risk.resume`: back to ACTIVE.

use std::sync::Arc;

use bus::api::risk::{AccountRequest, StateRecord, TradingState};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: AccountRequest,
) -> Result<StateRecord, ServiceError> {
    super::valid_account(&req.account)?;
    let reason = "resumed by request".to_string();
    let record = ctx
        .set_state(&req.account, TradingState::Active, reason.clone())
        .await
        .map_err(|e| ServiceError::unavailable(format!("cannot store the state: {e}")))?;
    tracing::info!(correlation_id = %rc.correlation_id, account = %req.account, "trading resumed");
    super::state_alert(
        &ctx,
        &req.account,
        TradingState::Active,
        &reason,
        &rc.correlation_id,
    )
    .await;
    Ok(record)
}
