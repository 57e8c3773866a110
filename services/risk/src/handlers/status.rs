//! `risk.status`: state, limits and the account as risk sees it.

use std::sync::Arc;

use bus::api::risk::{AccountRequest, StatusResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: AccountRequest,
) -> Result<StatusResponse, ServiceError> {
    super::valid_account(&req.account)?;
    let _ = ctx.orders.catch_up(ctx.config.catch_up_timeout).await;
    let (known, view) = {
        let v = ctx.view.lock();
        (v.known(&req.account), v.account_view(&req.account))
    };
    let view = view?;
    Ok(StatusResponse {
        known,
        state: ctx.settings.state_of(&req.account),
        limits: ctx.settings.limits_of(&req.account).0,
        view,
        account: req.account,
    })
}
