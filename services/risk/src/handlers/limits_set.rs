//! `risk.limits.set`: validates and stores the limits in KV; this instance
//! applies them at once, the others through their KV watch.

use std::sync::Arc;

use bus::api::risk::{LimitsResponse, LimitsSetRequest};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: LimitsSetRequest,
) -> Result<LimitsResponse, ServiceError> {
    super::valid_account(&req.account)?;
    let l = &req.limits;
    super::non_negative("max_order_qty", l.max_order_qty)?;
    super::non_negative("max_order_notional", l.max_order_notional)?;
    super::non_negative("max_position", l.max_position)?;
    super::non_negative("max_gross_exposure", l.max_gross_exposure)?;
    super::non_negative("daily_loss_limit", l.daily_loss_limit)?;
    if let Some(bp) = &l.buying_power {
        bp.validate()
            .map_err(|e| ServiceError::bad_request(format!("buying_power: {e}")))?;
    }
    let revision = ctx
        .settings
        .limits
        .put(&req.account, &req.limits)
        .await
        .map_err(|e| ServiceError::unavailable(format!("cannot store the limits: {e}")))?;
    tracing::info!(correlation_id = %rc.correlation_id, account = %req.account, revision, "limits set");
    Ok(LimitsResponse {
        account: req.account,
        limits: req.limits,
        revision,
    })
}
