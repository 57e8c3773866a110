//! `risk.limits.get`.

use std::sync::Arc;

use bus::api::risk::{AccountRequest, LimitsResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: AccountRequest,
) -> Result<LimitsResponse, ServiceError> {
    super::valid_account(&req.account)?;
    let (limits, revision) = ctx.settings.limits_of(&req.account);
    Ok(LimitsResponse {
        account: req.account,
        limits,
        revision,
    })
}
