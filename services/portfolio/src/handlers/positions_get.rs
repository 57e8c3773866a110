//! `portfolio.positions.get`.

use std::sync::Arc;

use bus::api::portfolio::{AccountRequest, PositionsResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: AccountRequest,
) -> Result<PositionsResponse, ServiceError> {
    super::known(&ctx, &req.account).await?;
    let book = ctx.book.lock();
    let update = book
        .update(&req.account)
        .ok_or_else(|| ServiceError::not_found(format!("unknown account {}", req.account)))?;
    Ok(PositionsResponse {
        account: req.account,
        positions: update.positions,
        sequence: book.sequence,
    })
}
