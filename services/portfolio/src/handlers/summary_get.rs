//! `portfolio.summary.get`.

use std::sync::Arc;

use bus::api::portfolio::{AccountRequest, Summary};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: AccountRequest,
) -> Result<Summary, ServiceError> {
    super::known(&ctx, &req.account).await?;
    let summary = ctx.book.lock().summary(&req.account);
    summary.ok_or_else(|| ServiceError::not_found(format!("unknown account {}", req.account)))
}
