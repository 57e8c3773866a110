//! `risk.halt` and `risk.reduce`: the account's trading state in KV; and the
//! automatic halt when the daily loss limit is reached.

use std::sync::Arc;

use bus::api::risk::{StateRecord, StateRequest, TradingState};
use bus::{RequestContext, ServiceError};
use model::Decimal;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: StateRequest,
    state: TradingState,
) -> Result<StateRecord, ServiceError> {
    super::valid_account(&req.account)?;
    let reason = req
        .reason
        .unwrap_or_else(|| format!("{state:?} by request").to_lowercase());
    let record = ctx
        .set_state(&req.account, state, reason.clone())
        .await
        .map_err(|e| ServiceError::unavailable(format!("cannot store the state: {e}")))?;
    tracing::warn!(correlation_id = %rc.correlation_id, account = %req.account, ?state, %reason, "trading state set");
    super::state_alert(&ctx, &req.account, state, &reason, &rc.correlation_id).await;
    Ok(record)
}

/// Halts an account whose loss since the day's start reached its limit (no-op
/// when it is halted already).
pub async fn halt_for_daily_loss(
    ctx: &Ctx,
    account: &str,
    daily_pnl: Decimal,
    correlation_id: &str,
) {
    if ctx.settings.state_of(account).state == TradingState::Halted {
        return;
    }
    let reason = format!("daily loss limit reached (daily P&L {daily_pnl})");
    match ctx
        .set_state(account, TradingState::Halted, reason.clone())
        .await
    {
        Ok(_) => {
            tracing::warn!(correlation_id, account, %reason, "account halted");
            super::state_alert(ctx, account, TradingState::Halted, &reason, correlation_id).await;
        }
        Err(e) => tracing::error!(correlation_id, account, error = %e, "cannot halt the account"),
    }
}
